"""Writes that are all-or-nothing.

A crash or a kill must never leave a half-written file or folder looking complete: files are
written next to their destination under a temporary name, flushed to disk, then renamed over
it (``os.replace`` is atomic on POSIX and Windows); folders are built under a temporary name
and renamed once complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not supported on every platform / file system
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The file gets the permissions an ordinary ``open(path, "w")`` would give it (0o666 less
    the umask), not the owner-only mode of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_text_atomic(path: str | Path, text: str) -> None:
    """UTF-8 text version of :func:`write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(dest: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name next to ``dest``; rename it into place on success.

    On an exception the temporary folder is removed and ``dest`` is untouched. With
    ``force`` an existing ``dest`` is replaced (only once the new one is complete).

    >>> with atomic_directory("out/study") as tmp:   # doctest: +SKIP
    ...     (tmp / "manifest.json").write_text("{}")
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # an ordinary folder's mode, not mkdtemp's owner-only one
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if dest.exists():
        if not force:
            shutil.rmtree(tmp, ignore_errors=True)
            raise FileExistsError(f"{dest} appeared while it was being written; nothing was changed")
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dest)
    _fsync_dir(dest.parent)


def check_output_dir(path: str | Path, *, force: bool, option: str = "--out") -> Path:
    """Refuse a non-empty output folder unless ``force``; return it as a Path.

    Raises :class:`studies.errors.OptionError` naming the option.
    """
    from studies.errors import OptionError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OptionError(option.lstrip("-"), "a folder path", f"{path} (an existing file)")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise OptionError(
            option.lstrip("-"),
            "an empty or new folder (pass --force to replace it)",
            f"{path} (not empty)",
        )
    return path
