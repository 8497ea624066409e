"""The AI's outputs in a study package, as the reader app shows them.

``ai/scores.csv`` (``case_id, probability, run_id``: the model's probability that the knee
progresses) and ``ai/heatmaps/<case>_<sequence>.nii.gz`` (Grad-CAM volumes on the image's
grid), both written by ``model``. A study without ``ai/scores.csv`` cannot be read in an AI
mode (:func:`require_ai`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from studies.decisions.modes import get_mode, no_ai_error
from studies.errors import InputFileError, did_you_mean
from studies.package import (
    AI_DIR,
    AI_HEATMAPS_DIR,
    AI_SCORES_NAME,
    SEQUENCES,
    Manifest,
    read_ai_scores,
)


@dataclass(frozen=True)
class AiOutputs:
    """Per-case AI probabilities (0..1) and where the heatmaps are."""

    study: Path
    scores: dict[str, float]
    run_id: str

    def probability(self, case_id: str) -> float:
        """The model's probability that ``case_id`` progresses (0..1)."""
        return self.scores[case_id]

    def preferred(self, left_case: str, right_case: str) -> str | None:
        """``"left"`` or ``"right"``: the knee the AI thinks will progress; None on a tie."""
        a, b = self.scores[left_case], self.scores[right_case]
        if a == b:
            return None
        return "left" if a > b else "right"

    def heatmap_path(self, case_id: str, sequence: str) -> Path | None:
        """The Grad-CAM volume of ``case_id`` for ``sequence``, or None when it is missing."""
        if sequence not in SEQUENCES:
            raise ValueError(f"unknown sequence {sequence!r}.{did_you_mean(sequence, SEQUENCES)}")
        path = self.study / AI_DIR / AI_HEATMAPS_DIR / f"{case_id}_{sequence}.nii.gz"
        return path if path.is_file() else None


def load_ai(study: str | Path, manifest: Manifest | None = None) -> AiOutputs | None:
    """Read ``STUDY/ai/scores.csv``; None when the study has no AI outputs.

    Raises :class:`InputFileError` naming the row and column for a malformed file, and,
    with ``manifest``, when a case of the study has no score.
    """
    study = Path(study)
    read = read_ai_scores(study)
    if read is None:
        return None
    scores, run_id = read
    if manifest is not None:
        missing = sorted(set(manifest.cases) - set(scores))
        if missing:
            raise InputFileError(
                study / AI_DIR / AI_SCORES_NAME, f"{len(missing)} case(s) of the study have no AI score (first: {missing[0]})",
                hint="Re-run the model's inference on this study")
    return AiOutputs(study, scores, run_id)


def require_ai(study: str | Path, mode: str, manifest: Manifest | None = None) -> AiOutputs | None:
    """The AI outputs when ``mode`` needs them (refusing clearly when absent); None for a mode
    that never shows the AI (``unaided``)."""
    if not get_mode(mode).needs_ai:
        return None
    ai = load_ai(study, manifest)
    if ai is None:
        raise no_ai_error(study, mode)
    return ai


def format_probability(p: float) -> str:
    """A probability as a reader reads it: "42 %", and "< 1 %" / "> 99 %" at the ends
    (a rounded "0 %" would claim a certainty the model does not have)."""
    if p < 0.005:
        return "< 1 %"
    if p > 0.995:
        return "> 99 %"
    return f"{p:.0%}".replace("%", " %")


def heatmap_sequences(study: str | Path) -> set[str] | None:
    """The sequences the model wrote heatmaps for (``ai/run.json``'s ``heatmap_sequences``);
    None when the run does not say, in which case every sequence is expected to have one."""
    path = Path(study) / AI_DIR / "run.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    seqs = data.get("heatmap_sequences") if isinstance(data, dict) else None
    return set(seqs) if isinstance(seqs, list) else None
