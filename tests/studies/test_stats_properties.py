"""Consistency properties of the statistics, and runs on the Franken and NICO data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studies.errors import InputFileError, OptionError
from studies.stats import agreement, binomial, covariance, mrmc, paired, roc, twoafc
from studies.stats.longformat import ratings_from_frame, read_ratings_csv


def test_newcombe_interval_contains_difference_and_narrows_with_n():
    d, (lo, hi) = binomial.newcombe_paired_ci(40, 20, 10, 30)
    assert d == pytest.approx(0.1)
    assert -1 <= lo < d < hi <= 1
    d2, (lo2, hi2) = binomial.newcombe_paired_ci(400, 200, 100, 300)
    assert d2 == pytest.approx(0.1) and hi2 - lo2 < (hi - lo) / 2.5
    # no discordance at all: zero difference inside the interval
    d0, (lo0, hi0) = binomial.newcombe_paired_ci(50, 0, 0, 50)
    assert d0 == 0 and lo0 < 0 < hi0
    d1, (lo1, hi1) = binomial.newcombe_paired_ci(50, 1, 0, 49)
    assert lo1 < 0 < d1 < hi1
    # swapping the raters mirrors the interval
    dm, (lom, him) = binomial.newcombe_paired_ci(40, 10, 20, 30)
    assert (dm, lom, him) == pytest.approx((-d, -hi, -lo))


def test_newcombe_close_to_wald_for_large_tables():
    a, b, c, dd = 3000, 1500, 900, 2600
    n = a + b + c + dd
    diff, (lo, hi) = binomial.newcombe_paired_ci(a, b, c, dd)
    se = np.sqrt((b + c) / n**2 - (b - c) ** 2 / n**3)
    assert lo == pytest.approx(diff - 1.959964 * se, abs=1e-3)
    assert hi == pytest.approx(diff + 1.959964 * se, abs=1e-3)


def test_bad_counts_are_refused():
    with pytest.raises(OptionError, match="k, n"):
        binomial.wilson_ci(5, 3)
    with pytest.raises(OptionError, match="alpha"):
        binomial.clopper_pearson_ci(1, 3, alpha=1.5)


def test_mcnemar_symmetry_and_no_discordance():
    assert paired.mcnemar(10, 4).p_exact == paired.mcnemar(4, 10).p_exact
    assert np.isnan(paired.mcnemar(0, 0).p_exact)  # undefined without discordant pairs
    assert paired.mcnemar(0, 10).p_exact == pytest.approx(2 * 0.5**10)


def test_paired_bootstrap_is_vectorised_and_consistent():
    rng = np.random.default_rng(1)
    ai = (rng.random(150) < 0.65).astype(float)
    readers = (rng.random((10, 150)) < 0.58).astype(float)
    res = paired.paired_bootstrap(readers, ai, n_boot=4000, seed=3)
    np.testing.assert_allclose(res.estimate, readers.mean(1) - ai.mean())
    assert (
        res.ci.shape == (10, 2)
        and np.all(res.ci[:, 0] < res.estimate)
        and np.all(res.estimate < res.ci[:, 1])
    )
    # the bootstrap SE of a mean difference is close to the analytic one
    w = paired.bootstrap_weights(150, 4000, seed=3)
    boots = paired.bootstrap_means(readers[0] - ai, w)[:, 0]
    assert boots.std() == pytest.approx((readers[0] - ai).std(ddof=1) / np.sqrt(150), rel=0.1)
    # same seed, same answer
    again = paired.paired_bootstrap(readers, ai, n_boot=4000, seed=3)
    np.testing.assert_array_equal(res.ci, again.ci)


def test_cohen_kappa_known_values():
    a = np.array([1, 1, 0, 0, 1, 0, 1, 0, 1, 1])
    assert agreement.cohen_kappa(a, a) == 1.0
    assert (
        agreement.cohen_kappa(a, 1 - a) == pytest.approx(-1 / (1 - 0.48) * 0.48 * 1, abs=1)
        and agreement.cohen_kappa(a, 1 - a) < 0
    )
    # Cohen's worked table: po = 0.7, pe = 0.5 -> kappa 0.4
    x = np.array([1] * 35 + [1] * 15 + [0] * 15 + [0] * 35)
    y = np.array([1] * 35 + [0] * 15 + [1] * 15 + [0] * 35)
    assert agreement.cohen_kappa(x, y) == pytest.approx(0.4)


def test_fleiss_kappa_matches_published_example():
    # Fleiss (1971) as reproduced on Wikipedia: 10 subjects, 14 raters, 5 categories -> 0.210
    counts = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert agreement.fleiss_kappa(counts) == pytest.approx(0.20993, abs=1e-5)
    labels = np.array([[0, 0, 1], [1, 1, 1], [0, 1, 0], [1, 1, 0]])
    assert agreement.fleiss_kappa_from_labels(labels) == pytest.approx(
        agreement.fleiss_kappa(np.array([[2, 1], [0, 3], [2, 1], [1, 2]]))
    )
    # two raters: Fleiss' kappa equals Scott's pi, close to Cohen's kappa with equal marginals
    x = np.array([1] * 35 + [1] * 15 + [0] * 15 + [0] * 35)
    y = np.array([1] * 35 + [0] * 15 + [1] * 15 + [0] * 35)
    assert agreement.fleiss_kappa_from_labels(np.column_stack([x, y])) == pytest.approx(0.4)


def test_dprime_bounds():
    assert twoafc.dprime(0.5) == 0
    assert np.isinf(twoafc.dprime(1.0))
    assert np.isfinite(twoafc.dprime(1.0, n=150)) and twoafc.dprime(1.0, n=150) > 3
    with pytest.raises(OptionError):
        twoafc.dprime(1.2)


def test_mean_jackknife_equals_explicit_leave_one_out():
    rng = np.random.default_rng(0)
    v = (rng.random((4, 30)) < 0.6).astype(float)
    v[2, 3] = 0.5
    theta, cov = covariance.mean_jackknife_cov(v)
    loo = np.stack([np.delete(v, i, axis=1).mean(1) for i in range(30)], axis=1)
    np.testing.assert_allclose(cov, covariance.jackknife_cov(loo))
    np.testing.assert_allclose(theta, v.mean(1))


def test_auc_jackknife_equals_explicit_leave_one_out():
    rng = np.random.default_rng(2)
    truth = np.r_[np.ones(12, bool), np.zeros(15, bool)]
    scores = rng.integers(1, 6, size=(3, 27)).astype(float) + truth
    _, loo = covariance.auc_jackknife_values(truth, scores)
    for k in range(27):
        keep = np.arange(27) != k
        assert loo[0, k] == pytest.approx(roc.auc(truth[keep], scores[0, keep]))


def test_pair_level_2afc_auc_equals_case_level_auc_of_binary_choices():
    """A reader's proportion correct is the AUC of 'chose this knee' over all knees."""
    rng = np.random.default_rng(4)
    correct = (rng.random(60) < 0.6).astype(float)
    truth = np.r_[np.ones(60, bool), np.zeros(60, bool)]
    chosen = np.r_[correct, 1 - correct]
    assert roc.auc(truth, chosen) == pytest.approx(correct.mean())


