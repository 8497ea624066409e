"""Strata, Parsons bound, eligibility, matching and seeded sampling of pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studies.errors import OptionError
from studies.pairs import (
    SamplingConfig,
    SamplingError,
    eligible_baseline,
    format_report,
    parsons_bound,
    scale_strata,
    select_pairs,
    stratum_of,
)


def labels_frame(n_knees=400, seed=1, prog_share=0.5):
    """Baseline label rows: half progressors spread over the strata, half non-progressors."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_knees):
        prog = i < n_knees * prog_share
        jsn = rng.uniform(-1.6, -0.51) if prog else rng.uniform(-0.45, 0.3)
        rows.append(
            {
                "participant_id": f"9{i // 2:06d}",
                "side": "right" if i % 2 else "left",
                "visit_month": 0,
                "jsw_mm": rng.uniform(2, 6),
                "age": 60.0,
                "sex": "F" if rng.random() < 0.5 else "M",
                "bmi": rng.uniform(20, 35),
                "height_m": 1.7,
                "weight_kg": 80.0,
                "kl_grade": float(rng.integers(0, 5)),
                "cor_iw_tse": f"/c/{i}",
                "sag_3d_dess": f"/s/{i}",
                "jsn_mm": jsn,
            }
        )
    return pd.DataFrame(rows)


def test_parsons_and_scaling():
    assert parsons_bound(0.4) == pytest.approx(-1.1087, abs=1e-4)
    with pytest.raises(OptionError, match="jsw_sd"):
        parsons_bound(-1)
    assert scale_strata(150) == (10, 130, 10)
    assert scale_strata(30) == (2, 26, 2)
    for n in (1, 7, 15, 61, 300):
        assert sum(scale_strata(n)) == n


def test_strata_bounds():
    b = (-1.1, -0.6, -0.5)
    assert stratum_of(-1.2, b) == "almost_certain"
    assert stratum_of(-1.1, b) == "likely"
    assert stratum_of(-0.6, b) == "doubtful"
    assert stratum_of(-0.55, b) == "doubtful"
    assert stratum_of(-0.5, b) is None  # neither progressor stratum nor JSN > -0.5
    assert stratum_of(-0.49, b) == "non_progressor"


def test_strata_bounds_hold_for_jsn_computed_from_measurements():
    """JSN is JSW(12) - JSW(0) in floating point: 2.37 - 2.87 is -0.5000000000000002 and
    4.3 - 4.8 is -0.4999999999999991. A knee that narrowed exactly 0.5 mm is a progressor by
    the labels (JSN <= -0.5) and must never be drawn as a non-progressor; exactly -0.6 and
    -1.1 mm belong to 'doubtful' and 'likely' as the bounds say."""
    b = (-1.1, -0.6, -0.5)
    expected = {0.5: None, 0.6: "doubtful", 1.1: "likely"}
    for jsw0 in np.round(np.arange(1.5, 7.0, 0.01), 2):
        for drop, stratum in expected.items():
            jsn = float(round(jsw0 - drop, 2)) - float(jsw0)
            assert stratum_of(jsn, b) == stratum, (jsw0, drop, jsn)


def test_eligibility_counts_first_reason():
    lab = labels_frame(10)
    lab.loc[0, "sag_3d_dess"] = None
    lab.loc[1, "bmi"] = np.nan
    lab.loc[1, "sex"] = None  # second reason on the same knee is not counted twice
    lab.loc[2, "jsw_mm"] = np.nan
    el, ex = eligible_baseline(lab, has_images=lambda r: r["cor_iw_tse"] != "/c/3")
    assert len(el) == 6
    assert ex == {
        "no sag_3d_dess series": 1,
        "missing sex": 1,
        "missing jsw_mm": 1,
        "image files missing": 1,
    }


def test_select_pairs_strata_each_knee_once_and_seeded():
    lab = labels_frame()
    cfg = SamplingConfig(n_pairs=30, practice=3, seed=5)
    sel = select_pairs(lab, cfg)
    scored = [p for p in sel.pairs if not p.practice]
    assert len(scored) == 30 and sum(p.practice for p in sel.pairs) == 3
    counts = {
        s: sum(p.stratum == s for p in scored) for s in ("almost_certain", "likely", "doubtful")
    }
    assert counts == {"almost_certain": 2, "likely": 26, "doubtful": 2}
    for p in sel.pairs:
        assert p.progressor["jsn_mm"] < -0.5 and p.non_progressor["jsn_mm"] > -0.5
        b = {"almost_certain": (-9, -1.1), "likely": (-1.1, -0.6), "doubtful": (-0.6, -0.5)}[
            p.stratum
        ]
        assert b[0] <= p.progressor["jsn_mm"] < b[1]
    knees = [
        (r["participant_id"], r["side"])
        for p in sel.pairs
        for r in (p.progressor, p.non_progressor)
    ]
    assert len(knees) == len(set(knees))
    again = select_pairs(lab, cfg)
    assert [p.progressor["cor_iw_tse"] for p in again.pairs] == [
        p.progressor["cor_iw_tse"] for p in sel.pairs
    ]
    other = select_pairs(lab, SamplingConfig(n_pairs=30, seed=6))
    assert [p.progressor["cor_iw_tse"] for p in other.pairs] != [
        p.progressor["cor_iw_tse"] for p in sel.pairs[:30]
    ]


def test_matching_on_sex_and_bmi_band():
    lab = labels_frame(600)
    sel = select_pairs(lab, SamplingConfig(n_pairs=40, match=("sex", "bmi"), seed=2))
    assert sel.report["match_relaxed"] == 0
    for p in sel.pairs:
        assert p.progressor["sex"] == p.non_progressor["sex"]
        band = lambda b: (b >= 25) + (b >= 30)  # noqa: E731
        assert band(p.progressor["bmi"]) == band(p.non_progressor["bmi"])
    # unmatched draws differ in sex for a good share of pairs
    free = select_pairs(lab, SamplingConfig(n_pairs=40, seed=2))
    assert sum(p.progressor["sex"] != p.non_progressor["sex"] for p in free.pairs) > 5


def test_too_small_cohort_reports_every_stratum():
    lab = labels_frame(100)
    with pytest.raises(SamplingError) as exc:
        select_pairs(lab, SamplingConfig(n_pairs=150))
    msg = str(exc.value)
    r = exc.value.report
    assert r["strata"]["likely"]["needed"] == 130
    assert r["strata"]["likely"]["eligible"] < 130
    for s in ("almost_certain", "likely", "doubtful", "non-progressors"):
        assert s in msg
    assert f"{r['strata']['likely']['eligible']:>8} {130:>7}  << too few" in msg


def test_bad_config():
    lab = labels_frame(20)
    with pytest.raises(OptionError, match="strata"):
        select_pairs(lab, SamplingConfig(n_pairs=10, strata=(1, 2, 3)))
    with pytest.raises(OptionError, match="bounds"):
        select_pairs(lab, SamplingConfig(n_pairs=10, bounds=(-0.5, -0.6, -1.1)))
    with pytest.raises(OptionError, match="match"):
        select_pairs(lab, SamplingConfig(n_pairs=10, match=("age",)))


def test_report_text():
    sel = select_pairs(
        labels_frame(), SamplingConfig(n_pairs=20, match=("sex",)), {"no cor_iw_tse series": 3}
    )
    text = format_report(sel.report)
    assert "almost_certain" in text and "JSN > -0.5" in text and "no cor_iw_tse series: 3" in text
    assert sel.report["eligible_knees"] == 400
