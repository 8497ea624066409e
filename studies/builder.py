"""Build a blinded study package and its coordinator key from a cohort.

::

    cohort --load_cohort--> knee table --make_labels--> baseline windows
          --eligible_baseline/select_pairs--> pairs --plan_study--> ids and order
          --convert_many--> STUDY/images/
          --> STUDY/manifest.json (written atomically as a whole folder) + KEY.json (outside)

Random case ids and orders come from :mod:`studies.plan`. See ``docs/study-package.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studies.atomic import atomic_directory, check_output_dir, write_bytes_atomic
from studies.cohort import Cohort, IngestOptions, load_cohort, resolve
from studies.decisions.modes import mode_names
from studies.errors import OptionError
from studies.images import ConversionJob, convert_many
from studies.labels import make_labels
from studies.locations import DEMO_PAIRS, DEMO_PATIENTS
from studies.package import (
    DECISIONS_DIR,
    IMAGES_DIR,
    SCHEMA_VERSION,
    SEQUENCES,
    Manifest,
    save_manifest,
)
from studies.pairs import SamplingConfig, SelectedPair, eligible_baseline, select_pairs
from studies.parallel import parallel_map
from studies.plan import plan_study
from studies.progress import NO_PROGRESS, Progress

KEY_SCHEMA_VERSION = 1


@dataclass
class BuildOptions:
    """Everything ``knee-study build`` takes besides the paths.

    ``confidence``: maximum of a 1..N confidence scale shown to readers (0: none).
    ``modes``: reading modes allowed (:func:`studies.decisions.modes.mode_names`; default all).
    ``jsw_sd``: when set, the "almost certain" bound was computed from it (recorded in the key).
    ``ingest``: how an OAI download is read (style, variable map, reading projects).
    """

    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    confidence: int = 5
    modes: tuple[str, ...] = field(default_factory=mode_names)
    educational: bool = False
    n4: bool = False
    workers: int = 1
    force: bool = False
    jsw_sd: float | None = None
    ingest: IngestOptions = field(default_factory=IngestOptions)

    def check(self) -> None:
        self.sampling.check()
        self.ingest.check()
        if not (
            isinstance(self.confidence, int)
            and (self.confidence == 0 or 2 <= self.confidence <= 10)
        ):
            raise OptionError("confidence", "0 (no scale) or an int from 2 to 10", self.confidence)
        if not self.modes:
            raise OptionError("modes", f"one or more of {','.join(mode_names())}", "")
        for m in self.modes:
            if m not in mode_names():
                raise OptionError("modes", f"a subset of {','.join(mode_names())}", m)
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise OptionError("workers", "an int >= 1", self.workers)


@dataclass
class BuildResult:
    study: Path
    key: Path
    manifest: Manifest
    report: dict[str, Any]


def check_paths(out: Path, key: Path, *, force: bool) -> tuple[Path, Path]:
    """Refuse a key inside the package, a non-empty --out or an existing --key (unless force)."""
    out, key = Path(out), Path(key)
    o, k = out.resolve(), key.resolve()
    if k == o or o in k.parents:
        raise OptionError(
            "key", f"a path outside the study package {out} (readers must never get it)", str(key)
        )
    check_output_dir(out, force=force)
    held = sorted((out / DECISIONS_DIR).glob("*.sqlite")) if out.is_dir() else []
    if held:
        raise OptionError(
            "out",
            "a folder without readers' decisions (even --force never deletes them: move "
            f"{out / DECISIONS_DIR} somewhere safe first)",
            f"{out} (holds {len(held)} decisions file(s): {', '.join(p.name for p in held[:3])})",
        )
    if key.exists() and not force:
        raise OptionError("key", "a new file (pass --force to replace it)", f"{key} (exists)")
    if key.exists() and key.is_dir():
        raise OptionError("key", "a file path", f"{key} (a folder)")
    return out, key


def _check_not_over_cohort(out: Path, cohort: Path) -> None:
    """Refuse an ``--out`` that is or holds the cohort (or its CSV's folder, which holds the
    images): the package folder is replaced whole, which would delete the source data."""
    o = out.resolve()
    c = cohort.resolve()
    folder = c.parent if c.is_file() else c
    if o == folder or o in folder.parents:
        raise OptionError(
            "out",
            f"a new folder for the package; {out} holds the cohort ({cohort}) and would be replaced",
            str(out),
        )


def _has_images_on_disk(row: dict[str, Any]) -> bool:
    return all(row[s] is not None and os.path.exists(row[s]) for s in SEQUENCES)


def build_study(
    cohort: Cohort | str | Path,
    out: str | Path,
    key: str | Path,
    options: BuildOptions | None = None,
    *,
    progress: Progress = NO_PROGRESS,
) -> BuildResult:
    """Build the package at ``out`` and the key at ``key``; return both and the build report.

    ``progress`` follows the writing of a synthetic cohort's images for the chosen knees
    (knees done) and the image conversion (volumes done), stages weighted by
    :data:`MATERIALIZE_SHARE`.

    Raises :class:`studies.pairs.SamplingError` (with the per-stratum counts) when the cohort
    is too small, :class:`OptionError` for bad options or paths, :class:`InputFileError` for
    unreadable cohort files or images. Nothing is left half-written.
    """
    options = options or BuildOptions()
    options.check()
    out, key = check_paths(Path(out), Path(key), force=options.force)
    _check_not_over_cohort(out, cohort.root if isinstance(cohort, Cohort) else Path(cohort))
    if not isinstance(cohort, Cohort):
        cohort = load_cohort(cohort, options.ingest)
    cfg = options.sampling
    labels = make_labels(
        cohort.knees, abs_threshold_mm=cfg.bounds[2], jsw_readings=cohort.jsw_readings
    )
    n_baseline = int((cohort.knees["visit_month"] == 0).sum())
    n_windows = int((labels["visit_month"] == 0).sum())
    exclusions = (
        {"missing JSW at 0 or 12 months": n_baseline - n_windows} if n_baseline > n_windows else {}
    )
    eligible, more = eligible_baseline(
        labels, None if cohort.is_synthetic else _has_images_on_disk, min_jsw_mm=-cfg.bounds[2]
    )
    exclusions = {**exclusions, **more}
    share = MATERIALIZE_SHARE if cohort.is_synthetic else 0.0
    with progress.stage("writing the chosen knees' images" if share else "", weight=share) as st:
        selection, materialized = _select_complete(cohort, eligible, cfg, exclusions, options.workers, st)
    report = selection.report
    report["cohort"] = {
        "source": cohort.source,
        "baseline_knees": n_baseline,
        **_counts(cohort.report),
        "warnings": list(cohort.report.get("warnings", [])),
    }
    for name in ("series_choice", "reading_projects", "jsw_projects", "kl_projects", "missing"):
        if name in cohort.report:
            report["cohort"][name] = cohort.report[name]
    if labels.attrs.get("excluded", {}).get("no_common_project"):
        report["cohort"]["windows_without_common_jsw_project"] = labels.attrs["excluded"]["no_common_project"]
    if cohort.is_synthetic:
        report["synthetic_knees_materialized"] = materialized

    plan = plan_study(selection.pairs, cfg.seed)
    with atomic_directory(out, force=options.force) as tmp:
        (tmp / IMAGES_DIR).mkdir()
        (tmp / DECISIONS_DIR).mkdir()
        jobs = [
            ConversionJob(src, side, str(tmp / rel), options.n4) for src, side, rel in plan.jobs
        ]
        with progress.stage("converting images", weight=1.0 - share) as st:
            convert_many(jobs, workers=options.workers, progress=st)
        key_data = {
            "schema_version": KEY_SCHEMA_VERSION,
            "study_id": plan.study_id,
            "build": _build_params(options, cohort),
            "pairs": plan.key_pairs,
            "practice_pairs": plan.key_practice,
            "report": report,
        }
        key_bytes = (json.dumps(key_data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        manifest = Manifest(
            study_id=plan.study_id,
            cases=plan.cases,
            pairs=plan.pairs,
            practice_pairs=plan.practice,
            key_sha256=hashlib.sha256(key_bytes).hexdigest(),
            reading_modes=list(options.modes),
            confidence_scale=_confidence(options.confidence),
            educational=options.educational,
            schema_version=SCHEMA_VERSION,
        )
        save_manifest(tmp, manifest)
        write_bytes_atomic(key, key_bytes)
    return BuildResult(study=out, key=key, manifest=manifest, report=report)


#: Share of :func:`build_study`'s time spent writing a synthetic cohort's images for the chosen
#: knees (the rest converts them into the package), measured with the demo study on 2 cores.
MATERIALIZE_SHARE = 0.63

#: Rounds of drawing pairs, checking the chosen knees' series and drawing again without the
#: knees whose series turned out truncated or unreadable.
MAX_DRAWS = 20


def _select_complete(
    cohort: Cohort,
    eligible,
    cfg: SamplingConfig,
    exclusions: dict[str, int],
    workers: int,
    progress: Progress,
):
    """Draw the pairs; check every chosen knee's series on disk (counting slices, writing a
    synthetic cohort's images first); redraw without the knees that lack a complete series.

    Returns (selection, knees materialized). The draw is seeded, so the result is
    reproducible; the knees left out are counted in the exclusions.
    """
    exclusions = dict(exclusions)
    materialized = 0
    bad: set[tuple[str, str]] = set()
    reason = "no complete series (truncated or unreadable)"
    for _ in range(MAX_DRAWS):
        pool = eligible[[(str(p), s) not in bad for p, s in zip(eligible["participant_id"], eligible["side"], strict=True)]]
        selection = select_pairs(pool.reset_index(drop=True), cfg, exclusions)
        if cohort.is_synthetic:
            materialized += _materialize(cohort, selection.pairs, workers, progress)
        rows = [r for p in selection.pairs for r in (p.progressor, p.non_progressor)]
        lacking = resolve(cohort, [(str(r["participant_id"]), r["side"], 0) for r in rows])
        if not lacking:
            _refresh_paths(cohort, rows)
            return selection, materialized
        bad |= {(p, s) for p, s, _ in lacking}
        exclusions[reason] = exclusions.get(reason, 0) + len(lacking)
    raise OptionError("cohort", f"a cohort whose series can be read (after {MAX_DRAWS} draws, "
                      f"{len(bad)} chosen knees had no complete series)", str(cohort.root))


def _refresh_paths(cohort: Cohort, rows: list[dict[str, Any]]) -> None:
    """Point the chosen knees at the series :func:`resolve` settled on."""
    knees = cohort.knees.set_index(["participant_id", "side", "visit_month"])
    for r in rows:
        k = (str(r["participant_id"]), r["side"], 0)
        if k in knees.index:
            for seq in SEQUENCES:
                r[seq] = knees.at[k, seq]


def _counts(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if isinstance(v, int)}


#: Knees per materialize task: small enough for a smooth progress bar and load balance.
MATERIALIZE_CHUNK = 4


def _materialize_chunk(args: tuple[str, list[tuple[str, str, int]]]) -> int:
    from studies.synth import materialize

    root, knees = args
    return materialize(root, knees)


def _materialize(
    cohort: Cohort, pairs: list[SelectedPair], workers: int, progress: Progress
) -> int:
    """Write (studies.synth) the baseline images of chosen synthetic knees not on disk yet.

    Runs in ``workers`` processes, ``MATERIALIZE_CHUNK`` knees a task; ``progress`` counts the
    tasks done. Returns the number of knees that needed images.
    """
    rows = [r for p in pairs for r in (p.progressor, p.non_progressor)]
    missing = [(str(r["participant_id"]), r["side"], 0) for r in rows if not _has_images_on_disk(r)]
    chunks = [
        (str(cohort.root), missing[i : i + MATERIALIZE_CHUNK])
        for i in range(0, len(missing), MATERIALIZE_CHUNK)
    ]
    if chunks:
        parallel_map(_materialize_chunk, chunks, workers=workers, progress=progress)
    return len(missing)


def _confidence(n: int) -> dict[str, Any] | None:
    if not n:
        return None
    return {"min": 1, "max": n, "labels": {"1": "guess", str(n): "certain"}}


def _build_params(options: BuildOptions, cohort: Cohort) -> dict[str, Any]:
    cfg = options.sampling
    return {
        "seed": cfg.seed,
        "n_pairs": cfg.n_pairs,
        "strata": dict(zip(("almost_certain", "likely", "doubtful"), cfg.counts(), strict=True)),
        "bounds_mm": list(cfg.bounds),
        "jsw_sd_mm": options.jsw_sd,
        "match": list(cfg.match),
        "practice": cfg.practice,
        "n4": options.n4,
        "cohort": str(cohort.root),
        "cohort_source": cohort.source,
        "jsw_projects": cohort.report.get("jsw_projects"),
        "kl_projects": cohort.report.get("kl_projects"),
        "synthetic": cohort.is_synthetic,
    }


#: The demo's cohort and study sizes are defined in studies.locations (DEMO_PATIENTS, DEMO_PAIRS).
DEMO_PRACTICE = 1
#: Share of :func:`build_demo`'s time spent generating the cohort's tables (the rest builds
#: the study), measured on 2 cores.
DEMO_COHORT_SHARE = 0.05


def build_demo(
    out_dir: str | Path,
    *,
    patients: int = DEMO_PATIENTS,
    pairs: int = DEMO_PAIRS,
    seed: int = 0,
    progress: Progress = NO_PROGRESS,
    force: bool = False,
    workers: int | None = None,
) -> BuildResult:
    """A demo study end to end: ``out_dir/cohort`` (synthetic, enriched in progressors),
    ``out_dir/study`` (the package, with one practice pair) and ``out_dir/key.json``.

    The cohort is written without images; only the chosen knees' baseline images are
    materialized. ``progress`` follows the whole run, in stages. Refuses an
    existing ``out_dir/study`` (it may hold readers' decisions) unless ``force``.
    """
    from studies.synth import generate_cohort

    out = Path(out_dir)
    if not (isinstance(patients, int) and patients >= 10):
        raise OptionError("patients", "an int >= 10", patients)
    if not (isinstance(pairs, int) and pairs >= 1):
        raise OptionError("pairs", "an int >= 1", pairs)
    for name in ("study", "key.json", "cohort"):
        if (out / name).exists() and not force:
            raise OptionError(
                "out",
                "a folder without a previous demo (pass force=True / --force to replace it)",
                f"{out} (has {name})",
            )
    with progress.stage("generating the synthetic cohort", weight=DEMO_COHORT_SHARE) as st:
        generate_cohort(
            out / "cohort",
            patients=patients,
            seed=seed,
            size="small",
            progressor_rate=0.5,
            images="none",
            force=force,
            progress=st,
        )
    options = BuildOptions(
        sampling=SamplingConfig(n_pairs=pairs, practice=DEMO_PRACTICE, seed=seed),
        force=force,
        workers=workers or max(1, min(2, os.cpu_count() or 1)),
    )
    with progress.stage("", weight=1.0 - DEMO_COHORT_SHARE) as st:
        return build_study(out / "cohort", out / "study", out / "key.json", options, progress=st)
