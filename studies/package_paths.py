"""Paths inside a study package: every path a manifest names must stay inside the package.

A manifest comes from another workstation and is not trusted. Its image paths are relative
POSIX paths under ``images/``; this module refuses absolute paths, ``..``, backslashes and
drive letters (:func:`relative_path_problem`, a check on the text alone, used by the schema)
and, when a file is about to be opened, any symlink or symlinked folder that leads out of the
package folder it belongs to (:func:`package_file`, used by ``validate`` and the reader app).

Ids that become parts of file names (case ids in ``ai/heatmaps/<case>_<seq>.nii.gz``, reader
ids in ``decisions/<reader>.sqlite``) are checked by :func:`safe_id_problem`.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from studies.errors import InputFileError

#: Case and pair ids: letters, digits and '-' (case ids are joined to a sequence by '_').
CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
PAIR_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: Reader ids become file names: letters, digits, '-', '_' and '.', 1-64 characters.
READER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
MAX_PATH_CHARS = 255
#: A case id in the file schemas (JSON Schema).
CASE_ID_SCHEMA = {"type": "string", "pattern": CASE_ID_PATTERN, "description": "a case id: 1-64 letters, digits or '-'"}


def relative_path_problem(rel: object, folder: str) -> str | None:
    """Why ``rel`` is not a plain relative path under ``folder/`` (None when it is)."""
    if not isinstance(rel, str):
        return f"must be a text path, got {type(rel).__name__}"
    if not rel or len(rel) > MAX_PATH_CHARS:
        return f"must be 1-{MAX_PATH_CHARS} characters"
    if "\\" in rel or "\0" in rel or ":" in rel:
        return "must be a relative POSIX path (no backslash, colon or NUL)"
    p = PurePosixPath(rel)
    if p.is_absolute():
        return "must be relative to the package, not absolute"
    if any(part in ("..", ".") for part in rel.split("/")):
        return "must not contain '..' or '.' parts"
    if len(p.parts) < 2 or p.parts[0] != folder:
        return f"must lie inside the package's {folder}/ folder"
    return None


def package_file(study: str | Path, rel: str, folder: str, *, what: str = "file") -> Path:
    """The file ``STUDY/rel`` after checking that it stays inside ``STUDY/folder``.

    Raises :class:`InputFileError` for a path that is not a plain relative path under
    ``folder/`` or that resolves (through a symlink, or a symlinked folder) outside
    ``STUDY/folder``. The file need not exist.
    """
    study = Path(study)
    problem = relative_path_problem(rel, folder)
    if problem is None:
        path = study.joinpath(*PurePosixPath(rel).parts)
        root = study.resolve() / folder
        resolved = path.resolve()
        if root not in resolved.parents:
            problem = f"leads outside the package's {folder}/ folder (to {resolved})"
    if problem is not None:
        raise InputFileError(
            study / "manifest.json",
            f"{what} path {problem}",
            value=rel,
            hint=f"Rebuild the package, or put the file inside {folder}/ (no symlinks leaving it)",
        )
    return path


def safe_id_problem(value: object, pattern: str = READER_ID_PATTERN) -> str | None:
    """Why ``value`` is not a safe id for ``pattern`` (None when it is)."""
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    if not re.fullmatch(pattern, value):
        return "must be 1-64 letters, digits, '-', '_' or '.' starting with a letter or digit" if (
            pattern == READER_ID_PATTERN
        ) else f"must match {pattern}"
    return None
