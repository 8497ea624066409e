"""The reading modes a study can be read in: one registry that everything else asks.

A :class:`ReadingMode` says, phase by phase, what a reader sees and answers, and what the
analysis makes of it. The built-in modes:

- ``unaided``: one phase (``final``), the AI never shown; analysis condition ``unaided``;
- ``aided``: one phase (``final``) with the AI shown from the start; condition ``aided``;
  enables the aided vs unaided comparison;
- ``sequential``: a ``first`` answer without the AI, locked for good once given (the final
  phase is open), then the AI is revealed and the reader gives the ``final`` answer;
  conditions ``sequential_first`` and ``sequential``; enables final vs first and the
  switching table (how often readers moved to the AI's choice).

The decisions store, the reading session, ``simulate-reader``, the consistency check, the file
schemas, the analysis and the CLI ``choices=`` all ask this registry, so a new mode is one
:func:`register` call (or one entry in :data:`BUILT_IN`). Phase names are those of the
decisions file format (:data:`PHASES`); a mode's last phase is always
``final``, the answer that completes a pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studies.errors import OptionError, StudyError
from studies.package_layout import AI_DIR, AI_SCORES_NAME

if TYPE_CHECKING:
    from studies.package import Manifest

#: The phases a decisions file stores an answer in (:mod:`studies.decisions.ledger`); every
#: mode's phases are among them.
PHASES: tuple[str, ...] = ("first", "final")

#: The phase that completes a pair in every mode.
FINAL = "final"
#: The kinds of :class:`Comparison`: a two-treatment Obuchowski-Rockette analysis of two
#: conditions, or the switching table (needs the AI's scores).
COMPARISON_KINDS = ("conditions", "switching")


@dataclass(frozen=True)
class Phase:
    """One answer a reader gives per pair in a mode.

    ``name``: the stored phase (one of :data:`PHASES`);
    ``ai_shown``: whether the AI's score and heatmap are on screen; ``condition``: the analysis
    condition of its answers (a column value of every export); ``condition_label``: that
    condition as a paper prints it; ``answer_label``: the answer as messages name it ("unaided
    first"); ``locked``: never changes once given (the next phase opens on it).
    """

    name: str
    ai_shown: bool
    condition: str
    condition_label: str
    answer_label: str = ""
    locked: bool = False

    def __post_init__(self) -> None:
        if self.name not in PHASES:
            raise ValueError(f"a phase is one of {PHASES} (the decisions file's), got {self.name!r}")
        if not self.answer_label:
            object.__setattr__(self, "answer_label", self.name)


@dataclass(frozen=True)
class Comparison:
    """An analysis a mode enables between two conditions: ``first - second``.

    ``table``: the name of its results table (a sheet of ``results.xlsx``); ``kind``:
    ``"conditions"`` (two-treatment OR analysis, :func:`studies.analysis.comparisons.conditions_or`)
    or ``"switching"`` (``first`` the answers after the AI was revealed, ``second`` the locked
    ones before it: :func:`studies.analysis.comparisons.switching_table`).
    """

    table: str
    first: str
    second: str
    kind: str = "conditions"

    def __post_init__(self) -> None:
        if self.kind not in COMPARISON_KINDS:
            raise ValueError(f"a comparison kind is one of {COMPARISON_KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class ReadingMode:
    """A reading mode: its ``name`` (stored in decisions files and manifests), a short
    ``label`` and a ``description`` for people, its ``phases`` in reading order (the last one
    ``final``) and the ``comparisons`` it enables."""

    name: str
    label: str
    description: str
    phases: tuple[Phase, ...]
    comparisons: tuple[Comparison, ...] = ()

    def __post_init__(self) -> None:
        names = [p.name for p in self.phases]
        if not names or names[-1] != FINAL or len(set(names)) != len(names):
            raise ValueError(f"mode {self.name!r}: phases must be distinct and end with {FINAL!r}, got {names}")
        if not self.name.isidentifier() or not self.name.islower():
            raise ValueError(f"a mode name is a lower-case identifier, got {self.name!r}")

    @property
    def phase_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.phases)

    @property
    def needs_ai(self) -> bool:
        """Whether the AI is shown in some phase (the study must have AI outputs)."""
        return any(p.ai_shown for p in self.phases)

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(p.condition for p in self.phases)

    def has_phase(self, name: str) -> bool:
        return name in self.phase_names

    def phase(self, name: str) -> Phase:
        """The phase called ``name``; ValueError when the mode has none (see :func:`check_phase`)."""
        for p in self.phases:
            if p.name == name:
                return p
        raise ValueError(phase_error(name))

    def ai_shown(self, phase: str) -> bool:
        """Whether the AI is on screen in ``phase`` (False for a phase the mode does not have)."""
        return self.has_phase(phase) and self.phase(phase).ai_shown

    def is_locked(self, phase: str) -> bool:
        """Whether an answer in ``phase`` can never change."""
        return self.has_phase(phase) and self.phase(phase).locked

    def previous(self, phase: str) -> Phase | None:
        """The phase that must be answered before ``phase``, or None."""
        i = self.phase_names.index(phase)
        return self.phases[i - 1] if i else None

    def next(self, phase: str) -> Phase | None:
        """The phase that opens on the same pair after ``phase``, or None (the next pair)."""
        i = self.phase_names.index(phase)
        return self.phases[i + 1] if i + 1 < len(self.phases) else None

    def condition(self, phase: str) -> str:
        return self.phase(phase).condition


BUILT_IN: tuple[ReadingMode, ...] = (
    ReadingMode(
        "unaided", "Unaided", "the AI is never shown",
        (Phase(FINAL, False, "unaided", "unaided"),),
    ),
    ReadingMode(
        "aided", "Aided", "the AI is shown from the start of each pair",
        (Phase(FINAL, True, "aided", "aided"),),
        (Comparison("aided_vs_unaided", "aided", "unaided"),),
    ),
    ReadingMode(
        "sequential", "Sequential",
        "a first answer without the AI, locked for good, then the AI is revealed and the final answer given",
        (Phase("first", False, "sequential_first", "sequential (first, before AI)", "unaided first", locked=True),
         Phase(FINAL, True, "sequential", "sequential (final, with AI)")),
        (Comparison("switching", "sequential", "sequential_first", kind="switching"),
         Comparison("sequential_vs_first", "sequential", "sequential_first")),
    ),
)
#: The mode a reader, a simulated reader or a decisions file opens in unless told otherwise.
DEFAULT_MODE = BUILT_IN[0].name

_REGISTRY: dict[str, ReadingMode] = {}
#: The registered names, in order. The file schemas (:mod:`studies.schemas`) check modes
#: against this very list, so a registered mode is accepted in manifests and decisions files.
_NAMES: list[str] = []


def register(mode: ReadingMode) -> ReadingMode:
    """Add ``mode`` to the registry (after the others); ValueError when its name, one of its
    conditions or one of its comparison tables is taken already."""
    taken_conditions = {c for m in _REGISTRY.values() for c in m.conditions}
    taken_tables = {c.table for m in _REGISTRY.values() for c in m.comparisons}
    if mode.name in _REGISTRY:
        raise ValueError(f"a reading mode {mode.name!r} is registered already")
    if clash := sorted(taken_conditions & set(mode.conditions)):
        raise ValueError(f"mode {mode.name!r}: condition(s) {clash} belong to another mode")
    if clash := sorted(taken_tables & {c.table for c in mode.comparisons}):
        raise ValueError(f"mode {mode.name!r}: comparison table(s) {clash} belong to another mode")
    _REGISTRY[mode.name] = mode
    _NAMES.append(mode.name)
    return mode


def unregister(name: str) -> None:
    """Remove a registered mode (tests); the built-in modes stay."""
    if name in (m.name for m in BUILT_IN):
        raise ValueError(f"the built-in mode {name!r} cannot be removed")
    _REGISTRY.pop(name, None)
    if name in _NAMES:
        _NAMES.remove(name)


for _mode in BUILT_IN:
    register(_mode)


def mode_names() -> tuple[str, ...]:
    """The registered modes' names, in order (``unaided``, ``aided``, ``sequential``, ...)."""
    return tuple(_NAMES)


def schema_names() -> list[str]:
    """The live list of registered names the file schemas refer to (do not change it)."""
    return _NAMES


def reading_modes() -> tuple[ReadingMode, ...]:
    return tuple(_REGISTRY[n] for n in _NAMES)


def get_mode(name: str) -> ReadingMode:
    """The registered mode ``name``; :class:`OptionError` naming the modes otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise OptionError("mode", f"one of {', '.join(_NAMES)}", name) from None


def phase_error(phase: str) -> str:
    """The message for an answer in ``phase`` in a mode without that phase."""
    having = [m.name for m in reading_modes() if m.has_phase(phase)]
    return f"a '{phase}' answer exists only in {' or '.join(having) or 'no'} reading"


def condition_of(mode: str, phase: str) -> str:
    """The analysis condition of an answer in ``mode`` and ``phase``."""
    return get_mode(mode).condition(phase)


def condition_label(condition: str) -> str | None:
    """How a paper prints ``condition`` (None for a condition no mode has)."""
    for m in reading_modes():
        for p in m.phases:
            if p.condition == condition:
                return p.condition_label
    return None


def comparisons(kind: str) -> tuple[Comparison, ...]:
    """Every registered mode's comparisons of ``kind``, in registration order."""
    return tuple(c for m in reading_modes() for c in m.comparisons if c.kind == kind)


def no_ai_error(study: str | Path, mode: str) -> StudyError:
    """The refusal for an AI mode on a study without ``ai/scores.csv``."""
    return StudyError(
        f"This study cannot be read in '{mode}' mode: it has no AI outputs "
        f"({Path(study) / AI_DIR / AI_SCORES_NAME} is missing). Read it in '{DEFAULT_MODE}' mode, "
        "or ask the coordinator for the package with the model's scores (knee-model writes them)"
    )


def check_mode_allowed(manifest: Manifest, mode: str) -> str:
    """Return ``mode``, or raise :class:`OptionError` when it is unknown or the study does not
    allow it."""
    get_mode(mode)
    if mode not in manifest.reading_modes:
        raise OptionError("mode", f"a mode this study allows ({', '.join(manifest.reading_modes)})", mode)
    return mode


def check_reading_mode(study: str | Path, manifest: Manifest, mode: str) -> str:
    """Return ``mode`` if ``study`` can be read in it; raise :class:`OptionError` for a mode the
    study does not allow and :class:`StudyError` for an AI mode without AI outputs."""
    check_mode_allowed(manifest, mode)
    if get_mode(mode).needs_ai and not (Path(study) / AI_DIR / AI_SCORES_NAME).is_file():
        raise no_ai_error(study, mode)
    return mode
