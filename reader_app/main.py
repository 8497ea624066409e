"""``knee-reader``: the radiologist's reading app (and the doors to the demo and the coordinator view).

    knee-reader [STUDY] [--reader ID] [--mode unaided|aided|sequential] [--screenshot PNG]
    knee-reader --coordinator STUDY --key KEY
    knee-reader --coordinator STUDY --key KEY --store URL   (the decisions from a server, progress live)
    knee-reader --coordinator --store URL [STUDY]   (progress per reader only, without the key)
    knee-reader STUDY --reader ID --store URL   (answers also sent to a decisions server)
    knee-reader --demo [--demo-dir DIR]
    knee-reader --check [--json] [--torch | --full] [--study DIR] [--cache DIR]

Without STUDY or --reader, a start dialog asks for them. ``--screenshot`` renders the window
on the first unanswered pair offscreen, writes the PNG and exits; it records nothing (the
session runs on a temporary copy of the reader's decisions file). ``--check`` is ``knee-study
doctor``: what this machine lacks to open the reader, and how to fix it (no window, no Qt
import). Importing this module, or starting the app, never imports torch.

This module only parses the command line and dispatches: the reading window and the
screenshot are :mod:`reader_app.ui.launch`'s, the demo :mod:`reader_app.demo`'s, the machine
check ``knee-study doctor``'s.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from studies.decisions.modes import mode_names
from studies.errors import StudyError
from studies.locations import DEMO_DIR

if TYPE_CHECKING:
    from reader_app.ui.launch import ReadingOptions


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
                   "PGPASSFILE); with --coordinator and --key: the coordinator's view of the server's decisions; "
                   "with --coordinator alone: the server's progress per reader")
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


def _reading_options(args: argparse.Namespace) -> ReadingOptions:
    from reader_app.ui.launch import ReadingOptions

    return ReadingOptions(study=args.study, reader=args.reader, mode=args.mode, key=args.key,
                          store=args.store, insecure_tls=args.insecure_tls)


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

            return int(run_demo(args.demo_dir, coordinator=args.coordinator) or 0)
        if args.coordinator and args.store and not args.key:
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
            from reader_app.ui.launch import run_screenshot

            return run_screenshot(_reading_options(args), args.screenshot)
        from reader_app.ui.launch import run_gui

        return run_gui(_reading_options(args))
    except StudyError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
