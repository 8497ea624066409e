"""A cohort in the OAI's layout -> the knee table.

Layout (``docs/cohort-csv-format.md`` and the OAI's own documentation)::

    COHORT/00m/contents.csv  12m/...  24m/...  36m/...   image index per visit
    COHORT/00m/<Folder>/001, 002, ...                     one DICOM file per slice
    COHORT/**/AllClinicalVV.txt, Enrollees.txt, kxr_qjsw_duryeaVV.txt, kxr_sq_buVV.txt

Visit folders ``00m/12m/24m/36m`` go with variable prefixes ``V00/V01/V03/V05`` and table
suffixes ``00/01/03/05``. Sequences are found by ``SeriesDescription``
(``COR_IW_TSE_RIGHT``, ``SAG_3D_DESS_LEFT`` ...); every other series is ignored. Tables are
found by file name anywhere under the cohort (except ``synthetic/``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studies.cohort.oai_tables import (
    SEX_CODES,
    SIDE_CODES,
    coded_column,
    find_tables,
    numeric_column,
    participant_ids,
    read_table,
)
from studies.cohort.table import finalize_knees
from studies.errors import InputFileError, did_you_mean, require_columns

#: (visit folder, variable prefix, table suffix, visit month)
VISITS: tuple[tuple[str, str, str, int], ...] = (
    ("00m", "V00", "00", 0),
    ("12m", "V01", "01", 12),
    ("24m", "V03", "03", 24),
    ("36m", "V05", "05", 36),
)
CONTENTS_NAME = "contents.csv"
CONTENTS_COLUMNS = (
    "Folder",
    "ParticipantID",
    "StudyDate",
    "Barcode",
    "StudyDescription",
    "SeriesDescription",
)
SERIES_RE = re.compile(r"^(COR_IW_TSE|SAG_3D_DESS)_(LEFT|RIGHT)$")
REQUIRED_TABLES = ("enrollees.txt", "allclinical00.txt", "kxr_qjsw_duryea00.txt")


def is_oai_layout(root: Path) -> bool:
    """True when ``root`` has a visit folder with a ``contents.csv``."""
    return any((Path(root) / folder / CONTENTS_NAME).is_file() for folder, *_ in VISITS)


def read_contents(path: Path, visit_dir: Path, month: int, report: dict[str, Any]) -> pd.DataFrame:
    """Image series of one visit: participant_id, side, visit_month, sequence, path."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(path, f"cannot read this contents.csv ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    require_columns(
        path, df.columns, ("Folder", "ParticipantID", "SeriesDescription"),
        hint="The header must be " + ",".join(CONTENTS_COLUMNS),
    )
    rows = []
    for i, (folder, pid, desc) in enumerate(
        zip(df["Folder"], df["ParticipantID"], df["SeriesDescription"], strict=True)
    ):
        m = SERIES_RE.match(desc.strip().upper())
        if not m:
            report["series_ignored"] += 1
            continue
        pid = pid.strip()
        if not pid.isdigit():
            raise InputFileError(
                path, "participant ids must be digits", column="ParticipantID", row=i + 1, value=pid
            )
        if not folder.strip():
            raise InputFileError(
                path, "empty image folder", column="Folder", row=i + 1, value=folder
            )
        rows.append(
            {
                "participant_id": pid,
                "side": m.group(2).lower(),
                "visit_month": month,
                "sequence": m.group(1).lower(),
                "path": str(visit_dir / folder.strip()),
            }
        )
    out = pd.DataFrame(rows, columns=["participant_id", "side", "visit_month", "sequence", "path"])
    dup = out.duplicated(["participant_id", "side", "visit_month", "sequence"])
    if dup.any():
        report["warnings"].append(
            f"{path}: {int(dup.sum())} knee-visits list a sequence twice; the first series is used"
        )
        out = out[~dup]
    report["series_found"] += len(out)
    return out


def _per_knee(path: Path, value_col: str) -> pd.DataFrame:
    """A per-knee table (``ID|VERSION|SIDE|<value_col>``) -> participant_id, side, value."""
    df = read_table(path, required=("ID", "SIDE"))
    require_columns(path, df.columns, (value_col,))
    out = pd.DataFrame(
        {
            "participant_id": participant_ids(df, path),
            "side": coded_column(df, "SIDE", path, SIDE_CODES),
            "value": numeric_column(df, value_col, path),
        }
    )
    return out[out["side"].notna()]


def _first_per_knee(df: pd.DataFrame, path: Path, report: dict[str, Any]) -> pd.DataFrame:
    """Keep one row per knee (the first with a value); note duplicates in the report."""
    dup = df.duplicated(["participant_id", "side"], keep=False)
    if dup.any():
        report["warnings"].append(
            f"{path}: {int(dup.sum())} rows repeat a knee; the first measured value is used"
        )
        df = df.sort_values("value", key=lambda s: s.isna(), kind="stable")
        df = df.drop_duplicates(["participant_id", "side"], keep="first")
    return df


