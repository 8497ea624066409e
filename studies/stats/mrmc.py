"""Obuchowski-Rockette (OR) multi-reader multi-case analysis with Hillis' degrees of freedom.

Input: the figures of merit ``theta`` (t treatments x r readers) and their covariance over
cases (``cov``, (t r) x (t r), treatment-major; see :mod:`studies.stats.covariance`). From the
covariance come the OR error terms (averages over the matching off-diagonal cells):
``Var`` (diagonal), ``Cov1`` (same reader, different treatments), ``Cov2`` (different readers,
same treatment), ``Cov3`` (different readers and treatments). From ``theta`` the two-way
ANOVA mean squares ``MS(T)``, ``MS(R)``, ``MS(T*R)``.

Random readers and cases (RRRC; Obuchowski & Rockette 1995, Hillis 2007):
``F = MS(T) / [MS(T*R) + r max(Cov2 - Cov3, 0)]`` with ``ddf_H =
[MS(T*R) + r max(Cov2 - Cov3, 0)]² / {MS(T*R)² / [(t-1)(r-1)]}``; the difference of two
treatments has ``SE = sqrt(2/r [MS(T*R) + r max(Cov2 - Cov3, 0)])`` and a t interval on
``ddf_H``. Fixed readers (FRRC): ``X2 = (t-1) MS(T) / [Var - Cov1 + (r-1) max(Cov2 - Cov3, 0)]``
on t-1 df. Fixed cases (RRFC): ``F = MS(T)/MS(T*R)`` on (t-1, (t-1)(r-1)) df. The ``max(., 0)``
clamps are the Iowa OR-DBM MRMC program's (Hillis et al. 2008); variance components are the
ANOVA estimates and may be negative (reported as such, as the Iowa program does).

Single-treatment and standalone-AI analyses (:func:`one_sample`) use
``SE = sqrt(MS(R)/r + max(Cov2, 0))`` and ``df = [MS(R) + r max(Cov2, 0)]² / [MS(R)²/(r-1)]``
(Hillis 2007, "ddf_H_single"). For a standalone AI against random readers the figure is each
reader's difference to the AI, ``D_j = theta_j - theta_AI``, whose covariance over cases is
``A cov A^T`` with ``A = [I_r, -1]`` (Chakraborty's "1T-RRRC", Kooi et al. 2016).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import combinations

import numpy as np
from scipy import special

from studies.errors import OptionError
from studies.stats.checks import check_alpha
from studies.stats.jsonable import jsonable


@dataclass(frozen=True)
class ORTerms:
    """OR error variance/covariances and ANOVA mean squares of one analysis."""

    var_error: float
    cov1: float
    cov2: float
    cov3: float
    ms_t: float
    ms_r: float
    ms_tr: float
    var_r: float  # reader variance component (ANOVA estimate; may be negative)
    var_tr: float  # treatment x reader variance component


def or_error_terms(cov: np.ndarray, t: int, r: int) -> tuple[float, float, float, float]:
    """``(Var, Cov1, Cov2, Cov3)`` averaged from a (t r) x (t r) covariance (treatment-major)."""
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (t * r, t * r):
        raise OptionError("cov", f"a {t * r} x {t * r} matrix", cov.shape)
    trt = np.repeat(np.arange(t), r)
    rdr = np.tile(np.arange(r), t)
    same_t = trt[:, None] == trt[None, :]
    same_r = rdr[:, None] == rdr[None, :]

    def mean(mask: np.ndarray) -> float:
        return float(cov[mask].mean()) if mask.any() else 0.0

    return (
        mean(same_t & same_r),
        mean(~same_t & same_r),
        mean(same_t & ~same_r),
        mean(~same_t & ~same_r),
    )


def _mean_squares(theta: np.ndarray) -> tuple[float, float, float]:
    t, r = theta.shape
    grand = theta.mean()
    tm, rm = theta.mean(axis=1), theta.mean(axis=0)
    ms_t = r * ((tm - grand) ** 2).sum() / (t - 1) if t > 1 else float("nan")
    ms_r = t * ((rm - grand) ** 2).sum() / (r - 1)
    inter = theta - tm[:, None] - rm[None, :] + grand
    ms_tr = (inter**2).sum() / ((t - 1) * (r - 1)) if t > 1 else float("nan")
    return float(ms_t), float(ms_r), float(ms_tr)


@dataclass(frozen=True)
class Difference:
    """One treatment difference ``first - second`` with its test and interval."""

    first: str
    second: str
    estimate: float
    se: float
    df: float | None  # None for normal (z) tests
    statistic: float  # t or z
    p: float
    ci: tuple[float, float]


@dataclass(frozen=True)
class Estimate:
    """One treatment's reader-averaged figure with its interval."""

    treatment: str
    estimate: float
    se: float
    df: float | None
    ci: tuple[float, float]


