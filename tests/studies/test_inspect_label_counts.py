"""``inspect-cohort``'s label summary counts the labels the vocabulary marks (``counted_as``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.cohort.inspect import _label_line, counted_labels, label_counts
from studies.vocabulary import AT_NEXT, LABELS, Label, Measure


def _labels() -> pd.DataFrame:
    df = pd.DataFrame({
        "visit_month": [0, 0, 0, 12, 12],
        "progressor_abs": [True, False, True, False, True],
        "progressor_rel": pd.array([True, pd.NA, False, False, True], dtype="boolean"),
        "pain_binary": [1.0, 0.0, np.nan, 1.0, 1.0],
        "jsn_mm": [-1.2, 0.1, -0.7, 0.0, -2.0],
    })
    df.attrs["excluded"] = {"missing_jsw": 2}
    df.attrs["excluded_rel"] = {"bone_on_bone": 1}
    return df


def test_the_three_counted_labels_and_their_summary():
    assert [lab.column for lab in counted_labels()] == ["progressor_abs", "progressor_rel", "pain_binary"]
    counts = label_counts(_labels())
    assert counts["baseline"] == {
        "jsn_abs": {"progressors": 2, "non_progressors": 1},
        "jsn_rel": {"progressors": 1, "non_progressors": 1},  # NA left out
        "pain": {"pain": 1, "no_pain": 1},  # NaN left out
    }
    assert counts["all_windows"]["jsn_abs"] == {"progressors": 3, "non_progressors": 2}
    assert (counts["windows"], counts["excluded"], counts["excluded_from_jsn_rel"]) == (
        5, {"missing_jsw": 2}, {"bone_on_bone": 1})
    assert _label_line("all_windows", counts["all_windows"]) == (
        "  labels (all windows): jsn-abs 3 progressors / 2 non; jsn-rel 2 / 2; pain 3 / 1")


def test_a_label_marked_in_the_vocabulary_is_counted():
    severe = Label("severe", "jsn_mm <= -1 mm", (Measure("jsw_mm", AT_NEXT),),
                   classes=("no", "yes"), counted_as="jsn_severe", count_names=("not_severe", "severe"))
    df = _labels().assign(severe=lambda d: d["jsn_mm"] <= -1)
    with LABELS.added(severe):
        assert severe.problems() == []
        counts = label_counts(df)
    assert counts["all_windows"]["jsn_severe"] == {"severe": 2, "not_severe": 3}
    assert _label_line("all_windows", counts["all_windows"]).endswith("; jsn-severe 2 / 3")
    bad = Label("bad", "three classes", (Measure("jsw_mm", AT_NEXT),), classes=("a", "b", "c"), counted_as="bad")
    assert "needs two classes" in bad.problems()[0]
