"""Benchmark: full-size synthetic volumes per second (label map + contrast + noise + DICOM)."""

from __future__ import annotations

import time

from studies.synth import generate_cohort
from studies.synth.anatomy import render_labels
from studies.synth.cohort import _anatomy, default_workers, load_synthetic, render_series
from studies.synth.geometry import series_grid
from studies.synth.layout import series_record


def test_full_size_volumes_per_second(tmp_path):
    out = generate_cohort(tmp_path / "full", patients=2, seed=1, size="full", images="baseline", workers=default_workers())
    n_series = sum(1 for p in out.glob("00m/*/*/*/*") if p.is_dir())
    params, truth = load_synthetic(out)
    row = next(truth[truth.visit_month == 0].itertuples(index=False))
    for seq in ("cor_iw_tse", "sag_3d_dess"):
        grid = series_grid("full", seq, row.side)
        t0 = time.perf_counter()
        render_labels(_anatomy(row), grid)
        t1 = time.perf_counter()
        rec = series_record(1, row.participant_id, row.side, 0, seq, row.study_date)
        render_series(params, row, rec)
        t2 = time.perf_counter()
        print(f"\nsynth full {seq} {grid.shape}: label map {t1 - t0:.2f} s, label map + image {t2 - t1:.2f} s")
    t0 = time.perf_counter()
    generate_cohort(tmp_path / "again", patients=2, seed=1, size="full", images="baseline", workers=default_workers())
    dt = time.perf_counter() - t0
    print(f"synth full: {n_series} series (half COR 36 slices, half SAG 160 slices, written as DICOM by "
          f"{default_workers()} workers) in {dt:.1f} s = {n_series / dt:.2f} full-size volumes/s")
    assert n_series >= 2