@dataclass(frozen=True)
class Test:
    """A global test of equal treatments and the pairwise differences under one factor model."""

    model: str  # "rrrc", "frrc" or "rrfc"
    statistic_name: str  # "F" or "chi2"
    statistic: float
    df1: float
    df2: float | None
    p: float
    differences: list[Difference]
    single: list[Estimate]


@dataclass
class ORResult:
    treatments: list[str]
    readers: list[str]
    theta: np.ndarray  # (t, r)
    terms: ORTerms
    rrrc: Test
    frrc: Test
    rrfc: Test
    alpha: float = 0.05
    extra: dict = field(default_factory=dict)

    @property
    def treatment_means(self) -> dict[str, float]:
        return {
            tr: float(v) for tr, v in zip(self.treatments, self.theta.mean(axis=1), strict=True)
        }

    def to_dict(self) -> dict:
        """JSON-able summary (NaN/inf become None)."""
        return jsonable(
            {
                "treatments": self.treatments,
                "readers": self.readers,
                "auc": {
                    tr: dict(zip(self.readers, row, strict=True))
                    for tr, row in zip(self.treatments, self.theta.tolist(), strict=True)
                },
                "treatment_auc": self.treatment_means,
                "variance_components": asdict(self.terms),
                **{m: _test_dict(getattr(self, m)) for m in ("rrrc", "frrc", "rrfc")},
                "alpha": self.alpha,
            }
        )


def _test_dict(test: Test) -> dict:
    """A test as a dict; with one difference (two treatments) its ``difference``, ``df`` and
    ``ci`` are repeated at the top for convenience."""
    d = asdict(test)
    if len(test.differences) == 1:
        diff = test.differences[0]
        d.update({"difference": diff.estimate, "se": diff.se, "df": diff.df, "ci": list(diff.ci)})
    return d


def _ratio(num: float, den: float) -> float:
    """A test statistic ``num / den``: 0 for 0/0 (no treatment difference and no variance:
    p = 1, not the p = 0 that treating 0/0 as infinity gave), infinity for x/0 with x > 0."""
    if den > 0:
        return num / den
    return 0.0 if not num > 1e-15 else float("inf")


def _t_interval(
    est: float, se: float, df: float, alpha: float
) -> tuple[float, float, float, float]:
    """(statistic, two-sided p, lower, upper) of a t (df finite) or z (df inf) interval.

    Uses scipy.special directly (frozen scipy.stats distributions cost ~1 ms each, which
    matters inside power simulations).
    """
    if np.isfinite(df):
        q = float(special.stdtrit(df, 1 - alpha / 2))
    else:
        q = float(special.ndtri(1 - alpha / 2))
    stat = est / se if se > 0 else (0.0 if est == 0 else float(np.sign(est) * np.inf))
    tail = special.stdtr(df, -abs(stat)) if np.isfinite(df) else special.ndtr(-abs(stat))
    return float(stat), float(2 * tail), est - q * se, est + q * se


