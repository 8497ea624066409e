"""Cross-validation speed: 9,280 bags of 8 x 1280 features, 5 folds, on this machine's CPUs.

Goal: under 2 minutes on 2 cores. Prints the wall time, the automatic epoch count
and the pooled ROC AUC of a planted slice signal (so a fast but broken run shows).
Then the demo's size (260 bags, 5 folds) with the folds fitted one after the other and in 2
processes (``workers=2``), twice each, alternating, wall and CPU seconds (the processes'
included): the first parallel run starts the fold server (it imports torch once).
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np
import torch

from model.cv import cross_validate

N_BAGS, N_SLICES, N_FEATURES, N_PATIENTS = 9280, 8, 1280, 2320


def test_cv_9280_bags():
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    y = (rng.random(N_BAGS) < 0.09).astype(int)
    X = rng.normal(size=(N_BAGS, N_SLICES, N_FEATURES)).astype(np.float32)
    pos = np.flatnonzero(y)
    X[pos, 3:5, :16] += 0.6
    C = rng.normal(size=(N_BAGS, 6)).astype(np.float32)
    groups = np.repeat(np.arange(N_PATIENTS), N_BAGS // N_PATIENTS)
    t0 = time.perf_counter()
    res = cross_validate(X, C, y, groups, folds=5, seed=0)
    seconds = time.perf_counter() - t0
    auc = res.metrics["mil"]["pooled"]["roc_auc"]
    print(f"\ncv: {N_BAGS} bags x {N_SLICES} x {N_FEATURES}, 5 folds, {res.epochs} epochs/fold, "
          f"torch threads {torch.get_num_threads()}: {seconds:.1f} s (goal < 120 s); pooled ROC AUC {auc:.3f}; "
          f"image-only baseline {res.metrics['image_logreg']['pooled']['roc_auc']:.3f}")
    assert auc > 0.7


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def test_cv_demo_size_folds_in_parallel():
    rng = np.random.default_rng(1)
    n = 260
    y = (rng.random(n) < 0.3).astype(int)
    X = rng.normal(size=(n, N_SLICES, N_FEATURES)).astype(np.float32)
    X[np.flatnonzero(y), 3:5, :16] += 0.6
    C = rng.normal(size=(n, 6)).astype(np.float32)
    groups = np.repeat(np.arange(n // 2), 2)
    runs = {}
    for workers in (1, 2, 1, 2):
        t0, c0 = time.perf_counter(), _cpu()
        res = cross_validate(X, C, y, groups, folds=5, seed=0, workers=workers)
        runs.setdefault(workers, []).append((time.perf_counter() - t0, _cpu() - c0, res.proba["mil"]))
    print(f"\ncv at the demo's size ({n} bags, 5 folds, {res.epochs} epochs/fold; load "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}):")
    for workers, rs in runs.items():
        print(f"  workers={workers}: " + ", ".join(f"{s:.1f} s wall {c:.1f} s CPU" for s, c, _ in rs))
    np.testing.assert_array_equal(runs[1][0][2], runs[2][1][2])
