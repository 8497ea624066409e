"""The ``knee-study`` command line.

Each sub-command lives in its own module under ``studies/cli/`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the
parsed ``argparse.Namespace`` and returning an exit code. Modules are listed in
:data:`COMMAND_MODULES`; keep each module's imports of heavy libraries inside its functions so
``knee-study --help`` stays fast.

Errors the user can fix (:class:`studies.errors.StudyError`) print as one message without a
traceback and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from studies.errors import StudyError

#: Sub-command modules, in the order their commands appear in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "studies.cli.synth",
    "studies.cli.cohort",
    "studies.cli.build",
    "studies.cli.decisions",
    "studies.cli.stats",
    "studies.cli.doctor",
    "studies.cli.server",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="knee-study",
        description="Build and analyse knee-MRI reader studies (radiologists vs AI).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command group not written yet
                continue
            raise
        module.register(sub)
    return parser


def run_command(prog: str, args: argparse.Namespace) -> int:
    """Run a parsed sub-command: a :class:`StudyError` becomes one line on stderr and exit
    status 2, Ctrl+C exit status 130; any other exception is a bug and keeps its traceback.
    Shared by ``knee-study`` and ``knee-model``."""
    try:
        return int(args.func(args) or 0)
    except StudyError as exc:
        print(f"{prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog} {args.command}: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("knee-study", build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
