"""Image integrity: the manifest records the SHA-256 of every file readers are shown.

A flipped bit in a ``.nii.gz`` often still decodes (nibabel does not always check the gzip
CRC), so a damaged or altered volume could be shown as if it were the study's. The
manifest's ``image_sha256`` (per case and sequence) and ``ai_sha256`` (per ``ai/`` file)
let ``validate`` and the reader app refuse a file that changed after it was recorded.

Versions (the rule): ``schema_version`` 2 manifests carry a hash for every image and are
written whenever every image exists when the manifest is saved; version 1 manifests (older
builds) carry none, stay readable, and are checked for everything but the hashes.
``ai_sha256`` is optional in both: ``knee-model infer`` records it after writing ``ai/``
(:func:`record_ai_hashes`); when present, every AI file must match and none may be unlisted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from studies.package import (
    AI_DIR,
    AI_HEATMAPS_DIR,
    AI_RUN_NAME,
    AI_SCORES_NAME,
    Manifest,
    file_sha256,
    load_manifest,
    save_manifest,
)


def changed_problem(path: Path, expected: str | None) -> str | None:
    """Why ``path`` is not the file recorded with hash ``expected`` (None when it is, or when
    nothing was recorded)."""
    if not expected:
        return None
    actual = file_sha256(path)
    if actual != expected:
        return (f"has changed since it was recorded (SHA-256 {actual[:12]}..., recorded "
                f"{expected[:12]}...): damaged or altered")
    return None


def ai_files(study: str | Path) -> list[str]:
    """The ``ai/`` files a manifest records, as package-relative POSIX paths."""
    ai = Path(study) / AI_DIR
    names = [f"{AI_DIR}/{n}" for n in (AI_SCORES_NAME, AI_RUN_NAME) if (ai / n).is_file()]
    heat = ai / AI_HEATMAPS_DIR
    if heat.is_dir():
        names += [f"{AI_DIR}/{AI_HEATMAPS_DIR}/{f.name}" for f in sorted(heat.glob("*.nii.gz"))]
    return names


def record_ai_hashes(study: str | Path) -> Manifest:
    """Record the SHA-256 of every ``ai/`` file in ``STUDY/manifest.json``; return the manifest."""
    study = Path(study)
    manifest = load_manifest(study)
    hashes = {rel: file_sha256(study / rel) for rel in ai_files(study)}
    manifest = dataclasses.replace(manifest, ai_sha256=hashes)
    save_manifest(study, manifest)
    return manifest


def ai_hash_problems(study: str | Path, manifest: Manifest) -> list[str]:
    """Every ``ai/`` file that differs from, is missing from, or is absent in ``ai_sha256``."""
    if not manifest.ai_sha256:
        return []
    study = Path(study)
    out = []
    present = set(ai_files(study))
    for rel, expected in sorted(manifest.ai_sha256.items()):
        if rel not in present:
            out.append(f"{study / rel}: recorded in the manifest's ai_sha256 but missing")
        elif (bad := changed_problem(study / rel, expected)) is not None:
            out.append(f"{study / rel}: {bad}; re-run the model's inference")
    for rel in sorted(present - set(manifest.ai_sha256)):
        out.append(f"{study / rel}: not recorded in the manifest's ai_sha256 (added after inference?)")
    return out
