"""synth-cohort's options, bad input, --images and materialize."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from studies.cli import main
from studies.errors import InputFileError, OptionError
from studies.progress import Progress
from studies.synth import generate_cohort, materialize
from studies.synth.cohort import load_synthetic


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _series_dirs(root: Path) -> set[str]:
    return {str(p.parent.relative_to(root)) for p in root.glob("[0-9][0-9]m/*/*/*/*/001")}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(patients=0), "patients"),
        (dict(patients=-3), "patients"),
        (dict(patients=2.5), "patients"),
        (dict(patients=2, size="huge"), "size"),
        (dict(patients=2, images="some"), "images"),
        (dict(patients=2, progressor_rate=0.0), "progressor-rate"),
        (dict(patients=2, progressor_rate=1.0), "progressor-rate"),
        (dict(patients=2, progressor_rate=-0.1), "progressor-rate"),
        (dict(patients=2, seed=-1), "seed"),
        (dict(patients=2, style="bids"), "style"),
        (dict(patients=2, style="nda", flat_contents=True), "flat-contents"),
    ],
)
def test_nonsensical_options_name_the_option(tmp_path, kwargs, name):
    with pytest.raises(OptionError) as err:
        generate_cohort(tmp_path / "out", **kwargs)
    assert err.value.name == name and f"'{name}'" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_non_empty_out_needs_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OptionError, match="--force|force"):
        generate_cohort(out, patients=1, images="none")
    assert (out / "keep.txt").read_text() == "mine"
    generate_cohort(out, patients=1, images="none", force=True)
    assert not (out / "keep.txt").exists() and (out / "synthetic" / "cohort.json").is_file()


def test_cli_errors_exit_2_with_message(tmp_path, capsys):
    assert main(["synth-cohort", "--out", str(tmp_path / "x"), "--patients", "0"]) == 2
    err = capsys.readouterr().err
    assert "'patients'" in err and "Got 0" in err and "Traceback" not in err
    assert main(["synth-cohort", "--out", str(tmp_path / "x"), "--patients", "2", "--progressor-rate", "2"]) == 2
    assert "'progressor-rate'" in capsys.readouterr().err
    assert main(["synth-cohort", "--out", str(tmp_path / "x"), "--patients", "2", "--size", "tiny"]) == 2
    assert "'size'" in capsys.readouterr().err
    assert main(["synth-cohort", "--out", str(tmp_path / "x"), "--patients", "2", "--workers", "0"]) == 2
    assert "'workers'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_writes_cohort_with_progress(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["synth-cohort", "--out", str(out), "--patients", "1", "--seed", "2", "--images", "baseline"]) == 0
    cap = capsys.readouterr()
    assert "synth-cohort" in cap.err and "100%" in cap.err
    assert str(out) in cap.out
    assert main(["synth-cohort", "--out", str(out), "--patients", "1"]) == 2  # not empty, no --force
    assert "--force" in capsys.readouterr().err


def test_failed_run_leaves_nothing_looking_complete(tmp_path, monkeypatch):
    import studies.synth.images as images_mod

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(images_mod, "write_series", boom)
    with pytest.raises(RuntimeError):
        generate_cohort(tmp_path / "out", patients=1, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_images_baseline_none_and_materialize(tmp_path):
    full = generate_cohort(tmp_path / "all", patients=2, seed=11, progressor_rate=0.5)
    base = generate_cohort(tmp_path / "base", patients=2, seed=11, progressor_rate=0.5, images="baseline")
    none = generate_cohort(tmp_path / "none", patients=2, seed=11, progressor_rate=0.5, images="none")
    all_series = _series_dirs(full)
    assert {s for s in all_series if s.startswith("00m")} == _series_dirs(base)
    assert _series_dirs(none) == set()
    # contents.csv lists every series either way
    for v in ("00m", "12m", "24m", "36m"):
        assert (base / v / "contents.csv").read_bytes() == (full / v / "contents.csv").read_bytes()
        assert (none / v / "contents.csv").read_bytes() == (full / v / "contents.csv").read_bytes()
    _, truth = load_synthetic(none)
    pid = truth.participant_id.iloc[0]
    written = materialize(none, [(pid, "left", 12), (pid, "right", 36)])
    series = pd.read_csv(none / "synthetic" / "series.csv", dtype={"participant_id": str})
    expected = series[(series.participant_id == pid) & (((series.side == "left") & (series.visit_month == 12))
                                                        | ((series.side == "right") & (series.visit_month == 36)))]
    n_expected = len(expected)
    assert written == n_expected
    made = _series_dirs(none)
    assert len(made) == n_expected
    d_full, d_none = _digest(full), _digest(none)
    for series in made:
        files = {k: v for k, v in d_none.items() if k.startswith(series + "/")}
        assert files and all(d_full[k] == v for k, v in files.items())
    assert materialize(none, [(pid, "left", 12)]) == 0  # already there: nothing rewritten
    assert not list(none.rglob("*.partial"))


def test_materialize_bad_knees(tmp_path):
    c = generate_cohort(tmp_path / "c", patients=1, images="none")
    with pytest.raises(InputFileError, match="no such knee"):
        materialize(c, [("9999999", "left", 0)])
    with pytest.raises(OptionError, match="'side'"):
        materialize(c, [(load_synthetic(c)[1].participant_id.iloc[0], "middle", 0)])
    with pytest.raises(InputFileError, match="not a synthetic cohort"):
        materialize(tmp_path, [("9000001", "left", 0)])


def test_progress_reports_every_series(tmp_path):
    states = []
    out = generate_cohort(tmp_path / "p", patients=1, images="baseline", progress=Progress(states.append))
    calls = [(s.done, s.total) for s in states]
    assert (out / "synthetic" / "series.csv").is_file()
    n = len(pd.read_csv(out / "00m" / "contents.csv"))
    assert calls[0] == (0, n) and calls[-1] == (n, n) and len(calls) == n + 1


def test_damaged_synthetic_files_are_reported(tmp_path):
    c = generate_cohort(tmp_path / "c", patients=1, images="none")
    pid = load_synthetic(c)[1].participant_id.iloc[0]
    cj = c / "synthetic" / "cohort.json"
    good = cj.read_text()
    cj.write_text("{not json")
    with pytest.raises(InputFileError, match="cohort.json.*not valid JSON"):
        materialize(c, [(pid, "left", 0)])
    cj.write_text(good.replace('"size": "small"', '"size": "medium"'))
    with pytest.raises(InputFileError, match="'size'"):
        materialize(c, [(pid, "left", 0)])
    cj.write_text(good)
    gt = c / "synthetic" / "ground_truth.csv"
    df = pd.read_csv(gt, dtype=str)
    df.drop(columns=["jsw_mm"]).to_csv(gt, index=False)
    with pytest.raises(InputFileError, match="jsw_mm"):
        materialize(c, [(pid, "left", 0)])
