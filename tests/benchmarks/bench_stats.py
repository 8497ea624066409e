"""Benchmark: 10 readers x 150 pairs, 10,000 paired bootstrap resamples, whole analysis < 2 s."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from studies.analysis import analyze_scored
from studies.stats.paired import paired_bootstrap


def synthetic_scored(n_readers: int = 10, n_pairs: int = 150, seed: int = 0):
    rng = np.random.default_rng(seed)
    pairs = [f"P{i:03d}" for i in range(n_pairs)]
    prog = [f"K{2 * i:05d}" for i in range(n_pairs)]
    non = [f"K{2 * i + 1:05d}" for i in range(n_pairs)]
    strata = rng.choice(["almost_certain", "likely", "doubtful"], n_pairs)
    key = pd.DataFrame(
        {
            "pair_id": pairs,
            "progressor": prog,
            "non_progressor": non,
            "stratum": strata,
            "jsn_mm": -0.8,
        }
    )
    rows = []
    for j in range(n_readers):
        for cond in ("unaided", "aided"):
            right = rng.random(n_pairs) < (0.58 if cond == "unaided" else 0.63)
            left_is_prog = rng.random(n_pairs) < 0.5
            for i in range(n_pairs):
                chosen = prog[i] if right[i] else non[i]
                rows.append(
                    {
                        "reader": f"r{j:02d}",
                        "pair_id": pairs[i],
                        "condition": cond,
                        "mode": cond,
                        "phase": "final",
                        "case_left": prog[i] if left_is_prog[i] else non[i],
                        "case_right": non[i] if left_is_prog[i] else prog[i],
                        "chosen_case": chosen,
                        "confidence": int(rng.integers(1, 6)),
                        "active_seconds": float(rng.gamma(4, 10)),
                        "flagged": False,
                        "correct": float(right[i]),
                    }
                )
    scored = pd.DataFrame(rows).merge(key, on="pair_id")
    scores = pd.Series(
        np.r_[rng.normal(0.6, 0.15, n_pairs), rng.normal(0.45, 0.15, n_pairs)], index=prog + non
    )
    return scored, key, scores


def test_bench_full_analysis_10_readers_150_pairs_10000_bootstrap():
    scored, key, scores = synthetic_scored()
    analyze_scored(scored.head(600), key, scores, n_boot=100)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    res = analyze_scored(scored, key, scores, n_boot=10_000)
    elapsed = time.perf_counter() - t0
    n = res.tables["reader_vs_ai"]["n_boot"].iloc[0]
    print(
        f"\nbench_stats: full analysis, 10 readers x 2 conditions x 150 pairs, {n} bootstrap resamples: "
        f"{elapsed:.3f} s"
    )
    assert n == 10_000 and len(res.tables["reader_vs_ai"]) == 20
    assert elapsed < 2.0


def test_bench_paired_bootstrap_alone():
    rng = np.random.default_rng(1)
    readers = (rng.random((10, 150)) < 0.58).astype(float)
    ai = (rng.random(150) < 0.65).astype(float)
    t0 = time.perf_counter()
    res = paired_bootstrap(readers, ai, n_boot=10_000)
    elapsed = time.perf_counter() - t0
    print(
        f"\nbench_stats: paired bootstrap, 10 readers x 150 pairs x 10,000 resamples: {elapsed * 1000:.1f} ms"
    )
    assert res.ci.shape == (10, 2) and elapsed < 2.0
