"""Prediction tasks and their inputs, from the study builder's knee table and labels.

=========  ==================================================  =======  =====================
task       label (``studies.labels.make_labels`` column)        classes  image and clinical at
=========  ==================================================  =======  =====================
jsn-abs    progressor_abs: JSN(t -> t+12) <= -0.5 mm            2        t
jsn-rel    progressor_rel: JSN <= -25 % of JSW(t)               2        t
pain       pain_binary: WOMAC pain >= 2 vs < 1 (between: out)   2        t (contemporary)
pain3      pain3: < 1, 1 to < 2, >= 2                           3        t (contemporary)
=========  ==================================================  =======  =====================

Clinical variables default to the six that readers see (:data:`READER_VARIABLES`), so the
AI-vs-reader comparison is fair and a study package carries everything inference needs.
Any knee-table column can be added (e.g. ``kl_grade``; ``womac_pain`` for the JSN tasks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.choices import unknown_choice
from studies.errors import OptionError, StudyError


@dataclass(frozen=True)
class Task:
    name: str
    label: str
    n_classes: int
    description: str


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("jsn-abs", "progressor_abs", 2, "12-month JSN <= -0.5 mm"),
        Task("jsn-rel", "progressor_rel", 2, "12-month JSN <= -25 % of JSW(t)"),
        Task("pain", "pain_binary", 2, "WOMAC pain >= 2 (vs < 1)"),
        Task("pain3", "pain3", 3, "WOMAC pain < 1 / 1 to < 2 / >= 2"),
    )
}

#: Clinical variables shown to readers: knee-table column names.
READER_VARIABLES: tuple[str, ...] = ("age", "sex", "bmi", "height_m", "weight_kg", "jsw_mm")
#: Knee-table column -> study-package clinical key (``studies.package.CLINICAL_KEYS``).
PACKAGE_NAMES = {"jsw_mm": "min_medial_jsw_mm"}
#: Columns that may be added as clinical variables.
OPTIONAL_VARIABLES: tuple[str, ...] = ("kl_grade", "womac_pain")


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise unknown_choice("task", name, TASKS)
    return TASKS[name]


def check_variables(task: Task, variables: tuple[str, ...]) -> tuple[str, ...]:
    """Validate clinical variable names; refuse the task's own label source as an input."""
    allowed = (*READER_VARIABLES, *OPTIONAL_VARIABLES)
    for v in variables:
        if v not in allowed:
            raise unknown_choice("clinical", v, allowed)
    if task.name.startswith("pain") and "womac_pain" in variables:
        raise OptionError("clinical", f"variables other than the label of task {task.name}", "womac_pain")
    return tuple(variables)


def clinical_matrix(rows: pd.DataFrame, variables: tuple[str, ...]) -> np.ndarray:
    """(n, K) float32 raw clinical values, NaN where missing; ``sex`` coded F = 1, M = 0.

    Reads knee-table column names, or the study package's names (``min_medial_jsw_mm``).
    """
    cols = []
    for v in variables:
        name = v if v in rows.columns else PACKAGE_NAMES.get(v, v)
        if name not in rows.columns:
            cols.append(np.full(len(rows), np.nan))
            continue
        col = rows[name]
        if v == "sex":
            cols.append(col.map({"F": 1.0, "M": 0.0}).astype(float).to_numpy())
        else:
            cols.append(pd.to_numeric(col, errors="coerce").astype(float).to_numpy())
    return np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((len(rows), 0), np.float32)


def task_rows(labels: pd.DataFrame, task: Task, sequence: str, *, where: str = "cohort") -> pd.DataFrame:
    """Knee-windows usable for ``task``: a defined label and an image of ``sequence`` at t.

    Adds ``y`` (int class). ``df.attrs["dropped"]`` counts rows without label / image.
    Raises :class:`StudyError` when nothing is left or only one class is.
    """
    if task.label not in labels.columns:
        raise StudyError(f"{where}: the labels have no column '{task.label}' needed by task {task.name}")
    has_label = labels[task.label].notna()
    has_image = labels[sequence].notna() if sequence in labels.columns else pd.Series(False, index=labels.index)
    df = labels[has_label & has_image].copy()
    df["y"] = df[task.label].astype(float).astype(int)
    df.attrs["dropped"] = {
        "no_label": int((~has_label).sum()),
        "no_image": int((has_label & ~has_image).sum()),
    }
    if df.empty:
        raise StudyError(
            f"{where}: no knee has both a label for task {task.name} ({task.description}) and a "
            f"{sequence} image ({df.attrs['dropped']}). Use a cohort with JSW/WOMAC at two visits and images"
        )
    classes = sorted(df["y"].unique())
    if len(classes) < 2:
        raise StudyError(f"{where}: task {task.name} has a single class ({classes}) in {len(df)} knees; cannot train")
    return df.reset_index(drop=True)


def knee_key(participant_id: str, side: str, visit_month: int) -> str:
    """Feature-store key of a cohort knee-visit, e.g. ``9001234_left_12m``."""
    return f"{participant_id}_{side}_{int(visit_month):02d}m"
