"""The image index of each download style -> one table of MR series.

- ``oai``: ``<VV>m/contents.csv`` per visit (``Folder,ParticipantID,StudyDate,Barcode,
  StudyDescription,SeriesDescription``; ``Folder`` relative to the visit folder), or
  per-release copies ``contents.0E1.csv``, ``contents.1C2.csv`` ... kept flat in the cohort
  folder (the release's leading number gives the visit: 0, 1, 3, 5 -> 0, 12, 24, 36 months).
  A series is a folder of extensionless DICOM files ``001``, ``002`` ...
- ``nda``: ``image03.txt`` (NDA structure): ``image_file``
  ``s3://<bucket>/submission_<n>/<VV>m/<release>/<ID>/<YYYYMMDD>/<barcode>.tar.gz`` is saved by
  the NDA's download tool as ``image03/<VV>m/...``; one ``.tar.gz`` per series.
  ``interview_date`` is a day before the image's date and is never used.

Sequences are found by their series description (``COR_IW_TSE_RIGHT``, ``SAG_3D_DESS_LEFT``
...); every other series (localisers, MPRs, T2 maps, X-rays) is counted and ignored.

Output columns: participant_id, side, visit_month, sequence, path (absolute), barcode
(digits, leading zeros dropped), study_date (YYYYMMDD), index_file (the index it came from).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from studies.cohort.nda_tables import read_nda_table
from studies.errors import InputFileError, require_columns

SERIES_RE = re.compile(r"^(COR_IW_TSE|SAG_3D_DESS)_(LEFT|RIGHT)$")
CONTENTS_COLUMNS = ("Folder", "ParticipantID", "StudyDate", "Barcode", "StudyDescription", "SeriesDescription")
#: Visit month -> the OAI's visit folder.
VISIT_FOLDERS: dict[int, str] = {m: f"{m:02d}m" for m in (0, 12, 18, 24, 30, 36, 48, 72, 96)}
#: A release's leading number (``0.E.1``, ``contents.0E1.csv``) -> visit month.
RELEASE_VISIT: dict[int, int] = {0: 0, 1: 12, 2: 18, 3: 24, 4: 30, 5: 36, 6: 48, 8: 72, 10: 96}
FLAT_CONTENTS_RE = re.compile(r"^contents\.(\d+)([A-Za-z])(\d+)\.csv$", re.IGNORECASE)
NDA_PATH_RE = re.compile(r"(?:^|/)(\d\d)m/([^/]+)/(\d+)/(\d{8})/([^/]+?)(\.tar\.gz|\.tgz|\.tar)?$")
COLUMNS = ("participant_id", "side", "visit_month", "sequence", "path", "barcode", "study_date", "index_file")
USED_MONTHS = (0, 12, 24, 36)


def contents_files(root: Path) -> list[tuple[Path, int]]:
    """Every style-A image index under ``root``: (file, visit month)."""
    found = [(root / folder / "contents.csv", month) for month, folder in VISIT_FOLDERS.items()
             if (root / folder / "contents.csv").is_file()]
    for p in sorted(root.iterdir()) if root.is_dir() else []:
        m = FLAT_CONTENTS_RE.match(p.name)
        if m and p.is_file() and int(m.group(1)) in RELEASE_VISIT:
            found.append((p, RELEASE_VISIT[int(m.group(1))]))
    return found


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(COLUMNS))


def _barcode(text: str) -> str:
    digits = text.strip()
    return (digits.lstrip("0") or "0") if digits.isdigit() else digits


def read_contents(path: Path, month: int, root: Path, report: dict[str, Any]) -> pd.DataFrame:
    """One style-A ``contents.csv`` -> series rows (see module docstring)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(path, f"cannot read this contents.csv ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    require_columns(path, df.columns, ("Folder", "ParticipantID", "SeriesDescription"),
                    hint="The header must be " + ",".join(CONTENTS_COLUMNS))
    visit_dir = root / VISIT_FOLDERS[month]
    rows = []
    for i, r in enumerate(df.to_dict("records")):
        m = SERIES_RE.match(r["SeriesDescription"].strip().upper())
        if not m:
            report["series_ignored"] += 1
            continue
        pid, folder = r["ParticipantID"].strip(), r["Folder"].strip()
        if not pid.isdigit():
            raise InputFileError(path, "participant ids must be digits", column="ParticipantID", row=i + 1, value=pid)
        if not folder or Path(folder).is_absolute() or ".." in Path(folder).parts:
            raise InputFileError(path, "expected a folder relative to the visit folder", column="Folder",
                                 row=i + 1, value=folder)
        parts = folder.split("/")
        date = r.get("StudyDate", "").strip() or (parts[-2] if len(parts) >= 2 else "")
        rows.append((pid, m.group(2).lower(), month, m.group(1).lower(), str(visit_dir / folder),
                     _barcode(r.get("Barcode", "")), date, str(path)))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def read_image03(path: Path, root: Path, report: dict[str, Any]) -> pd.DataFrame:
    """The NDA's ``image03.txt`` -> series rows, each ``.tar.gz`` under ``root/image03/``."""
    df = read_nda_table(path, required=("src_subject_id", "image_file", "image_description"))
    modality = df["image_modality"].str.upper() if "image_modality" in df.columns else pd.Series("", index=df.index)
    rows = []
    for i, r in enumerate(df.to_dict("records")):
        m = SERIES_RE.match(r["image_description"].strip().upper())
        if not m or modality.iloc[i] not in ("MRI", "MR", ""):
            report["series_ignored"] += 1
            continue
        pid = r["src_subject_id"].strip()
        if not pid.isdigit():
            raise InputFileError(path, "participant ids must be digits", column="src_subject_id", row=i + 1, value=pid)
        p = NDA_PATH_RE.search(r["image_file"].strip())
        if not p:
            raise InputFileError(path, "image_file is not an OAI image path (.../<VV>m/<release>/<ID>/<YYYYMMDD>/<barcode>.tar.gz)",
                                 column="image_file", row=i + 1, value=r["image_file"])
        vv, release, folder_id, date, barcode = p.group(1), p.group(2), p.group(3), p.group(4), p.group(5)
        month = int(vv)
        if month not in VISIT_FOLDERS:
            raise InputFileError(path, "unknown visit folder in image_file", column="image_file", row=i + 1,
                                 value=r["image_file"])
        rel = Path(f"{vv}m") / release / folder_id / date / f"{barcode}{p.group(6) or ''}"
        local = root / "image03" / rel
        if not local.exists() and (root / rel).exists():
            local = root / rel
        rows.append((pid, m.group(2).lower(), month, m.group(1).lower(), str(local), _barcode(barcode), date, str(path)))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def read_index(style: str, root: Path, report: dict[str, Any]) -> pd.DataFrame:
    """Every MR series of the sequences the project uses, from ``style``'s index at ``root``.

    Series of visits after 36 months are counted in ``report['series_later_visits']`` and
    dropped (labels need 0-36 months); a series listed twice (in two copies of an index) once.
    """
    report.setdefault("series_ignored", 0)
    if style == "nda":
        index = root / "image03.txt"
        if not index.is_file():
            report["warnings"].append(f"{index} not found: no images")
            return _empty()
        frames = [read_image03(index, root, report)]
    else:
        files = contents_files(root)
        if not files:
            report["warnings"].append(f"{root}: no <VV>m/contents.csv or contents.<release>.csv: no images")
            return _empty()
        frames = [read_contents(p, month, root, report) for p, month in files]
    df = pd.concat(frames, ignore_index=True).drop_duplicates("path")
    later = ~df["visit_month"].isin(USED_MONTHS)
    report["series_later_visits"] = int(later.sum())
    return df[~later].reset_index(drop=True)
