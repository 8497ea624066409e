"""Rendering and writing the synthetic series: a folder of slice files (``oai``) or a ``.tar.gz`` (``nda``).

A series' pixels depend on its ground-truth row (the knee's anatomy at that visit), its grid
(sequence, side, size) and a noise stream seeded by the seed, the knee-visit, the sequence and
the repeat index, so every series can be rendered on its own, in any process, in any order.
The two styles write the same slice bytes; only the container differs.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from studies.atomic import atomic_directory
from studies.package import SEQUENCES
from studies.parallel import parallel_map
from studies.progress import Progress
from studies.synth.anatomy import OSTEOPHYTE_MM, KneeAnatomy, render_labels
from studies.synth.archive import study_mtime, write_tar_series
from studies.synth.contrast import render_image
from studies.synth.dicom import series_slices, write_series
from studies.synth.geometry import Grid, series_grid
from studies.synth.layout import SeriesRecord

#: Sub-voxels per voxel (slice, row, column) for partial volume; full size is fine enough without.
SUPERSAMPLE = {"small": (1, 2, 2), "full": (1, 1, 1)}
SIDES_CODE = {"right": 1, "left": 2}

def knee_anatomy(row) -> KneeAnatomy:
    """The phantom's parameters from one ground-truth row."""
    return KneeAnatomy(
        side=row.side, jsw_medial_mm=float(row.jsw_mm), jsw_lateral_mm=float(row.jsw_lateral_mm),
        scale=float(row.scale), shift_m_mm=float(row.shift_m_mm), shift_s_mm=float(row.shift_s_mm),
        fat_mm=float(row.fat_mm), effusion=int(row.effusion), bml=bool(row.bml), bml_bone=str(row.bml_bone),
        bml_m_mm=float(row.bml_m_mm), bml_a_mm=float(row.bml_a_mm), bml_size_mm=float(row.bml_size_mm),
        osteophyte_mm=OSTEOPHYTE_MM[int(row.kl_grade)],
    )


def _noise_rng(seed: int, record: SeriesRecord) -> np.random.Generator:
    key = [int(seed), int(record.participant_id), SIDES_CODE[record.side], record.visit_month,
           SEQUENCES.index(record.sequence)]
    if record.repeat:
        key.append(record.repeat)
    return np.random.default_rng(np.random.SeedSequence(key))


def render_series(params: dict, row, record: SeriesRecord) -> tuple[np.ndarray, Grid]:
    """Pixels (uint16, slice/row/column, the whole volume) and grid of one series, from its ground-truth row."""
    grid = series_grid(params["size"], record.sequence, record.side)
    factors = SUPERSAMPLE[params["size"]]
    labels = render_labels(knee_anatomy(row), grid.oversampled(factors))
    return render_image(labels, grid, record.sequence, _noise_rng(params["seed"], record), factors), grid


def series_present(root: Path, record: SeriesRecord, style: str) -> bool:
    """True when the series is on disk (its last slice file, or its archive)."""
    path = root / record.rel_path(style)
    return path.is_file() if style == "nda" else (path / f"{record.n_slices:03d}").is_file()


def write_one(root: Path, params: dict, row: dict, record: SeriesRecord, atomic: bool) -> None:
    """Render one series from its ground-truth row and write it under ``root`` in ``params['style']``."""
    r = SimpleNamespace(**row)
    pixels, grid = render_series(params, r, record)
    dest = root / record.rel_path(params["style"])
    if params["style"] == "nda":
        files = series_slices(pixels, grid, record, sex=r.sex, age_years=r.age)
        tmp = dest.with_name(dest.name + ".partial") if atomic else dest
        write_tar_series(tmp, files, mtime=study_mtime(record.study_date))
        if atomic:
            os.replace(tmp, dest)
    elif atomic:
        with atomic_directory(dest, force=True) as tmp:
            write_series(tmp, pixels, grid, record, sex=r.sex, age_years=r.age)
    else:
        write_series(dest, pixels, grid, record, sex=r.sex, age_years=r.age)


def _write_job(job: tuple) -> None:
    write_one(*job)


def default_workers() -> int:
    """Worker processes the CLI uses to write a cohort: up to 2 (the project's machines have 2 cores)."""
    return max(1, min(2, os.cpu_count() or 1))


def write_images(root: Path, params: dict, truth: pd.DataFrame, records: list[SeriesRecord], progress: Progress,
                 *, atomic: bool, workers: int) -> int:
    """Write ``records`` (each series is independent and seeded, so order and workers do not matter)."""
    rows = {(r["participant_id"], r["side"], int(r["visit_month"])): r for r in truth.to_dict("records")}
    jobs = [(root, params, rows[(rec.participant_id, rec.side, rec.visit_month)], rec, atomic) for rec in records]
    parallel_map(_write_job, jobs, workers=workers if len(jobs) >= 8 else 1, progress=progress)
    return len(jobs)