def one_sample(
    theta: np.ndarray, cov: np.ndarray, alpha: float = 0.05, name: str = ""
) -> dict[str, Estimate]:
    """Single-treatment reader-averaged estimate under each factor model.

    ``theta``: (r,) per-reader figures (AUCs, or differences to an AI); ``cov``: (r, r) their
    covariance over cases. Returns ``{"rrrc", "frrc", "rrfc"}`` -> :class:`Estimate`.
    """
    check_alpha(alpha)
    th = np.asarray(theta, dtype=float)
    r = th.size
    if r < 2:
        raise OptionError("readers", "at least two readers", r)
    var, _, cov2, _ = or_error_terms(np.asarray(cov), 1, r)
    ms_r = float(th.var(ddof=1))
    mean = float(th.mean())
    out = {}
    den = ms_r + r * max(cov2, 0.0)
    se = float(np.sqrt(den / r))
    df = den**2 / (ms_r**2 / (r - 1)) if ms_r > 0 else float("inf")
    out["rrrc"] = _estimate(name, mean, se, df, alpha)
    se = float(np.sqrt(max(var + (r - 1) * max(cov2, 0.0), 0.0) / r))
    out["frrc"] = _estimate(name, mean, se, float("inf"), alpha)
    out["rrfc"] = _estimate(name, mean, float(np.sqrt(ms_r / r)), float(r - 1), alpha)
    return out


def _estimate(name: str, mean: float, se: float, df: float, alpha: float) -> Estimate:
    _, _, lo, hi = _t_interval(mean, se, df, alpha)
    return Estimate(name, mean, se, df if np.isfinite(df) else None, (lo, hi))


def or_analysis(
    theta: np.ndarray,
    cov: np.ndarray,
    *,
    treatments: list[str] | None = None,
    readers: list[str] | None = None,
    alpha: float = 0.05,
) -> ORResult:
    """Full OR analysis of ``theta`` (t >= 2, r >= 2) with covariance ``cov`` ((t r) x (t r)).

    Returns every factor model's global test, pairwise differences (treatment order: first
    minus second) and single-treatment intervals.
    """
    check_alpha(alpha)
    th = np.asarray(theta, dtype=float)
    if th.ndim != 2 or th.shape[0] < 2 or th.shape[1] < 2:
        raise OptionError("theta", "a (treatments >= 2, readers >= 2) array", th.shape)
    t, r = th.shape
    treatments = [str(x) for x in (treatments or range(1, t + 1))]
    readers = [str(x) for x in (readers or range(1, r + 1))]
    cov = np.asarray(cov, dtype=float)
    var, cov1, cov2, cov3 = or_error_terms(cov, t, r)
    ms_t, ms_r, ms_tr = _mean_squares(th)
    var_tr = ms_tr - var + cov1 + cov2 - cov3
    var_r = (ms_r - var_tr - var - (t - 1) * cov1 + cov2 + (t - 1) * cov3) / t
    terms = ORTerms(var, cov1, cov2, cov3, ms_t, ms_r, ms_tr, var_r, var_tr)
    means = th.mean(axis=1)
    pairs = list(combinations(range(t), 2))
    singles = [
        one_sample(th[i], cov[i * r : (i + 1) * r, i * r : (i + 1) * r], alpha, treatments[i])
        for i in range(t)
    ]

    def diffs(se: float, df: float) -> list[Difference]:
        out = []
        for i, j in pairs:
            est = float(means[i] - means[j])
            stat, p, lo, hi = _t_interval(est, se, df, alpha)
            out.append(
                Difference(
                    treatments[i],
                    treatments[j],
                    est,
                    se,
                    df if np.isfinite(df) else None,
                    stat,
                    p,
                    (lo, hi),
                )
            )
        return out

    # random readers, random cases
    den = ms_tr + r * max(cov2 - cov3, 0.0)
    ddf = den**2 / (ms_tr**2 / ((t - 1) * (r - 1))) if ms_tr > 0 else float("inf")
    f = _ratio(ms_t, den)
    p = (
        float(special.fdtrc(t - 1, ddf, f))
        if np.isfinite(ddf)
        else float(special.chdtrc(t - 1, f * (t - 1)))
    )
    rrrc = Test(
        "rrrc",
        "F",
        f,
        t - 1,
        ddf,
        p,
        diffs(float(np.sqrt(2 / r * den)), ddf),
        [s["rrrc"] for s in singles],
    )
    # fixed readers, random cases
    den = var - cov1 + (r - 1) * max(cov2 - cov3, 0.0)
    x2 = (t - 1) * _ratio(ms_t, den)
    frrc = Test(
        "frrc",
        "chi2",
        x2,
        t - 1,
        None,
        float(special.chdtrc(t - 1, x2)),
        diffs(float(np.sqrt(max(2 / r * den, 0.0))), float("inf")),
        [s["frrc"] for s in singles],
    )
    # random readers, fixed cases
    f = _ratio(ms_t, ms_tr)
    df2 = (t - 1) * (r - 1)
    rrfc = Test(
        "rrfc",
        "F",
        f,
        t - 1,
        float(df2),
        float(special.fdtrc(t - 1, df2, f)),
        diffs(float(np.sqrt(2 / r * ms_tr)), float(df2)),
        [s["rrfc"] for s in singles],
    )
    return ORResult(treatments, readers, th, terms, rrrc, frrc, rrfc, alpha)


