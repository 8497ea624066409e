"""Prediction tasks and their inputs, from the study builder's knee table and labels.

=========  ==================================================  =======  =====================
task       label (``studies.labels.make_labels`` column)        classes  image and clinical at
=========  ==================================================  =======  =====================
jsn-abs    progressor_abs: JSN(t -> t+12) <= -0.5 mm            2        t
jsn-rel    progressor_rel: JSN <= -25 % of JSW(t)               2        t
pain       pain_binary: WOMAC pain >= 2 vs < 1 (between: out)   2        t (contemporary)
pain3      pain3: < 1, 1 to < 2, >= 2                           3        t (contemporary)
=========  ==================================================  =======  =====================

A task points at a label of :data:`studies.vocabulary.LABELS`; its classes and the inputs it
refuses (a label made from measurements at t only, as the pain labels from WOMAC pain at t,
is given away by those inputs) come from the label's definition. Clinical variables default
to those readers see (:data:`READER_VARIABLES`), so the AI-vs-reader comparison is fair and
a study package carries everything inference needs. Any other clinical variable of
:data:`studies.vocabulary.VARIABLES` can be added (e.g. ``kl_grade``; ``womac_pain`` for the
JSN tasks). To add a task, add one :class:`Task` to :data:`TASKS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from model.choices import unknown_choice
from studies.errors import OptionError, StudyError
from studies.vocabulary import LABELS, VARIABLES, Label, hidden_variables, shown_variables

if TYPE_CHECKING:  # numpy and pandas are imported by the functions that use them: the CLI's
    import numpy as np  # parser lists the tasks without loading them
    import pandas as pd


@dataclass(frozen=True)
class Task:
    """A prediction task: a name and the label it predicts.

    ``label`` is a label column of :data:`studies.vocabulary.LABELS`; the number of classes
    and the inputs that would give the label away (:attr:`leaked_inputs`) come from that
    label's definition.
    """

    name: str
    label: str
    description: str

    @property
    def target(self) -> Label:
        """The label's definition (:class:`studies.vocabulary.Label`)."""
        return LABELS.get(self.label)

    @property
    def n_classes(self) -> int:
        return self.target.n_classes

    @property
    def leaked_inputs(self) -> frozenset[str]:
        """Clinical variables that must not be fed to the model: those the label is made
        from when it is made from measurements at t only (:meth:`Label.leaked_by`)."""
        return self.target.leaked_by()


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("jsn-abs", "progressor_abs", "12-month JSN <= -0.5 mm"),
        Task("jsn-rel", "progressor_rel", "12-month JSN <= -25 % of JSW(t)"),
        Task("pain", "pain_binary", "WOMAC pain >= 2 (vs < 1)"),
        Task("pain3", "pain3", "WOMAC pain < 1 / 1 to < 2 / >= 2"),
    )
}

#: Clinical variables shown to readers: knee-table column names (the default inputs).
READER_VARIABLES: tuple[str, ...] = tuple(v.column for v in shown_variables())
#: Knee-table column -> study-package clinical key, where they differ.
PACKAGE_NAMES = {v.column: v.package_key for v in VARIABLES if v.package_key != v.column}
#: The other clinical variables, which may be added as inputs.
OPTIONAL_VARIABLES: tuple[str, ...] = tuple(v.column for v in hidden_variables())


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise unknown_choice("task", name, TASKS)
    return TASKS[name]


def check_variables(task: Task, variables: tuple[str, ...]) -> tuple[str, ...]:
    """Validate clinical variable names; refuse the inputs that give the task's label away."""
    allowed = (*READER_VARIABLES, *OPTIONAL_VARIABLES)
    for v in variables:
        if v not in allowed:
            raise unknown_choice("clinical", v, allowed)
    leaked = task.leaked_inputs
    for v in variables:
        if v in leaked:
            raise OptionError("clinical", f"variables other than the label of task {task.name}", v)
    return tuple(variables)


def clinical_matrix(rows: pd.DataFrame, variables: tuple[str, ...]) -> np.ndarray:
    """(n, K) float32 raw clinical values, NaN where missing; codes as their numbers
    (``sex`` F = 1, M = 0: :class:`studies.vocabulary.ClinicalVariable.number`).

    Reads knee-table column names, or the study package's names (``min_medial_jsw_mm``).
    """
    import numpy as np
    import pandas as pd

    cols = []
    for v in variables:
        var = VARIABLES.find(v)
        name = v if v in rows.columns or var is None else var.package_key
        if name not in rows.columns:
            cols.append(np.full(len(rows), np.nan))
            continue
        col = rows[name]
        if var is not None and var.categorical:
            cols.append(col.map(var.number).astype(float).to_numpy())
        else:
            cols.append(pd.to_numeric(col, errors="coerce").astype(float).to_numpy())
    return np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((len(rows), 0), np.float32)


def task_rows(labels: pd.DataFrame, task: Task, sequence: str, *, where: str = "cohort") -> pd.DataFrame:
    """Knee-windows usable for ``task``: a defined label and an image of ``sequence`` at t.

    Adds ``y`` (int class). ``df.attrs["dropped"]`` counts rows without label / image.
    Raises :class:`StudyError` when nothing is left or only one class is.
    """
    import pandas as pd

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
