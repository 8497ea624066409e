"""Open a study for one reader: manifest, AI outputs, decisions store, session, cache, window.

The typed entries of ``knee-reader`` (``reader_app.main`` parses, then calls one of them; the
demo calls them directly):

- :func:`run_gui` opens the reading window (the start dialog first when the study or the
  reader is not given) and runs the app until the window closes;
- :func:`run_screenshot` renders the window offscreen on the first unanswered pair into a PNG.

Both take :class:`ReadingOptions`. Underneath, two steps, so a cold start overlaps decoding
with start-up:

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

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reader_app.domain.session import ReadingSession
from reader_app.domain.volume_cache import VolumeCache
from reader_app.domain.volumes import KneeImages, load_knee
from studies.decisions.modes import DEFAULT_MODE
from studies.errors import OptionError, StudyError

if TYPE_CHECKING:
    from reader_app.controllers.hanging import HangingController
    from reader_app.controllers.reading import ReadingController
    from reader_app.ui.reading_window import ReadingWindow

#: Knees kept decoded: the pair on screen and the next one.
CACHE_KNEES = 4
#: Background decoding threads (the two knees of a pair decode side by side; zlib releases the GIL).
DECODE_THREADS = 2
#: Niceness added to the threads decoding the next pair ahead (Linux), so that they yield the
#: CPU to the window; the first pair, which the reader waits for, decodes at normal priority.
PREFETCH_NICE = 5


@dataclass(frozen=True)
class ReadingOptions:
    """What to open: ``study`` (a folder with manifest.json) for ``reader`` in ``mode``.

    ``study`` or ``reader`` None: the start dialog asks (:func:`run_gui`); ``mode`` None: the
    study's first reading mode; ``key``: the study key (answers revealed at the end of a
    teaching study).
    """

    study: str | Path | None = None
    reader: str | None = None
    mode: str | None = None
    key: str | Path | None = None
    #: A decisions server the answers are also sent to (``postgresql://...``), or None.
    store: str | None = None
    #: Allow a non-local server without a verified certificate.
    insecure_tls: bool = False


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
        background_nice=PREFETCH_NICE,
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
        # imported once the first pair decodes (prepare_reading needs none of them)
        from reader_app.controllers.hanging import HangingController
        from reader_app.controllers.reading import ReadingController
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
            prefetch=prefetch,
        )
        window.bind(reading, hanging)
        reading.refresh()
    except BaseException:
        prepared.close()
        raise
    screen = ReadingScreen(window, session, cache, reading, hanging)
    window.on_close = screen.close
    return screen


def run_screenshot(options: ReadingOptions, out: str | Path) -> int:
    """Open ``options.study`` offscreen, write the window to ``out`` (PNG), print its path and
    close everything; returns 0.

    The session runs on a temporary copy of the reader's decisions file (or a new one), so a
    screenshot writes nothing into the study: the reader's audit trail stays theirs, and a
    reader reading at the same time (holding the file's lock) is no obstacle.
    """
    import tempfile

    if not options.study or not options.reader:
        raise OptionError("study and reader", "both given for a screenshot", f"{options.study!r}, {options.reader!r}")
    with tempfile.TemporaryDirectory(prefix="knee-reader-screenshot-") as tmp:
        decisions = _decisions_copy(options.study, options.reader, Path(tmp))
        return _screenshot(options, out, decisions)


def _decisions_copy(study: str | Path, reader: str, folder: Path) -> Path:
    """A consistent copy of the reader's decisions file in ``folder`` (SQLite's backup, which
    also takes what is still in the write-ahead log); the path alone when there is none."""
    import sqlite3

    from studies.decisions.audit import open_readonly
    from studies.package import check_reader_id, decisions_path

    src, dst = decisions_path(study, check_reader_id(reader)), folder / f"{reader}.sqlite"
    if src.is_file():
        source = open_readonly(src)  # a clean error for a file that is not a decisions file
        target = sqlite3.connect(dst)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    return dst


def _screenshot(options: ReadingOptions, out: str | Path, decisions: Path) -> int:
    from studies.package import load_manifest

    study, reader = options.study, options.reader
    mode = options.mode or load_manifest(study).reading_modes[0]
    prepared = prepare_reading(study, reader, mode, decisions=decisions)  # decoding starts while Qt loads
    try:
        from reader_app.ui.app import create_app

        create_app(offscreen=True)
        from reader_app.ui.screenshot import save_screenshot
    except BaseException:
        prepared.close()
        raise
    screen = open_reading(study, reader, mode, key=options.key, prepared=prepared, prefetch=False)
    try:
        save_screenshot(screen.window, str(out))
    finally:
        screen.window.close()
    print(out, flush=True)
    keep_startup_objects()  # the process ends now: its last collection skips them
    return 0


def keep_startup_objects() -> None:
    """Move every object made so far (modules, classes, the window: they live as long as the
    app) out of the garbage collector's sight (:func:`gc.freeze`). Later full collections,
    which pause the window, then skip them, and so does the teardown at exit (~0.2 s after a
    screenshot). Cyclic garbage made before is never collected (none was left in a measured
    start: the collector had run during start-up)."""
    import gc

    gc.freeze()


def run_gui(options: ReadingOptions) -> int:
    """Open the reading window and run the app until it closes; returns the app's exit code
    (1 when the start dialog is cancelled or opening failed on a bug, whose details were shown).

    A user's error (a locked decisions file, an invalid package...) is shown and the start
    dialog asks again.
    """
    from studies.package import load_manifest

    study, reader, mode = options.study, options.reader, options.mode
    ask = not study or not reader
    prepared, error = None, None
    if not ask:  # decode the first pair while Qt loads
        try:
            mode = mode or load_manifest(study).reading_modes[0]
            prepared = prepare_reading(study, reader, mode)
        except Exception as exc:  # shown once Qt is up
            error = exc
    from reader_app.ui.app import create_app

    app = create_app()
    from reader_app.ui.errors import describe, install_excepthook, show_error
    from reader_app.ui.start_dialog import StartDialog

    while True:
        if error is not None:
            show_error(None, describe(error, "Opening the study"))
            if not isinstance(error, StudyError):
                return 1  # a bug: its details were shown; do not loop on it
            error, ask, mode = None, True, None
        if ask:
            dialog = StartDialog(str(study or ""), reader or "")
            if dialog.exec() != StartDialog.DialogCode.Accepted:
                return 1
            choice = dialog.choice()
            study, reader, mode = str(choice.study), choice.reader_id, choice.mode
        try:
            mode = mode or load_manifest(study).reading_modes[0]
            screen = open_reading(study, reader, mode, key=options.key, prepared=prepared)
            break
        except Exception as exc:  # shown; for the user's errors, back to the start dialog
            prepared, error = None, exc
    install_excepthook()
    push = None
    if options.store:
        from reader_app.ui.push_status import attach_push

        push = attach_push(screen, options.store, insecure_tls=options.insecure_tls)
    screen.window.show()
    keep_startup_objects()
    code = app.exec()
    if push is not None:
        screen.close()  # the session's end row is written, then sent with what is left
        status = push.stop()
        if status.to_send or status.conflict:
            print(f"knee-reader: {status.text}; the answers are safe in the local file and are "
                  "sent the next time the study is opened with --store", file=sys.stderr)
    return code
