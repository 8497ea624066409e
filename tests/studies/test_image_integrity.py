"""The manifest records each image's SHA-256 (and the AI files'); validate
checks them and the reader app refuses a changed file with a message. Version 1 manifests
(no hashes) stay readable."""

from __future__ import annotations

import json
import shutil

import pytest
from study_factory import make_study

from reader_app.domain.volumes import load_knee
from studies.integrity import record_ai_hashes
from studies.package import SCHEMA_VERSION, load_manifest
from studies.validate import validate_study


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("pristine"), n_pairs=2, with_ai=True)


@pytest.fixture()
def study(pristine, tmp_path):
    shutil.copytree(pristine.study, tmp_path / "study")
    return tmp_path / "study"


def _flip_bit(path, offset_fraction=0.5, bit=3):
    data = bytearray(path.read_bytes())
    i = int(len(data) * offset_fraction)
    data[i] ^= 1 << bit
    path.write_bytes(bytes(data))


def test_new_manifests_record_every_image_hash(study):
    m = load_manifest(study)
    assert m.schema_version == SCHEMA_VERSION == 2
    for case in m.cases.values():
        assert set(case.image_sha256) == set(case.images)
    assert validate_study(study) == []


@pytest.mark.parametrize("where", [0.3, 0.5, 0.9])
def test_a_single_bit_flip_is_reported_by_validate_and_refused_by_the_app(study, where):
    m = load_manifest(study)
    cid = sorted(m.cases)[0]
    path = study / m.cases[cid].images["sag_3d_dess"]
    _flip_bit(path, where)
    problems = validate_study(study)
    assert any("has changed since it was recorded" in p and cid in p for p in problems), problems
    knee = load_knee(study, m.cases[cid], m.sequences)
    assert "sag_3d_dess" not in knee.volumes
    assert "changed" in knee.problems["sag_3d_dess"]
    assert "cor_iw_tse" in knee.volumes  # the untouched sequence still shows


def test_a_swapped_image_is_refused(study):
    m = load_manifest(study)
    a, b = sorted(m.cases)[:2]
    shutil.copy(study / m.cases[b].images["cor_iw_tse"], study / m.cases[a].images["cor_iw_tse"])
    knee = load_knee(study, m.cases[a], m.sequences)
    assert "changed" in knee.problems["cor_iw_tse"]


def test_a_version_1_manifest_without_hashes_stays_readable(study):
    data = json.loads((study / "manifest.json").read_text())
    data["schema_version"] = 1
    for c in data["cases"].values():
        c.pop("image_sha256")
    (study / "manifest.json").write_text(json.dumps(data))
    m = load_manifest(study)
    assert m.schema_version == 1 and all(not c.image_sha256 for c in m.cases.values())
    assert validate_study(study) == []
    cid = sorted(m.cases)[0]
    assert not load_knee(study, m.cases[cid], m.sequences).problems


def test_a_version_2_manifest_must_carry_every_hash(study):
    data = json.loads((study / "manifest.json").read_text())
    cid = sorted(data["cases"])[0]
    data["cases"][cid]["image_sha256"].pop("cor_iw_tse")
    (study / "manifest.json").write_text(json.dumps(data))
    assert any("image_sha256" in p for p in validate_study(study))


def test_ai_files_are_recorded_and_checked(study):
    m = record_ai_hashes(study)
    assert "ai/scores.csv" in m.ai_sha256 and any("heatmaps" in k for k in m.ai_sha256)
    assert validate_study(study) == []
    cid = sorted(m.cases)[0]
    heat = study / "ai" / "heatmaps" / f"{cid}_cor_iw_tse.nii.gz"
    _flip_bit(heat)
    problems = validate_study(study)
    assert any("heatmaps" in p and "changed" in p for p in problems), problems
    knee = load_knee(study, m.cases[cid], m.sequences, heatmaps=True, ai_sha256=m.ai_sha256)
    assert "cor_iw_tse" in knee.volumes and "changed" in knee.heatmap_problems["cor_iw_tse"]
    (study / "ai" / "heatmaps" / "K00000_cor_iw_tse.nii.gz").write_bytes(b"x")
    assert any("not recorded" in p for p in validate_study(study))
