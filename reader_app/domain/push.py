"""Sending answers to the decisions server in the background (plain Python, no Qt).

The reading app writes each answer to the reader's local SQLite file first, as without a
server (durable before "Previous answer saved"); :class:`BackgroundPush` then sends what the
file holds beyond the server's last acknowledged row, on its own thread, so the reader never
waits for the network. While the server is unreachable the reader reads on and the window says
"saved locally, N to send"; the rows go out when the connection returns. A conflict (the
server holds different rows for this reader) stops the sending and is shown: nothing on the
server is overwritten, and the coordinator sees it in ``knee-study server status``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PushStatus:
    """What the window shows: rows still to send, whether the server answers, a conflict."""

    to_send: int
    reachable: bool
    conflict: str = ""
    #: epoch seconds of the last successful push (0 before the first)
    sent_at: float = 0.0

    @property
    def text(self) -> str:
        if self.conflict:
            return f"NOT sent to the server: {self.conflict}"
        if self.to_send:
            where = "" if self.reachable else " (server unreachable)"
            return f"saved locally, {self.to_send} to send{where}"
        return "sent to the server" if self.reachable else "saved locally; connecting to the server…"


class BackgroundPush:
    """Runs ``pusher.push()`` (:class:`studies.decisions.pg.push.Pusher`) on a daemon thread:
    at once when :meth:`nudge` d (after each durable answer), else every ``interval`` seconds,
    and every ``retry`` seconds while the server is unreachable. ``count_local()`` gives the
    local file's row count (for "N to send" while nothing is known of the server)."""

    def __init__(self, pusher, *, count_local: Callable[[], int], interval: float = 1.0,
                 retry: float = 2.0, on_status: Callable[[PushStatus], None] | None = None) -> None:
        self._pusher, self._count_local = pusher, count_local
        self._interval, self._retry = interval, retry
        self._on_status = on_status
        self._wake, self._stop = threading.Event(), threading.Event()
        self._status_lock = threading.Lock()
        self._acked: int | None = None
        self._status = PushStatus(0, False)
        self._thread = threading.Thread(target=self._run, name="decision-push", daemon=True)

    def start(self) -> BackgroundPush:
        self._thread.start()
        return self

    def nudge(self, *_: object) -> None:
        """Send now (a session listener: the argument is ignored)."""
        self._wake.set()

    @property
    def status(self) -> PushStatus:
        with self._status_lock:
            return self._status

    def _set(self, status: PushStatus) -> None:
        with self._status_lock:
            self._status = status
        if self._on_status is not None:
            self._on_status(status)

    def push_once(self) -> PushStatus:
        """One push attempt on the calling thread; the new status."""
        from studies.decisions.pg.push import PushConflict, ServerUnavailable

        try:
            state = self._pusher.push()
        except PushConflict as exc:
            status = PushStatus(self._pending(), True, str(exc))
        except ServerUnavailable:
            status = PushStatus(self._pending(), False)
        else:
            self._acked = state.acked
            status = PushStatus(state.to_send, True, sent_at=time.time())
        self._set(status)
        return status

    def _pending(self) -> int:
        try:
            return max(self._count_local() - (self._acked or 0), 0)
        except Exception:  # noqa: BLE001 - a count for display only
            return self.status.to_send

    def _run(self) -> None:
        while not self._stop.is_set():
            status = self.push_once()
            if status.conflict:
                wait = 10 * self._retry
            elif not status.reachable or status.to_send:
                wait = self._retry
            else:
                wait = self._interval
            self._wake.wait(wait)
            self._wake.clear()

    def stop(self, *, final_push: bool = True, timeout: float = 5.0) -> PushStatus:
        """Stop the thread; with ``final_push``, try once more to send what is left (the
        session's end row), giving up after about ``timeout`` seconds."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        status = self.push_once() if final_push and not self._thread.is_alive() else self.status
        self._pusher.close()
        return status


def start_push(store_url: str, local_path, *, insecure_tls: bool = False, interval: float = 1.0,
               retry: float = 2.0, on_status: Callable[[PushStatus], None] | None = None) -> BackgroundPush:
    """A started :class:`BackgroundPush` of the local decisions file at ``local_path``."""
    from studies.decisions.audit import open_readonly
    from studies.decisions.backend import ServerBackend

    pusher = ServerBackend(store_url, insecure_tls=insecure_tls).pusher(local_path)

    def count_local() -> int:
        conn = open_readonly(local_path)
        try:
            return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])
        finally:
            conn.close()

    return BackgroundPush(pusher, count_local=count_local,
                          interval=interval, retry=retry, on_status=on_status).start()
