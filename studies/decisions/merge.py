"""Collecting decisions files from several workstations into one study.

Readers may read on different machines; the coordinator brings their
``decisions/<reader>.sqlite`` files together in the study's own ``decisions/`` folder.
Because every file is an append-only hash chain, comparing chains says exactly what an
incoming file is relative to the one already there:

- ``new``: no file for this reader yet; copied in.
- ``duplicate``: the same chain (same rows, same head hash); nothing to do.
- ``update``: the existing chain is a prefix of the incoming one (the reader went on reading
  after an earlier collection); the incoming file replaces it. Also when the collected file's
  own chain is broken (changed after collection) and the incoming one is intact: the broken
  file is then moved to ``decisions/conflicts/<reader>@broken-<n>.sqlite``.
- ``older``: the incoming chain is a prefix of the existing one; nothing to do.
- ``conflict``: the chains share a start and then differ (the same reader read on two
  machines); nothing is overwritten. The incoming file is kept aside under
  ``decisions/conflicts/`` (which analysis ignores) and the pairs answered differently are
  listed, so the coordinator can decide.
- ``invalid``: the audit chain is broken, the file is not a decisions file, or it belongs to
  another study (a different study id or key hash); refused.

Copies go through SQLite's backup API (a consistent snapshot that includes a ``-wal`` file's
committed content) into a temporary file that is renamed into place, so a crash never
leaves a half-copied file looking whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from studies.decisions.audit import open_readonly, read_header, reader_id_of, verify_connection
from studies.decisions.export import read_decisions
from studies.decisions.lock import ReaderLock
from studies.errors import InputFileError, StudyError
from studies.package import DECISIONS_DIR, decisions_dir, load_manifest

CONFLICTS_DIR = "conflicts"
STATUSES = ("new", "duplicate", "update", "older", "conflict", "invalid")


@dataclass
class Chain:
    """What merging needs to know about one decisions file."""

    path: Path
    reader_id: str
    study_id: str
    key_sha256: str
    hashes: list[str]
    ok: bool
    reason: str

    @property
    def head(self) -> str | None:
        return self.hashes[-1] if self.hashes else None


@dataclass
class MergeItem:
    """The verdict on one incoming file (``status`` is one of :data:`STATUSES`)."""

    source: Path
    reader_id: str
    status: str
    detail: str
    #: For conflicts: ``{"pair_id", "existing", "incoming"}`` per pair answered differently.
    differences: list[dict] = field(default_factory=list)
    target: Path | None = None


def read_chain(path: str | Path) -> Chain:
    """Read a decisions file's header and row hashes, verifying its chain (read-only)."""
    path = Path(path)
    conn = open_readonly(path)
    try:
        meta, _ = read_header(conn)
        reader_id = reader_id_of(meta, path)
        report = verify_connection(conn)
        hashes = [h for (h,) in conn.execute("SELECT hash FROM audit ORDER BY id")]
    except sqlite3.DatabaseError as exc:
        return Chain(path, "", "", "", [], False, f"the file is damaged: {exc}")
    except StudyError as exc:  # an unsafe reader id: it would name a file outside decisions/
        return Chain(path, "", "", "", [], False, str(exc).removeprefix(f"{path}: "))
    finally:
        conn.close()
    return Chain(
        path,
        reader_id,
        meta.get("study_id", ""),
        meta.get("key_sha256", ""),
        hashes,
        report.ok,
        report.reason,
    )


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _answer_differences(existing: Path, incoming: Path) -> list[dict]:
    """Pairs whose final answer differs between two files of the same reader."""
    a = read_decisions(existing).set_index("pair_id")["chosen_case"]
    b = read_decisions(incoming).set_index("pair_id")["chosen_case"]
    diffs = []
    for pair_id in sorted(set(a.index) | set(b.index)):
        ea, eb = a.get(pair_id), b.get(pair_id)
        if ea != eb:
            diffs.append({"pair_id": pair_id, "existing": ea, "incoming": eb})
    return diffs


