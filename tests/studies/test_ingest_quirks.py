"""The real OAI's quirks, one test each, on small hand-written downloads of both styles.

Repeated and truncated series, several X-ray reading projects, bone-on-bone knees, absent
follow-up heights, the OAI's missing codes, lower-case headers and bare codes, the NDA's
second header row and its image paths; and the errors for bad input.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from studies.cohort import IngestOptions, load_cohort, resolve
from studies.cohort.ingest import detect_style
from studies.errors import InputFileError, OptionError
from studies.labels import make_labels

HEADER = "Folder,ParticipantID,StudyDate,Barcode,StudyDescription,SeriesDescription"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip("\n") + "\n")
    return path


def _slice(series_number: int) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = MRImageStorage
    ds.SeriesNumber = series_number
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _series_dir(folder: Path, n: int, series_number: int = 1) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = _slice(series_number)
    for k in range(n):
        (folder / f"{k + 1:03d}").write_bytes(data)


def _series_tar(path: Path, n: int, series_number: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _slice(series_number)
    with tarfile.open(path, "w:gz") as tf:
        d = tarfile.TarInfo(".")
        d.type = tarfile.DIRTYPE
        tf.addfile(d)
        for k in range(n):
            info = tarfile.TarInfo(f"./{k + 1:03d}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------- style A (the OAI's releases)

def oai_tables(root: Path) -> None:
    """Two participants, 0-24 months, with the quirks of the real tables."""
    _write(root / "General/Enrollees.txt", """
id|version|P02SEX|V00SITE
9000001|2.1|2: Female|A
9000002|2.1|1|C""")  # lower-case headers; a bare code
    _write(root / "Clinical/AllClinical00.txt", """
ID|VERSION|V00AGE|P01BMI|P01HEIGHT|P01WEIGHT|V00WOMKPR|V00WOMKPL
9000001|0.2.2|61|27.5|1640|74|3|.R: Refused
9000002|0.2.2|70|.D: Don't Know/Unknown/Uncertain|1780|90.2|0|.T: Technical Problems""")
    _write(root / "Clinical/AllClinical01.txt", """
ID|VERSION|V01AGE|V01BMI|V01WEIGHT|V01WOMKPR|V01WOMKPL
9000001|1.2.1|62|27.9|75|4|
9000002|1.2.1|71|28|89|.M|2""")  # no V01HEIGHT in the OAI
    _write(root / "Clinical/AllClinical03.txt", """
ID|VERSION|V03AGE|V03BMI|V03HEIGHT|V03WEIGHT|V03WOMKPR|V03WOMKPL
9000001|1.2.1|63|28|1630|75|4|1
9000002|1.2.1|72|28|.P: Prosthetic|89|1|2""")
    # JSW: project 15 for all; knee 9000001 right also read by project 37 at 0 and 24 m only
    _write(root / "XRay/kxr_qjsw_duryea00.txt", """
ID|VERSION|SIDE|READPRJ|V00MCMJSW
9000001|0.6|1: Right|15|4.50
9000001|0.6|1: Right|37|4.90
9000001|0.6|2: Left|15|0.00
9000002|0.6|2|15|3.25""")
    _write(root / "XRay/kxr_qjsw_duryea01.txt", """
ID|VERSION|SIDE|READPRJ|V01MCMJSW
9000001|1.6|1: Right|15|3.90
9000001|1.6|2: Left|15|0.00
9000002|1.6|2|15|3.20""")
    _write(root / "XRay/kxr_qjsw_duryea03.txt", """
ID|VERSION|SIDE|READPRJ|V03MCMJSW
9000001|1.6|1: Right|37|3.00
9000002|1.6|2|15|3.10""")
    _write(root / "XRay/KXR_SQ_BU00.txt", """
ID|VERSION|SIDE|READPRJ|V00XRKL
9000001|0.8|1: Right|42|3: 3
9000001|0.8|1: Right|15|2: 2
9000001|0.8|1: Right|37|3: 3
9000002|0.8|2: Left|37|1: 1""")


