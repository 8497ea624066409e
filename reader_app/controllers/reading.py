"""The reading screen's controller: the domain's ReadingSession on one side, the window on the other.

No Qt here. The controller subscribes to the session and, on every change, tells the view
what to show through plain data (:class:`DecisionDisplay`, :class:`KneeInfo`, ...); the view
calls the controller's methods when the reader acts (:class:`reader_app.ui.reading_window.ReadingWindow`
implements :class:`ReadingViewLike`). Tested with ``MagicMock(spec=ReadingViewLike)``.

Images come from a :class:`reader_app.domain.volume_cache.VolumeCache` keyed by case id;
shortly after a pair is drawn the next pair's knees are prefetched in the background, so
confirming a decision only costs drawing. The two short timers this needs (the prefetch delay,
:data:`PREFETCH_DELAY_MS`, and the poll of an answer written behind, :data:`SAVE_POLL_MS`)
are asked of the view (:meth:`ReadingViewLike.after`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reader_app.controllers.hanging import KNEE_LABELS, HangingController
from reader_app.controllers.messages import ErrorMessage, describe
from reader_app.domain.measure import MeasurementBook
from reader_app.domain.volume_cache import VolumeCache
from reader_app.domain.volumes import KneeImages

SIDES = ("left", "right")
#: The next pair's prefetch starts this long after a pair is shown (after its first paint), ms.
PREFETCH_DELAY_MS = 30
#: How often the controller checks whether the answer written behind is durable, ms.
SAVE_POLL_MS = 4
#: How often the controller checks whether the next pair is decoded (to ready the views for it), ms.
PREPARE_POLL_MS = 50
#: What the window says about the answer written behind: until it is durable, then once it is.
SAVING_TEXT, SAVED_TEXT = "Saving the previous answer…", "Previous answer saved"


@dataclass(frozen=True)
class KneeInfo:
    """What is written around one knee's images (never an id or a date)."""

    label: str  # "A" or "B"
    clinical: dict[str, Any]


@dataclass(frozen=True)
class AiInfo:
    """The AI's opinion on the pair: per side its probability of progression (None when
    unknown) and the side it prefers (None on a tie or when a score is missing)."""

    probabilities: dict[str, float | None]
    preferred: str | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DecisionDisplay:
    """State of the decision bar."""

    question: str
    choice: str | None  # 'left' | 'right' | None
    confidence: int | None
    confidence_scale: tuple[int, int, dict[str, str]] | None  # (min, max, labels)
    can_confirm: bool
    hint: str  # what to do next (also the Confirm button's tooltip when disabled)
    note: str = ""  # e.g. the locked first answer in sequential mode
    saved: str = ""  # "Saving the previous answer…" until it is durable, then "Previous answer saved"


@dataclass(frozen=True)
class ProgressDisplay:
    text: str  # "Pair 3 / 150" or "Practice 1 / 2"
    practice: bool


class ReadingViewLike(Protocol):
    """What the controller needs from the reading window (messages and questions included:
    the controller never opens a dialog itself)."""

    def show_mode(self, label: str, description: str) -> None: ...
    def show_knees(self, left: KneeInfo, right: KneeInfo) -> None: ...
    def prepare_knees(self, left: KneeInfo, right: KneeInfo) -> None:
        """Ready the texts of the pair shown next (idle time); nothing on screen changes."""
    def show_ai(self, ai: AiInfo | None) -> None: ...
    def show_decision(self, decision: DecisionDisplay) -> None: ...
    def show_progress(self, progress: ProgressDisplay) -> None: ...
    def show_paused(self, paused: bool) -> None: ...
    def show_finished(self, title: str, text: str) -> None: ...
    def show_error(self, message: ErrorMessage) -> None: ...
    def ask_flag_reason(self) -> str | None: ...
    def after(self, ms: int, action: Callable[[], None]) -> None:
        """Run ``action`` once, ``ms`` milliseconds from now, on the thread that drives the view."""


def ai_info(st: Any) -> AiInfo:
    """The AI's view of the pair on screen, from the session's ``PairState``."""
    probs = {"left": st.ai_left, "right": st.ai_right}
    problems = [f"The AI has no score for knee {KNEE_LABELS[s]}." for s in SIDES if probs[s] is None]
    return AiInfo(probs, st.ai_preferred, problems)


def end_text(summary: Any) -> str:
    """The end screen's text from the session's ``EndSummary`` (answers only when revealed)."""
    minutes = summary.active_seconds / 60.0
    lines = [
        f"All {summary.total} pairs are recorded ({summary.answered} answered, {summary.flagged} flagged).",
        f"Active reading time in this session: {minutes:.0f} min.",
        "Thank you for reading. You can close this window.",
    ]
    if summary.revealed is not None:
        lines.append("")
        if summary.proportion_correct is not None:
            lines.append(f"Teaching study: you chose the progressing knee in {summary.proportion_correct:.0%} of pairs.")
        for r in summary.revealed:
            lines.append(f"{r.pair_id}: {'correct' if r.correct else 'not correct'}")
    return "\n".join(lines)


