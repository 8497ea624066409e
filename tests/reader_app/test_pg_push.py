"""The reading app with a decisions server: answers saved locally first and sent behind,
"saved locally, N to send" while the server is away, nothing lost or doubled by a kill -9
between the local commit and the send, and the coordinator's live view."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pg_cluster import register
from PySide6.QtWidgets import QLabel
from study_factory import make_study

from reader_app.domain.push import start_push
from studies.decisions.pg.compare import compare_with_server
from studies.decisions.pg.snapshot import write_study_files
from studies.package import decisions_path

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
from reader_app.domain.session import ReadingSession
from reader_app.domain.push import start_push
study, url = sys.argv[1], sys.argv[2]
from studies.decisions.pg.push import Pusher
real = Pusher.push
def slow_network(self):
    time.sleep(60)  # the kill lands while the answers are durable locally but not sent
    return real(self)
Pusher.push = slow_network
session = ReadingSession.open(study, "r1", "unaided", write_behind=True)
push = start_push(url, session.store.path, interval=0.05)
session.subscribe(push.nudge)
for _ in range(3):
    session.choose("left")
    session.confirm()
    session.settle()
    print("saved", session.last_saved.pair_id, flush=True)
time.sleep(60)
"""


def _server_rows(server, study_id):
    with server.admin() as conn:
        return conn.execute("SELECT local_id, local_hash FROM knee.audit WHERE study_id = %s AND reader_id = 'r1' "
                            "ORDER BY local_id", (study_id,)).fetchall()


def _wait(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_kill_between_local_commit_and_send_then_resume_loses_and_doubles_nothing(pg_server, tmp_path):
    s = make_study(tmp_path / "a", n_pairs=5, n_practice=0, with_images=False)
    urls = register(pg_server, s, ("r1",), tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(s.study), urls["r1"]], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    saved = []
    while len(saved) < 3:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        saved.append(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _server_rows(pg_server, s.manifest.study_id) == []  # committed locally, never sent
    path = decisions_path(s.study, "r1")

    from reader_app.domain.session import ReadingSession

    session = ReadingSession.open(s.study, "r1", "unaided", write_behind=True)  # the reader comes back
    assert session.current.pair_id not in saved
    push = start_push(urls["r1"], path, interval=0.05)
    session.subscribe(push.nudge)
    session.choose("right")
    session.confirm()
    session.settle()
    _wait(lambda: push.status.reachable and push.status.to_send == 0)
    session.close()
    final = push.stop()
    assert final.to_send == 0 and not final.conflict
    rows = _server_rows(pg_server, s.manifest.study_id)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))  # each row once
    with pg_server.admin() as conn:
        files = write_study_files(conn, s.manifest.study_id, tmp_path / "server")
    c = compare_with_server(path, files[0])
    assert c.same, c
    from studies.decisions import read_decisions

    on_server = set(read_decisions(files[0])["pair_id"])
    assert set(saved) | {session.last_saved.pair_id} <= on_server and len(on_server) == 4


def test_the_window_says_saved_locally_while_the_server_is_away(qtbot, pg_server, pg_cluster, tmp_path):
    from uihelpers import reading_window

    from reader_app.ui.push_status import attach_push

    s = make_study(tmp_path / "a", n_pairs=3, n_practice=0)
    urls = register(pg_server, s, ("r1",), tmp_path)
    with reading_window(qtbot, s.study) as screen:
        push = attach_push(screen, urls["r1"])
        push._retry = 0.2
        labels = lambda: " ".join(w.text() for w in screen.window.statusBar().findChildren(QLabel))  # noqa: E731
        session = screen.session
        session.choose("left")
        session.confirm()
        session.settle()
        qtbot.waitUntil(lambda: "sent to the server" in labels(), timeout=15000)
        pg_cluster.stop()
        try:
            session.choose("left")
            session.confirm()
            session.settle()
            qtbot.waitUntil(lambda: "saved locally, 1 to send" in labels(), timeout=15000)
        finally:
            pg_cluster.start()
        qtbot.waitUntil(lambda: "sent to the server" in labels(), timeout=15000)
    screen.close()
    assert push.stop().to_send == 0
    assert len(_server_rows(pg_server, s.manifest.study_id)) == 4  # start, 2 answers, stop


def test_the_coordinators_live_view_follows_the_writes(qtbot, pg_server, tmp_path):
    from reader_app.domain.server_progress import ProgressPoller
    from reader_app.ui.server_progress import ServerProgressView
    from studies.decisions.backend import open_backend
    from studies.decisions.simulate import simulate_reader

    s = make_study(tmp_path / "a", n_pairs=4, n_practice=0, with_images=False)
    urls = register(pg_server, s, ("r1", "r2"), tmp_path)
    poller = ProgressPoller(pg_server.admin_url, s.manifest.study_id, interval=0.1).start()
    view = ServerProgressView(poller, refresh_ms=50)
    qtbot.addWidget(view)
    view.show()
    seen = []
    backend = open_backend(urls["r1"])

    def sent(row, n, total):
        assert backend.after_write(decisions_path(s.study, "r1")) == "sent"
        seen.append(poller.poll_once().readers[0].answered)

    simulate_reader(s.study, s.key, "r1", 1.0, on_decision=sent)
    assert seen == [1, 2, 3, 4]  # the server's progress, answer by answer
    cell = lambda i, j: view.table.item(i, j).text() if view.table.item(i, j) else ""  # noqa: E731
    qtbot.waitUntil(lambda: view.table.rowCount() == 2 and cell(0, 2) == "4/4" and cell(1, 2) == "0/4", timeout=10000)
    view.close()


def test_the_app_refuses_a_store_url_with_a_password(capsys):
    from reader_app.main import main

    assert main(["somewhere", "--reader", "r1", "--store", "postgresql://r1:hunter2@db.example.org/knee"]) == 2
    err = capsys.readouterr().err
    assert "PGPASSFILE" in err and "hunter2" not in err
    assert main(["somewhere", "--reader", "r1", "--store", "postgresql://r1@db.example.org/knee?sslmode=disable"]) == 2
    assert "insecure-tls" in capsys.readouterr().err
