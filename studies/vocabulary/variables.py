"""The clinical variables of a knee, each defined once.

A :class:`ClinicalVariable` says everything the project needs to know about one variable:
its knee-table column, its key in the study package (and plain-CSV column), what readers
see (label, unit, decimals), how it is stored in the manifest, its valid range, its codes
when it is categorical, and whether readers see it. The knee table, the plain-CSV reader,
pair eligibility, the manifest writer and its schema, the reader app's knee panel, the
paper's Table 1 and the model's clinical inputs all ask :data:`VARIABLES`.

To add a variable, add one :class:`ClinicalVariable` to :data:`VARIABLES` (and, for the
real OAI, its source in :data:`studies.cohort.variables.VARIABLE_MAP`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from studies.vocabulary.registry import Registry


class Code(NamedTuple):
    """One value of a categorical variable: as stored (``F``), as shown (``Female``) and as
    fed to the model (1.0)."""

    value: str
    name: str
    number: float


@dataclass(frozen=True)
class ClinicalVariable:
    """One clinical variable of a knee (values at one visit).

    ``column``: knee-table column (``jsw_mm``). ``label``, ``unit``: what readers read
    ("Min. medial JSW", "mm"). ``key``: its key in the manifest's ``clinical`` and its
    plain-CSV column (``min_medial_jsw_mm``; empty: the column). ``digits``: decimals shown
    for a float (knee panel, Table 1). ``stored_digits``: decimals kept in the manifest
    (0: a whole number, written as an int; None: ``digits``). ``valid_range``: (low, high)
    of a numeric value read from a cohort (plain CSV); ``shown_range``: the manifest schema's
    range (None: ``valid_range``). ``codes``: the values of a categorical variable (None:
    numeric). ``shown_at``: position among the variables readers see (None: readers do not
    see it; it may still be a model input). ``read_as``: names under which the OAI tables
    hold it when it is read per side for a participant (``pain_right``, ``pain_left``).
    """

    column: str
    label: str
    unit: str = ""
    key: str = ""
    digits: int = 1
    stored_digits: int | None = None
    valid_range: tuple[float, float] | None = None
    shown_range: tuple[float, float] | None = None
    codes: tuple[Code, ...] | None = None
    shown_at: int | None = None
    read_as: tuple[str, ...] = ()
    description: str = ""

    @property
    def package_key(self) -> str:
        """Key in the manifest's ``clinical`` mapping and column of the plain CSV."""
        return self.key or self.column

    @property
    def shown(self) -> bool:
        return self.shown_at is not None

    @property
    def categorical(self) -> bool:
        return self.codes is not None

    @property
    def manifest_range(self) -> tuple[float, float] | None:
        return self.shown_range or self.valid_range

    def stored(self, value: Any) -> Any:
        """The value as the manifest holds it (rounded to ``stored_digits``; codes as they are)."""
        if self.categorical:
            return value
        digits = self.digits if self.stored_digits is None else self.stored_digits
        return int(round(value)) if digits == 0 else round(float(value), digits)

    def display(self, value: Any) -> str:
        """Text readers see: "63 years", "27.4 kg/m²", "Female"; "—" when missing."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if self.categorical:
            return {c.value: c.name for c in self.codes}.get(str(value), str(value))
        if isinstance(value, float):
            value = f"{value:.{self.digits}f}"
        return f"{value} {self.unit}".strip()

    def aliases(self) -> dict[str, str]:
        """Lower-case spellings accepted in a cohort file -> stored code (``female`` -> ``F``)."""
        out: dict[str, str] = {}
        for c in self.codes or ():
            out[c.value.lower()] = c.value
            out[c.name.lower()] = c.value
        return out

    def number(self, value: Any) -> float:
        """The value fed to the model: the code's number, or the value as a float; NaN when missing."""
        if self.categorical:
            return {c.value: c.number for c in self.codes}.get(value, math.nan)
        try:
            return float(value)
        except (TypeError, ValueError):
            return math.nan


SEX_CODES = (Code("F", "Female", 1.0), Code("M", "Male", 0.0))

#: Every clinical variable, in knee-table column order.
VARIABLES: Registry[ClinicalVariable] = Registry(
    "clinical variable", lambda v: v.column,
    unique={"package key": lambda v: v.package_key},
)
for _v in (
    ClinicalVariable("jsw_mm", "Min. medial JSW", "mm", key="min_medial_jsw_mm", digits=2,
                     valid_range=(0, 20), shown_at=5,
                     description="minimum medial joint space width; NaN when missing"),
    ClinicalVariable("womac_pain", "WOMAC pain", valid_range=(0, 20), read_as=("pain_right", "pain_left"),
                     description="WOMAC pain of that knee, 0-20; NaN when missing"),
    ClinicalVariable("age", "Age", "years", stored_digits=0, valid_range=(0, 120),
                     shown_range=(0, 130), shown_at=0, description="years"),
    ClinicalVariable("sex", "Sex", codes=SEX_CODES, shown_at=1, description="'F' | 'M' (None when missing)"),
    ClinicalVariable("bmi", "BMI", "kg/m²", valid_range=(5, 100), shown_at=2, description="kg/m^2"),
    ClinicalVariable("height_m", "Height", "m", digits=2, valid_range=(0.5, 2.6), shown_at=3,
                     description="metres"),
    ClinicalVariable("weight_kg", "Weight", "kg", valid_range=(10, 400), shown_at=4,
                     description="kilograms"),
    ClinicalVariable("kl_grade", "KL grade", valid_range=(0, 4),
                     description="Kellgren-Lawrence grade 0-4; NaN when missing or not measured"),
):
    VARIABLES.register(_v)


def shown_variables() -> tuple[ClinicalVariable, ...]:
    """The variables readers see, in the order they see them."""
    return tuple(sorted((v for v in VARIABLES if v.shown), key=lambda v: v.shown_at))


def hidden_variables() -> tuple[ClinicalVariable, ...]:
    """The variables readers do not see (knee-table order)."""
    return tuple(v for v in VARIABLES if not v.shown)


def clinical_values(row: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``clinical`` mapping of one knee-table row: package key -> stored value."""
    return {v.package_key: v.stored(row[v.column]) for v in shown_variables()}


def clinical_schema() -> dict[str, Any]:
    """JSON Schema of a case's ``clinical`` mapping in the manifest (the variables readers see)."""
    shown = shown_variables()
    properties: dict[str, Any] = {}
    for v in shown:
        if v.categorical:
            properties[v.package_key] = {"enum": [c.value for c in v.codes]}
        else:
            lo, hi = v.manifest_range
            properties[v.package_key] = {"type": "number", "minimum": lo, "maximum": hi}
    return {
        "type": "object",
        "required": [v.package_key for v in shown],
        "additionalProperties": False,
        "properties": properties,
    }
