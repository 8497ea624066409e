"""Chain heads recorded beside the key by collect and analyze catch what
the chain alone cannot: a copy cut short, an older copy put back, a rewrite with every hash
recomputed (the file then verifies)."""

from __future__ import annotations

import json
import shutil

import pytest
from forge import forge
from study_factory import make_study

from studies.analysis import analyze_study
from studies.cli import main
from studies.decisions import DecisionStore, verify_file
from studies.decisions.heads import heads_path, load_heads
from studies.decisions.merge import merge_decisions
from studies.errors import StudyError
from studies.package import decisions_path, load_manifest


def _answer(study, reader, n, *, start=0):
    manifest = load_manifest(study)
    with DecisionStore.open(decisions_path(study, reader), reader, manifest) as store:
        store.session_start("unaided")
        for op in store.order[start:start + n]:
            store.commit_decision(op.pair_id, op.left_case, started_at=0.0, decided_at=1.0, active_seconds=1.0)
        store.session_stop()
    return decisions_path(study, reader)


@pytest.fixture()
def read(tmp_path):
    tiny = make_study(tmp_path, n_pairs=6, with_images=False)
    early = tmp_path / "early-copy.sqlite"
    path = _answer(tiny.study, "r1", 3)
    shutil.copy(path, early)
    _answer(tiny.study, "r1", 3, start=3)
    _answer(tiny.study, "r2", 6)
    return tiny, path, early


def _analyze(tiny):
    return analyze_study(tiny.study, tiny.key, n_boot=50)


def test_analyze_records_heads_beside_the_key(read):
    tiny, path, _ = read
    _analyze(tiny)
    heads = load_heads(tiny.key)
    assert heads_path(tiny.key).parent == tiny.key.parent
    assert heads["readers"]["r1"]["rows"] == verify_file(path).rows
    assert heads["readers"]["r1"]["head"] == verify_file(path).head


def test_a_truncated_file_is_refused_after_its_head_was_recorded(read):
    tiny, path, _ = read
    _analyze(tiny)
    forge(path, keep_rows=verify_file(path).rows - 2)
    assert verify_file(path).ok  # the chain alone cannot tell
    with pytest.raises(StudyError, match="fewer than"):
        _analyze(tiny)


def test_an_older_copy_put_back_is_refused(read):
    tiny, path, early = read
    _analyze(tiny)
    shutil.copy(early, path)
    assert verify_file(path).ok
    with pytest.raises(StudyError, match="older copy"):
        _analyze(tiny)


def test_a_rewrite_with_recomputed_hashes_is_refused(read):
    tiny, path, _ = read
    _analyze(tiny)
    manifest = load_manifest(tiny.study)
    other = {c: next(x for x in manifest.pair(pid).cases if x != c)
             for pid in [p.pair_id for p in manifest.pairs] for c in manifest.pair(pid).cases}

    def flip(row_id, kind, payload):
        if kind == "decision":
            payload = {**payload, "chosen_case": other[payload["chosen_case"]]}
        return payload

    forge(path, payload_edit=flip)
    assert verify_file(path).ok
    with pytest.raises(StudyError, match="rewritten below a recorded head"):
        _analyze(tiny)


def test_a_file_that_continues_its_record_is_accepted_and_recorded(read):
    tiny, path, _ = read
    shutil.copy(path, path.with_name("tmp.bin"))
    _analyze(tiny)
    before = load_heads(tiny.key)["readers"]["r1"]["rows"]
    manifest = load_manifest(tiny.study)
    with DecisionStore.open(path, "r1", manifest) as store:
        store.flag(store.order[0].pair_id, "blurry")
    path.with_name("tmp.bin").unlink()
    _analyze(tiny)
    assert load_heads(tiny.key)["readers"]["r1"]["rows"] == before + 1


def test_collect_with_the_key_refuses_an_older_copy(read, tmp_path):
    tiny, path, early = read
    central = tmp_path / "central"
    shutil.copytree(tiny.study, central / "study")
    shutil.rmtree(central / "study" / "decisions")
    key = central / "key.json"
    shutil.copy(tiny.key, key)
    items = merge_decisions(central / "study", [path], key=key)
    assert [i.status for i in items] == ["new"]
    assert load_heads(key)["readers"]["r1"]["head"] == verify_file(path).head
    decisions_path(central / "study", "r1").unlink()  # the collected file is lost or removed
    items = merge_decisions(central / "study", [early], key=key)
    assert items[0].status == "invalid" and "fewer than" in items[0].detail


def test_merge_cli_takes_the_key(read, tmp_path, capsys):
    tiny, path, _ = read
    central = tmp_path / "c"
    shutil.copytree(tiny.study, central / "study")
    shutil.rmtree(central / "study" / "decisions")
    shutil.copy(tiny.key, central / "key.json")
    assert main(["merge-decisions", str(central / "study"), str(path), "--key", str(central / "key.json")]) == 0
    assert "r1" in json.loads(heads_path(central / "key.json").read_text())["readers"]


def test_a_damaged_heads_record_is_a_clean_error(read):
    tiny, _, _ = read
    heads_path(tiny.key).write_text('{"format": "knee-decisions-heads", "version": 1, "readers": {"r1": {"rows": "3"}}}')
    with pytest.raises(StudyError, match="chain-heads"):
        _analyze(tiny)
