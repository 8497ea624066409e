"""The decisions server's record of one study, as decisions files for the coordinator (no Qt).

``knee-reader --coordinator --store URL STUDY --key KEY`` shows the same Readers, Results and
Export tabs as with collected files; :class:`ServerDecisions` is where its files come from:
the server's rows of the study, written out as one SQLite file per reader
(:func:`studies.decisions.pg.snapshot.write_study_files`) into a private temporary folder,
so the window's statuses, analysis and exports read them through the very code that reads
collected files. A fetch writes new files only when the server holds new rows (its chain
has grown, or a reader's header arrived), so an unchanged study is not analysed again.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from studies.errors import StudyError
from studies.package import load_manifest


class NotOnServer(StudyError):
    """The study is not registered on the server, or with another key than its package's."""


class ServerDecisions:
    """Study ``study`` (its package folder) on the server at ``store_url``.

    :meth:`fetch` returns the current snapshot's files; :attr:`error` says why the last fetch
    failed ("" when it did not), while the files of the snapshot before stay in use.
    """

    def __init__(self, store_url: str, study: str | Path, *, insecure_tls: bool = False) -> None:
        from studies.decisions.backend import ServerBackend

        manifest = load_manifest(study)
        self.study_id, self.key_sha256 = manifest.study_id, manifest.key_sha256
        self.backend = ServerBackend(store_url, insecure_tls=insecure_tls)
        self.description = self.backend.description
        self.error = ""
        self._root = Path(tempfile.mkdtemp(prefix="knee-coordinator-server-"))
        self._conn = None
        self._state: tuple | None = None  # (last server seq, readers with a header) of the snapshot
        self._paths: list[Path] = []
        self._fetches = 0

    def _connection(self):
        if self._conn is None or self._conn.closed:
            from studies.decisions.pg.connect import connect
            from studies.decisions.pg.snapshot import study_key_hash

            conn = connect(self.backend.address, prompt=False, connect_timeout=3)
            registered = study_key_hash(conn, self.study_id)
            if registered != self.key_sha256:
                conn.close()
                raise NotOnServer(
                    f"study {self.study_id} is not registered on {self.description}: run 'knee-study "
                    "server add-study' first" if registered is None else
                    f"{self.description} holds study {self.study_id} with another key hash "
                    f"({registered[:16]}) than this study package ({self.key_sha256[:16]})")
            self._conn = conn
        return self._conn

    def fetch(self) -> list[Path]:
        """The server's record of the study as decisions files (sorted by reader id).

        Raises :class:`NotOnServer` when the study is not registered there (or with another
        key), and :class:`StudyError` when the server cannot be reached before any snapshot
        was taken; later, an unreachable server keeps the last snapshot and sets :attr:`error`."""
        from studies.decisions.pg.snapshot import write_study_files

        try:
            conn = self._connection()
            state = conn.execute(
                "SELECT (SELECT coalesce(max(seq), 0) FROM knee.audit WHERE study_id = %(s)s), "
                "(SELECT count(*) FROM knee.headers WHERE study_id = %(s)s)", {"s": self.study_id}).fetchone()
            if tuple(state) != self._state:
                self._fetches += 1
                folder = self._root / f"snapshot-{self._fetches}"
                paths = write_study_files(conn, self.study_id, folder)
                old = {p.parent for p in self._paths}
                self._state, self._paths = tuple(state), paths
                for f in old:
                    shutil.rmtree(f, ignore_errors=True)
            self.error = ""
        except NotOnServer:
            raise
        except Exception as exc:  # noqa: BLE001 - psycopg: the server went away; keep the last snapshot
            self._drop()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            reason = f"{self.description} did not answer ({first})"
            if self._state is None:
                raise StudyError(reason) from None
            self.error = f"{reason}; showing the rows fetched before"
        return list(self._paths)

    def _drop(self) -> None:
        from studies.decisions.pg.connect import close_quietly

        close_quietly(self._conn)
        self._conn = None

    def close(self) -> None:
        """Close the connection and remove the snapshot files (idempotent)."""
        self._drop()
        self.backend.close()
        shutil.rmtree(self._root, ignore_errors=True)
        self._paths, self._state = [], None
