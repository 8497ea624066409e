"""The study's plan: random ids, random orders, and what goes into the manifest and the key.

Decided before anything is written, from one generator seeded by the build's seed (a stream
separate from the sampling's). Case ids are ``K`` + 6 random base-32 characters and study ids
``S`` + 8, independent of any source id; pairs are listed in a random order, numbered
``P001``... in that order (practice ``X01``...), each with its two cases in random order;
the volumes are converted (written) in a random order too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from studies.package import IMAGES_DIR, SEQUENCES, Case, Pair
from studies.pairs import SelectedPair
from studies.vocabulary import clinical_values

#: RFC 4648 base-32 alphabet for case and study ids.
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
BASELINE_VISIT = "00m"


def random_token(rng: np.random.Generator, prefix: str, n: int = 6) -> str:
    """``prefix`` + ``n`` random base-32 characters."""
    return prefix + "".join(ID_ALPHABET[i] for i in rng.integers(0, len(ID_ALPHABET), size=n))


def _unique_tokens(rng: np.random.Generator, prefix: str, count: int) -> list[str]:
    seen: list[str] = []
    while len(seen) < count:
        t = random_token(rng, prefix)
        if t not in seen:
            seen.append(t)
    return seen


def _source(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "participant_id": str(row["participant_id"]),
        "side": row["side"],
        "visit": BASELINE_VISIT,
    }


def _key_entry(pair_id: str, prog_id: str, non_id: str, sp: SelectedPair) -> dict[str, Any]:
    return {
        "pair_id": pair_id,
        "progressor": prog_id,
        "non_progressor": non_id,
        "jsn_mm": _mm(sp.progressor["jsn_mm"]),
        "non_progressor_jsn_mm": _mm(sp.non_progressor["jsn_mm"]),
        "stratum": sp.stratum,
        "progressor_source": _source(sp.progressor),
        "non_progressor_source": _source(sp.non_progressor),
        "match_relaxed": sp.match_relaxed,
    }


def _mm(x: float) -> float:
    return round(float(x), 3) if math.isfinite(x) else x


@dataclass
class StudyPlan:
    """Ids, order and files of a study, decided before anything is written.

    ``jobs`` are (source image, side, destination relative to the package) per volume.
    """

    study_id: str
    cases: dict[str, Case]
    pairs: list[Pair]
    practice: list[Pair]
    key_pairs: list[dict[str, Any]]
    key_practice: list[dict[str, Any]]
    jobs: list[tuple[str, str, str]]


def plan_study(selected: list[SelectedPair], seed: int) -> StudyPlan:
    """Give the drawn pairs random case ids, a random order and a random within-pair order.

    Everything comes from a generator seeded by ``seed`` (a stream separate from the
    sampling's); case ids are drawn independently of the source ids. Pair ids number the
    pairs in their (random) manifest order: ``P001``... and practice ``X01``...
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    study_id = random_token(rng, "S", 8)
    ids = iter(_unique_tokens(rng, "K", 2 * len(selected)))
    plan = StudyPlan(study_id, {}, [], [], [], [], [])
    for is_practice in (False, True):
        group = [p for p in selected if p.practice == is_practice]
        for i, j in enumerate(rng.permutation(len(group)), 1):
            sp = group[j]
            pair_id = f"X{i:02d}" if is_practice else f"P{i:03d}"
            prog_id, non_id = next(ids), next(ids)
            for cid, row in ((prog_id, sp.progressor), (non_id, sp.non_progressor)):
                images = {s: f"{IMAGES_DIR}/{cid}_{s}.nii.gz" for s in SEQUENCES}
                plan.cases[cid] = Case(case_id=cid, images=images, clinical=clinical_values(row))
                plan.jobs += [(str(row[s]), row["side"], images[s]) for s in SEQUENCES]
            order = (prog_id, non_id) if rng.random() < 0.5 else (non_id, prog_id)
            (plan.practice if is_practice else plan.pairs).append(Pair(pair_id, order))
            entry = _key_entry(pair_id, prog_id, non_id, sp)
            (plan.key_practice if is_practice else plan.key_pairs).append(entry)
    plan.cases = dict(sorted(plan.cases.items()))
    # volumes are written in this order: listed pair by pair, progressor first, the files'
    # mtimes and inode numbers would tell each pair's progressor (``ls -t``, ``ls -i``)
    plan.jobs = [plan.jobs[i] for i in rng.permutation(len(plan.jobs))]
    return plan
