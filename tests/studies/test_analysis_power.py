"""Simulated power: calibrated simulations, sane error rates, and the study's own analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studies.analysis import comparisons
from studies.analysis.power import PowerDesign, power, simulate
from studies.errors import OptionError


def test_simulation_hits_the_requested_proportions():
    sims = simulate(
        PowerDesign(n_pairs=200, n_readers=4, reader_pc=0.6, ai_pc=0.7, aided_pc=0.66), 300, seed=2
    )
    assert sims["unaided"].shape == (300, 4, 200) and sims["ai"].shape == (300, 200)
    assert sims["unaided"].mean() == pytest.approx(0.6, abs=0.01)
    assert sims["ai"].mean() == pytest.approx(0.7, abs=0.01)
    assert sims["aided"].mean() == pytest.approx(0.66, abs=0.01)
    # pairs are shared cases: readers' answers correlate across readers on the same pair
    u = sims["unaided"][:, 0, :].ravel(), sims["unaided"][:, 1, :].ravel()
    assert np.corrcoef(*u)[0, 1] > 0.05


def test_no_effect_rejects_about_alpha_and_power_grows_with_pairs():
    null = power(
        PowerDesign(n_pairs=100, n_readers=4, ai_pc=0.58, aided_pc=0.58), n_sim=400, seed=1
    )
    for design in ("reader-vs-ai", "aided-vs-unaided"):
        lo, hi = null[design]["rrrc"]["power_ci"]
        assert lo < 0.05 < hi + 0.03, (design, null[design]["rrrc"])
    small = power(
        PowerDesign(n_pairs=60, n_readers=4), designs=("reader-vs-ai",), n_sim=200, seed=3
    )
    large = power(
        PowerDesign(n_pairs=400, n_readers=4), designs=("reader-vs-ai",), n_sim=200, seed=3
    )
    assert large["reader-vs-ai"]["rrrc"]["power"] > small["reader-vs-ai"]["rrrc"]["power"] + 0.2
    assert large["reader-vs-ai"]["rrrc"]["mean_difference"] == pytest.approx(0.58 - 0.65, abs=0.01)


def test_power_uses_the_same_analysis_as_real_decisions():
    """One simulated study through the decisions-table analysis gives the same p-value."""
    design = PowerDesign(n_pairs=50, n_readers=3)
    sims = simulate(design, 1, seed=7)
    rows = [
        {
            "reader": f"r{j}",
            "pair_id": f"P{i:03d}",
            "condition": "unaided",
            "correct": sims["unaided"][0, j, i],
            "flagged": False,
        }
        for j in range(3)
        for i in range(50)
    ]
    ai_pairs = pd.DataFrame({"pair_id": [f"P{i:03d}" for i in range(50)], "correct": sims["ai"][0]})
    table = comparisons.mrmc_vs_ai(pd.DataFrame(rows), ai_pairs).set_index("model")
    from studies.stats.covariance import mean_jackknife_cov
    from studies.stats.mrmc import standalone_vs_readers

    theta, cov = mean_jackknife_cov(np.vstack([sims["unaided"][0], sims["ai"][0]]))
    direct = standalone_vs_readers(theta[:-1], theta[-1], cov)
    assert table.loc["rrrc", "p"] == pytest.approx(direct.difference["rrrc"].p)


def test_bad_designs_are_refused():
    with pytest.raises(OptionError, match="'readers'"):
        PowerDesign(n_readers=1).check()
    with pytest.raises(OptionError, match="ai-pc"):
        PowerDesign(ai_pc=1.2).check()
    with pytest.raises(OptionError, match="design"):
        power(PowerDesign(), designs=("bogus",), n_sim=10)
