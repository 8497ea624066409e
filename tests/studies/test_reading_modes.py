"""The reading-mode registry: the built-in modes' rules, and a new mode registered in one place
flowing through the store, the reading session, simulate-reader and analyze."""

from __future__ import annotations

import csv
import json

import pytest
from study_factory import make_study

from studies.cli import main
from studies.decisions import AnswerLockedError
from studies.decisions.modes import (
    Comparison,
    Phase,
    ReadingMode,
    check_reading_mode,
    comparisons,
    condition_label,
    condition_of,
    get_mode,
    mode_names,
    register,
    unregister,
)
from studies.errors import OptionError, StudyError

#: A test-only mode: each pair read twice without the AI, the first reading locked.
REREAD = ReadingMode(
    "reread", "Re-read", "each pair read twice without the AI; the first reading is locked",
    (Phase("first", False, "reread_first", "re-read (first)", "first reading", locked=True),
     Phase("final", False, "reread", "re-read (second)")),
    (Comparison("reread_vs_first", "reread", "reread_first"),),
)


@pytest.fixture
def reread():
    register(REREAD)
    try:
        yield REREAD
    finally:
        unregister(REREAD.name)


def test_built_in_modes_keep_their_rules():
    assert mode_names()[:3] == ("unaided", "aided", "sequential")
    unaided, aided, seq = (get_mode(n) for n in ("unaided", "aided", "sequential"))
    assert (unaided.needs_ai, aided.needs_ai, seq.needs_ai) == (False, True, True)
    assert [unaided.ai_shown("final"), aided.ai_shown("final")] == [False, True]
    assert seq.phase_names == ("first", "final") and not seq.ai_shown("first") and seq.ai_shown("final")
    assert seq.is_locked("first") and not seq.is_locked("final") and not aided.is_locked("first")
    assert seq.previous("final").name == "first" and seq.next("first").name == "final" and seq.next("final") is None
    assert [condition_of("sequential", ph) for ph in ("first", "final")] == ["sequential_first", "sequential"]
    assert condition_label("sequential_first") == "sequential (first, before AI)" and condition_label("x") is None
    assert [(c.table, c.first, c.second) for c in comparisons("conditions")][:2] == [
        ("aided_vs_unaided", "aided", "unaided"), ("sequential_vs_first", "sequential", "sequential_first")]
    assert [c.table for c in comparisons("switching")] == ["switching"]


def test_unknown_modes_and_bad_definitions_are_refused(tmp_path):
    with pytest.raises(OptionError, match="one of unaided, aided, sequential"):
        get_mode("assisted")
    with pytest.raises(ValueError, match="end with 'final'"):
        ReadingMode("odd", "Odd", "", (Phase("first", False, "odd_first", "odd"),))
    with pytest.raises(ValueError, match="a phase is one of"):
        Phase("initial", False, "x", "x")
    with pytest.raises(ValueError, match="registered already"):
        register(get_mode("aided"))
    with pytest.raises(ValueError, match="belong to another mode"):
        register(ReadingMode("aided2", "A", "", (Phase("final", True, "aided", "aided"),)))
    with pytest.raises(ValueError, match="cannot be removed"):
        unregister("unaided")
    tiny = make_study(tmp_path, n_pairs=2, with_images=False)  # no ai/ folder
    with pytest.raises(StudyError, match="no AI outputs"):
        check_reading_mode(tiny.study, tiny.manifest, "sequential")


def test_a_registered_mode_is_read_in_the_session_with_its_phases(tmp_path, reread):
    from reader_app.domain.session import ReadingSession

    tiny = make_study(tmp_path, n_pairs=2, with_images=False, reading_modes=("unaided", "reread"),
                      allow_answer_change=True)
    session = ReadingSession.open(tiny.study, "r1", "reread", wall_clock=lambda: 1e9)
    try:
        st = session.current
        assert st.phase == "first" and not st.ai_visible
        session.choose("left")
        session.confirm()
        st2 = session.current
        assert (st2.pair_id, st2.phase, st2.locked_first_choice) == (st.pair_id, "final", "left")
        with pytest.raises(AnswerLockedError, match="first reading answer of reread reading can never change"):
            session.store.change_answer(st.pair_id, st.left.case_id, phase="first", started_at=1e9,
                                        decided_at=1e9, active_seconds=0.0)
    finally:
        session.close()


def test_a_registered_mode_flows_through_simulate_reader_and_analyze(tmp_path, reread, capsys):
    from reader_app.main import build_parser

    assert "reread" in build_parser().parse_args(["--mode", "reread"]).mode
    tiny = make_study(tmp_path / "s", n_pairs=8, with_images=False, reading_modes=("unaided", "reread"))
    for reader, accuracy in (("r1", 0.7), ("r2", 0.6), ("r3", 0.8)):
        args = ["simulate-reader", str(tiny.study), "--key", str(tiny.key), "--reader", reader,
                "--accuracy", str(accuracy), "--mode", "reread"]
        assert main(args) == 0
    capsys.readouterr()
    out = tmp_path / "results"
    assert main(["analyze", "--study", str(tiny.study), "--key", str(tiny.key), "--out", str(out),
                 "--no-pdf", "--bootstrap", "50", "--include-simulated"]) == 0
    printed = capsys.readouterr().out
    assert "reread_first" in printed and " reread " in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["conditions"] == ["reread", "reread_first"]
    assert {r["condition"] for r in summary["tables"]["readers"]} == {"reread", "reread_first"}
    (comparison,) = {r["comparison"] for r in summary["tables"]["reread_vs_first"]}
    assert comparison == "reread - reread_first"
    with open(out / "decisions_long.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * 8 * 2
    assert {(r["phase"], r["condition"], r["ai_shown"]) for r in rows} == {
        ("first", "reread_first", "False"), ("final", "reread", "False")}
    assert "re-read (first)" in (out / "report.html").read_text()


def test_a_mode_not_registered_stays_unknown_to_the_files(tmp_path):
    from studies.package import manifest_problems

    data = make_study(tmp_path, n_pairs=2, with_images=False).manifest.to_json()
    data["reading_modes"] = ["unaided", "reread"]

    def about_modes() -> list[str]:
        return [p for p in manifest_problems(data) if "reading_modes" in p]

    assert about_modes() and "'reread'" in about_modes()[0]
    register(REREAD)
    try:
        assert about_modes() == []
    finally:
        unregister(REREAD.name)
    assert about_modes()
