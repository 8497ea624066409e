"""A simulated reader: answers a study through the same decisions store as the reader app.

For demos, power analysis and tests. The simulated reader picks the key's progressor with
probability ``accuracy``, independently per pair and phase, from a generator seeded by
``(seed, position in the reading order, mode)``, so an interrupted run, resumed, writes exactly what
an uninterrupted one would have. ``delay`` seconds pass before each answer (it counts as the
answer's active time), which lets a test kill the process mid-study.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studies.decisions.ledger import PHASES, DecisionRow
from studies.decisions.modes import DEFAULT_MODE, check_reading_mode, get_mode, mode_names
from studies.decisions.order import reader_seed
from studies.decisions.store import DecisionStore
from studies.errors import OptionError
from studies.package import decisions_path, load_key, load_manifest, verify_key


@dataclass(frozen=True)
class SimulationResult:
    path: Path
    committed: int  # answers written by this run
    already: int  # pairs already answered before it (a resumed run)
    correct: int  # of this run's final answers, how many chose the progressor
    total: int  # pairs in the study, practice included


def simulate_reader(
    study: str | Path,
    key_path: str | Path,
    reader_id: str,
    accuracy: float,
    *,
    seed: int | None = None,
    delay: float = 0.0,
    mode: str = DEFAULT_MODE,
    on_decision: Callable[[DecisionRow, int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SimulationResult:
    """Answer every unanswered pair of ``study`` as ``reader_id``; return what was written.

    ``accuracy`` is the probability (0..1) of choosing the progressor; ``seed`` defaults to
    the reader's order seed; ``delay`` is seconds per answer. ``on_decision(row, n, total)``
    is called after each answer is committed (``n``: 1-based position of the pair in the
    reader's order). The key must match the study's manifest.
    """
    if not (isinstance(accuracy, int | float) and 0.0 <= accuracy <= 1.0):
        raise OptionError("accuracy", "a probability from 0 to 1", accuracy)
    if not delay >= 0.0:
        raise OptionError("delay", "a number of seconds >= 0", delay)
    study = Path(study)
    manifest = load_manifest(study)
    verify_key(study, key_path)
    key = load_key(key_path)
    check_reading_mode(study, manifest, mode)
    progressor = {p["pair_id"]: p["progressor"] for p in [*key.get("practice_pairs", []), *key["pairs"]]}
    seed = reader_seed(manifest.study_id, reader_id) if seed is None else int(seed)
    scale = manifest.confidence_scale
    reading = get_mode(mode)

    with DecisionStore.open(decisions_path(study, reader_id), reader_id, manifest, mode) as store:
        if store.has_person_sessions():
            raise OptionError(
                "reader",
                "a reader id for simulated answers only (a person has read under this one; "
                "simulated answers added to their record could never be told apart)",
                reader_id,
            )
        already = len(store.answered_pair_ids())
        store.session_start(mode, simulated=True)
        committed = correct = 0
        total = len(store.order)
        for position, pair in enumerate(store.order):
            if store.answer(pair.pair_id, "final") is not None:
                continue
            rng = np.random.default_rng([seed, position, mode_names().index(mode)])
            draws = {ph: (rng.random(), rng.random()) for ph in PHASES}
            for phase in reading.phase_names:
                if store.answer(pair.pair_id, phase) is not None:
                    continue  # resumed between the answers of a pair's phases
                hit, fallback = draws[phase]
                truth = progressor.get(pair.pair_id)
                if truth is None:  # a key without practice answers: guess
                    chosen = pair.left_case if fallback < 0.5 else pair.right_case
                else:
                    other = pair.right_case if truth == pair.left_case else pair.left_case
                    chosen = truth if hit < accuracy else other
                confidence = None
                if scale:
                    lo, hi = int(scale.get("min", 1)), int(scale.get("max", 5))
                    confidence = lo + int(fallback * (hi - lo + 1))
                started, t0 = time.time(), time.monotonic()
                if delay:
                    sleep(delay)
                row = store.commit_decision(
                    pair.pair_id, chosen, phase=phase, confidence=confidence, mode=mode,
                    ai_shown=reading.ai_shown(phase),
                    started_at=started, decided_at=max(time.time(), started),
                    active_seconds=time.monotonic() - t0,
                )
                committed += 1
                if phase == "final":
                    correct += int(chosen == truth)
                if on_decision is not None:
                    on_decision(row, position + 1, total)
        store.session_stop()
    return SimulationResult(store.path, committed, already, correct, total)
