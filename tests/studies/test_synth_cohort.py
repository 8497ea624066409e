"""The synthetic cohort in the OAI style (default quirks on): layout, tables, DICOM geometry,
planted JSW, determinism."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk

from studies.synth import SIZES, generate_cohort, label_map, sign_mask
from studies.synth.anatomy import FEMUR_LABELS, Label
from studies.synth.cohort import load_synthetic
from studies.synth.measure import medial_jsw_on_labels

SEED = 7
PATIENTS = 4
MISSING = re.compile(r"^\.[A-Z]?(: .*)?$|^$")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return generate_cohort(tmp_path_factory.mktemp("synth") / "cohort", patients=PATIENTS, seed=SEED, size="small")


def _contents(cohort: Path) -> pd.DataFrame:
    frames = []
    for visit, month in (("00m", 0), ("12m", 12), ("24m", 24), ("36m", 36)):
        df = pd.read_csv(cohort / visit / "contents.csv", dtype=str)
        frames.append(df.assign(visit=visit, visit_month=month))
    return pd.concat(frames, ignore_index=True)


def _series(cohort: Path) -> pd.DataFrame:
    return pd.read_csv(cohort / "synthetic" / "series.csv", dtype={"participant_id": str, "barcode": str})


def read_table(cohort: Path, name: str) -> pd.DataFrame:
    """An OAI-style table found by name whatever its case, headers upper-cased."""
    path = next(p for p in cohort.glob("*.txt") if p.name.lower() == name.lower())
    df = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False)
    return df.rename(columns=str.upper)


def _read_series(folder: Path) -> tuple[sitk.Image, list[str]]:
    reader = sitk.ImageSeriesReader()
    files = reader.GetGDCMSeriesFileNames(str(folder))
    reader.SetFileNames(files)
    return reader.Execute(), list(files)


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_contents(cohort):
    for visit in ("00m", "12m", "24m", "36m"):
        with open(cohort / visit / "contents.csv", newline="") as fh:
            header = next(csv.reader(fh))
        assert header == ["Folder", "ParticipantID", "StudyDate", "Barcode", "StudyDescription", "SeriesDescription"]
    names = {p.name.lower() for p in cohort.glob("*.txt")}
    for name in ["Enrollees.txt"] + [f"{t}{vv}.txt" for t in ("AllClinical", "kxr_qjsw_duryea", "kxr_sq_bu")
                                     for vv in ("00", "01", "03", "05")]:
        assert name.lower() in names, name
    c = _contents(cohort)
    series = _series(cohort).set_index("path")
    assert len(c) == len(series) > 0
    release = {"00m": ("0.C.2", "0.E.1"), "12m": ("1.C.2",), "24m": ("3.C.2",), "36m": ("5.C.1",)}
    visit_name = {0: "ENROLLMENT", 12: "12 MONTH", 24: "24 MONTH", 36: "36 MONTH"}
    for r in c.itertuples():
        parts = r.Folder.split("/")
        assert len(parts) == 4 and parts[0] in release[r.visit] and parts[1] == r.ParticipantID and parts[2] == r.StudyDate
        assert re.fullmatch(r"9\d{6}", r.ParticipantID)
        # per-series barcodes written as integers (the leading zero dropped); the folder is their last 8 digits
        assert re.fullmatch(r"\d{8}", r.StudyDate) and re.fullmatch(r"166\d{8}", r.Barcode)
        assert parts[3] == r.Barcode[-8:]
        side = r.StudyDescription.rstrip(" ").split("^")[-1]
        assert r.StudyDescription.rstrip(" ") == f"OAI^MR^{visit_name[r.visit_month]}^{side}" and side in ("RIGHT", "LEFT")
        assert r.SeriesDescription in (f"COR_IW_TSE_{side}", f"SAG_3D_DESS_{side}")
        files = sorted(p.name for p in (cohort / r.visit / r.Folder).iterdir())
        s = series.loc[f"{r.visit}/{r.Folder}"]
        seq = "cor_iw_tse" if r.SeriesDescription.startswith("COR") else "sag_3d_dess"
        assert s.expected_slices == SIZES["small"][seq].shape[0] and s.sequence == seq
        assert files == [f"{i:03d}" for i in range(1, s.n_slices + 1)]
        assert s.barcode == "0" + r.Barcode
    # no stray files outside the listed ones
    listed = {str(Path(r.visit) / r.Folder) for r in c.itertuples()}
    on_disk = {str(p.parent.relative_to(cohort)) for p in cohort.glob("[0-9][0-9]m/*/*/*/*/001")}
    assert listed == on_disk


def test_every_series_geometry(cohort):
    c = _contents(cohort)
    series = _series(cohort).set_index("path")
    for r in c.itertuples():
        seq = "cor_iw_tse" if r.SeriesDescription.startswith("COR") else "sag_3d_dess"
        spec = SIZES["small"][seq]
        n = int(series.loc[f"{r.visit}/{r.Folder}"].n_slices)  # a truncated series has its first n slices
        img, files = _read_series(cohort / r.visit / r.Folder)
        # SimpleITK: size (columns, rows, slices), spacing likewise
        assert img.GetSize() == (spec.shape[2], spec.shape[1], n)
        if n > 1:
            np.testing.assert_allclose(img.GetSpacing(), (spec.spacing[2], spec.spacing[1], spec.spacing[0]), atol=1e-4)
        else:
            np.testing.assert_allclose(img.GetSpacing()[:2], (spec.spacing[2], spec.spacing[1]), atol=1e-4)
        direction = np.array(img.GetDirection()).reshape(3, 3)
        expected = {"cor_iw_tse": [[1, 0, 0], [0, 0, 1], [0, -1, 0]], "sag_3d_dess": [[0, 0, -1], [1, 0, 0], [0, -1, 0]]}[seq]
        np.testing.assert_allclose(direction, expected, atol=1e-6)
        side = r.SeriesDescription.split("_")[-1].lower()
        # right knees sit at patient-right (x < 0 in LPS), left knees at patient-left
        centre = img.TransformContinuousIndexToPhysicalPoint([(k - 1) / 2 for k in img.GetSize()])
        assert (centre[0] < 0) == (side == "right")
        ds = pydicom.dcmread(files[0])
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage
        assert ds.Laterality == ("R" if side == "right" else "L")
        assert ds.PatientID == r.ParticipantID and ds.StudyDate == r.StudyDate
        assert ds.SeriesDescription == r.SeriesDescription and ds.StudyDescription == r.StudyDescription.rstrip(" ")
        assert ds.AccessionNumber == "0" + r.Barcode
        assert float(ds.SliceThickness) == pytest.approx(spec.spacing[0], abs=1e-4)
        assert [float(v) for v in ds.PixelSpacing] == pytest.approx(list(spec.spacing[1:]), abs=1e-4)
        arr = sitk.GetArrayFromImage(img)
        assert arr.shape == (n, *spec.shape[1:]) and arr.max() > 500


def test_medial_anatomy_is_mirrored_between_knees(cohort):
    """Right knees have their medial compartment towards +x (patient left), left knees towards -x.

    Checked where the planted medial joint space is clearly narrower than the lateral one: the
    medial condyle then reaches lower (larger row index) than the lateral one.
    """
    _, truth = load_synthetic(cohort)
    checked = set()
    for r in truth[(truth.jsw_lateral_mm - truth.jsw_mm > 1.5) & truth.has_cor_iw_tse].itertuples():
        if r.side in checked:
            continue
        labels, grid = label_map(cohort, r.participant_id, r.side, int(r.visit_month), "cor_iw_tse", oversample=(1, 8, 1))
        femur = np.isin(labels, FEMUR_LABELS)
        lowest = np.where(femur, np.arange(labels.shape[1])[None, :, None], -1).max(axis=(0, 1))
        x = grid.origin[0] + grid.spacing[2] * np.arange(labels.shape[2])
        centre_x = -100.0 if r.side == "right" else 100.0
        plus_x, minus_x = lowest[x > centre_x + 10].max(), lowest[x < centre_x - 10].max()
        assert (plus_x > minus_x) == (r.side == "right"), (r.participant_id, r.side, r.visit_month)
        checked.add(r.side)
    assert checked == {"right", "left"}


def test_imaged_medial_jsw_matches_table(cohort):
    """The bone-to-bone medial joint space on the phantom's label map equals the true JSW (0.2 mm)."""
    _, truth = load_synthetic(cohort)
    measured = 0
    for r in truth[truth.has_cor_iw_tse].itertuples():
        labels, grid = label_map(cohort, r.participant_id, r.side, r.visit_month, "cor_iw_tse", oversample=(1, 16, 1))
        x = grid.origin[0] + grid.spacing[2] * np.arange(labels.shape[2])
        centre_x = -100.0 if r.side == "right" else 100.0
        medial = (x > centre_x + 2) if r.side == "right" else (x < centre_x - 2)
        jsw = medial_jsw_on_labels(labels, grid.spacing[1], medial)
        assert jsw == pytest.approx(r.jsw_mm, abs=0.2), (r.participant_id, r.side, r.visit_month)
        measured += 1
    assert measured >= PATIENTS * 2 * 3
    # and project 15's rows of the table carry the same JSW where it is not missing
    for month, vv in ((0, "00"), (12, "01"), (24, "03"), (36, "05")):
        t = read_table(cohort, f"kxr_qjsw_duryea{vv}.txt")
        col = {0: "V00", 12: "V01", 24: "V03", 36: "V05"}[month] + "MCMJSW"
        for r in t[t.READPRJ == "15"].itertuples():
            side = {"1": "right", "2": "left"}[r.SIDE.split(":")[0]]
            cell = getattr(r, col)
            want = truth[(truth.participant_id == r.ID) & (truth.side == side) & (truth.visit_month == month)].jsw_mm.iloc[0]
            if not MISSING.match(cell):
                assert float(cell) == pytest.approx(want, abs=1e-3)


