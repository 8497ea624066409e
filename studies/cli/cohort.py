"""``knee-study inspect-cohort``: what a cohort download holds, before any image is decoded."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from studies.cli.ingest_args import add_ingest_arguments

    p = sub.add_parser(
        "inspect-cohort",
        help="summarise an OAI download (either style) before building anything",
        description="Read the image index and the tables of an OAI download (the OAI's releases or "
        "an NDA package) and print what was found: style, visits, participants, knees with both "
        "sequences per visit, repeated and truncated series and the ones chosen, X-ray reading "
        "projects, variables found and missing, and how many knees each label would have. No "
        "image is decoded.",
    )
    p.add_argument("cohort", type=Path, metavar="DIR")
    p.add_argument("--json", action="store_true", help="print the inspection as JSON")
    add_ingest_arguments(p)
    p.set_defaults(func=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    from studies.cli.ingest_args import ingest_options
    from studies.cohort.inspect import format_inspection, inspect_cohort

    found = inspect_cohort(args.cohort, ingest_options(args))
    print(json.dumps(found, indent=2) if args.json else format_inspection(found))
    return 0
