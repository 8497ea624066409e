"""What a study's figures can and cannot show, in sentences (no Qt): the coordinator's Results
tab and the demo's printed summary say the same thing.

A study's AI figures rest on its pairs only (the paper's 150; the demo's 50), so they come
with the interval their size allows; the model's cross-validated AUC over its whole training
cohort (``ai/run.json``'s ``cross_validation``, written by ``model.infer``) is shown beside
them as the better estimate of the model itself. Synthetic knees and simulated readers are
said to be what they are.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from studies.errors import InputFileError
from studies.package import AI_DIR, AI_RUN_NAME


@dataclass(frozen=True)
class StudyContext:
    """What the figures rest on besides the decisions: the model's cross-validation (None
    without it), whether fold models scored the study's knees, synthetic knees, simulated
    readers (their ids)."""

    cv: dict | None = None
    fold_models: bool = False
    #: The precision the model's image features were computed in (``ai/run.json``'s engine).
    precision: str = "float32"
    synthetic: bool = False
    simulated_readers: tuple[str, ...] = ()


def read_ai_run(study: str | Path) -> dict:
    """``ai/run.json`` of a study ({} when the study has no AI outputs)."""
    path = Path(study) / AI_DIR / AI_RUN_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"not readable JSON ({exc})", hint="Score the study again with `knee-model infer`") from exc
    return data if isinstance(data, dict) else {}


def study_context(study: str | Path, key: dict, simulated_readers: tuple[str, ...] = ()) -> StudyContext:
    """The :class:`StudyContext` of a study from its ``ai/run.json`` and its key."""
    run = read_ai_run(study)
    cv = run.get("cross_validation")
    engine = run.get("engine")
    return StudyContext(
        cv=cv if isinstance(cv, dict) and "auc" in cv else None,
        precision=str(engine.get("precision", "float32")) if isinstance(engine, dict) else "float32",
        fold_models=any(str(m).startswith("fold_") for m in run.get("models_used", {})),
        synthetic=bool(key.get("build", {}).get("synthetic")),
        simulated_readers=tuple(simulated_readers),
    )


def pc_half_width(n_pairs: int, z: float = 1.96) -> float:
    """Half-width of a 95 % interval of a proportion correct near 0.5 over ``n_pairs`` pairs."""
    return z * math.sqrt(0.25 / max(n_pairs, 1))


def _ci(ci) -> str:
    return f"95 % CI {ci[0]:.3f}–{ci[1]:.3f}"


def ai_sentences(summary: dict, context: StudyContext) -> list[str]:
    """The AI's figures on the study and in cross-validation, then what they can and cannot
    show. ``summary``: ``StudyResults.summary`` (``n_pairs``, ``ai``)."""
    n = int(summary.get("n_pairs", 0))
    ai = summary.get("ai")
    out = []
    if ai:
        pairs, auc = ai["pairs"], ai["auc"]
        pc_ci = [pairs[k] for k in ("wilson_lo", "wilson_hi") if k in pairs]
        out.append(
            f"AI on the study's {n} pairs: picks the progressor in {pairs['pc']:.3f} of them"
            + (f" ({_ci(pc_ci)})" if len(pc_ci) == 2 else "")
            + f"; AUC over all {auc['n_positive']} × {auc['n_negative']} progressor × non-progressor "
            f"combinations {auc['auc']:.3f} ({_ci(auc['ci'])})"
            + (", every knee scored by a fold model that never saw it." if context.fold_models else ".")
        )
    if context.cv:
        cv = context.cv
        out.append(
            f"The same model cross-validated on its training cohort ({cv['n']} knees, {cv['folds']} folds): "
            f"AUC {cv['auc']:.3f} ({_ci(cv['ci'])}). That is the better estimate of the model; the "
            "study's figure is the one to compare with the readers, who read the same pairs."
        )
    if ai and context.precision != "float32":
        out.append(
            f"The model's image features were computed in {context.precision} (a faster opt-in of the "
            "feature extraction, slightly different from float32's; its measured effect on the AUC is in "
            "docs/model.md, 'Reduced precision')."
        )
    if n:
        out.append(
            f"With {n} pairs a proportion correct is known to about ±{pc_half_width(n):.2f} (95 %): "
            "differences between readers, or between a reader and the AI, smaller than that cannot "
            "be told from chance."
        )
    if context.synthetic:
        out.append(
            "The knees are synthetic, with a planted signal: these figures show how a study is "
            "analysed and how wide its intervals are, not how the model or radiologists do on real knees."
        )
    if context.simulated_readers:
        out.append(
            f"Simulated readers ({', '.join(context.simulated_readers)}) choose the progressor with a "
            "set probability: they exercise the analysis and say nothing about people."
        )
    return out
