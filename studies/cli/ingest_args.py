"""Command-line options of the cohort ingest, shared by ``knee-study`` and ``knee-model``.

Light on purpose: registering the options imports nothing heavy (``--help`` stays fast).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studies.cohort.ingest import IngestOptions


def add_ingest_arguments(p: argparse.ArgumentParser) -> None:
    """``--style``, ``--variables``, ``--jsw-project`` and ``--kl-project``."""
    g = p.add_argument_group("reading an OAI download (docs/real-oai.md)")
    g.add_argument("--style", choices=("oai", "nda"), default=None,
                   help="download style: 'oai' (contents.csv, DICOM folders, '|' tables) or 'nda' "
                        "(image03.txt, .tar.gz series, NDA structures); default: detected")
    g.add_argument("--variables", type=Path, default=None, metavar="FILE",
                   help="TOML or CSV file overriding where variables are read (for a release whose names differ)")
    g.add_argument("--jsw-project", default="auto", metavar="N",
                   help="X-ray reading project of the JSW readings (default auto: per knee, the project "
                        "with most readings that read both ends of a window)")
    g.add_argument("--kl-project", default="auto", metavar="N",
                   help="reading project of the KL grades (default auto: 15, then 37, then 42)")


def ingest_options(args: argparse.Namespace) -> IngestOptions:
    """The parsed options as :class:`IngestOptions` (checked)."""
    from studies.cohort.ingest import IngestOptions

    return IngestOptions(
        style=args.style, variables=args.variables, jsw_project=args.jsw_project,
        kl_project=args.kl_project,
    ).check()
