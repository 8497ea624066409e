"""Comparisons: readers vs the AI, reading conditions against each other, switching, agreement.

Modelling choices (see ``docs/statistics.md``):

- Each pair is one case; a reader's outcome on it is 1 (chose the progressor) or 0, the AI's
  is 1, 0 or 1/2 (equal scores). A reader's proportion correct is its pairwise AUC.
- One reader vs the AI: exact McNemar and Newcombe's paired interval on the pairs where the
  AI did not tie (a tie is neither right nor wrong), and a paired bootstrap over all of the
  reader's pairs (ties count 1/2).
- Several readers vs the AI: the single-treatment Obuchowski-Rockette analysis with the AI
  as a fixed standalone reader (:func:`studies.stats.mrmc.standalone_vs_readers`), on the
  pairs every reader of that condition answered and nobody flagged, with the jackknife over
  pairs as the covariance (for a mean outcome it equals the sample covariance / n pairs).
- Two conditions (aided vs unaided; sequential final vs its locked first answers): the
  two-treatment OR analysis on the readers who read both and the pairs common to all.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from studies.stats.agreement import cohen_kappa, fleiss_kappa_from_labels
from studies.stats.binomial import newcombe_paired_ci
from studies.stats.covariance import mean_jackknife_cov
from studies.stats.mrmc import or_analysis, standalone_vs_readers
from studies.stats.paired import bootstrap_weights, mcnemar

MODELS = ("rrrc", "frrc", "rrfc")


def _unflagged(scored: pd.DataFrame) -> pd.DataFrame:
    return scored[~scored["flagged"].astype(bool)]


def reader_vs_ai(
    scored: pd.DataFrame,
    ai_pairs: pd.DataFrame,
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """One row per reader and condition: reader vs AI on the reader's (unflagged) pairs.

    The bootstrap draws one (n_boot, n_pairs) matrix of resampling counts over the study's
    pairs, shared by every reader, and computes all resampled differences in one product.
    """
    pairs = ai_pairs["pair_id"].to_list()
    col = {p: i for i, p in enumerate(pairs)}
    ai = ai_pairs["correct"].to_numpy()
    groups = list(_unflagged(scored).groupby(["reader", "condition"], sort=True))
    if not groups:
        return pd.DataFrame()
    x = np.zeros((len(groups), len(pairs)))
    mask = np.zeros_like(x)
    for k, (_, g) in enumerate(groups):
        idx = g["pair_id"].map(col).to_numpy()
        x[k, idx] = g["correct"].to_numpy() - ai[idx]
        mask[k, idx] = 1.0
    w = bootstrap_weights(len(pairs), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = (w @ x.T) / (w @ mask.T)  # (n_boot, k)
    rows = []
    for k, ((reader, cond), g) in enumerate(groups):
        r = g["correct"].to_numpy()
        a = ai[g["pair_id"].map(col).to_numpy()]
        decided = a != 0.5
        rr, aa = r[decided] == 1, a[decided] == 1
        both, only_r, only_ai, neither = (
            int(v) for v in ((rr & aa).sum(), (rr & ~aa).sum(), (~rr & aa).sum(), (~rr & ~aa).sum())
        )
        mc = mcnemar(only_r, only_ai)
        if decided.any():
            diff_nc, (nlo, nhi) = newcombe_paired_ci(both, only_r, only_ai, neither, alpha)
        else:
            diff_nc, nlo, nhi = np.nan, np.nan, np.nan
        b = boots[:, k]
        b = b[np.isfinite(b)]
        lo, hi = np.quantile(b, [alpha / 2, 1 - alpha / 2])
        p_boot = min(1.0, 2 * min((b <= 0).mean(), (b >= 0).mean()))
        rows.append(
            {
                "reader": reader,
                "condition": cond,
                "n": int(r.size),
                "reader_pc": r.mean(),
                "ai_pc": a.mean(),
                "difference": r.mean() - a.mean(),
                "n_ai_ties": int((~decided).sum()),
                "reader_only_right": only_r,
                "ai_only_right": only_ai,
                "mcnemar_exact_p": mc.p_exact,
                "newcombe_difference": diff_nc,
                "newcombe_lo": nlo,
                "newcombe_hi": nhi,
                "bootstrap_lo": lo,
                "bootstrap_hi": hi,
                "bootstrap_p": p_boot,
                "n_boot": n_boot,
            }
        )
    return pd.DataFrame(rows)


def _complete_matrix(
    scored: pd.DataFrame, condition: str, readers: list[str] | None = None
) -> pd.DataFrame:
    """Pairs x readers outcome table of one condition, complete rows only (nobody flagged)."""
    d = scored[scored["condition"] == condition]
    flagged = set(d.loc[d["flagged"].astype(bool), "pair_id"])
    table = d.pivot_table(index="pair_id", columns="reader", values="correct", aggfunc="first")
    if readers is not None:
        table = table.reindex(columns=readers)
    return table.drop(index=list(flagged & set(table.index))).dropna()


def _difference_rows(label: dict, diffs: dict) -> list[dict]:
    return [
        {
            **label,
            "model": m,
            "difference": d.estimate,
            "se": d.se,
            "df": d.df,
            "statistic": d.statistic,
            "p": d.p,
            "ci_lo": d.ci[0],
            "ci_hi": d.ci[1],
        }
        for m, d in diffs.items()
    ]


def mrmc_vs_ai(scored: pd.DataFrame, ai_pairs: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Random readers vs the standalone AI per condition (>= 2 readers), three factor models."""
    rows = []
    ai = ai_pairs.set_index("pair_id")["correct"]
    for cond in sorted(scored["condition"].unique()):
        table = _complete_matrix(scored, cond)
        if table.shape[1] < 2 or table.shape[0] < 2:
            continue
        values = np.vstack([table.to_numpy().T, ai.reindex(table.index).to_numpy()])
        theta, cov = mean_jackknife_cov(values)
        res = standalone_vs_readers(
            theta[:-1], theta[-1], cov, readers=list(table.columns), alpha=alpha
        )
        label = {
            "condition": cond,
            "n_readers": table.shape[1],
            "n_pairs": table.shape[0],
            "readers_pc": float(theta[:-1].mean()),
            "ai_pc": float(theta[-1]),
            # OR terms of the readers - AI differences; Cov2 < 0 is clamped to 0 (random and
            # fixed readers), as the Iowa program does
            "var_error": res.var_error,
            "cov2": res.cov2,
            "ms_r": res.ms_r,
            "cov2_clamped": bool(res.cov2 < 0),
        }
        rows += _difference_rows(label, res.difference)
    return pd.DataFrame(rows)


