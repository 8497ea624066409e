"""Generate a synthetic cohort in either OAI download style, and rebuild any of its images later.

``generate_cohort`` draws the population, applies the real data's quirks
(:mod:`studies.synth.quirks`), writes the tables and the image index of the chosen style
(``oai``: the OAI's ASCII and image releases; ``nda``: the NIMH Data Archive's package), the
ground truth under ``synthetic/``, then the series of the knees asked for (``images``), all
inside a temporary folder renamed into place when complete. The style only changes how things
are written: the same seed gives the same patients, quirks and DICOM bytes in both.
``materialize`` renders the images of chosen knees from ``synthetic/`` alone, byte for byte as
``generate_cohort`` would have.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from studies.atomic import atomic_directory, check_output_dir, write_text_atomic
from studies.errors import OptionError
from studies.package import SEQUENCES
from studies.progress import NO_PROGRESS, Progress
from studies.synth.anatomy import Label, render_labels
from studies.synth.geometry import SIZES, Grid, check_size, series_grid
from studies.synth.images import knee_anatomy, render_series, series_present, write_images
from studies.synth.layout import (
    STYLES,
    SeriesRecord,
    knee_visit_series,
    series_records,
    series_table,
)
from studies.synth.nda_package import write_nda_tables
from studies.synth.oai_index import write_contents
from studies.synth.population import draw_population
from studies.synth.quirks import DEFAULT_QUIRKS, Quirks
from studies.synth.readings import draw_readings
from studies.synth.tables import write_tables
from studies.synth.truth import (
    COHORT_JSON_NAME,
    GROUND_TRUTH_NAME,
    READINGS_NAME,
    SERIES_NAME,
    SYNTHETIC_DIR,
    load_synthetic,
    quirks_of,
    read_truth,
    truth_row,
)
from studies.synth.truth_quirks import apply_truth_quirks

#: Recorded in cohort.json; 2.0: both download styles, the real data's quirks, the real geometry.
GENERATOR_VERSION = "2.0"
IMAGES_CHOICES = ("all", "baseline", "none")


def _check_options(patients, seed, size, progressor_rate, images, style) -> None:
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
    if style not in STYLES:
        raise OptionError("style", f"one of {', '.join(map(repr, STYLES))}", style)


def generate_cohort(
    out_dir: str | Path,
    *,
    patients: int,
    seed: int = 0,
    size: str = "small",
    progressor_rate: float | None = None,
    images: str = "all",
    force: bool = False,
    progress: Progress = NO_PROGRESS,
    workers: int | None = None,
    style: str = "oai",
    quirks: Quirks | None = None,
    flat_contents: bool = False,
) -> Path:
    """Write a synthetic cohort to ``out_dir`` in download ``style`` and return its path.

    ``style``: 'oai' (the OAI's releases: ``<VV>m/contents.csv``, series folders, ``|``
    tables) or 'nda' (the NDA package: ``image03.txt``, one ``.tar.gz`` per series, NDA
    structures). ``quirks``: the real data's quirks and their rates (default
    :data:`~studies.synth.quirks.DEFAULT_QUIRKS`, all on; ``NO_QUIRKS`` for none).
    ``flat_contents`` (oai only): per-release ``contents.<release>.csv`` in ``out_dir`` instead
    of ``<VV>m/contents.csv``. ``images``: 'all' (every series), 'baseline' (00m series only)
    or 'none'; the index lists every series either way and :func:`materialize` writes the rest
    on demand. ``progress`` counts the series written. A non-empty
    ``out_dir`` is refused unless ``force``. ``workers``: processes writing images (default 1;
    more need the calling script to be importable, i.e. guarded by
    ``if __name__ == "__main__":``, since workers are spawned).
    Raises :class:`studies.errors.OptionError` for bad options.
    """
    _check_options(patients, seed, size, progressor_rate, images, style)
    quirks = (DEFAULT_QUIRKS if quirks is None else quirks).check()
    if flat_contents and style != "oai":
        raise OptionError("flat-contents", "used with style 'oai' only (the NDA package has image03.txt)", style)
    out = check_output_dir(out_dir, force=force)
    seed = int(seed)
    pop = draw_population(int(patients), seed, progressor_rate)
    knees = apply_truth_quirks(pop.knees, seed, quirks)
    readings = draw_readings(knees, seed, quirks)
    params = {
        "generator": "studies.synth", "version": GENERATOR_VERSION, "seed": seed, "patients": int(patients),
        "size": size, "progressor_rate": progressor_rate, "images": images, "style": style,
        "flat_contents": bool(flat_contents), "quirks": quirks.as_dict(),
        "series_shapes": {seq: {"shape": list(s.shape), "spacing_mm": list(s.spacing)} for seq, s in SIZES[size].items()},
    }
    with atomic_directory(out, force=force) as tmp:
        synth = tmp / SYNTHETIC_DIR
        write_text_atomic(synth / COHORT_JSON_NAME, json.dumps(params, indent=2) + "\n")
        write_text_atomic(synth / GROUND_TRUTH_NAME, knees.to_csv(index=False))
        write_text_atomic(synth / READINGS_NAME, readings.to_csv(index=False))
        truth = read_truth(synth / GROUND_TRUTH_NAME)
        records = series_records(seed, quirks, size, truth)
        write_text_atomic(synth / SERIES_NAME, series_table(records, style))
        if style == "nda":
            write_nda_tables(tmp, pop.participants, truth, readings, records, seed, quirks)
        else:
            write_tables(tmp, pop.participants, truth, readings, seed, quirks)
            write_contents(tmp, records, seed, quirks, flat=flat_contents)
        if images != "none":
            chosen = [r for r in records if images == "all" or r.visit_month == 0]
            write_images(tmp, params, truth, chosen, progress, atomic=False, workers=1 if workers is None else workers)
        else:
            progress.finish()  # nothing to write
    return out


def knee_series(cohort_dir: str | Path, participant_id: str, side: str, visit_month: int) -> list[SeriesRecord]:
    """Every series of one knee-visit (repeats and truncated ones too), as listed in the cohort's index."""
    root = Path(cohort_dir)
    params, truth = load_synthetic(root)
    row = truth_row(truth, participant_id, side, visit_month, root / SYNTHETIC_DIR / GROUND_TRUTH_NAME)
    return knee_visit_series(params["seed"], quirks_of(params), params["size"], row)


