"""Cohort ingest: an OAI download (either style) or a plain CSV -> the knee table.

>>> cohort = load_cohort("demo/cohort")          # doctest: +SKIP
>>> cohort.knees.columns                          # see studies.cohort.table.KNEE_COLUMNS

OAI downloads come in two styles (``docs/real-oai.md``): the OAI's own releases (``oai``:
``<VV>m/contents.csv``, DICOM folders, pipe-delimited tables) and the NIMH Data Archive's
package (``nda``: ``image03.txt``, one ``.tar.gz`` per series, tab-delimited structures).
Both are detected from the folder; :class:`IngestOptions` forces a style, overrides the
variable map and picks the X-ray reading projects.
"""

from __future__ import annotations

from pathlib import Path

from studies.cohort.ingest import IngestOptions, detect_style, load_oai_style, resolve
from studies.cohort.plain_csv import DEFAULT_NAME, read_plain_csv
from studies.cohort.table import KNEE_COLUMNS, Cohort
from studies.errors import InputFileError

__all__ = ["Cohort", "IngestOptions", "KNEE_COLUMNS", "load_cohort", "resolve"]


def load_cohort(path: str | Path, options: IngestOptions | None = None) -> Cohort:
    """Read a cohort, auto-detecting its format.

    ``path`` is an OAI download folder (either style), a plain CSV file, or a folder holding
    ``cohort.csv``. Raises :class:`InputFileError` when it is none of these or a file in it
    cannot be read, :class:`studies.errors.OptionError` for bad ``options``.
    """
    path = Path(path)
    options = options or IngestOptions()
    if path.is_file() and path.suffix.lower() == ".csv":
        knees, report = read_plain_csv(path)
        return Cohort(knees=knees, root=path.parent, source="csv", report=report)
    if not path.is_dir():
        raise InputFileError(
            path, "cohort not found", hint="Give an OAI download folder or a plain CSV file"
        )
    if options.style is not None or detect_style(path) is not None:
        return load_oai_style(path, options)
    if (path / DEFAULT_NAME).is_file():
        knees, report = read_plain_csv(path / DEFAULT_NAME)
        return Cohort(knees=knees, root=path, source="csv", report=report)
    raise InputFileError(
        path,
        "not a cohort: no 00m/contents.csv or image03.txt (OAI download) and no cohort.csv (plain CSV)",
        hint="See docs/real-oai.md and docs/cohort-csv-format.md",
    )
