"""Search a built package's bytes for anything that must stay in the key.

Every file is read whole. Plain files are searched byte for byte. For gzip files (the NIfTI
volumes) the searched bytes are the gzip header with its optional fields (FEXTRA, FNAME,
FCOMMENT: where gzip stores a file name and comment) and the decompressed NIfTI header and
extensions; the compressed voxel stream itself is noise in which short strings turn up by
chance, so it is not searched as text. The readable runs of each blob (letters, digits,
'.', '-', '_', ':') are collected once and every needle is looked up in them.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

RUN = re.compile(rb"[\w.:\-]{3,}")


def _nifti_header(raw: bytes) -> bytes:
    """The decompressed NIfTI-1 header and extensions (up to vox_offset) of a .nii.gz."""
    d = zlib.decompressobj(wbits=31)
    head = d.decompress(raw, 4096)
    if len(head) < 352:
        head += d.decompress(d.unconsumed_tail, 4096)
    vox_offset = int(struct.unpack("<f", head[108:112])[0]) if len(head) >= 112 else 352
    return head[: max(vox_offset, 352)]


def _gzip_header(raw: bytes) -> bytes:
    """The gzip member header, optional fields included (RFC 1952)."""
    flags, pos = raw[3], 10
    if flags & 0x04:  # FEXTRA
        pos += 2 + int.from_bytes(raw[pos : pos + 2], "little")
    for bit in (0x08, 0x10):  # FNAME, FCOMMENT: zero-terminated
        if flags & bit:
            pos = raw.index(b"\0", pos) + 1
    return raw[:pos]


def package_runs(study: Path) -> dict[Path, bytes]:
    """Per file, its readable runs joined by NUL bytes (see the module docstring)."""
    out = {}
    for f in sorted(p for p in Path(study).rglob("*") if p.is_file()):
        raw = f.read_bytes()
        blobs = [f.name.encode()]
        if raw[:2] == b"\x1f\x8b":
            blobs += [_gzip_header(raw), _nifti_header(raw)]
        else:
            blobs.append(raw)
        out[f] = b"\0".join(b"\0".join(RUN.findall(b)) for b in blobs)
    return out


def find_leaks(study: Path, needles: set[str]) -> list[tuple[str, str]]:
    """(file, needle) for every needle found anywhere in the package."""
    runs = package_runs(study)
    joined = b"\1".join(runs.values())
    hits = []
    for n in sorted(needles):
        nb = n.encode()
        if nb in joined:
            hits += [(str(f), n) for f, r in runs.items() if nb in r]
    return hits
