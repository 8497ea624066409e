"""Cohort ingest: an OAI-layout folder or a plain CSV -> the knee table.

>>> cohort = load_cohort("demo/cohort")          # doctest: +SKIP
>>> cohort.knees.columns                          # see studies.cohort.table.KNEE_COLUMNS
"""

from __future__ import annotations

from pathlib import Path

from studies.cohort.oai import is_oai_layout, load_oai
from studies.cohort.plain_csv import DEFAULT_NAME, read_plain_csv
from studies.cohort.table import KNEE_COLUMNS, Cohort
from studies.errors import InputFileError

__all__ = ["Cohort", "KNEE_COLUMNS", "load_cohort"]

SYNTHETIC_MARKER = Path("synthetic") / "cohort.json"


def load_cohort(path: str | Path) -> Cohort:
    """Read a cohort, auto-detecting its format.

    ``path`` is an OAI-layout folder (``00m/contents.csv`` ... and the OAI tables), a plain
    CSV file, or a folder holding ``cohort.csv``. Raises :class:`InputFileError` when it is
    none of these or a file in it cannot be read.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        knees, report = read_plain_csv(path)
        return Cohort(knees=knees, root=path.parent, source="csv", report=report)
    if not path.is_dir():
        raise InputFileError(
            path, "cohort not found", hint="Give an OAI-layout folder or a plain CSV file"
        )
    if is_oai_layout(path):
        knees, report = load_oai(path)
        return Cohort(
            knees=knees,
            root=path,
            source="oai",
            report=report,
            is_synthetic=(path / SYNTHETIC_MARKER).is_file(),
        )
    if (path / DEFAULT_NAME).is_file():
        knees, report = read_plain_csv(path / DEFAULT_NAME)
        return Cohort(knees=knees, root=path, source="csv", report=report)
    raise InputFileError(
        path,
        "not a cohort: no 00m/contents.csv (OAI layout) and no cohort.csv (plain CSV)",
        hint="See docs/cohort-csv-format.md",
    )
