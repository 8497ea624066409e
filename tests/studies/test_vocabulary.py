"""The vocabulary's registries are consistent, and everything that lists variables or labels
agrees with them (the knee table, the plain CSV, the manifest schema, the OAI variable map)."""

from __future__ import annotations

import importlib

import pytest

from studies.cohort import KNEE_COLUMNS, plain_csv
from studies.cohort.variables import REQUIRED, VARIABLE_MAP, Source, map_problems
from studies.errors import StudyError
from studies.labels import LABEL_COLUMNS
from studies.package import CLINICAL_KEYS, SEQUENCES
from studies.schemas import MANIFEST_SCHEMA
from studies.vocabulary import (
    AT_NEXT,
    AT_T,
    LABELS,
    VARIABLES,
    ClinicalVariable,
    Label,
    Measure,
    shown_variables,
)


def test_columns_and_package_keys_are_unique_and_apart_from_the_knee_keys():
    columns = [v.column for v in VARIABLES]
    keys = [v.package_key for v in VARIABLES]
    read_as = [n for v in VARIABLES for n in v.read_as]
    assert len(set(columns)) == len(columns)
    assert len(set(keys)) == len(keys)
    assert len(set(read_as)) == len(read_as) and not set(read_as) & set(columns)
    assert not set(columns) & {"participant_id", "side", "visit_month", *SEQUENCES}


def test_each_variable_is_well_defined():
    shown_at = [v.shown_at for v in VARIABLES if v.shown]
    assert len(set(shown_at)) == len(shown_at)
    for v in VARIABLES:
        assert v.label and v.column.isidentifier() and v.package_key.isidentifier()
        if v.categorical:
            values = [c.value for c in v.codes]
            assert len(set(values)) == len(values) and v.valid_range is None
            assert len(set(v.aliases().values())) == len(values)
        else:
            lo, hi = v.valid_range
            assert lo < hi and v.manifest_range[0] < v.manifest_range[1]


def test_labels_are_made_from_clinical_variables_by_a_function_that_exists():
    assert LABEL_COLUMNS == LABELS.names()
    assert not set(LABEL_COLUMNS) & set(KNEE_COLUMNS)
    for label in LABELS:
        assert label.problems() == [], label
        module, _, name = label.computed_by.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))
        assert label.n_classes != 1  # a measurement (0) or at least two classes


def test_a_label_with_an_unknown_source_is_reported():
    bad = Label("x", "nothing", (Measure("shoe_size", AT_T), Measure("jsw_mm", "t+6")))
    problems = bad.problems()
    assert any("'shoe_size' is not a clinical variable" in p for p in problems)
    assert any("'t+6'" in p for p in problems)


def test_registering_a_taken_name_or_package_key_is_refused():
    with pytest.raises(StudyError, match="already registered"):
        VARIABLES.register(ClinicalVariable("age", "Age again"))
    with pytest.raises(StudyError, match="package key 'min_medial_jsw_mm'"):
        VARIABLES.register(ClinicalVariable("jsw2", "JSW", key="min_medial_jsw_mm"))
    with pytest.raises(StudyError, match="Did you mean 'bmi'"):
        VARIABLES.get("bni")
    assert "jsw2" not in VARIABLES


def test_the_tables_and_formats_list_the_vocabulary():
    columns = [v.column for v in VARIABLES]
    assert list(KNEE_COLUMNS) == ["participant_id", "side", "visit_month", *columns, *SEQUENCES]
    assert CLINICAL_KEYS == tuple(v.package_key for v in shown_variables())
    assert CLINICAL_KEYS == ("age", "sex", "bmi", "height_m", "weight_kg", "min_medial_jsw_mm")
    clinical = MANIFEST_SCHEMA["properties"]["cases"]["additionalProperties"]["properties"]["clinical"]
    assert clinical["required"] == list(CLINICAL_KEYS) and set(clinical["properties"]) == set(CLINICAL_KEYS)
    csv_vars = {**plain_csv.REQUIRED_COLUMNS, **plain_csv.OPTIONAL_COLUMNS}
    assert {k: c for k, c in csv_vars.items() if c in columns} == {v.package_key: v.column for v in VARIABLES}


def test_the_oai_variable_map_fills_vocabulary_columns():
    assert map_problems() == []
    assert REQUIRED <= set(VARIABLE_MAP["oai"])
    fed = {name for sources in VARIABLE_MAP.values() for name in sources}
    for v in VARIABLES:  # every variable is fed, directly or per side
        assert set(v.read_as or (v.column,)) <= fed, v.column


def test_a_variable_map_naming_something_outside_the_vocabulary_is_refused():
    maps = {style: dict(sources) for style, sources in VARIABLE_MAP.items()}
    maps["nda"]["shoe_size"] = Source("shoe_size", "oai_physexam01", "shoe")
    problems = map_problems(maps)
    assert any("'shoe_size' is not a clinical variable" in p for p in problems)
    assert any("nda variable map fills" in p for p in problems)  # and the styles disagree


def test_display_and_stored_forms():
    age, sex, jsw = (VARIABLES.get(c) for c in ("age", "sex", "jsw_mm"))
    assert (age.stored(63.4), jsw.stored(3.456), VARIABLES.get("bmi").stored(27.44)) == (63, 3.46, 27.4)
    assert (age.display(63), age.display(63.0), jsw.display(3.5), sex.display("F"), sex.display(None)) == (
        "63 years", "63.0 years", "3.50 mm", "Female", "—")
    assert (sex.number("F"), sex.number("M")) == (1.0, 0.0)
    assert AT_NEXT in {m.at for m in LABELS.get("jsn_mm").sources}


def test_make_labels_adds_every_label_with_its_classes():
    import numpy as np
    import pandas as pd

    from studies.cohort.table import finalize_knees
    from studies.labels import make_labels

    rows = [("1", "right", 0, 4.0, 0.5), ("1", "right", 12, 3.0, 1.5), ("1", "right", 24, 2.9, 3.0),
            ("1", "right", 36, 2.8, 0.0), ("2", "left", 0, 0.0, 2.5), ("2", "left", 12, 0.0, 0.0)]
    knees = finalize_knees(pd.DataFrame(rows, columns=["participant_id", "side", "visit_month", "jsw_mm", "womac_pain"]))
    lab = make_labels(knees)
    for label in LABELS:
        values = lab[label.column].dropna()
        assert len(values), label.column
        if label.n_classes:
            assert set(values.astype(float).astype(int)) <= set(range(label.n_classes)), label.column
        else:
            assert np.issubdtype(values.dtype, np.floating), label.column
