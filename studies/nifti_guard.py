"""Refuse a NIfTI file whose header promises more voxels than the file can hold, before
anything allocates them: a hostile header claiming 30000^3 voxels must be a clean error, not
a ``MemoryError`` or an exhausted machine.

A gzip stream expands at most about 1032-fold, so a ``.nii.gz`` of *n* bytes holds at most
about ``1032 n`` bytes of voxels; an uncompressed ``.nii`` holds at most *n*. Volumes are also
capped at :data:`MAX_VOLUME_BYTES` (a 3D DESS knee volume is about 50 MB).
"""

from __future__ import annotations

import math
from pathlib import Path

MAX_VOLUME_BYTES = 2 << 30
GZIP_MAX_RATIO = 1032
MAX_DIM = 4096


def volume_size_problem(img, path: str | Path) -> str | None:
    """Why the image's header (nibabel image, data not yet read) cannot be trusted, or None."""
    shape = tuple(int(n) for n in img.shape)
    if not shape or any(n <= 0 or n > MAX_DIM for n in shape):
        return f"has an implausible shape {shape} (each axis 1-{MAX_DIM} voxels)"
    nbytes = math.prod(shape) * img.get_data_dtype().itemsize
    if nbytes > MAX_VOLUME_BYTES:
        return f"claims {nbytes:,} bytes of voxels {shape}, more than the {MAX_VOLUME_BYTES:,} allowed"
    size = Path(path).stat().st_size
    room = size * GZIP_MAX_RATIO + 65536 if str(path).endswith(".gz") else size
    if nbytes > room:
        return f"claims {nbytes:,} bytes of voxels {shape}, more than a {size:,}-byte file can hold"
    return None
