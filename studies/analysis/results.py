"""From a study, its key and the readers' decisions to every table and figure of the results.

``analyze_study(study, key_path, decision_files)`` verifies the inputs, scores the answers
and returns a :class:`StudyResults` of plain data (no files): ``summary`` (JSON-able dict),
``tables`` (name -> DataFrame), ``roc`` (the AI's ROC curve and each reader as a point),
which the coordinator view draws and :func:`studies.analysis.exports.write_outputs` writes.
:func:`analyze_scored` does the same from an already scored answer table (tests, power).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from studies.analysis import comparisons, inputs, measurements, tables
from studies.decisions import modes
from studies.package import load_key, load_manifest
from studies.progress import NO_PROGRESS, Progress
from studies.stats.jsonable import jsonable
from studies.stats.roc import auc_ci, roc_curve


@dataclass
class StudyResults:
    """Everything a coordinator takes away from a study, as plain data.

    ``summary``: JSON-able dict with the study's facts (``study_id``, ``n_pairs``, ``readers``
    (ids), ``conditions``, ``decision_files``, ``decision_chains`` (per file its audit rows
    and head hash)...), ``ai`` (``{"pairs": {...}, "auc": {...}}``
    when AI scores exist) and ``tables`` (name -> list of row dicts); ``tables``: name -> DataFrame (one XLSX sheet each);
    ``roc``: ``{"ai": {"fpr", "tpr", "auc", "ci"} | None, "readers": [{"reader",
    "condition", "pc", "fpr", "tpr"}]}``; ``decisions``: the scored long-format answers.
    """

    summary: dict
    tables: dict[str, pd.DataFrame]
    roc: dict
    decisions: pd.DataFrame
    ai_pairs: pd.DataFrame | None = None
    ai_cases: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    #: One row per scored knee: case_id, pair_id, group ("progressor" / "non-progressor"),
    #: stratum, jsn_mm and the clinical variables readers saw (Table 1); None without a manifest.
    cases: pd.DataFrame | None = None


#: What :func:`analyze_study` counts on its ``progress``: checks, reading, analysis, summary.
ANALYSIS_STEPS = 4


def analyze_study(
    study: str | Path,
    key_path: str | Path,
    decision_files: Sequence[str | Path] | None = None,
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    include_simulated: bool = False,
    progress: Progress = NO_PROGRESS,
) -> StudyResults:
    """Verify the key hash and every audit chain, then analyse (see module docstring).

    ``decision_files`` defaults to ``STUDY/decisions/*.sqlite``. Raises
    :class:`studies.errors.StudyError` naming the file and reason when a check fails.
    Readers written by ``simulate-reader`` are marked and left out of the pooled analyses
    unless ``include_simulated`` (see :func:`analyze_scored`).
    """
    files = list(decision_files) if decision_files else inputs.default_decision_files(study)
    progress.update(0, ANALYSIS_STEPS)
    chains = inputs.verify_inputs(study, key_path, files)
    progress.advance()
    manifest = load_manifest(study)
    key_data = load_key(key_path)
    key = inputs.key_table(key_data)
    scored = inputs.score_decisions(inputs.read_all_decisions(files), key, key_path)
    scores = inputs.load_ai_scores(study)
    progress.advance()
    res = analyze_scored(
        scored,
        key,
        scores,
        n_boot=n_boot,
        seed=seed,
        alpha=alpha,
        ai_path=Path(study) / "ai" / "scores.csv",
        include_simulated=include_simulated,
    )
    progress.advance()
    res.cases = inputs.case_table(manifest, key_data)
    res.tables["measurements"] = measurements.measurement_table(res.decisions, res.cases)
    res.summary = {
        "study_id": manifest.study_id,
        "title": manifest.title,
        "question": manifest.question,
        "key_sha256_verified": manifest.key_sha256,
        "decision_files": [Path(f).name for f in files],
        "decision_chains": chains,
        "bounds_mm": (key_data.get("build") or {}).get("bounds_mm"),
        **res.summary,
    }
    res.summary["tables"]["measurements"] = records(res.tables["measurements"])
    progress.advance()
    return res


def analyze_scored(
    scored: pd.DataFrame,
    key: pd.DataFrame,
    ai_scores: pd.Series | None = None,
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    ai_path: str | Path = "ai/scores.csv",
    include_simulated: bool = False,
) -> StudyResults:
    """Analyse scored answers (:func:`studies.analysis.inputs.score_decisions`) against the key.

    A ``simulated`` column (True for a ``simulate-reader`` reader; absent = people only)
    marks readers in every per-reader table; the pooled analyses (``mrmc_vs_ai``, the
    comparisons the reading modes enable (:func:`studies.decisions.modes.comparisons`:
    ``switching``, ``aided_vs_unaided``, ``sequential_vs_first``) and ``agreement``) leave
    simulated readers out unless ``include_simulated``.
    """
    if "simulated" not in scored:
        scored = scored.assign(simulated=False)
    simulated = sorted(scored.loc[scored["simulated"].astype(bool), "reader"].unique().tolist())
    pooled = scored if include_simulated else scored[~scored["simulated"].astype(bool)]
    t: dict[str, pd.DataFrame] = {}
    t["readers"] = tables.reader_table(scored, alpha)
    ai_pairs = inputs.ai_on_pairs(key, ai_scores, ai_path) if ai_scores is not None else None
    t["strata"] = tables.stratum_table(scored, ai_pairs, alpha)
    t["times"] = tables.time_table(scored)
    summary: dict = {
        "n_pairs": int(len(key)),
        "readers": sorted(scored["reader"].unique().tolist()),
        "simulated_readers": simulated,
        "include_simulated": bool(include_simulated),
        "conditions": sorted(scored["condition"].unique().tolist()),
        "alpha": alpha,
        "software": software_versions(),
    }
    roc: dict = {"ai": None, "readers": []}
    ai_cases = None
    if ai_pairs is not None:
        ai_summary, roc["ai"], ai_cases = _ai_summary(key, ai_scores, ai_pairs, alpha)
        summary["ai"] = ai_summary
        t["ai"] = pd.DataFrame(
            [
                {
                    **ai_summary["pairs"],
                    "auc": ai_summary["auc"]["auc"],
                    "auc_lo": ai_summary["auc"]["ci"][0],
                    "auc_hi": ai_summary["auc"]["ci"][1],
                }
            ]
        )
        t["reader_vs_ai"] = comparisons.reader_vs_ai(
            scored, ai_pairs, n_boot=n_boot, seed=seed, alpha=alpha
        )
        t["mrmc_vs_ai"] = comparisons.mrmc_vs_ai(pooled, ai_pairs, alpha)
        for c in modes.comparisons("switching"):
            t[c.table] = comparisons.switching_table(pooled, ai_pairs, c.first, c.second)
    conds = set(pooled["condition"])
    for c in modes.comparisons("conditions"):
        if {c.first, c.second} <= conds:
            t[c.table] = comparisons.conditions_or(pooled, c.first, c.second, alpha)
    t["agreement"] = comparisons.agreement_table(pooled)
    t = {k: v for k, v in t.items() if v is not None and len(v)}
    for name in ("readers", "strata", "reader_vs_ai"):
        if name in t:
            t[name] = _mark_simulated(t[name], simulated)
    roc["readers"] = [
        {
            "reader": r["reader"],
            "condition": r["condition"],
            "pc": r["pc"],
            "fpr": 1 - r["pc"],
            "tpr": r["pc"],
            "simulated": bool(r["simulated"]),
        }
        for r in t["readers"].to_dict("records")
    ]
    summary["tables"] = {name: records(df) for name, df in t.items() if name != "times"}
    summary["notes"] = _notes(t, len(key), simulated, include_simulated)
    return StudyResults(jsonable(summary), t, jsonable(roc), scored, ai_pairs, ai_cases)


def software_versions() -> dict[str, str]:
    """The versions of this software and of the numerical libraries behind the figures."""
    import platform

    import scipy

    from studies import __version__

    return {
        "knee-reader-study": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
    }


def _mark_simulated(df: pd.DataFrame, simulated: list[str]) -> pd.DataFrame:
    """``df`` with a boolean ``simulated`` column right after ``reader``."""
    df = df.drop(columns="simulated", errors="ignore")
    df.insert(list(df.columns).index("reader") + 1, "simulated", df["reader"].isin(simulated))
    return df


def _notes(
    t: dict[str, pd.DataFrame], n_pairs: int, simulated: list[str], include_simulated: bool
) -> list[str]:
    """Plain-language caveats: simulated readers; multi-reader analyses restricted to fewer
    pairs than the study."""
    notes = []
    if simulated:
        who = ", ".join(simulated)
        notes.append(
            f"simulated readers (simulate-reader): {who}; "
            + (
                "included in the pooled analyses (--include-simulated)"
                if include_simulated
                else "shown per reader but left out of the pooled analyses "
                "(readers vs AI, conditions, switching, agreement; --include-simulated includes them)"
            )
        )
    for name in ("mrmc_vs_ai", *(c.table for c in modes.comparisons("conditions"))):
        df = t.get(name)
        if df is None or df.empty:
            continue
        label = "condition" if "condition" in df else "comparison"
        for what, used in df.groupby(label)["n_pairs"].first().items():
            if used < n_pairs:
                notes.append(
                    f"{name} ({what}): uses the {used} of {n_pairs} pairs that every reader answered "
                    "and nobody flagged"
                )
    return notes


def _ai_summary(key: pd.DataFrame, scores: pd.Series, ai_pairs: pd.DataFrame, alpha: float):
    c = ai_pairs["correct"].to_numpy()
    pairs = {**tables.proportion_row(c, alpha), "n_ties": int((c == 0.5).sum())}
    cases = pd.DataFrame(
        {
            "case_id": np.r_[key["progressor"].to_numpy(), key["non_progressor"].to_numpy()],
            "progressor": np.r_[np.ones(len(key), bool), np.zeros(len(key), bool)],
        }
    )
    cases["score"] = scores.reindex(cases["case_id"]).to_numpy()
    est = auc_ci(cases["progressor"].to_numpy(), cases["score"].to_numpy(), alpha)
    fpr, tpr, _ = roc_curve(cases["progressor"].to_numpy(), cases["score"].to_numpy())
    curve = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": est.auc, "ci": list(est.ci)}
    return {"pairs": pairs, "auc": est.to_dict()}, curve, cases


def records(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as JSON-able dicts (NaN -> None)."""
    return jsonable(df.to_dict("records"))
