"""The two download styles: the same seed gives the same cohort, written the OAI's way or the NDA's.

Same ground truth, readings and series (repeats, truncations), the same DICOM bytes in a
series folder and in its ``.tar.gz``; the NDA package's format (two quoted, tab-delimited
header rows, image03's paths and dates, ages in months); reproducible archives; materialize
in both styles; the real geometry.
"""

from __future__ import annotations

import csv
import hashlib
import re
import tarfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest

from studies.synth import SIZES, Quirks, generate_cohort, materialize
from studies.synth.dicom import write_series
from studies.synth.geometry import series_grid
from studies.synth.layout import series_record
from studies.synth.quirks import DEFAULT_QUIRKS

SEED, PATIENTS = 21, 8
#: Enough repeats and truncations to see them in 8 participants.
QUIRKS = DEFAULT_QUIRKS.with_rates({"repeat_scans": 0.15, "truncated_series": 0.15})
NDA_TABLES = ("image03.txt", "oai_enrollee01.txt", "oai_oarisk01.txt", "oai_koos_womac01.txt",
              "oai_kxrquantjsw01.txt", "oai_kxrsemiquant01.txt", "package_info.txt", "dataset_collection.txt")


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("styles")
    kw = dict(patients=PATIENTS, seed=SEED, images="baseline", quirks=QUIRKS)
    return generate_cohort(root / "oai", style="oai", **kw), generate_cohort(root / "nda", style="nda", **kw)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read_nda(path: Path) -> tuple[list[str], list[str], pd.DataFrame]:
    """(names, descriptions, data) of an NDA structure file, checking that every value is quoted."""
    lines = path.read_text().splitlines()
    for line in lines:
        assert all(re.fullmatch(r'"[^"]*"', v) for v in line.split("\t")), (path.name, line)
    rows = list(csv.reader(lines, delimiter="\t"))
    names, desc = rows[0], rows[1]
    assert len(desc) == len(names) and all(len(r) == len(names) for r in rows)
    return names, desc, pd.DataFrame(rows[2:], columns=names)


def test_same_truth_readings_and_series_in_both_styles(pair):
    a, b = pair
    for name in ("ground_truth.csv", "readings.csv"):
        assert (a / "synthetic" / name).read_bytes() == (b / "synthetic" / name).read_bytes()
    sa = pd.read_csv(a / "synthetic" / "series.csv", dtype=str)
    sb = pd.read_csv(b / "synthetic" / "series.csv", dtype=str)
    pd.testing.assert_frame_equal(sa.drop(columns="path"), sb.drop(columns="path"))
    assert (sb.path == "image03/" + sa.path + ".tar.gz").all()
    assert sa.repeat.eq("True").any() and sa.truncated.eq("True").any()
    # the style draws nothing: cohort.json differs in 'style' only
    ja, jb = (pd.read_json(p / "synthetic" / "cohort.json", typ="series") for p in pair)
    assert ja.drop("style").to_dict() == jb.drop("style").to_dict() and (ja["style"], jb["style"]) == ("oai", "nda")


def test_same_dicom_bytes_in_folders_and_tars(pair):
    a, b = pair
    series = pd.read_csv(a / "synthetic" / "series.csv", dtype={"participant_id": str})
    base = series[series.visit_month == 0]
    assert len(base) > 0
    for r in base.itertuples():
        folder = a / r.path
        tar = b / "image03" / f"{r.path}.tar.gz"
        with tarfile.open(tar) as tf:
            members = tf.getmembers()
            assert members[0].name == "." and members[0].isdir()
            assert [m.name for m in members[1:]] == [f"./{k:03d}" for k in range(1, r.n_slices + 1)]
            for m in members[1:]:
                assert m.isfile() and m.uid == 0 and m.mode == 0o644
                assert tf.extractfile(m).read() == (folder / Path(m.name).name).read_bytes()
        assert sorted(p.name for p in folder.iterdir()) == [f"{k:03d}" for k in range(1, r.n_slices + 1)]
    assert not list((b / "image03").glob("[0-9][0-9]m/*/*/*/*/001"))  # no unpacked series in the NDA style
    assert not list(a.glob("image03*"))


