"""Open a study for one reader: manifest, AI outputs, decisions store, session, cache, window.

Two steps, so a cold start overlaps decoding with start-up:

1. :func:`prepare_reading` (no Qt imported) does every check that can fail before anything
   is shown (invalid package, mode not allowed, AI mode without AI outputs, locked or
   read-only decisions file, full disk) and starts decoding the first pair's knees in
   background threads;
2. :func:`open_reading` imports Qt and pyqtgraph, builds the window and draws the first pair
   (waiting for the decode if it is not done yet).

:class:`ReadingScreen` owns what it opened and closes it in order (prefetch threads stopped,
session stop recorded, store closed and unlocked).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reader_app.controllers.hanging import HangingController
from reader_app.controllers.reading import ReadingController
from reader_app.domain.session import ReadingSession
from reader_app.domain.volume_cache import VolumeCache
from reader_app.domain.volumes import KneeImages, load_knee
from studies.decisions.modes import DEFAULT_MODE

if TYPE_CHECKING:
    from reader_app.ui.reading_window import ReadingWindow

#: Knees kept decoded: the pair on screen and the next one.
CACHE_KNEES = 4
#: Background decoding threads (the two knees of a pair decode side by side; zlib releases the GIL).
DECODE_THREADS = 2
#: The next pair's prefetch starts this long after a pair is shown (after its first paint).
PREFETCH_DELAY_MS = 30
#: How often the window checks whether the answer written behind is durable.
SAVE_POLL_MS = 4


@dataclass
class PreparedReading:
    """A session opened and checked, its first pair decoding in the background."""

    study: Path
    session: ReadingSession
    cache: VolumeCache[str, KneeImages]

    def close(self) -> None:
        try:
            self.cache.close()
        finally:
            self.session.close()


@dataclass
class ReadingScreen:
    """Everything one reading session holds open."""

    window: ReadingWindow
    session: ReadingSession
    cache: VolumeCache[str, KneeImages]
    reading: ReadingController
    hanging: HangingController

    @property
    def store(self):
        """The reader's :class:`studies.decisions.DecisionStore`."""
        return self.session.store

    def close(self) -> None:
        """Record the end of the session and release the decisions file (idempotent)."""
        try:
            self.cache.close()
        finally:
            self.session.close()


def prepare_reading(study: str | Path, reader_id: str, mode: str = DEFAULT_MODE, *,
                    decisions: str | Path | None = None) -> PreparedReading:
    """Open and check ``study`` for ``reader_id`` in ``mode``; start decoding the first pair.

    ``decisions``: read and record in this decisions file instead of the study's own for the
    reader (see :meth:`ReadingSession.open`). Raises :class:`studies.errors.StudyError`
    subclasses for anything the user can fix. Imports no Qt.
    """
    study = Path(study)
    # every check, before anything is written
    # answers are written behind, on a writer thread, while the next pair is drawn
    session = ReadingSession.open(study, reader_id, mode, decisions=decisions, write_behind=True)
    manifest = session.manifest
    heatmaps = session.reading_mode.needs_ai
    cache: VolumeCache[str, KneeImages] = VolumeCache(
        lambda cid: load_knee(study, manifest.cases[cid], manifest.sequences, heatmaps=heatmaps,
                              ai_sha256=manifest.ai_sha256),
        capacity=CACHE_KNEES,
        workers=DECODE_THREADS,
    )
    st = session.current
    if st is not None:
        cache.prefetch(st.left.case_id)
        cache.prefetch(st.right.case_id)
    return PreparedReading(study, session, cache)


def open_reading(
    study: str | Path,
    reader_id: str,
    mode: str = DEFAULT_MODE,
    *,
    key: str | Path | None = None,
    prepared: PreparedReading | None = None,
    prefetch: bool = True,
) -> ReadingScreen:
    """Build the (not yet shown) reading window on the first unanswered pair.

    ``prepared`` is the result of :func:`prepare_reading` for the same arguments (made here
    when omitted). ``key`` is an educational study's key (answers revealed at the end).
    ``prefetch=False`` decodes no pair ahead (a screenshot exits after the first pair: closing
    would wait for a decode nobody needs).
    """
    prepared = prepared or prepare_reading(study, reader_id, mode)
    session, cache = prepared.session, prepared.cache
    try:
        from PySide6.QtCore import QTimer

        from reader_app.ui.reading_window import ReadingWindow

        manifest = session.manifest
        window = ReadingWindow(manifest.title, manifest.sequences)
        hanging = HangingController(window.views)
        reading = ReadingController(
            session,
            window,
            hanging,
            cache,
            session.store.order,
            question=manifest.question,
            confidence_scale=manifest.confidence_scale,
            key_path=str(key) if key else None,
            defer=(lambda fn: QTimer.singleShot(PREFETCH_DELAY_MS, fn)) if prefetch else (lambda fn: None),
            poll=lambda fn: QTimer.singleShot(SAVE_POLL_MS, fn),
        )
        window.bind(reading, hanging)
        reading.refresh()
    except BaseException:
        prepared.close()
        raise
    screen = ReadingScreen(window, session, cache, reading, hanging)
    window.on_close = screen.close
    return screen
