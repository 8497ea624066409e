"""Numbers as a paper prints them, and the paper tables built from the analysis' own figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from studies.analysis import formatting as fmt
from studies.analysis import paper_mrmc, paper_tables
from studies.analysis.results import StudyResults


def test_estimates_and_intervals_print_as_in_the_paper():
    assert fmt.estimate_ci(0.5782, 0.49512, 0.65749) == "0.578 (0.495-0.657)"
    assert fmt.estimate_ci(-0.0612, -0.1204, -0.0021) == "-0.061 (-0.120 to -0.002)"
    assert fmt.estimate_ci(0.02, -0.01, 0.05) == "0.020 (-0.010 to 0.050)"
    assert fmt.estimate_ci(float("nan"), 0.1, 0.2) == ""
    assert fmt.estimate_ci(0.5, None, 0.6) == "0.500"
    assert fmt.median_iqr(23.44, 12.06, 40.25) == "23.4 (12.1-40.2)"
    assert fmt.signed(0.0123) == "+0.012" and fmt.signed(-0.5) == "-0.500"


@pytest.mark.parametrize(
    "p, text, clause",
    [
        (0.0004, "< 0.001", "p < 0.001"),
        (0.001, "0.001", "p = 0.001"),
        (0.04912, "0.049", "p = 0.049"),
        (1.0, "1.000", "p = 1.000"),
        (None, "", ""),
        (float("nan"), "", ""),
    ],
)
def test_p_values(p, text, clause):
    assert fmt.p_value(p) == text and fmt.p_clause(p) == clause


def test_mean_sd_and_counts():
    assert fmt.mean_sd([60, 70, float("nan"), None]) == "65.0 (7.1)"
    assert fmt.mean_sd([1.7], 2) == "1.70 (-)"
    assert fmt.mean_sd([]) == ""
    assert fmt.n_percent(45, 150) == "45 (30.0 %)"
    assert fmt.percent(0.5782) == "57.82 %"
    assert fmt.df_value(687.84) == "687.8" and fmt.df_value(7.0) == "7" and fmt.df_value(None) == "∞"


def test_strata_are_named_with_their_jsn_ranges():
    assert fmt.stratum_label("almost_certain") == "almost certain (JSN < -1.1 mm)"
    assert fmt.stratum_label("likely") == "likely (-1.1 to -0.6 mm)"
    assert fmt.stratum_label("doubtful") == "doubtful (-0.6 to -0.5 mm)"
    assert fmt.stratum_label("likely", [-1.2, -0.7, -0.5]) == "likely (-1.2 to -0.7 mm)"
    assert fmt.stratum_label("custom_band") == "custom band"


def test_simulated_readers_are_labelled():
    assert fmt.reader_label("sim1", True) == "sim1 (simulated)"
    assert fmt.reader_label("r1") == "r1"


def _results(tables: dict, summary: dict | None = None) -> StudyResults:
    return StudyResults(summary or {"alpha": 0.05}, tables, {"ai": None, "readers": []}, pd.DataFrame())


def test_table_2_formats_the_readers_table_without_recomputing():
    row = {
        "reader": "r1", "simulated": False, "condition": "unaided", "n_flagged": 2, "n": 148,
        "correct": 86.0, "pc": 86 / 148, "wilson_lo": 0.50123, "wilson_hi": 0.65789,
        "cp_lo": 0.4977, "cp_hi": 0.6616, "dprime": 0.2857, "time_median_s": 31.25,
        "time_q1_s": 20.04, "time_q3_s": 49.96, "time_total_min": 80.0,
        "rating_auc": np.nan, "rating_auc_lo": np.nan, "rating_auc_hi": np.nan,
    }
    sim = {**row, "reader": "s1", "simulated": True, "pc": 0.7, "wilson_lo": 0.6, "wilson_hi": 0.8}
    t = paper_tables.table_accuracy(_results({"readers": pd.DataFrame([row, sim])}))
    assert t.rows[0] == [
        "r1", "unaided", "148", "0.581 (0.501-0.658)", "0.498-0.662", "31.2 (20.0-50.0)", "0.29", "2",
    ]
    assert t.rows[1][0] == "s1 (simulated)" and t.simulated_rows == [1]
    assert not any("Rating" in c for c in t.columns)  # no confidence ratings, no column


def _mrmc_row(model, **kw):
    base = {
        "condition": "unaided", "n_readers": 5, "n_pairs": 150, "readers_pc": 0.58, "ai_pc": 0.65,
        "var_error": 0.0016, "cov2": -0.0001, "ms_r": 0.0009, "cov2_clamped": True, "model": model,
        "difference": -0.07, "se": 0.03, "df": 40.25, "statistic": -2.3333, "p": 0.0246,
        "ci_lo": -0.1306, "ci_hi": -0.0094,
    }
    return {**base, **kw}


def test_mrmc_sentence_and_table_state_f_df_p_and_the_clamp():
    df = pd.DataFrame([_mrmc_row("rrrc"), _mrmc_row("frrc", df=None, p=0.0196), _mrmc_row("rrfc", df=4.0)])
    res = _results({"mrmc_vs_ai": df})
    (sentence,) = paper_mrmc.mrmc_sentences(res)
    assert "5 readers' mean pairwise AUC was 0.580 against the AI's 0.650 on the same 150 pairs" in sentence
    assert "-0.070 (95 % CI -0.131 to -0.009; F(1, 40.2) = 5.44, p = 0.025" in sentence
    t = paper_mrmc.table_mrmc(res)
    assert [r[7] for r in t.rows] == ["F(1, 40.2) = 5.44", "chi2(1) = 5.44", "F(1, 4) = 5.44"]
    assert t.rows[0][10] == "-0.00010 (clamped to 0)" and t.rows[2][10] == "-0.00010"
    assert "clamped to 0" in " ".join(t.notes) and "unaided" in " ".join(t.notes)
    unclamped = df.assign(cov2=0.0001, cov2_clamped=False)
    assert "No covariance term was clamped" in paper_mrmc.table_mrmc(_results({"mrmc_vs_ai": unclamped})).notes[0]


def test_table_1_means_and_counts_by_group():
    rng = np.random.default_rng(3)
    cases = pd.DataFrame(
        {
            "case_id": [f"K{i}" for i in range(8)],
            "pair_id": [f"P{i // 2}" for i in range(8)],
            "group": ["progressor", "non-progressor"] * 4,
            "stratum": ["almost_certain", None, "likely", None, "likely", None, "doubtful", None],
            "jsn_mm": rng.uniform(-1.3, 0.2, 8),
            "age": [50, 60, 70, 80, 55, 65, 75, 85],
            "sex": ["F", "M", "F", "F", "M", "M", "F", "M"],
            "bmi": rng.normal(28, 3, 8),
            "height_m": rng.normal(1.7, 0.1, 8),
            "weight_kg": rng.normal(80, 10, 8),
            "min_medial_jsw_mm": rng.normal(4, 1, 8),
        }
    )
    res = _results({}, {"alpha": 0.05, "bounds_mm": [-1.1, -0.6, -0.5]})
    res.cases = cases
    t = paper_tables.table_study(res)
    rows = {r[0].strip(): r[1:] for r in t.rows}
    assert rows["Pairs"] == ["4", ""]
    assert rows["likely (-1.1 to -0.6 mm)"] == ["2 (50.0 %)", ""]
    ages_p = np.array([50, 70, 55, 75])
    assert rows["Age, years, mean (SD)"][0] == f"{ages_p.mean():.1f} ({ages_p.std(ddof=1):.1f})"
    assert rows["Female, n (%)"] == ["3 (75.0 %)", "1 (25.0 %)"]
    assert t.columns[1] == "Progressors (n = 4)"
    assert not math.isnan(float(rows["Min. medial JSW, mm, mean (SD)"][1].split()[0]))
