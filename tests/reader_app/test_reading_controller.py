"""The reading controller with mock views (specified by its view protocols) over a real session
and decisions store; no window, no QApplication."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from study_factory import make_study

from reader_app.controllers.hanging import HangingController, ImageViewLike
from reader_app.controllers.reading import PREFETCH_DELAY_MS, ReadingController, ReadingViewLike
from reader_app.domain.ai import require_ai
from reader_app.domain.session import ReadingSession
from reader_app.domain.volume_cache import VolumeCache
from reader_app.domain.volumes import load_knee
from studies.decisions import DecisionStore, StorageError
from studies.decisions.modes import get_mode
from studies.package import decisions_path


def fire_at_once():
    """A view's ``after`` whose timers fire at once, one after the other (a timer set by an
    action fires after it, as in an event loop; a poll repeats until what it waits for is done)."""
    queue, running = [], []

    def after(ms, action):
        queue.append(action)
        if running:
            return
        running.append(True)
        try:
            while queue:
                queue.pop(0)()
        finally:
            running.clear()

    return after


@pytest.fixture
def setup(tmp_path):
    def make(mode="unaided", confidence=False, n_practice=0, educational=False, prefetch=True):
        t = make_study(tmp_path, n_pairs=3, n_practice=n_practice, with_ai=True, confidence=confidence,
                       educational=educational)
        m = t.manifest
        store = DecisionStore.open(decisions_path(t.study, "r1"), reader_id="r1", manifest=m, mode=mode)
        session = ReadingSession(m, store, mode, ai=require_ai(t.study, mode, m))
        loads = []

        def loader(cid):
            loads.append(cid)
            return load_knee(t.study, m.cases[cid], heatmaps=True)

        cache = VolumeCache(loader, capacity=4)
        view = MagicMock(spec=ReadingViewLike)
        view.ask_flag_reason.return_value = "Unreadable images"
        view.after.side_effect = fire_at_once()
        views = {(k, s): MagicMock(spec=ImageViewLike) for k in ("left", "right") for s in m.sequences}
        hanging = HangingController(views)
        ctl = ReadingController(session, view, hanging, cache, store.order, question=m.question,
                                confidence_scale=m.confidence_scale, key_path=str(t.key) if educational else None,
                                prefetch=prefetch)
        ctl.refresh()
        made.append((store, cache))
        return ctl, view, session, store, cache, loads, t

    made = []
    yield make
    for store, cache in made:
        cache.close()
        store.close()


def decision(view):
    return view.show_decision.call_args.args[0]


def test_first_pair_shown_with_clinical_variables_and_next_pair_prefetched(setup):
    ctl, view, session, store, cache, loads, t = setup()
    left, right = view.show_knees.call_args.args
    first = store.order[0]
    assert (left.label, right.label) == ("A", "B")
    assert left.clinical == t.manifest.cases[first.left_case].clinical
    assert first.left_case not in repr(left) and first.right_case not in repr(right)  # no ids reach the view
    cache.get(store.order[1].left_case)  # prefetched: waits for the background load, no new load
    assert loads.count(store.order[1].left_case) == 1
    view.show_ai.assert_called_with(None)  # unaided: never the AI
    d = decision(view)
    assert d.question == t.manifest.question and not d.can_confirm and "Choose a knee" in d.hint
    assert view.show_progress.call_args.args[0].text == "Pair 1 / 3"


def test_the_mode_is_shown_by_its_label_and_description_from_the_registry(setup):
    ctl, view, *_ = setup(mode="sequential")
    mode = get_mode("sequential")
    view.show_mode.assert_called_once_with("Sequential", mode.description)
    ctl.choose("left")
    ctl.confirm()
    assert view.show_mode.call_count == 1  # once per session, not per pair


def test_the_prefetch_waits_for_the_views_timer(setup):
    ctl, view, session, store, cache, loads, t = setup()
    (ms, action), _ = view.after.call_args_list[0]
    assert ms == PREFETCH_DELAY_MS and callable(action)


def test_a_screenshot_prefetches_nothing(setup):
    ctl, view, session, store, cache, loads, t = setup(prefetch=False)
    view.after.assert_not_called()
    assert store.order[1].left_case not in loads


def test_choose_confirm_commits_before_the_next_pair(setup):
    ctl, view, session, store, *_ = setup()
    ctl.confirm()  # nothing chosen: ignored
    assert store.decisions() == []
    ctl.choose("right")
    assert decision(view).choice == "right" and decision(view).can_confirm
    ctl.confirm()
    rows = store.decisions()
    assert [r.pair_id for r in rows] == [store.order[0].pair_id]
    assert rows[0].chosen_case == store.order[0].right_case
    assert session.current.index == 1
    assert view.show_progress.call_args.args[0].text == "Pair 2 / 3"
    assert decision(view).choice is None


def test_confidence_is_required_when_the_study_asks(setup):
    ctl, view, session, store, *_ = setup(confidence=True)
    ctl.choose("left")
    assert not decision(view).can_confirm and "confidence" in decision(view).hint
    ctl.set_confidence(9)  # out of the 1-5 scale: ignored
    ctl.set_confidence(4)
    assert decision(view).confidence == 4 and decision(view).confidence_scale[:2] == (1, 5)
    ctl.confirm()
    assert store.decisions()[0].confidence == 4


def test_pause_hides_and_blocks_answers(setup):
    ctl, view, session, store, *_ = setup()
    ctl.toggle_pause()
    view.show_paused.assert_called_with(True)
    ctl.choose("left")
    ctl.confirm()
    assert session.current.choice is None and store.decisions() == []
    ctl.toggle_pause()
    view.show_paused.assert_called_with(False)


def test_flag_asks_for_a_reason_and_records_it(setup):
    ctl, view, session, store, *_ = setup()
    ctl.flag()
    assert store.flags(store.order[0].pair_id) == ["Unreadable images"]
    assert "Flagged: Unreadable images" in decision(view).hint
    view.ask_flag_reason.return_value = None  # cancelled
    ctl.flag()
    assert len(store.flags(store.order[0].pair_id)) == 1


def test_store_failure_is_shown_and_the_pair_stays(setup, monkeypatch):
    ctl, view, session, store, *_ = setup()

    def fail(*a, **k):
        raise StorageError("Cannot save the decision: the disk is full. Free some space and confirm again")

    monkeypatch.setattr(store, "commit_decision", fail)
    ctl.choose("left")
    ctl.confirm()
    msg = view.show_error.call_args.args[0]
    assert "disk is full" in msg.text and msg.details == ""
    assert session.current.index == 0 and session.current.choice == "left"


def test_sequential_locks_first_answer_then_reveals_ai(setup):
    ctl, view, session, store, *_ = setup(mode="sequential")
    view.show_ai.assert_called_with(None)
    ctl.choose("left")
    ctl.confirm()
    ai = view.show_ai.call_args.args[0]
    assert ai is not None and set(ai.probabilities) == {"left", "right"}
    assert ai.preferred in ("left", "right")
    assert "first answer (knee A) is recorded and locked" in decision(view).note
    assert ctl.hanging.heatmaps_shown
    ctl.choose("right")
    ctl.confirm()
    phases = sorted((r.phase, r.chosen_case) for r in store.decisions())
    assert phases == sorted([("first", store.order[0].left_case), ("final", store.order[0].right_case)])
    view.show_ai.assert_called_with(None)  # next pair starts unaided again


def test_practice_pairs_are_labelled_and_end_screen_reveals_nothing(setup):
    ctl, view, session, store, *_ = setup(n_practice=1)
    p = view.show_progress.call_args.args[0]
    assert p.practice and p.text == "Practice pair 1 / 1"
    for _ in range(4):
        ctl.choose("left")
        ctl.confirm()
    title, text = view.show_finished.call_args.args
    assert "All 3 pairs are recorded" in text
    assert "correct" not in text
    assert not any(cid in text for cid in session.manifest.cases)


def test_educational_end_screen_reveals_with_the_key(setup):
    ctl, view, session, store, *_ = setup(educational=True)
    for _ in range(3):
        ctl.choose("left")
        ctl.confirm()
    text = view.show_finished.call_args.args[1]
    assert "Teaching study" in text and "correct" in text


def test_the_next_pair_is_prefetched_in_the_background_threads(setup, monkeypatch):
    ctl, view, session, store, cache, loads, t = setup()
    calls = []
    monkeypatch.setattr(cache, "prefetch", lambda key, **kw: calls.append((key, kw)))
    (_, action), _ = view.after.call_args_list[0]
    action()
    nxt = store.order[1]
    assert calls == [(nxt.left_case, {"background": True}), (nxt.right_case, {"background": True})]
