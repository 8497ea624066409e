"""The one-writer lock holds against hard links and symlinks to a
decisions file (two writers through two names lost answers, and verify said OK)."""

from __future__ import annotations

import os

import pytest
from study_factory import make_study

from studies.decisions import DecisionStore, ReaderLockedError, verify_file
from studies.decisions.lock import ReaderLock
from studies.errors import InputFileError, StudyError
from studies.package import decisions_path, load_manifest


@pytest.fixture()
def opened(tmp_path):
    tiny = make_study(tmp_path, n_pairs=3, with_images=False)
    manifest = load_manifest(tiny.study)
    path = decisions_path(tiny.study, "r1")
    store = DecisionStore.open(path, "r1", manifest)
    store.session_start("unaided")
    yield store, path, manifest
    store.close()


def test_a_hard_link_made_while_reading_is_refused_to_a_second_writer(opened, tmp_path):
    store, path, manifest = opened
    other = path.with_name("r1-copy.sqlite")
    os.link(path, other)
    with pytest.raises(InputFileError, match="2 hard links"):
        DecisionStore.open(other, "r1", manifest)
    # the first writer's answers stay whole
    op = store.order[0]
    store.commit_decision(op.pair_id, op.left_case, started_at=0.0, decided_at=1.0, active_seconds=1.0)
    assert verify_file(path).ok


def test_a_hard_linked_file_is_refused_even_with_no_writer(opened, tmp_path):
    store, path, manifest = opened
    store.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.link(path, elsewhere / "r1.sqlite")
    for name in (path, elsewhere / "r1.sqlite"):
        with pytest.raises(InputFileError, match="hard links"):
            DecisionStore.open(name, "r1", manifest)


def test_a_symlink_to_a_decisions_file_is_refused_and_shares_its_lock(opened, tmp_path):
    store, path, manifest = opened
    link = tmp_path / "r1.sqlite"
    link.symlink_to(path)
    with pytest.raises(InputFileError, match="symlink"):
        DecisionStore.open(link, "r1", manifest)
    with pytest.raises(ReaderLockedError):
        ReaderLock(link).acquire("r1")


def test_the_same_name_is_still_refused_by_the_lock(opened):
    _, path, manifest = opened
    with pytest.raises(StudyError, match="already reading"):
        DecisionStore.open(path, "r1", manifest)
