"""Ingest of the OAI layout: contents.csv, pipe-delimited tables, codes and missing codes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from studies.cohort import KNEE_COLUMNS, load_cohort
from studies.cohort.oai_tables import is_missing
from studies.errors import InputFileError

HEADER = "Folder,ParticipantID,StudyDate,Barcode,StudyDescription,SeriesDescription"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n")


def write_mini_oai(root: Path) -> Path:
    """Two participants, baseline and 12 m, with codes and missing values as the OAI writes them."""
    _write(
        root / "00m/contents.csv",
        f"""{HEADER}
0.C.2/9000001/20040101/10001,9000001,20040101,016610000001,OAI^MR^ENROLLMENT^RIGHT,COR_IW_TSE_RIGHT
0.C.2/9000001/20040101/10002,9000001,20040101,016610000001,OAI^MR^ENROLLMENT^RIGHT,SAG_3D_DESS_RIGHT
0.C.2/9000001/20040101/10003,9000001,20040101,016610000001,OAI^MR^ENROLLMENT^RIGHT,AX_T2_MAP_RIGHT
0.C.2/9000001/20040101/10004,9000001,20040101,016610000001,OAI^MR^ENROLLMENT^LEFT,SAG_3D_DESS_LEFT
0.C.2/9000002/20040202/20001,9000002,20040202,016610000002,OAI^MR^ENROLLMENT^LEFT,COR_IW_TSE_LEFT
0.C.2/9000002/20040202/20002,9000002,20040202,016610000002,OAI^MR^ENROLLMENT^LEFT,SAG_3D_DESS_LEFT""",
    )
    _write(
        root / "12m/contents.csv",
        f"""{HEADER}
1.C.2/9000001/20050101/30001,9000001,20050101,016610000003,OAI^MR^12 MONTH^RIGHT,COR_IW_TSE_RIGHT""",
    )
    # tables in a subfolder, as the OAI zips unpack
    _write(
        root / "ClinicalData/Enrollees.txt",
        """ID|VERSION|P02SEX|V00SITE
9000001|2.1|2: Female|A
9000002|2.1|1: Male|C""",
    )
    _write(
        root / "ClinicalData/AllClinical00.txt",
        """ID|VERSION|V00AGE|P01BMI|P01HEIGHT|P01WEIGHT|V00WOMKPR|V00WOMKPL
9000001|0.2.2|61|27.5|1640|74|3|.: Missing Form/Incomplete Workbook
9000002|0.2.2|70|.B: Don't Know/Unknown/Uncertain|1780.5|90.2|0|1.5""",
    )
    _write(
        root / "ClinicalData/AllClinical01.txt",
        """ID|VERSION|V01AGE|V01BMI|V01HEIGHT|V01WEIGHT|V01WOMKPR|V01WOMKPL
9000001|1.2.1|62|27.9|1640|75|4|0
9000002|1.2.1|71|28|1780|89|.A: Not Expected|2""",
    )
    _write(
        root / "XRay/kxr_qjsw_duryea00.txt",
        """ID|VERSION|SIDE|V00MCMJSW|V00LCMJSW
9000001|0.6|1: Right|4.50|6.1
9000001|0.6|2: Left|.D: Not Done|6.0
9000002|0.6|2: Left|3.25|5.0""",
    )
    _write(
        root / "XRay/kxr_qjsw_duryea01.txt",
        """ID|VERSION|SIDE|V01MCMJSW
9000001|1.6|1: Right|3.70
9000002|1.6|2: Left|3.2""",
    )
    _write(
        root / "XRay/kxr_sq_bu00.txt",
        """ID|VERSION|SIDE|V00XRKL
9000001|0.8|1: Right|2
9000002|0.8|2: Left|.: Missing""",
    )
    return root


