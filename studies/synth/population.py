"""The synthetic population: participants, knees, and what happens to them over 36 months.

Everything is drawn from one seeded generator, so a seed gives the same cohort.

Per participant: sex, age, standing height, baseline BMI and weight, clinic site, baseline
date, and whether the 36-month visit was missed. Per knee and visit (0, 12, 24, 36 months):
the true minimum medial joint space width (JSW), the planted imaging sign (a medial
bone-marrow-lesion-like region), the effusion grade, KL grade, WOMAC pain, and the phantom's
shape parameters.

Progression model, per knee and 12-month window starting at t in (0, 12, 24)::

    logit(risk) = b0 + 0.25 * z_bmi + 0.3 * z_severity + 1.8 * sign(t)
    z_bmi = (BMI(t) - 28.5) / 4.8;  z_severity = (4.6 - JSW(t)) / 1.2

``b0`` is solved so that the mean baseline risk equals ``progressor_rate`` (default 9 %).
A progressor's JSN is ``-0.5 - Gamma(2, 0.15)`` mm (about 14 % in -0.6..-0.5, 9 % below
-1.1); in an enriched cohort (``progressor_rate`` given) it is drawn in the proportions of
the paper's strata instead (:data:`ENRICHED_STRATA`); a non-progressor's is ``N(-0.08, 0.17)`` kept above -0.5 mm. JSW(t+12) = JSW(t) + JSN.

WOMAC pain (0-20) rises with the effusion grade: zero with probability 0.72/0.38/0.2/0.1 for
grades 0-3, otherwise 1 + Poisson(1.2/3/4.5/6 + 0.3 z_bmi).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

VISITS: tuple[int, ...] = (0, 12, 24, 36)
SIDES: tuple[str, ...] = ("right", "left")
DEFAULT_PROGRESSOR_RATE = 0.09

BETA_BMI, BETA_SEVERITY, BETA_SIGN = 0.25, 0.3, 1.8
PAIN_ZERO_P = (0.72, 0.38, 0.20, 0.10)
PAIN_MEAN = (1.2, 3.0, 4.5, 6.0)
EFFUSION_P = (0.45, 0.30, 0.17, 0.08)
#: Share of knee-visits whose JSW reading is missing, and of participants who miss 36 months.
JSW_MISSING_P = 0.05
DROPOUT_36_P = 0.04
SERIES_MISSING_P = 0.015


@dataclass(frozen=True)
class Population:
    """``participants``: one row per participant; ``knees``: one row per knee and visit."""

    participants: pd.DataFrame
    knees: pd.DataFrame


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def solve_intercept(linear: np.ndarray, rate: float) -> float:
    """The ``b0`` for which ``mean(sigmoid(b0 + linear)) == rate`` (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if _sigmoid(mid + linear).mean() < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def risk_linear(bmi, jsw, sign) -> np.ndarray:
    """The risk model's linear predictor without intercept (see module docstring)."""
    return BETA_BMI * (np.asarray(bmi) - 28.5) / 4.8 + BETA_SEVERITY * (4.6 - np.asarray(jsw)) / 1.2 + BETA_SIGN * np.asarray(sign)


def kl_from_jsw(jsw: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Kellgren-Lawrence grade (0-4) from JSW (mm) and a per-knee reading offset."""
    score = jsw + noise
    return np.select([score < 2.0, score < 3.2, score < 4.2, score < 5.0], [4, 3, 2, 1], 0)


#: With ``--progressor-rate`` (an enriched cohort for demos and small studies), progressors'
#: JSN are drawn in about the proportions of the paper's human-benchmark strata instead:
#: (share, low, high) of the loss beyond 0.5 mm for "doubtful", "likely", "almost certain".
ENRICHED_STRATA = ((0.09, 0.0, 0.1), (0.83, 0.1, 0.6), (0.08, 0.6, 1.4))


def enriched_loss(rng: np.random.Generator, n: int) -> np.ndarray:
    """Loss beyond 0.5 mm (mm, > 0) for ``n`` progressors of an enriched cohort.

    Uniform within each stratum's band, bands chosen with :data:`ENRICHED_STRATA`'s shares,
    so that a 200-participant cohort at ``--progressor-rate 0.5`` fills the paper's 10/130/10
    strata of 150 pairs.
    """
    shares = np.array([s for s, _, _ in ENRICHED_STRATA])
    which = rng.choice(len(shares), size=n, p=shares / shares.sum())
    low = np.array([lo for _, lo, _ in ENRICHED_STRATA])[which]
    high = np.array([hi for _, _, hi in ENRICHED_STRATA])[which]
    return low + (high - low) * rng.random(n)


def draw_population(patients: int, seed: int, progressor_rate: float | None = None) -> Population:
    """Draw ``patients`` participants and their knees over four visits."""
    rate = DEFAULT_PROGRESSOR_RATE if progressor_rate is None else float(progressor_rate)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20260101]))
    n = patients
    ids = 9000000 + np.sort(rng.choice(999_999, size=n, replace=False))
    male = rng.random(n) < 0.42
    age = np.clip(rng.normal(61.0, 9.0, n), 45, 79)
    height = np.where(male, rng.normal(1760, 70, n), rng.normal(1625, 65, n))
    bmi0 = np.clip(rng.normal(28.5, 4.8, n), 18.5, 48.0)
    start = np.datetime64("2004-02-01") + rng.integers(0, 730, n).astype("timedelta64[D]")
    dropout = rng.random(n) < DROPOUT_36_P
    sites = np.array(["A", "B", "C", "D", "E"])[rng.integers(0, 5, n)]
    participants = pd.DataFrame({
        "participant_id": ids.astype(str), "sex": np.where(male, "M", "F"), "age": np.round(age, 1),
        "height_mm": np.round(height).astype(int), "bmi": np.round(bmi0, 1), "site": sites,
        "baseline_date": start, "missed_36m": dropout,
    })

    # per-visit weight (and BMI) drift
    nv = len(VISITS)
    h_m = height / 1000.0
    weight = bmi0[:, None] * h_m[:, None] ** 2 * (1 + np.concatenate([np.zeros((n, 1)), rng.normal(0, 0.03, (n, nv - 1))], 1))
    bmi = weight / h_m[:, None] ** 2  # (n, visits)
    dates = start[:, None] + (np.array(VISITS)[None, :] * 365 // 12 + np.concatenate(
        [np.zeros((n, 1), int), rng.normal(0, 15, (n, nv - 1)).round().astype(int)], 1)).astype("timedelta64[D]")

    # knees: index k = participant * 2 + side
    nk = 2 * n
    p_of = np.repeat(np.arange(n), 2)
    jsw0 = np.clip(rng.normal(4.6 + 0.5 * male[p_of], 1.2), 1.2, 7.5)
    jsw_lat0 = np.clip(rng.normal(6.2, 0.8, nk), 4.0, 8.5)
    kl_noise = rng.normal(0, 0.45, nk)
    sign = np.zeros((nk, nv), dtype=bool)
    sign[:, 0] = rng.random(nk) < _sigmoid(-1.5 + 0.5 * (4.6 - jsw0))
    for v in range(1, nv):
        keep = rng.random(nk) < 0.8
        new = rng.random(nk) < 0.08
        sign[:, v] = np.where(sign[:, v - 1], keep, new)
    b0 = solve_intercept(risk_linear(bmi[p_of, 0], jsw0, sign[:, 0]), rate)

    jsw = np.zeros((nk, nv))
    jsn = np.full((nk, nv), np.nan)
    risk = np.full((nk, nv), np.nan)
    jsw[:, 0] = np.round(jsw0, 3)
    for v in range(nv - 1):
        p = _sigmoid(b0 + risk_linear(bmi[p_of, v], jsw[:, v], sign[:, v]))
        prog = rng.random(nk) < p
        loss = enriched_loss(rng, nk) if progressor_rate is not None else rng.gamma(2.0, 0.15, nk)
        step = np.where(prog, -0.5 - loss, rng.normal(-0.08, 0.17, nk))
        step = np.where(~prog & (step <= -0.5), -0.49 + 0.4 * rng.random(nk), step)
        nxt = np.round(np.maximum(jsw[:, v] + step, 0.3), 3)
        jsw[:, v + 1] = nxt
        jsn[:, v] = np.round(nxt - jsw[:, v], 3)
        risk[:, v] = p
    jsw_lat = np.round(jsw_lat0[:, None] - 0.05 * np.arange(nv)[None, :] * rng.random((nk, 1)), 3)

    eff = np.zeros((nk, nv), dtype=int)
    eff[:, 0] = rng.choice(4, size=nk, p=EFFUSION_P)
    for v in range(1, nv):
        stay = rng.random(nk) < 0.6
        eff[:, v] = np.where(stay, eff[:, v - 1], rng.choice(4, size=nk, p=EFFUSION_P))
    eff = np.where(sign & (eff == 0) & (rng.random((nk, nv)) < 0.3), 1, eff)
    z_bmi = (bmi[p_of] - 28.5) / 4.8
    lam = np.clip(np.asarray(PAIN_MEAN)[eff] + 0.3 * z_bmi, 0.2, None)
    pain = np.where(rng.random((nk, nv)) < np.asarray(PAIN_ZERO_P)[eff], 0, 1 + rng.poisson(lam))
    pain = np.minimum(pain, 20)

    # phantom shape (per knee), marrow lesion placement and size
    scale = np.clip(height[p_of] / 1700.0 * rng.normal(1.0, 0.03, nk), 0.85, 1.15)
    shift_m = rng.uniform(-3, 3, nk)
    shift_s = rng.uniform(-4, 4, nk)
    bml_bone = np.where(rng.random(nk) < 0.65, "femur", "tibia")
    bml_m = rng.uniform(-3.5, 3.5, nk)
    bml_a = rng.uniform(-10, 8, nk)
    bml_size = rng.uniform(7.0, 12.0, nk)[:, None] * rng.uniform(0.85, 1.15, (nk, nv))

    jsw_missing = rng.random((nk, nv)) < JSW_MISSING_P
    jsw_missing_code = np.where(rng.random((nk, nv)) < 0.7, ".: Missing Form/Incomplete Workbook", ".A: Not Expected")
    missing_series = rng.random((nk, nv, 2)) < SERIES_MISSING_P
    womac_missing = rng.random((nk, nv)) < 0.02
    kl_missing = rng.random((nk, nv)) < 0.03
    # other WOMAC subscales, loosely tied to pain (present in the tables as in the OAI)
    stiffness = np.clip(np.rint(0.35 * pain + rng.normal(0, 1.0, (nk, nv))), 0, 8).astype(int)
    function = np.clip(np.rint(3.2 * pain + rng.normal(0, 4.0, (nk, nv))), 0, 68).astype(int)
    participants["race"] = rng.choice(4, size=n, p=(0.79, 0.18, 0.02, 0.01))

    months = np.broadcast_to(np.asarray(VISITS), (nk, nv))
    last = months == VISITS[-1]
    attended = ~(dropout[p_of][:, None] & last)

    def knee(x):  # per-knee value repeated over visits
        return np.repeat(np.asarray(x)[:, None], nv, axis=1)

    columns = {
        "participant_id": knee(ids[p_of].astype(str)), "side": knee(np.tile(np.asarray(SIDES), n)),
        "visit_month": months, "attended": attended,
        "study_date": np.datetime_as_string(dates[p_of], unit="D"),
        "jsw_mm": jsw, "jsw_lateral_mm": jsw_lat, "jsn_next_mm": jsn,
        "progressor_next": np.where(last, None, jsn <= -0.5),
        "risk": np.round(risk, 4), "bml": sign.astype(int), "bml_bone": knee(bml_bone),
        "bml_size_mm": np.round(bml_size, 2), "bml_m_mm": knee(np.round(bml_m, 2)), "bml_a_mm": knee(np.round(bml_a, 2)),
        "effusion": eff, "kl_grade": kl_from_jsw(jsw, kl_noise[:, None]), "womac_pain": pain,
        "womac_stiffness": stiffness, "womac_function": function,
        "age": np.round(age[p_of][:, None] + months / 12, 1), "bmi": np.round(bmi[p_of], 2),
        "weight_kg": np.round(weight[p_of], 1), "height_mm": knee(np.round(height[p_of]).astype(int)),
        "sex": knee(np.where(male[p_of], "M", "F")),
        "jsw_table_code": np.where(jsw_missing, jsw_missing_code, ""),
        "womac_table_code": np.where(womac_missing, ".B: Don't Know/Unknown/Uncertain", ""),
        "kl_table_code": np.where(kl_missing, ".A: Not Expected", ""),
        "has_cor_iw_tse": attended & ~missing_series[:, :, 0], "has_sag_3d_dess": attended & ~missing_series[:, :, 1],
        "scale": knee(np.round(scale, 4)), "shift_m_mm": knee(np.round(shift_m, 2)), "shift_s_mm": knee(np.round(shift_s, 2)),
        "fat_mm": np.round(np.clip(4 + 0.9 * (bmi[p_of] - 22), 3, 25), 2),
    }
    knees = pd.DataFrame({name: np.asarray(v).reshape(-1) for name, v in columns.items()})
    knees["study_date"] = knees["study_date"].str.replace("-", "")
    return Population(participants, knees)