def oai_cohort(root: Path, *, dess_slices=(160,), cor_slices=35) -> Path:
    """Baseline images of both participants' knees; 9000001 right DESS listed once per entry of
    ``dess_slices`` (a repeat when two), each a folder of that many files."""
    oai_tables(root)
    rows = [HEADER]
    for i, n in enumerate(dess_slices):
        barcode = f"01661000{100 + i}"
        folder = f"0.E.1/9000001/20040101/{barcode[-8:]}"
        _series_dir(root / "00m" / folder, n, series_number=5 + i)
        rows.append(f"{folder},9000001,20040101,{int(barcode)},OAI^MR^ENROLLMENT^RIGHT ,SAG_3D_DESS_RIGHT")
    for pid, side, code in (("9000001", "RIGHT", "2"), ("9000002", "LEFT", "3")):
        folder = f"0.C.2/{pid}/20040101/1000000{code}"
        _series_dir(root / "00m" / folder, cor_slices)
        rows.append(f"{folder},{pid},20040101,1661000000{code},OAI^MR^ENROLLMENT^{side},COR_IW_TSE_{side}")
    folder = "0.C.2/9000002/20040101/10000009"
    _series_dir(root / "00m" / folder, 160)
    rows.append(f"{folder},9000002,20040101,16610000009,OAI^MR^ENROLLMENT^LEFT,SAG_3D_DESS_LEFT")
    rows.append("0.C.2/9000002/20040101/10000010,9000002,20040101,16610000010,OAI^MR^ENROLLMENT^LEFT,MP_LOCATOR_LEFT")
    _write(root / "00m/contents.csv", "\n".join(rows))
    return root


def knee(cohort, pid, side, month=0):
    k = cohort.knees
    return k[(k.participant_id == pid) & (k.side == side) & (k.visit_month == month)].iloc[0]


def test_style_a_codes_missing_codes_and_lower_case_headers(tmp_path):
    c = load_cohort(oai_cohort(tmp_path / "c"))
    assert c.source == "oai"
    r = knee(c, "9000001", "right")
    assert r.sex == "F" and r.age == 61 and r.womac_pain == 3 and r.height_m == pytest.approx(1.64)
    assert knee(c, "9000002", "left").sex == "M"  # bare code 1
    assert np.isnan(knee(c, "9000002", "left").bmi)  # .D: Don't Know
    assert np.isnan(knee(c, "9000001", "left").womac_pain)  # .R: Refused
    assert knee(c, "9000001", "right").kl_grade == 2  # project 15's '2: 2', not 42's or 37's
    assert knee(c, "9000002", "left").kl_grade == 1  # only project 37 read it


def test_heights_carried_forward_from_the_last_measurement(tmp_path):
    c = load_cohort(oai_cohort(tmp_path / "c"))
    assert knee(c, "9000001", "right", 12).height_m == pytest.approx(1.64)  # from baseline
    assert knee(c, "9000001", "right", 24).height_m == pytest.approx(1.63)  # measured again
    assert knee(c, "9000002", "left", 24).height_m == pytest.approx(1.78)  # .P at 24 m: carried
    assert c.report["heights_carried_forward"] == 3
    assert not any("HEIGHT" in m for m in c.report["missing"])


def test_a_jsn_never_subtracts_two_reading_projects(tmp_path):
    c = load_cohort(oai_cohort(tmp_path / "c"))
    lab = make_labels(c.knees, jsw_readings=c.jsw_readings)
    right = lab[(lab.participant_id == "9000001") & (lab.side == "right")].set_index("visit_month")
    # 0 -> 12 m: project 15 at both ends (4.50 -> 3.90), not 37's 4.90 at baseline
    assert right.loc[0, "jsn_mm"] == pytest.approx(-0.6) and right.loc[0, "jsw_project"] == "15"
    # 12 -> 24 m: 15 at 12 m, only 37 at 24 m: no common project, window left out
    assert 12 not in right.index
    assert lab.attrs["excluded"]["no_common_project"] == 1
    # the naive table pairing would have made 3.90 -> 3.00 a progressor
    naive = make_labels(c.knees)
    assert naive[(naive.participant_id == "9000001") & (naive.side == "right") & (naive.visit_month == 12)].progressor_abs.all()


def test_forcing_a_reading_project(tmp_path):
    c = load_cohort(oai_cohort(tmp_path / "c"), IngestOptions(jsw_project="37", kl_project="42"))
    assert knee(c, "9000001", "right").jsw_mm == pytest.approx(4.90)
    assert knee(c, "9000001", "right").kl_grade == 3
    assert np.isnan(knee(c, "9000002", "left").kl_grade)
    lab = make_labels(c.knees, jsw_readings=c.jsw_readings)
    r = lab[(lab.participant_id == "9000001") & (lab.side == "right")]
    assert list(r.visit_month) == []  # project 37 read it at 0 and 24 m only: no 12-month window
    with pytest.raises(OptionError, match="jsw-project"):
        IngestOptions(jsw_project="fifteen").check()


