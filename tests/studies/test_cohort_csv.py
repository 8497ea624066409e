"""The coordinators' plain-CSV cohort format."""

from __future__ import annotations

import math

import pytest

from studies.cohort import KNEE_COLUMNS, load_cohort
from studies.errors import InputFileError

HEADER = "patient_id,side,visit_month,min_medial_jsw_mm,womac_pain,age,sex,bmi,height_m,weight_kg,cor_iw_tse,sag_3d_dess"
ROWS = [
    "P001,right,0,4.1,3,61,F,27.4,1.64,73.5,img/P001_cor,img/P001_sag.nii.gz",
    "P001,R,12,3.5,,62,female,27.6,1.64,74,,",
    "P002,Left,0,3.0,0,70,M,,1.80,90,/abs/cor.nii,/abs/sag",
]


def write(tmp_path, header=HEADER, rows=ROWS, name="cohort.csv"):
    p = tmp_path / name
    p.write_text("\n".join([header, *rows]) + "\n")
    return p


def test_plain_csv_file_and_folder(tmp_path):
    p = write(tmp_path)
    for src in (p, tmp_path):
        c = load_cohort(src)
        assert c.source == "csv" and list(c.knees.columns) == list(KNEE_COLUMNS)
        k = c.knees
        assert len(k) == 3
        r = k[(k.participant_id == "P001") & (k.visit_month == 0)].iloc[0]
        assert r.side == "right" and r.sex == "F" and r.jsw_mm == 4.1 and r.height_m == 1.64
        assert r.cor_iw_tse == str(tmp_path / "img/P001_cor")  # relative to the CSV
        r12 = k[(k.participant_id == "P001") & (k.visit_month == 12)].iloc[0]
        assert r12.side == "right" and r12.sex == "F" and math.isnan(r12.womac_pain)
        assert r12.cor_iw_tse is None and math.isnan(r12.kl_grade)
        p2 = k[k.participant_id == "P002"].iloc[0]
        assert p2.side == "left" and p2.sex == "M" and math.isnan(p2.bmi)
        assert p2.cor_iw_tse == "/abs/cor.nii"


def test_misspelt_column_did_you_mean(tmp_path):
    p = write(tmp_path, header=HEADER.replace("min_medial_jsw_mm", "min_medial_jsw"))
    with pytest.raises(InputFileError, match="Did you mean 'min_medial_jsw_mm'"):
        load_cohort(p)
    p = write(tmp_path, header=HEADER.replace("weight_kg", "wieght_kg"))
    with pytest.raises(InputFileError) as exc:
        load_cohort(p)
    assert "wieght_kg" in str(exc.value) and "weight_kg" in str(exc.value)


def test_unrelated_extra_column_is_a_warning(tmp_path):
    rows = [r + ",x" for r in ROWS]
    c = load_cohort(write(tmp_path, header=HEADER + ",notes", rows=rows))
    assert any("notes" in w for w in c.report["warnings"])


@pytest.mark.parametrize(
    ("col_index", "bad", "column"),
    [
        (1, "middle", "side"),
        (2, "6", "visit_month"),
        (3, "4,1mm", None),
        (6, "X", "sex"),
        (8, "164", "height_m"),
    ],
)
def test_bad_cells_name_row_column_value(tmp_path, col_index, bad, column):
    cells = ROWS[1].split(",")
    cells[col_index] = bad
    rows = [ROWS[0], ",".join(cells), ROWS[2]]
    if column is None:  # a comma in a cell shifts the row: the parser must say so
        with pytest.raises(InputFileError, match="cohort.csv"):
            load_cohort(write(tmp_path, rows=rows))
        return
    with pytest.raises(InputFileError) as exc:
        load_cohort(write(tmp_path, rows=rows))
    msg = str(exc.value)
    assert (
        "cohort.csv" in msg and "row 2" in msg and f"column '{column}'" in msg and repr(bad) in msg
    )


def test_duplicate_knee_visit(tmp_path):
    with pytest.raises(InputFileError, match="listed twice"):
        load_cohort(write(tmp_path, rows=[*ROWS, ROWS[0]]))
