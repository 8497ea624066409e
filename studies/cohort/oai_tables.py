"""Reading the OAI's pipe-delimited tables (``AllClinical00.txt``, ``kxr_qjsw_duryea01.txt`` ...).

The OAI distributes its clinical and radiographic data as ``|``-separated text files with a
header row, keyed by ``ID`` (the participant id) and carrying a ``VERSION`` column. Coded
cells read ``code: label`` (``1: Male``, ``2: Left``); missing cells read ``.: Missing
Form/Incomplete Workbook``, ``.A: Not Expected``, ``.B: Don't Know/Unknown/Uncertain``,
``.D: Not Done`` and the like (any cell that starts with ``.``, an optional capital letter and
``:``), or are empty.

Every parser here names the file, the column, the (1-based data) row and the value when a
cell cannot be read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from studies.errors import InputFileError, require_columns

#: A cell the OAI marks as missing: "." alone, or ".X: reason" (X an optional capital letter).
MISSING_RE = re.compile(r"^\.[A-Z]?(:.*)?$")
#: A coded cell "code: label".
CODED_RE = re.compile(r"^\s*(-?\d+)\s*:\s*(.*)$")

#: Folder names excluded from the table search (generator side files, not OAI data).
EXCLUDED_DIRS = frozenset({"synthetic"})


def is_missing(cell: str) -> bool:
    """True for an empty cell or an OAI missing-value code (``.``, ``.A: Not Expected`` ...)."""
    s = cell.strip()
    return s == "" or bool(MISSING_RE.match(s))


def find_tables(root: Path, skip_dirs: frozenset[str] = frozenset()) -> dict[str, Path]:
    """Map the lower-cased file name of every ``*.txt`` under ``root`` to its path.

    The OAI's zips unpack into subfolders, so tables are found by name anywhere under
    ``root``. Folders named in :data:`EXCLUDED_DIRS` or ``skip_dirs`` (e.g. the visit folders
    holding millions of DICOM files) are not entered. When the same name occurs twice, the
    shallower path wins (and then the first in sorted order).
    """
    root = Path(root)
    prune = EXCLUDED_DIRS | skip_dirs
    candidates = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in prune)
        candidates += [Path(dirpath) / f for f in filenames if f.lower().endswith(".txt")]
    found: dict[str, Path] = {}
    for p in sorted(candidates, key=lambda p: (len(p.relative_to(root).parts), str(p))):
        found.setdefault(p.name.lower(), p)
    return found


def read_table(path: Path, required: tuple[str, ...] = ("ID",)) -> pd.DataFrame:
    """Read one OAI table as strings (column names upper-cased, cells stripped).

    Raises :class:`InputFileError` when the file cannot be parsed or lacks a required column
    (with a "did you mean" for a misspelt one).
    """
    try:
        df = pd.read_csv(
            path, sep="|", dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(
            path,
            f"cannot read this pipe-delimited OAI table ({exc})",
            hint="Check it is an OAI .txt table",
        ) from exc
    df.columns = [str(c).strip().upper() for c in df.columns]
    require_columns(path, df.columns, required, hint="OAI tables are '|'-separated with a header row")
    return df.apply(lambda s: s.str.strip())


def participant_ids(df: pd.DataFrame, path: Path) -> pd.Series:
    """The ``ID`` column as strings, checked to be non-empty digits."""
    ids = df["ID"]
    bad = ~ids.str.fullmatch(r"\d+")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(
            path, "participant ids must be digits", column="ID", row=i + 1, value=ids.iloc[i]
        )
    return ids


def numeric_column(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    """A numeric column as float, NaN for missing codes; a coded cell ``3: 3`` reads as 3.

    Raises :class:`InputFileError` naming the first cell that is neither a number nor missing.
    """
    if col not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    out = np.full(len(df), np.nan)
    for i, cell in enumerate(df[col].to_numpy()):
        if is_missing(cell):
            continue
        m = CODED_RE.match(cell)
        text = m.group(1) if m else cell
        try:
            out[i] = float(text)
        except ValueError:
            raise InputFileError(
                path,
                "expected a number or an OAI missing code such as '.: Missing'",
                column=col,
                row=i + 1,
                value=cell,
            ) from None
    return pd.Series(out, index=df.index, dtype=float)


def coded_column(df: pd.DataFrame, col: str, path: Path, codes: dict[int, str]) -> pd.Series:
    """A coded column (``1: Male``) mapped through ``codes`` (code -> value); None when missing.

    Raises :class:`InputFileError` for a code outside ``codes`` or a cell that is not coded.
    """
    values: list[str | None] = []
    for i, cell in enumerate(df[col].to_numpy()):
        if is_missing(cell):
            values.append(None)
            continue
        m = CODED_RE.match(cell)
        code = int(m.group(1)) if m else None
        if code is None and cell.lstrip("-").isdigit():
            code = int(cell)
        if code not in codes:
            allowed = ", ".join(f"'{k}: ...'" for k in codes)
            raise InputFileError(
                path, f"unknown code (expected one of {allowed})", column=col, row=i + 1, value=cell
            )
        values.append(codes[code])
    return pd.Series(values, index=df.index, dtype=object)


SEX_CODES = {1: "M", 2: "F"}
SIDE_CODES = {1: "right", 2: "left"}
