"""Benchmark: full-size synthetic volumes per second (label map + contrast + noise + DICOM), in both styles.

The ``oai`` style writes each series as a folder of slice files, the ``nda`` style as one
``.tar.gz``: the rendering is the same, the figures show what the archive costs.
"""

from __future__ import annotations

import time

import pandas as pd

from studies.synth import generate_cohort, load_synthetic
from studies.synth.anatomy import render_labels
from studies.synth.geometry import series_grid
from studies.synth.images import default_workers, knee_anatomy, render_series
from studies.synth.layout import knee_visit_series
from studies.synth.truth import quirks_of


def _du(root) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_full_size_volumes_per_second(tmp_path):
    out = generate_cohort(tmp_path / "full", patients=2, seed=1, size="full", images="baseline", workers=default_workers())
    params, truth = load_synthetic(out)
    row = next(truth[truth.visit_month == 0].itertuples(index=False))
    for rec in knee_visit_series(1, quirks_of(params), "full", row):
        grid = series_grid("full", rec.sequence, row.side)
        t0 = time.perf_counter()
        render_labels(knee_anatomy(row), grid)
        t1 = time.perf_counter()
        render_series(params, row, rec)
        t2 = time.perf_counter()
        print(f"\nsynth full {rec.sequence} {grid.shape}: label map {t1 - t0:.2f} s, label map + image {t2 - t1:.2f} s")
    for style in ("oai", "nda"):
        t0 = time.perf_counter()
        again = generate_cohort(tmp_path / style, patients=2, seed=1, size="full", images="baseline", style=style,
                                workers=default_workers())
        dt = time.perf_counter() - t0
        series = pd.read_csv(again / "synthetic" / "series.csv")
        n_series = int((series.visit_month == 0).sum())
        print(f"synth full, {style} style: {n_series} series (COR 35 slices, DESS 160 slices, written by "
              f"{default_workers()} workers) in {dt:.1f} s = {n_series / dt:.2f} full-size volumes/s, "
              f"{_du(again) / 1e6:.0f} MB on disk")
        assert n_series >= 2
