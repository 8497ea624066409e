"""A series as one ``.tar.gz``, as the NIMH Data Archive's OAI package holds it, byte for byte reproducible.

The archive holds a ``.`` directory entry and the slice files ``./001``, ``./002`` ... (what
``tar czf <series>.tar.gz -C <series folder> .`` makes), the same bytes as the OAI style's
slice files. Every header field that could vary is fixed (modification time: the study date,
owner 0/0 with no names, modes 0755/0644), and so is the gzip header (mtime 0, no file
name), so the same series gives the same archive bytes on every run and machine.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from calendar import timegm
from collections.abc import Iterable
from pathlib import Path

#: gzip level: the DICOM pixels (with noise) hardly compress further at 9, which is slower.
COMPRESS_LEVEL = 6


def _info(name: str, kind: bytes, mode: int, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def study_mtime(study_date: str) -> int:
    """Seconds since the epoch of a YYYYMMDD date's midnight (UTC)."""
    return timegm((int(study_date[:4]), int(study_date[4:6]), int(study_date[6:8]), 0, 0, 0))


def write_tar_series(path: Path, files: Iterable[tuple[str, bytes]], *, mtime: int) -> int:
    """Write ``files`` ((name, bytes), in order) as ``path`` (a reproducible ``.tar.gz``); returns the count.

    The parent folder is created if needed; an existing file is overwritten.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                compresslevel=COMPRESS_LEVEL) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tf:
            tf.addfile(_info(".", tarfile.DIRTYPE, 0o755, 0, mtime))
            for name, data in files:
                tf.addfile(_info(f"./{name}", tarfile.REGTYPE, 0o644, len(data), mtime), io.BytesIO(data))
                n += 1
    return n