def test_bone_on_bone_knee_is_out_of_the_relative_label_only(tmp_path):
    c = load_cohort(oai_cohort(tmp_path / "c"))
    lab = make_labels(c.knees, jsw_readings=c.jsw_readings)
    bob = lab[(lab.participant_id == "9000001") & (lab.side == "left")].iloc[0]
    assert bob.jsw_mm == 0 and bob.jsn_mm == 0
    assert not bob.progressor_abs
    assert pd.isna(bob.progressor_rel)
    assert lab.attrs["excluded_rel"] == {"bone_on_bone": 1}


def test_repeat_scan_the_complete_series_is_chosen(tmp_path):
    # the rescan (higher series number) is truncated: the complete first series is chosen
    c = load_cohort(oai_cohort(tmp_path / "c", dess_slices=(160, 66)))
    r = knee(c, "9000001", "right")
    assert Path(r.sag_3d_dess).name == "61000100"  # barcode 01661000100, series number 5
    choice = c.report["series_choice"]
    assert choice["repeated_groups"] == 1 and choice["truncated"] == 1
    assert "66 slices" in choice["not_chosen"][0]


def test_repeat_scan_both_complete_the_later_series_is_chosen(tmp_path):
    c = load_cohort(oai_cohort(tmp_path / "c", dess_slices=(160, 160)))
    assert Path(knee(c, "9000001", "right").sag_3d_dess).name == "61000101"  # series number 6
    assert c.series.loc[c.series.chosen & (c.series.sequence == "sag_3d_dess"), "series_number"].max() == 6


def test_only_a_truncated_series_leaves_the_knee_without_that_sequence(tmp_path):
    c = load_cohort(oai_cohort(tmp_path / "c", dess_slices=(8,)))
    assert knee(c, "9000001", "right").sag_3d_dess is None
    assert knee(c, "9000001", "right").cor_iw_tse is not None
    assert c.report["series_choice"]["knee_visits_without_complete_series"] == 1


def test_flat_per_release_contents_files(tmp_path):
    root = oai_cohort(tmp_path / "c")
    text = (root / "00m/contents.csv").read_text()
    (root / "00m/contents.csv").unlink()
    lines = text.splitlines()
    _write(root / "contents.0E1.csv", "\n".join([lines[0], *[ln for ln in lines[1:] if ln.startswith("0.E.1")]]))
    _write(root / "contents.0C2.csv", "\n".join([lines[0], *[ln for ln in lines[1:] if ln.startswith("0.C.2")]]))
    c = load_cohort(root)
    assert knee(c, "9000001", "right").sag_3d_dess is not None
    assert knee(c, "9000002", "left").cor_iw_tse is not None


def test_missing_variable_names_file_expected_and_closest(tmp_path):
    root = oai_cohort(tmp_path / "c")
    p = root / "Clinical/AllClinical01.txt"
    p.write_text(p.read_text().replace("V01BMI", "V01BMl"))
    with pytest.raises(InputFileError, match=r"AllClinical01\.txt.*'V01BMI'.*Did you mean 'V01BML'") as e:
        load_cohort(root)
    assert "\n" not in str(e.value)


def test_variables_override_toml_and_csv(tmp_path):
    root = oai_cohort(tmp_path / "c")
    follow_ups = [root / "Clinical/AllClinical01.txt", root / "Clinical/AllClinical03.txt"]
    for p in follow_ups:
        p.write_text(p.read_text().replace("BMI|", "BMI_CALC|"))
    toml = _write(tmp_path / "vars.toml", '[oai.bmi]\ncolumn = "V{vv}BMI_CALC"\nbaseline_column = "P01BMI"\n'
                  '[oai.height_m]\nvisits = [0]\n')
    c = load_cohort(root, IngestOptions(variables=toml))
    assert knee(c, "9000001", "right", 12).bmi == pytest.approx(27.9)
    for p in follow_ups:
        p.write_text(p.read_text().replace("BMI_CALC|", "BMI|"))
    (root / "Clinical/AllClinical00.txt").write_text(
        (root / "Clinical/AllClinical00.txt").read_text().replace("P01BMI", "P01BMI_X"))
    csv = _write(tmp_path / "vars.csv", "style,variable,table,column,baseline_column\noai,bmi,,,P01BMI_X")
    assert knee(load_cohort(root, IngestOptions(variables=csv)), "9000001", "right").bmi == pytest.approx(27.5)
    bad = _write(tmp_path / "bad.toml", "[oai.bmii]\ncolumn = 'x'\n")
    with pytest.raises(InputFileError, match="unknown variable 'bmii'.*'bmi'"):
        load_cohort(root, IngestOptions(variables=bad))


