"""Agreement between raters beyond chance.

- Cohen's kappa for two raters: ``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from each rater's
  own marginals (Cohen 1960).
- Fleiss' kappa for any number of raters rating every item (Fleiss 1971), from the
  (n_items, n_categories) table of how many raters put each item in each category.
"""

from __future__ import annotations

import numpy as np

from studies.errors import OptionError


def cohen_kappa(first: np.ndarray, second: np.ndarray) -> float:
    """Cohen's kappa of two raters' labels (any hashable labels), shape (n_items,) each.

    Returns NaN when chance agreement is 1 (both raters used one and the same label).
    """
    a = np.asarray(first)
    b = np.asarray(second)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise OptionError("second", f"labels for the same {a.size} items", b.shape)
    labels = np.unique(np.concatenate([a, b]))
    pa = np.array([(a == v).mean() for v in labels])
    pb = np.array([(b == v).mean() for v in labels])
    po = float((a == b).mean())
    pe = float((pa * pb).sum())
    return float("nan") if pe >= 1.0 else (po - pe) / (1 - pe)


def fleiss_kappa_from_labels(labels: np.ndarray) -> float:
    """Fleiss' kappa from a (n_items, n_raters) array of labels (no missing values)."""
    x = np.asarray(labels)
    if x.ndim != 2 or x.shape[1] < 2:
        raise OptionError("labels", "a (n_items, n_raters >= 2) array", x.shape)
    cats = np.unique(x)
    counts = np.stack([(x == v).sum(axis=1) for v in cats], axis=1)
    return fleiss_kappa(counts)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from counts (n_items, n_categories); every row sums to the rater count."""
    t = np.asarray(counts, dtype=float)
    if t.ndim != 2 or t.shape[0] < 1:
        raise OptionError("counts", "a (n_items, n_categories) table", t.shape)
    m = t.sum(axis=1)
    if not np.allclose(m, m[0]) or m[0] < 2:
        raise OptionError(
            "counts", "the same number (>= 2) of ratings for every item", sorted(set(m))
        )
    m = m[0]
    p_j = t.sum(axis=0) / t.sum()
    p_i = ((t * t).sum(axis=1) - m) / (m * (m - 1))
    p_bar = p_i.mean()
    p_e = (p_j**2).sum()
    return float("nan") if p_e >= 1.0 else float((p_bar - p_e) / (1 - p_e))