def classify(study_id: str, key_sha256: str, incoming: Chain, existing: Chain | None) -> tuple[str, str]:
    """The status of ``incoming`` against the study and the reader's ``existing`` chain."""
    if not incoming.reader_id:
        return "invalid", incoming.reason
    if not incoming.ok:
        return "invalid", f"audit chain broken: {incoming.reason}"
    if incoming.study_id != study_id or incoming.key_sha256 != key_sha256:
        return "invalid", (
            f"belongs to another study (study id {incoming.study_id or '?'}, this study is {study_id})"
        )
    if existing is None:
        return "new", f"{len(incoming.hashes)} audit rows"
    if not existing.ok:
        return "update", (
            f"replaces the collected file, whose audit chain is broken ({existing.reason}); "
            f"that file is kept under decisions/{CONFLICTS_DIR}/"
        )
    common = _common_prefix(existing.hashes, incoming.hashes)
    if common == len(incoming.hashes) == len(existing.hashes):
        return "duplicate", "identical to the file already collected"
    if common == len(existing.hashes):
        return "update", f"continues the collected file ({len(incoming.hashes) - common} new audit rows)"
    if common == len(incoming.hashes):
        return "older", f"an earlier copy of the collected file ({len(existing.hashes) - common} rows fewer)"
    return "conflict", (
        f"differs from the collected file after audit row {common}: the same reader id was used "
        "on two machines"
    )


