"""The ``nda`` download style: the NIMH Data Archive's OAI package (tables and image index).

Files, flat in the cohort folder (format: :mod:`studies.synth.nda_format`):

- ``image03.txt``: one row per MR series (and, ``Quirks.xray_rows``, X-Ray rows to ignore):
  common columns, ``comments_misc`` (``OAI MR ENROLLMENT RIGHT``), ``image_file``
  (``s3://nda-oai/submission_<n>/<VV>m/<release>/<ID>/<YYYYMMDD>/<series>.tar.gz``; saved by
  the NDA's download tool as ``image03/<VV>m/...``; ``<series>`` is the style-A series
  folder's name, the barcode's last 8 digits), ``image_description`` (``SAG_3D_DESS_RIGHT``),
  ``scan_type``, ``image_modality`` (``MRI`` / ``X-Ray``), ``image_file_format``, ``visit``;
- ``oai_enrollee01.txt``: per participant (visit V00): ``site`` (A-E);
- ``oai_oarisk01.txt``: per participant-visit: ``bmi``, ``height`` (mm; blank where not
  measured), ``weight`` (kg); age is ``interview_age`` (months);
- ``oai_koos_womac01.txt``: per participant-visit: ``womac_pain_right``/``left`` (0-20),
  ``womac_stiff_right``/``left``, ``womac_adl_right``/``left``;
- ``oai_kxrquantjsw01.txt``: per knee-visit and reading project: ``side`` (1 right, 2 left),
  ``readprj``, ``mcmjsw`` (mm);
- ``oai_kxrsemiquant01.txt``: per knee-visit and reading project: ``side``, ``readprj``, ``xrkl``;
- ``package_info.txt``, ``dataset_collection.txt``: what the package holds.

The values are the OAI style's (same ground truth, readings, missing codes and blank cells);
coded cells are bare (``1``, ``2``), visits ``V00``, ``V01``, ``V03``, ``V05``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from studies.atomic import write_text_atomic
from studies.synth.layout import VISIT_FOLDERS, VISIT_NAMES, VISIT_PREFIX, SeriesRecord
from studies.synth.nda_format import (
    COLLECTION_ID,
    common_columns,
    interview_age,
    interview_date,
    nda_text,
    subjectkey,
)
from studies.synth.quirks import Quirks, unit
from studies.synth.tables import height_months

#: The NDA submission holding each image release (made-up numbers, stable per release).
SUBMISSIONS = {"0.C.2": 10510, "0.E.1": 10511, "1.C.2": 10512, "3.C.2": 10513, "5.C.1": 10514}
XRAY_RELEASES = {0: "0.C.1", 12: "1.C.1", 24: "3.C.1", 36: "5.C.1"}
SCAN_TYPES = {"cor_iw_tse": "MR structural (PD)", "sag_3d_dess": "MR structural (T2)"}
DATASET_IDS = {"image03": "20001", "oai_enrollee01": "20002", "oai_oarisk01": "20003", "oai_koos_womac01": "20004",
               "oai_kxrquantjsw01": "20005", "oai_kxrsemiquant01": "20006"}
VISIT_DESCRIPTION = ("visit", "Visit name (V00 baseline, V01 12 months, V03 24 months, V05 36 months)")


def _common(seed: int, structure: str, row_id: int, pid: str, study_date: str, age: float, sex: str) -> list:
    return [COLLECTION_ID, row_id, DATASET_IDS[structure], subjectkey(seed, pid), pid, interview_date(study_date),
            interview_age(age), sex]


def _who(knees: pd.DataFrame) -> dict[tuple[str, str, int], tuple[str, float, str]]:
    """(participant, side, month) -> (study date, age, sex) of each knee-visit."""
    cols = ["participant_id", "side", "visit_month", "study_date", "age", "sex"]
    return {(p, s, int(m)): (d, a, x) for p, s, m, d, a, x in knees[cols].itertuples(index=False)}


def image_file(r: SeriesRecord) -> str:
    """The S3 address of a series' archive, as ``image03.txt`` gives it."""
    return (f"s3://nda-oai/submission_{SUBMISSIONS[r.release]}/{VISIT_FOLDERS[r.visit_month]}/{r.release}/"
            f"{r.participant_id}/{r.study_date}/{r.series_id}.tar.gz")


