"""Preprocessed stacks on disk, keyed by the input's content hash and the parameters.

A DICOM folder's hash covers every file's name and bytes (sorted by name); a file's (a NIfTI
volume or a series ``.tar.gz``, hashed as it lies, never unpacked) its name and bytes. The key also covers the preprocessing parameters and :data:`VERSION` (bump it when
the method changes), so a changed input or setting never returns a stale stack. Entries are
``.npy`` files written atomically; a torn or foreign file reads as a miss and is rewritten.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from studies.atomic import write_bytes_atomic

VERSION = 4


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


def cache_key(source_hash: str, params: dict) -> str:
    """Hex key of one preprocessed stack: input hash + canonical JSON of the parameters."""
    blob = json.dumps({"input": source_hash, "params": params, "version": VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class PreprocessCache:
    """A folder of ``<key[:2]>/<key>.npy`` arrays."""

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
