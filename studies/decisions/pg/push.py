"""Sending a reader's local decisions file to the server, row by row, idempotently.

The local SQLite file stays the first, durable record; the server gets a copy of each row
(its local id, time, kind, payload and local hashes). What is unsent needs no local state:
it is every local row after the last local id the server acknowledges for this reader. A
resend of a row the server holds is a no-op; a different row under a stored local id is
refused, recorded on the server for the coordinator, and reported here as
:class:`PushConflict`; nothing on the server is ever overwritten.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from studies.decisions.audit import (
    FORMAT_NAME,
    canonical_json,
    genesis_hash,
    open_readonly,
    read_header,
)
from studies.decisions.pg.connect import ServerAddress, ServerError, close_quietly, connect

_INSERT_ROW = (
    "INSERT INTO knee.audit (study_id, reader_id, local_id, local_ts, kind, payload_json, "
    "local_prev_hash, local_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (study_id, reader_id, local_id) DO NOTHING")


class ServerUnavailable(ServerError):
    """The server cannot be reached now (network, server down); the rows wait locally."""


class PushConflict(ServerError):
    """The server holds a different row (or header) for this reader: refused, never overwritten."""


@dataclass(frozen=True)
class PushState:
    """After a push: local rows, rows the server acknowledges, and rows sent by this push."""

    local_rows: int
    acked: int
    sent: int

    @property
    def to_send(self) -> int:
        return max(self.local_rows - self.acked, 0)


def header_json(meta: dict[str, str], order: list[dict]) -> str:
    """The canonical header text the server keeps; its SHA-256 is the local chain's genesis."""
    return canonical_json({"format": FORMAT_NAME, "meta": meta, "order": order})


def _read_local(path: Path, after: int) -> tuple[dict, list[dict], list[tuple], int]:
    conn = open_readonly(path)
    try:
        conn.execute("BEGIN")
        meta, order = read_header(conn)
        rows = conn.execute("SELECT id, ts, kind, payload_json, prev_hash, hash FROM audit WHERE id > ? "
                            "ORDER BY id", (after,)).fetchall()
        total = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    finally:
        conn.close()
    return meta, order, rows, int(total)


class Pusher:
    """Pushes one local decisions file (``path``) to the server at ``address``.

    :meth:`push` is safe to call at any time, from one thread at a time (a lock guards it):
    it connects if needed, sends the header once, compares the rows the server holds with the
    local ones (on each new connection), and sends the rest in one transaction. Raises
    :class:`ServerUnavailable` when the server cannot be reached and :class:`PushConflict` when
    the server holds something else for this reader.
    """

    def __init__(self, address: ServerAddress, path: str | Path, *, connect_timeout: int = 3) -> None:
        self.address, self.path = address, Path(path)
        self._timeout = connect_timeout
        self._conn = None
        self._acked: int | None = None  # server's last local id, known on this connection
        self._lock = threading.Lock()

    def push(self) -> PushState:
        import psycopg

        with self._lock:
            try:
                return self._push()
            except psycopg.OperationalError as exc:
                self._drop()
                raise ServerUnavailable(f"the decisions server {self.address.shown} is unreachable "
                                        f"({str(exc).strip().splitlines()[0] if str(exc).strip() else exc})") from None
            except (psycopg.errors.CheckViolation, psycopg.errors.InsufficientPrivilege,
                    psycopg.errors.ForeignKeyViolation, psycopg.errors.ProgramLimitExceeded) as exc:
                self._drop()
                raise PushConflict(f"the server refused reader file {self.path.name}: {exc.diag.message_primary}") from None

    def _drop(self) -> None:
        close_quietly(self._conn)
        self._conn, self._acked = None, None

    def _connect(self):
        if self._conn is None or self._conn.closed:
            try:
                # keepalives: a network that goes away mid-push is noticed in seconds, not hours
                self._conn = connect(self.address, prompt=False, connect_timeout=self._timeout, keepalives="1",
                                     keepalives_idle="5", keepalives_interval="2", keepalives_count="3")
            except ServerError as exc:
                raise ServerUnavailable(str(exc)) from None
            self._acked = None
        return self._conn

    def _push(self) -> PushState:
        known = self._acked if self._acked is not None else 0
        try:
            meta, order, rows, total = _read_local(self.path, known)
        except sqlite3.DatabaseError as exc:
            raise ServerError(f"cannot read the local decisions file {self.path}: {exc}") from exc
        if self._acked is not None and not rows:
            return PushState(total, self._acked, 0)
        conn = self._connect()
        study, reader = meta["study_id"], meta["reader_id"]
        if self._acked is None:
            self._acked = self._agree(conn, meta, order, rows)
            rows = [r for r in rows if r[0] > self._acked]
        if rows:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(_INSERT_ROW, [(study, reader, i, ts, kind, p, prev, h) for i, ts, kind, p, prev, h in rows])
            self._check_stored(conn, study, reader, rows)
            self._acked = rows[-1][0]
        return PushState(total, self._acked, len(rows))

    def _agree(self, conn, meta: dict, order: list[dict], rows: list[tuple]) -> int:
        """Send the header if the server lacks it; check the server's rows are the local ones;
        return the last local id the server holds."""
        study, reader = meta["study_id"], meta["reader_id"]
        conn.execute("INSERT INTO knee.headers (study_id, reader_id, header_json, genesis) "
                     "VALUES (%s, %s, %s, '') ON CONFLICT DO NOTHING", (study, reader, header_json(meta, order)))
        row = conn.execute("SELECT genesis FROM knee.headers WHERE study_id = %s AND reader_id = %s",
                           (study, reader)).fetchone()
        if row is None:
            raise PushConflict(f"the server did not take reader {reader}'s header (is this role registered "
                               f"for reader {reader} of study {study}?)")
        if row[0] != genesis_hash(meta, order):
            raise PushConflict(f"the server holds another header (reading order or key) for reader {reader} "
                               f"of study {study}: this file is not the one it received; nothing was sent")
        self._check_stored(conn, study, reader, rows, all_rows=True)
        last = conn.execute("SELECT max(local_id) FROM knee.audit WHERE study_id = %s AND reader_id = %s",
                            (study, reader)).fetchone()[0]
        if last is not None and last > len(rows):
            raise PushConflict(f"the server holds {last} rows for reader {reader} of study {study}, this "
                               f"file only {len(rows)}: it is an older copy; read on from the newest one")
        return int(last or 0)

    def _check_stored(self, conn, study: str, reader: str, rows: list[tuple], all_rows: bool = False) -> None:
        """Raise :class:`PushConflict` when the server holds a different row under a local id
        of ``rows`` (``all_rows``: every local row from 1 is compared, not only those)."""
        if not rows:
            return
        lo = 1 if all_rows else rows[0][0]
        stored = dict(conn.execute(
            "SELECT local_id, local_hash FROM knee.audit WHERE study_id = %s AND reader_id = %s AND local_id >= %s "
            "AND local_id <= %s", (study, reader, lo, rows[-1][0])).fetchall())
        local = {r[0]: r[5] for r in rows}
        differ = sorted(i for i, h in stored.items() if i in local and local[i] != h)
        if differ:
            raise PushConflict(
                f"the server holds different rows for reader {reader} from local row {differ[0]} on "
                f"({len(differ)} row(s)); they were refused and recorded for the coordinator. This file "
                "is not the one the server received (a copy, or another workstation): tell the coordinator")
        missing = [i for i in local if i not in stored and not all_rows]
        if missing:
            raise PushConflict(f"the server did not store local row {missing[0]} of reader {reader}")

    def close(self) -> None:
        with self._lock:
            self._drop()
