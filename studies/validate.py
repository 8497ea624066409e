"""Check a study package (and optionally its key): every problem, not only the first.

:func:`validate_study` returns readable sentences, one per problem (empty when the package
is sound): the manifest schema, each image file (present, inside the package, loads whole,
3-D, RAS+, the sequence's slice axis, positive spacings, blank NIfTI header), stray files in
``images/``, cases not used or used twice, AI heatmaps on the image's grid, and with a key:
its SHA-256 against the manifest, its study id and that its pairs are the manifest's pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from studies.ai_scores import parse_scores
from studies.errors import InputFileError, StudyError
from studies.integrity import ai_hash_problems, changed_problem
from studies.nifti_guard import volume_size_problem
from studies.package import (
    AI_DIR,
    AI_HEATMAPS_DIR,
    AI_SCORES_NAME,
    IMAGES_DIR,
    MANIFEST_NAME,
    file_sha256,
    manifest_from_json,
    manifest_problems,
    read_json,
)
from studies.package_paths import package_file
from studies.progress import NO_PROGRESS, Progress

#: Voxel axis (RAS order) along which each sequence's slices run.
SLICE_AXIS = {"cor_iw_tse": 1, "sag_3d_dess": 0}
AXIS_NAMES = "xyz"
MAX_SPACING_MM = 20.0
BLANK_HEADER_FIELDS = ("descrip", "aux_file", "db_name", "intent_name")


def validate_study(
    study: str | Path, key: str | Path | None = None, *, progress: Progress = NO_PROGRESS
) -> list[str]:
    """Every problem found in the package at ``study`` (and the key, when given)."""
    study = Path(study)
    try:
        data = read_json(study / MANIFEST_NAME, "study manifest")
    except StudyError as exc:
        return [str(exc)]
    problems = manifest_problems(data, study / MANIFEST_NAME)
    if problems:
        return problems
    manifest = manifest_from_json(data)
    used: dict[str, int] = {}
    for p in manifest.all_pairs():
        for cid in p.cases:
            used[cid] = used.get(cid, 0) + 1
    for cid in manifest.cases:
        if used.get(cid, 0) != 1:
            problems.append(
                f"case '{cid}' is used in {used.get(cid, 0)} pairs (each knee exactly once)"
            )
    referenced: set[Path] = set()
    todo = [(cid, seq, rel) for cid, c in manifest.cases.items() for seq, rel in c.images.items()]
    for cid, case in manifest.cases.items():
        for seq in manifest.sequences:
            if seq not in case.images:
                problems.append(f"case '{cid}' has no '{seq}' image")
    shapes: dict[tuple[str, str], tuple[int, ...]] = {}
    for i, (cid, seq, rel) in enumerate(todo, 1):
        try:
            path = package_file(study, rel, IMAGES_DIR, what="image")
        except InputFileError as exc:
            problems.append(f"case '{cid}' {seq}: {exc.problem} (got {rel!r})")
        else:
            referenced.add(path.resolve())
            expected = manifest.cases[cid].image_sha256.get(seq)
            if path.is_file() and (bad := changed_problem(path, expected)) is not None:
                problems.append(f"case '{cid}' {seq}: {path} {bad}; restore it from the built package")
            problems += _image_problems(path, f"case '{cid}' {seq}", seq, shapes, (cid, seq))
        progress.update(i, len(todo))
    images_dir = study / IMAGES_DIR
    if images_dir.is_dir():
        for f in sorted(images_dir.iterdir()):
            if f.resolve() not in referenced:
                problems.append(
                    f"{f}: file not referenced by the manifest (remove it: stray files may unblind)"
                )
    problems += _heatmap_problems(study, shapes)
    problems += ai_hash_problems(study, manifest)
    scores = study / AI_DIR / AI_SCORES_NAME
    if scores.is_file():
        problems += parse_scores(scores, manifest.cases)[2]
    if key is not None:
        problems += key_problems(study, Path(key), manifest, data)
    return problems


def _image_problems(
    path: Path,
    what: str,
    seq: str,
    shapes: dict[tuple[str, str], tuple[int, ...]],
    key: tuple[str, str],
) -> list[str]:
    if not path.is_file():
        return [f"{what}: {path} is missing"]
    try:
        img = nib.load(str(path))
        if (bad := volume_size_problem(img, path)) is not None:
            return [f"{what}: {path} {bad}"]
        data = np.asanyarray(img.dataobj)  # reads (and decompresses) the whole file
    except Exception as exc:  # a truncated gzip, a bad header, ...
        return [f"{what}: {path} does not load ({type(exc).__name__}: {exc})"]
    out = []
    if data.ndim != 3:
        return [f"{what}: {path} is not a 3-D volume (shape {data.shape})"]
    shapes[key] = data.shape
    codes = nib.aff2axcodes(img.affine)
    if codes != ("R", "A", "S"):
        out.append(f"{what}: {path} is oriented {''.join(codes)}, expected RAS")
    spacing = np.sqrt((img.affine[:3, :3] ** 2).sum(axis=0))
    if not all(0 < s <= MAX_SPACING_MM for s in spacing):
        out.append(
            f"{what}: {path} has voxel spacing {tuple(round(float(s), 3) for s in spacing)} mm"
        )
    axis = SLICE_AXIS.get(seq)
    if axis is not None and data.shape[axis] != min(data.shape):
        out.append(
            f"{what}: {path} has shape {data.shape}: {seq} slices should run along "
            f"{AXIS_NAMES[axis]} (the axis with fewest voxels)"
        )
    hdr = img.header
    for field in BLANK_HEADER_FIELDS:
        if field in hdr and hdr[field].item():
            out.append(
                f"{what}: {path} header field '{field}' is not blank ({hdr[field].item()!r})"
            )
    if getattr(hdr, "extensions", None):
        out.append(f"{what}: {path} carries NIfTI header extensions (may hold source metadata)")
    return out


def _heatmap_problems(study: Path, shapes: dict[tuple[str, str], tuple[int, ...]]) -> list[str]:
    heat = study / AI_DIR / AI_HEATMAPS_DIR
    if not heat.is_dir():
        return []
    out = []
    for f in sorted(heat.glob("*.nii.gz")):
        stem = f.name[: -len(".nii.gz")]
        cid, _, seq = stem.partition("_")
        if (cid, seq) not in shapes:
            out.append(f"{f}: heatmap for an unknown case or sequence")
            continue
        try:
            shape = nib.load(str(f)).shape
        except Exception as exc:
            out.append(f"{f}: does not load ({exc})")
            continue
        if tuple(shape) != shapes[cid, seq]:
            out.append(
                f"{f}: heatmap shape {tuple(shape)} differs from the image's {shapes[cid, seq]}"
            )
    return out


def key_problems(study: Path, key: Path, manifest, data: dict[str, Any]) -> list[str]:
    """Problems of a key against its package: location, hash, study id, pairs, strata."""
    out = []
    if study.resolve() in key.resolve().parents:
        out.append(
            f"{key}: the key is inside the study package; move it out before handing the package to readers"
        )
    from studies.schema_check import schema_problems
    from studies.schemas import KEY_SCHEMA

    try:
        k = read_json(key, "study key")
    except StudyError as exc:
        return [*out, str(exc)]
    digest = file_sha256(key)
    if digest != manifest.key_sha256:
        out.append(
            f"{key}: SHA-256 {digest[:12]}... differs from the manifest's {manifest.key_sha256[:12]}... "
            "(the key changed after the build, or belongs to another study)"
        )
    schema = schema_problems(k, KEY_SCHEMA, key)
    if schema:
        return out + schema
    if k.get("study_id") != manifest.study_id:
        out.append(
            f"{key}: study id {k.get('study_id')!r} is not the manifest's {manifest.study_id!r}"
        )
    for group, pairs in (("pairs", manifest.pairs), ("practice_pairs", manifest.practice_pairs)):
        in_manifest = {p.pair_id: set(p.cases) for p in pairs}
        in_key = {p["pair_id"]: p for p in k.get(group, [])}
        for pid in sorted(set(in_manifest) - set(in_key)):
            out.append(f"{key}: {group} '{pid}' of the manifest is missing from the key")
        for pid in sorted(set(in_key) - set(in_manifest)):
            out.append(f"{key}: {group} '{pid}' is not in the manifest")
        for pid in sorted(set(in_key) & set(in_manifest)):
            e = in_key[pid]
            if {e["progressor"], e["non_progressor"]} != in_manifest[pid]:
                out.append(f"{key}: pair '{pid}' names cases other than the manifest's")
    return out
