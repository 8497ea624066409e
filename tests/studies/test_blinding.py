"""Blinding: nothing in a built package reveals which case progressed or where it came from."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pandas as pd
import pytest
from blinding_check import find_leaks
from builder_cohort import write_csv_cohort
from scipy import stats

from studies.builder import BuildOptions, build_study
from studies.package import STRATA, load_manifest
from studies.pairs import SamplingConfig, SelectedPair
from studies.plan import plan_study

CASE_FILE = re.compile(r"^K[A-Z2-7]{6}_(cor_iw_tse|sag_3d_dess)\.nii\.gz$")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("blind")
    csv = write_csv_cohort(root / "cohort", n_participants=60)
    opts = BuildOptions(sampling=SamplingConfig(n_pairs=16, practice=2, seed=4))
    res = build_study(csv, root / "study", root / "key.json", opts)
    return res, pd.read_csv(csv, dtype=str)


def label_needles(key: dict) -> set[str]:
    """Source ids and label values exactly as the key writes them."""
    needles = set(STRATA) | {"progressor", "stratum"}
    for p in key["pairs"] + key["practice_pairs"]:
        needles.add(json.dumps(p["jsn_mm"]))
        needles.add(json.dumps(p["non_progressor_jsn_mm"]))
        for role in ("progressor_source", "non_progressor_source"):
            needles.add(p[role]["participant_id"])
    return needles


def test_no_source_id_or_label_in_any_byte(built):
    res, cohort = built
    key = json.loads(res.key.read_text())
    needles = label_needles(key) | set(cohort["patient_id"])  # every participant of the cohort
    needles |= {key["build"]["cohort"], "cohort.csv", "src_left", "src_right"}
    assert find_leaks(res.study, needles) == []


def test_the_search_finds_a_planted_leak(built, tmp_path):
    """The search is not vacuous: a JSN written into a header or a file is found."""
    import shutil

    import nibabel as nib

    res, _ = built
    study = tmp_path / "s"
    shutil.copytree(res.study, study)
    key = json.loads(res.key.read_text())
    jsn = json.dumps(key["pairs"][0]["jsn_mm"])
    pid = key["pairs"][0]["progressor_source"]["participant_id"]
    f = next((study / "images").iterdir())
    img = nib.load(f)
    img = nib.Nifti1Image(np.asanyarray(img.dataobj), img.affine)
    img.header["descrip"] = f"jsn {jsn}".encode()
    nib.save(img, f)
    (study / "decisions" / "notes.txt").write_text(f"reader saw {pid}")
    g = sorted((study / "images").iterdir())[1]
    body = gzip.decompress(g.read_bytes())
    with open(g, "wb") as fh, gzip.GzipFile(filename=f"{pid}.nii", mode="wb", fileobj=fh) as gz:
        gz.write(body)  # gzip stores the file name in its header
    hits = find_leaks(study, label_needles(key))
    assert (str(f), jsn) in hits and (str(study / "decisions" / "notes.txt"), pid) in hits
    assert (str(g), pid) in hits


def test_file_names_and_ids_carry_nothing(built, tmp_path):
    res, _ = built
    names = [p.name for p in (res.study / "images").iterdir()]
    assert names and all(CASE_FILE.match(n) for n in names)
    m = load_manifest(res.study)
    assert [p.pair_id for p in m.pairs] == [f"P{i:03d}" for i in range(1, 17)]
    # the same knee gets unrelated ids under another seed
    key1 = json.loads(res.key.read_text())
    res2 = build_study(
        res.study.parent / "cohort" / "cohort.csv",
        tmp_path / "s2",
        tmp_path / "k2.json",
        BuildOptions(sampling=SamplingConfig(n_pairs=16, practice=2, seed=5)),
    )
    key2 = json.loads(res2.key.read_text())

    def ids(k):
        return {
            (p[f"{r}_source"]["participant_id"], p[f"{r}_source"]["side"]): p[r]
            for p in k["pairs"]
            for r in ("progressor", "non_progressor")
        }

    i1, i2 = ids(key1), ids(key2)
    common = set(i1) & set(i2)
    assert all(i1[k] != i2[k] for k in common)


def _fake_selection(n: int, rng: np.random.Generator) -> list[SelectedPair]:
    pairs = []
    for i in range(n):
        stratum = STRATA[0] if i < n // 15 else STRATA[2] if i >= n - n // 15 else STRATA[1]
        row = {
            "participant_id": f"9{i:06d}",
            "side": "left",
            "age": 60.0,
            "sex": "F",
            "bmi": 25.0,
            "height_m": 1.7,
            "weight_kg": 70.0,
            "jsw_mm": 4.0,
            "cor_iw_tse": "c",
            "sag_3d_dess": "s",
        }
        jsn = -1.3 if stratum == STRATA[0] else -0.8 if stratum == STRATA[1] else -0.55
        pairs.append(
            SelectedPair(
                {**row, "jsn_mm": jsn - i * 1e-4}, {**row, "side": "right", "jsn_mm": 0.1}, stratum
            )
        )
    return pairs


def test_progressor_position_balanced_and_random():
    rng = np.random.default_rng(0)
    first, id_before, positions, jsns = [], [], [], []
    for seed in range(20):
        plan = plan_study(_fake_selection(150, rng), seed)
        prog = {e["pair_id"]: e for e in plan.key_pairs}
        for pos, p in enumerate(plan.pairs):
            e = prog[p.pair_id]
            first.append(p.cases[0] == e["progressor"])
            id_before.append(e["progressor"] < e["non_progressor"])
            positions.append(pos)
            jsns.append(e["jsn_mm"])
    n = len(first)
    # balanced: binomial test on "progressor listed first" and "progressor's id sorts first"
    assert stats.binomtest(sum(first), n, 0.5).pvalue > 0.001
    assert stats.binomtest(sum(id_before), n, 0.5).pvalue > 0.001
    # random, not alternating or in runs: Wald-Wolfowitz-like check on consecutive equal positions
    same_as_next = sum(a == b for a, b in zip(first, first[1:], strict=False))
    assert stats.binomtest(same_as_next, n - 1, 0.5).pvalue > 0.001
    # manifest order carries nothing about the label (JSN) either
    assert abs(stats.spearmanr(positions, jsns).statistic) < 0.05


def test_built_package_progressor_position(built):
    res, _ = built
    key = {p["pair_id"]: p for p in json.loads(res.key.read_text())["pairs"]}
    m = load_manifest(res.study)
    first = sum(p.cases[0] == key[p.pair_id]["progressor"] for p in m.pairs)
    assert 0 < first < len(m.pairs)  # both positions occur (p ~ 3e-5 otherwise)


def test_file_write_order_carries_nothing(built):
    """Images are written in a random order: neither the files' modification times nor their
    inode numbers (``ls -t``, ``ls -i``) tell the progressor of a pair from its partner."""
    res, _ = built
    key = json.loads(res.key.read_text())["pairs"]

    def stat(case):
        return (res.study / "images" / f"{case}_cor_iw_tse.nii.gz").stat()

    for field in ("st_mtime_ns", "st_ino"):
        a = [getattr(stat(p["progressor"]), field) for p in key]
        b = [getattr(stat(p["non_progressor"]), field) for p in key]
        # all on one side: p ~ 3e-5 if random (equal times, on a coarse clock, tell nothing)
        assert not all(x < y for x, y in zip(a, b, strict=True)), field
        assert not all(x > y for x, y in zip(a, b, strict=True)), field


def test_conversion_jobs_in_random_order():
    plan = plan_study(_fake_selection(150, np.random.default_rng(1)), 3)
    cases = [rel.split("/")[-1][:7] for _, _, rel in plan.jobs]
    assert sorted(cases) == sorted(c for c in plan.cases for _ in range(2))
    first = {c: cases.index(c) for c in plan.cases}
    prog_first = [first[e["progressor"]] < first[e["non_progressor"]] for e in plan.key_pairs]
    assert stats.binomtest(sum(prog_first), len(prog_first), 0.5).pvalue > 0.001
