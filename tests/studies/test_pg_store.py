"""The decisions server end to end: schema versions, two workstations writing at once, the
server going away mid-study, verify/export/analyze from the server equal to the files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psycopg
from forge import forge
from pg_cluster import register
from study_factory import make_study

from studies.cli import main
from studies.decisions.backend import open_backend
from studies.decisions.simulate import simulate_reader
from studies.package import decisions_path

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from studies.cli import main; sys.exit(main())"


def _simulate(s, reader: str, url: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-c", CLI, "simulate-reader", str(s.study), "--key", str(s.key), "--reader", reader,
           "--accuracy", "0.7", "--store", url, *extra]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def test_init_is_idempotent_and_versioned(pg_server, capsys):
    assert main(["server", "init", "--store", pg_server.admin_url]) == 0
    assert "already up to date" in capsys.readouterr().out
    with pg_server.admin() as conn:
        assert conn.execute("SELECT version FROM knee.schema_migrations").fetchall() == [(1,), (2,)]
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'knee' AND tablename = 'audit'").fetchone()
        assert owner == ("knee_owner",)
        assert conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'knee_owner'").fetchone() == (False,)


def test_status_and_registration(pg_server, tmp_path, capsys):
    s = make_study(tmp_path / "a", n_pairs=3, n_practice=0, with_images=False)
    urls = register(pg_server, s, ("r1",), tmp_path)
    assert oct((tmp_path / "r1.pgpass").stat().st_mode & 0o777) == "0o600"
    out = capsys.readouterr().out
    assert "PGPASSFILE" in out and (tmp_path / "r1.pgpass").read_text().split(":")[-1].strip() not in out
    simulate_reader(s.study, s.key, "r1", 1.0)
    assert open_backend(urls["r1"]).after_write(decisions_path(s.study, "r1")) == "sent"
    assert main(["server", "status", "--store", pg_server.admin_url]) == 0
    assert "r1           3/3 answered (5 rows" in capsys.readouterr().out
    # a rebuilt study under the same id (another key) is refused
    other = make_study(tmp_path / "b", n_pairs=3, n_practice=0, with_images=False, seed=9)
    other_manifest = json.loads((other.study / "manifest.json").read_text())
    other_manifest["study_id"] = s.manifest.study_id
    (other.study / "manifest.json").write_text(json.dumps(other_manifest))
    from studies.decisions.pg.admin import add_study
    from studies.package import load_manifest

    with pg_server.admin() as conn:
        try:
            add_study(conn, load_manifest(other.study))
            raise AssertionError("a second key hash for one study id was taken")
        except Exception as exc:  # noqa: BLE001
            assert "another key hash" in str(exc)


def test_two_workstations_write_one_study_at_once(pg_server, tmp_path, capsys):
    s = make_study(tmp_path / "a", n_pairs=25, n_practice=1, with_images=False, confidence=True)
    urls = register(pg_server, s, ("r1", "r2"), tmp_path)
    procs = [_simulate(s, r, urls[r], "--delay", "0.05") for r in ("r1", "r2")]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.count(" sent\n") == 26, out
    capsys.readouterr()
    files = [str(decisions_path(s.study, r)) for r in ("r1", "r2")]
    assert main(["verify-decisions", "--store", pg_server.admin_url, "--study", str(s.study), *files]) == 0
    out = capsys.readouterr().out
    assert "server chain OK, intact: 56 rows" in out  # 2 x (start + 26 answers + stop)
    assert out.count("matches the server's record") == 2
    with pg_server.admin() as conn:
        rows = conn.execute("SELECT seq, reader_id, local_id FROM knee.audit ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == list(range(1, 57))
    for reader in ("r1", "r2"):  # each reader's rows in its own order, none lost or doubled
        assert [r[2] for r in rows if r[1] == reader] == list(range(1, 29))
    switches = sum(a[1] != b[1] for a, b in zip(rows, rows[1:], strict=False))
    assert switches >= 2, "the two workstations did not write at the same time"


def test_the_server_stopped_mid_study_then_restarted(pg_server, pg_cluster, tmp_path, capsys):
    s = make_study(tmp_path / "a", n_pairs=16, n_practice=0, with_images=False)
    urls = register(pg_server, s, ("r1",), tmp_path)
    proc = _simulate(s, "r1", urls["r1"], "--delay", "0.3")
    lines = [proc.stdout.readline() for _ in range(3)]
    assert all(ln.rstrip().endswith(" sent") for ln in lines), lines
    pg_cluster.stop()
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        pg_cluster.start()
    assert proc.returncode == 0, err
    assert "server unreachable" in out  # the reader read on, saved locally
    assert "to send" in err or "unreachable" in err
    path = decisions_path(s.study, "r1")
    assert open_backend(urls["r1"]).after_write(path) == "sent"  # the queue goes out
    assert open_backend(urls["r1"]).after_write(path) == "sent"  # and again: nothing doubles
    capsys.readouterr()
    assert main(["verify-decisions", "--store", pg_server.admin_url, "--study", str(s.study), str(path)]) == 0
    assert "server chain OK, intact: 18 rows" in capsys.readouterr().out


def test_verify_lists_how_a_local_file_differs_from_the_server(pg_server, tmp_path, capsys):
    s = make_study(tmp_path / "a", n_pairs=4, n_practice=0, with_images=False)
    urls = register(pg_server, s, ("r1",), tmp_path)
    simulate_reader(s.study, s.key, "r1", 1.0)
    path = decisions_path(s.study, "r1")
    open_backend(urls["r1"]).after_write(path)
    older = tmp_path / "older.sqlite"
    shutil.copy(path, older)
    forge(older, keep_rows=3)
    flipped = tmp_path / "flipped.sqlite"
    shutil.copy(path, flipped)
    pair_cases = {p.pair_id: p.cases for p in s.manifest.pairs}

    def flip(row_id, kind, payload):
        if kind == "decision" and row_id == 3:
            a, b = pair_cases[payload["pair_id"]]
            payload = {**payload, "chosen_case": b if payload["chosen_case"] == a else a}
        return payload

    forge(flipped, payload_edit=flip)
    capsys.readouterr()
    code = main(["verify-decisions", "--store", pg_server.admin_url, "--study", str(s.study),
                 str(path), str(older), str(flipped)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{path}: matches the server's record of r1 (6 rows)" in out
    assert f"{older}: DIFFERS" in out and "lacks rows 4-6" in out
    assert f"{flipped}: DIFFERS" in out and "4 rows from row 3 differ" in out
    assert "pair " in out and "server " in out  # the answer that differs is named


def test_export_and_analyze_from_the_server_equal_the_files(pg_server, tmp_path, capsys):
    s = make_study(tmp_path / "a", n_pairs=8, n_practice=1, with_images=False, confidence=True, with_ai=True)
    urls = register(pg_server, s, ("r1", "r2"), tmp_path)
    for r, acc in (("r1", 0.6), ("r2", 0.9)):
        simulate_reader(s.study, s.key, r, acc)
        assert open_backend(urls[r]).after_write(decisions_path(s.study, r)) == "sent"
    a, b = tmp_path / "server.csv", tmp_path / "files.csv"
    assert main(["export-decisions", "--store", pg_server.admin_url, "--study", str(s.study), "--out", str(a)]) == 0
    assert main(["export-decisions", str(s.study / "decisions"), "--out", str(b)]) == 0
    assert a.read_text() == b.read_text()
    # a reader's role exports its own answers only
    c = tmp_path / "mine.csv"
    assert main(["export-decisions", "--store", urls["r1"], "--study", str(s.study), "--out", str(c)]) == 0
    assert set(pd.read_csv(c)["reader"]) == {"r1"}

    common = ["--study", str(s.study), "--key", str(s.key), "--bootstrap", "200", "--no-pdf", "--include-simulated"]
    assert main(["analyze", *common, "--out", str(tmp_path / "files")]) == 0
    assert main(["analyze", *common, "--store", pg_server.admin_url, "--out", str(tmp_path / "server")]) == 0
    for name in ("decisions_long.csv", "summary.json"):
        assert (tmp_path / "files" / name).read_text() == (tmp_path / "server" / name).read_text(), name


def test_the_cluster_runs_as_an_unprivileged_user(pg_cluster):
    """initdb refuses root: as root the fixture runs the server as 'postgres' via runuser."""
    import pwd

    pid = int((pg_cluster.data / "postmaster.pid").read_text().split()[0])
    uid = next(int(ln.split()[1]) for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("Uid:"))
    if os.geteuid() == 0:
        assert pg_cluster.run_as == "postgres"
        assert uid == pwd.getpwnam("postgres").pw_uid != 0
        assert pg_cluster.data.stat().st_uid == uid
    else:
        assert pg_cluster.run_as is None and uid == os.geteuid()
    with psycopg.connect(pg_cluster.url(), autocommit=True, passfile=str(pg_cluster.admin_pgpass)) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)  # a socket only


def test_a_service_from_pgservicefile_and_a_password_from_pgpassfile(pg_server, tmp_path, monkeypatch, capsys):
    services = tmp_path / "services.conf"
    services.write_text(f"[knee]\nhost={pg_server.cluster.sockdir}\ndbname={pg_server.dbname}\nuser=knee_admin\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    assert main(["server", "status", "--store", "postgresql:///?service=knee"]) == 0
    assert "schema version 2" in capsys.readouterr().out


def test_a_password_prompt_when_no_pgpassfile_holds_it(pg_server, tmp_path, monkeypatch):
    from studies.decisions.pg.connect import ServerError, connect, parse_store_url

    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    address = parse_store_url(pg_server.admin_url)
    try:
        connect(address, prompt=False)
        raise AssertionError("connected without a password")
    except ServerError as exc:
        assert "PGPASSFILE" in str(exc)
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or pg_server.cluster.password)
    with connect(address, prompt=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("knee_admin",)
    assert len(asked) == 1 and pg_server.cluster.password not in asked[0]


def test_merge_decisions_sends_files_read_offline(pg_server, tmp_path, capsys):
    s = make_study(tmp_path / "a", n_pairs=3, n_practice=0, with_images=False)
    urls = register(pg_server, s, ("r1", "r2"), tmp_path)
    for r in ("r1", "r2"):
        simulate_reader(s.study, s.key, r, 0.5)  # no server while reading
    r1, r2 = (str(decisions_path(s.study, r)) for r in ("r1", "r2"))
    capsys.readouterr()
    assert main(["merge-decisions", str(s.study), r1, "--store", urls["r1"]]) == 0
    assert "5 row(s) sent, 5 on the server" in capsys.readouterr().out
    assert main(["merge-decisions", str(s.study), r1, "--store", urls["r1"]]) == 0
    assert "0 row(s) sent, 5 on the server" in capsys.readouterr().out  # a resend changes nothing
    assert main(["merge-decisions", str(s.study), r2, "--store", urls["r1"]]) == 1  # not r1's to send
    assert "conflict" in capsys.readouterr().out
    assert main(["merge-decisions", str(s.study), r2, "--store", pg_server.admin_url]) == 0


def test_two_inits_at_once_apply_the_schema_once(pg_cluster):
    import threading

    from pg_cluster import new_database

    from studies.decisions.pg.schema import migrate

    url = new_database(pg_cluster, f"knee_init_race_{os.getpid()}")
    applied, errors = [], []

    def init() -> None:
        try:
            with psycopg.connect(url, autocommit=True, passfile=str(pg_cluster.admin_pgpass)) as conn:
                applied.append(migrate(conn))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=init) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and sorted(applied) == [[], [1, 2]]