class ReadingController:
    """Drives the reading window from a ``ReadingSession`` (see ``reader_app.domain.session``).

    Parameters
    ----------
    session : the domain's reading session (``current``, ``progress``, ``choose``, ``confirm``...).
    view : the window (:class:`ReadingViewLike`).
    hanging : the controller of the four image views.
    cache : images per case id (``VolumeCache[str, KneeImages]``).
    order : the reader's pairs in reading order (objects with ``left_case``/``right_case``),
        used to prefetch the next pair.
    question : the manifest's question.
    confidence_scale : the manifest's ``confidence_scale`` or None.
    key_path : an educational study's key; the end screen then reveals the answers
        (the session refuses to unless the study is educational and the key matches).
    prefetch : prefetch the next pair's knees (:data:`PREFETCH_DELAY_MS` after a pair is shown,
        through ``view.after``); False for a screenshot, which exits after the first pair.

    An answer written behind (the session's write-behind) is watched every
    :data:`SAVE_POLL_MS` through ``view.after`` until it is durable.
    """

    def __init__(
        self,
        session: Any,
        view: ReadingViewLike,
        hanging: HangingController,
        cache: VolumeCache[str, KneeImages],
        order: Sequence[Any],
        *,
        question: str,
        confidence_scale: Mapping[str, Any] | None = None,
        key_path: str | None = None,
        on_finished: Callable[[], None] | None = None,
        prefetch: bool = True,
    ) -> None:
        self.session = session
        self.view = view
        self.hanging = hanging
        self.cache = cache
        self.order = list(order)
        self.question = question
        self.scale = None
        if confidence_scale:
            labels = {str(k): str(v) for k, v in dict(confidence_scale.get("labels", {})).items()}
            self.scale = (int(confidence_scale["min"]), int(confidence_scale["max"]), labels)
        self.key_path = key_path
        self.on_finished = on_finished
        self.prefetch = prefetch
        self._mode_shown = False
        self._shown_pair: str | None = None
        self._shown_ai: bool | None = None
        self._paused_shown: bool | None = None
        #: Caliper measurements per pair (kept while the reader moves back and forth).
        self.measurements = MeasurementBook()
        session.subscribe(self.refresh)

    # -- session -> view --------------------------------------------------------------------
    def refresh(self, *_: Any) -> None:
        """Bring the view in line with the session (called on every session change)."""
        if not self._mode_shown:
            mode = self.session.reading_mode
            self.view.show_mode(mode.label, mode.description)
            self._mode_shown = True
        if self.session.finished:
            self._finish()
            return
        paused = bool(self.session.is_paused)
        if paused != self._paused_shown:
            self.view.show_paused(paused)
            self._paused_shown = paused
        st = self.session.current
        if st is None:
            return
        if st.pair_id != self._shown_pair:
            self._show_pair(st)
        if bool(st.ai_visible) != self._shown_ai:
            self._show_ai(st)
        self.view.show_decision(self._decision(st))
        self.view.show_progress(self._progress(st))

    def _show_pair(self, st: Any) -> None:
        self.cache.prefetch(st.right.case_id)  # decodes in the background while left loads here
        knees = {"left": self.cache.get(st.left.case_id), "right": self.cache.get(st.right.case_id)}
        self.hanging.load(knees, heatmaps=bool(st.ai_visible),
                          measurements=self.measurements.by_pair.setdefault(st.pair_id, []))
        self.view.show_knees(KneeInfo("A", dict(st.left.clinical)), KneeInfo("B", dict(st.right.clinical)))
        self._shown_pair = st.pair_id
        self._show_ai(st, views_ready=True)
        if self.prefetch:  # after drawing, so decoding the next pair does not compete with this pair's paint
            self.view.after(PREFETCH_DELAY_MS, lambda: self.prefetch_after(st.index))

    def prefetch_after(self, index: int) -> None:
        """Start loading the knees of the pair after ``index`` in the background."""
        if index + 1 < len(self.order):
            nxt = self.order[index + 1]
            # at lowered priority: the reader scrolls the pair on screen meanwhile
            self.cache.prefetch(nxt.left_case, background=True)
            self.cache.prefetch(nxt.right_case, background=True)
            self.view.after(PREPARE_POLL_MS, lambda: self.prepare_next(index))

    def prepare_next(self, index: int) -> None:
        """Once the pair after ``index`` is decoded, and while ``index`` is still on screen,
        ready the views for it (:meth:`HangingController.prepare`: its first slices windowed
        in idle time, so that confirming only swaps what is shown) and its clinical texts
        (``view.prepare_knees``); polled every
        :data:`PREPARE_POLL_MS` until then."""
        st = self.session.current
        if st is None or st.index != index or index + 1 >= len(self.order) or self.cache.closed:
            return
        nxt = self.order[index + 1]
        cases = (nxt.left_case, nxt.right_case)
        if any(self.cache.is_pending(c) for c in cases):
            self.view.after(PREPARE_POLL_MS, lambda: self.prepare_next(index))
            return
        left, right = (dict(self.session.manifest.cases[c].clinical) for c in cases)
        self.view.prepare_knees(KneeInfo("A", left), KneeInfo("B", right))  # its texts measured now
        if all(c in self.cache for c in cases):  # a knee that failed to decode is shown when reached
            self.hanging.prepare({"left": self.cache.get(nxt.left_case), "right": self.cache.get(nxt.right_case)})

    def _show_ai(self, st: Any, *, views_ready: bool = False) -> None:
        shown = bool(st.ai_visible)
        if not views_ready:
            self.hanging.show_heatmaps(shown)
        if shown:
            info = ai_info(st)
            info = AiInfo(info.probabilities, info.preferred, info.problems + self.hanging.heatmap_problems())
            self.view.show_ai(info)
        else:
            self.view.show_ai(None)
        self._shown_ai = shown

    def _decision(self, st: Any) -> DecisionDisplay:
        note = ""
        locked = getattr(st, "locked_first_choice", None)
        if locked:
            note = (
                f"Your first answer (knee {KNEE_LABELS[locked]}) is recorded and locked. "
                "The AI is now shown: give your final answer."
            )
        if st.choice is None:
            hint = "Choose a knee: F or 1 for A, J or 2 for B"
        elif self.scale is not None and st.confidence is None:
            hint = f"Rate your confidence: click, or Ctrl+{self.scale[0]} to Ctrl+{self.scale[1]}"
        else:
            hint = "Press Enter to confirm"
        if st.flags:
            hint += "   ·   Flagged: " + "; ".join(st.flags)
        return DecisionDisplay(
            question=self.question,
            choice=st.choice,
            confidence=st.confidence,
            confidence_scale=self.scale,
            can_confirm=bool(self.session.can_confirm),
            hint=hint,
            note=note,
            saved=self._saved_text(),
        )

    def _saved_text(self) -> str:
        """Said only once the session knows the answer is durable (write-behind)."""
        if getattr(self.session, "saving", False) is True:
            return SAVING_TEXT
        return SAVED_TEXT if getattr(self.session, "last_saved", None) is not None else ""

    def _progress(self, st: Any) -> ProgressDisplay:
        if st.practice:
            n_practice = sum(1 for p in self.order if getattr(p, "practice", False))
            return ProgressDisplay(f"Practice pair {st.index + 1} / {n_practice}", True)
        done, total = self.session.progress
        return ProgressDisplay(f"Pair {min(done + 1, total)} / {total}", False)

    def _finish(self) -> None:
        try:
            summary = self.session.end_summary(self.key_path)
        except Exception as exc:  # a wrong key must not hide the end screen
            self.view.show_error(describe(exc, "Revealing the answers"))
            summary = self.session.end_summary(None)
        self.view.show_finished("Reading complete", end_text(summary))
        if self.on_finished is not None:
            self.on_finished()

    # -- view -> session --------------------------------------------------------------------
    def _act(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as exc:  # one place turns exceptions into messages
            self.view.show_error(describe(exc))
            self.refresh()

    def choose(self, side: str) -> None:
        if side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        if self.session.is_paused or self.session.finished:
            return
        self._act(lambda: self.session.choose(side))

    def set_confidence(self, value: int) -> None:
        if self.scale is None or self.session.is_paused or self.session.finished:
            return
        lo, hi, _ = self.scale
        if lo <= value <= hi:
            self._act(lambda: self.session.set_confidence(value))

    def confirm(self) -> None:
        """Commit the current answer (the session writes it to the store before advancing)."""
        if self.session.is_paused or self.session.finished or not self.session.can_confirm:
            return
        st = self.session.current
        records = self.measurements.records(st.pair_id, {"left": st.left.case_id, "right": st.right.case_id})
        self._act(lambda: self.session.confirm(records))  # waits for the previous answer's write, if any
        self._watch_save()

    def _watch_save(self) -> None:
        """Until the answer written behind is durable: poll, then show it saved (or, if the
        write failed, the error and the pair again)."""
        if getattr(self.session, "saving", False) is not True:
            return
        try:
            still = self.session.poll_saved()
        except Exception as exc:  # the pair is back on screen with the reader's choice
            self.view.show_error(describe(exc))
            self.refresh()
            return
        if still:
            self.view.after(SAVE_POLL_MS, self._watch_save)

    def toggle_pause(self) -> None:
        if self.session.finished:
            return
        self._act(self.session.resume if self.session.is_paused else self.session.pause)

    def flag(self) -> None:
        """Ask the reader why, then flag the current pair (cancel does nothing)."""
        if self.session.finished or self.session.current is None:
            return
        reason = self.view.ask_flag_reason()
        if reason:
            self._act(lambda: self.session.flag(reason))