# --------------------------------------------------------------------- style B (the NDA package)

def nda_table(path: Path, columns: list[str], rows: list[list[str]], *, descriptions: bool = True) -> Path:
    lines = ["\t".join(f'"{c}"' for c in columns)]
    if descriptions:
        lines.append("\t".join(f'"Description of {c}"' for c in columns))
    lines += ["\t".join(f'"{v}"' for v in r) for r in rows]
    return _write(path, "\n".join(lines))


COMMON = ["subjectkey", "src_subject_id", "interview_date", "interview_age", "sex", "visit"]


def nda_cohort(root: Path, *, dess_slices=(160,)) -> Path:
    """The same two participants as :func:`oai_cohort`, as an NDA package."""
    def common(pid, month, visit, sex):
        return [f"NDAR_INV{pid}", pid, f"01/0{1 + month // 12}/2004", str(month + 61 * 12 + 5), sex, visit]

    nda_table(root / "oai_enrollee01.txt", [*COMMON, "site"],
              [common("9000001", 0, "V00", "F") + ["A"], common("9000002", 0, "V00", "M") + ["C"]])
    nda_table(root / "oai_oarisk01.txt", [*COMMON, "bmi", "height", "weight"], [
        common("9000001", 0, "V00", "F") + ["27.5", "1640", "74"],
        common("9000001", 12, "V01", "F") + ["27.9", "", "75"],
        common("9000002", 0, "V00", "M") + ["", "1780", "90.2"],
    ])
    nda_table(root / "oai_koos_womac01.txt", [*COMMON, "womac_pain_right", "womac_pain_left"], [
        common("9000001", 0, "V00", "F") + ["3", ".R: Refused"], common("9000002", 0, "V00", "M") + ["0", ""],
    ])
    nda_table(root / "oai_kxrquantjsw01.txt", [*COMMON, "side", "readprj", "mcmjsw"], [
        common("9000001", 0, "V00", "F") + ["1", "16", "4.50"], common("9000001", 12, "V01", "F") + ["1", "16", "3.90"],
        common("9000002", 0, "V00", "M") + ["2", "16", "3.25"], common("9000002", 12, "V01", "M") + ["2", "16", "3.20"],
    ])
    nda_table(root / "oai_kxrsemiquant01.txt", [*COMMON, "side", "readprj", "xrkl"], [
        common("9000001", 0, "V00", "F") + ["1", "15", "2"], common("9000001", 0, "V00", "F") + ["1", "42", "3"],
    ])
    img_cols = [*COMMON, "image_file", "image_description", "image_modality", "comments_misc"]
    rows = []
    for i, n in enumerate(dess_slices):
        rel = f"00m/0.E.1/9000001/20040101/1661000{100 + i}.tar.gz"
        _series_tar(root / "image03" / rel, n, series_number=5 + i)
        rows.append(common("9000001", 0, "V00", "F")[:-4] + ["12/31/2003", "732", "F", "V00",
                    f"s3://nda-oai/submission_7/{rel}", "SAG_3D_DESS_RIGHT", "MRI", "OAI MR ENROLLMENT RIGHT"])
    rel = "00m/0.C.2/9000002/20040101/16610000003.tar.gz"
    _series_tar(root / "image03" / rel, 35)
    rows.append(common("9000002", 0, "V00", "M")[:-4] + ["12/31/2003", "845", "M", "V00",
                f"s3://nda-oai/submission_7/{rel}", "COR_IW_TSE_LEFT", "MRI", "OAI MR ENROLLMENT LEFT"])
    rows.append(common("9000002", 0, "V00", "M")[:-4] + ["12/31/2003", "845", "M", "V00",
                "s3://nda-oai/submission_7/00m/X/9000002/20040101/1.tar.gz", "PA_FIXED_FLEXION_KNEE", "X-Ray", ""])
    nda_table(root / "image03.txt", img_cols, rows)
    return root


