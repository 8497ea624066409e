"""A task's classes and the inputs it refuses come from the label it points at."""

from __future__ import annotations

import pandas as pd
import pytest

from model.tasks import (
    OPTIONAL_VARIABLES,
    READER_VARIABLES,
    TASKS,
    Task,
    check_variables,
    clinical_matrix,
)
from studies.errors import OptionError
from studies.vocabulary import AT_NEXT, AT_T, LABELS, Label, Measure


def test_the_tasks_point_at_labels_and_take_their_classes():
    for task in TASKS.values():
        assert task.target is LABELS.get(task.label)
        assert task.n_classes == len(task.target.classes) >= 2
    assert [t.n_classes for t in TASKS.values()] == [2, 2, 2, 3]


def test_leakage_comes_from_the_labels_sources():
    assert {name: set(t.leaked_inputs) for name, t in TASKS.items()} == {
        "jsn-abs": set(), "jsn-rel": set(), "pain": {"womac_pain"}, "pain3": {"womac_pain"}}
    # a JSN task may use WOMAC pain and JSW at t; a pain task may not use WOMAC pain
    assert check_variables(TASKS["jsn-abs"], (*READER_VARIABLES, "womac_pain")) == (*READER_VARIABLES, "womac_pain")
    with pytest.raises(OptionError, match="variables other than the label of task pain3"):
        check_variables(TASKS["pain3"], ("age", "womac_pain"))


def test_a_new_label_made_at_t_refuses_its_source_and_one_needing_t_plus_12_does_not():
    kl_now = Label("kl_severe", "KL grade at t >= 3", (Measure("kl_grade", AT_T),), classes=("< 3", ">= 3"))
    kl_gain = Label("kl_gain", "KL(t + 12) > KL(t)", (Measure("kl_grade", AT_T), Measure("kl_grade", AT_NEXT)),
                    classes=("same", "worse"))
    with LABELS.added(kl_now), LABELS.added(kl_gain):
        severe, gain = Task("kl-severe", "kl_severe", "KL >= 3"), Task("kl-gain", "kl_gain", "KL worsens")
        assert severe.leaked_inputs == {"kl_grade"} and gain.leaked_inputs == frozenset()
        with pytest.raises(OptionError, match="Got 'kl_grade' instead"):
            check_variables(severe, ("age", "kl_grade"))
        assert check_variables(severe, ("age", "womac_pain")) == ("age", "womac_pain")
        assert check_variables(gain, ("kl_grade",)) == ("kl_grade",)
    assert "kl_severe" not in LABELS


def test_unknown_variables_are_refused_with_a_suggestion():
    with pytest.raises(OptionError, match="Did you mean 'bmi'"):
        check_variables(TASKS["jsn-abs"], ("bmj",))
    assert set(OPTIONAL_VARIABLES) == {"kl_grade", "womac_pain"}


def test_clinical_matrix_reads_columns_or_package_keys_and_codes_sex():
    rows = pd.DataFrame({"sex": ["F", "M", None], "min_medial_jsw_mm": [4.0, "x", 2.5]})
    m = clinical_matrix(rows, ("sex", "jsw_mm", "bmi"))
    assert m.shape == (3, 3) and m.dtype.name == "float32"
    assert m[:, 0].tolist()[:2] == [1.0, 0.0] and m[2, 0] != m[2, 0]
    assert m[0, 1] == 4.0 and m[1, 1] != m[1, 1] and m[2, 1] == 2.5
    assert all(v != v for v in m[:, 2])
