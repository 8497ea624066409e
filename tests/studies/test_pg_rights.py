"""What PostgreSQL itself refuses a reader's role, and how resends and conflicts are kept.

Each forbidden statement is sent as a reader's login role, straight to the server (no client
code in between), and must be refused by PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
from pg_cluster import register
from study_factory import make_study

from studies.decisions.audit import row_hash
from studies.decisions.backend import open_backend
from studies.decisions.pg.push import PushConflict
from studies.decisions.simulate import simulate_reader
from studies.package import decisions_path


@pytest.fixture()
def two_readers(pg_server, tmp_path):
    s = make_study(tmp_path / "a", n_pairs=4, n_practice=1, with_images=False, confidence=True)
    other = make_study(tmp_path / "b", n_pairs=3, n_practice=0, with_images=False, seed=5)
    urls = register(pg_server, s, ("r1", "r2"), tmp_path)
    register(pg_server, other, (), tmp_path)
    for r in ("r1", "r2"):
        simulate_reader(s.study, s.key, r, 0.7)
        open_backend(urls[r]).after_write(decisions_path(s.study, r))
    return s, other, urls


def _as(url: str):
    return psycopg.connect(url, autocommit=True)


def _refused(conn, statement: str, params=()) -> str:
    with pytest.raises(psycopg.Error) as err:
        conn.execute(statement, params)
    return err.value.sqlstate


def test_a_reader_role_can_change_nothing(two_readers):
    s, _, urls = two_readers
    sid = s.manifest.study_id
    with _as(urls["r1"]) as conn:
        before = conn.execute("SELECT count(*) FROM knee.audit").fetchone()[0]
        assert before > 0
        for stmt in (
            "UPDATE knee.audit SET payload_json = '{}' WHERE local_id = 2",
            "DELETE FROM knee.audit WHERE local_id = 2",
            "TRUNCATE knee.audit",
            "UPDATE knee.headers SET header_json = '{}'",
            "DELETE FROM knee.headers",
            "ALTER TABLE knee.audit DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE knee.audit ADD COLUMN x int",
            "DROP TRIGGER audit_before_insert ON knee.audit",
            "DROP TABLE knee.audit",
            "CREATE TABLE knee.mine (x int)",
            "UPDATE knee.chain_heads SET seq = 0",
            "INSERT INTO knee.readers VALUES ('x', 'r9', 'knee_x_r9')",
        ):
            assert _refused(conn, stmt) == "42501", stmt  # insufficient_privilege / must be owner
        assert conn.execute("SELECT count(*) FROM knee.audit").fetchone()[0] == before
        assert conn.execute("SELECT count(*) FROM knee.audit WHERE study_id = %s", (sid,)).fetchone()[0] == before


def test_a_reader_role_sees_only_its_own_rows_and_no_secrets(two_readers):
    s, _, urls = two_readers
    with _as(urls["r1"]) as conn:
        assert {r for (r,) in conn.execute("SELECT DISTINCT reader_id FROM knee.audit")} == {"r1"}
        assert {r for (r,) in conn.execute("SELECT reader_id FROM knee.headers")} == {"r1"}
        assert conn.execute("SELECT count(*) FROM knee.audit WHERE reader_id = 'r2'").fetchone()[0] == 0
        for table in ("studies", "readers", "conflicts", "chain_heads"):
            assert _refused(conn, f"SELECT * FROM knee.{table}") == "42501", table


def test_a_reader_role_cannot_write_for_another_reader_or_study(two_readers):
    s, other, urls = two_readers
    with _as(urls["r1"]) as conn:
        last = conn.execute("SELECT local_id, local_hash FROM knee.audit ORDER BY local_id DESC LIMIT 1").fetchone()
        payload = '{"mode":"unaided","software_version":"x"}'
        ts = "2026-01-01T00:00:00.000000+00:00"
        for study, reader in ((s.manifest.study_id, "r2"), (other.manifest.study_id, "r1")):
            h = row_hash(last[1], last[0] + 1, ts, "session_start", {"mode": "unaided", "software_version": "x"})
            state = _refused(conn, "INSERT INTO knee.audit (study_id, reader_id, local_id, local_ts, kind, "
                             "payload_json, local_prev_hash, local_hash) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                             (study, reader, last[0] + 1, ts, "session_start", payload, last[1], h))
            assert state == "42501", (study, reader)
        assert _refused(conn, "INSERT INTO knee.headers (study_id, reader_id, header_json, genesis) "
                        "VALUES (%s, 'r2', '{}', '')", (s.manifest.study_id,)) == "42501"


def test_the_server_refuses_forged_hashes_and_gaps(two_readers):
    s, _, urls = two_readers
    sid = s.manifest.study_id
    with _as(urls["r1"]) as conn:
        n, prev = conn.execute("SELECT local_id, local_hash FROM knee.audit ORDER BY local_id DESC LIMIT 1").fetchone()
        ts, payload = "2026-01-01T00:00:00.000000+00:00", {"mode": "unaided", "software_version": "x"}
        insert = ("INSERT INTO knee.audit (study_id, reader_id, local_id, local_ts, kind, payload_json, "
                  "local_prev_hash, local_hash) VALUES (%s, 'r1', %s, %s, 'session_start', %s, %s, %s)")
        text = '{"mode":"unaided","software_version":"x"}'
        assert _refused(conn, insert, (sid, n + 1, ts, text, prev, "0" * 64)) == "23514"  # hash != content
        gap = row_hash(prev, n + 2, ts, "session_start", payload)
        assert _refused(conn, insert, (sid, n + 2, ts, text, prev, gap)) == "23514"  # not the next row
        good = row_hash(prev, n + 1, ts, "session_start", payload)
        conn.execute(insert, (sid, n + 1, ts, text, prev, good))  # the one row that continues the chain
        assert conn.execute("SELECT max(local_id) FROM knee.audit").fetchone()[0] == n + 1


def test_a_resend_is_a_no_op_and_a_different_row_is_refused_and_recorded(two_readers, pg_server):
    s, _, urls = two_readers
    sid = s.manifest.study_id
    with pg_server.admin() as admin:
        before = admin.execute("SELECT count(*), max(seq) FROM knee.audit WHERE study_id = %s", (sid,)).fetchone()
    with _as(urls["r1"]) as conn:
        row = conn.execute("SELECT local_id, local_ts, kind, payload_json, local_prev_hash, local_hash FROM knee.audit "
                           "WHERE local_id = 2").fetchone()
        insert = ("INSERT INTO knee.audit (study_id, reader_id, local_id, local_ts, kind, payload_json, "
                  "local_prev_hash, local_hash) VALUES (%s, 'r1', %s, %s, %s, %s, %s, %s) "
                  "ON CONFLICT (study_id, reader_id, local_id) DO NOTHING")
        assert conn.execute(insert, (sid, *row)).rowcount == 0  # resend: nothing happens
        import json

        p = json.loads(row[3])
        p["chosen_case"] = p["case_right"] if p["chosen_case"] == p["case_left"] else p["case_left"]
        from studies.decisions.audit import canonical_json

        forged = row_hash(row[4], row[0], row[1], row[2], p)
        assert conn.execute(insert, (sid, row[0], row[1], row[2], canonical_json(p), row[4], forged)).rowcount == 0
        assert conn.execute("SELECT local_hash FROM knee.audit WHERE local_id = 2").fetchone()[0] == row[5]
    with pg_server.admin() as admin:
        assert admin.execute("SELECT count(*), max(seq) FROM knee.audit WHERE study_id = %s", (sid,)).fetchone() == before
        conflicts = admin.execute("SELECT reader_id, local_id, stored_hash, incoming_hash FROM knee.conflicts").fetchall()
    assert conflicts == [("r1", 2, row[5], forged)]


def test_pushing_a_rewritten_local_file_is_a_conflict_and_changes_nothing(two_readers, pg_server):
    import sqlite3

    s, _, urls = two_readers
    path = decisions_path(s.study, "r1")
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET hash = 'x' || substr(hash, 2) WHERE id = 3")
    conn.commit()
    conn.close()
    with pytest.raises(PushConflict, match="row 3"):
        from studies.decisions.pg.push import Pusher

        Pusher(open_backend(urls["r1"]).address, path).push()


def test_the_coordinator_role_reads_everything_and_writes_nothing(two_readers, pg_server, tmp_path):
    from studies.cli import main

    assert main(["server", "add-coordinator", "coord", "--out", str(tmp_path / "c.pgpass"),
                 "--store", pg_server.admin_url]) == 0
    url = pg_server.url("coord", tmp_path / "c.pgpass")
    with _as(url) as conn:
        assert {r for (r,) in conn.execute("SELECT DISTINCT reader_id FROM knee.audit")} == {"r1", "r2"}
        assert conn.execute("SELECT count(*) FROM knee.studies").fetchone()[0] == 2
        assert _refused(conn, "DELETE FROM knee.audit") == "42501"
        assert _refused(conn, "INSERT INTO knee.studies VALUES ('x', %s, 1, 1)", ("0" * 64,)) == "42501"