@dataclass
class StandaloneResult:
    """Random readers (one treatment) against a standalone AI: ``mean_j(theta_j) - theta_AI``."""

    readers: list[str]
    reader_theta: np.ndarray  # (r,)
    ai_theta: float
    ai_se: float
    reader_mean: dict[str, Estimate]  # per model
    difference: dict[str, Difference]  # readers minus AI, per model
    var_error: float
    cov2: float
    ms_r: float
    alpha: float = 0.05

    def to_dict(self) -> dict:
        return jsonable(
            {
                "readers": self.readers,
                "reader_auc": dict(zip(self.readers, self.reader_theta.tolist(), strict=True)),
                "reader_mean_auc": float(self.reader_theta.mean()),
                "ai_auc": self.ai_theta,
                "ai_se": self.ai_se,
                "readers_mean": {k: asdict(v) for k, v in self.reader_mean.items()},
                **{k: asdict(v) for k, v in self.difference.items()},
                "variance_components": {
                    "var_error": self.var_error,
                    "cov2": self.cov2,
                    "ms_r": self.ms_r,
                },
                "alpha": self.alpha,
            }
        )


def standalone_vs_readers(
    reader_theta: np.ndarray,
    ai_theta: float,
    cov: np.ndarray,
    *,
    readers: list[str] | None = None,
    alpha: float = 0.05,
) -> StandaloneResult:
    """Compare r random readers with one AI read on the same cases.

    ``cov``: ((r+1) x (r+1)) covariance of (reader_1..reader_r, AI) figures over cases.
    """
    check_alpha(alpha)
    th = np.asarray(reader_theta, dtype=float)
    r = th.size
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (r + 1, r + 1):
        raise OptionError("cov", f"a {r + 1} x {r + 1} matrix (readers then AI)", cov.shape)
    a = np.hstack([np.eye(r), -np.ones((r, 1))])
    d = th - ai_theta
    cov_d = a @ cov @ a.T
    var, _, cov2, _ = or_error_terms(cov_d, 1, r)
    est = one_sample(d, cov_d, alpha)
    diffs = {}
    for model, e in est.items():
        stat, p, lo, hi = _t_interval(
            e.estimate, e.se, e.df if e.df is not None else float("inf"), alpha
        )
        diffs[model] = Difference("readers", "AI", e.estimate, e.se, e.df, stat, p, (lo, hi))
    readers = [str(x) for x in (readers or range(1, r + 1))]
    means = one_sample(th, cov[:r, :r], alpha, "readers")
    return StandaloneResult(
        readers,
        th,
        float(ai_theta),
        float(np.sqrt(max(cov[r, r], 0.0))),
        means,
        diffs,
        var,
        cov2,
        float(d.var(ddof=1)),
        alpha,
    )
