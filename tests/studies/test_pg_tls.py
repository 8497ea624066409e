"""TLS to a server that is not local: verify-full by default, a certificate that is not
trusted is refused, ``--insecure-tls`` encrypts without checking. The server listens on
127.0.0.1 with a certificate for ``knee-db.test``; the client connects to that name (libpq's
``hostaddr`` gives the address), so it is treated as a remote host."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from pg_cluster import Cluster, require_bindir

from studies.decisions.pg.connect import ServerError, connect, parse_store_url

HOST = "knee-db.test"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for HOST signed by it, and an unrelated CA."""
    for ca in ("ca", "other"):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={ca} test CA",
                 "-keyout", f"{ca}.key", "-out", f"{ca}.crt", cwd=folder)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={HOST}", "-keyout", "server.key",
             "-out", "server.csr", cwd=folder)
    (folder / "san.cnf").write_text(f"subjectAltName = DNS:{HOST}\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.cnf", "-out", "server.crt", cwd=folder)
    return {n: folder / f"{n}.crt" for n in ("ca", "other", "server")} | {"key": folder / "server.key"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if subprocess.run(["which", "openssl"], capture_output=True).returncode:
        pytest.skip("openssl not found (needed to make test certificates)")
    certs = _certificates(tmp_path_factory.mktemp("certs"))
    cluster = Cluster(require_bindir())
    try:
        port = _free_port()
        cluster.enable_tls(certs["server"], certs["key"], port)
        cluster.start()
        yield cluster, port, certs
    finally:
        cluster.close()


def _url(port: int, extra: str = "") -> str:
    return f"postgresql://knee_admin@{HOST}:{port}/postgres?hostaddr=127.0.0.1{extra}"


def _encrypted(conn) -> bool:
    return conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0]


def test_verify_full_connects_to_a_trusted_certificate_for_the_host(tls_server):
    cluster, port, certs = tls_server
    address = parse_store_url(_url(port, f"&sslrootcert={certs['ca']}"))
    assert address.params["sslmode"] == "verify-full"
    with connect(address, prompt=False, passfile=str(cluster.admin_pgpass)) as conn:
        assert _encrypted(conn)


def test_an_untrusted_certificate_is_refused(tls_server):
    cluster, port, certs = tls_server
    with pytest.raises(ServerError, match="certificate"):
        connect(parse_store_url(_url(port, f"&sslrootcert={certs['other']}")), prompt=False,
                passfile=str(cluster.admin_pgpass))


def test_insecure_tls_encrypts_without_checking_and_needs_the_flag(tls_server):
    cluster, port, certs = tls_server
    from studies.errors import OptionError

    with pytest.raises(OptionError, match="insecure-tls"):
        parse_store_url(_url(port, "&sslmode=require"))
    with connect(parse_store_url(_url(port), insecure_tls=True), prompt=False,
                 passfile=str(cluster.admin_pgpass)) as conn:
        assert _encrypted(conn)