def test_franken_two_treatments_are_consistent(shared_dir):
    table = read_ratings_csv(shared_dir / "reference" / "stats" / "Franken_MRMCaov.csv")
    assert table.ratings.shape == (2, 4, 100) and table.truth.sum() == 67
    theta, cov = covariance.auc_jackknife_cov(table.truth, table.scores())
    res = mrmc.or_analysis(theta.reshape(2, 4), cov)
    assert np.all((res.theta > 0.5) & (res.theta < 1))
    d = res.rrrc.differences[0]
    # the F test and the t test of the difference agree for two treatments
    assert d.statistic**2 == pytest.approx(res.rrrc.statistic)
    assert d.p == pytest.approx(res.rrrc.p)
    # fixed-cases SE is the paired t-test of the reader AUCs
    diffs = res.theta[0] - res.theta[1]
    assert res.rrfc.differences[0].se == pytest.approx(diffs.std(ddof=1) / 2)
    # swapping treatments flips the difference only
    swapped = mrmc.or_analysis(theta.reshape(2, 4)[::-1], _swap(cov, 2, 4))
    assert swapped.rrrc.statistic == pytest.approx(res.rrrc.statistic)
    assert swapped.rrrc.differences[0].estimate == pytest.approx(-d.estimate)


def _swap(cov, t, r):
    idx = np.arange(t * r).reshape(t, r)[::-1].ravel()
    return cov[np.ix_(idx, idx)]


