"""Choosing one series per knee, visit and sequence: the complete one, then the latest.

The OAI has knees scanned twice at one visit (a repeat) and series cut short (8, 66 or 109
slices of a 160-slice DESS). Per knee, visit and sequence every listed series is a
candidate; each gets a *status*:

===========  =================================================================
complete     on disk, at least the protocol's slice count (:data:`PROTOCOL_SLICES`)
unknown      on disk, not counted yet (a single ``.tar.gz``: counting streams it)
truncated    on disk, fewer slices than the protocol's
unreadable   on disk, but a corrupt or truncated archive
absent       listed in the index, not on disk (a partial download; or a synthetic
             cohort's series not yet written)
===========  =================================================================

The chosen series is the best status (complete > unknown > absent > truncated > unreadable),
then the highest DICOM SeriesNumber (read from the first slice's header, repeats only), then
the latest study date, then the highest barcode. Counting a folder lists its directory;
counting a tar streams it: so tars are counted only where a choice is needed (repeats) or
when asked (:func:`resolve`, for the knees a study or a model actually reads).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studies.atomic import write_text_atomic
from studies.errors import InputFileError
from studies.series_io import count_slices, is_tar_series

#: Slices of a complete series in the OAI's protocol (COR IW TSE 35 x 3 mm; SAG 3D DESS 160 x 0.7 mm).
PROTOCOL_SLICES: dict[str, int] = {"cor_iw_tse": 35, "sag_3d_dess": 160}
STATUS_RANK = {"complete": 4, "unknown": 3, "absent": 2, "truncated": 1, "unreadable": 0}
USABLE = ("complete", "unknown", "absent")
GROUP = ["participant_id", "side", "visit_month", "sequence"]


def series_number(path: str | Path) -> float:
    """DICOM SeriesNumber (0020,0011) of the first slice of a folder or tar; NaN if unreadable."""
    import pydicom

    path = Path(path)
    try:
        if path.is_dir():
            first = min((p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")), default=None)
            if first is None:
                return float("nan")
            ds = pydicom.dcmread(first, stop_before_pixels=True, specific_tags=["SeriesNumber"])
        else:
            with tarfile.open(path, mode="r|*") as tf:
                for m in tf:
                    if m.isfile() and not Path(m.name).name.startswith("."):
                        head = io.BytesIO(tf.extractfile(m).read())  # pydicom needs to seek
                        ds = pydicom.dcmread(head, stop_before_pixels=True, specific_tags=["SeriesNumber"])
                        break
                else:
                    return float("nan")
        return float(ds.SeriesNumber) if "SeriesNumber" in ds else float("nan")
    except Exception:  # noqa: BLE001 - any unreadable header only loses the tie-break
        return float("nan")


class CountCache:
    """Slice counts of tar series kept in a JSON file, keyed by path, size and modification time,
    so a command that reads the same archives again (``cv`` after ``features``) does not
    stream them again. A changed or replaced archive misses; an unreadable file starts empty."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.counts: dict[str, int] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.counts = {}
        self._dirty = False

    @staticmethod
    def _key(p: Path) -> str:
        st = p.stat()
        return f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"

    def count(self, p: Path) -> int:
        key = self._key(p)
        if key not in self.counts:
            self.counts[key] = count_slices(p)
            self._dirty = True
        return self.counts[key]

    def save(self) -> None:
        if self._dirty:
            write_text_atomic(self.path, json.dumps(self.counts))
            self._dirty = False


def _count(path: str, expected: int, cache: CountCache | None = None) -> tuple[str, float]:
    p = Path(path)
    if not p.exists():
        return "absent", np.nan
    try:
        n = cache.count(p) if (cache is not None and is_tar_series(p)) else count_slices(p)
    except InputFileError:
        return "unreadable", np.nan
    return ("complete" if n >= expected else "truncated"), float(n)


def assess(index: pd.DataFrame, expected: dict[str, int], *, count_all: bool = False,
           cache: CountCache | None = None) -> pd.DataFrame:
    """``index`` with ``n_slices``, ``status`` and ``series_number`` for each candidate.

    Folders are always counted (a directory listing); tars only in groups of several
    candidates, or all with ``count_all`` (through ``cache`` when given).
    Series numbers are read for groups of several.
    """
    df = index.copy()
    size = df.groupby(GROUP, dropna=False)["path"].transform("size") if len(df) else pd.Series(dtype=int)
    status, counts, numbers = [], [], []
    for path, seq, n in zip(df["path"], df["sequence"], size, strict=True):
        cheap = not is_tar_series(path)
        if cheap or count_all or n > 1:
            s, c = _count(path, expected[seq], cache)
        else:
            s, c = ("unknown", np.nan) if Path(path).exists() else ("absent", np.nan)
        status.append(s)
        counts.append(c)
        numbers.append(series_number(path) if n > 1 and s not in ("absent", "unreadable") else np.nan)
    df["n_slices"], df["status"], df["series_number"] = counts, status, numbers
    return df


def choose(assessed: pd.DataFrame) -> pd.DataFrame:
    """Mark the chosen candidate of each group (column ``chosen``), by the module's ranking."""
    df = assessed.copy()
    df["chosen"] = False
    if df.empty:
        return df
    order = df.assign(
        _rank=df["status"].map(STATUS_RANK),
        _num=df["series_number"].fillna(-1.0),
        _bar=pd.to_numeric(df["barcode"], errors="coerce").fillna(-1.0),
    ).sort_values(["_rank", "_num", "study_date", "_bar"], ascending=False, kind="stable")
    df.loc[order.drop_duplicates(GROUP).index, "chosen"] = True
    return df


def chosen_paths(series: pd.DataFrame) -> pd.DataFrame:
    """One row per knee-visit: the chosen path per sequence (None when no usable series)."""
    key = GROUP[:3]
    best = series[series["chosen"]]
    best = best.assign(path=best["path"].where(best["status"].isin(USABLE), None))
    if best.empty:
        return pd.DataFrame(columns=[*key])
    return best.pivot(index=key, columns="sequence", values="path").reset_index()


def summarize(series: pd.DataFrame) -> dict[str, Any]:
    """Counts for the build and inspect reports: repeats, truncated and unreadable series."""
    if series.empty:
        return {"series": 0, "repeated_groups": 0, "series_not_chosen": 0, "truncated": 0,
                "unreadable": 0, "knee_visits_without_complete_series": 0, "not_chosen": []}
    groups = series.groupby(GROUP)
    size = groups["path"].transform("size")
    chosen = series[series["chosen"]]
    others = series[~series["chosen"]]
    return {
        "series": len(series),
        "repeated_groups": int((groups.size() > 1).sum()),
        "series_not_chosen": len(others),
        "truncated": int((series["status"] == "truncated").sum()),
        "unreadable": int((series["status"] == "unreadable").sum()),
        "knee_visits_without_complete_series": int((~chosen["status"].isin(USABLE)).sum()),
        "not_chosen": [
            f"{r.participant_id} {r.side} {r.visit_month} m {r.sequence}: {Path(r.path).name} "
            f"({r.status}{'' if np.isnan(r.n_slices) else f', {int(r.n_slices)} slices'})"
            for r in others.itertuples()
        ],
        "max_candidates": int(size.max()),
    }
