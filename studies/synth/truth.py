"""The files under a synthetic cohort's ``synthetic/`` folder, and reading them back.

- ``cohort.json``: the generator's parameters (seed, size, style, quirks, series shapes ...);
- ``ground_truth.csv``: one row per knee and visit: the planted truth (see
  ``docs/synthetic-cohort.md``); with ``cohort.json`` all that is needed to rebuild any image;
- ``series.csv``: one row per series in the image index (:data:`studies.synth.layout.SERIES_COLUMNS`);
- ``readings.csv``: every X-ray reading by project (:data:`studies.synth.readings.READING_COLUMNS`).

Damaged files are an :class:`~studies.errors.InputFileError` naming the file and field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from studies.errors import InputFileError, OptionError
from studies.synth.geometry import SIZES
from studies.synth.layout import STYLES
from studies.synth.quirks import Quirks

SYNTHETIC_DIR = "synthetic"
GROUND_TRUTH_NAME = "ground_truth.csv"
COHORT_JSON_NAME = "cohort.json"
SERIES_NAME = "series.csv"
READINGS_NAME = "readings.csv"
_HINT = "Regenerate the cohort with 'knee-study synth-cohort'"
_TEXT_COLUMNS = ("participant_id", "study_date", "jsw_table_code", "womac_table_code", "kl_table_code", "blank_cells")
#: Ground-truth columns needed to rebuild images.
REQUIRED_COLUMNS = ("participant_id", "side", "visit_month", "study_date", "age", "sex", "jsw_mm", "jsw_lateral_mm",
                    "scale", "shift_m_mm", "shift_s_mm", "fat_mm", "effusion", "bml", "bml_bone", "bml_m_mm",
                    "bml_a_mm", "bml_size_mm", "kl_grade", "has_cor_iw_tse", "has_sag_3d_dess")
SIDES = ("right", "left")


def read_truth(path: Path) -> pd.DataFrame:
    """``ground_truth.csv`` with its text columns as strings (empty, never NaN)."""
    try:
        df = pd.read_csv(path, dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(path, f"cannot read the ground-truth table: {exc}", hint=_HINT) from exc
    for col in _TEXT_COLUMNS:
        if col in df:
            df[col] = df[col].fillna("")
    return df


def load_synthetic(cohort_dir: str | Path) -> tuple[dict, pd.DataFrame]:
    """``cohort.json`` parameters and the ground-truth table of a synthetic cohort."""
    root = Path(cohort_dir)
    pj = root / SYNTHETIC_DIR / COHORT_JSON_NAME
    if not pj.is_file():
        raise InputFileError(pj, "not found: this is not a synthetic cohort",
                             hint="Only cohorts made by 'knee-study synth-cohort' can be materialised")
    try:
        params = json.loads(pj.read_text())
    except json.JSONDecodeError as exc:
        raise InputFileError(pj, f"not valid JSON ({exc})", hint=_HINT) from exc
    if not isinstance(params, dict):
        raise InputFileError(pj, "must hold a JSON object", hint=_HINT)
    if not isinstance(params.get("seed"), int):
        raise InputFileError(pj, "needs an integer 'seed'", column="seed", value=params.get("seed"), hint=_HINT)
    if params.get("size") not in SIZES:
        raise InputFileError(pj, f"'size' must be one of {sorted(SIZES)}", column="size", value=params.get("size"),
                             hint=_HINT)
    if params.get("style") not in STYLES:
        raise InputFileError(pj, f"'style' must be one of {list(STYLES)} (a cohort of generator version "
                                 f"{params.get('version')} predates the download styles)",
                             column="style", value=params.get("style"), hint=_HINT)
    quirks = params.get("quirks")
    if not isinstance(quirks, dict):
        raise InputFileError(pj, "needs a 'quirks' object", column="quirks", value=quirks, hint=_HINT)
    try:
        Quirks.from_dict(quirks)
    except OptionError as exc:
        raise InputFileError(pj, str(exc), column="quirks", hint=_HINT) from None
    gt = root / SYNTHETIC_DIR / GROUND_TRUTH_NAME
    truth = read_truth(gt)
    missing = [c for c in REQUIRED_COLUMNS if c not in truth.columns]
    if missing:
        raise InputFileError(gt, f"missing column(s) {', '.join(missing)}", column=missing[0], hint=_HINT)
    return params, truth


def quirks_of(params: dict) -> Quirks:
    """The quirks a cohort was written with (from its checked ``cohort.json``)."""
    return Quirks.from_dict(params["quirks"])


def truth_row(truth: pd.DataFrame, participant_id: str, side: str, visit_month: int, where: Path):
    """The ground-truth row of one knee-visit (a namedtuple). Raises for an unknown knee-visit."""
    if side not in SIDES:
        raise OptionError("side", "'right' or 'left'", side)
    sel = truth[(truth.participant_id == str(participant_id)) & (truth.side == side)
                & (truth.visit_month == int(visit_month))]
    if sel.empty:
        raise InputFileError(where, "no such knee-visit in the ground truth", value=(participant_id, side, visit_month),
                             hint="Use a participant id, side and visit month (0, 12, 24, 36) listed in the index")
    return next(sel.itertuples(index=False))
