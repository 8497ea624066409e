"""The pooled (multi-reader) results as a paper prints them: one sentence and tables.

From the analysis' ``mrmc_vs_ai``, ``aided_vs_unaided``, ``sequential_vs_first`` and
``switching`` tables (Obuchowski-Rockette with Hillis' degrees of freedom, pairs as cases),
only formatted. The F of a single difference is the square of its t statistic on
(1, df) degrees of freedom. Which OR covariance terms were clamped at zero is stated, as the
Iowa program does.
"""

from __future__ import annotations

import pandas as pd

from studies.analysis import formatting as fmt
from studies.analysis.paper_tables import PaperTable
from studies.analysis.results import StudyResults
from studies.decisions.modes import comparisons


def _f(row: dict) -> str:
    stat = row.get("statistic")
    if fmt.missing(stat):
        return ""
    if fmt.missing(row.get("df")):  # fixed readers: a z test, chi-square on 1 df
        return f"chi2(1) = {float(stat) ** 2:.2f}"
    return f"F(1, {fmt.df_value(row['df'])}) = {float(stat) ** 2:.2f}"


def mrmc_sentences(results: StudyResults) -> list[str]:
    """One sentence per reading condition: readers (random) against the AI."""
    df = results.tables.get("mrmc_vs_ai")
    if df is None or df.empty:
        return []
    level = f"{100 * (1 - float(results.summary.get('alpha', 0.05))):g} %"
    out = []
    for r in df[df["model"] == "rrrc"].to_dict("records"):
        out.append(
            f"In {fmt.condition_label(r['condition'])} reading, the {r['n_readers']} readers' mean "
            f"pairwise AUC was {fmt.num(r['readers_pc'])} against the AI's {fmt.num(r['ai_pc'])} "
            f"on the same {r['n_pairs']} pairs: a difference of {fmt.signed(r['difference'])} "
            f"({level} CI {fmt.interval(r['ci_lo'], r['ci_hi'])}; {_f(r)}, {fmt.p_clause(r['p'])}; "
            "Obuchowski-Rockette, random readers and pairs, Hillis' degrees of freedom)."
        )
    return out


def _clamp_note(rows: pd.DataFrame, column: str, what: str) -> list[str]:
    if column not in rows or not rows[column].astype(bool).any():
        return [f"No covariance term was clamped ({what} >= 0 in every analysis)."]
    where = ", ".join(
        fmt.condition_label(c) for c in rows.loc[rows[column].astype(bool), rows.columns[0]].unique()
    )
    return [
        f"{what} was negative and clamped to 0 (Hillis, Berbaum & Metz 2008) in: {where}; "
        "the random-readers test then equals a test with the reader variance alone."
    ]


def table_mrmc(results: StudyResults) -> PaperTable | None:
    """Readers pooled against the AI, per condition and factor model, with the OR terms."""
    df = results.tables.get("mrmc_vs_ai")
    if df is None or df.empty:
        return None
    level = f"{100 * (1 - float(results.summary.get('alpha', 0.05))):g} %"
    rows = [
        [
            fmt.condition_label(r["condition"]),
            fmt.MODEL_LABELS.get(r["model"], r["model"]),
            str(r["n_readers"]),
            str(r["n_pairs"]),
            fmt.num(r["readers_pc"]),
            fmt.num(r["ai_pc"]),
            fmt.estimate_ci(r["difference"], r["ci_lo"], r["ci_hi"]),
            _f(r),
            fmt.p_value(r["p"]),
            fmt.num(r.get("var_error"), 5),
            fmt.num(r.get("cov2"), 5) + (" (clamped to 0)" if r.get("cov2_clamped") and r["model"] != "rrfc" else ""),
            fmt.num(r.get("ms_r"), 5),
        ]
        for r in df.to_dict("records")
    ]
    return PaperTable(
        "mrmc",
        "Table 4. Readers pooled against the AI (Obuchowski-Rockette, pairs as cases)",
        [
            "Reading",
            "Model",
            "Readers",
            "Pairs",
            "Readers' mean AUC",
            "AI AUC",
            f"Readers - AI ({level} CI)",
            "Test",
            "p",
            "Var(error)",
            "Cov2",
            "MS(R)",
        ],
        rows,
        _clamp_note(df, "cov2_clamped", "Cov2 (the covariance of two readers' differences)"),
    )


def table_conditions(results: StudyResults) -> PaperTable | None:
    """The conditions the reading modes compare (aided vs unaided, sequential final vs first):
    two-treatment OR analyses."""
    frames = [results.tables.get(c.table) for c in comparisons("conditions")]
    frames = [f for f in frames if f is not None and not f.empty]
    if not frames:
        return None
    level = f"{100 * (1 - float(results.summary.get('alpha', 0.05))):g} %"
    rows = []
    for df in frames:
        pcs = [c for c in df.columns if c.startswith("pc_")]
        for r in df.to_dict("records"):
            rows.append(
                [
                    " - ".join(fmt.condition_label(c) for c in r["comparison"].split(" - ")),
                    fmt.MODEL_LABELS.get(r["model"], r["model"]),
                    str(r["n_readers"]),
                    str(r["n_pairs"]),
                    " vs ".join(fmt.num(r[c]) for c in pcs),
                    fmt.estimate_ci(r["difference"], r["ci_lo"], r["ci_hi"]),
                    _f(r),
                    fmt.p_value(r["p"]),
                    fmt.num(r.get("var_r"), 5),
                    fmt.num(r.get("var_tr"), 5),
                    fmt.num(r.get("cov2"), 5) + " / " + fmt.num(r.get("cov3"), 5),
                ]
            )
    both = pd.concat(frames, ignore_index=True)
    return PaperTable(
        "conditions",
        "Table 5. Reading conditions compared (Obuchowski-Rockette, pairs as cases)",
        [
            "Comparison",
            "Model",
            "Readers",
            "Pairs",
            "Mean AUCs",
            f"Difference ({level} CI)",
            "Test",
            "p",
            "Var(R)",
            "Var(T*R)",
            "Cov2 / Cov3",
        ],
        rows,
        _clamp_note(both, "cov2_cov3_clamped", "Cov2 - Cov3")
        + ["Var(R) and Var(T*R) are ANOVA estimates, reported as they come (they may be negative)."],
    )


def table_switching(results: StudyResults) -> PaperTable | None:
    """Sequential reading: how often the final answer moved to the AI's choice."""
    df = results.tables.get("switching")
    if df is None or df.empty:
        return None
    rows = [
        [
            "all readers" if r["reader"] == "all" else r["reader"],
            str(r["n_pairs"]),
            f"{r['switched_when_ai_right']} / {r['disagreed_ai_right']}",
            f"{r['switched_when_ai_wrong']} / {r['disagreed_ai_wrong']}",
            str(r["left_agreeing_ai"]),
            f"{fmt.num(r['pc_first'])} -> {fmt.num(r['pc_final'])}",
        ]
        for r in df.to_dict("records")
    ]
    return PaperTable(
        "switching",
        "Sequential reading: switching to the AI's choice",
        [
            "Reader",
            "Pairs",
            "Switched when the AI was right",
            "Switched when the AI was wrong",
            "Left an agreeing AI",
            "AUC first -> final",
        ],
        rows,
        ["Among pairs where the first answer differed from the AI's choice (AI ties left out)."],
    )
