"""The decisions server under load: 10 simulated readers on 10 processes, each committing its
answers locally (SQLite, synchronous FULL) and sending each to a local PostgreSQL (fsync on)
at once. Prints the answers per second sustained, and the p95 from a local commit returning
(the app's "Previous answer saved") to the server acknowledging the row ("sent"). Also the
reading session's confirm p95 with and without the background push attached (the push runs
on its own thread, so confirm must not slow down). And the reading window's confirm -> next
pair drawn p95 on full-size images, one window sending to a local server and one without,
switching in turns in one run so that the machine's load weighs on both alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from bench_reader_ui import _read_pair, full_size_study, open_window, qapp, timed_switch  # noqa: F401 - fixtures
from pg_cluster import Cluster, Server, register, require_bindir
from study_factory import make_study

from studies.decisions.pg.schema import migrate

REPO = Path(__file__).resolve().parents[2]
READERS = 10
PAIRS = 60

WORKER = """
import json, sys, time
from studies.decisions import DecisionStore
from studies.decisions.backend import open_backend
from studies.package import decisions_path, load_manifest
study, reader, url = sys.argv[1], sys.argv[2], sys.argv[3]
manifest = load_manifest(study)
backend = open_backend(url)
path = decisions_path(study, reader)
lat = []
with DecisionStore.open(path, reader, manifest) as store:
    store.session_start(simulated=True)
    backend.after_write(path)
    print("ready", flush=True)
    sys.stdin.readline()
    t_start = time.perf_counter()
    for p in store.order:
        now = time.time()
        store.commit_decision(p.pair_id, p.left_case, started_at=now, decided_at=now, active_seconds=1.0)
        t0 = time.perf_counter()
        assert backend.after_write(path) == "sent"
        lat.append(time.perf_counter() - t0)
    t_end = time.perf_counter()
print(json.dumps({"lat": lat, "start": t_start, "end": t_end, "n": len(lat)}))
"""


def _confirm_p95(study, url=None, n=40) -> float:
    from reader_app.domain.push import start_push
    from reader_app.domain.session import ReadingSession

    session = ReadingSession.open(study, "solo" if url is None else "solo2", "unaided", write_behind=True)
    push = start_push(url, session.store.path, interval=0.05) if url else None
    if push:
        session.subscribe(push.nudge)
    lat = []
    for _ in range(n):
        if session.current is None:
            break
        session.choose("left")
        t = time.perf_counter()
        session.confirm()
        lat.append(time.perf_counter() - t)
        session.settle()
    session.close()
    if push:
        push.stop()
    return float(np.percentile(lat, 95) * 1e3)


@contextmanager
def _migrated_server(name: str) -> Iterator[Server]:
    """A throwaway cluster (fsync on) with one migrated decisions database ``name``."""
    cluster = Cluster(require_bindir(), fsync=True)
    try:
        cluster.start()
        os.environ["PGPASSFILE"] = str(cluster.admin_pgpass)
        server = Server(cluster, name)
        with server.admin() as conn:
            migrate(conn)
        yield server
    finally:
        cluster.close()


def test_ten_readers_against_a_local_server(tmp_path):
    with _migrated_server("bench") as server:
        s = make_study(tmp_path / "a", n_pairs=PAIRS, n_practice=0, with_images=False)
        readers = tuple(f"r{i}" for i in range(READERS)) + ("solo2",)
        urls = register(server, s, readers, tmp_path)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(s.study), r, urls[r]], cwd=REPO, env=env,
                                  text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE) for r in readers[:READERS]]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:  # all start together
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, _ = p.communicate(timeout=600)
            assert p.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))
        lat = np.concatenate([r["lat"] for r in results]) * 1e3
        wall = max(r["end"] for r in results) - min(r["start"] for r in results)
        answers = sum(r["n"] for r in results)
        with server.admin() as conn:
            stored = conn.execute("SELECT count(*) FROM knee.audit").fetchone()[0]
        assert stored == READERS * (PAIRS + 1)
        plain, pushed = _confirm_p95(s.study), _confirm_p95(s.study, urls["solo2"])
        load = os.getloadavg()[0]
        print(f"\ndecisions server, {READERS} readers x {PAIRS} answers on {READERS} processes (load {load:.1f}): "
              f"{answers / wall:.0f} answers/s sustained; commit -> sent median {np.median(lat):.1f} ms, "
              f"p95 {np.percentile(lat, 95):.1f} ms, max {lat.max():.1f} ms")
        print(f"reading session confirm p95: {plain:.2f} ms without a server, {pushed:.2f} ms with the push attached")


def test_reading_window_confirm_p95_with_and_without_the_push(tmp_path, qapp, open_window):  # noqa: F811
    from reader_app.ui.push_status import attach_push

    n_pairs = 24
    with _migrated_server("bench_window") as server:
        t = full_size_study(tmp_path / "full", n_pairs)
        url = register(server, t, ("pushed",), tmp_path)["pushed"]
        screens = {"without a server": open_window(t.study, "plain"), "push attached": open_window(t.study, "pushed")}
        push = attach_push(screens["push attached"], url)
        times: dict[str, list[float]] = {name: [] for name in screens}
        for _ in range(n_pairs - 1):
            for name, screen in screens.items():  # in turns: the same load on both
                for other in screens.values():  # the other window's next pair decoded first
                    if other is not screen:
                        _read_pair(qapp, other)
                times[name].append(timed_switch(qapp, screen)[0])
        status = push.stop()
        with server.admin() as conn:
            stored = conn.execute("SELECT count(*) FROM knee.audit WHERE reader_id = 'pushed'").fetchone()[0]
        assert stored >= n_pairs and not status.conflict, (stored, status.text)
        p95 = {name: float(np.percentile(v, 95)) for name, v in times.items()}
        med = {name: float(np.median(v)) for name, v in times.items()}
        print(f"\nreading window confirm -> next pair drawn (full size, {n_pairs - 1} switches each, in turns): "
              + "; ".join(f"{name}: median {med[name]:.1f} ms, p95 {p95[name]:.1f} ms" for name in screens)
              + f"; {stored} rows on the server; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        # the reader-app budget (p95 <= 50 ms) judges the push only where the window without a
        # server meets it: beyond that the machine's load, not the push, sets the figures
        if p95["without a server"] <= 50.0:
            assert p95["push attached"] <= 50.0
        else:
            print("the window without a server misses the 50 ms budget at this load: the push is not judged")
