"""Generate a synthetic cohort in the OAI's layout, and rebuild any of its images later.

``generate_cohort`` draws the population, writes the OAI tables, each visit's
``contents.csv``, ``synthetic/cohort.json`` and ``synthetic/ground_truth.csv``, then the DICOM
series of the knees asked for (``images``), all inside a temporary folder renamed into place
when complete. ``materialize`` renders the images of chosen knees from ``cohort.json`` and
``ground_truth.csv`` alone, byte-for-byte as ``generate_cohort`` would have.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from studies.atomic import atomic_directory, check_output_dir, write_text_atomic
from studies.errors import InputFileError, OptionError
from studies.package import SEQUENCES
from studies.parallel import parallel_map
from studies.synth.anatomy import OSTEOPHYTE_MM, KneeAnatomy, Label, render_labels
from studies.synth.contrast import render_image
from studies.synth.dicom import write_series
from studies.synth.geometry import SIZES, Grid, check_size, series_grid
from studies.synth.layout import (
    VISIT_FOLDERS,
    SeriesRecord,
    contents_csv,
    series_record,
    series_records,
)
from studies.synth.population import draw_population
from studies.synth.tables import write_tables

#: Recorded in cohort.json; 1.1: the planted sign is 14-24 mm and dark on the COR IW TSE.
GENERATOR_VERSION = "1.1"
IMAGES_CHOICES = ("all", "baseline", "none")
SYNTHETIC_DIR = "synthetic"
GROUND_TRUTH_NAME = "ground_truth.csv"
COHORT_JSON_NAME = "cohort.json"
#: Sub-voxels per voxel (slice, row, column) for partial volume; full size is fine enough without.
SUPERSAMPLE = {"small": (1, 2, 2), "full": (1, 1, 1)}

Progress = Callable[[int, int], None] | None


def _check_options(patients, seed, size, progressor_rate, images) -> None:
    if isinstance(patients, bool) or not isinstance(patients, int | np.integer) or patients < 1:
        raise OptionError("patients", "an int >= 1", patients)
    if patients > 999_999:
        raise OptionError("patients", "an int <= 999999 (participant ids have 7 digits)", patients)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise OptionError("seed", "an int >= 0", seed)
    check_size(size)
    if progressor_rate is not None and not (isinstance(progressor_rate, int | float) and 0 < progressor_rate < 1):
        raise OptionError("progressor-rate", "a number strictly between 0 and 1 (e.g. 0.5)", progressor_rate)
    if images not in IMAGES_CHOICES:
        raise OptionError("images", f"one of {', '.join(map(repr, IMAGES_CHOICES))}", images)


def generate_cohort(
    out_dir: str | Path,
    *,
    patients: int,
    seed: int = 0,
    size: str = "small",
    progressor_rate: float | None = None,
    images: str = "all",
    force: bool = False,
    progress: Progress = None,
    workers: int | None = None,
) -> Path:
    """Write a synthetic OAI-format cohort to ``out_dir`` and return its path.

    ``images``: 'all' (every series), 'baseline' (00m series only) or 'none'; contents.csv
    lists every series either way and :func:`materialize` writes the rest on demand.
    ``progress(done, total)`` is called as series are written. A non-empty ``out_dir`` is
    refused unless ``force``. ``workers``: processes writing images (default 1; more need the
    calling script to be importable, i.e. guarded by ``if __name__ == "__main__":``, since
    workers are spawned).
    Raises :class:`studies.errors.OptionError` for bad options.
    """
    _check_options(patients, seed, size, progressor_rate, images)
    out = check_output_dir(out_dir, force=force)
    pop = draw_population(int(patients), int(seed), progressor_rate)
    params = {
        "generator": "studies.synth", "version": GENERATOR_VERSION, "seed": int(seed), "patients": int(patients),
        "size": size, "progressor_rate": progressor_rate, "images": images,
        "series_shapes": {seq: {"shape": list(s.shape), "spacing_mm": list(s.spacing)} for seq, s in SIZES[size].items()},
    }
    with atomic_directory(out, force=force) as tmp:
        write_tables(tmp, pop)
        synth = tmp / SYNTHETIC_DIR
        write_text_atomic(synth / COHORT_JSON_NAME, json.dumps(params, indent=2) + "\n")
        write_text_atomic(synth / GROUND_TRUTH_NAME, pop.knees.to_csv(index=False))
        truth = _read_truth(synth / GROUND_TRUTH_NAME)
        records = series_records(int(seed), truth)
        for month, folder in VISIT_FOLDERS.items():
            write_text_atomic(tmp / folder / "contents.csv", contents_csv([r for r in records if r.visit_month == month]))
        if images != "none":
            chosen = [r for r in records if images == "all" or r.visit_month == 0]
            _write_images(tmp, params, truth, chosen, progress, atomic=False,
                          workers=1 if workers is None else workers)
        elif progress is not None:
            progress(0, 0)
    return out


_TEXT_COLUMNS = ("participant_id", "study_date", "jsw_table_code", "womac_table_code", "kl_table_code")


def _read_truth(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(path, f"cannot read the ground-truth table: {exc}",
                             hint="Regenerate the cohort with 'knee-study synth-cohort'") from exc
    for col in _TEXT_COLUMNS:
        if col in df:
            df[col] = df[col].fillna("")
    return df


def _anatomy(row) -> KneeAnatomy:
    return KneeAnatomy(
        side=row.side, jsw_medial_mm=float(row.jsw_mm), jsw_lateral_mm=float(row.jsw_lateral_mm),
        scale=float(row.scale), shift_m_mm=float(row.shift_m_mm), shift_s_mm=float(row.shift_s_mm),
        fat_mm=float(row.fat_mm), effusion=int(row.effusion), bml=bool(row.bml), bml_bone=str(row.bml_bone),
        bml_m_mm=float(row.bml_m_mm), bml_a_mm=float(row.bml_a_mm), bml_size_mm=float(row.bml_size_mm),
        osteophyte_mm=OSTEOPHYTE_MM[int(row.kl_grade)],
    )


def _noise_rng(seed: int, record: SeriesRecord) -> np.random.Generator:
    key = [int(seed), int(record.participant_id), SIDES_CODE[record.side], record.visit_month, SEQUENCES.index(record.sequence)]
    return np.random.default_rng(np.random.SeedSequence(key))


SIDES_CODE = {"right": 1, "left": 2}


def render_series(params: dict, row, record: SeriesRecord) -> tuple[np.ndarray, Grid]:
    """Pixels (uint16, slice/row/column) and grid of one series, from its ground-truth row."""
    grid = series_grid(params["size"], record.sequence, record.side)
    factors = SUPERSAMPLE[params["size"]]
    labels = render_labels(_anatomy(row), grid.oversampled(factors))
    return render_image(labels, grid, record.sequence, _noise_rng(params["seed"], record), factors), grid


def _write_one(root: Path, params: dict, row: dict, record: SeriesRecord, atomic: bool) -> None:
    """Render one series from its ground-truth row and write it under ``root``."""
    r = SimpleNamespace(**row)
    pixels, grid = render_series(params, r, record)
    dest = root / record.path
    if atomic:
        with atomic_directory(dest, force=True) as tmp:
            write_series(tmp, pixels, grid, record, sex=r.sex, age_years=r.age)
    else:
        write_series(dest, pixels, grid, record, sex=r.sex, age_years=r.age)


def _write_job(job: tuple) -> None:
    _write_one(*job)


def default_workers() -> int:
    """Worker processes the CLI uses to write a cohort: up to 2 (the project's machines have 2 cores)."""
    return max(1, min(2, os.cpu_count() or 1))


def _write_images(root: Path, params: dict, truth: pd.DataFrame, records: list[SeriesRecord], progress: Progress,
                  *, atomic: bool, workers: int) -> int:
    """Write ``records`` (each series is independent and seeded, so order and workers do not matter)."""
    rows = {(r["participant_id"], r["side"], int(r["visit_month"])): r for r in truth.to_dict("records")}
    jobs = [(root, params, rows[(rec.participant_id, rec.side, rec.visit_month)], rec, atomic) for rec in records]
    parallel_map(_write_job, jobs, workers=workers if len(jobs) >= 8 else 1, progress=progress)
    return len(jobs)


def load_synthetic(cohort_dir: str | Path) -> tuple[dict, pd.DataFrame]:
    """``cohort.json`` parameters and the ground-truth table of a synthetic cohort."""
    root = Path(cohort_dir)
    pj = root / SYNTHETIC_DIR / COHORT_JSON_NAME
    if not pj.is_file():
        raise InputFileError(pj, "not found: this is not a synthetic cohort",
                             hint="Only cohorts made by 'knee-study synth-cohort' can be materialised")
    hint = "Regenerate the cohort with 'knee-study synth-cohort'"
    try:
        params = json.loads(pj.read_text())
    except json.JSONDecodeError as exc:
        raise InputFileError(pj, f"not valid JSON ({exc})", hint=hint) from exc
    if not isinstance(params, dict):
        raise InputFileError(pj, "must hold a JSON object", hint=hint)
    if not isinstance(params.get("seed"), int):
        raise InputFileError(pj, "needs an integer 'seed'", column="seed", value=params.get("seed"), hint=hint)
    if params.get("size") not in SIZES:
        raise InputFileError(pj, f"'size' must be one of {sorted(SIZES)}", column="size", value=params.get("size"),
                             hint=hint)
    gt = root / SYNTHETIC_DIR / GROUND_TRUTH_NAME
    truth = _read_truth(gt)
    missing = [c for c in _REQUIRED_COLUMNS if c not in truth.columns]
    if missing:
        raise InputFileError(gt, f"missing column(s) {', '.join(missing)}", column=missing[0], hint=hint)
    return params, truth


#: Ground-truth columns needed to rebuild images.
_REQUIRED_COLUMNS = ("participant_id", "side", "visit_month", "study_date", "age", "sex", "jsw_mm", "jsw_lateral_mm",
                     "scale", "shift_m_mm", "shift_s_mm", "fat_mm", "effusion", "bml", "bml_bone", "bml_m_mm",
                     "bml_a_mm", "bml_size_mm", "kl_grade", "has_cor_iw_tse", "has_sag_3d_dess")


def _truth_row(truth: pd.DataFrame, participant_id: str, side: str, visit_month: int, where: Path):
    if side not in SIDES_CODE:
        raise OptionError("side", "'right' or 'left'", side)
    sel = truth[(truth.participant_id == str(participant_id)) & (truth.side == side) & (truth.visit_month == int(visit_month))]
    if sel.empty:
        raise InputFileError(where, "no such knee-visit in the ground truth", value=(participant_id, side, visit_month),
                             hint="Use a participant id, side and visit month (0, 12, 24, 36) listed in contents.csv")
    return next(sel.itertuples(index=False))


def materialize(cohort_dir: str | Path, knees: Iterable[tuple[str, str, int]], progress: Progress = None,
                *, workers: int = 1) -> int:
    """Write the missing image series of the chosen knees; return how many series were written.

    ``knees``: (participant_id, 'right'|'left', visit_month) triples. Series already present
    (all their slice files) are left alone; each new series is written to a temporary folder
    and renamed into place. The pixels are identical to what ``--images all`` writes.
    ``workers``: processes to use (default 1: in this process, safe inside other workers).
    """
    root = Path(cohort_dir)
    params, truth = load_synthetic(root)
    todo: list[SeriesRecord] = []
    for pid, side, month in knees:
        row = _truth_row(truth, pid, side, month, root / SYNTHETIC_DIR / GROUND_TRUTH_NAME)
        for seq in SEQUENCES:
            if not bool(getattr(row, f"has_{seq}")):
                continue
            rec = series_record(params["seed"], row.participant_id, row.side, int(row.visit_month), seq, str(row.study_date))
            n = SIZES[params["size"]][seq].shape[0]
            if not (root / rec.path / f"{n:03d}").is_file():
                todo.append(rec)
    return _write_images(root, params, truth, todo, progress, atomic=True, workers=workers)


def label_map(cohort_dir: str | Path, participant_id: str, side: str, visit_month: int, sequence: str,
              *, oversample: tuple[int, int, int] = (1, 1, 1)) -> tuple[np.ndarray, Grid]:
    """The phantom's label map (uint8 :class:`Label` values) of one knee-visit and sequence.

    Returns ``(labels, grid)``; ``labels`` has shape ``grid.shape`` in SimpleITK's array order
    (slice, row, column). ``oversample`` splits each voxel (slice, row, column) for finer
    measurements; ``(1, 1, 1)`` is the DICOM series' own grid.
    """
    if sequence not in SEQUENCES:
        raise OptionError("sequence", f"one of {', '.join(map(repr, SEQUENCES))}", sequence)
    root = Path(cohort_dir)
    params, truth = load_synthetic(root)
    row = _truth_row(truth, participant_id, side, visit_month, root / SYNTHETIC_DIR / GROUND_TRUTH_NAME)
    grid = series_grid(params["size"], sequence, side)
    if tuple(oversample) != (1, 1, 1):
        grid = grid.oversampled(tuple(int(f) for f in oversample))
    return render_labels(_anatomy(row), grid), grid


def sign_mask(cohort_dir: str | Path, participant_id: str, side: str, visit_month: int, sequence: str) -> np.ndarray:
    """Boolean mask of the planted imaging sign on the series' voxel grid (slice, row, column).

    All False when that knee-visit has no sign.
    """
    labels, _ = label_map(cohort_dir, participant_id, side, visit_month, sequence)
    return labels == Label.BML


__all__ = ["generate_cohort", "materialize", "sign_mask", "label_map", "load_synthetic", "render_series"]
