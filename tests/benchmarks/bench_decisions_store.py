"""How long committing one decision takes (WAL + synchronous=FULL): part of the 50 ms budget
from confirming a decision to the next pair drawn. Prints the median and 95th percentile."""

from __future__ import annotations

import time

import numpy as np
from study_factory import make_study

from studies.decisions import DecisionStore, read_decisions, verify_file
from studies.package import decisions_path


def test_commit_latency_over_a_150_pair_study(tmp_path):
    s = make_study(tmp_path, n_pairs=150, n_practice=2, with_images=False, confidence=True)
    path = decisions_path(s.study, "r1")
    t0 = time.perf_counter()
    store = DecisionStore.open(path, "r1", s.manifest)
    open_ms = (time.perf_counter() - t0) * 1e3
    store.session_start()
    lat = []
    for p in store.order:
        now = time.time()
        t = time.perf_counter()
        store.commit_decision(p.pair_id, p.left_case, confidence=3, started_at=now, decided_at=now,
                              active_seconds=1.0)
        lat.append((time.perf_counter() - t) * 1e3)
    store.close()
    t = time.perf_counter()
    resumed = DecisionStore.open(path, "r1", s.manifest)
    resume_ms = (time.perf_counter() - t) * 1e3
    resumed.close()
    t = time.perf_counter()
    assert verify_file(path).ok
    verify_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    assert len(read_decisions(path)) == 152
    read_ms = (time.perf_counter() - t) * 1e3
    lat = np.array(lat)
    print(f"\ndecisions store, 152 pairs: commit median {np.median(lat):.2f} ms, "
          f"p95 {np.percentile(lat, 95):.2f} ms, max {lat.max():.2f} ms; create {open_ms:.1f} ms, "
          f"resume {resume_ms:.1f} ms, verify {verify_ms:.1f} ms, read_decisions {read_ms:.1f} ms")
