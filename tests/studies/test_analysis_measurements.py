"""``analyze``'s summary of the readers' caliper measurements: how often each reader measured
and the measured lengths against the knees' baseline JSW, in the results, the exports, the
text output and the report."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from study_factory import make_study

from studies.analysis import analyze_study
from studies.analysis.exports import write_outputs
from studies.analysis.measurements import NOBODY_MEASURED, measurement_lines
from studies.cli import main
from studies.decisions import DecisionStore
from studies.decisions.modes import get_mode
from studies.decisions.simulate import simulate_reader
from studies.package import decisions_path


def _m(case: str, length: float, seq: str = "cor_iw_tse") -> dict:
    return {"case": case, "sequence": seq, "slice": 7, "p0_voxel": [1.0, 2.0, 7.0], "p1_voxel": [1.0, 9.0, 7.0],
            "p0_mm": [0.5, 1.0], "p1_mm": [0.5, 1.0 + length], "length_mm": length}


def _read(tiny, reader: str, mode: str, measured: dict[str, list[tuple[int, float]]], phases=("final",)):
    """Answer every pair as ``reader``; ``measured[pair_id]``: (knee 0/1, length) per
    measurement, recorded with the answer of the first phase."""
    t = 1.7e9
    with DecisionStore.open(decisions_path(tiny.study, reader), reader, tiny.manifest, mode) as store:
        store.session_start()
        for p in store.order:
            for i, phase in enumerate(phases):
                ms = [_m((p.left_case, p.right_case)[k], v) for k, v in measured.get(p.pair_id, [])] if i == 0 else []
                store.commit_decision(p.pair_id, p.left_case, phase=phase, mode=mode,
                                      ai_shown=get_mode(mode).ai_shown(phase),
                                      started_at=t, decided_at=t + 1, active_seconds=1.0, measurements=ms)
        store.session_stop()
        return {p.pair_id: (p.left_case, p.right_case) for p in store.order}


@pytest.fixture
def study(tmp_path):
    return make_study(tmp_path / "s", n_pairs=4, with_images=False)


def test_measurements_are_summarised_per_reader_against_the_baseline_jsw(study, tmp_path, capsys):
    pairs = [p.pair_id for p in study.manifest.pairs]
    left_right = _read(study, "r1", "unaided", {pairs[0]: [(0, 3.1), (1, 4.4)], pairs[2]: [(0, 2.0)]})
    simulate_reader(study.study, study.key, "r2", 0.7, seed=3)
    res = analyze_study(study.study, study.key, n_boot=50, include_simulated=True)
    t = res.tables["measurements"].set_index("reader")
    r1, r2 = t.loc["r1"], t.loc["r2"]
    assert (r1["condition"], r1["pairs_read"], r1["pairs_measured"], r1["share_measured"]) == ("unaided", 4, 2, 0.5)
    assert (r1["n_measurements"], r1["n_compared"]) == (3, 3)
    # the reference: the baseline min. medial JSW the manifest shows readers for that knee
    measured = [(left_right[pairs[0]][0], 3.1), (left_right[pairs[0]][1], 4.4), (left_right[pairs[2]][0], 2.0)]
    length = np.array([v for _, v in measured])
    jsw = np.array([study.manifest.cases[c].clinical["min_medial_jsw_mm"] for c, _ in measured])
    assert r1["mean_difference_mm"] == pytest.approx((length - jsw).mean())
    assert r1["mean_abs_difference_mm"] == pytest.approx(np.abs(length - jsw).mean())
    assert r1["pearson_r"] == pytest.approx(np.corrcoef(length, jsw)[0, 1])
    assert (r2["pairs_measured"], r2["n_measurements"], bool(r2["simulated"])) == (0, 0, True)
    assert np.isnan(r2["mean_difference_mm"]) and np.isnan(r2["pearson_r"])
    assert res.summary["tables"]["measurements"][0]["reader"] == "r1"

    out = write_outputs(res, tmp_path / "out", pdf=False)
    assert {"measurements.csv", "measurements_long.csv"} <= set(out["files"])
    with open(tmp_path / "out" / "measurements_long.csv", newline="") as fh:
        long = list(csv.DictReader(fh))
    jsw_of = {c: j for (c, _), j in zip(measured, jsw, strict=True)}
    assert sorted((r["case_id"], float(r["length_mm"])) for r in long) == sorted(measured)
    assert [float(r["baseline_jsw_mm"]) for r in long] == pytest.approx([jsw_of[r["case_id"]] for r in long])
    assert {r["group"] for r in long} <= {"progressor", "non-progressor"} and all(r["jsn_mm"] for r in long)
    with open(tmp_path / "out" / "measurements.csv", newline="") as fh:
        assert [r["pairs_measured"] for r in csv.DictReader(fh)] == ["2", "0"]
    assert "Caliper measurements against the baseline joint-space width" in (tmp_path / "out" / "report.html").read_text()
    lines = measurement_lines(res.tables["measurements"])
    assert "measured 2/4 pairs (50%), 3 measurements" in lines[1] and "(n=3)" in lines[1]
    assert "measured 0/4 pairs (0%), 0 measurements" in lines[2] and "(simulated)" in lines[2]


def test_a_sequential_reading_counts_early_measurements_in_its_first_condition(tmp_path):
    tiny = make_study(tmp_path / "s", n_pairs=3, with_images=False, with_ai=True)
    pid = tiny.manifest.pairs[1].pair_id
    _read(tiny, "r1", "sequential", {pid: [(0, 3.0), (1, 3.5), (1, 4.0)]}, phases=("first", "final"))
    res = analyze_study(tiny.study, tiny.key, n_boot=50)
    t = res.tables["measurements"].set_index("condition")
    assert (t.loc["sequential_first", "n_measurements"], t.loc["sequential_first", "pairs_measured"]) == (3, 1)
    assert (t.loc["sequential", "n_measurements"], t.loc["sequential", "pairs_read"]) == (0, 3)


def test_when_nobody_measured_analyze_says_so_in_one_line(study, tmp_path, capsys):
    simulate_reader(study.study, study.key, "r1", 0.7, seed=1)
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["analyze", "--study", str(study.study), "--key", str(study.key), "--out", str(out),
                 "--no-pdf", "--bootstrap", "50"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("aliper") == 1 and NOBODY_MEASURED in printed
    assert NOBODY_MEASURED in (out / "report.html").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tables"]["measurements"][0]["n_measurements"] == 0