def image03(records: list[SeriesRecord], knees: pd.DataFrame, seed: int, quirks: Quirks) -> str:
    """``image03.txt``: the MR series of ``records`` and some X-Ray rows."""
    cols = common_columns("image03") + [
        ("comments_misc", "Miscellaneous comments"), ("image_file", "Data file (image, behavioral, anatomical, etc)"),
        ("image_description", "Image description"), ("scan_type", "Type of Scan"),
        ("image_modality", "Image modality"), ("image_file_format", "Image file format"), VISIT_DESCRIPTION,
    ]
    who = _who(knees)
    entries = []
    for r in records:
        _, age, sex = who[(r.participant_id, r.side, r.visit_month)]
        entries.append(((r.visit_month, r.participant_id, 0, r.side != "right", r.sequence, r.series_number),
                        [r.participant_id, r.study_date, age, sex, r.study_description.replace("^", " "),
                         image_file(r), r.series_description, SCAN_TYPES[r.sequence], "MRI", "DICOM",
                         VISIT_PREFIX[r.visit_month]]))
    for t in knees[knees.attended & (knees.side == "right")].itertuples(index=False):
        pid, month = t.participant_id, int(t.visit_month)
        if unit(seed, "xray_rows", pid, month) >= quirks.xray_rows:
            continue
        digits = str(int(unit(seed, "xray_barcode", pid, month) * 1e7)).zfill(7)
        path = (f"s3://nda-oai/submission_10520/{VISIT_FOLDERS[month]}/{XRAY_RELEASES[month]}/{pid}/{t.study_date}/"
                f"2{digits}.tar.gz")
        entries.append(((month, pid, 1), [pid, t.study_date, t.age, t.sex, f"OAI XR {VISIT_NAMES[month]}", path,
                                          "Bilateral PA Fixed Flexion Knee", "X-Ray", "X-Ray", "DICOM",
                                          VISIT_PREFIX[month]]))
    rows = []
    for i, (_, (pid, study_date, age, sex, *rest)) in enumerate(sorted(entries, key=lambda e: e[0]), start=1):
        rows.append(_common(seed, "image03", i, pid, study_date, age, sex) + rest)
    return nda_text(cols, rows)


def _visits(knees: pd.DataFrame) -> pd.DataFrame:
    """One row per attended participant-visit (the right knee's row), with the left knee's WOMAC."""
    right = knees[knees.attended & (knees.side == "right")].reset_index(drop=True)
    left = knees[knees.side == "left"].set_index(["participant_id", "visit_month"])
    for col in ("womac_pain", "womac_table_code", "womac_stiffness", "womac_function"):
        right[f"{col}_left"] = [left.at[(p, m), col] for p, m in zip(right.participant_id, right.visit_month,
                                                                     strict=True)]
    return right.sort_values(["visit_month", "participant_id"], kind="stable").reset_index(drop=True)


def _pain(value, code) -> str:
    return code or str(int(value))


def clinical(participants: pd.DataFrame, knees: pd.DataFrame, seed: int, quirks: Quirks) -> dict[str, str]:
    """``oai_enrollee01``, ``oai_oarisk01`` and ``oai_koos_womac01`` (name -> text)."""
    visits = _visits(knees)
    base = visits[visits.visit_month == 0].set_index("participant_id")
    enrol = []
    for i, p in enumerate(participants.itertuples(index=False), start=1):
        b = base.loc[p.participant_id]
        enrol.append(_common(seed, "oai_enrollee01", i, p.participant_id, b.study_date, b.age, p.sex)
                     + ["V00", p.site])
    risk, womac = [], []
    measured = height_months(quirks)
    for i, v in enumerate(visits.itertuples(index=False), start=1):
        blank = set(str(v.blank_cells).split(";"))
        head = [v.participant_id, v.study_date, v.age, v.sex]
        height = str(int(v.height_mm)) if v.visit_month in measured and "height_mm" not in blank else ""
        risk.append(_common(seed, "oai_oarisk01", i, *head) + [
            VISIT_PREFIX[v.visit_month], "" if "bmi" in blank else format(v.bmi, ".1f"), height,
            "" if "weight_kg" in blank else format(v.weight_kg, ".1f")])
        womac.append(_common(seed, "oai_koos_womac01", i, *head) + [
            VISIT_PREFIX[v.visit_month], _pain(v.womac_pain, v.womac_table_code),
            _pain(v.womac_pain_left, v.womac_table_code_left), int(v.womac_stiffness), int(v.womac_stiffness_left),
            int(v.womac_function), int(v.womac_function_left)])
    return {
        "oai_enrollee01.txt": nda_text(common_columns("oai_enrollee01") + [
            VISIT_DESCRIPTION, ("site", "Clinic site (A-E)")], enrol),
        "oai_oarisk01.txt": nda_text(common_columns("oai_oarisk01") + [
            VISIT_DESCRIPTION, ("bmi", "Body mass index (kg/m2)"), ("height", "Standing height (mm)"),
            ("weight", "Body weight (kg)")], risk),
        "oai_koos_womac01.txt": nda_text(common_columns("oai_koos_womac01") + [
            VISIT_DESCRIPTION, ("womac_pain_right", "Right knee: WOMAC pain score (0-20)"),
            ("womac_pain_left", "Left knee: WOMAC pain score (0-20)"),
            ("womac_stiff_right", "Right knee: WOMAC stiffness score (0-8)"),
            ("womac_stiff_left", "Left knee: WOMAC stiffness score (0-8)"),
            ("womac_adl_right", "Right knee: WOMAC disability score (0-68)"),
            ("womac_adl_left", "Left knee: WOMAC disability score (0-68)")], womac),
    }