def conditions_or(
    scored: pd.DataFrame, first: str, second: str, alpha: float = 0.05
) -> pd.DataFrame:
    """Two-treatment OR analysis of ``first - second`` (e.g. aided - unaided) over pairs."""
    readers = sorted(
        set(scored.loc[scored["condition"] == first, "reader"])
        & set(scored.loc[scored["condition"] == second, "reader"])
    )
    if len(readers) < 2:
        return pd.DataFrame()
    a, b = _complete_matrix(scored, first, readers), _complete_matrix(scored, second, readers)
    common = a.index.intersection(b.index)
    if len(common) < 2:
        return pd.DataFrame()
    values = np.vstack([a.loc[common].to_numpy().T, b.loc[common].to_numpy().T])
    theta, cov = mean_jackknife_cov(values)
    res = or_analysis(
        theta.reshape(2, len(readers)),
        cov,
        treatments=[first, second],
        readers=readers,
        alpha=alpha,
    )
    label = {
        "comparison": f"{first} - {second}",
        "n_readers": len(readers),
        "n_pairs": len(common),
        f"pc_{first}": res.treatment_means[first],
        f"pc_{second}": res.treatment_means[second],
        # OR terms; Cov2 - Cov3 < 0 is clamped to 0 (random and fixed readers)
        **{k: getattr(res.terms, k) for k in ("var_r", "var_tr", "var_error", "cov1", "cov2", "cov3")},
        "cov2_cov3_clamped": bool(res.terms.cov2 - res.terms.cov3 < 0),
    }
    return pd.DataFrame(
        _difference_rows(label, {m: getattr(res, m).differences[0] for m in MODELS})
    )