def row(knees, pid, side, month):
    sel = knees[(knees.participant_id == pid) & (knees.side == side) & (knees.visit_month == month)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_missing_codes():
    for cell in (
        ".: Missing Form/Incomplete Workbook",
        ".A: Not Expected",
        ".B: Don't Know",
        ".D: Not Done",
        "",
        " . ",
    ):
        assert is_missing(cell)
    for cell in ("0", "1: Male", "3.2", "-0.5"):
        assert not is_missing(cell)


def test_oai_layout_reads_to_knee_table(tmp_path):
    cohort = load_cohort(write_mini_oai(tmp_path / "c"))
    k = cohort.knees
    assert cohort.source == "oai" and not cohort.is_synthetic
    assert list(k.columns) == list(KNEE_COLUMNS)
    # knee-visits: 9000001 R 0/12, L 0 (image) ; 9000002 L 0/12
    assert len(k) == 5
    r0 = row(k, "9000001", "right", 0)
    assert r0.sex == "F" and r0.age == 61 and r0.bmi == 27.5
    assert r0.height_m == pytest.approx(1.64) and r0.weight_kg == 74
    assert r0.jsw_mm == 4.5 and r0.womac_pain == 3 and r0.kl_grade == 2
    assert r0.cor_iw_tse.endswith("00m/0.C.2/9000001/20040101/10001")
    assert r0.sag_3d_dess.endswith("10002")
    l0 = row(k, "9000001", "left", 0)
    assert math.isnan(l0.jsw_mm)  # .D: Not Done
    assert math.isnan(l0.womac_pain)  # .: Missing
    assert l0.cor_iw_tse is None and l0.sag_3d_dess.endswith("10004")
    b0 = row(k, "9000002", "left", 0)
    assert b0.sex == "M" and math.isnan(b0.bmi) and b0.womac_pain == 1.5 and math.isnan(b0.kl_grade)
    r12 = row(k, "9000001", "right", 12)
    assert r12.jsw_mm == pytest.approx(3.7) and r12.bmi == 27.9 and r12.womac_pain == 4
    assert r12.cor_iw_tse.endswith("30001") and r12.sag_3d_dess is None
    assert row(k, "9000002", "left", 12).womac_pain == 2
    assert cohort.report["series_ignored"] == 1  # the AX_T2_MAP series
    assert cohort.report["series_found"] == 6


def test_synthetic_folder_is_ignored_and_marks_synthetic(tmp_path):
    root = write_mini_oai(tmp_path / "c")
    _write(root / "synthetic/cohort.json", "{}")
    _write(root / "synthetic/Enrollees.txt", "garbage")
    _write(root / "00m/0.C.2/Enrollees.txt", "garbage")  # image trees are not searched
    cohort = load_cohort(root)
    assert cohort.is_synthetic and len(cohort.knees) == 5


def test_bad_code_names_file_row_column_value(tmp_path):
    root = write_mini_oai(tmp_path / "c")
    _write(
        root / "ClinicalData/Enrollees.txt",
        "ID|VERSION|P02SEX\n9000001|2.1|2: Female\n9000002|2.1|3: Other",
    )
    with pytest.raises(InputFileError) as exc:
        load_cohort(root)
    msg = str(exc.value)
    assert "Enrollees.txt" in msg and "row 2" in msg and "P02SEX" in msg and "3: Other" in msg


def test_non_numeric_jsw_is_an_error(tmp_path):
    root = write_mini_oai(tmp_path / "c")
    _write(root / "XRay/kxr_qjsw_duryea01.txt", "ID|VERSION|SIDE|V01MCMJSW\n9000001|1|1: Right|abc")
    with pytest.raises(InputFileError, match=r"row 1, column 'V01MCMJSW'.*'abc'"):
        load_cohort(root)


def test_missing_table_and_misspelt_column(tmp_path):
    root = write_mini_oai(tmp_path / "c")
    (root / "ClinicalData/Enrollees.txt").unlink()
    with pytest.raises(InputFileError, match="enrollees.txt"):
        load_cohort(root)
    root = write_mini_oai(tmp_path / "d")
    _write(root / "ClinicalData/Enrollees.txt", "ID|VERSION|P02SX\n9000001|2.1|2: Female")
    with pytest.raises(InputFileError, match="Did you mean 'P02SX'"):
        load_cohort(root)


def test_not_a_cohort(tmp_path):
    with pytest.raises(InputFileError, match="not a cohort"):
        load_cohort(tmp_path)
