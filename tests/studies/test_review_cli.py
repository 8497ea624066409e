"""Review findings on the command line: a missing key is a clear message, not a traceback."""

from __future__ import annotations

import pytest
from study_factory import make_study

from studies.cli import main


@pytest.mark.parametrize(
    "command",
    [
        ["analyze", "--study", "{study}", "--key", "{key}", "--out", "{out}"],
        ["simulate-reader", "{study}", "--key", "{key}", "--reader", "r1", "--accuracy", "0.6"],
    ],
)
def test_a_missing_key_names_the_file(command, tmp_path, capsys):
    tiny = make_study(tmp_path / "s", n_pairs=3, with_images=False)
    missing = tmp_path / "no-such-key.json"
    args = [a.format(study=tiny.study, key=missing, out=tmp_path / "out") for a in command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "not found" in err


def test_results_are_never_written_into_the_package(tmp_path, capsys):
    """Results name every pair's progressor: written inside the study package, they would
    travel to the next reader with it (as the key would; build refuses that for the key)."""
    from studies.analysis import analyze_study
    from studies.analysis.exports import write_outputs
    from studies.decisions.simulate import simulate_reader
    from studies.errors import OptionError

    tiny = make_study(tmp_path / "s", n_pairs=4, with_images=False)
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1)
    inside = tiny.study / "results"
    args = ["analyze", "--study", str(tiny.study), "--key", str(tiny.key), "--out", str(inside)]
    assert main(args) == 2
    assert "outside the study package" in capsys.readouterr().err
    assert not inside.exists()
    res = analyze_study(tiny.study, tiny.key, n_boot=50)
    with pytest.raises(OptionError, match="outside the study package"):
        write_outputs(res, tiny.study / "decisions" / "out", study=tiny.study)
    assert write_outputs(res, tmp_path / "results", study=tiny.study)["files"]


def test_error_sentences_join_without_doubled_punctuation():
    from studies.errors import InputFileError

    e = InputFileError("c.csv", "unknown column 'jws'. Did you mean 'jsw'?", hint="Rename the column")
    assert str(e) == "c.csv: unknown column 'jws'. Did you mean 'jsw'? Rename the column"
    e = InputFileError("c.csv", "bad value", column="age", row=3, value="x", hint="Fix it")
    assert str(e) == "c.csv, row 3, column 'age': bad value (got 'x'). Fix it"


def test_analyze_force_never_replaces_a_folder_holding_the_study_or_key(tmp_path, capsys):
    """--force replaces --out whole: an --out that holds the study package (or its key)
    would delete the readers' decisions with it."""
    from studies.decisions.simulate import simulate_reader

    tiny = make_study(tmp_path / "s", n_pairs=4, with_images=False)
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1)
    for out in (tmp_path / "s", tmp_path):
        args = ["analyze", "--study", str(tiny.study), "--key", str(tiny.key), "--out", str(out)]
        assert main([*args, "--force"]) == 2
        assert "holds the study package" in capsys.readouterr().err
    assert (tiny.study / "decisions" / "r1.sqlite").is_file() and tiny.key.is_file()


def test_build_force_never_replaces_a_folder_holding_the_cohort(tmp_path, capsys):
    """--force replaces --out whole: an --out that holds the cohort would delete the source
    images and tables."""
    from builder_cohort import write_csv_cohort

    csv = write_csv_cohort(tmp_path / "data" / "cohort", n_participants=20)
    before = sorted(p.name for p in csv.parent.iterdir())
    for out in (tmp_path / "data", csv.parent):
        args = ["build", "--cohort", str(csv), "--out", str(out), "--key", str(tmp_path / "k.json")]
        assert main([*args, "--pairs", "2", "--force"]) == 2
        assert "holds the cohort" in capsys.readouterr().err
    assert sorted(p.name for p in csv.parent.iterdir()) == before


def test_export_decisions_never_overwrites_a_decisions_file(tmp_path, capsys):
    """--out is replaced without asking; pointed at a decisions file (a slip between two
    paths), it would replace a reader's only record with a CSV."""
    from studies.decisions.simulate import simulate_reader
    from studies.package import decisions_path

    tiny = make_study(tmp_path / "s", n_pairs=3, with_images=False)
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1)
    simulate_reader(tiny.study, tiny.key, "r2", 0.7, seed=2)
    r1, r2 = decisions_path(tiny.study, "r1"), decisions_path(tiny.study, "r2")
    before = r2.read_bytes()
    for out in (r1, r2):
        assert main(["export-decisions", str(r1), "--out", str(out)]) == 2
        assert "decisions file" in capsys.readouterr().err
    assert r2.read_bytes() == before
    assert main(["export-decisions", str(r1), "--out", str(tmp_path / "d.csv")]) == 0


def test_simulate_reader_never_writes_into_a_persons_decisions(tmp_path, capsys):
    """Simulated answers are indistinguishable from a person's once written (the audit is
    append-only): simulate-reader refuses a reader id a person has read under, and marks
    its own sessions so that resuming a simulation still works."""
    import json
    import sqlite3

    from studies.decisions import DecisionStore
    from studies.decisions.simulate import simulate_reader
    from studies.errors import StudyError
    from studies.package import decisions_path

    tiny = make_study(tmp_path / "s", n_pairs=3, with_images=False)
    path = decisions_path(tiny.study, "r1")
    with DecisionStore.open(path, "r1", tiny.manifest) as store:
        store.session_start("unaided")
        op = store.order[0]
        store.commit_decision(op.pair_id, op.left_case, started_at=1.0, decided_at=2.0, active_seconds=1.0)
        store.session_stop()
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM audit").fetchone()[0]
    with pytest.raises(StudyError, match="r1"):
        simulate_reader(tiny.study, tiny.key, "r1", 0.7)
    assert sqlite3.connect(path).execute("SELECT count(*) FROM audit").fetchone()[0] == rows
    res = simulate_reader(tiny.study, tiny.key, "sim1", 0.7, seed=1)
    assert simulate_reader(tiny.study, tiny.key, "sim1", 0.7, seed=1).committed == 0  # resumes
    starts = [
        json.loads(p)
        for (p,) in sqlite3.connect(res.path).execute(
            "SELECT payload_json FROM audit WHERE kind = 'session_start'"
        )
    ]
    assert starts and all(s.get("simulated") is True for s in starts)
