"""Edits the chain cannot show (hashes recomputed) but the store never
writes: analyze refuses them; files the store wrote pass."""

from __future__ import annotations

import pytest
from forge import forge
from study_factory import make_study

from studies.analysis import analyze_study
from studies.decisions import DecisionStore, verify_file
from studies.decisions.consistency import consistency_problems
from studies.errors import InputFileError
from studies.package import decisions_path, load_manifest


def _read(tiny, reader="r1", mode="unaided", change=False):
    manifest = load_manifest(tiny.study)
    path = decisions_path(tiny.study, reader)
    with DecisionStore.open(path, reader, manifest, mode) as store:
        store.session_start(mode)
        for op in store.order:
            if mode == "sequential":
                store.commit_decision(op.pair_id, op.left_case, phase="first", ai_shown=False,
                                      started_at=0.0, decided_at=1.0, active_seconds=1.0)
            store.commit_decision(op.pair_id, op.right_case, ai_shown=mode != "unaided",
                                  started_at=1.0, decided_at=2.0, active_seconds=1.0)
        if change:
            op = store.order[-1]
            store.change_answer(op.pair_id, op.left_case, started_at=2.0, decided_at=3.0, active_seconds=1.0)
        store.session_stop()
    return path, manifest


@pytest.fixture()
def tiny(tmp_path):
    return make_study(tmp_path, n_pairs=4, n_practice=1, with_images=False, with_ai=True)


@pytest.mark.parametrize("mode", ["unaided", "aided", "sequential"])
def test_files_the_store_wrote_are_consistent(tiny, mode):
    path, manifest = _read(tiny, mode=mode)
    assert consistency_problems(path, manifest) == []


def test_an_allowed_answer_change_is_consistent(tmp_path):
    tiny = make_study(tmp_path, n_pairs=3, with_images=False, allow_answer_change=True)
    path, manifest = _read(tiny, change=True)
    assert consistency_problems(path, manifest) == []


def _scored_rows(manifest):
    practice = {p.pair_id for p in manifest.practice_pairs}
    return lambda p: p.get("pair_id") not in practice


EDITS = {
    "a wrong answer hidden as practice": (
        lambda m: lambda i, k, p: {**p, "practice": True} if k == "decision" and _scored_rows(m)(p) else p,
        "practice"),
    "a forged answer change": (
        lambda m: lambda i, k, p: ("answer_change", {**p, "replaces": i - 1}) if k == "decision" and i == 3 else p,
        "answer change"),
    "ai_shown flipped": (
        lambda m: lambda i, k, p: {**p, "ai_shown": True} if k == "decision" else p, "ai_shown"),
    "a chosen case from elsewhere": (
        lambda m: lambda i, k, p: {**p, "chosen_case": "KFORGED"} if k == "decision" else p, "chosen case"),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_rechained_edits_the_store_never_writes_are_refused_by_analyze(tiny, name):
    path, manifest = _read(tiny)
    make_edit, needle = EDITS[name]
    forge(path, payload_edit=make_edit(manifest))
    assert verify_file(path).ok  # the chain alone cannot tell
    assert any(needle in p for p in consistency_problems(path, manifest))
    with pytest.raises(InputFileError, match="contradict what the reader app writes"):
        analyze_study(tiny.study, tiny.key, n_boot=20)


def test_a_second_decision_for_a_pair_is_refused(tiny):
    path, manifest = _read(tiny)
    rows = []

    def dup(i, k, p):
        if k == "decision":
            rows.append(p)
            if len(rows) == 3:  # the third answer becomes a second answer to the second pair
                return {**rows[1], "decided_at": p["decided_at"]}
        return p

    forge(path, payload_edit=dup)
    assert verify_file(path).ok
    assert any("second decision" in p for p in consistency_problems(path, manifest))


def test_a_changed_reading_order_is_refused(tiny):
    path, manifest = _read(tiny)
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER order_no_update")
    conn.execute("UPDATE pair_order SET practice = 1 - practice")
    conn.commit()
    conn.close()
    forge(path)
    assert verify_file(path).ok
    assert any("practice mark" in p for p in consistency_problems(path, manifest))


def test_a_changed_reader_id_is_refused(tiny):
    path, manifest = _read(tiny)
    forge(path, meta={"reader_id": "r9"})
    assert verify_file(path).ok
    assert any("reader id or the seed was changed" in p for p in consistency_problems(path, manifest))
