"""knee-study simulate-reader, verify-decisions and export-decisions."""

from __future__ import annotations

import shutil
import sqlite3

import pandas as pd
import pytest
from study_factory import make_study

from studies.cli import main
from studies.decisions import EXPORT_COLUMNS, DecisionStore, read_decisions, verify_file
from studies.package import decisions_path


def simulate(s, reader="r1", accuracy="0.7", *extra):
    return main(["simulate-reader", str(s.study), "--key", str(s.key), "--reader", reader,
                 "--accuracy", accuracy, *extra])


@pytest.fixture
def tiny(tmp_path):
    return make_study(tmp_path, n_pairs=6, n_practice=1, with_images=False, with_ai=True, confidence=True)


def test_simulate_reader_prints_one_line_per_committed_decision(tiny, capsys):
    assert simulate(tiny) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    df = read_decisions(decisions_path(tiny.study, "r1"))
    assert len(lines) == 7 == len(df)
    assert [ln.split()[1] for ln in lines] == list(df["pair_id"])
    assert all(ln.startswith("committed ") for ln in lines)
    assert "7 answer(s) written" in out.err
    assert df["confidence"].between(1, 5).all()
    assert verify_file(decisions_path(tiny.study, "r1")).ok


@pytest.mark.parametrize("accuracy,expected", [("1", True), ("0", False)])
def test_accuracy_extremes_choose_the_progressor_always_or_never(tiny, capsys, accuracy, expected):
    assert simulate(tiny, "r1", accuracy) == 0
    df = read_decisions(decisions_path(tiny.study, "r1"))
    correct = [row.chosen_case == tiny.progressors[row.pair_id] for row in df.itertuples()]
    assert all(c == expected for c in correct)


def test_accuracy_near_target_over_a_larger_study(tmp_path, capsys):
    s = make_study(tmp_path, n_pairs=150, with_images=False)
    assert simulate(s, "r1", "0.75", "--seed", "3") == 0
    df = read_decisions(decisions_path(s.study, "r1"))
    rate = sum(r.chosen_case == s.progressors[r.pair_id] for r in df.itertuples()) / len(df)
    assert 0.64 <= rate <= 0.86


def test_sequential_simulation_writes_both_phases(tiny, capsys):
    assert simulate(tiny, "r1", "0.6", "--mode", "sequential") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 14 and sum("(first)" in ln for ln in lines) == 7
    both = read_decisions(decisions_path(tiny.study, "r1"), phases=("first", "final"))
    assert list(both.groupby("pair_id")["phase"].apply(list).iloc[0]) == ["first", "final"]
    assert (both["ai_shown"] == (both["phase"] == "final")).all()


def test_bad_options_are_clear_errors(tiny, tmp_path, capsys):
    assert simulate(tiny, "r1", "1.5") == 2
    assert "'accuracy' parameter must be a probability from 0 to 1. Got 1.5" in capsys.readouterr().err
    assert simulate(tiny, "bad/id") == 2
    assert "'reader' parameter" in capsys.readouterr().err
    other = make_study(tmp_path / "other", n_pairs=2, with_images=False, seed=9)
    assert main(["simulate-reader", str(tiny.study), "--key", str(other.key), "--reader", "r1",
                 "--accuracy", "0.5"]) == 2
    assert "the key does not match this study" in capsys.readouterr().err
    noai = make_study(tmp_path / "noai", n_pairs=2, with_images=False)
    assert simulate(noai, "r1", "0.5", "--mode", "aided") == 2
    assert "no AI outputs" in capsys.readouterr().err
    assert not decisions_path(noai.study, "r1").exists()


def test_second_instance_on_the_same_reader_refuses_politely(tiny, capsys):
    with DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest):
        assert simulate(tiny) == 2
    err = capsys.readouterr().err
    assert "already reading this study in another window" in err and "Traceback" not in err


def test_verify_decisions_reports_intact_and_broken(tiny, capsys):
    simulate(tiny)
    path = decisions_path(tiny.study, "r1")
    capsys.readouterr()
    assert main(["verify-decisions", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK, audit chain intact (" in out and "still open" not in out
    with DecisionStore.open(path, "r1", tiny.manifest) as store:
        store.session_start()
        assert main(["verify-decisions", str(path)]) == 0
        assert "still open, or not closed cleanly: keep r1.sqlite-wal" in capsys.readouterr().out
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET ts='2030-01-01T00:00:00.000000+00:00' WHERE id=4")
    conn.commit()
    conn.close()
    assert main(["verify-decisions", str(path)]) == 1
    assert "BROKEN at row 4" in capsys.readouterr().out
    assert main(["verify-decisions", str(path.with_name("nobody.sqlite"))]) == 2
    assert "decisions file not found" in capsys.readouterr().err


def test_export_decisions_exact_columns_scored_pairs_only(tiny, tmp_path, capsys):
    simulate(tiny, "r1")
    simulate(tiny, "r2", "0.5", "--mode", "sequential")
    out = tmp_path / "decisions.csv"
    assert main(["export-decisions", str(tiny.study / "decisions"), "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert tuple(df.columns) == EXPORT_COLUMNS
    assert len(df) == 6 + 2 * 6  # practice pairs left out; sequential gives two answers per pair
    assert not df["pair_id"].str.startswith("X").any()
    assert df["audit_ok"].all() and (df["flagged"] == False).all()  # noqa: E712
    assert df["started_at"].str.endswith("+00:00").all()
    assert "wrote 18 answers of 2 reader(s)" in capsys.readouterr().out


def test_export_refuses_two_copies_of_one_reader(tiny, tmp_path, capsys):
    simulate(tiny, "r1")
    copy = tmp_path / "copy.sqlite"
    shutil.copy(decisions_path(tiny.study, "r1"), copy)
    assert main(["export-decisions", str(decisions_path(tiny.study, "r1")), str(copy),
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "reader 'r1' also comes from" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_verify_reports_an_unreadable_file_and_checks_the_rest(tiny, tmp_path, capsys):
    assert simulate(tiny) == 0
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 20)
    capsys.readouterr()
    assert main(["verify-decisions", str(junk), str(decisions_path(tiny.study, "r1"))]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{junk}: UNREADABLE")
    assert "OK, audit chain intact" in out[1]
