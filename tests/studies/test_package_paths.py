"""Every path a manifest names stays inside the package, and no file is
ever written outside ``decisions/`` (validate, the reader app's loading, merge-decisions)."""

from __future__ import annotations

import json
import shutil

import pytest
from forge import forge
from study_factory import make_study

from reader_app.domain.volumes import load_knee, load_sequence
from studies.decisions.merge import merge_decisions
from studies.decisions.simulate import simulate_reader
from studies.errors import InputFileError
from studies.package import decisions_path, load_manifest
from studies.package_paths import package_file, relative_path_problem
from studies.validate import validate_study


@pytest.fixture()
def tiny(tmp_path):
    return make_study(tmp_path, n_pairs=2)


def _set_image(study, rel):
    data = json.loads((study / "manifest.json").read_text())
    cid = sorted(data["cases"])[0]
    data["cases"][cid]["images"]["cor_iw_tse"] = rel
    (study / "manifest.json").write_text(json.dumps(data))
    return cid


@pytest.mark.parametrize("rel", ["/etc/passwd", "images/../../outside.nii.gz", "../x.nii.gz",
                                 "images\\x.nii.gz", "C:/x.nii.gz", "x.nii.gz", "images/./a.nii.gz",
                                 "", 7, None])
def test_unsafe_manifest_paths_are_refused_by_the_schema(rel):
    assert relative_path_problem(rel, "images") is not None


def test_absolute_and_dotdot_paths_fail_load_and_validate(tiny, tmp_path):
    outside = tmp_path / "outside.nii.gz"
    shutil.copy(next((tiny.study / "images").iterdir()), outside)
    for rel in (str(outside), "images/../../outside.nii.gz"):
        _set_image(tiny.study, rel)
        with pytest.raises(InputFileError, match="image path"):
            load_manifest(tiny.study)
        problems = validate_study(tiny.study)
        assert any("image path" in p and "cor_iw_tse" in p for p in problems), problems


def test_a_symlink_leaving_images_is_refused_by_validate_and_by_the_app(tiny, tmp_path):
    manifest = load_manifest(tiny.study)
    cid = sorted(manifest.cases)[0]
    target = tiny.study / manifest.cases[cid].images["cor_iw_tse"]
    outside = tmp_path / "elsewhere.nii.gz"
    shutil.move(target, outside)
    target.symlink_to(outside)
    problems = validate_study(tiny.study)
    assert any("leads outside" in p and cid in p for p in problems), problems
    with pytest.raises(InputFileError, match="leads outside"):
        load_sequence(tiny.study, manifest.cases[cid], "cor_iw_tse")
    knee = load_knee(tiny.study, manifest.cases[cid])
    assert "cor_iw_tse" not in knee.volumes and "outside" in knee.problems["cor_iw_tse"]
    assert "sag_3d_dess" in knee.volumes  # the other sequence still shows


def test_a_symlink_inside_images_is_allowed(tiny):
    manifest = load_manifest(tiny.study)
    cid = sorted(manifest.cases)[0]
    target = tiny.study / manifest.cases[cid].images["cor_iw_tse"]
    real = target.with_name("real_" + target.name)
    shutil.move(target, real)
    target.symlink_to(real.name)
    assert package_file(tiny.study, manifest.cases[cid].images["cor_iw_tse"], "images") == target
    assert load_sequence(tiny.study, manifest.cases[cid], "cor_iw_tse").n_slices > 0


def test_a_symlinked_images_folder_is_refused(tiny, tmp_path):
    moved = tmp_path / "images-elsewhere"
    shutil.move(tiny.study / "images", moved)
    (tiny.study / "images").symlink_to(moved)
    manifest = load_manifest(tiny.study)
    cid = sorted(manifest.cases)[0]
    with pytest.raises(InputFileError, match="leads outside"):
        load_sequence(tiny.study, manifest.cases[cid], "cor_iw_tse")


@pytest.mark.parametrize("cid", ["../K1", "K/1", "K_1", "", "K" * 65])
def test_case_ids_that_would_name_other_files_are_refused(tiny, cid):
    data = json.loads((tiny.study / "manifest.json").read_text())
    old = sorted(data["cases"])[0]
    data["cases"][cid] = data["cases"].pop(old)
    for group in ("pairs", "practice_pairs"):
        for p in data.get(group, []):
            p["cases"] = [cid if c == old else c for c in p["cases"]]
    (tiny.study / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(InputFileError, match="case id"):
        load_manifest(tiny.study)


# -- merge-decisions never writes outside decisions/ --------------------------------------


@pytest.fixture()
def station(tmp_path):
    tiny = make_study(tmp_path / "central", n_pairs=3, with_images=False)
    ws = tmp_path / "ws" / "study"
    shutil.copytree(tiny.study, ws)
    simulate_reader(ws, tiny.key, "r1", 0.7, seed=1)
    return tiny, decisions_path(ws, "r1")


@pytest.mark.parametrize("rid", ["../../victim", "../r1", "/tmp/x", "a/b", ".hidden", ""])
def test_merge_refuses_a_file_whose_reader_id_would_leave_decisions(station, tmp_path, rid):
    tiny, source = station
    victim = tmp_path / "victim.sqlite"
    victim.write_bytes(b"precious")
    forged = tmp_path / "forged.sqlite"
    shutil.copy(source, forged)
    forge(forged, meta={"reader_id": rid})  # the chain verifies: only the id gives it away
    before = sorted(p for p in tmp_path.rglob("*"))
    items = merge_decisions(tiny.study, [forged])
    assert [i.status for i in items] == ["invalid"]
    assert "reader id" in items[0].detail
    assert victim.read_bytes() == b"precious"
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_merge_refuses_a_symlinked_decisions_folder(station, tmp_path):
    tiny, source = station
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tiny.study / "decisions").symlink_to(elsewhere)
    items = merge_decisions(tiny.study, [source])
    assert [i.status for i in items] == ["invalid"]
    assert "symlink" in items[0].detail
    assert list(elsewhere.iterdir()) == []


def test_merge_refuses_a_target_that_is_a_symlink(station, tmp_path):
    tiny, source = station
    victim = tmp_path / "victim.sqlite"
    victim.write_bytes(b"precious")
    (tiny.study / "decisions").mkdir()
    decisions_path(tiny.study, "r1").symlink_to(victim)
    items = merge_decisions(tiny.study, [source])
    assert items[0].status == "invalid" and "symlink" in items[0].detail
    assert victim.read_bytes() == b"precious"


def test_merge_refuses_another_studys_file_even_with_an_intact_chain(station, tmp_path):
    tiny, source = station
    forged = tmp_path / "forged.sqlite"
    shutil.copy(source, forged)
    forge(forged, meta={"study_id": "SOTHER01"})
    items = merge_decisions(tiny.study, [forged])
    assert items[0].status == "invalid" and "another study" in items[0].detail


def test_a_collected_file_naming_another_reader_is_replaceable_not_trusted(station, tmp_path):
    tiny, source = station
    (tiny.study / "decisions").mkdir()
    imposter = decisions_path(tiny.study, "r1")
    shutil.copy(source, imposter)
    forge(imposter, meta={"reader_id": "r2"})
    items = merge_decisions(tiny.study, [source])
    assert items[0].status == "update" and "names reader 'r2'" in items[0].detail
    assert list((tiny.study / "decisions" / "conflicts").glob("r1@broken-*.sqlite"))
