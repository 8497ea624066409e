"""DICOM series as a folder of slice files or as one tar archive, read in place.

The OAI's own image releases hold a series as a folder of extensionless slice files
(``001``, ``002``, ...). The NIMH Data Archive's OAI package holds the same files in one
``<barcode>.tar.gz`` per series (a ``.`` directory entry and the slice files). Every reader of
images in the project goes through this module, so a package of hundreds of GB is never
unpacked into a second copy:

- :func:`count_slices` counts a series' slice files without decoding a pixel (a folder by
  its directory entries, a tar by streaming its member headers);
- :func:`series_folder` yields a folder holding the series' slice files: a folder as it is,
  a tar extracted member by member into a private temporary folder that is removed on exit
  (one series at a time: ~47 MB for a 160-slice 384 x 384 DESS);
- :func:`read_series` reads the series as a SimpleITK image (the study builder's converter
  and the model's preprocessing both use it), the same image from a folder or a tar.

Extraction trusts nothing in the archive: only regular files are written, each under its
base name; a link, device, absolute name or ``..`` name refuses the whole archive; more than
:data:`MAX_MEMBERS` slice files or :data:`MAX_BYTES` of them (a decompression bomb) too. A
corrupt, truncated or non-tar file raises :class:`~studies.errors.InputFileError` naming it.
Hidden names (``.DS_Store``, macOS ``._001``) are not slices, in a folder or in a tar.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from studies.errors import InputFileError

if TYPE_CHECKING:
    import SimpleITK as sitk

#: File-name endings of a tar series (compression detected from the content, not the name).
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
#: Most slice files one archive may hold (an OAI DESS has 160).
MAX_MEMBERS = 10_000
#: Most bytes of slice files one archive may expand to (an OAI DESS: ~47 MB).
MAX_BYTES = 4 << 30
#: Chunk size of the streamed copy of one member, bytes.
_CHUNK = 1 << 20
#: What reading a damaged archive raises (gzip.BadGzipFile is an OSError).
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)
_REDOWNLOAD = "Re-download this file (an interrupted download leaves a truncated archive)"
_HOSTILE = "Not an OAI series archive: re-download it from the NDA and do not unpack it by hand"


def is_tar_series(path: str | Path) -> bool:
    """True when ``path`` names a tar series by its suffix (``.tar.gz``, ``.tgz``, ``.tar``)."""
    p = Path(path)
    return p.name.lower().endswith(TAR_SUFFIXES) and not p.is_dir()


def count_slices(path: str | Path) -> int:
    """Number of slice files of the series at ``path`` (a folder or a tar); decodes nothing.

    A folder: its regular, non-hidden files. A tar: its regular, non-hidden members (the
    archive is streamed through once, member data skipped). Raises :class:`InputFileError`
    naming the file for a missing path, a non-tar file, or a corrupt or hostile archive.
    """
    path = Path(path)
    if path.is_dir():
        with os.scandir(path) as entries:
            return sum(1 for e in entries if not e.name.startswith(".") and e.is_file())
    _require_tar(path)
    with _open_tar(path) as tf:
        return sum(1 for _ in _slice_members(path, tf))


@contextmanager
def series_folder(path: str | Path, *, tmp_dir: str | Path | None = None) -> Iterator[Path]:
    """Yield a folder holding the series' slice files; for a tar, a temporary one.

    A folder is yielded as it is. A tar's slice files are written, member by member, under
    their base names into a new private folder (in ``tmp_dir``, default the system's temporary
    directory) that is removed when the block exits, also on an exception. Raises
    :class:`InputFileError` naming the tar when it is corrupt, truncated or hostile (links,
    absolute or ``..`` names, too many or too large members).
    """
    path = Path(path)
    if path.is_dir():
        yield path
        return
    _require_tar(path)
    tmp = Path(tempfile.mkdtemp(prefix="knee-series-", dir=tmp_dir))
    try:
        _extract(path, tmp)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_series(path: str | Path) -> sitk.Image:
    """The DICOM series at ``path`` (a folder or a tar) as a 3-D SimpleITK image.

    The image keeps the files' pixel type and the scanner geometry (origin and spacing in
    mm, direction cosines; ITK's LPS world); its array is indexed (slice, row, column). When
    a folder holds several series, the one with the most slices is read (an OAI series
    folder holds one). Raises :class:`InputFileError` naming ``path`` when there is no
    readable series (or the tar is corrupt).
    """
    import SimpleITK as sitk

    path = Path(path)
    with series_folder(path) as folder:
        reader = sitk.ImageSeriesReader()
        ids = reader.GetGDCMSeriesIDs(str(folder))
        if not ids:
            raise InputFileError(path, "no DICOM series in this folder or archive",
                                 hint="Check the cohort's image paths")
        files = max((reader.GetGDCMSeriesFileNames(str(folder), sid) for sid in ids), key=len)
        reader.SetFileNames(files)
        try:
            image = reader.Execute()
        except RuntimeError as exc:
            lines = str(exc).strip().splitlines() or ["unknown error"]
            why = lines[-1].strip().replace(str(folder), path.name)  # not the temporary folder
            raise InputFileError(path, f"cannot read this DICOM series ({why})") from exc
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputFileError(path, "expected a 3-D grey-level series", value=image.GetSize())
    return image


def _require_tar(path: Path) -> None:
    if not path.exists():
        raise InputFileError(path, "image not found", hint="Check the cohort's image paths")
    if not is_tar_series(path):
        raise InputFileError(
            path,
            "not a DICOM series: expected a folder of slice files or a "
            f"{', '.join(TAR_SUFFIXES)} archive of them",
            hint="Check the cohort's image paths",
        )


def _corrupt(path: Path, exc: BaseException) -> InputFileError:
    lines = str(exc).strip().splitlines()
    why = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return InputFileError(path, f"corrupt or truncated tar archive ({why})", hint=_REDOWNLOAD)


def _unwritable(target: Path, exc: OSError) -> InputFileError:
    return InputFileError(target.parent, f"cannot write a temporary slice file ({exc.strerror})",
                          hint="Free space in the temporary folder or point TMPDIR at a larger disk")


@contextmanager
def _open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    """The archive opened for one sequential pass; a gzip stream is read to its end on exit.

    ``tarfile`` ends its member list quietly at a header cut short (a download interrupted
    between two members), so the gzip stream underneath is drained after the pass: a stream
    without its end-of-stream marker and checksum raises, and the archive is reported as
    truncated. One decompression pass either way.
    """
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise _corrupt(path, exc) from exc
    raw = gzip.open(path, "rb") if gz else None
    try:
        try:
            tf = tarfile.open(fileobj=raw, mode="r|") if raw is not None else tarfile.open(path, mode="r|*")
        except _READ_ERRORS as exc:
            raise _corrupt(path, exc) from exc
        with tf:
            yield tf
            if raw is not None:
                try:
                    while raw.read(_CHUNK):
                        pass
                except _READ_ERRORS as exc:
                    raise _corrupt(path, exc) from exc
    finally:
        if raw is not None:
            raw.close()


def _members(path: Path, tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The archive's members in order, read errors turned into :class:`InputFileError`."""
    it = iter(tf)
    while True:
        try:
            member = next(it)
        except StopIteration:
            return
        except _READ_ERRORS as exc:
            raise _corrupt(path, exc) from exc
        yield member


