"""Stratified progressor / non-progressor pairs for the human benchmark.

As in the paper: at baseline, progressors are drawn per stratum of 12-month JSN (mm)::

    almost_certain   JSN <  b0                (b0 = -1.1 mm; Parsons: -1.96 * sqrt(2) * SD)
    likely           b0 <= JSN < b1           (b1 = -0.6 mm)
    doubtful         b1 <= JSN < b2           (b2 = -0.5 mm)
    non-progressors  JSN >  b2

with 10 / 130 / 10 pairs by default (scaled to another number of pairs). Only knees with
both sequences and every clinical variable readers see are eligible; each knee is used at
most once (a participant may give both knees). Non-progressors are drawn at random, optionally
matched to their progressor on sex, BMI band and/or KL grade (relaxed, and counted, when no
exact match is left). Everything is drawn from one seeded generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from studies.errors import OptionError, StudyError
from studies.package import SEQUENCES, STRATA
from studies.vocabulary import shown_variables

DEFAULT_STRATA: tuple[int, int, int] = (10, 130, 10)
DEFAULT_BOUNDS: tuple[float, float, float] = (-1.1, -0.6, -0.5)
MATCH_KEYS: tuple[str, ...] = ("sex", "bmi", "kl")
#: BMI bands (kg/m^2) used when matching on BMI: < 25, 25 to < 30, >= 30.
BMI_BANDS: tuple[float, ...] = (25.0, 30.0)


def parsons_bound(jsw_sd_mm: float) -> float:
    """Smallest JSN (mm) detectable at 95 % given the JSW measurement SD: -1.96 * sqrt(2) * SD."""
    if not (isinstance(jsw_sd_mm, int | float) and math.isfinite(jsw_sd_mm) and jsw_sd_mm > 0):
        raise OptionError("jsw_sd", "a positive number of mm", jsw_sd_mm)
    return -1.96 * math.sqrt(2.0) * float(jsw_sd_mm)


def scale_strata(n_pairs: int, base: Sequence[int] = DEFAULT_STRATA) -> tuple[int, ...]:
    """Split ``n_pairs`` in the proportions of ``base`` (largest remainders; sums to ``n_pairs``)."""
    if not (isinstance(n_pairs, int) and n_pairs >= 1):
        raise OptionError("pairs", "an int >= 1", n_pairs)
    total = sum(base)
    exact = [n_pairs * b / total for b in base]
    counts = [math.floor(e) for e in exact]
    order = sorted(range(len(base)), key=lambda i: (-(exact[i] - counts[i]), base[i], i))
    for i in order[: n_pairs - sum(counts)]:
        counts[i] += 1
    return tuple(counts)


@dataclass
class SamplingConfig:
    """Parameters of the pair sampling (all recorded in the key).

    ``strata`` are the pair counts per stratum (:data:`studies.package.STRATA` order); None
    scales :data:`DEFAULT_STRATA` to ``n_pairs``. ``bounds`` are (b0, b1, b2) in mm.
    ``match`` is a subset of :data:`MATCH_KEYS`. ``practice`` extra pairs are drawn from
    what is left (never scored).
    """

    n_pairs: int = 150
    strata: tuple[int, ...] | None = None
    bounds: tuple[float, ...] = DEFAULT_BOUNDS
    match: tuple[str, ...] = ()
    practice: int = 0
    seed: int = 0

    def counts(self) -> tuple[int, ...]:
        """Checked per-stratum counts."""
        if self.strata is None:
            return scale_strata(self.n_pairs)
        s = tuple(self.strata)
        if len(s) != len(STRATA) or any((not isinstance(c, int)) or c < 0 for c in s):
            raise OptionError("strata", f"{len(STRATA)} non-negative ints", self.strata)
        if sum(s) != self.n_pairs:
            raise OptionError(
                "strata", f"counts summing to the number of pairs ({self.n_pairs})", self.strata
            )
        return s

    def check(self) -> None:
        """Raise :class:`OptionError` for any nonsensical parameter."""
        self.counts()
        b = tuple(self.bounds)
        if (
            len(b) != 3
            or not all(isinstance(x, int | float) and x < 0 for x in b)
            or not b[0] < b[1] < b[2]
        ):
            raise OptionError(
                "bounds",
                "three negative numbers of mm in increasing order, e.g. -1.1,-0.6,-0.5",
                self.bounds,
            )
        for m in self.match:
            if m not in MATCH_KEYS:
                raise OptionError("match", f"a subset of {','.join(MATCH_KEYS)}", m)
        if not (isinstance(self.practice, int) and self.practice >= 0):
            raise OptionError("practice", "an int >= 0", self.practice)
        if not isinstance(self.seed, int):
            raise OptionError("seed", "an int", self.seed)


@dataclass
class SelectedPair:
    """One drawn pair: the two knee-table rows (with ``jsn_mm``), the stratum and whether it is practice."""

    progressor: dict[str, Any]
    non_progressor: dict[str, Any]
    stratum: str
    practice: bool = False
    match_relaxed: bool = False


@dataclass
class Selection:
    """The drawn pairs (scored pairs, then practice pairs) and the build report."""

    pairs: list[SelectedPair]
    report: dict[str, Any] = field(default_factory=dict)


class SamplingError(StudyError):
    """A stratum (or the non-progressor pool) cannot be filled; ``report`` holds the counts."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        self.report = report
        super().__init__(message)


