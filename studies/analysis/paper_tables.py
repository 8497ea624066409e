"""The result tables as a paper prints them: titled, labelled, rounded (text cells).

Each builder takes a :class:`~studies.analysis.results.StudyResults` and returns a
:class:`PaperTable` (or None when the study has nothing for it). The numbers are the
analysis' own (``results.tables``), only formatted (:mod:`studies.analysis.formatting`);
full precision stays in ``results.xlsx`` and ``summary.json``. Readers written by
``simulate-reader`` carry "(simulated)" after their id in every table.

- Table 1: the study: pairs per stratum (with JSN ranges) and the knees' clinical
  variables by group, mean (SD) or n (%);
- Table 2: each reader's and the AI's pairwise AUC (= proportion correct) with its 95 %
  interval, reading time median (IQR), d';
- Table 3: each reader against the AI on the same pairs;
- accuracy per stratum and agreement between readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from studies.analysis import formatting as fmt
from studies.analysis.results import StudyResults
from studies.package import STRATA
from studies.vocabulary import shown_variables


@dataclass(frozen=True)
class PaperTable:
    """A table ready to print: ``rows`` of text cells under ``columns``.

    ``simulated_rows`` are the indices of rows that belong to simulated readers (drawn in
    grey by the renderers); ``notes`` print under the table.
    """

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    simulated_rows: list[int] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)


def _pct_level(results: StudyResults) -> str:
    return f"{100 * (1 - float(results.summary.get('alpha', 0.05))):g} %"


def _reader(row: dict) -> str:
    return fmt.reader_label(row["reader"], bool(row.get("simulated", False)))


def _simulated_rows(records: list[dict]) -> list[int]:
    return [i for i, r in enumerate(records) if r.get("simulated")]


def table_study(results: StudyResults) -> PaperTable | None:
    """Table 1: pairs per stratum and the clinical variables of progressors and non-progressors."""
    cases = results.cases
    if cases is None or cases.empty:
        return None
    bounds = results.summary.get("bounds_mm")
    groups = ("progressor", "non-progressor")
    by = {g: cases[cases["group"] == g] for g in groups}
    n = {g: len(by[g]) for g in groups}
    rows = [["Pairs", str(n["progressor"]), ""]]
    present = list(dict.fromkeys(s for s in (*STRATA, *by["progressor"]["stratum"]) if s in set(by["progressor"]["stratum"])))
    for s in present:
        k = int((by["progressor"]["stratum"] == s).sum())
        rows.append([f"  {fmt.stratum_label(s, bounds)}", fmt.n_percent(k, n["progressor"]), ""])
    rows.append(
        ["12-month JSN, mm, mean (SD)", *(fmt.mean_sd(by[g]["jsn_mm"], 2) for g in groups)]
    )
    for var in shown_variables():
        key = var.package_key
        if key not in cases:
            continue
        if var.categorical:  # the share of the first code (sex: female)
            first = var.codes[0]
            cells = [
                fmt.n_percent(int((by[g][key] == first.value).sum()), n[g]) if by[g][key].notna().any() else ""
                for g in groups
            ]
            rows.append([f"{first.name}, n (%)", *cells])
        else:
            unit_text = f", {var.unit}" if var.unit else ""
            rows.append(
                [f"{var.label}{unit_text}, mean (SD)", *(fmt.mean_sd(by[g][key], var.digits) for g in groups)]
            )
    return PaperTable(
        "table1",
        "Table 1. The study: pairs per stratum and the knees' baseline clinical variables",
        ["", f"Progressors (n = {n['progressor']})", f"Non-progressors (n = {n['non-progressor']})"],
        rows,
        notes=[
            "Each pair joins a knee that lost at least 0.5 mm of medial joint space within 12 "
            "months (progressor) with one that did not. Strata by the progressor's JSN."
        ],
    )


def table_accuracy(results: StudyResults) -> PaperTable | None:
    """Table 2: pairwise AUC with Wilson and Clopper-Pearson intervals, time, d' per reader;
    then the AI on the same pairs and over all progressor x non-progressor combinations."""
    df = results.tables.get("readers")
    if df is None or df.empty:
        return None
    level = _pct_level(results)
    recs = df.to_dict("records")
    with_rating = df["rating_auc"].notna().any()
    columns = [
        "Reader",
        "Reading",
        "Pairs",
        f"Pairwise AUC ({level} Wilson CI)",
        f"Clopper-Pearson {level} CI",
        "Reading time, s, median (IQR)",
        "d'",
        "Flagged",
    ]
    if with_rating:
        columns.append(f"Rating AUC ({level} DeLong CI)")
    rows = []
    for r in recs:
        row = [
            _reader(r),
            fmt.condition_label(r["condition"]),
            str(r["n"]),
            fmt.estimate_ci(r["pc"], r["wilson_lo"], r["wilson_hi"]),
            fmt.interval(r["cp_lo"], r["cp_hi"]),
            fmt.median_iqr(r["time_median_s"], r["time_q1_s"], r["time_q3_s"]),
            fmt.num(r["dprime"], 2),
            str(r["n_flagged"]),
        ]
        if with_rating:
            row.append(fmt.estimate_ci(r["rating_auc"], r["rating_auc_lo"], r["rating_auc_hi"]))
        rows.append(row)
    notes = [
        "Pairwise AUC: the share of pairs in which the reader chose the progressor, equal to "
        "the ROC AUC on the pairs shown. d' = sqrt(2) * probit(AUC)."
    ]
    ai = results.summary.get("ai")
    if ai:
        p, a = ai["pairs"], ai["auc"]
        pad = [""] * (len(columns) - 5)
        rows.append(
            ["AI", "on the same pairs", str(p["n"]),
             fmt.estimate_ci(p["pc"], p["wilson_lo"], p["wilson_hi"]),
             fmt.interval(p["cp_lo"], p["cp_hi"]), *pad]
        )
        rows.append(
            ["AI", "all progressor x non-progressor combinations", "",
             fmt.estimate_ci(a["auc"], *a["ci"]), "", *pad]
        )
        notes.append(
            f"The AI chooses the knee with the higher score (equal scores count one half: "
            f"{p['n_ties']} pair(s)); its AUC over all combinations has a DeLong interval."
        )
    return PaperTable(
        "table2",
        "Table 2. Pairwise AUC of each reader and of the AI",
        columns,
        rows,
        notes,
        _simulated_rows(recs),
    )


def table_reader_vs_ai(results: StudyResults) -> PaperTable | None:
    """Table 3: each reader against the AI: difference, Newcombe interval, exact McNemar p,
    paired bootstrap."""
    df = results.tables.get("reader_vs_ai")
    if df is None or df.empty:
        return None
    level = _pct_level(results)
    recs = df.to_dict("records")
    rows = [
        [
            _reader(r),
            fmt.condition_label(r["condition"]),
            str(r["n"]),
            fmt.num(r["reader_pc"]),
            fmt.num(r["ai_pc"]),
            fmt.signed(r["difference"]),
            f"{r['reader_only_right']} / {r['ai_only_right']}",
            fmt.estimate_ci(r["newcombe_difference"], r["newcombe_lo"], r["newcombe_hi"]),
            fmt.p_value(r["mcnemar_exact_p"]),
            fmt.interval(r["bootstrap_lo"], r["bootstrap_hi"]),
            fmt.p_value(r["bootstrap_p"]),
        ]
        for r in recs
    ]
    n_boot = int(recs[0]["n_boot"])
    return PaperTable(
        "table3",
        "Table 3. Each reader against the AI on the same pairs",
        [
            "Reader",
            "Reading",
            "Pairs",
            "Reader AUC",
            "AI AUC",
            "Difference",
            "Only reader / only AI right",
            f"Difference ({level} Newcombe CI)",
            "McNemar exact p",
            f"Bootstrap {level} CI",
            "Bootstrap p",
        ],
        rows,
        [
            "Newcombe's interval (method 10) and the exact McNemar test use the pairs where the "
            "AI's scores differ; the paired bootstrap "
            f"({n_boot} resamples of pairs) uses all the reader's pairs, AI ties counting one half."
        ],
        _simulated_rows(recs),
    )


def table_strata(results: StudyResults) -> PaperTable | None:
    """Accuracy per stratum: one row per reader and reading, one column per stratum."""
    df = results.tables.get("strata")
    if df is None or df.empty:
        return None
    bounds = results.summary.get("bounds_mm")
    strata = list(dict.fromkeys(df["stratum"]))
    rows, sim = [], []
    for (reader, cond), g in df.groupby(["reader", "condition"], sort=False):
        g = g.set_index("stratum")
        simulated = bool(g["simulated"].iloc[0]) if "simulated" in g else False
        if simulated:
            sim.append(len(rows))
        rows.append(
            [fmt.reader_label(reader, simulated), fmt.condition_label(cond)]
            + [
                f"{fmt.estimate_ci(g.at[s, 'pc'], g.at[s, 'wilson_lo'], g.at[s, 'wilson_hi'])}; n = {g.at[s, 'n']}"
                if s in g.index
                else ""
                for s in strata
            ]
        )
    return PaperTable(
        "strata",
        f"Accuracy per stratum ({_pct_level(results)} Wilson CI)",
        ["Reader", "Reading", *(fmt.stratum_label(s, bounds) for s in strata)],
        rows,
        simulated_rows=sim,
    )


def table_agreement(results: StudyResults) -> PaperTable | None:
    """Cohen's kappa per two readers, Fleiss' kappa for all, with the observed agreement."""
    df = results.tables.get("agreement")
    if df is None or df.empty:
        return None
    names = {"cohen_kappa": "Cohen's kappa", "fleiss_kappa": "Fleiss' kappa"}
    rows = [
        [
            fmt.condition_label(r["condition"]),
            "all readers" if r["raters"] == "all" else r["raters"],
            names.get(r["statistic"], r["statistic"]),
            str(r["n_pairs"]),
            fmt.num(r["kappa"]),
            fmt.num(r["agreement"]),
        ]
        for r in df.to_dict("records")
    ]
    return PaperTable(
        "agreement",
        "Agreement between readers",
        ["Reading", "Readers", "Statistic", "Pairs", "Kappa", "Observed agreement"],
        rows,
        ["An answer's label: whether the reader chose the knee whose random id sorts first."],
    )


def table_measurements(results: StudyResults) -> PaperTable | None:
    """How often each reader measured, and the measured lengths against the knees' baseline
    minimum medial JSW (:mod:`studies.analysis.measurements`); None when nobody measured."""
    from studies.analysis.measurements import MIN_FOR_R, anybody_measured

    df = results.tables.get("measurements")
    if not anybody_measured(df):
        return None
    records = df.to_dict("records")
    rows = [
        [
            _reader(r),
            fmt.condition_label(r["condition"]),
            f"{r['pairs_measured']} / {r['pairs_read']} ({fmt.num(100 * r['share_measured'], 0)} %)",
            str(r["n_measurements"]),
            str(r["n_compared"]),
            fmt.signed(r["mean_difference_mm"], 2),
            fmt.num(r["mean_abs_difference_mm"], 2),
            fmt.num(r["pearson_r"], 2),
        ]
        for r in records
    ]
    return PaperTable(
        "measurements",
        "Caliper measurements against the baseline joint-space width",
        ["Reader", "Reading", "Pairs measured", "Measurements", "Compared", "Mean difference (mm)",
         "Mean |difference| (mm)", "Pearson r"],
        rows,
        ["Difference: measured length - the knee's baseline minimum medial JSW shown to readers. "
         f"Pearson r where at least {MIN_FOR_R} measurements were compared."],
        _simulated_rows(records),
    )
