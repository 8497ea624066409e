"""One reader's decisions file: ``STUDY/decisions/<reader_id>.sqlite``.

SQLite in WAL mode with ``synchronous=FULL``: every write is its own transaction, committed
(and on disk) before the call returns, so a crash or ``kill -9`` at any moment loses no
committed decision and leaves the file consistent. Tables (see ``docs/decisions-format.md``):

- ``meta``: the header (format, reader, study, key hash, seed, created_at), written once;
- ``pair_order``: the reader's reading order and left/right placement, written once;
- ``audit``: the append-only record of every write (:mod:`studies.decisions.audit`); the
  answers and flags are read back from it, so there is one record and nothing to disagree.

Triggers forbid UPDATE and DELETE on all three. A second process (or window) on the same
file is refused by an OS lock (:mod:`studies.decisions.lock`); a read-only folder or a nearly
full disk is reported by :meth:`DecisionStore.open`, before the reader starts reading.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studies import __version__
from studies.decisions.audit import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ChainReport,
    canonical_json,
    genesis_hash,
    read_header,
    row_hash,
    verify_connection,
)
from studies.decisions.ledger import PHASES, DecisionRow, Ledger, to_iso
from studies.decisions.lock import ReaderLock, check_single_name
from studies.decisions.modes import DEFAULT_MODE, get_mode, phase_error
from studies.decisions.order import OrderedPair, reader_order, reader_seed
from studies.decisions.storage import MIN_FREE_BYTES, check_writable, storage_error
from studies.errors import InputFileError, StudyError
from studies.package import Manifest, check_reader_id

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pair_order (
    position INTEGER PRIMARY KEY, pair_id TEXT NOT NULL UNIQUE,
    left_case TEXT NOT NULL, right_case TEXT NOT NULL, practice INTEGER NOT NULL);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, ts TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('session_start','session_stop','decision','answer_change','flag')),
    payload_json TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL UNIQUE);
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'meta is write-once'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta BEGIN SELECT RAISE(ABORT, 'meta is write-once'); END;
CREATE TRIGGER order_no_update BEFORE UPDATE ON pair_order BEGIN SELECT RAISE(ABORT, 'pair_order is write-once'); END;
CREATE TRIGGER order_no_delete BEFORE DELETE ON pair_order BEGIN SELECT RAISE(ABORT, 'pair_order is write-once'); END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE VIEW answers AS SELECT id, ts, kind,
    json_extract(payload_json, '$.pair_id') AS pair_id, json_extract(payload_json, '$.phase') AS phase,
    json_extract(payload_json, '$.mode') AS mode, json_extract(payload_json, '$.chosen_case') AS chosen_case,
    json_extract(payload_json, '$.confidence') AS confidence,
    json_extract(payload_json, '$.active_seconds') AS active_seconds
    FROM audit WHERE kind IN ('decision', 'answer_change');
"""


class AnswerLockedError(StudyError):
    """An answer may not be given again or changed (a locked phase's answer never changes)."""


