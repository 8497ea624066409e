"""The coordinator's live view of a decisions server: progress per reader (no Qt).

:class:`ProgressPoller` asks the server for every registered reader's progress
(:func:`studies.decisions.pg.admin.progress`) on its own thread every ``interval`` seconds,
so the window never waits for the network; the window reads :attr:`ProgressPoller.snapshot`
on a timer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProgressSnapshot:
    """The latest answer from the server: readers' progress, when, and any error."""

    readers: tuple = field(default_factory=tuple)  # studies.decisions.pg.admin.ReaderProgress
    fetched_at: float = 0.0
    error: str = ""


class ProgressPoller:
    """Polls ``study_id`` (None: every study) on the server at ``store_url``."""

    def __init__(self, store_url: str, study_id: str | None = None, *, interval: float = 2.0,
                 insecure_tls: bool = False) -> None:
        from studies.decisions.pg.connect import parse_store_url

        self.address = parse_store_url(store_url, insecure_tls=insecure_tls)
        self.study_id, self.interval = study_id, interval
        self._snapshot = ProgressSnapshot()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="server-progress", daemon=True)
        self._conn = None

    @property
    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            return self._snapshot

    def poll_once(self) -> ProgressSnapshot:
        """Ask the server now (on the calling thread); the new snapshot."""
        from studies.decisions.pg.admin import progress
        from studies.decisions.pg.connect import connect
        from studies.errors import StudyError

        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self.address, prompt=False, connect_timeout=3)
            snap = ProgressSnapshot(tuple(progress(self._conn, self.study_id)), time.time())
        except StudyError as exc:
            snap = ProgressSnapshot(self.snapshot.readers, self.snapshot.fetched_at, str(exc))
        except Exception as exc:  # noqa: BLE001 - psycopg: the connection dropped; retry later
            self._close_conn()
            snap = ProgressSnapshot(self.snapshot.readers, self.snapshot.fetched_at,
                                    f"the server did not answer ({type(exc).__name__}); retrying")
        with self._lock:
            self._snapshot = snap
        return snap

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval)

    def start(self) -> ProgressPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._close_conn()


#: The progress table's columns (:func:`describe`'s cells, in order).
COLUMNS = ("Study", "Reader", "Answered", "Rows", "Last row (server time)", "Conflicts")


def status_line(snap: ProgressSnapshot) -> str:
    """The sentence under the progress table: the error, when the server last updated it, or
    that it has not answered yet."""
    if snap.error:
        return snap.error
    if snap.fetched_at:
        return f"{len(snap.readers)} reader(s); updated {time.strftime('%H:%M:%S', time.localtime(snap.fetched_at))}"
    return "asking the server…"


def describe(snap: ProgressSnapshot) -> list[tuple[str, ...]]:
    """Table rows for the view: study, reader, answered/scored, rows, last row, conflicts."""
    return [(r.study_id, r.reader_id, f"{r.answered}/{r.scored}", str(r.rows), r.last_ts or "—",
             f"{r.conflicts} CONFLICT(S)" if r.conflicts else "") for r in snap.readers]
