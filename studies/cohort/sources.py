"""Reading the variables of :mod:`studies.cohort.variables` out of either style's tables.

``read_variables`` turns the tables of a cohort folder into three long tables, whatever the
style:

- ``participants``: participant_id, sex
- ``visits``: participant_id, visit_month, age, bmi, height_m, weight_kg, pain_right, pain_left
- ``readings``: participant_id, side, visit_month, variable ('jsw_mm' | 'kl_grade'),
  project (the X-ray reading project, '' when the table has none), value

Cells may be numbers, ``code: label`` (``2: 2``), bare codes, or any of the OAI's missing codes
(``.``, ``.D: Don't Know/Unknown/Uncertain``, ``.R: Refused``, ``.T: Technical Problems`` ...)
or blank. Every error names the file, the column, the row and the value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studies.cohort.nda_tables import read_nda_table
from studies.cohort.oai_tables import CODED_RE, is_missing, numeric_column, read_table
from studies.cohort.variables import KEYS, REQUIRED, VARIABLE_MAP, VISIT_CODES, Source
from studies.errors import InputFileError, did_you_mean, require_columns
from studies.vocabulary import VARIABLES as VOCABULARY

SEX_VALUES = {"1": "M", "m": "M", "male": "M", "2": "F", "f": "F", "female": "F"}
SIDE_VALUES = {"1": "right", "right": "right", "r": "right", "2": "left", "left": "left", "l": "left"}
VISIT_MONTH_OF = {f"V{code}": month for month, code in VISIT_CODES.items()}

#: Numbers per participant and visit, and readings per knee (with a reading project), as the
#: variable map declares them (``per``); coded variables (sex) are read once per participant.
PARTICIPANT_VARIABLES = tuple(v for v, src in VARIABLE_MAP["oai"].items()
                              if src.per == "participant" and not (v in VOCABULARY and VOCABULARY.get(v).categorical))
KNEE_VARIABLES = tuple(v for v, src in VARIABLE_MAP["oai"].items() if src.per == "knee")


class Tables:
    """The cohort's tables by lower-case file name, read once each, in ``style``'s format."""

    def __init__(self, style: str, paths: dict[str, Path]) -> None:
        self.style = style
        self.paths = paths
        self._read: dict[str, pd.DataFrame] = {}

    def has(self, name: str) -> bool:
        return name in self.paths

    def get(self, name: str) -> pd.DataFrame:
        if name not in self._read:
            reader: Callable = read_nda_table if self.style == "nda" else read_table
            df = reader(self.paths[name], required=(self.column(KEYS[self.style]["id"]),))
            self._read[name] = df
        return self._read[name]

    def column(self, name: str) -> str:
        """A column name as this style's reader spells it (upper case for oai, lower for nda)."""
        return name.lower() if self.style == "nda" else name.upper()


def coded_value(cell: str, choices: dict[str, str]) -> str | None:
    """Map a cell (``1: Right``, ``1``, ``Right``, ``M``) through ``choices``; None if missing."""
    if is_missing(cell):
        return None
    m = CODED_RE.match(cell)
    for candidate in ((m.group(1), m.group(2).strip()) if m else (cell.strip(),)):
        value = choices.get(candidate.lower())
        if value is not None:
            return value
    raise KeyError(cell)


def _coded(df: pd.DataFrame, col: str, path: Path, choices: dict[str, str], what: str) -> list:
    out = []
    for i, cell in enumerate(df[col].to_numpy()):
        try:
            out.append(coded_value(cell, choices))
        except KeyError:
            raise InputFileError(path, f"unknown {what} code", column=col, row=i + 1, value=cell,
                                 hint="Expected " + ", ".join(sorted(set(choices)))) from None
    return out


def _project(cell: str) -> str:
    if is_missing(cell):
        return ""
    m = CODED_RE.match(cell)
    return (m.group(1) if m else cell).strip()


def _rows_of_visit(tables: Tables, name: str, month: int) -> tuple[pd.DataFrame, Path]:
    df, path = tables.get(name), tables.paths[name]
    if tables.style != "nda":
        return df, path
    col = tables.column(KEYS["nda"]["visit"])
    require_columns(path, df.columns, (col,), hint="NDA structures of the OAI carry a 'visit' column (V00, V01 ...)")
    return df[df[col].str.upper() == f"V{VISIT_CODES[month]}"], path


def _value_column(tables: Tables, src: Source, month: int, df: pd.DataFrame, path: Path) -> str:
    col = tables.column(src.column_name(month))
    require_columns(path, df.columns, (col,),
                    hint=f"The variable '{src.variable}' is expected there; if this release names it "
                         "differently, map it with --variables (docs/real-oai.md)")
    return col


