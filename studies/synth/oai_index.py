"""The OAI style's image index: ``<VV>m/contents.csv``, or per-release flat copies.

``contents.csv`` has the header ``Folder,ParticipantID,StudyDate,Barcode,StudyDescription,
SeriesDescription``; ``Folder`` is relative to the visit folder
(``0.E.1/9000099/20050712/10424405``, its last part the barcode's last 8 digits). As in the
real files, ``Barcode`` is usually written as an integer (``166104244xx``: the leading zero
dropped, ``Quirks.integer_barcodes``) and a ``StudyDescription`` may end with a space
(``Quirks.trailing_space``, drawn per knee-visit).

With ``flat=True`` the rows are written per image release instead, as some users keep them:
``contents.0C2.csv``, ``contents.0E1.csv``, ``contents.1C2.csv`` ... in the cohort folder itself
(no ``<VV>m/contents.csv``); ``Folder`` stays relative to ``<VV>m/``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from studies.atomic import write_text_atomic
from studies.synth.layout import VISIT_FOLDERS, SeriesRecord
from studies.synth.quirks import Quirks, unit

CONTENTS_HEADER = ("Folder", "ParticipantID", "StudyDate", "Barcode", "StudyDescription", "SeriesDescription")


def _row(seed: int, quirks: Quirks, r: SeriesRecord) -> tuple[str, ...]:
    barcode = r.barcode
    if unit(seed, "integer_barcodes", r.series_uid) < quirks.integer_barcodes:
        barcode = str(int(barcode))
    study = r.study_description
    if unit(seed, "trailing_space", r.participant_id, r.side, r.visit_month) < quirks.trailing_space:
        study += " "
    return (r.folder, r.participant_id, r.study_date, barcode, study, r.series_description)


def contents_csv(records: list[SeriesRecord], seed: int, quirks: Quirks) -> str:
    """The text of one ``contents.csv`` listing ``records``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CONTENTS_HEADER)
    for r in sorted(records, key=lambda r: (r.participant_id, r.side != "right", r.sequence, r.series_number)):
        w.writerow(_row(seed, quirks, r))
    return buf.getvalue()


def flat_name(release: str) -> str:
    """``0.E.1`` -> ``contents.0E1.csv``."""
    return f"contents.{release.replace('.', '')}.csv"


def write_contents(folder: Path, records: list[SeriesRecord], seed: int, quirks: Quirks, *,
                   flat: bool = False) -> list[Path]:
    """Write the image index of ``records`` under ``folder`` (the cohort root); returns the paths."""
    groups: dict[Path, list[SeriesRecord]] = {}
    if flat:
        for r in records:
            groups.setdefault(folder / flat_name(r.release), []).append(r)
    else:
        for month, visit in VISIT_FOLDERS.items():
            groups[folder / visit / "contents.csv"] = [r for r in records if r.visit_month == month]
    for path, group in sorted(groups.items()):
        write_text_atomic(path, contents_csv(group, seed, quirks))
    return sorted(groups)