def xray(knees: pd.DataFrame, readings: pd.DataFrame, seed: int) -> dict[str, str]:
    """``oai_kxrquantjsw01`` (``mcmjsw``) and ``oai_kxrsemiquant01`` (``xrkl``), one row per knee-visit and project."""
    who = _who(knees)
    out = {}
    for table, structure, col, desc in (
        ("jsw", "oai_kxrquantjsw01", "mcmjsw", "Medial minimum joint space width (mm)"),
        ("kl", "oai_kxrsemiquant01", "xrkl", "Kellgren-Lawrence grade (0-4)"),
    ):
        rows = []
        sel = readings[readings.table == table]
        for i, r in enumerate(sel.itertuples(index=False), start=1):
            study_date, age, sex = who[(r.participant_id, r.side, int(r.visit_month))]
            value = r.code or (format(r.value, ".3f") if table == "jsw" else str(int(r.value)))
            rows.append(_common(seed, structure, i, r.participant_id, study_date, age, sex) + [
                VISIT_PREFIX[r.visit_month], 1 if r.side == "right" else 2, r.project, value])
        out[f"{structure}.txt"] = nda_text(common_columns(structure) + [
            VISIT_DESCRIPTION, ("side", "Side of knee (1: Right, 2: Left)"), ("readprj", "Reading project"),
            (col, desc)], rows)
    return out


def package_files(files: dict[str, str], seed: int) -> dict[str, str]:
    """``package_info.txt`` and ``dataset_collection.txt`` describing ``files`` (name -> text)."""
    structures = sorted(n.removesuffix(".txt") for n in files)
    info = nda_text([("package_id", "Package id"), ("package_name", "Package name"), ("collection_id", "Collection"),
                     ("files", "Structure files"), ("description", "Description")],
                    [[f"S{seed}", "OAI knee MRI (synthetic)", COLLECTION_ID, len(files),
                      "Synthetic Osteoarthritis Initiative package written by knee-study synth-cohort"]])
    rows = [[i, DATASET_IDS[s], COLLECTION_ID, s, f"{s}.txt", files[f"{s}.txt"].count("\n") - 2]
            for i, s in enumerate(structures, start=1)]
    coll = nda_text([("dataset_collection_id", "Row"), ("dataset_id", "Dataset"), ("collection_id", "Collection"),
                     ("shortname", "Structure short name"), ("file_name", "File"), ("rows", "Data rows")], rows)
    return {"package_info.txt": info, "dataset_collection.txt": coll}


def write_nda_tables(folder: Path, participants: pd.DataFrame, knees: pd.DataFrame, readings: pd.DataFrame,
                     records: list[SeriesRecord], seed: int, quirks: Quirks) -> list[Path]:
    """Write every NDA structure file and the package files into ``folder``; returns the paths."""
    files = {"image03.txt": image03(records, knees, seed, quirks), **clinical(participants, knees, seed, quirks),
             **xray(knees, readings, seed)}
    files.update(package_files(files, seed))
    for name, text in files.items():
        write_text_atomic(folder / name, text)
    return [folder / n for n in files]