def test_tars_are_reproducible(pair, tmp_path):
    _, b = pair
    again = generate_cohort(tmp_path / "again", patients=PATIENTS, seed=SEED, images="baseline", quirks=QUIRKS,
                            style="nda", workers=2)
    assert _digest(again) == _digest(b)
    with open(next((b / "image03").rglob("*.tar.gz")), "rb") as fh:
        head = fh.read(10)
    assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\0\0\0\0"  # gzip, mtime 0


def test_nda_package_format(pair):
    a, b = pair
    assert sorted(p.name for p in b.glob("*.txt")) == sorted(NDA_TABLES)
    assert not list(b.glob("[0-9][0-9]m")) and not (b / "Enrollees.txt").exists()
    common = ["collection_id", None, "dataset_id", "subjectkey", "src_subject_id", "interview_date", "interview_age", "sex"]
    for name in NDA_TABLES[:6]:
        names, desc, df = read_nda(b / name)
        assert [n if c else None for n, c in zip(names[:8], common, strict=True)] == common
        assert desc != names and "GUID" in desc[3]  # row 2: descriptions, not data
        assert df.subjectkey.str.fullmatch(r"NDAR_INV[A-Z0-9]{8}").all()
        assert df.src_subject_id.str.fullmatch(r"9\d{6}").all() and set(df.sex) <= {"M", "F"}
        # one GUID per participant, derived from the seed and id
        assert df.groupby("src_subject_id").subjectkey.nunique().eq(1).all()
    _, _, img = read_nda(b / "image03.txt")
    for col in ("collection_id", "image03_id", "dataset_id", "subjectkey", "src_subject_id", "interview_date",
                "interview_age", "sex", "comments_misc", "image_file", "image_description", "scan_type",
                "image_modality", "visit"):
        assert col in img.columns
    assert set(img.image_modality) == {"MRI", "X-Ray"}
    mri = img[img.image_modality == "MRI"]
    series = pd.read_csv(b / "synthetic" / "series.csv", dtype={"participant_id": str})
    assert len(mri) == len(series)
    pattern = re.compile(r"^s3://[^/]+/submission_\d+/(\d\dm/([^/]+)/(\d+)/(\d{8})/(\d{8})\.tar\.gz)$")
    for r in mri.itertuples():
        m = pattern.match(r.image_file)
        assert m, r.image_file
        local = "image03/" + m.group(1)
        assert local in set(series.path)
        assert m.group(3) == r.src_subject_id
        path_date = datetime.strptime(m.group(4), "%Y%m%d")
        assert datetime.strptime(r.interview_date, "%m/%d/%Y") == path_date - timedelta(days=1)
        assert re.fullmatch(r"(COR_IW_TSE|SAG_3D_DESS)_(RIGHT|LEFT)", r.image_description)
        side = r.image_description.rsplit("_", 1)[1]
        assert re.fullmatch(rf"OAI MR (ENROLLMENT|12 MONTH|24 MONTH|36 MONTH) {side}", r.comments_misc)
        assert r.visit in ("V00", "V01", "V03", "V05")
    for p in series[series.visit_month == 0].path:  # the baseline archives are on disk
        assert (b / p).is_file()
    # ages in months whose whole years are the OAI style's VVVAGE
    _, _, risk = read_nda(b / "oai_oarisk01.txt")
    clin = pd.read_csv(next(p for p in a.glob("*.txt") if p.name.lower() == "allclinical00.txt"), sep="|", dtype=str)
    clin.columns = [c.upper() for c in clin.columns]
    ages = dict(zip(clin.ID, clin.V00AGE, strict=True))
    base = risk[risk.visit == "V00"]
    assert len(base) == PATIENTS
    for r in base.itertuples():
        assert int(r.interview_age) // 12 == int(ages[r.src_subject_id])
    assert (risk[risk.visit.isin(["V01", "V05"])].height == "").all()
    truth = pd.read_csv(b / "synthetic" / "ground_truth.csv", dtype=str, keep_default_na=False)
    blank = set(truth[(truth.visit_month == "0") & truth.blank_cells.str.contains("height_mm")].participant_id)
    for r in base.itertuples():  # measured at baseline unless the blank-cells quirk emptied it
        assert (r.height == "") == (r.src_subject_id in blank)


