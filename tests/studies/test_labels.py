"""JSN labels over the sliding window, progressor thresholds and WOMAC pain classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studies.cohort.table import finalize_knees
from studies.errors import OptionError
from studies.labels import make_labels


def knees(rows):
    df = pd.DataFrame(
        rows, columns=["participant_id", "side", "visit_month", "jsw_mm", "womac_pain"]
    )
    return finalize_knees(df)


def test_sliding_window_and_thresholds():
    k = knees(
        [
            ("1", "right", 0, 4.0, 0.0),
            ("1", "right", 12, 3.5, 1.0),  # JSN -0.5 exactly: absolute progressor
            ("1", "right", 24, 3.4, 2.0),  # JSN -0.1
            ("1", "right", 36, 2.0, 5.0),  # JSN -1.4, and -41 % relative
            ("1", "left", 0, 2.0, 1.5),
            (
                "1",
                "left",
                12,
                np.nan,
                0.5,
            ),  # missing at t+12 -> window 0 left out; window 12 missing at t
            ("1", "left", 24, 1.6, np.nan),
            ("2", "left", 0, 4.0, np.nan),  # no 12 m row at all
        ]
    )
    lab = make_labels(k)
    got = {(r.participant_id, r.side, r.visit_month): r for r in lab.itertuples()}
    assert set(got) == {("1", "right", 0), ("1", "right", 12), ("1", "right", 24)}
    r0, r12, r24 = got["1", "right", 0], got["1", "right", 12], got["1", "right", 24]
    assert r0.jsn_mm == pytest.approx(-0.5) and r0.progressor_abs and not r0.progressor_rel
    assert r12.jsn_mm == pytest.approx(-0.1) and not r12.progressor_abs
    assert r24.jsn_mm == pytest.approx(-1.4) and r24.progressor_abs and r24.progressor_rel
    assert r24.jsw_next_mm == 2.0
    # pain classes at t: 0 -> (0, 0); 1 -> (NaN, 1); 2 -> (1, 2)
    assert (r0.pain_binary, r0.pain3) == (0.0, 0.0)
    assert np.isnan(r12.pain_binary) and r12.pain3 == 1.0
    assert (r24.pain_binary, r24.pain3) == (1.0, 2.0)
    ex = lab.attrs["excluded"]
    # left knee: window 0 (missing at 12), window 12 (missing at t), window 24 (no 36 m);
    # knee 2: window 0 (no 12 m row)
    assert ex == {"missing_jsw": 4, "missing_jsw_at_t": 1, "missing_jsw_at_t_plus_12": 3}


def test_relative_threshold_configurable():
    k = knees([("1", "right", 0, 4.0, 0.0), ("1", "right", 12, 3.3, 0.0)])  # -17.5 %
    assert not make_labels(k).progressor_rel.iloc[0]
    assert make_labels(k, rel_threshold=-0.15).progressor_rel.iloc[0]
    assert not make_labels(k, abs_threshold_mm=-0.8).progressor_abs.iloc[0]


def test_bad_thresholds():
    k = knees([("1", "right", 0, 4.0, 0.0)])
    with pytest.raises(OptionError, match="abs_threshold_mm"):
        make_labels(k, abs_threshold_mm=0.5)
    with pytest.raises(OptionError, match="rel_threshold"):
        make_labels(k, rel_threshold=25)
