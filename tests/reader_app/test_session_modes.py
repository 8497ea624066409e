"""Reading modes: unaided, aided (AI from the start), sequential (first answer locked, then AI)."""

from __future__ import annotations

import sqlite3

import pytest
from study_factory import make_study

from reader_app.domain.ai import load_ai, require_ai
from reader_app.domain.session import ReadingSession
from studies.decisions import AnswerLockedError, DecisionStore, read_decisions, verify_file
from studies.errors import InputFileError, StudyError
from studies.package import SEQUENCES, decisions_path


def _open(s, mode, reader="r1"):
    store = DecisionStore.open(decisions_path(s.study, reader), reader, s.manifest, mode)
    return ReadingSession(s.manifest, store, mode, ai=require_ai(s.study, mode, s.manifest)), store


def test_unaided_never_shows_the_ai(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=True)
    session, store = _open(s, "unaided")
    while not session.finished:
        assert not session.current.ai_visible and session.current.ai_left is None
        session.choose("left")
        assert not session.confirm().ai_shown
    store.close()


def test_aided_shows_probabilities_and_preferred_knee_from_the_start(tmp_path):
    s = make_study(tmp_path, n_pairs=3, with_images=False, with_ai=True)
    session, store = _open(s, "aided")
    ai = session.ai
    cur = session.current
    assert cur.ai_visible and cur.phase == "final"
    assert cur.ai_left == ai.probability(cur.left.case_id) and cur.ai_right == ai.probability(cur.right.case_id)
    assert cur.ai_preferred == ("left" if cur.ai_left > cur.ai_right else "right")
    session.choose("right")
    assert session.confirm().ai_shown
    store.close()


def test_sequential_locks_first_answer_then_reveals_ai(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=True, allow_answer_change=True)
    session, store = _open(s, "sequential")
    pid = session.current.pair_id
    assert session.current.phase == "first" and not session.current.ai_visible
    session.choose("left")
    first = session.confirm()
    assert first.phase == "first" and not first.ai_shown
    cur = session.current
    assert cur.pair_id == pid and cur.phase == "final" and cur.ai_visible
    assert cur.locked_first_choice == "left" and cur.choice is None and cur.ai_left is not None
    session.choose("right")  # the reader changes their mind after seeing the AI
    final = session.confirm()
    assert final.phase == "final" and final.ai_shown and final.chosen_case == cur.right.case_id
    # the first answer can never change, even in a study that allows changing answers
    with pytest.raises(AnswerLockedError):
        store.change_answer(pid, cur.right.case_id, phase="first", mode="sequential",
                            started_at=0.0, decided_at=1.0, active_seconds=1.0)
    with pytest.raises(AnswerLockedError):
        store.commit_decision(pid, cur.right.case_id, phase="first", mode="sequential",
                              started_at=0.0, decided_at=1.0, active_seconds=1.0)
    # the final one can (appended)
    session.change_answer(pid, "left")
    assert store.answer(pid, "first").chosen_side == "left"
    both = read_decisions(store.path, phases=("first", "final"))
    assert list(both[both.pair_id == pid].phase) == ["first", "final"]
    store.close()
    assert verify_file(store.path).ok
    # a raw edit of the first answer is caught by the audit chain
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE audit SET payload_json = replace(payload_json, 'first', 'final')")


def test_sequential_resume_between_the_two_answers_keeps_the_lock(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=True)
    session, store = _open(s, "sequential")
    pid = session.current.pair_id
    session.choose("right")
    session.confirm()
    store.close()  # crash or quit with the AI revealed
    session, store = _open(s, "sequential")
    cur = session.current
    assert cur.pair_id == pid and cur.phase == "final" and cur.ai_visible and cur.locked_first_choice == "right"
    store.close()


