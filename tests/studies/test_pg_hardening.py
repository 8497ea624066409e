"""Schema version 2 on a real server: conflict rows bounded, no probing of registrations,
concurrent ``server init`` on two databases of one fresh cluster, and the upgrade from 1."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from pg_cluster import Cluster, new_database, register, require_bindir
from study_factory import make_study

from studies.decisions.audit import canonical_json, row_hash
from studies.decisions.backend import open_backend
from studies.decisions.pg.admin import role_name_for
from studies.decisions.pg.schema import MIGRATIONS, migrate, schema_version
from studies.decisions.simulate import simulate_reader
from studies.package import decisions_path

INSERT = ("INSERT INTO knee.audit (study_id, reader_id, local_id, local_ts, kind, payload_json, "
          "local_prev_hash, local_hash) VALUES (%s, 'r1', %s, %s, %s, %s, %s, %s)")


@pytest.fixture()
def sent(pg_server, tmp_path):
    s = make_study(tmp_path / "a", n_pairs=4, n_practice=0, with_images=False)
    urls = register(pg_server, s, ("r1", "r2"), tmp_path)
    simulate_reader(s.study, s.key, "r1", 0.7)
    open_backend(urls["r1"]).after_write(decisions_path(s.study, "r1"))
    return s, urls


def _stored(conn, local_id: int):
    return conn.execute("SELECT local_id, local_ts, kind, payload_json, local_prev_hash, local_hash "
                        "FROM knee.audit WHERE local_id = %s", (local_id,)).fetchone()


def _differing(row, n: int):
    """Row ``row`` with its payload changed (variant ``n``), hashed correctly."""
    payload = {**json.loads(row[3]), "forged": n}
    return (row[0], row[1], row[2], canonical_json(payload), row[4], row_hash(row[4], row[0], row[1], row[2], payload))


def _conflicts(server):
    with server.admin() as admin:
        return admin.execute("SELECT local_id, repeats FROM knee.conflicts ORDER BY local_id").fetchall()


def test_differing_resends_keep_one_conflict_row_and_a_reader_cap_refuses_more(sent, pg_server):
    s, urls = sent
    sid = s.manifest.study_id
    with pg_server.admin() as admin:
        admin.execute("UPDATE knee.limits SET value = 2 WHERE name = 'conflicts_per_reader'")
    with psycopg.connect(urls["r1"], autocommit=True) as conn:
        for n in range(3):  # three different forgeries of row 1: one row, two more counted
            conn.execute(INSERT, (sid, *_differing(_stored(conn, 1), n)))
        conn.execute(INSERT, (sid, *_differing(_stored(conn, 2), 0)))
        assert _conflicts(pg_server) == [(1, 2), (2, 0)]
        with pytest.raises(psycopg.errors.ProgramLimitExceeded, match=r"reader r1 of study .* \(the limit\)"):
            conn.execute(INSERT, (sid, *_differing(_stored(conn, 3), 0)))
        conn.execute(INSERT, (sid, *_differing(_stored(conn, 2), 1)))  # a kept row is still counted
    assert _conflicts(pg_server) == [(1, 2), (2, 1)]


def test_a_reader_cannot_learn_another_readers_registration(sent, pg_server):
    s, urls = sent
    sid = s.manifest.study_id
    ask = "SELECT knee.may_write(%s, %s, %s)"
    with psycopg.connect(urls["r1"], autocommit=True) as conn:
        assert conn.execute(ask, (sid, "r1", role_name_for(sid, "r1"))).fetchone()[0] is True
        registered = conn.execute(ask, (sid, "r2", role_name_for(sid, "r2"))).fetchone()[0]
        unknown = conn.execute(ask, (sid, "r7", role_name_for(sid, "r7"))).fetchone()[0]
        superuser = conn.execute(ask, (sid, "r2", "knee_admin")).fetchone()[0]
        runnable = {name for (name,) in conn.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'knee' AND has_function_privilege(p.oid, 'EXECUTE')")}
        assert runnable == {"may_write"}  # the one the row-level security policies call
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT knee.sha256_hex('x')")
    assert (registered, unknown, superuser) == (False, False, False)
    with pg_server.admin() as admin:  # r2 is registered: the answer above hid it
        assert admin.execute("SELECT count(*) FROM knee.readers WHERE reader_id = 'r2'").fetchone()[0] == 1


def test_the_reader_app_still_writes_under_version_2(sent, pg_server):
    s, urls = sent
    with pg_server.admin() as admin:
        assert schema_version(admin) == MIGRATIONS[-1][0] == 2
        assert admin.execute("SELECT count(*) FROM knee.audit WHERE reader_id = 'r1'").fetchone()[0] > 0


def test_version_1_upgrades_and_its_duplicate_conflicts_are_folded(pg_cluster, tmp_path, monkeypatch):
    import studies.decisions.pg.schema as schema

    url = new_database(pg_cluster, f"knee_upgrade_{id(tmp_path) % 100000}")
    with psycopg.connect(url, autocommit=True, passfile=str(pg_cluster.admin_pgpass)) as conn:
        monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS[:1])
        assert schema.migrate(conn) == [1]
        for _ in range(3):
            conn.execute("INSERT INTO knee.conflicts (study_id, reader_id, local_id, stored_hash, incoming_hash, "
                         "incoming_json) VALUES ('s', 'r1', 4, 'a', 'b', '{}')")
        monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS)
        assert migrate(conn) == [2]
        assert conn.execute("SELECT local_id, repeats FROM knee.conflicts").fetchall() == [(4, 2)]
        assert migrate(conn) == []


def test_two_concurrent_inits_on_two_databases_of_a_fresh_cluster(tmp_path):
    cluster = Cluster(require_bindir())
    try:
        cluster.start()
        urls = [new_database(cluster, f"site{i}") for i in range(2)]
        conns = [psycopg.connect(u, autocommit=True, passfile=str(cluster.admin_pgpass)) for u in urls]
        gate, results = threading.Barrier(2), {}

        def init(i: int) -> None:
            gate.wait()
            try:
                results[i] = migrate(conns[i])
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results[i] = exc

        threads = [threading.Thread(target=init, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert results == {0: [1, 2], 1: [1, 2]}
        for c in conns:
            assert schema_version(c) == 2
            c.close()
    finally:
        cluster.close()
