"""One writer per decisions file: an exclusive, non-blocking OS lock on ``<file>.lock``.

The lock is held by an open file handle, so the operating system drops it when the process
ends in any way (a crash or ``kill -9`` included): a lock file left behind never blocks the
next start. The file holds who took the lock (process id, host, time) for the refusal message;
it is never deleted, so two processes can never hold locks on two different lock files.
The lock is named after the decisions file's resolved path, and a decisions file with another
name (a hard link or a symlink) is refused (:func:`check_single_name`), so one file has one
lock whatever name it is opened by.
"""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from studies.errors import StudyError


class ReaderLockedError(StudyError):
    """The reader's decisions file is already open for writing in another window or process."""


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def check_single_name(db_path: str | Path) -> None:
    """Refuse a decisions file reachable under another name: a symlink, or a file with more
    than one hard link. The lock is taken by name (``<file>.lock``), so a second name would
    let a second writer in; with one name per file, one lock guards one file."""
    from studies.errors import InputFileError

    path = Path(db_path)
    if path.is_symlink():
        raise InputFileError(path, "the decisions file is a symlink",
                             hint="Use the file itself; a second name would let two writers in")
    try:
        links = os.stat(path).st_nlink
    except FileNotFoundError:
        return
    if links != 1:
        raise InputFileError(
            path, f"the decisions file has {links} hard links (other names for the same file)",
            hint="Remove the other names (find the folder -samefile FILE) so only one writer can "
            "open it; if it was copied by linking, copy it properly",
        )


class ReaderLock:
    """``ReaderLock(db_path).acquire(reader_id)`` or raise :class:`ReaderLockedError`."""

    def __init__(self, db_path: str | Path) -> None:
        # the resolved path: a symlink to a decisions file shares that file's lock
        self.db_path = Path(db_path).resolve()
        self.path = self.db_path.with_name(self.db_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self, reader_id: str) -> ReaderLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            try:
                holder = os.read(fd, 400).decode("utf-8", "replace").strip() or "another process"
            except OSError:  # Windows: the holder's locked byte cannot be read
                holder = "another process"
            os.close(fd)
            raise ReaderLockedError(
                f"Reader '{reader_id}' is already reading this study in another window "
                f"({holder}); their decisions file {self.db_path} can be open in only one place "
                "at a time. Close the other window (or wait for it to finish) and try again"
            )
        info = f"process {os.getpid()} on {socket.gethostname()} since {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        os.ftruncate(fd, 0)
        os.write(fd, info.encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the handle drops the lock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None