def _copy_snapshot(source: Path, dest: Path) -> None:
    """Copy a decisions database consistently (backup API), then rename into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        src = open_readonly(source)
        try:
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)
                out.execute("PRAGMA journal_mode=DELETE")
            finally:
                out.close()
        finally:
            src.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _fold_wal(dest)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fold_wal(dest: Path) -> None:
    """Write ``dest``'s ``-wal`` into it and remove the ``-wal``/``-shm`` files.

    A reader killed mid-session leaves its committed rows in ``dest-wal``; SQLite would read
    that stale WAL over a file renamed onto ``dest`` and lose or mangle the new rows. With
    the WAL folded in first, a crash before the rename still leaves ``dest`` whole.
    """
    wal, shm = (dest.with_name(dest.name + s) for s in ("-wal", "-shm"))
    if dest.exists() and (wal.exists() or shm.exists()):
        conn = sqlite3.connect(dest)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")  # checkpoints, then deletes the WAL
        finally:
            conn.close()
    for leftover in (wal, shm):  # a WAL without its database belongs to nothing
        with contextlib.suppress(FileNotFoundError):
            os.unlink(leftover)


def _keep_broken_aside(path: Path, conflicts: Path) -> None:
    """Move a collected file whose chain is broken (or that cannot be read) to
    ``conflicts/<name>@broken-<n>.sqlite``, with its ``-wal``/``-shm`` files as they are."""
    conflicts.mkdir(parents=True, exist_ok=True)
    n = 1
    while (dest := conflicts / f"{path.stem}@broken-{n}.sqlite").exists():
        n += 1
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, dest.with_name(dest.name + suffix))
    os.replace(path, dest)


def _in_use(path: Path) -> bool:
    """Is a reader writing to this decisions file right now?"""
    if not path.exists():
        return False
    lock = ReaderLock(path)
    try:
        lock.acquire("coordinator-merge")
    except StudyError:
        return True
    lock.release()
    return False


def _target(study: str | Path, sub: str, name: str) -> Path:
    """``STUDY/decisions/[sub/]name``, refusing anything that would write elsewhere: a name
    with a path separator, a symlinked ``decisions/`` (or ``conflicts/``) folder, a symlink
    at the target."""
    root = Path(study).resolve() / DECISIONS_DIR
    folder = decisions_dir(study) / sub if sub else decisions_dir(study)
    target = folder / name
    expected = root / sub if sub else root
    if "/" in name or "\\" in name or name.startswith("."):
        bad = f"the file name {name!r} is not a plain name"
    elif any(p.is_symlink() for p in (decisions_dir(study), folder, target)):
        bad = f"{target} or a folder above it is a symlink"
    elif target.parent.resolve() != expected:
        bad = f"{target} resolves outside {expected}"
    else:
        return target
    raise InputFileError(target, f"refusing to write a decisions file here: {bad}",
                         hint="Collect into a plain decisions/ folder inside the study")


def _place(item: MergeItem, study: str | Path, incoming: Chain, existing: Chain | None, f: Path) -> None:
    """Set ``item.target`` (and the conflict details) for a classified incoming file."""
    status = item.status
    if existing is not None and existing.path.resolve() == f.resolve():
        item.status, item.detail = "duplicate", "this is the collected file itself"
    elif status == "conflict":
        item.differences = _answer_differences(existing.path, f)
        digest = hashlib.sha256((incoming.head or "").encode()).hexdigest()[:10]
        item.target = _target(study, CONFLICTS_DIR, f"{incoming.reader_id}@{digest}.sqlite")
    elif status in ("new", "update"):
        item.target = _target(study, "", f"{incoming.reader_id}.sqlite")
        if status == "update" and _in_use(item.target):
            item.status = "conflict"
            item.detail = (
                f"reader {incoming.reader_id} is reading in this study right now; "
                "collect again once they have closed the app"
            )
            item.target = None


def merge_decisions(study: str | Path, files: list[str | Path], *, dry_run: bool = False,
                    key: str | Path | None = None) -> list[MergeItem]:
    """Bring ``files`` into ``STUDY/decisions/``; return one verdict per file, in order.

    Files are taken one after the other, so two copies of the same reader's file in one
    batch are compared with each other too. With ``dry_run`` nothing is written. With
    ``key``, a file that contradicts the chain heads recorded beside it (shorter, an older
    copy, rewritten below a recorded head) is ``invalid``, and the heads of the files
    collected are recorded (:mod:`studies.decisions.heads`).
    """
    from studies.decisions.heads import head_problem, load_heads, record_heads

    recorded = load_heads(key)["readers"] if key is not None else {}
    manifest = load_manifest(study)
    folder = decisions_dir(study)
    current: dict[str, Chain] = {}
    if folder.is_dir():
        for f in sorted(folder.glob("*.sqlite")):
            try:
                chain = read_chain(f)
            except StudyError as exc:  # a half copy or a damaged file: replaceable, kept aside
                chain = Chain(f, "", "", "", [], False, str(exc))
            if chain.reader_id and chain.reader_id != f.stem:  # renamed or forged: replaceable
                chain = Chain(f, f.stem, chain.study_id, chain.key_sha256, chain.hashes, False,
                              f"its header names reader '{chain.reader_id}', not '{f.stem}'")
            if not chain.reader_id:
                chain.reader_id = f.stem
            current[chain.reader_id] = chain
    items: list[MergeItem] = []
    for f in files:
        f = Path(f)
        try:
            incoming = read_chain(f)
        except StudyError as exc:
            detail = str(exc).removeprefix(f"{f}: ")  # the report names the file already
            items.append(MergeItem(f, "", "invalid", detail))
            continue
        existing = current.get(incoming.reader_id)
        status, detail = classify(manifest.study_id, manifest.key_sha256, incoming, existing)
        item = MergeItem(f, incoming.reader_id, status, detail)
        if status in ("new", "update", "conflict") and incoming.ok and (
            bad := head_problem(f, recorded.get(incoming.reader_id))
        ) is not None:
            item.status, item.detail = "invalid", bad
        try:
            _place(item, study, incoming, existing, f)
        except InputFileError as exc:
            item.status, item.detail, item.target = "invalid", exc.problem, None
        if not dry_run and item.target is not None:
            if item.status == "update" and existing is not None and not existing.ok:
                _keep_broken_aside(existing.path, _target(study, CONFLICTS_DIR, "x").parent)
            _copy_snapshot(f, item.target)
            if item.status in ("new", "update"):
                current[incoming.reader_id] = read_chain(item.target)
                if key is not None:
                    record_heads(key, [item.target], manifest.study_id)
        items.append(item)
    return items