def _kind(m: tarfile.TarInfo) -> str:
    if m.issym():
        return "symbolic link"
    if m.islnk():
        return "hard link"
    if m.ischr() or m.isblk():
        return "device"
    if m.isfifo():
        return "FIFO"
    return f"non-regular member (type {m.type!r})"


def _unsafe(name: str) -> str | None:
    """Why a member name could write outside the extraction folder, or None."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute name"
    if ".." in name.replace("\\", "/").split("/"):
        return "points outside the archive ('..')"
    return None


def _slice_members(path: Path, tf: tarfile.TarFile) -> Iterator[tuple[str, tarfile.TarInfo]]:
    """(base name, member) of every slice file; refuses a hostile archive as a whole."""
    seen: set[str] = set()
    total = 0
    for m in _members(path, tf):
        why = _unsafe(m.name)
        if why:
            raise InputFileError(path, f"member '{m.name}' {why}", hint=_HOSTILE)
        if m.isdir():
            continue
        if not m.isreg():
            raise InputFileError(path, f"member '{m.name}' is a {_kind(m)}, not a slice file", hint=_HOSTILE)
        base = PurePosixPath(m.name.replace("\\", "/")).name
        if not base or base.startswith("."):
            continue
        if base in seen:
            raise InputFileError(path, f"member '{m.name}' repeats the slice name '{base}' (one series per archive expected)", hint=_HOSTILE)
        seen.add(base)
        total += m.size
        if len(seen) > MAX_MEMBERS or total > MAX_BYTES:
            raise InputFileError(
                path,
                f"more than {MAX_MEMBERS} slice files or {MAX_BYTES >> 20} MiB of them "
                "(one series expected; refused as a possible decompression bomb)",
                hint=_HOSTILE,
            )
        yield base, m


def _extract(path: Path, dest: Path) -> None:
    """Write the archive's slice files into the empty folder ``dest``."""
    with _open_tar(path) as tf:
        for base, member in _slice_members(path, tf):
            src = tf.extractfile(member)
            if src is None:  # pragma: no cover - isreg() members always have data
                raise InputFileError(path, f"member '{member.name}' has no data", hint=_REDOWNLOAD)
            _copy(path, src, dest / base, member.size)


def _copy(path: Path, src: BinaryIO, target: Path, size: int) -> None:
    """Stream one member's ``size`` bytes to ``target`` (created, never overwritten)."""
    done = 0
    try:
        out = open(target, "xb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _unwritable(target, exc) from exc
    with out:
        while done < size:
            try:
                chunk = src.read(min(_CHUNK, size - done))
            except _READ_ERRORS as exc:
                raise _corrupt(path, exc) from exc
            if not chunk:
                raise InputFileError(path, "corrupt or truncated tar archive (unexpected end of data)", hint=_REDOWNLOAD)
            try:
                out.write(chunk)
            except OSError as exc:
                raise _unwritable(target, exc) from exc
            done += len(chunk)


__all__ = ["TAR_SUFFIXES", "MAX_MEMBERS", "MAX_BYTES", "is_tar_series", "count_slices", "series_folder",
           "read_series"]
