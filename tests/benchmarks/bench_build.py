"""Benchmark: build a 150-pair package from a full-size synthetic cohort (600 volumes).

Prints volumes converted per second with 1 and 2 worker processes and the speed-up.
Setup (not timed as conversion): the cohort's tables are generated once and the chosen
knees' full-size images are materialized by a first build; the cohort is cached in
``$BENCH_BUILD_COHORT`` (default under the system temp folder) so later runs skip it.

``BENCH_BUILD_PAIRS`` (default 150) scales the run down for a quick look, e.g. 10 pairs =
40 volumes.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from studies.builder import BuildOptions, build_study
from studies.pairs import SamplingConfig
from studies.synth import generate_cohort


def _cohort(pairs: int) -> Path:
    patients = max(40, int(pairs * 260 / 150) + 20)  # enough knees in every stratum
    default = Path(tempfile.gettempdir()) / f"knee-bench-full-{patients}"
    root = Path(os.environ.get("BENCH_BUILD_COHORT", default))
    if not (root / "synthetic" / "cohort.json").is_file():
        generate_cohort(root, patients=patients, seed=0, size="full", progressor_rate=0.5, images="none", force=True)
    return root


def _build(cohort: Path, out: Path, pairs: int, workers: int) -> float:
    opts = BuildOptions(sampling=SamplingConfig(n_pairs=pairs, seed=0), workers=workers, force=True)
    t0 = time.perf_counter()
    build_study(cohort, out / "study", out / "key.json", opts)
    return time.perf_counter() - t0


def test_bench_build(tmp_path):
    pairs = int(os.environ.get("BENCH_BUILD_PAIRS", "150"))
    volumes = 4 * pairs
    cohort = _cohort(pairs)
    setup = _build(cohort, tmp_path / "warm", pairs, workers=2)  # materializes the chosen knees
    print(f"\nbench_build: {pairs} pairs, {volumes} full-size volumes; cohort {cohort}")
    print(f"  first build (materialize + convert, 2 workers): {setup:.1f} s")
    rates = {}
    for workers in (1, 2):
        t = _build(cohort, tmp_path / f"w{workers}", pairs, workers)
        rates[workers] = volumes / t
        print(f"  workers={workers}: {t:.1f} s, {rates[workers]:.2f} volumes/s")
    print(f"  speed-up 1 -> 2 workers: {rates[2] / rates[1]:.2f}x (cores: {os.cpu_count()})")
    assert rates[1] > 0 and rates[2] > 0
