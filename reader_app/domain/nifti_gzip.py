"""The voxels of a ``.nii.gz`` volume inflated straight into the array that is drawn.

nibabel reads a gzip-compressed NIfTI through :class:`gzip.GzipFile`, which inflates it in
thousands of 8 kB pieces with Python around each (buffer copies, a separate CRC-32) into a
new array, which the display then reorders into a second one: on a 384 x 384 x 160 int16
DESS, ~40 % on top of the inflation itself and three volumes' worth of fresh memory.

:func:`inflate_voxels_into` reads the file's bytes once (the caller hashes the same bytes),
inflates them 1 MB at a time with :mod:`zlib` (which checks the gzip trailer's CRC-32 and
length, as :mod:`gzip` does, and releases the GIL: two knees inflate in parallel threads)
and writes the planes of voxels (one z, all x and y: the order of the file) where they
belong in the caller's array, any strides: a display-ordered volume is written once, with
no intermediate copy of the whole volume.

Only the plain case takes this path: voxels stored as they are shown (no ``scl_slope`` /
``scl_inter`` scaling) in a gzip file. Anything else returns False and the caller reads
through nibabel as before, errors included.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

#: Compressed bytes handed to zlib at a time (1 MB: its output stays in cache while it is
#: placed, and the GIL changes hands a few dozen times per volume). One call's output never
#: exceeds the volume's own size.
CHUNK = 1 << 20


def inflate_voxels_into(img, path: str | Path, out: np.ndarray, *, source: bytes | None = None) -> bool:
    """Write the voxels of the nibabel image ``img`` (header read, data not yet), from the
    gzip-compressed file ``path``, into ``out``: a writable array of shape ``img.shape``
    (x, y, z) and the stored dtype, any strides (e.g. a transposed, flipped view of a display
    array). The values are those of nibabel's ``np.asanyarray(img.dataobj)``.
    ``source``: the file's bytes when already read (e.g. to check its hash).

    Returns False, with nothing written, when this path does not apply (not ``.gz``, scaled
    data, the data not on a file, another shape or dtype): read through nibabel instead.
    Raises :class:`zlib.error` for a damaged stream (a wrong CRC included) and
    :class:`EOFError` when the file ends before the last voxel, like nibabel's read.
    """
    proxy = img.dataobj
    if not str(path).endswith(".gz") or not _plain_proxy(proxy) or out.ndim != 3:
        return False
    dtype = np.dtype(proxy.dtype)
    if tuple(int(n) for n in proxy.shape) != out.shape or dtype != out.dtype:
        return False
    if source is None:
        source = Path(path).read_bytes()
    _inflate_planes(memoryview(source), int(proxy.offset), dtype, out)
    return True


def _inflate_planes(source: memoryview, offset: int, dtype: np.dtype, out: np.ndarray) -> None:
    """Inflate gzip ``source`` (one member or several, as :mod:`gzip` reads them), skip
    ``offset`` header bytes, and write plane z of the voxels to ``out[:, :, z]``.

    Each zlib call and each copy into ``out`` releases the GIL, and taking it back may wait
    for a busy main thread's switch interval (5 ms): one copy of all complete planes per
    chunk keeps those hand-overs to two per chunk."""
    nx, ny, nz = out.shape
    plane_bytes = nx * ny * dtype.itemsize
    pending = bytearray()  # inflated bytes not yet placed
    skip, z, pos = offset, 0, 0
    inflater = zlib.decompressobj(wbits=31)
    try:
        while z < nz:
            if inflater.eof:  # another gzip member follows, or the data ended early
                rest = inflater.unused_data
                if not rest and pos >= len(source):
                    raise EOFError(f"the file ends after {z} of {nz} planes of voxels")
                inflater = zlib.decompressobj(wbits=31)
                pending += inflater.decompress(rest)
            elif pos < len(source):
                pending += inflater.decompress(source[pos: pos + CHUNK])
                pos += CHUNK
            else:
                raise EOFError(f"the compressed data ends after {z} of {nz} planes of voxels")
            if skip:
                done = min(skip, len(pending))
                del pending[:done]
                skip -= done
            planes = min(len(pending) // plane_bytes, nz - z)
            if planes:
                block = np.frombuffer(pending, dtype=dtype, count=nx * ny * planes)
                out[:, :, z: z + planes] = block.reshape((nx, ny, planes), order="F")
                del block  # release the buffer before it shrinks
                del pending[: planes * plane_bytes]
                z += planes
        if not inflater.eof:  # the rest of the stream, for its CRC-32 and length check
            while pos < len(source) and not inflater.eof:
                inflater.decompress(source[pos: pos + CHUNK])
                pos += CHUNK
            if not inflater.eof:
                raise EOFError("the compressed data ends before its end-of-stream marker")
    finally:
        source.release()


def _plain_proxy(proxy) -> bool:
    """An unscaled NIfTI array proxy on a file (nibabel's ``ArrayProxy``: 1 / 0 when unset)."""
    try:
        slope, inter, order = float(proxy.slope), float(proxy.inter), proxy.order
        file_like = proxy.file_like
    except AttributeError:  # an in-memory array (a reoriented image), or another proxy
        return False
    return slope == 1.0 and inter == 0.0 and order == "F" and isinstance(file_like, str)
