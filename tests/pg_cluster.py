"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a Unix socket in a temp folder.

Uses the server binaries of the operating system (Debian package ``postgresql``, found under
``/usr/lib/postgresql/*/bin`` or on PATH). ``initdb`` refuses to run as root, so as root the
cluster runs as the ``postgres`` system user through ``runuser`` (its folder chowned to it);
as anyone else, directly. Where the binaries are missing the tests skip, saying which package
to install, unless ``KNEE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) turns that into a failure.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REQUIRE_ENV = "KNEE_REQUIRE_POSTGRES"
SUPERUSER = "knee_admin"


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl (newest version first), or None."""
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if (Path(cand) / "initdb").is_file() and (Path(cand) / "pg_ctl").is_file():
            return Path(cand)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def require_bindir() -> Path:
    """The binaries' folder, or skip (fail when ``KNEE_REQUIRE_POSTGRES=1``)."""
    bindir = find_bindir()
    if bindir is None:
        msg = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
               "'postgresql' (apt-get install postgresql) to run the server tests")
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(msg + f" ({REQUIRE_ENV}=1 makes them mandatory)")
        pytest.skip(msg)
    return bindir


class Cluster:
    """One cluster: ``start()``, ``stop()``, ``url(user)``; ``close()`` removes everything.

    ``run_as``: the system user the server runs as (``postgres`` when we are root, else None);
    ``fsync`` off by default (tests need no durability across a power cut; benchmarks do).
    The superuser ``knee_admin`` logs in with a password kept in ``admin.pgpass`` (``PGPASSFILE``
    for the admin's connections); every connection is over the socket in ``sockdir``."""

    def __init__(self, bindir: Path, *, run_as: str | None = None, fsync: bool = False) -> None:
        self.bindir = bindir
        self.run_as = run_as if run_as is not None else ("postgres" if getattr(os, "geteuid", lambda: 1)() == 0 else None)
        self.root = Path(tempfile.mkdtemp(prefix="knee-pg-"))
        self.data, self.sockdir, self.log = self.root / "data", self.root / "sock", self.root / "server.log"
        self.sockdir.mkdir()
        self.password = secrets.token_urlsafe(18)
        self.admin_pgpass = self.root / "admin.pgpass"
        self.admin_pgpass.write_text(f"*:*:*:{SUPERUSER}:{self.password}\n")
        self.admin_pgpass.chmod(0o600)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            import pwd

            ent = pwd.getpwnam(self.run_as)
            os.chmod(self.root, 0o755)
            for p in (self.sockdir, pwfile):
                os.chown(p, ent.pw_uid, ent.pw_gid)
            os.chown(self.root, ent.pw_uid, ent.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        pwfile.unlink()
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write(f"listen_addresses = ''\nunix_socket_directories = '{self.sockdir}'\n"
                     f"fsync = {'on' if fsync else 'off'}\nmax_connections = 60\n")
        self.running = False

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.root)
        if res.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        return res

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def enable_tls(self, cert: Path, key: Path, port: int) -> None:
        """Listen on 127.0.0.1:``port`` too, with TLS (``cert``/``key`` copied into the data
        folder, owned by the server's user); takes effect at the next :meth:`start`."""
        import shutil as _sh

        for src, name in ((cert, "server.crt"), (key, "server.key")):
            dst = self.data / name
            _sh.copy(src, dst)
            dst.chmod(0o600)
            if self.run_as:
                import pwd

                ent = pwd.getpwnam(self.run_as)
                os.chown(dst, ent.pw_uid, ent.pw_gid)
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write(f"listen_addresses = '127.0.0.1'\nport = {port}\nssl = on\n"
                     "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        self.port = port

    def url(self, user: str = SUPERUSER, dbname: str = "postgres") -> str:
        port = getattr(self, "port", None)
        if port:
            return f"postgresql://{user}@/{dbname}?host={self.sockdir}&port={port}"
        return f"postgresql://{user}@/{dbname}?host={self.sockdir}"

    def admin_env(self) -> dict[str, str]:
        """Environment for the admin's connections (its PGPASSFILE)."""
        return {**os.environ, "PGPASSFILE": str(self.admin_pgpass)}

    def close(self) -> None:
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def new_database(cluster: Cluster, name: str) -> str:
    """Create database ``name`` (as the admin); return its admin URL."""
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True, password=cluster.password) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return cluster.url(dbname=name)


@pytest.fixture(scope="session")
def pg_cluster():
    """A running cluster for the whole session (removed at the end, even after failures)."""
    cluster = Cluster(require_bindir())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


class Server:
    """One fresh database on the cluster with the knee schema; the admin's URL and env."""

    def __init__(self, cluster: Cluster, name: str) -> None:
        self.cluster, self.dbname = cluster, name
        self.admin_url = new_database(cluster, name)

    def url(self, role: str, passfile: Path | None = None) -> str:
        url = self.cluster.url(role, self.dbname)
        return url + (f"&passfile={passfile}" if passfile else "")

    def admin(self):
        import psycopg

        return psycopg.connect(self.admin_url, autocommit=True, passfile=str(self.cluster.admin_pgpass))


_counter = iter(range(1_000_000))


@pytest.fixture()
def pg_server(pg_cluster, monkeypatch):
    """A new database with ``server init`` applied; PGPASSFILE is the admin's."""
    from studies.cli import main

    monkeypatch.setenv("PGPASSFILE", str(pg_cluster.admin_pgpass))
    server = Server(pg_cluster, f"knee_test_{os.getpid()}_{next(_counter)}")
    assert main(["server", "init", "--store", server.admin_url]) == 0
    return server


def register(server: Server, s, readers: tuple[str, ...], folder: Path) -> dict[str, str]:
    """``server add-study`` for the tiny study ``s`` and ``add-reader`` for each reader id;
    reader id -> that reader's URL (its password file named in it)."""
    from studies.cli import main
    from studies.decisions.pg.admin import role_name_for

    assert main(["server", "add-study", str(s.study), "--key", str(s.key), "--store", server.admin_url]) == 0
    urls = {}
    for r in readers:
        out = folder / f"{r}.pgpass"
        assert main(["server", "add-reader", str(s.study), "--reader", r, "--out", str(out),
                     "--store", server.admin_url]) == 0
        urls[r] = server.url(role_name_for(s.manifest.study_id, r), out)
    return urls
