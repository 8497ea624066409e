"""The reading session: the state machine behind the reading screen (plain Python, no Qt).

One pair at a time, in the reader's stored order (practice pairs first). The reader chooses a
knee, rates confidence when the study asks, and confirms; the answer is committed to the
decisions file *before* the next pair is shown. The reading mode
(:mod:`studies.decisions.modes`) gives each pair's phases and whether the AI is shown in each:

- ``unaided``: the AI is never shown;
- ``aided``: the AI is shown from the start of each pair;
- ``sequential``: the reader first answers without the AI; that answer is committed as phase
  ``first`` and locked for good; then the AI is revealed and the reader gives the ``final``
  answer (which may differ). Resuming after a crash between the two shows the pair again with
  the AI revealed and the locked first answer.

Caliper measurements are recorded once, with the answer of the phase in which they were
taken: those already recorded with an earlier phase's answer to the pair are not repeated.

Write-behind (``write_behind=True``, what the reading app uses): :meth:`ReadingSession.confirm`
checks the answer, hands its durable write (SQLite, synchronous FULL) to one writer thread and
shows the next pair at once, so the reader never waits for the disk. The promise is kept:
:attr:`ReadingSession.last_saved` (what the app shows as "saved") changes only once the write
is durable; the next confirm, flag, change or stop waits for the write in flight; a crash
before it is durable leaves the pair unanswered, so resuming shows it again; and a failed
write brings the pair back on screen with the reader's choice and raises the storage error.

Active time per phase is measured by :class:`~reader_app.domain.timing.ActiveClock` with
pauses excluded. Views subscribe with :meth:`ReadingSession.subscribe` and redraw from
:attr:`ReadingSession.current` on every change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from reader_app.domain.ai import AiOutputs, require_ai
from reader_app.domain.timing import ActiveClock
from studies.decisions import AnswerLockedError, DecisionRow, DecisionStore
from studies.decisions.modes import (
    DEFAULT_MODE,
    check_mode_allowed,
    check_reading_mode,
    get_mode,
    no_ai_error,
)
from studies.errors import InputFileError
from studies.package import (
    Case,
    Manifest,
    decisions_path,
    file_sha256,
    load_key,
    load_manifest,
)

#: Reasons offered when flagging a pair (free text is accepted too).
FLAG_REASONS: tuple[str, ...] = ("Unreadable images", "Wrong side or wrong knee", "Other problem")

SIDES = ("left", "right")


class SessionError(RuntimeError):
    """A call the session cannot take in its current state (a bug in the caller)."""


@dataclass(frozen=True)
class PairState:
    """What the reading screen shows now.

    ``index`` is 0-based among all pairs (practice included) and ``total`` counts them all.
    ``choice`` and ``locked_first_choice`` are ``"left"``, ``"right"`` or None. The ``ai_*``
    fields are None unless ``ai_visible``: probabilities (0..1) and the preferred side.
    """

    pair_id: str
    index: int
    total: int
    practice: bool
    left: Case
    right: Case
    phase: str
    choice: str | None
    confidence: int | None
    ai_visible: bool
    locked_first_choice: str | None
    flags: tuple[str, ...] = ()
    ai_left: float | None = None
    ai_right: float | None = None
    ai_preferred: str | None = None


@dataclass(frozen=True)
class RevealedPair:
    pair_id: str
    chosen_case: str
    progressor: str
    correct: bool


@dataclass(frozen=True)
class EndSummary:
    """The end screen. ``revealed`` and ``proportion_correct`` stay None unless the study is
    educational and its key was given."""

    answered: int
    total: int
    flagged: int
    active_seconds: float
    revealed: tuple[RevealedPair, ...] | None = None
    proportion_correct: float | None = None


@dataclass
class _PendingWrite:
    """An answer handed to the writer thread, not yet known to be durable."""

    future: Future[int]
    row: DecisionRow
    state: PairState  # the pair as it was when confirmed (shown again if the write fails)
    active_seconds: float


class ReadingSession:
    """See the module docstring. ``store`` must be open for the same study; the caller closes it.

    Raises :class:`OptionError` for a mode the study does not allow and :class:`StudyError`
    for an AI mode without AI outputs (pass ``ai`` from :func:`reader_app.domain.ai.require_ai`).
    Records ``session_start`` at once, so a read-only folder or full disk is reported here,
    before the first pair.
    """

    def __init__(self, manifest: Manifest, store: DecisionStore, mode: str = DEFAULT_MODE, *,
                 clock: Callable[[], float] = time.monotonic, ai: AiOutputs | None = None,
                 wall_clock: Callable[[], float] = time.time, write_behind: bool = False) -> None:
        check_mode_allowed(manifest, mode)
        self.reading_mode = get_mode(mode)
        if self.reading_mode.needs_ai and ai is None:
            raise no_ai_error(Path(store.path).parent.parent, mode)
        if store.study_id != manifest.study_id:
            raise ValueError("the decisions store belongs to another study")
        self.manifest, self.store, self.mode, self.ai = manifest, store, mode, ai
        self._wall = wall_clock
        self._clock = ActiveClock(clock)
        self._total = ActiveClock(clock)
        self._listeners: list[Callable[[ReadingSession], None]] = []
        self._paused = False
        self._stopped = False
        self._current: PairState | None = None
        self._phase_wall_start = 0.0
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="decision-writer") if write_behind else None
        self._pending: _PendingWrite | None = None
        #: The latest answer known to be durable (the app's "saved"), or None.
        self.last_saved: DecisionRow | None = None
        store.session_start(mode)
        self._total.start()
        self._load(store.next_unanswered_index(mode))

    @classmethod
    def open(cls, study: str | Path, reader_id: str, mode: str = DEFAULT_MODE, *,
             manifest: Manifest | None = None, clock: Callable[[], float] = time.monotonic,
             wall_clock: Callable[[], float] = time.time, decisions: str | Path | None = None,
             write_behind: bool = False) -> ReadingSession:
        """Load the manifest (unless given) and AI outputs, open the reader's decisions file and
        start a session: everything the reading screen needs, checked in an order that writes
        nothing when the study cannot be read (mode not allowed, no AI outputs, file locked,
        read-only folder, full disk). ``decisions``: another decisions file than the study's
        own for the reader (a screenshot's copy); ``write_behind``: see the module docstring.
        Close with :meth:`close`."""
        manifest = manifest or load_manifest(study)
        check_reading_mode(study, manifest, mode)
        ai = require_ai(study, mode, manifest)
        path = decisions_path(study, reader_id) if decisions is None else decisions
        store = DecisionStore.open(path, reader_id, manifest, mode)
        try:
            return cls(manifest, store, mode, clock=clock, ai=ai, wall_clock=wall_clock, write_behind=write_behind)
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        """Wait for an answer being written, record the session's end and close the decisions
        file (releasing its lock)."""
        try:
            self.stop()
        finally:
            try:
                if self._writer is not None:
                    self._writer.shutdown(wait=True)
            finally:
                self.store.close()

    # -- state ---------------------------------------------------------------------------
    @property
    def current(self) -> PairState | None:
        """The pair on screen, or None when finished."""
        return self._current

    @property
    def finished(self) -> bool:
        return self._current is None

    @property
    def is_paused(self) -> bool:
        return self._paused

    @property
    def progress(self) -> tuple[int, int]:
        """(scored pairs answered, scored pairs in the study): practice pairs do not count."""
        done = self._answered()
        scored = [p.pair_id for p in self.store.order if not p.practice]
        return sum(pid in done for pid in scored), len(scored)

    @property
    def active_seconds(self) -> float:
        """Active seconds on the current pair's current phase (pauses excluded)."""
        return self._clock.elapsed

    @property
    def total_active_seconds(self) -> float:
        """Active seconds in this session (pauses excluded)."""
        return self._total.elapsed

    @property
    def confidence_range(self) -> tuple[int, int] | None:
        scale = self.manifest.confidence_scale
        return (int(scale.get("min", 1)), int(scale.get("max", 5))) if scale else None

    @property
    def why_not_confirm(self) -> str | None:
        """Why :meth:`confirm` is not possible now (a tooltip for the disabled button), or None."""
        if self._current is None:
            return "All pairs are answered"
        if self._paused:
            return "Reading is paused"
        if self._current.choice is None:
            return "Choose a knee first (F / 1 for the left, J / 2 for the right)"
        if self.confidence_range and self._current.confidence is None:
            return "Rate your confidence first"
        return None

    @property
    def can_confirm(self) -> bool:
        return self.why_not_confirm is None

    def _answered(self) -> set[str]:
        """Pairs with a final answer: stored, or being written."""
        done = self.store.answered_pair_ids(self.mode)
        if self._pending is not None and self._pending.row.phase == "final":
            done = done | {self._pending.row.pair_id}
        return done

    def _next_index(self) -> int:
        done = self._answered()
        order = self.store.order
        return next((i for i, p in enumerate(order) if p.pair_id not in done), len(order))

    # -- write-behind -----------------------------------------------------------------------
    @property
    def saving(self) -> bool:
        """Whether a confirmed answer is still being written (not yet durable)."""
        return self._pending is not None

    def poll_saved(self) -> bool:
        """Settle the write in flight if it has finished (see :meth:`settle`) without waiting;
        True while it is still being written."""
        if self._pending is not None and self._pending.future.done():
            self.settle()
        return self._pending is not None

    def settle(self) -> None:
        """Wait until the answer in flight (if any) is durable and take it into the store's
        answers (listeners are told: it may now be shown as saved).

        If the write failed, the pair comes back on screen with the reader's choice (whatever
        was chosen on the pair shown meanwhile is dropped), listeners are told, and the
        storage error is raised: nothing was saved and nothing is lost silently.
        """
        pending = self._pending
        if pending is None:
            return
        try:
            audit_id = pending.future.result()
        except BaseException:
            self._pending = None
            self._start_phase(pending.state)
            self._clock.add(pending.active_seconds)
            self._changed()
            raise
        self._pending = None
        self.last_saved = self.store.record(pending.row, audit_id)
        self._changed()

    def subscribe(self, callback: Callable[[ReadingSession], None]) -> Callable[[], None]:
        """Call ``callback(session)`` on every state change; returns an unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _changed(self) -> None:
        for cb in list(self._listeners):
            cb(self)

    # -- moving through the pairs ---------------------------------------------------------
    def _state(self, index: int, phase: str, locked: str | None) -> PairState:
        op = self.store.order[index]
        ai_visible = self.reading_mode.ai_shown(phase)
        ai_left = ai_right = preferred = None
        if ai_visible and self.ai is not None:
            ai_left = self.ai.scores.get(op.left_case)
            ai_right = self.ai.scores.get(op.right_case)
            if ai_left is not None and ai_right is not None:
                preferred = self.ai.preferred(op.left_case, op.right_case)
        return PairState(
            pair_id=op.pair_id, index=index, total=len(self.store.order), practice=op.practice,
            left=self.manifest.cases[op.left_case], right=self.manifest.cases[op.right_case],
            phase=phase, choice=None, confidence=None, ai_visible=ai_visible,
            locked_first_choice=locked, flags=tuple(self.store.flags(op.pair_id)),
            ai_left=ai_left, ai_right=ai_right, ai_preferred=preferred,
        )

    def _load(self, index: int) -> None:
        if index >= len(self.store.order):
            self._current = None
            self._clock.pause()
            self._total.pause()  # the end screen's reading time stops with the last answer
            return
        pid = self.store.order[index].pair_id
        phases = self.reading_mode.phases
        phase, locked = phases[-1].name, None
        for p in phases[:-1]:  # resume on the first phase not yet answered
            earlier = self.store.answer(pid, p.name, self.mode)
            if earlier is None:
                phase, locked = p.name, None
                break
            locked = earlier.chosen_side if p.locked else None
        self._start_phase(self._state(index, phase, locked))

    def _start_phase(self, state: PairState) -> None:
        self._current = state
        self._clock.start(paused=self._paused)
        self._phase_wall_start = self._wall()

    def _replace(self, **changes) -> None:
        assert self._current is not None
        self._current = replace(self._current, **changes)
        self._changed()

    def _require_active(self) -> PairState:
        if self._current is None:
            raise SessionError("the session is finished")
        if self._paused:
            raise SessionError("reading is paused; resume first")
        return self._current

    def choose(self, side: str) -> None:
        """Select the ``"left"`` or ``"right"`` knee (not yet committed)."""
        self._require_active()
        if side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        self._replace(choice=side)

    def set_confidence(self, value: int) -> None:
        """Set the confidence rating (an int within the study's scale)."""
        self._require_active()
        rng = self.confidence_range
        if rng is None:
            raise SessionError("this study asks for no confidence rating")
        if not isinstance(value, int) or not rng[0] <= value <= rng[1]:
            raise ValueError(f"confidence must be an int from {rng[0]} to {rng[1]}, got {value!r}")
        self._replace(confidence=value)

    def confirm(self, measurements: list[dict] | None = None) -> DecisionRow | None:
        """Commit the current answer to the decisions file, then move on.

        In a mode with several phases (sequential) a confirm before the last phase stores that
        phase's answer (locked) and opens the next on the same pair (the AI revealed); the last
        stores the final answer and shows the next pair. If the store fails
        (:class:`studies.decisions.StorageError`) nothing moves on.

        ``measurements``: the reader's caliper measurements on the pair (audit entries from
        :meth:`reader_app.domain.measure.MeasurementBook.records`); those not yet recorded with
        an earlier phase's answer to the pair are recorded with this one.

        Returns the stored row; with write-behind None (the write is in flight: see
        :meth:`settle` and :attr:`last_saved`), and a previous write that failed is raised here.
        """
        reason = self.why_not_confirm
        if reason is not None:
            raise SessionError(f"cannot confirm: {reason}")
        self.settle()  # the previous answer durable first (raises, and shows it again, if not)
        state = self._current
        assert state is not None and state.choice is not None
        op = self.store.order[state.index]
        active = self._clock.elapsed
        answer = dict(phase=state.phase, confidence=state.confidence, mode=self.mode, ai_shown=state.ai_visible,
                      started_at=self._phase_wall_start, decided_at=max(self._wall(), self._phase_wall_start),
                      active_seconds=active, measurements=self._unrecorded(op.pair_id, state.phase, measurements))
        stored = None
        if self._writer is None:
            stored = self.last_saved = self.store.commit_decision(op.pair_id, op.case_on(state.choice), **answer)
        else:
            row = self.store.prepare_decision(op.pair_id, op.case_on(state.choice), **answer)
            self._pending = _PendingWrite(self._writer.submit(self.store.write, row), row, state, active)
        following = self.reading_mode.next(state.phase)
        if following is not None:
            self._start_phase(self._state(state.index, following.name, state.choice))
        else:
            self._load(self._next_index())
        self._changed()
        return stored

    def _unrecorded(self, pair_id: str, phase: str, measurements: list[dict] | None) -> list[dict]:
        """``measurements`` less those already recorded with the answers of the phases before
        ``phase`` to ``pair_id`` (each recorded one removed once: a measurement taken twice
        alike is kept once)."""
        out = list(measurements or ())
        before = self.reading_mode.previous(phase)
        while before is not None:
            row = self.store.answer(pair_id, before.name, self.mode)
            for recorded in row.measurements if row is not None else ():
                if recorded in out:
                    out.remove(recorded)
            before = self.reading_mode.previous(before.name)
        return out

    def flag(self, reason: str) -> None:
        """Flag the current pair (recorded at once); the reader still answers it."""
        state = self._require_active()
        self.settle()
        state = self._require_active()
        self.store.flag(state.pair_id, reason)
        self._replace(flags=tuple(self.store.flags(state.pair_id)))

    def can_change_answer(self, pair_id: str) -> bool:
        """Whether a committed final answer to ``pair_id`` may be changed now."""
        self.settle()
        return (self.manifest.allow_answer_change and not self._paused
                and self.store.answer(pair_id, "final", self.mode) is not None)

    def change_answer(self, pair_id: str, side: str, confidence: int | None = None,
                      active_seconds: float = 0.0) -> DecisionRow:
        """Change the final answer of an answered pair (only where the study allows it; a
        sequential first answer never changes). Appended to the audit trail."""
        old = self.store.answer(pair_id, "final", self.mode)
        if not self.can_change_answer(pair_id) or old is None:
            raise AnswerLockedError(f"the answer to pair {pair_id} cannot be changed")
        now = self._wall()
        return self.store.change_answer(
            pair_id, self.store.pair(pair_id).case_on(side), confidence=confidence, mode=self.mode,
            ai_shown=old.ai_shown, started_at=now, decided_at=now, active_seconds=active_seconds)

    # -- pausing and stopping ---------------------------------------------------------------
    def pause(self) -> None:
        """Stop the clocks; the screen should hide the images until :meth:`resume`."""
        if not self._paused:
            self._paused = True
            self._clock.pause()
            self._total.pause()
            self._changed()

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            if self._current is not None:
                self._clock.resume()
                self._total.resume()
            self._changed()

    def stop(self) -> None:
        """Record the end of the session (once). An unconfirmed choice is not saved."""
        if not self._stopped:
            self._stopped = True
            try:
                self.settle()
            finally:
                self.store.session_stop()

    def end_summary(self, key_path: str | Path | None = None) -> EndSummary:
        """What the end screen may show. Answers are revealed only when the study is
        educational *and* its key (checked against the manifest's hash) is given."""
        self.settle()
        answered, total = self.progress
        flagged = sum(bool(self.store.flags(p.pair_id)) for p in self.store.order if not p.practice)
        summary = EndSummary(answered, total, flagged, self.total_active_seconds)
        if not self.manifest.educational or key_path is None:
            return summary
        if file_sha256(key_path) != self.manifest.key_sha256:
            raise InputFileError(key_path, "this key does not belong to the study (its SHA-256 differs)")
        progressor = {p["pair_id"]: p["progressor"] for p in load_key(key_path)["pairs"]}
        revealed = tuple(
            RevealedPair(r.pair_id, r.chosen_case, progressor[r.pair_id], r.chosen_case == progressor[r.pair_id])
            for r in self.store.decisions(self.mode) if r.phase == "final" and not r.practice
        )
        correct = sum(r.correct for r in revealed) / len(revealed) if revealed else None
        return EndSummary(answered, total, flagged, self.total_active_seconds, revealed, correct)
