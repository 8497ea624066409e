"""Can the decisions file be written? Checked before reading starts, and explained when not.

A read-only folder or a nearly full disk is reported by :func:`check_writable` before the
first pair is shown; a write that still fails later becomes a :class:`StorageError` saying the
answer was not saved and what to do.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from studies.errors import StudyError

#: Refuse to start reading with less free space than this next to the decisions file (bytes).
MIN_FREE_BYTES = 20 * 1024 * 1024


class StorageError(StudyError):
    """The decisions file cannot be written (read-only folder, full disk, damaged file)."""


def storage_error(path: Path, exc: BaseException, what: str) -> StorageError:
    """A :class:`StorageError` explaining ``exc`` (disk full, read-only, other) for ``path``."""
    text = str(exc).lower()
    if "full" in text or getattr(exc, "errno", None) == 28:
        why = f"the disk holding {path.parent} is full"
        todo = "Free some space and try again"
    elif "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        why = f"the folder {path.parent} cannot be written to (read-only or no permission)"
        todo = "Copy the study to a folder you can write to, or ask for write access"
    else:
        why = f"the decisions file could not be written ({exc})"
        todo = "Check the disk and the file, then try again"
    return StorageError(f"{what}: {why}. {todo}")


def check_writable(folder: Path, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Raise :class:`StorageError` unless ``folder`` can take new files and has free space.

    Writes, syncs and removes a small probe file, which catches read-only mounts that
    permission bits do not show.
    """
    db = folder / "decisions.sqlite"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise storage_error(db, exc, "Cannot record decisions") from exc
    free = shutil.disk_usage(folder).free
    if free < min_free_bytes:
        raise StorageError(
            f"Cannot record decisions: the disk holding {folder} has only {free / 2**20:.1f} MiB free "
            f"(at least {min_free_bytes / 2**20:.0f} MiB are needed to read safely). "
            "Free some space and try again"
        )