def materialize(cohort_dir: str | Path, knees: Iterable[tuple[str, str, int]], progress: Progress = NO_PROGRESS,
                *, workers: int = 1) -> int:
    """Write the missing image series of the chosen knees; return how many series were written.

    ``knees``: (participant_id, 'right'|'left', visit_month) triples. Every series of each
    knee-visit is written (repeats and truncated series too). Series already present (all
    their slice files, or their archive) are left alone; each new series is written to a
    temporary folder or file and renamed into place. The bytes are identical to what
    ``--images all`` writes, in the cohort's own style.
    ``workers``: processes to use (default 1: in this process, safe inside other workers).
    """
    root = Path(cohort_dir)
    params, truth = load_synthetic(root)
    quirks = quirks_of(params)
    todo: list[SeriesRecord] = []
    for pid, side, month in knees:
        row = truth_row(truth, pid, side, month, root / SYNTHETIC_DIR / GROUND_TRUTH_NAME)
        todo += [rec for rec in knee_visit_series(params["seed"], quirks, params["size"], row)
                 if not series_present(root, rec, params["style"])]
    return write_images(root, params, truth, todo, progress, atomic=True, workers=workers)


def label_map(cohort_dir: str | Path, participant_id: str, side: str, visit_month: int, sequence: str,
              *, oversample: tuple[int, int, int] = (1, 1, 1)) -> tuple[np.ndarray, Grid]:
    """The phantom's label map (uint8 :class:`Label` values) of one knee-visit and sequence.

    Returns ``(labels, grid)``; ``labels`` has shape ``grid.shape`` in SimpleITK's array order
    (slice, row, column): the grid of a complete series (a truncated one holds its first
    slices). ``oversample`` splits each voxel (slice, row, column) for finer measurements;
    ``(1, 1, 1)`` is the DICOM series' own grid.
    """
    if sequence not in SEQUENCES:
        raise OptionError("sequence", f"one of {', '.join(map(repr, SEQUENCES))}", sequence)
    root = Path(cohort_dir)
    params, truth = load_synthetic(root)
    row = truth_row(truth, participant_id, side, visit_month, root / SYNTHETIC_DIR / GROUND_TRUTH_NAME)
    grid = series_grid(params["size"], sequence, side)
    if tuple(oversample) != (1, 1, 1):
        grid = grid.oversampled(tuple(int(f) for f in oversample))
    return render_labels(knee_anatomy(row), grid), grid


def sign_mask(cohort_dir: str | Path, participant_id: str, side: str, visit_month: int, sequence: str) -> np.ndarray:
    """Boolean mask of the planted imaging sign on the series' voxel grid (slice, row, column).

    All False when that knee-visit has no sign.
    """
    labels, _ = label_map(cohort_dir, participant_id, side, visit_month, sequence)
    return labels == Label.BML


__all__ = ["generate_cohort", "materialize", "sign_mask", "label_map", "load_synthetic", "render_series",
           "knee_series"]
