"""One interface to where a study's decisions live: SQLite files (default) or a server.

Every user of the decisions store goes through :class:`DecisionBackend`:

- writers (the reading app, ``simulate-reader``) write the reader's local file
  (:class:`~studies.decisions.store.DecisionStore`, unchanged) and call
  :meth:`~DecisionBackend.after_write` once an answer is durable: a no-op for files; for a
  server, the new rows are sent (and stay in the local file, to be sent later, while the
  server is unreachable);
- readers (``verify-decisions``, ``export-decisions``, ``analyze``, the coordinator) ask
  :meth:`~DecisionBackend.reader_files` for decisions files: the files themselves, or the
  server's records written out as files (:mod:`studies.decisions.pg.snapshot`), so both
  back ends are read by the same code and give the same results;
- ``merge-decisions`` hands files to :meth:`~DecisionBackend.collect`: copied into the
  study's folder, or sent to the server.

:func:`open_backend` picks one from a ``--store`` option: none for files, a
``postgresql://`` URL for the server.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class DecisionBackend(Protocol):
    """Where decisions are kept (see the module docstring)."""

    #: Where, in words (for messages; never holds a password).
    description: str

    def after_write(self, path: Path) -> str:
        """Called after a durable write to the local decisions file at ``path``; a short
        status ("" when there is nothing to say)."""

    def reader_files(self, study_id: str, files: Sequence[Path]) -> contextlib.AbstractContextManager[list[Path]]:
        """Decisions files to read: ``files`` for the file back end; the server's records of
        ``study_id`` (as this role may read them) for the server, valid inside the ``with``."""

    def close(self) -> None:
        """Release connections (idempotent)."""


class FileBackend:
    """One SQLite file per reader under ``STUDY/decisions/`` (the default; no server)."""

    description = "decisions files"

    def after_write(self, path: Path) -> str:
        return ""

    @contextlib.contextmanager
    def reader_files(self, study_id: str, files: Sequence[Path]) -> Iterator[list[Path]]:
        yield [Path(f) for f in files]

    def close(self) -> None:
        pass


class ServerBackend:
    """A PostgreSQL server (``postgresql://`` URL) behind each reader's local file."""

    def __init__(self, url: str, *, insecure_tls: bool = False) -> None:
        from studies.decisions.pg.connect import parse_store_url

        self.address = parse_store_url(url, insecure_tls=insecure_tls)
        self.description = f"the decisions server {self.address.shown}"
        self._pushers: dict[Path, object] = {}

    def connect(self):
        """A new autocommit connection (the caller closes it)."""
        from studies.decisions.pg.connect import connect

        return connect(self.address)

    def pusher(self, path: Path):
        """The :class:`~studies.decisions.pg.push.Pusher` of the local file at ``path``."""
        from studies.decisions.pg.push import Pusher

        path = Path(path)
        if path not in self._pushers:
            self._pushers[path] = Pusher(self.address, path)
        return self._pushers[path]

    def after_write(self, path: Path) -> str:
        """Send what the local file at ``path`` holds beyond the server's record; the status
        ("sent", or "saved locally, ..." when rows wait)."""
        from studies.decisions.pg.push import ServerUnavailable

        pusher = self.pusher(path)
        try:
            state = pusher.push()
        except ServerUnavailable:
            return "saved locally, server unreachable: will send later"
        return "sent" if not state.to_send else f"saved locally, {state.to_send} to send"

    @contextlib.contextmanager
    def reader_files(self, study_id: str, files: Sequence[Path]) -> Iterator[list[Path]]:
        from studies.decisions.pg.snapshot import write_study_files

        with tempfile.TemporaryDirectory(prefix="knee-server-decisions-") as tmp, self.connect() as conn:
            yield write_study_files(conn, study_id, Path(tmp))

    def close(self) -> None:
        for p in self._pushers.values():
            p.close()  # type: ignore[attr-defined]
        self._pushers.clear()


def open_backend(store: str | None, *, insecure_tls: bool = False) -> FileBackend | ServerBackend:
    """The back end a ``--store`` option names: files when None or empty, else a server URL
    (:class:`studies.errors.OptionError` for anything else)."""
    if not store:
        return FileBackend()
    return ServerBackend(store, insecure_tls=insecure_tls)
