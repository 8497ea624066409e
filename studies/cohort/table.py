"""The knee table: the ingest's output, shared by the study builder and the model.

One row per knee and visit, columns :data:`KNEE_COLUMNS` (see ``docs/cohort-csv-format.md``;
the clinical variables are defined in :mod:`studies.vocabulary.variables`):

=============  ======================================================================
participant_id str, the source participant id (never shown to readers)
side           'right' | 'left'
visit_month    int: 0, 12, 24, 36
jsw_mm         float, minimum medial joint space width (mm); NaN when missing
womac_pain     float 0-20 (WOMAC pain of that knee); NaN when missing
age            float, years
sex            'F' | 'M' (None when missing)
bmi            float, kg/m^2
height_m       float, metres
weight_kg      float, kilograms
kl_grade       float 0-4; NaN when missing or not measured
cor_iw_tse     str path of a DICOM folder or NIfTI file, or None
sag_3d_dess    str path of a DICOM folder or NIfTI file, or None
=============  ======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studies.package import SEQUENCES
from studies.vocabulary import VARIABLES

#: The knee table's columns: the knee, the visit, every clinical variable of the vocabulary
#: (:data:`studies.vocabulary.VARIABLES`, in its order), the image of each sequence.
KNEE_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "side",
    "visit_month",
    *(v.column for v in VARIABLES),
    *SEQUENCES,
)
FLOAT_COLUMNS = tuple(v.column for v in VARIABLES if not v.categorical)
#: Columns of text (None when missing): the categorical variables and the image paths.
OBJECT_COLUMNS = (*(v.column for v in VARIABLES if v.categorical), *SEQUENCES)
VISIT_MONTHS: tuple[int, ...] = (0, 12, 24, 36)


@dataclass
class Cohort:
    """A cohort read by :func:`studies.cohort.load_cohort`.

    ``knees`` is the knee table (:data:`KNEE_COLUMNS`); ``root`` the cohort folder (or the
    plain CSV's folder); ``source`` 'oai', 'nda' (the download style) or 'csv'; ``report``
    counts and warnings of the ingest; ``is_synthetic`` whether it was written by
    :mod:`studies.synth` (its images may still have to be written with
    ``studies.synth.materialize``). An OAI cohort also has ``series`` (every listed series of
    the two sequences, assessed, one ``chosen`` per knee, visit and sequence:
    :mod:`studies.cohort.series`) and ``jsw_readings`` (participant_id, side, visit_month,
    project, jsw_mm, rank: the JSW readings of the reading projects in use, rank 0 preferred),
    from which the labels pair readings of one project.
    """

    knees: pd.DataFrame
    root: Path
    source: str
    report: dict[str, Any] = field(default_factory=dict)
    is_synthetic: bool = False
    series: pd.DataFrame | None = None
    jsw_readings: pd.DataFrame | None = None

    def baseline(self) -> pd.DataFrame:
        """Rows of visit month 0."""
        return self.knees[self.knees["visit_month"] == 0].reset_index(drop=True)


def finalize_knees(df: pd.DataFrame) -> pd.DataFrame:
    """Order columns as :data:`KNEE_COLUMNS`, set dtypes, sort by participant, side, visit."""
    df = df.copy()
    for col in KNEE_COLUMNS:
        if col not in df.columns:
            df[col] = None if col in OBJECT_COLUMNS else np.nan
    for col in FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["participant_id"] = df["participant_id"].astype(str)
    df["visit_month"] = df["visit_month"].astype(int)
    for col in OBJECT_COLUMNS:
        df[col] = df[col].astype(object).where(df[col].notna(), None)
    df = df[list(KNEE_COLUMNS)]
    return df.sort_values(["participant_id", "side", "visit_month"], kind="stable").reset_index(
        drop=True
    )