def _values(tables: Tables, src: Source, df: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    values = numeric_column(df.reset_index(drop=True), col, path).to_numpy() * src.scale
    return np.floor(values + 1e-9) if src.floor else values


def _missing_table(src: Source, month: int, tables: Tables, report: dict[str, Any], root: Path) -> None:
    name = src.table_name(month)
    if src.variable in REQUIRED and month == 0:
        raise InputFileError(
            root / name,
            f"table not found under the cohort folder (needed for '{src.variable}')."
            + did_you_mean(name, tables.paths.keys()),
            hint="Put the table into the cohort folder, or map the variable with --variables",
        )
    report["missing"].append(f"{src.variable} at month {month}: no {name}")


def read_variables(tables: Tables, sources: dict[str, Source], root: Path, report: dict[str, Any]
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(participants, visits, readings) as described in the module docstring."""
    report.setdefault("missing", [])
    report.setdefault("found", {})
    id_key = tables.column(KEYS[tables.style]["id"])
    sex = _read_sex(tables, sources["sex"], id_key, root, report)
    frames = []
    for month in VISIT_CODES:
        per = {}
        for var in PARTICIPANT_VARIABLES:
            src = sources[var]
            if not src.at(month):
                continue
            name = src.table_name(month)
            if not tables.has(name):
                _missing_table(src, month, tables, report, root)
                continue
            df, path = _rows_of_visit(tables, name, month)
            col = _value_column(tables, src, month, df, path)
            report["found"].setdefault(var, []).append(f"{path.name}:{col}")
            s = pd.Series(_values(tables, src, df, col, path), index=df[id_key].to_numpy())
            per[var] = _first_per_key(s, path, report)
        if per:
            frames.append(pd.DataFrame(per).rename_axis("participant_id").reset_index().assign(visit_month=month))
    visits = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["participant_id", "visit_month"])
    for var in PARTICIPANT_VARIABLES:
        if var not in visits.columns:
            visits[var] = np.nan
    readings = _read_readings(tables, sources, root, report)
    return sex, visits, readings


def _first_per_key(s: pd.Series, path: Path, report: dict[str, Any]) -> pd.Series:
    """One value per participant: the first measured one; duplicates noted in the report."""
    _check_ids(s.index, path)
    if s.index.has_duplicates:
        report["warnings"].append(f"{path}: {int(s.index.duplicated().sum())} rows repeat a participant; "
                                  "the first measured value is used")
        s = s.sort_values(key=lambda v: v.isna(), kind="stable")
        s = s[~s.index.duplicated(keep="first")]
    return s


def _check_ids(ids, path: Path) -> None:
    for i, pid in enumerate(ids):
        if not str(pid).isdigit():
            raise InputFileError(path, "participant ids must be digits", row=i + 1, value=pid)


def _read_sex(tables: Tables, src: Source, id_key: str, root: Path, report: dict[str, Any]) -> pd.DataFrame:
    name = src.table_name(0)
    if not tables.has(name):
        _missing_table(src, 0, tables, report, root)
    df, path = tables.get(name), tables.paths[name]
    col = _value_column(tables, src, 0, df, path)
    report["found"].setdefault("sex", []).append(f"{path.name}:{col}")
    _check_ids(df[id_key], path)
    out = pd.DataFrame({"participant_id": df[id_key].to_numpy(),
                        "sex": _coded(df, col, path, SEX_VALUES, "sex")})
    return out.drop_duplicates("participant_id")


def _read_readings(tables: Tables, sources: dict[str, Source], root: Path, report: dict[str, Any]) -> pd.DataFrame:
    keys = KEYS[tables.style]
    id_key, side_key, prj_key = (tables.column(keys[k]) for k in ("id", "side", "project"))
    frames = []
    for var in KNEE_VARIABLES:
        src = sources[var]
        for month in VISIT_CODES:
            if not src.at(month):
                continue
            name = src.table_name(month)
            if not tables.has(name):
                if tables.style == "oai" or month == 0:
                    _missing_table(src, month, tables, report, root)
                continue
            df, path = _rows_of_visit(tables, name, month)
            require_columns(path, df.columns, (side_key,), hint="Knee-level tables carry the knee's side")
            col = _value_column(tables, src, month, df, path)
            if df.empty:
                continue
            report["found"].setdefault(var, []).append(f"{path.name}:{col}")
            _check_ids(df[id_key], path)
            frames.append(pd.DataFrame({
                "participant_id": df[id_key].to_numpy(),
                "side": _coded(df, side_key, path, SIDE_VALUES, "side"),
                "visit_month": month,
                "variable": var,
                "project": [_project(c) for c in df[prj_key]] if prj_key in df.columns else "",
                "value": _values(tables, src, df, col, path),
                "source": str(path),
            }))
    cols = ["participant_id", "side", "visit_month", "variable", "project", "value", "source"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out = out[out["side"].notna() & out["value"].notna()]
    dup = out.duplicated(["participant_id", "side", "visit_month", "variable", "project"])
    if dup.any():
        report["warnings"].append(
            f"{int(dup.sum())} X-ray rows repeat a knee, visit and reading project; the first is used")
        out = out[~dup]
    return out.reset_index(drop=True)