def stratum_of(jsn: float, bounds: Sequence[float]) -> str | None:
    """'almost_certain', 'likely', 'doubtful', 'non_progressor', or None (JSN == b2 or NaN).

    JSN and bounds are compared at 1e-6 mm: a JSN computed as a difference of two JSW
    measurements carries floating-point error (2.37 - 2.87 = -0.5000000000000002), which
    must not move a knee across a bound (nor make a -0.5 mm progressor a non-progressor).
    """
    jsn = round(float(jsn), 6)
    b0, b1, b2 = (round(float(b), 6) for b in bounds)
    if jsn < b0:
        return STRATA[0]
    if jsn < b1:
        return STRATA[1]
    if jsn < b2:
        return STRATA[2]
    if jsn > b2:
        return "non_progressor"
    return None


def eligible_baseline(
    labels: pd.DataFrame,
    has_images: Callable[[dict[str, Any]], bool] | None = None,
    *,
    min_jsw_mm: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Baseline knee-windows eligible for a pair, and the exclusion counts.

    ``labels`` is :func:`studies.labels.make_labels` output. A knee is excluded (counted by
    its first failing reason) when it lacks a sequence path, fails ``has_images`` (e.g. its
    files are missing on disk), lacks a clinical variable readers see, or has less joint
    space than ``min_jsw_mm`` (the progression threshold's size): such a knee (bone on bone
    at JSW 0) cannot lose that much, so as a non-progressor it would make its pair trivial
    for a reader who sees its JSW.
    """
    base = labels[labels["visit_month"] == 0]
    keep = np.ones(len(base), dtype=bool)
    exclusions: dict[str, int] = {}

    def drop(reason: str, bad: np.ndarray) -> None:
        nonlocal keep
        n = int((keep & bad).sum())
        if n:
            exclusions[reason] = exclusions.get(reason, 0) + n
        keep &= ~bad

    for seq in SEQUENCES:
        drop(f"no {seq} series", base[seq].isna().to_numpy())
    for var in shown_variables():  # in the order readers see them
        drop(f"missing {var.column}", base[var.column].isna().to_numpy())
    drop(f"JSW below {min_jsw_mm:g} mm (cannot progress)", (base["jsw_mm"] < min_jsw_mm).to_numpy())
    if has_images is not None:
        records = base.to_dict("records")
        drop(
            "image files missing",
            np.array([keep[i] and not has_images(r) for i, r in enumerate(records)], dtype=bool),
        )
    return base[keep].reset_index(drop=True), exclusions


def _bmi_band(bmi: float) -> int:
    return int(np.searchsorted(BMI_BANDS, bmi, side="right"))


def _match_key(row: dict[str, Any], keys: Sequence[str]) -> tuple:
    out = []
    for k in keys:
        if k == "sex":
            out.append(row["sex"])
        elif k == "bmi":
            out.append(_bmi_band(row["bmi"]))
        else:
            kl = row.get("kl_grade")
            out.append(
                None if kl is None or (isinstance(kl, float) and math.isnan(kl)) else int(kl)
            )
    return tuple(out)


def select_pairs(
    eligible: pd.DataFrame, config: SamplingConfig, exclusions: dict[str, int] | None = None
) -> Selection:
    """Draw the pairs from :func:`eligible_baseline` output.

    Raises :class:`SamplingError` (with per-stratum eligible / needed counts) when a stratum
    or the non-progressor pool is too small.
    """
    config.check()
    counts = config.counts()
    rng = np.random.default_rng(config.seed)
    rows = eligible.sort_values(["participant_id", "side"], kind="stable").to_dict("records")
    for r in rows:
        r["stratum"] = stratum_of(r["jsn_mm"], config.bounds)
    by_stratum = {s: [r for r in rows if r["stratum"] == s] for s in (*STRATA, "non_progressor")}
    needed_np = sum(counts) + config.practice
    report: dict[str, Any] = {
        "strata": {
            s: {
                "eligible": len(by_stratum[s]),
                "needed": c,
                "bounds_mm": _bounds_text(i, config.bounds),
            }
            for i, (s, c) in enumerate(zip(STRATA, counts, strict=True))
        },
        "non_progressors": {
            "eligible": len(by_stratum["non_progressor"]),
            "needed": needed_np,
            "bounds_mm": f"JSN > {config.bounds[2]:g}",
        },
        "practice": config.practice,
        "exclusions": dict(exclusions or {}),
        "eligible_knees": len(rows),
        "seed": config.seed,
        "match": list(config.match),
    }
    short = [s for s, c in zip(STRATA, counts, strict=True) if len(by_stratum[s]) < c]
    leftover_prog = sum(
        len(by_stratum[s]) - c
        for s, c in zip(STRATA, counts, strict=True)
        if len(by_stratum[s]) >= c
    )
    if short or len(by_stratum["non_progressor"]) < needed_np or leftover_prog < config.practice:
        what = [*short]
        if len(by_stratum["non_progressor"]) < needed_np:
            what.append("non_progressors")
        if leftover_prog < config.practice:
            what.append(f"practice progressors ({leftover_prog} left, {config.practice} needed)")
        raise SamplingError(
            "the cohort is too small for the requested pairs ("
            + ", ".join(what)
            + "):\n"
            + format_report(report)
            + "\nUse a larger cohort, fewer --pairs, other --strata, or wider --bounds",
            report,
        )
    progressors: list[tuple[dict[str, Any], bool]] = []
    rest: list[dict[str, Any]] = []
    for s, c in zip(STRATA, counts, strict=True):
        pool = by_stratum[s]
        idx = rng.permutation(len(pool))
        progressors += [(pool[i], False) for i in idx[:c]]
        rest += [pool[i] for i in idx[c:]]
    if config.practice:
        idx = rng.permutation(len(rest))[: config.practice]
        progressors += [(rest[i], True) for i in sorted(idx)]
    pool = [
        by_stratum["non_progressor"][i] for i in rng.permutation(len(by_stratum["non_progressor"]))
    ]
    pairs, relaxed = [], 0
    for prog, practice in progressors:
        j, level = _pick_match(prog, pool, config.match)
        relaxed += level > 0
        pairs.append(
            SelectedPair(
                progressor=prog,
                non_progressor=pool.pop(j),
                stratum=prog["stratum"],
                practice=practice,
                match_relaxed=level > 0,
            )
        )
    report["match_relaxed"] = relaxed
    return Selection(pairs=pairs, report=report)


def _pick_match(
    prog: dict[str, Any], pool: list[dict[str, Any]], keys: Sequence[str]
) -> tuple[int, int]:
    """Index in ``pool`` (already shuffled) of the first match on ``keys``; drop keys from the end until one matches."""
    for level in range(len(keys) + 1):
        use = keys[: len(keys) - level]
        want = _match_key(prog, use)
        for j, cand in enumerate(pool):
            if _match_key(cand, use) == want:
                return j, level
    raise AssertionError("unreachable: the pool was checked to be large enough")


def _bounds_text(i: int, b: Sequence[float]) -> str:
    return [f"JSN < {b[0]:g}", f"{b[0]:g} <= JSN < {b[1]:g}", f"{b[1]:g} <= JSN < {b[2]:g}"][i]


def format_report(report: dict[str, Any]) -> str:
    """The build report as text: per stratum eligible / needed, the pool, the exclusions."""
    lines = [f"{'stratum':<16} {'JSN (mm)':<22} {'eligible':>8} {'needed':>7}"]
    for s, r in report["strata"].items():
        flag = "  << too few" if r["eligible"] < r["needed"] else ""
        lines.append(f"{s:<16} {r['bounds_mm']:<22} {r['eligible']:>8} {r['needed']:>7}{flag}")
    npr = report["non_progressors"]
    flag = "  << too few" if npr["eligible"] < npr["needed"] else ""
    lines.append(
        f"{'non-progressors':<16} {npr['bounds_mm']:<22} {npr['eligible']:>8} {npr['needed']:>7}{flag}"
    )
    if report.get("practice"):
        lines.append(f"practice pairs: {report['practice']} (drawn from knees left over)")
    ex = report.get("exclusions", {})
    if ex:
        lines.append("excluded knees (first reason):")
        lines += [f"  {k}: {v}" for k, v in ex.items()]
    if report.get("match"):
        lines.append(
            f"matched on {', '.join(report['match'])}; relaxed for {report.get('match_relaxed', 0)} pairs"
        )
    return "\n".join(lines)
