"""Collecting decisions files from several workstations (studies.decisions.merge)."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from study_factory import make_study

from studies.decisions import DecisionStore, verify_file
from studies.decisions.merge import merge_decisions
from studies.decisions.simulate import simulate_reader
from studies.package import decisions_path, load_manifest


@pytest.fixture()
def central(tmp_path):
    """The coordinator's study, and two workstations holding copies of the package."""
    tiny = make_study(tmp_path / "central", n_pairs=6, with_images=False)
    stations = {}
    for name in ("wsA", "wsB"):
        dest = tmp_path / name / "study"
        shutil.copytree(tiny.study, dest)
        stations[name] = dest
    return tiny, stations


def _read(study, key, reader, *, seed, n=None):
    """Answer ``n`` pairs (all when None) as ``reader`` in ``study``."""
    if n is None:
        simulate_reader(study, key, reader, 0.7, seed=seed)
        return decisions_path(study, reader)
    manifest = load_manifest(study)
    with DecisionStore.open(decisions_path(study, reader), reader, manifest) as store:
        store.session_start("unaided", simulated=True)  # simulate_reader may finish it
        for op in store.order[:n]:
            store.commit_decision(op.pair_id, op.left_case, started_at=0.0, decided_at=1.0, active_seconds=1.0)
        store.session_stop()
    return decisions_path(study, reader)


def test_two_readers_from_two_workstations_are_collected(central):
    tiny, ws = central
    a = _read(ws["wsA"], tiny.key, "r1", seed=1)
    b = _read(ws["wsB"], tiny.key, "r2", seed=2)
    items = merge_decisions(tiny.study, [a, b])
    assert [i.status for i in items] == ["new", "new"]
    for reader in ("r1", "r2"):
        path = decisions_path(tiny.study, reader)
        assert verify_file(path).ok
        assert not path.with_name(path.name + "-wal").exists()
    # Collecting the same files again changes nothing.
    again = merge_decisions(tiny.study, [a, b])
    assert [i.status for i in again] == ["duplicate", "duplicate"]


def test_a_continued_file_updates_and_an_earlier_copy_is_ignored(central, tmp_path):
    tiny, ws = central
    partial = _read(ws["wsA"], tiny.key, "r1", seed=1, n=2)
    snapshot = tmp_path / "usb" / "r1.sqlite"
    snapshot.parent.mkdir()
    shutil.copy(partial, snapshot)
    assert merge_decisions(tiny.study, [snapshot])[0].status == "new"
    full = _read(ws["wsA"], tiny.key, "r1", seed=1)  # the reader finishes the study
    item = merge_decisions(tiny.study, [full])[0]
    assert item.status == "update"
    collected = decisions_path(tiny.study, "r1")
    with sqlite3.connect(collected) as conn:
        n = conn.execute("SELECT count(*) FROM audit WHERE kind='decision'").fetchone()[0]
    assert n == 6
    assert merge_decisions(tiny.study, [snapshot])[0].status == "older"


def test_same_reader_on_two_machines_is_a_conflict_that_overwrites_nothing(central):
    tiny, ws = central
    a = _read(ws["wsA"], tiny.key, "r1", seed=1)
    b = _read(ws["wsB"], tiny.key, "r1", seed=99)
    first, second = merge_decisions(tiny.study, [a, b])
    assert first.status == "new"
    assert second.status == "conflict"
    assert "two machines" in second.detail
    assert second.target is not None and second.target.parent.name == "conflicts"
    assert second.target.exists()
    # The collected file is still workstation A's.
    collected = decisions_path(tiny.study, "r1")
    assert merge_decisions(tiny.study, [a])[0].status == "duplicate"
    assert verify_file(collected).ok
    # Differences list every pair answered differently, and only those.
    for d in second.differences:
        assert d["existing"] != d["incoming"]


def test_broken_or_foreign_files_are_refused(central, tmp_path):
    tiny, ws = central
    a = _read(ws["wsA"], tiny.key, "r1", seed=1)
    tampered = tmp_path / "tampered.sqlite"
    shutil.copy(a, tampered)
    with sqlite3.connect(tampered) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET ts = '2020-01-01T00:00:00Z' WHERE id = 2")
    other = make_study(tmp_path / "other", n_pairs=3, with_images=False, seed=5)
    foreign = _read(other.study, other.key, "r9", seed=3)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 10)
    items = merge_decisions(tiny.study, [tampered, foreign, junk])
    assert [i.status for i in items] == ["invalid"] * 3
    assert "broken" in items[0].detail
    assert "another study" in items[1].detail
    assert not decisions_path(tiny.study, "r1").exists()
    assert not decisions_path(tiny.study, "r9").exists()


