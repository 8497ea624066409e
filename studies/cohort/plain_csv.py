"""The coordinators' plain-CSV cohort format (``docs/cohort-csv-format.md``).

One comma-separated row per knee and visit::

    patient_id,side,visit_month,min_medial_jsw_mm,womac_pain,age,sex,bmi,height_m,weight_kg,kl_grade,cor_iw_tse,sag_3d_dess
    P001,right,0,4.1,3,61,F,27.4,1.64,73.5,2,images/P001_R_cor,images/P001_R_sag.nii.gz

``side`` is right/left (or R/L); ``sex`` F/M (or female/male); empty cells are missing;
``womac_pain`` and ``kl_grade`` are optional columns; image paths (a DICOM folder or a
``.nii``/``.nii.gz`` file) are relative to the CSV's folder unless absolute, and may be empty.
Errors name the file, the row, the column and the value; a misspelt column gets a "did you
mean".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studies.cohort.table import VISIT_MONTHS, finalize_knees
from studies.errors import InputFileError, did_you_mean, require_columns
from studies.package import SEQUENCES
from studies.vocabulary import VARIABLES

#: CSV column -> knee-table column: the knee, the visit, the clinical variables readers see
#: (named by their package keys, :mod:`studies.vocabulary.variables`), the images.
REQUIRED_COLUMNS: dict[str, str] = {
    "patient_id": "participant_id",
    "side": "side",
    "visit_month": "visit_month",
    **{v.package_key: v.column for v in VARIABLES if v.shown},
    **{s: s for s in SEQUENCES},
}
#: The other clinical variables: optional columns.
OPTIONAL_COLUMNS: dict[str, str] = {v.package_key: v.column for v in VARIABLES if not v.shown}
COLUMNS: dict[str, str] = {**REQUIRED_COLUMNS, **OPTIONAL_COLUMNS}
#: Numeric CSV column -> its valid range.
NUMERIC = {v.package_key: v.valid_range for v in VARIABLES if not v.categorical}
#: Categorical CSV column -> {accepted spelling (lower case): stored code}.
CODED = {v.package_key: v.aliases() for v in VARIABLES if v.categorical}
SIDES = {"right": "right", "r": "right", "left": "left", "l": "left"}
DEFAULT_NAME = "cohort.csv"


def read_plain_csv(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a plain-CSV cohort; return (knee table, report).

    Raises :class:`InputFileError` for a missing or misspelt column, or a cell that cannot
    be read (naming row, column and value), and for a knee-visit listed twice.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(path, f"cannot read this CSV ({exc})") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    known = list(COLUMNS)
    report: dict[str, Any] = {"warnings": []}
    for col in raw.columns:
        if col in known:
            continue
        hint = did_you_mean(col, known)
        if hint:
            raise InputFileError(path, f"unknown column '{col}'.{hint}", hint="Rename the column")
        report["warnings"].append(
            f"{path}: column '{col}' is not part of the format and is ignored"
        )
    require_columns(path, raw.columns, REQUIRED_COLUMNS, hint="See docs/cohort-csv-format.md for the columns")
    raw = raw.apply(lambda s: s.str.strip())
    out = pd.DataFrame(index=raw.index)
    out["participant_id"] = raw["patient_id"]
    empty = raw["patient_id"] == ""
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise InputFileError(path, "empty patient id", column="patient_id", row=i + 1)
    out["side"] = _mapped(raw, "side", SIDES, path, allow_missing=False)
    for col, codes in CODED.items():
        if col in raw.columns:
            out[COLUMNS[col]] = _mapped(raw, col, codes, path, allow_missing=True)
    out["visit_month"] = _visit(raw, path)
    for col, (lo, hi) in NUMERIC.items():
        if col in raw.columns:
            out[COLUMNS[col]] = _number(raw, col, lo, hi, path)
    for seq in SEQUENCES:
        out[seq] = [
            None if not cell else str(p if (p := Path(cell)).is_absolute() else path.parent / p)
            for cell in raw[seq]
        ]
    dup = out.duplicated(["participant_id", "side", "visit_month"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        r = out.iloc[i]
        raise InputFileError(
            path,
            f"knee {r['participant_id']} {r['side']} at month {r['visit_month']} is listed twice",
            row=i + 1,
            hint="Each knee and visit must have one row",
        )
    knees = finalize_knees(out)
    report["participants"] = int(knees["participant_id"].nunique())
    report["knee_visits"] = len(knees)
    return knees, report


def _mapped(
    raw: pd.DataFrame, col: str, choices: dict[str, str], path: Path, *, allow_missing: bool
) -> list:
    values = []
    for i, cell in enumerate(raw[col]):
        if not cell and allow_missing:
            values.append(None)
            continue
        v = choices.get(cell.lower())
        if v is None:
            raise InputFileError(
                path,
                "expected one of " + ", ".join(sorted(set(choices))),
                column=col,
                row=i + 1,
                value=cell,
            )
        values.append(v)
    return values


def _visit(raw: pd.DataFrame, path: Path) -> list[int]:
    months = []
    for i, cell in enumerate(raw["visit_month"]):
        try:
            m = int(float(cell))
        except ValueError:
            m = -1
        if m not in VISIT_MONTHS:
            raise InputFileError(
                path,
                f"visit month must be one of {VISIT_MONTHS}",
                column="visit_month",
                row=i + 1,
                value=cell,
            )
        months.append(m)
    return months


def _number(raw: pd.DataFrame, col: str, lo: float, hi: float, path: Path) -> np.ndarray:
    out = np.full(len(raw), np.nan)
    for i, cell in enumerate(raw[col]):
        if not cell:
            continue
        try:
            v = float(cell)
        except ValueError:
            raise InputFileError(
                path, "expected a number (or an empty cell)", column=col, row=i + 1, value=cell
            ) from None
        if not lo <= v <= hi:
            raise InputFileError(
                path,
                f"value out of range [{lo:g}, {hi:g}]",
                column=col,
                row=i + 1,
                value=cell,
                hint="Check the unit (see docs/cohort-csv-format.md)",
            )
        out[i] = v
    return out
