"""The labels of a knee-window, each defined once: its column, how it is computed, what it is
made from and its classes.

A knee-window is a knee at a visit t (0, 12 or 24 months) with the measurements at t and
t + 12 months (:mod:`studies.labels`). Each :class:`Label` names the measurements it is made
from (:class:`Measure`: a clinical variable at t or at t + 12). From them follows which model
inputs would give a label away (:meth:`Label.leaked_by`): the model sees the clinical
variables at t, so a label made only from measurements at t is a function of inputs the model
could be fed, and those inputs are refused for a task predicting it; a label that needs a
measurement at t + 12 cannot be read off the inputs (JSW at t is a fair input for JSN).

To add a label, add one :class:`Label` to :data:`LABELS` and compute its column in the
function named by ``computed_by``.
"""

from __future__ import annotations

from dataclasses import dataclass

from studies.vocabulary.registry import Registry
from studies.vocabulary.variables import VARIABLES

#: When a measurement is taken: at the window's start t (when the model's inputs are
#: measured) or 12 months later.
AT_T = "t"
AT_NEXT = "t+12"
TIMES: tuple[str, ...] = (AT_T, AT_NEXT)


@dataclass(frozen=True)
class Measure:
    """One measurement a label is made from: clinical variable ``variable`` (a knee-table
    column of :data:`studies.vocabulary.VARIABLES`) taken at ``at`` (:data:`TIMES`)."""

    variable: str
    at: str = AT_T


@dataclass(frozen=True)
class Label:
    """One label column of :func:`studies.labels.make_labels`.

    ``column``: its column in the labels table. ``description``: how it is computed, in
    words and units. ``sources``: the measurements it is made from. ``classes``: class names
    by class index (the column holds 0, 1, ...; a bool column False, True); empty for a
    measurement (``jsn_mm``). ``computed_by``: the dotted name of the function that adds the
    column. ``counted_as``: the key under which ``knee-study inspect-cohort`` counts a
    two-class label's knee-windows per class ("" = not counted), ``count_names`` the count of
    each class by class index (listed there positive class first).
    """

    column: str
    description: str
    sources: tuple[Measure, ...]
    classes: tuple[str, ...] = ()
    unit: str = ""
    computed_by: str = "studies.labels.make_labels"
    counted_as: str = ""
    count_names: tuple[str, ...] = ()

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def source_variables(self) -> tuple[str, ...]:
        """The clinical variables the label is made from (each once, in order)."""
        return tuple(dict.fromkeys(m.variable for m in self.sources))

    def leaked_by(self) -> frozenset[str]:
        """Model inputs (clinical variables at t) that would give this label away.

        When every measurement the label is made from is taken at t, the label is a
        function of those variables' values at t, which the model would be fed: all of them
        leak. A label that needs any measurement at t + 12 is leaked by none.
        """
        if self.sources and all(m.at == AT_T for m in self.sources):
            return frozenset(self.source_variables())
        return frozenset()

    def problems(self) -> list[str]:
        """What is wrong with this entry (sources that are not clinical variables, bad times)."""
        out = []
        for m in self.sources:
            if m.variable not in VARIABLES:
                out.append(f"label '{self.column}': source '{m.variable}' is not a clinical variable")
            if m.at not in TIMES:
                out.append(f"label '{self.column}': source '{m.variable}' at '{m.at}', not one of {TIMES}")
        if not self.sources:
            out.append(f"label '{self.column}': made from nothing")
        if self.counted_as and not (self.n_classes == 2 and len(self.count_names) == 2):
            out.append(f"label '{self.column}': counted as '{self.counted_as}' needs two classes and their two count names")
        return out


_JSW_BOTH = (Measure("jsw_mm", AT_T), Measure("jsw_mm", AT_NEXT))
_PAIN_T = (Measure("womac_pain", AT_T),)
_PROGRESSORS = ("non_progressors", "progressors")

#: Every label, in the labels table's column order.
LABELS: Registry[Label] = Registry("label", lambda lab: lab.column)
for _label in (
    Label("jsw_next_mm", "JSW(t + 12)", (Measure("jsw_mm", AT_NEXT),), unit="mm"),
    Label("jsn_mm", "JSW(t + 12) - JSW(t) (negative = narrowing)", _JSW_BOTH, unit="mm"),
    Label("progressor_abs", "jsn_mm <= abs_threshold_mm (default -0.5 mm)", _JSW_BOTH,
          classes=("non-progressor", "progressor"), counted_as="jsn_abs", count_names=_PROGRESSORS),
    Label("progressor_rel", "jsn_mm <= rel_threshold * JSW(t) (default -25 %); NA when JSW(t) = 0",
          _JSW_BOTH, classes=("non-progressor", "progressor"), counted_as="jsn_rel", count_names=_PROGRESSORS),
    Label("pain_binary", "1 if WOMAC pain(t) >= 2, 0 if < 1, NaN in between or missing", _PAIN_T,
          classes=("pain < 1", "pain >= 2"), counted_as="pain", count_names=("no_pain", "pain")),
    Label("pain3", "0 (< 1), 1 (1 to < 2), 2 (>= 2); NaN when missing", _PAIN_T,
          classes=("pain < 1", "pain 1 to < 2", "pain >= 2")),
):
    LABELS.register(_label)


def label_columns() -> tuple[str, ...]:
    """The label columns :func:`studies.labels.make_labels` adds, in order."""
    return LABELS.names()
