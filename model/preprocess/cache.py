"""Preprocessed stacks on disk, keyed by the oriented volume's content and the parameters.

A stack is stored under a **content key**: a hash of the oriented volume's voxels (dtype,
shape, bytes) and of the spacing N4 fits with (:func:`model.preprocess.n4.fit_spacing`; origin
and direction do not enter the result), plus the preprocessing parameters and :data:`VERSION`
(bump it when the method changes). The same knee read from the cohort's DICOM series
(mirrored when it is a right knee) and from a study package's NIfTI (mirrored already) has the
same voxels, so it is preprocessed once. A **file key** (the input's bytes: a DICOM folder's
every file's name and bytes, sorted by name; a file's, a NIfTI volume or a series ``.tar.gz``
hashed as it lies, never unpacked, its name and bytes; plus the parameters, the side and the
mirroring) points at the content key in a small ``.ref`` file, so that a second run on the same
files skips reading the images. A changed input or setting never returns a stale stack.
Entries are written atomically; a torn or foreign file reads as a miss and is rewritten.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from model.preprocess.n4 import fit_spacing
from studies.atomic import write_bytes_atomic, write_text_atomic

VERSION = 5


def input_hash(path: str | Path) -> str:
    """Hex SHA-256 over (name, bytes) of a file (NIfTI, series tar), or of every file in a folder."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def volume_hash(image: sitk.Image) -> str:
    """Hex SHA-256 over an oriented volume's voxels (dtype, shape, bytes) and its N4 fit spacing."""
    arr = np.ascontiguousarray(sitk.GetArrayViewFromImage(image))
    h = hashlib.sha256(json.dumps({"dtype": arr.dtype.str, "shape": arr.shape, "spacing": fit_spacing(image)}).encode())
    h.update(arr.data)
    return h.hexdigest()


def cache_key(source_hash: str, params: dict) -> str:
    """Hex key of one preprocessed stack (or of a file's ``.ref``): an input or volume hash +
    canonical JSON of the parameters + :data:`VERSION`."""
    blob = json.dumps({"input": source_hash, "params": params, "version": VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class PreprocessCache:
    """A folder of ``<key[:2]>/<key>.npy`` arrays (by content key) and ``<key[:2]>/<key>.ref``
    pointers (file key -> content key)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            return np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError):
            return None

    def put(self, key: str, array: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
        write_bytes_atomic(self.path(key), buf.getvalue())

    def ref(self, file_key: str) -> str | None:
        """The content key that ``file_key`` points at, or None."""
        p = self.path(file_key).with_suffix(".ref")
        try:
            key = p.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None
        return key if len(key) == 64 and all(c in "0123456789abcdef" for c in key) else None

    def put_ref(self, file_key: str, content_key: str) -> None:
        """Point ``file_key`` at ``content_key`` (atomically)."""
        write_text_atomic(self.path(file_key).with_suffix(".ref"), content_key + "\n")
