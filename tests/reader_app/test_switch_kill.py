"""The reading app killed (SIGKILL) while switching to the next pair: the answer confirmed
last is never lost silently and never claimed saved before it is on disk.

Two moments, in the real window (offscreen): inside the switch, after the answer was handed
to the writer thread and before the next pair is shown; and after the next pair is drawn while
the answer is still being written. In both, the decisions file holds only the earlier answers,
its audit chain verifies, and resuming shows the pair whose answer was in flight again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from study_factory import make_study

from studies.decisions import read_decisions, verify_file
from studies.package import decisions_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

REPO = Path(__file__).resolve().parents[2]

APP = """
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from reader_app.ui.app import create_app
from reader_app.ui.launch import open_reading
study, moment = sys.argv[1], sys.argv[2]
app = create_app([])
screen = open_reading(study, "r1", "unaided")
screen.window.show()
app.processEvents()
session = screen.session

def wait(condition):
    while not condition():
        app.processEvents()
        time.sleep(0.005)

session.choose("left")
screen.reading.confirm()  # the Enter key's path
wait(lambda: not session.saving)
print("saved", session.last_saved.pair_id, flush=True)
store = session.store
real_write = store.write
def slow_write(row, what=""):  # a slow disk: the kill lands before this answer is durable
    time.sleep(60)
    return real_write(row, what)
store.write = slow_write
confirmed = session.current.pair_id
if moment == "before-shown":
    def stuck_load(*args, **kwargs):  # the switch stops here: answer handed over, next pair not shown
        print("inside", confirmed, session.saving, "-", flush=True)
        time.sleep(60)
    screen.hanging.load = stuck_load
session.choose("right")
screen.reading.confirm()
screen.window.repaint()
app.processEvents()
print("inside", confirmed, session.saving, screen.reading._shown_pair, screen.window.saved.text(), flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("moment", ["before-shown", "after-drawn"])
def test_kill_inside_the_switch_shows_the_same_pair_again_on_resume(tmp_path, moment):
    from reader_app.domain.session import ReadingSession

    s = make_study(tmp_path, n_pairs=4)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-c", APP, str(s.study), moment], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        saved = proc.stdout.readline().split()
        inside = proc.stdout.readline().split()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert saved[:1] == ["saved"] and inside[:1] == ["inside"], proc.stderr.read()
    assert inside[2] == "True"  # the answer was handed to the writer, not yet durable
    if moment == "after-drawn":  # the next pair on screen, and the window does not say "saved"
        assert inside[3] not in ("-", inside[1])
        assert " ".join(inside[4:]) == "Saving the previous answer…"
    path = decisions_path(s.study, "r1")
    assert verify_file(path).ok
    assert list(read_decisions(path)["pair_id"]) == [saved[1]]  # only the durable answer
    session = ReadingSession.open(s.study, "r1", "unaided")
    try:
        assert session.current.pair_id == inside[1]  # the pair whose answer was in flight, again
    finally:
        session.close()
