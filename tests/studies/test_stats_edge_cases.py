"""Statistics edge cases give defined answers.

(a) 0/0 test statistics (identical treatments, perfect readers) give p = 1, not p = 0;
(b) a DeLong variance with fewer than two positives or negatives is NaN with a reason;
(c) alpha outside (0, 1) is refused, in the library and on the command line;
(d) McNemar without discordant pairs is undefined, and says so."""

from __future__ import annotations

import math

import numpy as np
import pytest

from studies.analysis.power import PowerDesign, power
from studies.cli import main
from studies.errors import OptionError
from studies.stats.mrmc import or_analysis
from studies.stats.paired import mcnemar
from studies.stats.roc import auc_ci, delong_test

MODELS = ("rrrc", "frrc", "rrfc")


def _identical_treatments(r=4, seed=0):
    rng = np.random.default_rng(seed)
    reader = rng.uniform(0.55, 0.8, size=r)
    a = rng.normal(size=(r, r))
    c = a @ a.T / 1000
    return np.vstack([reader, reader]), np.kron(np.ones((2, 2)), c)


@pytest.mark.parametrize("case", ["identical", "perfect"])
def test_zero_over_zero_statistics_give_p_one(case):
    if case == "identical":
        theta, cov = _identical_treatments()
    else:
        theta, cov = np.ones((2, 4)), np.zeros((8, 8))
    res = or_analysis(theta, cov, treatments=["a", "b"], readers=list("wxyz"))
    for model in MODELS:
        test = getattr(res, model)
        assert test.statistic == 0.0 and test.p == 1.0, (model, test)
        assert test.differences[0].p == 1.0
    d = res.to_dict()
    assert all(d[m]["p"] == 1.0 for m in MODELS)


def test_power_without_a_true_difference_is_not_inflated_by_zero_variance():
    out = power(PowerDesign(n_pairs=40, n_readers=3, reader_pc=0.58, aided_pc=0.58, rho=1.0),
                designs=("aided-vs-unaided",), n_sim=60, seed=0)
    for model in MODELS:
        assert out["aided-vs-unaided"][model]["power"] <= 0.1, out["aided-vs-unaided"][model]


@pytest.mark.parametrize("truth", [[1, 0, 0, 0, 0], [1, 1, 1, 1, 0]])
def test_delong_variance_with_a_single_positive_or_negative_is_nan_with_a_reason(truth):
    truth = np.array(truth, bool)
    score = np.array([0.9, 0.2, 0.5, 0.4, 0.1])
    est = auc_ci(truth, score)
    assert math.isfinite(est.auc) and math.isnan(est.se) and all(math.isnan(x) for x in est.ci)
    assert "not estimable" in est.note and "not estimable" in est.to_dict()["note"]
    cmp = delong_test(truth, score, score[::-1])
    assert math.isnan(cmp.p) and "not estimable" in cmp.note


def test_delong_with_two_of_each_is_finite():
    est = auc_ci(np.array([1, 1, 0, 0], bool), np.array([0.9, 0.3, 0.5, 0.1]))
    assert math.isfinite(est.se) and est.note == ""


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, float("nan"), float("inf"), True])
def test_alpha_outside_zero_one_is_refused_by_the_library(alpha):
    truth = np.array([1, 1, 0, 0], bool)
    with pytest.raises(OptionError, match="alpha"):
        auc_ci(truth, np.array([0.9, 0.3, 0.5, 0.1]), alpha)
    theta, cov = _identical_treatments()
    with pytest.raises(OptionError, match="alpha"):
        or_analysis(theta, cov, treatments=["a", "b"], readers=list("wxyz"), alpha=alpha)


@pytest.mark.parametrize("command", ["roc", "mrmc", "power"])
@pytest.mark.parametrize("alpha", ["1.5", "-0.1", "0", "nan", "x"])
def test_alpha_outside_zero_one_is_a_usage_error_on_the_command_line(command, alpha, tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("truth,s\n1,0.9\n1,0.3\n0,0.5\n0,0.1\n")
    args = {
        "roc": ["roc", str(table), "--truth", "truth", "--positive", "1", "--score", "s"],
        "mrmc": ["mrmc", str(table)],
        "power": ["power", "--pairs", "10", "--readers", "2"],
    }[command]
    with pytest.raises(SystemExit) as info:
        main([*args, "--alpha", alpha])
    assert info.value.code == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_mcnemar_without_discordant_pairs_is_undefined_and_says_so():
    r = mcnemar(0, 0)
    assert math.isnan(r.chi2) and math.isnan(r.p_exact) and "undefined" in r.note
    assert mcnemar(3, 1).note == "" and math.isfinite(mcnemar(3, 1).p_exact)


def test_roc_command_prints_null_se_with_the_reason(tmp_path, capsys):
    import json

    table = tmp_path / "t.csv"
    table.write_text("truth,s,u\n1,0.9,0.2\n0,0.3,0.1\n0,0.5,0.7\n0,0.1,0.4\n")
    assert main(["roc", str(table), "--truth", "truth", "--positive", "1", "--score", "s", "--score", "u"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scores"]["s"]["se"] is None and out["scores"]["s"]["ci"] == [None, None]
    assert "not estimable" in out["scores"]["s"]["note"]
    assert out["comparison"]["p"] is None and "not estimable" in out["comparison"]["note"]
