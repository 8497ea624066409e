"""Where things go in an OAI-format cohort: visit folders, releases, series folders, UIDs.

Identifiers are derived from the seed and the knee (a SHA-256 of both), never from a
random state or the clock, so the same seed gives the same folders, barcodes and UIDs and
:func:`studies.synth.materialize` can rebuild any series on its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

import pandas as pd
from pydicom.uid import generate_uid

from studies.package import SEQUENCES

VISIT_FOLDERS = {0: "00m", 12: "12m", 24: "24m", 36: "36m"}
#: OAI variable prefix and table-file suffix per visit month.
VISIT_PREFIX = {0: "V00", 12: "V01", 24: "V03", 36: "V05"}
TABLE_SUFFIX = {0: "00", 12: "01", 24: "03", 36: "05"}
RELEASES = {0: "0.C.2", 12: "1.C.2", 24: "3.C.2", 36: "5.C.1"}
VISIT_NAMES = {0: "ENROLLMENT", 12: "12 MONTH", 24: "24 MONTH", 36: "36 MONTH"}
SERIES_STEMS = {"cor_iw_tse": "COR_IW_TSE", "sag_3d_dess": "SAG_3D_DESS"}
CONTENTS_HEADER = ("Folder", "ParticipantID", "StudyDate", "Barcode", "StudyDescription", "SeriesDescription")


@dataclass(frozen=True)
class SeriesRecord:
    """One series of one knee at one visit: its place in the tree and its identifiers."""

    participant_id: str
    side: str
    visit_month: int
    sequence: str
    folder: str  # relative to the visit folder
    study_date: str  # YYYYMMDD
    barcode: str
    study_description: str
    series_description: str
    study_uid: str
    series_uid: str
    frame_uid: str
    series_number: int

    @property
    def path(self) -> str:
        """Series folder relative to the cohort root."""
        return f"{VISIT_FOLDERS[self.visit_month]}/{self.folder}"


def _digits(seed: int, *parts: object, n: int) -> str:
    h = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).hexdigest()
    return str(int(h, 16) % 10**n).zfill(n)


def _uid(seed: int, *parts: object) -> str:
    return generate_uid(entropy_srcs=[str(seed), *map(str, parts)])


def series_record(seed: int, participant_id: str, side: str, visit_month: int, sequence: str, study_date: str) -> SeriesRecord:
    """The deterministic record of one series."""
    study_key = (participant_id, side, visit_month)
    series_id = "1" + _digits(seed, *study_key, sequence, "series", n=7)
    return SeriesRecord(
        participant_id=participant_id, side=side, visit_month=visit_month, sequence=sequence,
        folder=f"{RELEASES[visit_month]}/{participant_id}/{study_date}/{series_id}",
        study_date=study_date,
        barcode="016610" + _digits(seed, *study_key, "barcode", n=6),
        study_description=f"OAI^MR^{VISIT_NAMES[visit_month]}^{side.upper()}",
        series_description=f"{SERIES_STEMS[sequence]}_{side.upper()}",
        study_uid=_uid(seed, *study_key, "study"),
        series_uid=_uid(seed, *study_key, sequence, "series"),
        frame_uid=_uid(seed, *study_key, "frame"),
        series_number=SEQUENCES.index(sequence) + 1,
    )


def series_records(seed: int, knees: pd.DataFrame) -> list[SeriesRecord]:
    """Records of every series that exists (``has_<sequence>``) in the ground-truth table."""
    out = []
    for row in knees.itertuples(index=False):
        for seq in SEQUENCES:
            if bool(getattr(row, f"has_{seq}")):
                out.append(series_record(seed, str(row.participant_id), row.side, int(row.visit_month), seq, str(row.study_date)))
    return out


def contents_csv(records: list[SeriesRecord]) -> str:
    """One visit's ``contents.csv`` text for ``records`` (all of that visit)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CONTENTS_HEADER)
    for r in sorted(records, key=lambda r: (r.participant_id, r.side != "right", r.sequence)):
        w.writerow((r.folder, r.participant_id, r.study_date, r.barcode, r.study_description, r.series_description))
    return buf.getvalue()
