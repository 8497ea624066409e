"""Caliper measurements in a reading mode with several phases: each measurement is recorded
once, with the answer of the phase in which it was taken (sequential reading)."""

from __future__ import annotations

import json

import pytest
from study_factory import make_study

from reader_app.domain.measure import measure
from reader_app.domain.session import ReadingSession
from studies.decisions import read_decisions
from studies.package import decisions_path

COR, SAG = "cor_iw_tse", "sag_3d_dess"


def _rec(case_id: str, y1: float, seq: str = COR) -> dict:
    return measure("left", seq, 4, (1.0, 1.0), (1.0, y1), (0.5, 0.5), (9, 20, 20)).record(case_id)


@pytest.mark.parametrize("write_behind", [False, True])
def test_early_measurements_are_recorded_with_the_first_answer_only(tmp_path, write_behind):
    s = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=True)
    session = ReadingSession.open(s.study, "r1", "sequential", write_behind=write_behind)
    st = session.current
    early, late = _rec(st.left.case_id, 4.5), _rec(st.right.case_id, 3.0, SAG)
    assert st.phase == "first"
    session.choose("left")
    session.confirm([early])  # taken before the AI was revealed
    session.choose("right")
    session.confirm([early, late])  # the app passes every measurement on the pair
    session.choose("left")
    session.confirm([])
    session.close()
    df = read_decisions(decisions_path(s.study, "r1"), phases=("first", "final"))
    assert df.groupby("pair_id")["n_measurements"].sum().to_dict() == {st.pair_id: 2, df["pair_id"].iloc[-1]: 0}
    rows = df.set_index(["pair_id", "phase"])
    assert json.loads(rows.loc[(st.pair_id, "first"), "measurements"]) == [early]
    assert json.loads(rows.loc[(st.pair_id, "final"), "measurements"]) == [late]


def test_a_measurement_taken_again_alike_in_the_final_phase_is_kept_once(tmp_path):
    s = make_study(tmp_path, n_pairs=1, with_images=False, with_ai=True)
    session = ReadingSession.open(s.study, "r1", "sequential")
    st = session.current
    m = _rec(st.left.case_id, 4.5)
    session.choose("left")
    first = session.confirm([m])
    session.choose("left")
    final = session.confirm([m, dict(m)])  # the same line drawn a second time after the AI
    session.close()
    assert first.measurements == (m,) and final.measurements == (m,)


def test_single_phase_modes_record_every_measurement(tmp_path):
    s = make_study(tmp_path, n_pairs=1, with_images=False, with_ai=True)
    session = ReadingSession.open(s.study, "r1", "aided")
    st = session.current
    ms = [_rec(st.left.case_id, 4.5), _rec(st.right.case_id, 3.0)]
    session.choose("right")
    row = session.confirm(ms)
    session.close()
    assert row.measurements == tuple(ms)
