"""Reading the NIMH Data Archive's structure files (``image03.txt``, ``oai_*01.txt``).

An NDA package holds one tab-delimited text file per data structure, every value in double
quotes, with **two header rows**: row 1 the column names, row 2 their descriptions. The data
start on line 3. Every structure carries the NDA's common columns ``subjectkey`` (GUID),
``src_subject_id`` (here the OAI participant id), ``interview_date`` (MM/DD/YYYY),
``interview_age`` (months) and ``sex`` (M/F); the OAI's structures add ``visit`` (``V00``,
``V01`` ...) and, for knee-level readings, ``side`` and ``readprj``.

Column names are lower-cased; cells stripped. Errors name the file and the line.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from studies.errors import InputFileError, require_columns

ID_COLUMN = "src_subject_id"
#: Lines before the first data row (names, descriptions): data row r is file line r + 2.
HEADER_LINES = 2


def read_nda_table(path: Path, required: tuple[str, ...] = (ID_COLUMN,)) -> pd.DataFrame:
    """Read one NDA structure file as strings, the description row checked and dropped.

    Raises :class:`InputFileError` naming the file (and line) when it cannot be parsed, lacks
    a required column (with a "did you mean"), or has no description row on line 2 (the
    file was edited or exported without it: data would otherwise be read as a header).
    """
    try:
        df = pd.read_csv(
            path, sep="\t", dtype=str, keep_default_na=False, na_filter=False,
            quotechar='"', encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise InputFileError(
            path, f"cannot read this NDA structure file ({str(exc).strip()})",
            hint="NDA files are tab-delimited with two header rows; re-download it",
        ) from exc
    df.columns = [str(c).strip().lower() for c in df.columns]
    require_columns(path, df.columns, required,
                    hint="Check that this is the NDA structure file and that its first line holds the names")
    if df.empty:
        raise InputFileError(path, "line 2: the description row (the NDA's second header row) is missing",
                             hint="Re-download the package file")
    first = str(df[ID_COLUMN].iloc[0]).strip() if ID_COLUMN in df.columns else ""
    if first.isdigit():
        raise InputFileError(
            path,
            "line 2 holds data where the NDA's description row (second header row) belongs",
            value=first,
            hint="Re-download the file, or put the column descriptions back on line 2",
        )
    df = df.iloc[1:].reset_index(drop=True)
    return df.apply(lambda s: s.str.strip())


def line_of(row: int) -> int:
    """The file line of 0-based data row ``row`` (after the two header lines)."""
    return row + HEADER_LINES + 1