def test_tables_parse_with_oai_codes(cohort):
    enr = read_table(cohort, "Enrollees.txt")
    assert list(enr.columns[:4]) == ["ID", "VERSION", "P02SEX", "V00SITE"]
    assert set(enr.P02SEX) <= {"1: Male", "2: Female", "1", "2"} and len(enr) == PATIENTS
    assert set(enr.V00SITE) <= set("ABCDE")
    assert enr.ID.str.fullmatch(r"9\d{6}").all()
    for vv, prefix in (("00", "V00"), ("01", "V01"), ("03", "V03"), ("05", "V05")):
        clin = read_table(cohort, f"AllClinical{vv}.txt")
        bmi = "P01BMI" if vv == "00" else f"{prefix}BMI"
        for col in ("ID", "VERSION", f"{prefix}AGE", bmi, f"{prefix}WOMKPR", f"{prefix}WOMKPL"):
            assert col in clin.columns
        heights = [c for c in clin.columns if c.endswith("HEIGHT")]
        assert heights == {"00": ["P01HEIGHT"], "03": ["V03HEIGHT"]}.get(vv, [])
        for col in (bmi, f"{prefix}WOMKPR", f"{prefix}WOMKPL"):
            vals = clin[col]
            ok = vals.str.match(MISSING) | pd.to_numeric(vals, errors="coerce").notna()
            assert ok.all(), (vv, col, vals[~ok].tolist())
        pain = pd.to_numeric(clin[f"{prefix}WOMKPR"], errors="coerce").dropna()
        assert ((pain >= 0) & (pain <= 20)).all()
        jsw = read_table(cohort, f"kxr_qjsw_duryea{vv}.txt")
        assert list(jsw.columns) == ["ID", "VERSION", "SIDE", "READPRJ", f"{prefix}MCMJSW"]
        assert set(jsw.SIDE) <= {"1: Right", "2: Left", "1", "2"}
        cells = jsw[f"{prefix}MCMJSW"]
        assert (cells.str.match(MISSING) | pd.to_numeric(cells, errors="coerce").between(0, 10)).all()
        kl = read_table(cohort, f"kxr_sq_bu{vv}.txt")
        grades = kl[f"{prefix}XRKL"]
        assert (grades.str.match(MISSING) | grades.str.fullmatch(r"([0-4])(: \1)?")).all()
        assert set(kl.READPRJ) <= {"15", "37", "42"}