def test_nda_package_is_detected_and_read(tmp_path):
    root = nda_cohort(tmp_path / "n")
    assert detect_style(root) == "nda"
    c = load_cohort(root)
    assert c.source == "nda"
    r = knee(c, "9000001", "right")
    assert r.sex == "F" and r.age == 61 and r.bmi == 27.5 and r.womac_pain == 3 and r.kl_grade == 2
    assert r.sag_3d_dess.endswith("image03/00m/0.E.1/9000001/20040101/1661000100.tar.gz")
    assert knee(c, "9000001", "right", 12).height_m == pytest.approx(1.64)  # carried forward
    assert knee(c, "9000002", "left").cor_iw_tse.endswith(".tar.gz")
    assert c.report["series_ignored"] == 1  # the X-ray row
    assert c.report["jsw_projects"] == ["16"]


def test_nda_repeat_tar_truncated_rescan_and_resolve(tmp_path):
    c = load_cohort(nda_cohort(tmp_path / "n", dess_slices=(160, 109)))
    assert knee(c, "9000001", "right").sag_3d_dess.endswith("1661000100.tar.gz")
    # a single tar is not counted at ingest; resolve counts it
    s = c.series.set_index("path")
    cor = knee(c, "9000002", "left").cor_iw_tse
    assert s.loc[cor, "status"] == "unknown"
    assert resolve(c, [("9000002", "left", 0)]) == {}
    assert c.series.set_index("path").loc[cor, "status"] == "complete"


def test_nda_corrupt_tar_is_left_out_when_resolved(tmp_path):
    root = nda_cohort(tmp_path / "n")
    tar = next((root / "image03/00m/0.C.2").rglob("*.tar.gz"))
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    c = load_cohort(root)
    assert resolve(c, [("9000002", "left", 0)]) == {("9000002", "left", 0): ["cor_iw_tse"]}
    assert knee(c, "9000002", "left").cor_iw_tse is None
    assert c.report["series_choice"]["unreadable"] == 1


def test_nda_table_without_its_description_row_is_refused_naming_file_and_line(tmp_path):
    root = nda_cohort(tmp_path / "n")
    nda_table(root / "oai_oarisk01.txt", [*COMMON, "bmi", "height", "weight"],
              [["NDAR_INV1", "9000001", "01/01/2004", "737", "F", "V00", "27.5", "1640", "74"]], descriptions=False)
    with pytest.raises(InputFileError, match=r"oai_oarisk01\.txt: line 2 holds data") as e:
        load_cohort(root)
    assert "\n" not in str(e.value)


def test_image03_missing_columns_named_with_closest(tmp_path):
    root = nda_cohort(tmp_path / "n")
    p = root / "image03.txt"
    p.write_text(p.read_text().replace('"image_file"', '"image_files"', 1))
    with pytest.raises(InputFileError, match=r"image03\.txt.*'image_file'.*Did you mean 'image_files'"):
        load_cohort(root)


def test_both_styles_in_one_folder_need_style(tmp_path):
    root = nda_cohort(tmp_path / "n")
    oai_cohort(root)
    with pytest.raises(InputFileError, match="both download styles.*--style"):
        load_cohort(root)
    assert load_cohort(root, IngestOptions(style="oai")).source == "oai"
    assert load_cohort(root, IngestOptions(style="nda")).source == "nda"


def test_slice_counts_of_archives_are_kept_between_commands(tmp_path, monkeypatch):
    root = nda_cohort(tmp_path / "n")
    counts = tmp_path / "cache" / "slice_counts.json"
    assert resolve(load_cohort(root), [("9000002", "left", 0)], count_cache=counts) == {}
    assert counts.is_file()

    def no_streaming(path):
        raise AssertionError(f"{path} streamed again")

    monkeypatch.setattr("studies.cohort.series.count_slices", no_streaming)
    c = load_cohort(root)
    assert resolve(c, [("9000002", "left", 0)], count_cache=counts) == {}
    assert c.series.set_index("path").loc[knee(c, "9000002", "left").cor_iw_tse, "n_slices"] == 35


def test_nda_repeat_both_complete_the_higher_series_number_is_chosen(tmp_path):
    c = load_cohort(nda_cohort(tmp_path / "n", dess_slices=(160, 160)))
    group = c.series[c.series.sequence == "sag_3d_dess"].sort_values("barcode")
    assert list(group.series_number) == [5.0, 6.0]  # read from the first member of each archive
    assert knee(c, "9000001", "right").sag_3d_dess.endswith("1661000101.tar.gz")
