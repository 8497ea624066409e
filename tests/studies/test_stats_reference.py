"""The statistics reproduce every published figure in ../shared/reference/stats/README.md."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from studies.stats import binomial, covariance, mrmc, paired, roc, twoafc
from studies.stats.longformat import read_ratings_csv


@pytest.fixture(scope="module")
def ref(shared_dir):
    return shared_dir / "reference" / "stats"


@pytest.fixture(scope="module")
def asah(ref):
    d = pd.read_csv(ref / "aSAH.csv")
    return (d["outcome"] == "Poor").to_numpy(), d


def test_asah_s100b_auc_and_delong_ci(asah):
    truth, d = asah
    est = roc.auc_ci(truth, d["s100b"].to_numpy())
    assert (est.n_positive, est.n_negative) == (41, 72)
    assert est.auc == pytest.approx(0.731368563685637, abs=1e-15)
    assert est.ci[0] == pytest.approx(0.630118211761623, abs=1e-15)
    assert est.ci[1] == pytest.approx(0.832618915609651, abs=1e-15)


def test_asah_wfns_ordered_auc(asah):
    truth, d = asah
    assert roc.auc(truth, d["wfns"].to_numpy()) == pytest.approx(0.823678861788618, abs=1e-15)


def test_asah_2afc_identity(asah):
    truth, d = asah
    s = d["s100b"].to_numpy()
    pos, neg = s[truth], s[~truth]
    diff = pos[:, None] - neg[None, :]
    correct, ties = int((diff > 0).sum()), int((diff == 0).sum())
    assert (pos.size * neg.size, correct, ties) == (2952, 2124, 70)
    pc = twoafc.proportion_correct(np.where(diff > 0, 1.0, np.where(diff == 0, 0.5, 0.0)).ravel())
    assert pc == pytest.approx(0.7313685636856369, abs=1e-15)
    assert pc == pytest.approx(roc.auc(truth, s), abs=1e-15)


def test_asah_paired_delong_matches_proc_roc_test(asah):
    # pROC: roc.test(roc(outcome, s100b), roc(outcome, wfns)) -> Z = -2.209, p-value = 0.02718
    truth, d = asah
    cmp = roc.delong_test(truth, d["s100b"].to_numpy(), d["wfns"].to_numpy().astype(float))
    assert cmp.z == pytest.approx(-2.209, abs=5e-4)
    assert cmp.p == pytest.approx(0.02718, abs=5e-6)
    assert cmp.ci[0] < cmp.difference < cmp.ci[1] < 0


def test_roc_curve_area_is_the_auc(asah):
    truth, d = asah
    fpr, tpr, thr = roc.roc_curve(truth, d["s100b"].to_numpy())
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.731368563685637, abs=1e-15)


@pytest.fixture(scope="module")
def vandyke(ref):
    return read_ratings_csv(ref / "VanDyke_MRMCaov.csv")


def _or(table, method):
    theta, cov = covariance.COV_METHODS[method](table.truth, table.scores())
    return mrmc.or_analysis(
        theta.reshape(table.ratings.shape[:2]),
        cov,
        treatments=table.treatments,
        readers=table.readers,
    )


def test_vandyke_iowa_jackknife(vandyke):
    assert vandyke.ratings.shape == (2, 5, 114) and vandyke.truth.sum() == 45
    res = _or(vandyke, "jackknife")
    np.testing.assert_allclose(
        res.theta,
        [
            [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066],
            [0.94782609, 0.90531401, 0.92173913, 0.99935588, 0.92995169],
        ],
        atol=5e-9,
    )
    means = res.treatment_means
    assert (round(means["1"], 8), round(means["2"], 8)) == (0.89703704, 0.94083736)
    t = res.terms
    assert [round(v, 8) for v in (t.var_r, t.var_tr, t.cov1, t.cov2, t.cov3, t.var_error)] == [
        0.00153500,
        0.00020040,
        0.00034661,
        0.00034407,
        0.00023903,
        0.00080229,
    ]
    d = res.rrrc.differences[0]
    assert round(d.estimate, 8) == -0.04380032
    assert round(res.rrrc.statistic, 6) == 4.456319
    assert round(res.rrrc.df2, 5) == 15.25967
    assert round(res.rrrc.p, 6) == 0.051666
    assert (round(d.ci[0], 5), round(d.ci[1], 5)) == (-0.08796, 0.00036)
    assert round(res.frrc.statistic, 5) == 5.47595 and round(res.frrc.p, 6) == 0.019280
    assert (round(res.rrfc.statistic, 4), res.rrfc.df1, res.rrfc.df2) == (8.7040, 1, 4.0)
    assert round(res.rrfc.p, 6) == 0.041959
    # single-treatment intervals (Iowa part c)
    s1, s2 = res.rrrc.single
    assert (round(s1.ci[0], 8), round(s1.ci[1], 8)) == (0.82522360, 0.96885048)
    assert (round(s2.se, 8), round(s2.df, 2)) == (0.02156637, 12.71)
    f1, _ = res.frrc.single
    assert (round(f1.ci[0], 8), round(f1.ci[1], 8)) == (0.84943008, 0.94464399)


def test_vandyke_mrmcaov_delong_covariance(vandyke):
    res = _or(vandyke, "delong")
    assert round(res.rrrc.statistic, 6) == 4.484854
    assert round(res.rrrc.df2, 5) == 15.06611
    assert round(res.rrrc.p, 6) == 0.051233
    assert round(res.terms.var_error, 10) == 0.0007921325
    assert round(res.rrrc.differences[0].ci[1], 10) == 0.0002665519


def test_binomial_reference_figures(ref):
    assert [round(v, 10) for v in binomial.clopper_pearson_ci(682, 925)] == [
        0.7076682641,
        0.7654065582,
    ]
    assert [round(v, 10) for v in binomial.wilson_ci(682, 925)] == [0.7079959876, 0.7646358010]
    assert [round(v, 10) for v in binomial.wilson_ci(105, 150)] == [0.6224201960, 0.7675917062]
    table = json.loads((ref / "R_binom_confint_reference_from_statsmodels.json").read_text())
    order = table["method_order"]
    for counts, lims in table["cases"].items():
        k, n = map(int, counts.split("/"))
        for method, fn in (("exact", binomial.clopper_pearson_ci), ("wilson", binomial.wilson_ci)):
            i = order.index(method)
            lo, hi = fn(k, n)
            assert lo == pytest.approx(max(lims["ci_low"][i], 0.0), abs=1e-7), (counts, method)
            assert hi == pytest.approx(lims["ci_upp"][i], abs=1e-7), (counts, method)


def test_mcnemar_reference_figures():
    r = paired.mcnemar(150, 86)
    assert round(r.chi2, 6) == 17.355932
    assert round(r.chi2_corrected, 6) == 16.817797
    assert f"{r.p_exact:.6e}" == "3.715936e-05"


def test_dprime_reference():
    assert twoafc.dprime(0.7) == pytest.approx(0.741614317187116, abs=1e-15)
