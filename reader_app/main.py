"""``knee-reader``: the radiologist's reading app (and the doors to the demo and the coordinator view).

    knee-reader [STUDY] [--reader ID] [--mode unaided|aided|sequential] [--screenshot PNG]
    knee-reader --coordinator STUDY --key KEY
    knee-reader --coordinator --store URL [STUDY]
    knee-reader STUDY --reader ID --store URL   (answers also sent to a decisions server)
    knee-reader --demo [--demo-dir DIR]
    knee-reader --check [--json] [--torch | --full] [--study DIR] [--cache DIR]

Without STUDY or --reader, a start dialog asks for them. ``--screenshot`` renders the window
on the first unanswered pair offscreen, writes the PNG and exits; it records nothing (the
session runs on a temporary copy of the reader's decisions file). ``--check`` is ``knee-study
doctor``: what this machine lacks to open the reader, and how to fix it (no window, no Qt
import). Importing this module, or starting the app, never imports torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from studies.decisions.modes import mode_names
from studies.errors import StudyError
from studies.locations import DEMO_DIR


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="knee-reader",
        description="Blind paired reading of a knee-MRI study package: choose the knee that will progress.",
    )
    p.add_argument("study", nargs="?", help="the study folder (with manifest.json)")
    p.add_argument("--reader", help="your reader id (letters, digits, '-', '_', '.')")
    p.add_argument("--mode", choices=mode_names(), default=None, help="reading mode (default: the study's first)")
    p.add_argument("--screenshot", metavar="PNG", help="render the window offscreen to PNG and exit")
    p.add_argument("--key", help="the study key (coordinator view; reveals answers at the end of a teaching study)")
    p.add_argument("--coordinator", action="store_true", help="open the coordinator's view (needs --key; with --demo, the demo's)")
    p.add_argument("--demo", action="store_true", help="build the demo study if needed and read it")
    p.add_argument("--demo-dir", default=DEMO_DIR, help=f"where the demo's files go (default: {DEMO_DIR})")
    p.add_argument("--store", metavar="URL", default=None,
                   help="also send answers to a decisions server, postgresql://user@host/db (password from "
                   "PGPASSFILE); with --coordinator: show the server's progress per reader")
    p.add_argument("--insecure-tls", action="store_true", help="allow a non-local server without a verified certificate")
    p.add_argument("--check", action="store_true",
                   help="check this machine (knee-study doctor; --check --help for its options) and exit")
    return p


def run_check(argv: Sequence[str]) -> int:
    """``knee-reader --check [doctor options]``: the checks of ``knee-study doctor``."""
    from studies.cli.doctor import add_doctor_arguments
    from studies.cli.doctor import run as run_doctor

    p = argparse.ArgumentParser(prog="knee-reader --check", description="Check this machine (knee-study doctor).")
    add_doctor_arguments(p)
    return run_doctor(p.parse_args([a for a in argv if a != "--check"]))


def _fail(message: str) -> int:
    print(f"knee-reader: error: {message}", file=sys.stderr)
    return 2


def run_screenshot(study: str, reader: str, mode: str | None, out: str, key: str | None = None) -> int:
    """Open ``study`` offscreen, write the window to ``out`` (PNG) and close everything.

    The session runs on a temporary copy of the reader's decisions file (or a new one), so a
    screenshot writes nothing into the study: the reader's audit trail stays theirs, and a
    reader reading at the same time (holding the file's lock) is no obstacle.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="knee-reader-screenshot-") as tmp:
        return _screenshot(study, reader, mode, out, key, _decisions_copy(study, reader, Path(tmp)))


def _decisions_copy(study: str, reader: str, folder: Path) -> Path:
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


def _screenshot(study: str, reader: str, mode: str | None, out: str, key: str | None, decisions: Path) -> int:
    from reader_app.ui.launch import prepare_reading
    from studies.package import load_manifest

    mode = mode or load_manifest(study).reading_modes[0]
    prepared = prepare_reading(study, reader, mode, decisions=decisions)  # decoding starts while Qt loads
    try:
        from reader_app.ui.app import create_app

        create_app(offscreen=True)
        from reader_app.ui.launch import open_reading
        from reader_app.ui.screenshot import save_screenshot
    except BaseException:
        prepared.close()
        raise
    screen = open_reading(study, reader, mode, key=key, prepared=prepared, prefetch=False)
    try:
        save_screenshot(screen.window, out)
    finally:
        screen.window.close()
    print(out)
    return 0


def run_gui(args: argparse.Namespace) -> int:
    from reader_app.ui.launch import prepare_reading
    from studies.package import load_manifest

    study, reader, mode = args.study, args.reader, args.mode
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
    from reader_app.ui.launch import open_reading
    from reader_app.ui.start_dialog import StartDialog

    while True:
        if error is not None:
            show_error(None, describe(error, "Opening the study"))
            if not isinstance(error, StudyError):
                return 1  # a bug: its details were shown; do not loop on it
            error, ask, mode = None, True, None
        if ask:
            dialog = StartDialog(study or "", reader or "")
            if dialog.exec() != StartDialog.DialogCode.Accepted:
                return 1
            choice = dialog.choice()
            study, reader, mode = str(choice.study), choice.reader_id, choice.mode
        try:
            mode = mode or load_manifest(study).reading_modes[0]
            screen = open_reading(study, reader, mode, key=args.key, prepared=prepared)
            break
        except Exception as exc:  # shown; for the user's errors, back to the start dialog
            prepared, error = None, exc
    install_excepthook()
    push = None
    if args.store:
        from reader_app.ui.push_status import attach_push

        push = attach_push(screen, args.store, insecure_tls=args.insecure_tls)
    screen.window.show()
    code = app.exec()
    if push is not None:
        screen.close()  # the session's end row is written, then sent with what is left
        status = push.stop()
        if status.to_send or status.conflict:
            print(f"knee-reader: {status.text}; the answers are safe in the local file and are "
                  "sent the next time the study is opened with --store", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--check" in argv:
        return run_check(argv)
    args = build_parser().parse_args(argv)
    try:
        if args.store:  # a bad URL (a password in it, weak TLS) is refused before any window
            from studies.decisions.pg.connect import parse_store_url

            parse_store_url(args.store, insecure_tls=args.insecure_tls)
        if args.demo:
            from reader_app.demo import run_demo

            return int(run_demo(args) or 0)
        if args.coordinator and args.store:
            from reader_app.ui.server_progress import main as server_progress

            return int(server_progress(args) or 0)
        if args.coordinator:
            if not args.study or not args.key:
                return _fail("--coordinator needs STUDY and --key KEY")
            from reader_app.ui import coordinator

            return int(coordinator.main(args) or 0)
        if args.screenshot:
            if not args.study or not args.reader:
                return _fail("--screenshot needs STUDY and --reader ID")
            return run_screenshot(args.study, args.reader, args.mode, args.screenshot, args.key)
        return run_gui(args)
    except StudyError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
