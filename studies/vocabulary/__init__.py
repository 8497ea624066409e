"""The project's vocabulary: each clinical variable and each label defined once.

- :mod:`studies.vocabulary.variables`: :data:`VARIABLES`, the clinical variables of a knee
  (knee-table column, package key, what readers see, valid range, codes);
- :mod:`studies.vocabulary.labels`: :data:`LABELS`, the labels of a knee-window (column, how
  it is computed, the measurements it is made from, its classes; which model inputs leak it).

The model's tasks (``model.tasks``) point at a label; the real-OAI variable map
(:mod:`studies.cohort.variables`) feeds the variables' columns. Pure Python: the reader
app imports it at start-up.
"""

from studies.vocabulary.labels import AT_NEXT, AT_T, LABELS, Label, Measure, label_columns
from studies.vocabulary.registry import Registry
from studies.vocabulary.variables import (
    VARIABLES,
    ClinicalVariable,
    Code,
    clinical_schema,
    clinical_values,
    hidden_variables,
    shown_variables,
)

__all__ = [
    "AT_NEXT", "AT_T", "LABELS", "VARIABLES", "ClinicalVariable", "Code", "Label", "Measure", "Registry",
    "clinical_schema", "clinical_values", "hidden_variables", "label_columns", "shown_variables",
]
