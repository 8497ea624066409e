"""The reading controller with write-behind: "saved" only once durable; a failed write is
shown and its pair comes back (mock view, real session and store)."""

from __future__ import annotations

import threading
import time
from unittest.mock import MagicMock

from study_factory import make_study

from reader_app.controllers.hanging import HangingController
from reader_app.controllers.reading import SAVE_POLL_MS, ReadingController, ReadingViewLike
from reader_app.domain.session import ReadingSession
from reader_app.domain.volume_cache import VolumeCache
from studies.decisions import DecisionStore, StorageError
from studies.package import decisions_path


def _setup(tmp_path):
    t = make_study(tmp_path, n_pairs=3, with_images=False)
    store = DecisionStore.open(decisions_path(t.study, "r1"), "r1", t.manifest, "unaided")
    session = ReadingSession(t.manifest, store, "unaided", write_behind=True)
    view = MagicMock(spec=ReadingViewLike)
    hanging = MagicMock(spec=HangingController)
    cache = MagicMock(spec=VolumeCache)
    polls = []
    view.after.side_effect = lambda ms, action: polls.append(action) if ms == SAVE_POLL_MS else None
    ctl = ReadingController(session, view, hanging, cache, store.order, question="Which knee?")
    ctl.refresh()
    return ctl, view, session, store, polls


def test_saved_is_shown_only_after_the_write_is_durable(tmp_path):
    ctl, view, session, store, polls = _setup(tmp_path)
    gate = threading.Event()
    real = store.write
    store.write = lambda row, what="": (gate.wait(10), real(row, what))[1]
    first = session.current.pair_id
    ctl.choose("left")
    ctl.confirm()
    d = view.show_decision.call_args.args[0]
    assert session.current.pair_id != first and d.saved == "Saving the previous answer…"
    assert len(polls) == 1  # watching the write
    polls.pop()()  # the timer fires: still writing
    assert len(polls) == 1 and view.show_decision.call_args.args[0].saved.startswith("Saving")
    gate.set()
    while session.saving:
        session._pending.future.result(5)
        polls.pop()()
    assert view.show_decision.call_args.args[0].saved == "Previous answer saved"
    assert store.answer(first) is not None
    session.close()


def test_a_failed_write_is_shown_and_the_pair_comes_back(tmp_path):
    ctl, view, session, store, polls = _setup(tmp_path)
    first = session.current.pair_id

    def disk_full(row, what=""):
        raise StorageError("The answer to pair X was NOT saved: the disk is full")

    store.write = disk_full
    ctl.choose("right")
    ctl.confirm()
    while polls:  # the timer fires until the write has failed
        time.sleep(0.01)
        polls.pop()()
    assert "NOT saved" in view.show_error.call_args.args[0].text
    d = view.show_decision.call_args.args[0]
    assert session.current.pair_id == first and d.choice == "right" and d.saved == ""
    del store.write
    session.close()
