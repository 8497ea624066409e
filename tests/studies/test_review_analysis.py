"""Review findings on studies.analysis: the confidence level asked for is the one computed."""

from __future__ import annotations

import pytest
from test_analysis_results import study3  # noqa: F401  (module fixture)

from studies.analysis import analyze_study
from studies.stats.binomial import clopper_pearson_ci, wilson_ci


def test_alpha_sets_every_interval(study3):  # noqa: F811
    """analyze_study(alpha=0.1) records alpha 0.1, so the per-reader, per-stratum and AI
    intervals must be 90 % intervals, not 95 % ones under a 90 % label."""
    tiny, files = study3
    res = analyze_study(tiny.study, tiny.key, files, n_boot=200, alpha=0.1)
    assert res.summary["alpha"] == 0.1
    for name in ("readers", "strata"):
        for row in res.tables[name].to_dict("records"):
            k, n = int(row["correct"]), row["n"]
            assert (row["wilson_lo"], row["wilson_hi"]) == pytest.approx(wilson_ci(k, n, 0.1)), name
            assert (row["cp_lo"], row["cp_hi"]) == pytest.approx(clopper_pearson_ci(k, n, 0.1)), name
    ai = res.summary["ai"]["pairs"]
    assert (ai["wilson_lo"], ai["wilson_hi"]) == pytest.approx(
        wilson_ci(int(ai["correct"]), ai["n"], 0.1)
    )
