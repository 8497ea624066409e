"""Crash safety: a reader process killed (SIGKILL) at any moment loses no committed decision,
corrupts nothing, leaves no stale lock, and resumes where it stopped."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from study_factory import make_study

from studies.decisions import read_decisions, verify_file
from studies.package import decisions_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from studies.cli import main; sys.exit(main())"


def _cmd(s, *extra: str) -> list[str]:
    return [sys.executable, "-c", CLI, "simulate-reader", str(s.study), "--key", str(s.key),
            "--reader", "r1", "--accuracy", "0.7", "--seed", "11", *extra]


def _start(s, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(_cmd(s, *extra), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(s) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(s), cwd=REPO, capture_output=True, text=True, timeout=120)


def _kill_after(proc: subprocess.Popen, n_lines: int, extra_wait: float = 0.0) -> list[str]:
    """Read ``n_lines`` committed lines, wait a moment, SIGKILL; return the lines printed."""
    lines = []
    while len(lines) < n_lines:
        line = proc.stdout.readline()
        assert line, f"simulate-reader ended early: {proc.stderr.read()}"
        lines.append(line)
    time.sleep(extra_wait)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    lines += proc.stdout.readlines()  # anything printed before the kill landed
    assert proc.returncode == -signal.SIGKILL
    return [ln.split()[1] for ln in lines if ln.startswith("committed ")]


def test_kill_during_delay_loses_nothing_and_resume_matches_an_uninterrupted_run(tmp_path):
    s = make_study(tmp_path / "a", n_pairs=10, n_practice=1, with_images=False, confidence=True)
    path = decisions_path(s.study, "r1")
    printed = _kill_after(_start(s, "--delay", "0.1"), 4)
    report = verify_file(path)
    assert report.ok, report.reason
    recorded = list(read_decisions(path)["pair_id"])
    assert recorded[: len(printed)] == printed and len(recorded) <= len(printed) + 1
    # the lock died with the process: the next run resumes at once
    done = _finish(s)
    assert done.returncode == 0, done.stderr
    assert "resumed" in done.stderr
    df = read_decisions(path)
    assert len(df) == 11 and df["pair_id"].is_unique and verify_file(path).ok
    n_rows = sqlite3.connect(path).execute("SELECT count(*) FROM audit WHERE kind='decision'").fetchone()[0]
    assert n_rows == 11  # nothing answered twice
    # the same study answered without interruption gives the same answers
    twin = make_study(tmp_path / "b", n_pairs=10, n_practice=1, with_images=False, confidence=True)
    assert twin.manifest.study_id == s.manifest.study_id
    assert _finish(twin).returncode == 0
    ref = read_decisions(decisions_path(twin.study, "r1"))
    cols = ["pair_id", "case_left", "case_right", "chosen_case", "confidence"]
    assert df[cols].equals(ref[cols])


def test_kills_at_random_moments_during_writes_never_corrupt(tmp_path):
    s = make_study(tmp_path, n_pairs=150, with_images=False)
    path = decisions_path(s.study, "r1")
    rnd = random.Random(7)
    for _ in range(3):
        printed = _kill_after(_start(s), 1, rnd.uniform(0.0, 0.02))
        report = verify_file(path)
        assert report.ok, report.reason
        recorded = set(read_decisions(path)["pair_id"])
        assert set(printed) <= recorded
    assert len(recorded) < 150, "the kills came too late to test anything"
    done = _finish(s)
    assert done.returncode == 0, done.stderr
    df = read_decisions(path)
    assert len(df) == 150 and df["pair_id"].is_unique and df["audit_ok"].all()
    kinds = [k for (k,) in sqlite3.connect(path).execute("SELECT kind FROM audit ORDER BY id")]
    assert kinds.count("decision") == 150 and kinds.count("session_start") == 4


WRITE_BEHIND = """
import sys, time
from reader_app.domain.session import ReadingSession
study = sys.argv[1]
session = ReadingSession.open(study, "r1", "unaided", write_behind=True)
session.choose("left"); session.confirm(); session.settle()  # the first answer, durable
print("saved", session.last_saved.pair_id, flush=True)
store = session.store
real_write = store.write
def slow_write(row, what=""):  # a slow disk: the kill lands before this answer is durable
    time.sleep(60)
    return real_write(row, what)
store.write = slow_write
confirmed = session.current.pair_id
session.choose("right"); session.confirm()
print("shown", session.current.pair_id, "confirmed", confirmed, "saving", session.saving, flush=True)
time.sleep(60)
"""


def test_kill_after_the_next_pair_is_shown_but_before_the_answer_is_durable(tmp_path):
    """Write-behind: a crash between showing the next pair and the answer being on
    disk leaves that answer unrecorded and never claimed saved; resuming shows the same pair."""
    from reader_app.domain.session import ReadingSession

    s = make_study(tmp_path, n_pairs=4, with_images=False)
    proc = subprocess.Popen([sys.executable, "-c", WRITE_BEHIND, str(s.study)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    saved = proc.stdout.readline().split()
    shown = proc.stdout.readline().split()
    assert saved[:1] == ["saved"] and shown[:1] == ["shown"], proc.stderr.read() if proc.poll() is not None else ""
    assert shown[-1] == "True"  # inside the window: next pair on screen, answer still being written
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    path = decisions_path(s.study, "r1")
    assert verify_file(path).ok
    assert list(read_decisions(path)["pair_id"]) == [saved[1]]
    session = ReadingSession.open(s.study, "r1", "unaided")
    try:
        assert session.current.pair_id == shown[3]  # the pair whose answer was in flight, again
        assert session.current.pair_id != shown[1]
    finally:
        session.close()
