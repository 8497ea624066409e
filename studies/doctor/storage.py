"""Doctor checks of disk: free space and write access where the study and the model cache
live, and how much the cache holds."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from studies.doctor.check import Check
from studies.locations import DEMO_CACHE, DEMO_DIR, default_model_cache

GIB = 1024**3
#: Free space below which a warning is given: the demo (cohort, study, runs and its model
#: cache) takes about 0.5 GiB; a study of 150 real pairs a few GiB.
LOW_SPACE = 2 * GIB
#: The cache's size is summed for at most this long (a huge cache is then "at least ...").
SIZE_TIME_LIMIT_S = 1.0


def check_storage(study: Path | None, cache: Path | None) -> list[Check]:
    study_given = study is not None
    study = Path(study) if study_given else Path(DEMO_DIR)
    cache = Path(cache) if cache is not None else default_model_cache()
    checks = [
        check_folder("Study folder", study, "" if study_given else " (the demo's; --study for another)"),
        check_folder("Model cache", cache),
        check_cache_size("Model cache size", cache),
    ]
    demo_cache = study / DEMO_CACHE
    if demo_cache.is_dir():
        checks.append(check_cache_size("Demo's model cache size", demo_cache))
    return checks


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def writable(folder: Path) -> tuple[bool, str]:
    """Whether files can be created in ``folder`` (or, when it does not exist yet, in the
    folder it would be created in); and why not."""
    base = _existing_ancestor(folder)
    if not base.is_dir():
        return False, f"{base} is not a folder"
    if folder.exists():
        try:  # the real test: create and delete a file
            with tempfile.NamedTemporaryFile(dir=base, prefix=".knee-doctor-"):
                pass
        except OSError as exc:
            return False, f"cannot create a file in {base} ({exc.strerror or exc})"
        return True, ""
    if not os.access(base, os.W_OK | os.X_OK):
        return False, f"{folder} does not exist and {base} is not writable"
    return True, ""


def check_folder(name: str, folder: Path, note: str = "") -> Check:
    ok, why = writable(folder)
    base = _existing_ancestor(folder)
    free = shutil.disk_usage(base).free if base.exists() else 0
    where = f"{folder}{note}" + ("" if folder.exists() else " (not created yet)")
    data = {"path": str(folder), "free_bytes": free, "writable": ok}
    if not ok:
        return Check(name, "missing", f"{where}: {why}", data=data,
                     fix="choose a folder you can write to (--study / --cache, or KNEE_MODEL_CACHE "
                     "for the cache), or fix its permissions")
    detail = f"{where}: writable, {free / GIB:.1f} GiB free"
    if free < LOW_SPACE:
        return Check(name, "warning", detail + f" (under {LOW_SPACE / GIB:.0f} GiB)", data=data,
                     fix="free some space or point --study / --cache (KNEE_MODEL_CACHE) at another disk; "
                     "the demo needs about 0.5 GiB")
    return Check(name, "ok", detail, data=data)


def folder_size(folder: Path, time_limit: float = SIZE_TIME_LIMIT_S) -> tuple[int, int, bool]:
    """(bytes, files, complete) under ``folder``; stops after ``time_limit`` seconds."""
    total = files = 0
    deadline = time.monotonic() + time_limit
    stack = [folder]
    while stack:
        if time.monotonic() > deadline:
            return total, files, False
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                elif e.is_file(follow_symlinks=False):
                    total += e.stat(follow_symlinks=False).st_size
                    files += 1
            except OSError:
                continue
    return total, files, True


def check_cache_size(name: str, folder: Path) -> Check:
    if not folder.is_dir():
        return Check(name, "ok", f"{folder} is empty (not created yet)", data={"bytes": 0})
    size, files, complete = folder_size(folder)
    text = f"{'at least ' if not complete else ''}{size / 1024**2:.0f} MiB in {files} files at {folder}"
    return Check(name, "ok", text + " (deleting it only costs recomputing the features)",
                 data={"bytes": size, "files": files, "complete": complete})