def test_nico_standalone_ai_vs_readers(shared_dir):
    table = read_ratings_csv(shared_dir / "reference" / "stats" / "NICO_dataset09_CADvsRad_ROC.csv")
    assert table.ratings.shape == (1, 10, 200)
    rest, ai = table.without_reader("1")
    theta, cov = covariance.auc_jackknife_cov(table.truth, np.vstack([rest.scores(), ai]))
    res = mrmc.standalone_vs_readers(theta[:-1], theta[-1], cov, readers=rest.readers)
    assert res.ai_theta == pytest.approx(roc.auc(table.truth, ai[0]))
    assert 0.7 < res.ai_theta < 0.9 and 0.8 < res.reader_theta.mean() < 0.9
    d = res.difference["rrrc"]
    assert d.estimate == pytest.approx(res.reader_theta.mean() - res.ai_theta)
    assert d.ci[0] < d.estimate < d.ci[1] and 0 < d.p <= 1
    # random cases add variance: RRRC wider than RRFC
    assert res.difference["rrrc"].se > res.difference["rrfc"].se
    # DeLong covariance gives nearly the same standard error as the jackknife
    _, cov_dl = covariance.auc_delong_cov(table.truth, np.vstack([rest.scores(), ai]))
    res_dl = mrmc.standalone_vs_readers(theta[:-1], theta[-1], cov_dl)
    assert res_dl.difference["rrrc"].se == pytest.approx(d.se, rel=0.05)


def test_long_format_errors_name_the_problem(tmp_path):
    df = pd.DataFrame(
        {"reader": [1, 1, 2], "case": [1, 2, 1], "truth": [0, 1, 0], "rating": [1, 2, 3]}
    )
    with pytest.raises(InputFileError, match="not fully crossed"):
        ratings_from_frame(df, "x.csv")
    with pytest.raises(InputFileError, match="missing column 'rating'"):
        ratings_from_frame(df.rename(columns={"rating": "ratng"}), "x.csv")
    bad = df.assign(rating=["a", 2, 3])
    with pytest.raises(InputFileError, match="row 1.*not a number"):
        ratings_from_frame(bad, "x.csv")
    with pytest.raises(InputFileError, match="two different truths"):
        ratings_from_frame(df.assign(truth=[0, 1, 1]), "x.csv")


def test_wilson_is_exact_at_the_extremes():
    for n in (1, 7, 30, 150, 925):
        assert binomial.wilson_ci(n, n)[1] == 1.0 and binomial.wilson_ci(0, n)[0] == 0.0
        assert binomial.wilson_ci(n, n)[0] < 1.0 and binomial.wilson_ci(0, n)[1] > 0.0


def test_newcombe_altman_worked_example():
    # Altman et al., Statistics with Confidence (2000), Table 6.2: a=14, b=5, c=0, d=22
    # -> difference 0.122, 95% CI 0.011 to 0.226
    d, (lo, hi) = binomial.newcombe_paired_ci(14, 5, 0, 22)
    assert (round(d, 3), round(lo, 3), round(hi, 3)) == (0.122, 0.011, 0.226)