def _clinical(path: Path, prefix: str, month: int) -> pd.DataFrame:
    """AllClinicalVV -> participant_id, visit_month, age, bmi, height_m, weight_kg, pain_r, pain_l."""
    df = read_table(path)
    body = ("P01", prefix) if month == 0 else (prefix,)

    def pick(stem: str) -> pd.Series:
        for p in body:
            if f"{p}{stem}" in df.columns:
                return numeric_column(df, f"{p}{stem}", path)
        return pd.Series(np.nan, index=df.index, dtype=float)

    require_columns(path, df.columns, (f"{prefix}AGE",))
    return pd.DataFrame(
        {
            "participant_id": participant_ids(df, path),
            "visit_month": month,
            "age": numeric_column(df, f"{prefix}AGE", path),
            "bmi": pick("BMI"),
            "height_m": pick("HEIGHT") / 1000.0,
            "weight_kg": pick("WEIGHT"),
            "pain_right": numeric_column(df, f"{prefix}WOMKPR", path),
            "pain_left": numeric_column(df, f"{prefix}WOMKPL", path),
        }
    ).drop_duplicates("participant_id")


def load_oai(root: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an OAI-layout cohort; return (knee table, report).

    Rows are every knee-visit that has a JSW measurement or an image series; clinical
    values come from the participant's visit table. Raises :class:`InputFileError` for a
    required table that is missing or a cell that cannot be read.
    """
    root = Path(root)
    report: dict[str, Any] = {"series_found": 0, "series_ignored": 0, "warnings": [], "tables": []}
    tables = find_tables(root, skip_dirs=frozenset(folder for folder, *_ in VISITS))
    for name in REQUIRED_TABLES:
        if name not in tables:
            raise InputFileError(
                root / name,
                "required OAI table not found under the cohort folder."
                + did_you_mean(name, tables.keys()),
                hint="Unpack the OAI's clinical and X-ray zips into the cohort folder",
            )

    enrol = read_table(tables["enrollees.txt"], required=("ID", "P02SEX"))
    sex = pd.DataFrame(
        {
            "participant_id": participant_ids(enrol, tables["enrollees.txt"]),
            "sex": coded_column(enrol, "P02SEX", tables["enrollees.txt"], SEX_CODES),
        }
    ).drop_duplicates("participant_id")

    images, jsw, kl, clinical = [], [], [], []
    for folder, prefix, suffix, month in VISITS:
        contents = root / folder / CONTENTS_NAME
        if contents.is_file():
            images.append(read_contents(contents, root / folder, month, report))
        else:
            report["warnings"].append(f"{contents} not found: no images for month {month}")
        for stem, col, sink in (("kxr_qjsw_duryea", "MCMJSW", jsw), ("kxr_sq_bu", "XRKL", kl)):
            name = f"{stem}{suffix}.txt"
            if name in tables:
                df = _per_knee(tables[name], f"{prefix}{col}")
                sink.append(_first_per_knee(df, tables[name], report).assign(visit_month=month))
                report["tables"].append(str(tables[name].relative_to(root)))
        name = f"allclinical{suffix}.txt"
        if name in tables:
            clinical.append(_clinical(tables[name], prefix, month))
            report["tables"].append(str(tables[name].relative_to(root)))
        else:
            report["warnings"].append(f"{name} not found: no clinical variables for month {month}")

    key = ["participant_id", "side", "visit_month"]
    img = pd.concat(images) if images else pd.DataFrame(columns=[*key, "sequence", "path"])
    img_wide = img.pivot(index=key, columns="sequence", values="path").reset_index()
    jsw_df = pd.concat(jsw).rename(columns={"value": "jsw_mm"})
    kl_df = (
        pd.concat(kl).rename(columns={"value": "kl_grade"})
        if kl
        else pd.DataFrame(columns=[*key, "kl_grade"])
    )
    knees = pd.concat([img_wide[key], jsw_df[key]]).drop_duplicates()
    knees["visit_month"] = knees["visit_month"].astype(int)
    for extra in (img_wide, jsw_df, kl_df):
        extra = extra.copy()
        extra["visit_month"] = extra["visit_month"].astype(int)
        knees = knees.merge(extra, on=key, how="left")
    clin = pd.concat(clinical)
    knees = knees.merge(clin, on=["participant_id", "visit_month"], how="left")
    knees["womac_pain"] = np.where(
        knees["side"] == "right", knees["pain_right"], knees["pain_left"]
    )
    knees = knees.merge(sex, on="participant_id", how="left")
    knees = finalize_knees(knees)
    report["participants"] = int(knees["participant_id"].nunique())
    report["knee_visits"] = len(knees)
    report["knees_without_sex"] = int(knees["sex"].isna().sum())
    return knees, report