class DecisionStore:
    """One reader's decisions file, open for writing (see the module docstring).

    Use :meth:`open`; close with :meth:`close` or a ``with`` block. Times passed in are epoch
    seconds; they are stored as ISO-8601 UTC text.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: ReaderLock, manifest: Manifest,
                 mode: str, wall_clock: Callable[[], float]) -> None:
        self.path = path
        self._conn = conn
        self._lock = lock
        self.manifest = manifest
        self.mode = mode
        self._wall = wall_clock
        #: Serialises use of the connection: the reading app writes an answer on a writer
        #: thread (see :meth:`write`) while the window draws the next pair.
        self._conn_lock = threading.Lock()
        meta, order = read_header(conn)
        self.meta = meta
        self.reader_id: str = meta["reader_id"]
        self.study_id: str = meta["study_id"]
        self.seed: int = int(meta["seed"])
        self.order: list[OrderedPair] = [
            OrderedPair(o["pair_id"], o["left_case"], o["right_case"], o["practice"]) for o in order
        ]
        self._by_id = {p.pair_id: p for p in self.order}
        self._genesis = genesis_hash(meta, order)
        self._ledger = Ledger(self.reader_id).replay(
            conn.execute("SELECT id, kind, payload_json FROM audit ORDER BY id")
        )

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, reader_id: str, manifest: Manifest, mode: str = DEFAULT_MODE, *,
             min_free_bytes: int = MIN_FREE_BYTES, wall_clock: Callable[[], float] = time.time,
             ) -> DecisionStore:
        """Create or resume ``path`` for ``reader_id``; take the file's lock.

        Raises :class:`ReaderLockedError` when another process holds it, :class:`StorageError`
        when the folder is read-only or the disk nearly full, :class:`InputFileError` when the
        file belongs to another reader or study or its audit chain is broken.
        """
        path = Path(path)
        check_reader_id(reader_id)
        get_mode(mode)
        check_writable(path.parent, min_free_bytes)
        check_single_name(path)
        lock = ReaderLock(path).acquire(reader_id)
        conn = None
        try:
            check_single_name(path)  # again under the lock: a link made meanwhile
            conn = cls._connect(path)
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='audit'").fetchone():
                cls._create(conn, path, reader_id, manifest)
            try:
                store = cls(path, conn, lock, manifest, mode, wall_clock)
            except (KeyError, ValueError, TypeError) as exc:  # a header or payload off its schema
                raise InputFileError(path, f"the decisions file is damaged ({exc})",
                                     hint="Run 'knee-study verify-decisions' on it, and continue "
                                     "under a new reader id") from exc
            store._check_matches(reader_id, manifest)
            store._check_unaided_before_ai(mode)
        except BaseException:
            if conn is not None:
                conn.close()
            lock.release()
            raise
        return store

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and ("full" in str(exc) or "readonly" in str(exc)):
                raise storage_error(path, exc, "Cannot open the decisions file") from exc
            raise InputFileError(path, f"is not a readable decisions file ({exc})",
                                 hint="Move it aside and start again, or pass the right file") from exc
        return conn

    @staticmethod
    def _create(conn: sqlite3.Connection, path: Path, reader_id: str, manifest: Manifest) -> None:
        seed = reader_seed(manifest.study_id, reader_id)
        order = reader_order(manifest, reader_id, seed)
        meta = {
            "format": FORMAT_NAME,
            "format_version": str(FORMAT_VERSION),
            "reader_id": reader_id,
            "study_id": manifest.study_id,
            "key_sha256": manifest.key_sha256,
            "seed": str(seed),
            "created_at": to_iso(time.time()),
            "software_version": __version__,
        }
        try:
            conn.execute("BEGIN IMMEDIATE")
            for stmt in SCHEMA.split(";\n"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
            conn.executemany(
                "INSERT INTO pair_order VALUES (?, ?, ?, ?, ?)",
                [(i, p.pair_id, p.left_case, p.right_case, int(p.practice)) for i, p in enumerate(order)],
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise storage_error(path, exc, "Cannot create the decisions file") from exc

    def _check_unaided_before_ai(self, mode: str) -> None:
        """Refuse unaided reading by a reader who has already seen the AI's answers on scored
        pairs of this study: their "unaided" answers would follow the AI."""
        if get_mode(mode).needs_ai:
            return
        seen = sorted({d.mode for d in self.decisions() if d.ai_shown and not d.practice})
        if seen:
            raise StudyError(
                f"Reader {self.reader_id} has already read this study with the AI shown "
                f"({', '.join(seen)} mode), so answers given now would not be unaided. Unaided "
                "reading comes first; use another reader id for a separate unaided reading"
            )

    def _check_matches(self, reader_id: str, manifest: Manifest) -> None:
        problems = []
        if self.meta.get("format") != FORMAT_NAME:
            problems.append("it is not a knee-decisions file")
        elif int(self.meta.get("format_version", "0")) > FORMAT_VERSION:
            problems.append(f"it was written by a newer version (format {self.meta['format_version']})")
        if self.reader_id != reader_id:
            problems.append(f"it belongs to reader '{self.reader_id}', not '{reader_id}'")
        if self.study_id != manifest.study_id:
            problems.append(f"it belongs to study '{self.study_id}', not '{manifest.study_id}'")
        if self.meta.get("key_sha256") != manifest.key_sha256:
            problems.append("it was written for another version of this study (the key hash differs)")
        if {p.pair_id for p in self.order} != {p.pair_id for p in manifest.all_pairs()}:
            problems.append("its pairs differ from the manifest's")
        if problems:
            raise InputFileError(self.path, "cannot resume this decisions file: " + "; ".join(problems),
                                 hint="Open the study it was made for, or use another reader id")
        report = self.verify()
        if not report.ok:
            raise InputFileError(
                self.path, f"its audit chain is broken ({report.reason}); nothing more will be written to it",
                hint="Keep the file for the coordinator and continue under a new reader id")

    # -- writing ------------------------------------------------------------------------
    def _append(self, kind: str, payload: dict[str, Any], what: str) -> tuple[int, str]:
        """Append one audit row in its own committed transaction; return (id, ts)."""
        conn = self._conn
        if conn is None:
            raise RuntimeError(f"the decisions file {self.path} is closed")
        with self._conn_lock:
            return self._append_locked(conn, kind, payload, what)

    def _append_locked(self, conn: sqlite3.Connection, kind: str, payload: dict[str, Any], what: str) -> tuple[int, str]:
        try:
            conn.execute("BEGIN IMMEDIATE")
            last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            row_id, prev = (last[0] + 1, last[1]) if last else (1, self._genesis)
            ts = to_iso(self._wall())
            h = row_hash(prev, row_id, ts, kind, payload)
            conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
                         (row_id, ts, kind, canonical_json(payload), prev, h))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise storage_error(self.path, exc, f"{what} was NOT saved") from exc
        return row_id, ts

    def session_start(self, mode: str | None = None, *, simulated: bool = False) -> None:
        """Record the start of a reading session (``mode`` defaults to the store's);
        ``simulated`` marks a session of ``simulate-reader`` (not a person's reading)."""
        if mode is not None:
            self._check_mode(mode)
            self.mode = mode
        payload: dict[str, Any] = {"mode": self.mode, "software_version": __version__}
        if simulated:
            payload["simulated"] = True
        self._append("session_start", payload, "The session start")

    def has_person_sessions(self) -> bool:
        """Whether any session in this file was a person's (not marked ``simulated``)."""
        with self._conn_lock:
            rows = self._conn.execute("SELECT payload_json FROM audit WHERE kind = 'session_start'").fetchall()
        return any(not json.loads(p).get("simulated") for (p,) in rows)

    def session_stop(self) -> None:
        """Record the end of a reading session."""
        answered = len(self.answered_pair_ids())
        self._append("session_stop", {"mode": self.mode, "answered": answered}, "The session stop")

    def _check_mode(self, mode: str) -> None:
        get_mode(mode)

    def pair(self, pair_id: str) -> OrderedPair:
        try:
            return self._by_id[pair_id]
        except KeyError:
            raise KeyError(f"no pair {pair_id!r} in reader {self.reader_id}'s order") from None

    def _row(self, pair_id: str, chosen_case: str, phase: str, confidence: int | None, mode: str,
             ai_shown: bool, started_at: float, decided_at: float, active_seconds: float,
             kind: str, replaces: int | None, measurements: Any = ()) -> DecisionRow:
        p = self.pair(pair_id)
        if chosen_case not in (p.left_case, p.right_case):
            raise ValueError(f"case {chosen_case!r} is not in pair {pair_id!r}")
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
        reading = get_mode(mode)
        if not reading.has_phase(phase):
            raise ValueError(phase_error(phase))
        if bool(ai_shown) != reading.ai_shown(phase):
            raise ValueError(f"ai_shown={ai_shown} contradicts mode {mode!r}, phase {phase!r}")
        scale = self.manifest.confidence_scale
        if scale:
            lo, hi = int(scale.get("min", 1)), int(scale.get("max", 5))
            if not isinstance(confidence, int) or not lo <= confidence <= hi:
                raise ValueError(f"this study asks for a confidence from {lo} to {hi}; got {confidence!r}")
        elif confidence is not None:
            raise ValueError("this study asks for no confidence rating")
        if not (math.isfinite(active_seconds) and active_seconds >= 0):
            raise ValueError(f"active_seconds must be a finite number >= 0, got {active_seconds!r}")
        if decided_at < started_at:
            raise ValueError("decided_at is before started_at")
        measurements = tuple(dict(m) for m in (measurements or ()))
        for m in measurements:
            if m.get("case") not in (p.left_case, p.right_case):
                raise ValueError(f"a measurement on pair {pair_id!r} names case {m.get('case')!r}, not one of its knees")
        return DecisionRow(0, self.reader_id, pair_id, phase, p.left_case, p.right_case, chosen_case,
                           confidence, mode, bool(ai_shown), float(started_at), float(decided_at),
                           float(active_seconds), p.practice, kind, replaces, measurements)

    def _commit(self, row: DecisionRow, what: str) -> DecisionRow:
        return self.record(row, self.write(row, what))

    def write(self, row: DecisionRow, what: str = "") -> int:
        """Append ``row`` (from :meth:`prepare_decision`) to the audit trail, durable (synchronous
        FULL) when this returns; the audit id. Safe on another thread than the caller of the
        other methods (the connection is serialised); the in-memory answers change only in
        :meth:`record`, which the owner calls on its own thread once this returned."""
        audit_id, _ = self._append(row.kind, row.payload(), what or f"The answer to pair {row.pair_id}")
        return audit_id

    def record(self, row: DecisionRow, audit_id: int) -> DecisionRow:
        """Take a row :meth:`write` made durable into the answers this store reports."""
        stored = self._ledger.apply(audit_id, row.kind, json.loads(canonical_json(row.payload())))
        assert stored is not None
        return stored

    def commit_decision(self, pair_id: str, chosen_case: str, *, phase: str = "final",
                        confidence: int | None = None, mode: str | None = None, ai_shown: bool = False,
                        started_at: float, decided_at: float, active_seconds: float,
                        measurements: Any = ()) -> DecisionRow:
        """Record a first answer to ``pair_id`` in ``phase``; committed before it returns.

        Raises :class:`AnswerLockedError` when that pair and phase is already answered in this
        mode (see :meth:`change_answer`) or comes before the answer of the mode's previous phase
        (a sequential final answer before the first);
        ``ValueError`` for calls that contradict the study (unknown case, confidence out of
        the scale, ``ai_shown`` contradicting the mode); :class:`StorageError` if not saved.
        """
        row = self.prepare_decision(pair_id, chosen_case, phase=phase, confidence=confidence, mode=mode,
                                    ai_shown=ai_shown, started_at=started_at, decided_at=decided_at,
                                    active_seconds=active_seconds, measurements=measurements)
        return self._commit(row, f"The answer to pair {pair_id}")

    def prepare_decision(self, pair_id: str, chosen_case: str, *, phase: str = "final",
                         confidence: int | None = None, mode: str | None = None, ai_shown: bool = False,
                         started_at: float, decided_at: float, active_seconds: float,
                         measurements: Any = ()) -> DecisionRow:
        """Check a first answer as :meth:`commit_decision` does and return its row, unwritten
        (:meth:`write` then :meth:`record` store it). ``measurements``: the reader's caliper
        measurements on the pair (dicts naming one of its cases), recorded with the answer."""
        mode = mode or self.mode
        row = self._row(pair_id, chosen_case, phase, confidence, mode, ai_shown, started_at,
                        decided_at, active_seconds, "decision", None, measurements)
        if self._ledger.answer(pair_id, mode, phase):
            raise AnswerLockedError(f"pair {pair_id} already has a {phase} answer in {mode} mode")
        before = get_mode(mode).previous(phase)
        if before is not None and not self._ledger.answer(pair_id, mode, before.name):
            raise AnswerLockedError(f"pair {pair_id}: the {before.answer_label} answer must come before the {phase} one")
        return row

    def change_answer(self, pair_id: str, chosen_case: str, *, phase: str = "final",
                      confidence: int | None = None, mode: str | None = None, ai_shown: bool = False,
                      started_at: float, decided_at: float, active_seconds: float) -> DecisionRow:
        """Replace a committed answer (appended, never updated) where the study allows it.

        The answer of a locked phase (sequential reading's ``first``) can never change.
        """
        mode = mode or self.mode
        if not self.manifest.allow_answer_change:
            raise AnswerLockedError("this study does not allow changing a committed answer")
        reading = get_mode(mode)
        if reading.is_locked(phase):
            raise AnswerLockedError(f"the {reading.phase(phase).answer_label} answer of {mode} reading can never change")
        old = self._ledger.answer(pair_id, mode, phase)
        if old is None:
            raise AnswerLockedError(f"pair {pair_id} has no {phase} answer in {mode} mode to change")
        row = self._row(pair_id, chosen_case, phase, confidence, mode, ai_shown, started_at,
                        decided_at, active_seconds, "answer_change", old.audit_id)
        return self._commit(row, f"The changed answer to pair {pair_id}")

    def flag(self, pair_id: str, reason: str) -> None:
        """Flag ``pair_id`` (unreadable images, wrong side, ...) with a free-text reason."""
        self.pair(pair_id)
        reason = (reason or "").strip()
        if not reason:
            raise ValueError("a flag needs a reason")
        payload = {"pair_id": pair_id, "reason": reason[:500], "mode": self.mode}
        audit_id, _ = self._append("flag", payload, f"The flag on pair {pair_id}")
        self._ledger.apply(audit_id, "flag", payload)

    # -- reading ------------------------------------------------------------------------
    def decisions(self, mode: str | None = None) -> list[DecisionRow]:
        """The current (latest) answer per pair, mode and phase, in reading order.

        ``mode`` None gives every mode.
        """
        pos = {p.pair_id: i for i, p in enumerate(self.order)}
        rows = [r for r in self._ledger.answers.values() if mode is None or r.mode == mode]
        return sorted(rows, key=lambda r: (pos[r.pair_id], r.mode, PHASES.index(r.phase)))

    def answer(self, pair_id: str, phase: str = "final", mode: str | None = None) -> DecisionRow | None:
        """The current answer to ``pair_id`` in ``phase`` (and ``mode``, default the store's)."""
        return self._ledger.answer(pair_id, mode or self.mode, phase)

    def flags(self, pair_id: str) -> list[str]:
        """The reasons ``pair_id`` was flagged, oldest first."""
        return list(self._ledger.flags.get(pair_id, []))

    def answered_pair_ids(self, mode: str | None = None) -> set[str]:
        """Pairs with a final answer in ``mode`` (default the store's mode)."""
        mode = mode or self.mode
        return {pid for (pid, m, ph) in self._ledger.answers if m == mode and ph == "final"}

    def next_unanswered_index(self, mode: str | None = None) -> int:
        """Index in :attr:`order` of the first pair without a final answer (``len(order)`` when done)."""
        done = self.answered_pair_ids(mode)
        return next((i for i, p in enumerate(self.order) if p.pair_id not in done), len(self.order))

    def verify(self) -> ChainReport:
        """Verify this file's audit chain (see :func:`studies.decisions.verify_file`)."""
        with self._conn_lock:
            return verify_connection(self._conn)

    # -- closing ------------------------------------------------------------------------
    def close(self) -> None:
        """Checkpoint the WAL into the main file, close it and drop the lock (idempotent)."""
        if self._conn is not None:
            with self._conn_lock, contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
            self._conn = None  # type: ignore[assignment]
        self._lock.release()

    def __enter__(self) -> DecisionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
