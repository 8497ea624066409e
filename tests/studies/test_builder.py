"""Building a study package and key from a (plain-CSV) cohort."""

from __future__ import annotations

import json
from collections import Counter

import nibabel as nib
import numpy as np
import pytest
from builder_cohort import write_csv_cohort

from studies.builder import BuildOptions, build_study
from studies.errors import OptionError
from studies.package import load_key, load_manifest, verify_key
from studies.pairs import SamplingConfig, SamplingError
from studies.plan import plan_study
from studies.progress import Progress
from studies.validate import validate_study


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("b")
    csv = write_csv_cohort(root / "cohort")
    opts = BuildOptions(sampling=SamplingConfig(n_pairs=10, practice=2, seed=3), confidence=0)
    states = []
    res = build_study(csv, root / "study", root / "key.json", opts, progress=Progress(states.append))
    assert states[-1].fraction == 1.0
    return res, [(s.done, s.total) for s in states if s.text == "converting images" and s.total]


def test_build_writes_package_and_key(built):
    res, seen = built
    assert seen[0] == (0, 48) and seen[-1] == (48, 48)  # 12 pairs x 2 cases x 2 sequences
    m = load_manifest(res.study)
    assert len(m.pairs) == 10 and len(m.practice_pairs) == 2 and m.confidence_scale is None
    key = load_key(res.key)
    verify_key(res.study, res.key)
    assert key["study_id"] == m.study_id
    assert Counter(p["stratum"] for p in key["pairs"]) == {
        "almost_certain": 1,
        "likely": 8,
        "doubtful": 1,
    }
    assert key["build"]["seed"] == 3 and key["build"]["bounds_mm"] == [-1.1, -0.6, -0.5]
    for p in key["pairs"] + key["practice_pairs"]:
        assert p["jsn_mm"] < -0.5 < p["non_progressor_jsn_mm"]
        assert p["progressor_source"]["visit"] == "00m"
    sources = [
        (p[f"{r}_source"]["participant_id"], p[f"{r}_source"]["side"])
        for p in key["pairs"] + key["practice_pairs"]
        for r in ("progressor", "non_progressor")
    ]
    assert len(sources) == len(set(sources)) == 24  # each knee at most once
    assert not set(p.pair_id for p in m.practice_pairs) & set(p.pair_id for p in m.pairs)
    assert validate_study(res.study, res.key) == []
    assert (res.study / "decisions").is_dir()
    assert sorted(f.name for f in res.study.iterdir()) == ["decisions", "images", "manifest.json"]


def test_images_oriented_and_right_knees_mirrored(built):
    res, _ = built
    key = load_key(res.key)
    side = {}
    for p in key["pairs"]:
        side[p["progressor"]] = p["progressor_source"]["side"]
        side[p["non_progressor"]] = p["non_progressor_source"]["side"]
    m = load_manifest(res.study)
    for cid, s in side.items():
        img = nib.load(res.study / m.cases[cid].images["cor_iw_tse"])
        data = np.asanyarray(img.dataobj)
        assert nib.aff2axcodes(img.affine) == ("R", "A", "S") and data.shape == (24, 5, 20)
        # the marker voxel sat at the source's first x voxel: RAS left source -> x=0;
        # a LAS right source -> x=-1 in RAS, then mirrored back to x=0: both sides alike
        assert data[0, 0, 0] == 3000, (cid, s)
        sag = nib.load(res.study / m.cases[cid].images["sag_3d_dess"])
        assert sag.shape == (8, 24, 20) and sag.get_data_dtype() == np.int16


def test_clinical_values_shown(built):
    res, _ = built
    m = load_manifest(res.study)
    for c in m.cases.values():
        assert set(c.clinical) == {
            "age",
            "sex",
            "bmi",
            "height_m",
            "weight_kg",
            "min_medial_jsw_mm",
        }
        assert c.clinical["sex"] in ("F", "M") and 1.4 < c.clinical["height_m"] < 2.0


def test_seeded_and_reproducible(tmp_path):
    csv = write_csv_cohort(tmp_path / "c", n_participants=30)
    opts = BuildOptions(sampling=SamplingConfig(n_pairs=4, seed=11))
    a = build_study(csv, tmp_path / "s1", tmp_path / "k1.json", opts)
    b = build_study(csv, tmp_path / "s2", tmp_path / "k2.json", opts)
    assert (tmp_path / "k1.json").read_bytes() == (tmp_path / "k2.json").read_bytes()
    assert a.manifest.to_json() == b.manifest.to_json()
    c = build_study(
        csv,
        tmp_path / "s3",
        tmp_path / "k3.json",
        BuildOptions(sampling=SamplingConfig(n_pairs=4, seed=12)),
    )
    assert c.manifest.study_id != a.manifest.study_id


def test_refuses_key_inside_package_and_existing_out(tmp_path):
    csv = write_csv_cohort(tmp_path / "c", n_participants=30)
    opts = BuildOptions(sampling=SamplingConfig(n_pairs=4))
    with pytest.raises(OptionError, match="outside the study package"):
        build_study(csv, tmp_path / "s", tmp_path / "s" / "key.json", opts)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "x").write_text("x")
    with pytest.raises(OptionError, match="--force"):
        build_study(csv, tmp_path / "s", tmp_path / "k.json", opts)
    assert not (tmp_path / "k.json").exists()


def test_too_small_cohort_fails_with_counts_and_writes_nothing(tmp_path):
    csv = write_csv_cohort(tmp_path / "c", n_participants=30)
    with pytest.raises(SamplingError) as exc:
        build_study(csv, tmp_path / "s", tmp_path / "k.json", BuildOptions())
    msg = str(exc.value)
    assert "likely" in msg and "130" in msg and "too few" in msg
    assert not (tmp_path / "s").exists() and not (tmp_path / "k.json").exists()


def test_failed_conversion_leaves_nothing(tmp_path):
    csv = write_csv_cohort(tmp_path / "c", n_participants=30)
    (tmp_path / "c" / "images" / "src_left_sag.nii.gz").write_bytes(b"not a nifti")
    with pytest.raises(Exception, match="src_left_sag"):
        build_study(
            csv,
            tmp_path / "s",
            tmp_path / "k.json",
            BuildOptions(sampling=SamplingConfig(n_pairs=4)),
        )
    assert not (tmp_path / "s").exists() and not (tmp_path / "k.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s")]


def test_plan_ids_are_random_tokens(built):
    res, _ = built
    key = json.loads(res.key.read_text())
    for cid in load_manifest(res.study).cases:
        assert len(cid) == 7 and cid[0] == "K" and cid[1:].isalnum() and cid[1:].upper() == cid[1:]
    assert plan_study([], 0).pairs == []
    assert key["study_id"].startswith("S")