def test_dry_run_writes_nothing(central):
    tiny, ws = central
    a = _read(ws["wsA"], tiny.key, "r1", seed=1)
    items = merge_decisions(tiny.study, [a], dry_run=True)
    assert items[0].status == "new"
    assert not decisions_path(tiny.study, "r1").exists()


def test_merge_cli_reports_each_file_and_fails_on_conflict(central, capsys):
    from studies.cli import main

    tiny, ws = central
    a = _read(ws["wsA"], tiny.key, "r1", seed=1)
    b = _read(ws["wsB"], tiny.key, "r1", seed=99)
    assert main(["merge-decisions", str(tiny.study), str(a)]) == 0
    assert main(["merge-decisions", str(tiny.study), str(b)]) == 1
    out = capsys.readouterr().out
    assert "new" in out and "conflict" in out and "kept aside" in out


_KILLED_READER = r"""
import os, sys
from studies.decisions import DecisionStore
from studies.package import decisions_path, load_manifest
study = sys.argv[1]
store = DecisionStore.open(decisions_path(study, "r1"), "r1", load_manifest(study))
store.session_start("unaided", simulated=True)
for op in store.order[:2]:
    store.commit_decision(op.pair_id, op.left_case, started_at=0.0, decided_at=1.0, active_seconds=1.0)
os._exit(0)  # killed: the WAL is never checkpointed
"""


def test_update_over_a_file_left_with_a_wal_loses_nothing(central, tmp_path):
    """The reader's app was killed here (r1.sqlite-wal left beside r1.sqlite), they carried
    both files to another machine and finished there. Collecting that file must give the
    whole reading: a stale -wal next to the replaced file would be read over it."""
    import subprocess
    import sys

    tiny, ws = central
    subprocess.run([sys.executable, "-c", _KILLED_READER, str(tiny.study)], check=True)
    collected = decisions_path(tiny.study, "r1")
    assert collected.with_name("r1.sqlite-wal").exists()
    shutil.rmtree(ws["wsA"])
    shutil.copytree(tiny.study, ws["wsA"])  # the files, WAL included, go to workstation A
    full = _read(ws["wsA"], tiny.key, "r1", seed=1)
    item = merge_decisions(tiny.study, [full])[0]
    assert item.status == "update"
    report = verify_file(collected)
    assert report.ok and report.head == verify_file(full).head
    with DecisionStore.open(collected, "r1", load_manifest(tiny.study)) as store:
        assert len(store.answered_pair_ids()) == 6
    assert verify_file(collected).head == verify_file(full).head


def test_an_intact_original_repairs_a_broken_collected_copy(central):
    """The collected copy was changed after collection; the reader's original is intact.
    Merging the original must not call it 'identical to the file already collected' (the
    hashes match, the rows do not): it replaces the broken copy, which is kept aside."""
    tiny, ws = central
    original = _read(ws["wsA"], tiny.key, "r1", seed=1)
    assert merge_decisions(tiny.study, [original])[0].status == "new"
    collected = decisions_path(tiny.study, "r1")
    with sqlite3.connect(collected) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET ts = '2020-01-01T00:00:00Z' WHERE id = 2")
    assert not verify_file(collected).ok
    item = merge_decisions(tiny.study, [original])[0]
    assert item.status == "update" and "broken" in item.detail
    assert verify_file(collected).ok and verify_file(collected).head == verify_file(original).head
    kept = list((collected.parent / "conflicts").glob("r1@*.sqlite"))
    assert len(kept) == 1 and not verify_file(kept[0]).ok


def test_an_unreadable_collected_file_neither_blocks_merging_nor_is_lost(central):
    """decisions/r2.sqlite is a half copy: collecting r1 still works, and collecting r2's
    intact original replaces the damaged file, which is kept aside."""
    tiny, ws = central
    damaged = decisions_path(tiny.study, "r2")
    damaged.parent.mkdir(exist_ok=True)
    damaged.write_bytes(b"half a copy" * 10)
    a = _read(ws["wsA"], tiny.key, "r1", seed=1)
    b = _read(ws["wsB"], tiny.key, "r2", seed=2)
    items = merge_decisions(tiny.study, [a, b])
    assert [i.status for i in items] == ["new", "update"]
    assert verify_file(damaged).ok
    kept = list((damaged.parent / "conflicts").glob("r2@broken-*.sqlite"))
    assert len(kept) == 1 and kept[0].read_bytes() == b"half a copy" * 10


def test_a_missing_file_is_reported_once_by_name(central, capsys):
    from studies.cli import main

    tiny, _ = central
    missing = tiny.study.parent / "nowhere.sqlite"
    assert main(["merge-decisions", str(tiny.study), str(missing)]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    assert line.count(str(missing)) == 1 and "not found" in line
