"""Store URLs: no password on the command line, TLS required for hosts that are not local."""

from __future__ import annotations

import pytest

from studies.decisions.backend import FileBackend, ServerBackend, open_backend
from studies.decisions.pg.admin import role_name_for, scram_verifier
from studies.decisions.pg.connect import parse_store_url
from studies.errors import OptionError


def test_a_url_with_a_password_is_refused_without_echoing_it():
    with pytest.raises(OptionError, match="PGPASSFILE") as err:
        parse_store_url("postgresql://r1:s3cret@db.example.org/knee")
    assert "s3cret" not in str(err.value)
    with pytest.raises(OptionError, match="PGPASSFILE") as err:
        parse_store_url("postgresql://r1@db.example.org/knee?password=s3cret")
    assert "s3cret" not in str(err.value)


def test_remote_hosts_get_verify_full_and_weaker_tls_needs_the_flag():
    assert parse_store_url("postgresql://r1@db.example.org/knee").params["sslmode"] == "verify-full"
    with pytest.raises(OptionError, match="insecure-tls"):
        parse_store_url("postgresql://r1@db.example.org/knee?sslmode=disable")
    with pytest.raises(OptionError, match="verify-full"):
        parse_store_url("postgresql://r1@db.example.org/knee?sslmode=require")
    assert parse_store_url("postgresql://r1@db.example.org/knee?sslmode=require",
                           insecure_tls=True).params["sslmode"] == "require"
    assert parse_store_url("postgresql://r1@db.example.org/knee", insecure_tls=True).params["sslmode"] == "require"


def test_local_sockets_and_localhost_need_no_tls():
    for url in ("postgresql://r1@/knee?host=/tmp/sock", "postgresql://r1@localhost/knee",
                "postgresql://r1@127.0.0.1:5433/knee"):
        assert "sslmode" not in parse_store_url(url).params, url


def test_bad_urls_say_what_is_expected():
    with pytest.raises(OptionError, match="postgresql://"):
        open_backend("mysql://x/y")
    with pytest.raises(OptionError, match="database"):
        parse_store_url("postgresql://r1@db.example.org")


def test_the_store_option_picks_the_back_end():
    assert isinstance(open_backend(None), FileBackend)
    assert isinstance(open_backend("postgresql://r1@/knee?host=/tmp/s"), ServerBackend)


def test_role_names_fit_postgres_limits_and_scram_verifiers_have_the_server_format():
    assert role_name_for("S0001", "Dr.Smith-2") == "knee_s0001_dr_smith_2"
    assert len(role_name_for("S" * 64, "r" * 64)) == 63
    v = scram_verifier("pw", salt=b"0123456789abcdef")
    assert v.startswith("SCRAM-SHA-256$4096:") and v.count("$") == 2 and v.count(":") == 2


def test_missing_server_binaries_skip_naming_the_package_unless_required(monkeypatch):
    import pg_cluster

    monkeypatch.setattr(pg_cluster, "find_bindir", lambda: None)
    monkeypatch.delenv(pg_cluster.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="Debian package 'postgresql'"):
        pg_cluster.require_bindir()
    monkeypatch.setenv(pg_cluster.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="postgresql"):
        pg_cluster.require_bindir()
