"""Simulated power of a 2AFC reader study, analysed with the same code as the real study.

Model (probit, pairs as cases): pair ``i`` has an easiness ``e_i ~ N(0, pair_sd²)`` shared by
every reader and the AI (this is what correlates their answers); reader ``j`` has a skill
``a_j ~ N(mu, reader_sd²)``; the reader is right when ``a_j + e_i + eps_ij > 0`` with
``eps ~ N(0, 1)``. ``mu`` is set so the expected proportion correct is ``reader_pc``:
``mu = Phi^-1(pc) sqrt(1 + reader_sd² + pair_sd²)``. The AI is right when
``mu_AI + e_i + eta_i > 0`` (``mu_AI`` from ``ai_pc`` likewise). Aided reading shifts the
skill to reach ``aided_pc``; a reader's aided and unaided noise correlate with ``rho``.

Each simulated study is analysed by :func:`studies.stats.mrmc.standalone_vs_readers`
(readers vs AI) or :func:`studies.stats.mrmc.or_analysis` (aided vs unaided) on the
jackknife-over-pairs covariance (:func:`studies.stats.covariance.mean_jackknife_cov`), exactly
as :mod:`studies.analysis.comparisons` analyses real decisions; power is the share of
simulated studies with two-sided ``p < alpha``, with its Monte-Carlo Wilson interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from studies.errors import OptionError
from studies.progress import NO_PROGRESS, Progress
from studies.stats.binomial import wilson_ci
from studies.stats.covariance import mean_jackknife_cov
from studies.stats.mrmc import or_analysis, standalone_vs_readers

DESIGNS = ("reader-vs-ai", "aided-vs-unaided")


@dataclass(frozen=True)
class PowerDesign:
    """Parameters of one simulated design (proportions are expected proportions correct)."""

    n_pairs: int = 150
    n_readers: int = 5
    reader_pc: float = 0.58
    ai_pc: float = 0.65
    aided_pc: float = 0.63
    pair_sd: float = 1.0
    reader_sd: float = 0.15
    rho: float = 0.5
    alpha: float = 0.05

    def check(self) -> PowerDesign:
        if self.n_pairs < 5:
            raise OptionError("pairs", "an int >= 5", self.n_pairs)
        if self.n_readers < 2:
            raise OptionError(
                "readers", "an int >= 2 (the multi-reader analysis needs two)", self.n_readers
            )
        for name in ("reader_pc", "ai_pc", "aided_pc"):
            v = getattr(self, name)
            if not 0.5 <= v < 1.0:
                raise OptionError(name.replace("_", "-"), "a proportion correct in [0.5, 1)", v)
        for name in ("pair_sd", "reader_sd"):
            if getattr(self, name) < 0:
                raise OptionError(
                    name.replace("_", "-"), "a standard deviation >= 0", getattr(self, name)
                )
        if not -1 <= self.rho <= 1:
            raise OptionError("rho", "a correlation in [-1, 1]", self.rho)
        if not 0 < self.alpha < 1:
            raise OptionError("alpha", "a float in (0, 1)", self.alpha)
        return self


def _mu(pc: float, extra_var: float) -> float:
    return float(stats.norm.ppf(pc) * np.sqrt(1.0 + extra_var))


def simulate(design: PowerDesign, n_sim: int, seed: int | None = 0) -> dict[str, np.ndarray]:
    """Simulated outcomes: ``unaided`` and ``aided`` (n_sim, r, n) and ``ai`` (n_sim, n), in {0, 1}."""
    d = design.check()
    rng = np.random.default_rng(seed)
    r, n = d.n_readers, d.n_pairs
    var = d.reader_sd**2 + d.pair_sd**2
    e = rng.normal(0, d.pair_sd, (n_sim, 1, n))
    skill = rng.normal(0, d.reader_sd, (n_sim, r, 1))
    eps = rng.normal(size=(n_sim, r, n))
    eps_aided = d.rho * eps + np.sqrt(1 - d.rho**2) * rng.normal(size=(n_sim, r, n))
    unaided = (_mu(d.reader_pc, var) + skill + e + eps > 0).astype(float)
    aided = (_mu(d.aided_pc, var) + skill + e + eps_aided > 0).astype(float)
    ai = (_mu(d.ai_pc, d.pair_sd**2) + e[:, 0] + rng.normal(size=(n_sim, n)) > 0).astype(float)
    return {"unaided": unaided, "aided": aided, "ai": ai}


def _summarise(p: np.ndarray, diff: np.ndarray, alpha: float) -> dict:
    hits = int((p < alpha).sum())
    lo, hi = wilson_ci(hits, p.size)
    return {
        "power": hits / p.size,
        "power_ci": [lo, hi],
        "mean_difference": float(np.mean(diff)),
        "n_sim": int(p.size),
    }


def power(
    design: PowerDesign,
    *,
    designs: tuple[str, ...] = DESIGNS,
    n_sim: int = 1000,
    seed: int | None = 0,
    progress: Progress = NO_PROGRESS,
) -> dict:
    """Power of each requested design under each factor model (rrrc, frrc, rrfc)."""
    for name in designs:
        if name not in DESIGNS:
            raise OptionError("design", f"one of {DESIGNS}", name)
    if n_sim < 10:
        raise OptionError("sims", "an int >= 10", n_sim)
    sims = simulate(design, n_sim, seed)
    r = design.n_readers
    models = ("rrrc", "frrc", "rrfc")
    p = {(dn, m): np.empty(n_sim) for dn in designs for m in models}
    diff = {dn: np.empty(n_sim) for dn in designs}
    for s in range(n_sim):
        if "reader-vs-ai" in designs:
            theta, cov = mean_jackknife_cov(np.vstack([sims["unaided"][s], sims["ai"][s]]))
            res = standalone_vs_readers(theta[:-1], theta[-1], cov, alpha=design.alpha)
            diff["reader-vs-ai"][s] = res.difference["rrrc"].estimate
            for m in models:
                p["reader-vs-ai", m][s] = res.difference[m].p
        if "aided-vs-unaided" in designs:
            theta, cov = mean_jackknife_cov(np.vstack([sims["aided"][s], sims["unaided"][s]]))
            res = or_analysis(theta.reshape(2, r), cov, alpha=design.alpha)
            diff["aided-vs-unaided"][s] = res.rrrc.differences[0].estimate
            for m in models:
                p["aided-vs-unaided", m][s] = getattr(res, m).p
        if (s + 1) % max(1, n_sim // 20) == 0:
            progress.update(s + 1, n_sim)
    out = {"design": asdict(design), "n_sim": n_sim, "seed": seed}
    for dn in designs:
        out[dn] = {
            m: _summarise(np.nan_to_num(p[dn, m], nan=1.0), diff[dn], design.alpha) for m in models
        }
    return out
