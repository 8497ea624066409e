"""Open a study for one reader: manifest, AI outputs, decisions store, session, cache, window.

:func:`open_reading` does every check that can fail *before* the window appears (invalid
package, AI mode without AI outputs, locked or read-only decisions file), so the caller can
show one clear message; :class:`ReadingScreen` owns what it opened and closes it in order
(session stop recorded, prefetch threads stopped, store closed and unlocked).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer

from reader_app.domain.session import ReadingSession
from reader_app.domain.volume_cache import VolumeCache
from reader_app.domain.volumes import KneeImages, load_knee
from reader_app.ui.hanging_controller import HangingController
from reader_app.ui.reading_controller import ReadingController
from reader_app.ui.reading_window import ReadingWindow
from studies.decisions import DecisionStore
from studies.package import AI_MODES

#: Knees kept decoded: the pair on screen and the next one.
CACHE_KNEES = 4
#: The next pair's prefetch starts this long after a pair is shown (after its first paint).
PREFETCH_DELAY_MS = 30


@dataclass
class ReadingScreen:
    """Everything one reading session holds open."""

    window: ReadingWindow
    session: ReadingSession
    store: DecisionStore
    cache: VolumeCache[str, KneeImages]
    reading: ReadingController
    hanging: HangingController

    def close(self) -> None:
        """Record the end of the session and release the decisions file (idempotent)."""
        try:
            self.cache.close()
        finally:
            self.session.close()


def open_reading(study: str | Path, reader_id: str, mode: str = "unaided", *, key: str | Path | None = None) -> ReadingScreen:
    """Open ``study`` for ``reader_id`` in ``mode`` and build the (not yet shown) window.

    Raises :class:`studies.errors.StudyError` subclasses for anything the user can fix.
    """
    study = Path(study)
    session = ReadingSession.open(study, reader_id, mode)  # every check, before anything is written
    manifest, store = session.manifest, session.store
    cache: VolumeCache[str, KneeImages] | None = None
    try:
        heatmaps = mode in AI_MODES
        cache = VolumeCache(
            lambda cid: load_knee(study, manifest.cases[cid], manifest.sequences, heatmaps=heatmaps),
            capacity=CACHE_KNEES,
        )
        window = ReadingWindow(manifest.title, manifest.sequences)
        hanging = HangingController(window.views)
        reading = ReadingController(
            session,
            window,
            hanging,
            cache,
            store.order,
            question=manifest.question,
            confidence_scale=manifest.confidence_scale,
            key_path=str(key) if key else None,
            defer=lambda fn: QTimer.singleShot(PREFETCH_DELAY_MS, fn),
        )
        window.bind(reading, hanging)
        reading.refresh()
    except BaseException:
        if cache is not None:
            cache.close()
        session.close()
        raise
    screen = ReadingScreen(window, session, store, cache, reading, hanging)
    window.on_close = screen.close
    return screen