def test_ground_truth_and_parameters(cohort):
    params, truth = load_synthetic(cohort)
    assert params["seed"] == SEED and params["size"] == "small" and params["patients"] == PATIENTS
    assert "version" in params and params["style"] == "oai" and params["quirks"]["repeat_scans"] == 0.02
    assert len(truth) == PATIENTS * 2 * 4
    for col in ("participant_id", "side", "visit_month", "jsw_mm", "jsn_next_mm", "risk", "bml", "bml_size_mm",
                "bml_bone", "effusion", "kl_grade", "womac_pain", "bone_on_bone", "blank_cells"):
        assert col in truth.columns
    nxt = truth.sort_values("visit_month").groupby(["participant_id", "side"]).jsw_mm.shift(-1)
    sel = truth.jsn_next_mm.notna()
    np.testing.assert_allclose(truth.jsn_next_mm[sel], (nxt - truth.jsw_mm)[sel], atol=2e-3)


def test_sign_mask_marks_the_lesion(cohort):
    _, truth = load_synthetic(cohort)
    series = _series(cohort)
    with_sign = truth[(truth.bml == 1) & truth.has_cor_iw_tse & truth.has_sag_3d_dess]
    without = truth[(truth.bml == 0) & truth.has_cor_iw_tse]
    if len(without):
        r = without.iloc[0]
        assert not sign_mask(cohort, r.participant_id, r.side, int(r.visit_month), "cor_iw_tse").any()
    if with_sign.empty:
        pytest.skip("no planted sign in this small cohort")
    for r in with_sign.itertuples():
        picked = series[(series.participant_id == r.participant_id) & (series.side == r.side)
                        & (series.visit_month == r.visit_month) & series.chosen]
        if len(picked) == 2:
            break
    for seq in ("cor_iw_tse", "sag_3d_dess"):
        mask = sign_mask(cohort, r.participant_id, r.side, int(r.visit_month), seq)
        path = picked[picked.sequence == seq].path.iloc[0]
        arr = sitk.GetArrayFromImage(_read_series(cohort / path)[0]).astype(float)
        assert mask.shape == arr.shape and mask.sum() > 0
        labels, _ = label_map(cohort, r.participant_id, r.side, int(r.visit_month), seq)
        marrow = np.isin(labels, (Label.FEMUR, Label.TIBIA))
        if seq == "cor_iw_tse":  # dark in fatty marrow (no fat suppression)
            assert arr[mask].mean() < 0.6 * arr[marrow].mean()
        else:  # bright in water-excited marrow
            assert arr[mask].mean() > 1.5 * arr[marrow].mean()


