"""The per-reader reading order: which pair comes when, and which knee sits on the left.

Each reader sees the pairs in an order of their own, and each pair's two knees placed left
and right at random, so that neither the package's pair order nor its case order can carry
a pattern from one reader to the next. Both come from one integer seed derived from the study
id and the reader id (:func:`reader_seed`). The decisions store writes the seed and the whole
order into the reader's file when it is created; resuming reads them back and never reshuffles.

Left/right balance: within the scored pairs, exactly ``n // 2`` of them put the manifest's
first-listed case on the left (one more when ``n`` is odd, chosen at random), the assignment
shuffled. The order does not know which case progressed (the package must not tell), so this
balances the progressor's side over the study as long as the study builder lists the two cases
of a pair in random order, which the package contract requires. Practice pairs come first, in
the manifest's order (a coordinator may sort them from easy to hard), with their own balance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from studies.package import Manifest, Pair


@dataclass(frozen=True)
class OrderedPair:
    """One pair as a reader sees it: ``left_case`` is shown on the left (A), ``right_case`` on
    the right (B)."""

    pair_id: str
    left_case: str
    right_case: str
    practice: bool

    def side_of(self, case_id: str) -> str:
        """``"left"`` or ``"right"``: where ``case_id`` is shown (``ValueError`` if in neither)."""
        if case_id == self.left_case:
            return "left"
        if case_id == self.right_case:
            return "right"
        raise ValueError(f"case {case_id!r} is not in pair {self.pair_id!r}")

    def case_on(self, side: str) -> str:
        """The case id shown on ``side`` (``"left"`` or ``"right"``)."""
        if side == "left":
            return self.left_case
        if side == "right":
            return self.right_case
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")


def reader_seed(study_id: str, reader_id: str) -> int:
    """A 63-bit seed from SHA-256 of the study id and the reader id (stable across versions)."""
    digest = hashlib.sha256(f"knee-reader-order\x00{study_id}\x00{reader_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _place(pairs: list[Pair], rng: np.random.Generator, practice: bool) -> list[OrderedPair]:
    n = len(pairs)
    first_left = np.zeros(n, dtype=bool)
    first_left[: n // 2] = True
    if n % 2:
        first_left[n // 2] = bool(rng.integers(2))
    rng.shuffle(first_left)
    out = []
    for pair, fl in zip(pairs, first_left, strict=True):
        a, b = pair.cases
        left, right = (a, b) if fl else (b, a)
        out.append(OrderedPair(pair.pair_id, left, right, practice))
    return out


def reader_order(manifest: Manifest, reader_id: str, seed: int | None = None) -> list[OrderedPair]:
    """The reading order of ``reader_id`` for ``manifest``: practice pairs first (manifest
    order), then the scored pairs shuffled; each pair's sides assigned as described above.

    ``seed`` defaults to :func:`reader_seed` of the study and reader ids.
    """
    if seed is None:
        seed = reader_seed(manifest.study_id, reader_id)
    rng = np.random.default_rng(seed)
    practice = _place(list(manifest.practice_pairs), rng, practice=True)
    scored = _place(list(manifest.pairs), rng, practice=False)
    perm = rng.permutation(len(scored))
    return [*practice, *(scored[i] for i in perm)]