def switching_table(scored: pd.DataFrame, ai_pairs: pd.DataFrame, after: str, before: str) -> pd.DataFrame:
    """Sequential reading: how often the final answer (condition ``after``, e.g.
    ``sequential``) moved to the AI's choice from the locked first one (``before``, e.g.
    ``sequential_first``).

    Among pairs where the locked first answer differed from the AI's choice (AI ties left
    out): ``switched_when_ai_right`` / ``disagreed_ai_right`` and the same when the AI was
    wrong; plus switches away from an agreeing AI. One row per reader and an ``all`` row.
    """
    first = scored[(scored["condition"] == before)]
    final = scored[(scored["condition"] == after)]
    if first.empty or final.empty:
        return pd.DataFrame()
    m = first.merge(final, on=["reader", "pair_id"], suffixes=("_first", "_final"))
    m = m[~(m["flagged_first"].astype(bool) | m["flagged_final"].astype(bool))]
    ai = ai_pairs.set_index("pair_id")["correct"]
    m["ai_correct"] = m["pair_id"].map(ai)
    m = m[m["ai_correct"] != 0.5]
    ai_right = m["ai_correct"] == 1.0
    first_agrees = m["correct_first"] == m["ai_correct"]
    final_agrees = m["correct_final"] == m["ai_correct"]
    m = m.assign(
        ai_right=ai_right,
        disagreed=~first_agrees,
        switched=~first_agrees & final_agrees,
        left_ai=first_agrees & ~final_agrees,
    )

    def row(reader: str, g: pd.DataFrame) -> dict:
        dr, dw = g["disagreed"] & g["ai_right"], g["disagreed"] & ~g["ai_right"]
        n_right, n_wrong = int(dr.sum()), int(dw.sum())
        s_right, s_wrong = (
            int((g["switched"] & g["ai_right"]).sum()),
            int((g["switched"] & ~g["ai_right"]).sum()),
        )
        return {
            "reader": reader,
            "n_pairs": len(g),
            "disagreed_ai_right": n_right,
            "switched_when_ai_right": s_right,
            "rate_when_ai_right": s_right / n_right if n_right else np.nan,
            "disagreed_ai_wrong": n_wrong,
            "switched_when_ai_wrong": s_wrong,
            "rate_when_ai_wrong": s_wrong / n_wrong if n_wrong else np.nan,
            "left_agreeing_ai": int(g["left_ai"].sum()),
            "pc_first": g["correct_first"].mean(),
            "pc_final": g["correct_final"].mean(),
        }

    rows = [row(r, g) for r, g in m.groupby("reader", sort=True)]
    if len(rows) > 1:
        rows.append(row("all", m))
    return pd.DataFrame(rows)


def agreement_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa for every two readers and Fleiss' kappa for three or more, per condition.

    The label of an answer is whether the reader chose the pair's case whose id sorts first
    (a random token, so neither side is favoured); kappa is computed on the pairs both (all)
    readers answered without a flag.
    """
    d = _unflagged(scored).copy()
    first_id = np.minimum(d["progressor"].astype(str), d["non_progressor"].astype(str))
    d["label"] = (d["chosen_case"].astype(str) == first_id).astype(int)
    rows = []
    for cond, g in d.groupby("condition", sort=True):
        table = g.pivot_table(index="pair_id", columns="reader", values="label", aggfunc="first")
        for r1, r2 in combinations(table.columns, 2):
            both = table[[r1, r2]].dropna()
            if len(both):
                rows.append(
                    {
                        "condition": cond,
                        "raters": f"{r1} vs {r2}",
                        "statistic": "cohen_kappa",
                        "n_pairs": len(both),
                        "kappa": cohen_kappa(both[r1].to_numpy(), both[r2].to_numpy()),
                        "agreement": float((both[r1] == both[r2]).mean()),
                    }
                )
        complete = table.dropna()
        if table.shape[1] >= 3 and len(complete):
            rows.append(
                {
                    "condition": cond,
                    "raters": "all",
                    "statistic": "fleiss_kappa",
                    "n_pairs": len(complete),
                    "kappa": fleiss_kappa_from_labels(complete.to_numpy()),
                    "agreement": float((complete.nunique(axis=1) == 1).mean()),
                }
            )
    return pd.DataFrame(rows)