def test_nda_xray_tables_match_the_readings(pair):
    _, b = pair
    readings = pd.read_csv(b / "synthetic" / "readings.csv", dtype={"participant_id": str, "code": str},
                           keep_default_na=False)
    for name, table, col in (("oai_kxrquantjsw01.txt", "jsw", "mcmjsw"), ("oai_kxrsemiquant01.txt", "kl", "xrkl")):
        _, _, df = read_nda(b / name)
        want = readings[readings.table == table]
        assert len(df) == len(want)
        assert set(df.side) <= {"1", "2"} and set(df.readprj) <= {"15", "37", "42"}
        got = df[col].where(df[col].str.startswith(".") | (df[col] == ""), pd.to_numeric(df[col], errors="coerce"))
        exp = [c if c else float(v) for c, v in zip(want.code, want.value, strict=True)]
        assert [g if isinstance(g, str) else pytest.approx(g, abs=1e-3) for g in got] == exp


def test_materialize_writes_every_series_of_a_knee_visit_in_both_styles(tmp_path):
    kw = dict(patients=6, seed=SEED, quirks=QUIRKS.with_rates({"truncated_series": 0.4, "repeat_scans": 0.3}))
    full = {s: generate_cohort(tmp_path / f"all-{s}", style=s, images="all", **kw) for s in ("oai", "nda")}
    series = pd.read_csv(full["oai"] / "synthetic" / "series.csv", dtype={"participant_id": str})
    groups = series.groupby(["participant_id", "side", "visit_month"])
    knees = [k for k, g in groups if len(g) > 2][:2]  # knee-visits with a repeat or a rescan
    assert knees
    for style in ("oai", "nda"):
        none = generate_cohort(tmp_path / f"none-{style}", style=style, images="none", **kw)
        assert not list(none.rglob("001")) and not list(none.rglob("*.tar.gz"))
        written = materialize(none, [(p, s, int(m)) for p, s, m in knees])
        paths = [r.path if style == "oai" else f"image03/{r.path}.tar.gz" for r in series.itertuples()
                 if (r.participant_id, r.side, r.visit_month) in knees]
        assert written == len(paths)
        d_full, d_none = _digest(full[style]), _digest(none)
        for path in paths:
            files = {k: v for k, v in d_none.items() if k == path or k.startswith(path + "/")}
            assert files and all(d_full[k] == v for k, v in files.items())
        images = [k for k in d_none if k.endswith(".tar.gz") or re.search(r"/\d{3}$", k)]
        assert all(any(k == p or k.startswith(p + "/") for p in paths) for k in images)  # those knee-visits only
        assert materialize(none, [(p, s, int(m)) for p, s, m in knees]) == 0
        assert not list(none.rglob("*.partial"))


def test_real_geometry_at_full_size(tmp_path):
    full = SIZES["full"]
    assert full["sag_3d_dess"].shape == (160, 384, 384)
    assert full["cor_iw_tse"].shape == (35, 384, 384)
    for spec, thickness in ((full["sag_3d_dess"], 0.7), (full["cor_iw_tse"], 3.0)):
        assert spec.spacing == pytest.approx((thickness, 0.36458333, 0.36458333), abs=1e-7)
    for seq, spec in SIZES["small"].items():  # small: the same field of view, coarser
        assert spec.fov_mm == pytest.approx(full[seq].fov_mm)
    for seq, tr in (("cor_iw_tse", 3700.0), ("sag_3d_dess", 16.3)):
        grid = series_grid("full", seq, "right")
        rec = series_record(0, Quirks(), "full", "9000001", "right", 0, seq, "20050101")
        write_series(tmp_path / seq, np.zeros(grid.shape, np.uint16), grid, rec, sex="F", age_years=60.0)
        files = sorted((tmp_path / seq).iterdir())
        assert len(files) == full[seq].shape[0]
        ds = pydicom.dcmread(files[0])
        assert float(ds.RepetitionTime) == tr and (ds.Rows, ds.Columns) == (384, 384)
        assert [float(v) for v in ds.PixelSpacing] == pytest.approx([0.364583, 0.364583], abs=1e-6)
        assert float(ds.SliceThickness) == pytest.approx(full[seq].spacing[0])
