"""``validate``: every problem in a package and its key, and the CLI's exit status."""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest
from builder_cohort import write_csv_cohort

from studies.builder import BuildOptions, build_study
from studies.cli import main
from studies.package import load_manifest
from studies.pairs import SamplingConfig
from studies.validate import validate_study


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("v")
    csv = write_csv_cohort(root / "cohort", n_participants=30)
    build_study(
        csv,
        root / "study",
        root / "key.json",
        BuildOptions(sampling=SamplingConfig(n_pairs=4, seed=1)),
    )
    return root


@pytest.fixture
def study(pristine, tmp_path):
    shutil.copytree(pristine / "study", tmp_path / "study")
    shutil.copy(pristine / "key.json", tmp_path / "key.json")
    return tmp_path / "study", tmp_path / "key.json"


def test_clean_package_cli(study, capsys):
    s, k = study
    assert main(["validate", str(s), "--key", str(k)]) == 0
    assert "OK (key matches)" in capsys.readouterr().out


def test_every_problem_is_reported(study, capsys):
    s, k = study
    m = load_manifest(s)
    cids = sorted(m.cases)
    (s / m.cases[cids[0]].images["cor_iw_tse"]).unlink()  # missing
    trunc = s / m.cases[cids[1]].images["sag_3d_dess"]
    trunc.write_bytes(trunc.read_bytes()[:200])  # truncated gzip
    bad = s / m.cases[cids[2]].images["cor_iw_tse"]
    img = nib.load(bad)
    data = np.asanyarray(img.dataobj)
    leak = nib.Nifti1Image(data, img.affine)
    leak.header["descrip"] = b"9012345 20040101"
    nib.save(leak, bad)  # a header that carries text
    flipped = s / m.cases[cids[3]].images["cor_iw_tse"]
    img = nib.load(flipped)
    nib.save(
        nib.Nifti1Image(np.asanyarray(img.dataobj), np.diag([-1.0, 1, 1, 1]) @ img.affine), flipped
    )  # LAS
    (s / "images" / "9012345_right.nii.gz").write_bytes(b"x")  # stray file
    data = json.loads(k.read_text())
    data["pairs"][0]["stratum"] = "sure"
    k.write_text(json.dumps(data))  # key edited after the build
    problems = validate_study(s, k)
    text = "\n".join(problems)
    assert "is missing" in text
    assert "does not load" in text
    assert "'descrip' is not blank" in text
    assert "oriented LAS" in text
    assert "not referenced by the manifest" in text
    assert "SHA-256" in text and "pairs.0.stratum: 'sure' is not one of" in text
    assert main(["validate", str(s), "--key", str(k)]) == 1
    out = capsys.readouterr().out
    assert out.count("problem:") == len(problems) >= 7


def test_schema_problems_and_wrong_key(study, pristine, tmp_path):
    s, k = study
    data = json.loads((s / "manifest.json").read_text())
    data["pairs"][0]["cases"] = [data["pairs"][0]["cases"][0]] * 2
    data["pairz"] = []
    (s / "manifest.json").write_text(json.dumps(data))
    problems = validate_study(s)
    assert any("two different case ids" in p for p in problems)
    assert any("Did you mean 'pairs'" in p for p in problems)
    other = write_csv_cohort(tmp_path / "c2", n_participants=30, seed=5)
    build_study(
        other,
        tmp_path / "s2",
        tmp_path / "k2.json",
        BuildOptions(sampling=SamplingConfig(n_pairs=4, seed=9)),
    )
    problems = validate_study(pristine / "study", tmp_path / "k2.json")
    assert any("SHA-256" in p for p in problems) and any("study id" in p for p in problems)


def test_key_inside_package_is_flagged(study):
    s, k = study
    shutil.copy(k, s / "key.json")
    problems = validate_study(s, s / "key.json")
    assert any("inside the study package" in p for p in problems)
    assert not any("not referenced" in p for p in problems)  # key.json is not under images/


def test_no_manifest(tmp_path):
    assert "not found" in validate_study(tmp_path)[0]


def test_factory_packages_with_ai_validate(tmp_path):
    """Packages other parts' tests make (tests/study_factory.py) meet the same checks."""
    from study_factory import make_study

    tiny = make_study(tmp_path, n_pairs=3, n_practice=1, with_ai=True)
    assert validate_study(tiny.study, tiny.key) == []
    heat = next((tiny.study / "ai" / "heatmaps").iterdir())
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), np.eye(4)), heat)
    assert any("heatmap shape" in p for p in validate_study(tiny.study))
