"""Which reading modes a study can be read in (shared by the reader app and simulate-reader)."""

from __future__ import annotations

from pathlib import Path

from studies.errors import OptionError, StudyError
from studies.package import AI_DIR, AI_MODES, AI_SCORES_NAME, READING_MODES, Manifest


def no_ai_error(study: str | Path, mode: str) -> StudyError:
    """The refusal for an AI mode on a study without ``ai/scores.csv``."""
    return StudyError(
        f"This study cannot be read in '{mode}' mode: it has no AI outputs "
        f"({Path(study) / AI_DIR / AI_SCORES_NAME} is missing). Read it in 'unaided' mode, "
        "or ask the coordinator for the package with the model's scores (knee-model writes them)"
    )


def check_mode_allowed(manifest: Manifest, mode: str) -> str:
    """Return ``mode``, or raise :class:`OptionError` when it is unknown or the study does not
    allow it."""
    if mode not in READING_MODES:
        raise OptionError("mode", f"one of {', '.join(READING_MODES)}", mode)
    if mode not in manifest.reading_modes:
        raise OptionError("mode", f"a mode this study allows ({', '.join(manifest.reading_modes)})", mode)
    return mode


def check_reading_mode(study: str | Path, manifest: Manifest, mode: str) -> str:
    """Return ``mode`` if ``study`` can be read in it; raise :class:`OptionError` for a mode the
    study does not allow and :class:`StudyError` for an AI mode without AI outputs."""
    check_mode_allowed(manifest, mode)
    if mode in AI_MODES and not (Path(study) / AI_DIR / AI_SCORES_NAME).is_file():
        raise no_ai_error(study, mode)
    return mode
