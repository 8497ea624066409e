"""``knee-study doctor``: what this machine has and lacks, and how to fix it (studies.doctor)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_doctor_arguments(p: argparse.ArgumentParser) -> None:
    """The doctor's options (shared with ``knee-reader --check``)."""
    p.add_argument("--study", type=Path, default=None,
                   help="the study folder to check for space and write access (default: demo-output)")
    p.add_argument("--cache", type=Path, default=None,
                   help="the model's cache folder (default: $KNEE_MODEL_CACHE or ~/.cache/knee-model)")
    p.add_argument("--torch", action="store_true",
                   help="also import torch (in a child process, seconds) and list its devices")
    p.add_argument("--full", action="store_true",
                   help="--torch, and start Qt for real in a child process")
    p.add_argument("--json", action="store_true", help="print the checks as JSON (for scripts)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check this machine: Python, packages, Qt's system libraries, display, torch, disk",
        description=(
            "Report each requirement as OK, MISSING (with how to fix it), ABSENT (optional, with "
            "what it is for), WARNING or SKIPPED. Exit status 1 when a requirement is missing. "
            "Imports neither Qt nor torch unless --torch / --full."
        ),
    )
    add_doctor_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from studies.doctor import DoctorOptions, exit_status, render_text, run_checks, to_json

    checks = run_checks(DoctorOptions(
        study=args.study, cache=args.cache, torch=args.torch or args.full, qt_start=args.full,
    ))
    print(to_json(checks) if args.json else render_text(checks))
    return exit_status(checks)
