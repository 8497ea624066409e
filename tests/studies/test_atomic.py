"""All-or-nothing writes (studies.atomic)."""

from __future__ import annotations

import os
import stat

import pytest

from studies.atomic import atomic_directory, check_output_dir, write_text_atomic
from studies.errors import OptionError


def test_write_replaces_whole_file_with_ordinary_permissions(tmp_path):
    target = tmp_path / "a" / "manifest.json"
    write_text_atomic(target, "old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["manifest.json"]  # no temporary left
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_failed_directory_build_leaves_nothing(tmp_path):
    dest = tmp_path / "study"
    with pytest.raises(RuntimeError), atomic_directory(dest) as tmp:
        (tmp / "half.nii.gz").write_bytes(b"x")
        raise RuntimeError("killed half-way")
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_directory_appears_complete_and_force_replaces(tmp_path):
    dest = tmp_path / "study"
    with atomic_directory(dest) as tmp:
        (tmp / "one").write_text("1")
    assert (dest / "one").read_text() == "1"
    with atomic_directory(dest, force=True) as tmp:
        (tmp / "two").write_text("2")
    assert sorted(p.name for p in dest.iterdir()) == ["two"]
    assert [p.name for p in tmp_path.iterdir()] == ["study"]


def test_non_empty_output_folder_is_refused_unless_forced(tmp_path):
    (tmp_path / "x").write_text("")
    with pytest.raises(OptionError, match="'out' parameter must be an empty or new folder"):
        check_output_dir(tmp_path, force=False)
    assert check_output_dir(tmp_path, force=True) == tmp_path