def test_same_seed_same_bytes(cohort, tmp_path):
    """Same seed, same files, whether written by one process (the fixture) or two."""
    again = generate_cohort(tmp_path / "again", patients=PATIENTS, seed=SEED, size="small", workers=2)
    assert _tree_digest(again) == _tree_digest(cohort)
    other = generate_cohort(tmp_path / "other", patients=PATIENTS, seed=SEED + 1, size="small", images="none")
    assert read_table(other, "Enrollees.txt").ID.tolist() != read_table(cohort, "Enrollees.txt").ID.tolist()


def test_dcm2niix_converts_series(cohort, tmp_path):
    """dcm2niix (when installed, e.g. ``pip install dcm2niix``) converts both series without errors."""
    import shutil
    import subprocess
    import sys

    import nibabel as nib

    # The dev extras install it into the virtual environment, which need not be on PATH.
    exe = shutil.which("dcm2niix") or shutil.which("dcm2niix", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("dcm2niix not installed")
    series = _series(cohort)
    for (side, seq), shape in ((("left", "cor_iw_tse"), (96, 96, 12)), (("right", "sag_3d_dess"), (24, 96, 96))):
        desc = f"{seq}_{side}"
        folder = cohort / series[(series.visit_month == 0) & (series.side == side) & (series.sequence == seq)
                                 & series.chosen].path.iloc[0]
        out = tmp_path / desc
        out.mkdir()
        res = subprocess.run([exe, "-o", str(out), "-f", "vol", str(folder)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "error" not in (res.stdout + res.stderr).lower()
        assert nib.load(out / "vol.nii").shape == shape