def test_ai_mode_refused_without_ai_outputs_and_says_why(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=False)
    for mode in ("aided", "sequential"):
        with pytest.raises(StudyError, match=rf"cannot be read in '{mode}' mode: it has no AI outputs.*scores\.csv"):
            require_ai(s.study, mode)
        store = DecisionStore.open(decisions_path(s.study, "r1"), "r1", s.manifest, mode)
        with pytest.raises(StudyError, match="no AI outputs"):
            ReadingSession(s.manifest, store, mode)
        store.close()
    assert require_ai(s.study, "unaided") is None


def test_ai_outputs_loading_and_heatmaps(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=True)
    ai = load_ai(s.study, s.manifest)
    assert set(ai.scores) == set(s.manifest.cases) and ai.run_id == "run-test"
    cid = next(iter(s.manifest.cases))
    for seq in SEQUENCES:
        assert ai.heatmap_path(cid, seq).is_file()
    assert ai.heatmap_path("K00000", SEQUENCES[0]) is None
    with pytest.raises(ValueError, match="Did you mean 'cor_iw_tse'"):
        ai.heatmap_path(cid, "cor_iw")


def test_malformed_scores_name_row_and_column(tmp_path):
    s = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=True)
    path = s.study / "ai" / "scores.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].split(",")[0] + ",1.7,run-test"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError, match=r"row 2, column 'probability'.*from 0 to 1.*'1\.7'"):
        load_ai(s.study)
    path.write_text("case,probability\nK1,0.5\n")
    with pytest.raises(InputFileError, match="missing column 'case_id'. Did you mean 'case'"):
        load_ai(s.study)
    path.write_text("case_id,probability,run_id\n" + lines[1] + "\n")
    with pytest.raises(InputFileError, match="have no AI score"):
        load_ai(s.study, s.manifest)


def test_open_checks_everything_before_writing_anything(tmp_path):
    from studies.errors import OptionError

    s = make_study(tmp_path, n_pairs=2, with_images=False, reading_modes=("unaided", "aided"))
    with pytest.raises(StudyError, match="no AI outputs"):
        ReadingSession.open(s.study, "r1", "aided")
    with pytest.raises(OptionError, match="allows"):
        ReadingSession.open(s.study, "r1", "sequential")
    assert not decisions_path(s.study, "r1").exists()
    session = ReadingSession.open(s.study, "r1", "unaided")
    session.choose("left")
    session.confirm()
    session.close()
    session = ReadingSession.open(s.study, "r1")
    assert session.progress == (1, 2)
    session.close()
    kinds = [k for (k,) in sqlite3.connect(decisions_path(s.study, "r1")).execute("SELECT kind FROM audit")]
    assert kinds == ["session_start", "decision", "session_stop", "session_start", "session_stop"]


def test_probabilities_are_never_shown_as_a_false_certainty():
    from reader_app.domain.ai import format_probability

    assert format_probability(0.42) == "42 %"
    assert format_probability(0.001) == "< 1 %"
    assert format_probability(0.9999) == "> 99 %"


def test_heatmaps_are_expected_only_for_the_sequences_the_model_wrote(tmp_path):
    import json

    from study_factory import make_study

    from reader_app.domain.volumes import load_knee

    tiny = make_study(tmp_path, n_pairs=1, with_ai=True)
    case = next(iter(tiny.manifest.cases.values()))
    (tiny.study / "ai" / "heatmaps" / f"{case.case_id}_sag_3d_dess.nii.gz").unlink()
    run = tiny.study / "ai" / "run.json"
    # A run that does not say which sequences it covers: the missing one is reported.
    assert set(load_knee(tiny.study, case, heatmaps=True).heatmap_problems) == {"sag_3d_dess"}
    run.write_text(json.dumps({"run_id": "r", "heatmap_sequences": ["cor_iw_tse"]}))
    knee = load_knee(tiny.study, case, heatmaps=True)
    assert knee.heatmap_problems == {} and set(knee.heatmaps) == {"cor_iw_tse"}
