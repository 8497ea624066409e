"""Inputs of a study analysis: the verified key, the AI scores and the readers' decisions.

Everything is checked before any figure is computed: the key must hash to the manifest's
``key_sha256`` and every decisions file's audit chain must be intact; analysis refuses
otherwise, saying which file failed and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from studies.errors import InputFileError, StudyError
from studies.package import (
    Manifest,
    decisions_dir,
    load_key,
    load_manifest,
    read_ai_scores,
    verify_key,
)


def default_decision_files(study: str | Path) -> list[Path]:
    """``STUDY/decisions/*.sqlite``, sorted."""
    return sorted(decisions_dir(study).glob("*.sqlite"))


def verify_inputs(
    study: str | Path, key_path: str | Path, decision_files: Sequence[str | Path]
) -> list[dict]:
    """Refuse (:class:`StudyError`) unless the key matches, every audit chain is intact and
    every decisions file was read under this study and this key (its header's ``study_id``
    and ``key_sha256``: a study rebuilt with the same seed keeps its ids but not its key).

    Also refuses a file that contradicts the chain heads recorded beside the key by an
    earlier collection or analysis (rows cut off, an older copy, a rewrite below a recorded
    head: :mod:`studies.decisions.heads`), then records the current heads there.

    Returns, per file, ``{"file", "audit_rows", "audit_head"}``, also kept in the results."""
    from studies.decisions import verify_file
    from studies.decisions.consistency import consistency_problems

    verify_key(study, key_path)
    manifest = load_manifest(study)
    if not decision_files:
        raise StudyError(
            f"no decisions files to analyse in {decisions_dir(study)}: "
            "copy the readers' <reader>.sqlite files there or pass --decisions FILE..."
        )
    chains = []
    for f in decision_files:
        if not Path(f).is_file():
            raise InputFileError(f, "decisions file not found", hint="Check the path")
        report = verify_file(f)
        if not report.ok:
            raise InputFileError(
                f,
                f"the audit chain is broken (row {report.broken_at}): {report.reason}",
                hint="This file was changed after it was written; analysis refuses it. "
                "Use the reader's original file",
            )
        _check_same_study(f, manifest)
        if problems := consistency_problems(f, manifest):
            raise InputFileError(
                f, "its decisions contradict what the reader app writes (the file was edited, "
                "even if its chain verifies):\n  " + "\n  ".join(problems),
                hint="Analysis refuses it; ask the reader for their original file",
            )
        chains.append({"file": Path(f).name, "audit_rows": report.rows, "audit_head": report.head})
    from studies.decisions.heads import check_heads, heads_path, record_heads

    problems = check_heads(key_path, decision_files)
    if problems:
        raise StudyError(
            "decisions files contradict the chain heads recorded in "
            f"{heads_path(key_path)}:\n  " + "\n  ".join(problems)
            + "\nAnalysis refuses them: ask the reader for their original file (a chain that "
            "verifies can still have been rewritten or rolled back by someone holding the file)"
        )
    record_heads(key_path, decision_files, manifest.study_id)
    return chains


def _check_same_study(path: str | Path, manifest: Manifest) -> None:
    from studies.decisions.audit import open_readonly, read_header

    conn = open_readonly(path)
    try:
        meta, _ = read_header(conn)
    finally:
        conn.close()
    for field, expected in (("study_id", manifest.study_id), ("key_sha256", manifest.key_sha256)):
        if meta.get(field) != expected:
            raise InputFileError(
                path,
                f"the decisions were read for another study or another build of it "
                f"({field} {str(meta.get(field))[:16]!r}, this study has {expected[:16]!r})",
                hint="Analyse each decisions file with the study package and key it was read with",
            )


def read_all_decisions(decision_files: Iterable[str | Path]) -> pd.DataFrame:
    """Every reader's first and final answers, one table (the decisions store's columns,
    plus ``simulated``: the file was written by ``simulate-reader``,
    :func:`studies.decisions.provenance.is_simulated`)."""
    from studies.decisions import read_decisions
    from studies.decisions.provenance import is_simulated

    frames = [
        read_decisions(f, phases=("first", "final")).assign(simulated=is_simulated(f))
        for f in decision_files
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        raise StudyError("the decisions files hold no answers yet")
    df = pd.concat(frames, ignore_index=True)
    dup = df.duplicated(["reader", "pair_id", "mode", "phase"])
    if dup.any():
        raise StudyError(
            f"reader '{df.loc[dup.idxmax(), 'reader']}' appears in two decisions files; "
            "pass each reader's file once"
        )
    return df


def key_table(key: dict) -> pd.DataFrame:
    """The key's scored pairs: pair_id, progressor, non_progressor, stratum, jsn_mm."""
    rows = [
        {
            "pair_id": p["pair_id"],
            "progressor": p["progressor"],
            "non_progressor": p["non_progressor"],
            "stratum": p["stratum"],
            "jsn_mm": p.get("jsn_mm"),
        }
        for p in key["pairs"]
    ]
    return pd.DataFrame(
        rows, columns=["pair_id", "progressor", "non_progressor", "stratum", "jsn_mm"]
    )


def score_decisions(
    decisions: pd.DataFrame, key: pd.DataFrame, key_path: str | Path = "key"
) -> pd.DataFrame:
    """Scored answers: practice pairs dropped, truth joined, ``correct`` in {0, 1}.

    Adds ``condition`` (the analysis condition of the answer's mode and phase,
    :func:`studies.decisions.modes.condition_of`: ``sequential_first`` for a sequential first answer),
    ``progressor``, ``stratum`` and ``correct``. Refuses answers to pairs the key lacks and
    chosen cases that are not in the pair.
    """
    d = decisions[~decisions["practice"].astype(bool)].copy()
    if d.empty:
        raise StudyError(
            "the decisions files hold no answers to scored pairs yet (practice pairs are not "
            "scored): analyse once readers have answered study pairs"
        )
    unknown = sorted(set(d["pair_id"]) - set(key["pair_id"]))
    if unknown:
        raise InputFileError(
            key_path,
            f"the decisions answer pairs the key does not have: {unknown[:5]}",
            hint="Analyse the decisions with the key of the same study",
        )
    d = d.merge(key, on="pair_id", how="left", validate="many_to_one")
    in_pair = (d["chosen_case"] == d["progressor"]) | (d["chosen_case"] == d["non_progressor"])
    if not in_pair.all():
        bad = d.loc[~in_pair].iloc[0]
        raise StudyError(
            f"reader '{bad['reader']}' chose case '{bad['chosen_case']}' for pair '{bad['pair_id']}', "
            "which is not one of its two knees: the decisions belong to another study"
        )
    d["correct"] = (d["chosen_case"] == d["progressor"]).astype(float)
    from studies.decisions.modes import condition_of

    d["condition"] = [condition_of(m, ph) for m, ph in zip(d["mode"], d["phase"], strict=True)]
    return d


def load_ai_scores(study: str | Path) -> pd.Series | None:
    """``STUDY/ai/scores.csv`` as a Series case_id -> probability, or None when absent
    (checked by :func:`studies.package.read_ai_scores`)."""
    read = read_ai_scores(study)
    if read is None:
        return None
    scores = read[0]
    return pd.Series(list(scores.values()), index=pd.Index(list(scores), name="case_id"), name="probability", dtype=float)


def ai_on_pairs(
    key: pd.DataFrame, scores: pd.Series, path: str | Path = "ai/scores.csv"
) -> pd.DataFrame:
    """The AI's 2AFC answer per scored pair: it picks the higher score; a tie scores 1/2.

    Returns pair_id, stratum, score_progressor, score_non_progressor, correct (0, 0.5 or 1).
    """
    missing = sorted((set(key["progressor"]) | set(key["non_progressor"])) - set(scores.index))
    if missing:
        raise InputFileError(
            path,
            f"no AI score for {len(missing)} case(s) of the study, e.g. {missing[:3]}",
            hint="Run the model on every case of the study",
        )
    sp = scores.reindex(key["progressor"]).to_numpy()
    sn = scores.reindex(key["non_progressor"]).to_numpy()
    correct = np.where(sp > sn, 1.0, np.where(sp == sn, 0.5, 0.0))
    return pd.DataFrame(
        {
            "pair_id": key["pair_id"].to_numpy(),
            "stratum": key["stratum"].to_numpy(),
            "score_progressor": sp,
            "score_non_progressor": sn,
            "correct": correct,
        }
    )


def load_key_table(key_path: str | Path) -> pd.DataFrame:
    return key_table(load_key(key_path))


def case_table(manifest: Manifest, key: dict) -> pd.DataFrame:
    """One row per scored knee for Table 1: case_id, pair_id, group ("progressor" or
    "non-progressor"), stratum, jsn_mm (12-month JSN, from the key) and the clinical
    variables the manifest shows readers (:func:`studies.vocabulary.shown_variables`)."""
    from studies.vocabulary import shown_variables

    rows = []
    for p in key["pairs"]:
        for group, case, jsn in (
            ("progressor", p["progressor"], p.get("jsn_mm")),
            ("non-progressor", p["non_progressor"], p.get("non_progressor_jsn_mm")),
        ):
            case_obj = manifest.cases.get(case)
            clinical = case_obj.clinical if case_obj is not None else {}
            rows.append(
                {
                    "case_id": case,
                    "pair_id": p["pair_id"],
                    "group": group,
                    "stratum": p.get("stratum"),
                    "jsn_mm": jsn,
                    **{v.package_key: clinical.get(v.package_key) for v in shown_variables()},
                }
            )
    return pd.DataFrame(rows)
