"""Which series each knee-visit has and where they go: releases, barcodes, UIDs, repeats.

Identifiers are derived from the seed and the knee (a SHA-256 of both), never from a random
state or the clock, and so are the series quirks (repeats, truncations; drawn with
:func:`studies.synth.quirks.unit`): the same seed gives the same folders, barcodes, UIDs and
quirks, and :func:`studies.synth.materialize` can rebuild any series from one ground-truth row.

Per knee-visit and sequence (when the ground truth's ``has_<sequence>`` says it was scanned):

- usually one complete series;
- a repeat scan (``Quirks.repeat_scans``): a second complete series, higher series number,
  same date, its own barcode and UIDs (another noise draw of the same knee);
- a truncated series (``Quirks.truncated_series``): the first ``n_slices`` slices only,
  usually followed by a complete rescan (``Quirks.rescan_after_truncation``), sometimes alone.

The series a correct reader picks (``chosen``) is a complete one, then the highest series
number; a knee-visit with only a truncated series has none.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydicom.uid import generate_uid

from studies.package import SEQUENCES
from studies.synth.geometry import SIZES
from studies.synth.quirks import Quirks, unit

VISIT_FOLDERS = {0: "00m", 12: "12m", 24: "24m", 36: "36m"}
#: OAI variable prefix and table-file suffix per visit month.
VISIT_PREFIX = {0: "V00", 12: "V01", 24: "V03", 36: "V05"}
TABLE_SUFFIX = {0: "00", 12: "01", 24: "03", 36: "05"}
#: Image release per visit; at baseline a share of participants is in 0.E.1 instead.
RELEASES = {0: "0.C.2", 12: "1.C.2", 24: "3.C.2", 36: "5.C.1"}
BASELINE_E1 = "0.E.1"
VISIT_NAMES = {0: "ENROLLMENT", 12: "12 MONTH", 24: "24 MONTH", 36: "36 MONTH"}
SERIES_STEMS = {"cor_iw_tse": "COR_IW_TSE", "sag_3d_dess": "SAG_3D_DESS"}
#: Slice counts of truncated series seen in the OAI, out of the full protocol's (35 COR, 160 DESS);
#: at ``small`` size the same fractions of the small series are kept.
TRUNCATED_SLICES = {"cor_iw_tse": (12, 20, 34), "sag_3d_dess": (8, 66, 109, 159)}
#: A repeat's series number: the first's plus this per repeat.
REPEAT_STEP = 10
STYLES = ("oai", "nda")


@dataclass(frozen=True)
class SeriesRecord:
    """One series of one knee at one visit: its place in the tree, identifiers and quirks.

    ``repeat``: 0 for the first series of its knee-visit and sequence, 1 for a rescan.
    ``n_slices``: slices written; ``expected_slices``: the protocol's (at the cohort's size).
    """

    participant_id: str
    side: str
    visit_month: int
    sequence: str
    release: str
    series_id: str  # the series folder's name (8 digits)
    study_date: str  # YYYYMMDD
    barcode: str  # 12 digits, leading zero kept
    study_description: str
    series_description: str
    study_uid: str
    series_uid: str
    frame_uid: str
    series_number: int
    repeat: int = 0
    n_slices: int = 0
    expected_slices: int = 0
    chosen: bool = True

    @property
    def truncated(self) -> bool:
        return self.n_slices < self.expected_slices

    @property
    def folder(self) -> str:
        """Series folder relative to the visit folder (contents.csv's ``Folder``)."""
        return f"{self.release}/{self.participant_id}/{self.study_date}/{self.series_id}"

    def rel_path(self, style: str = "oai") -> str:
        """Where the series lies relative to the cohort root: a folder (``oai``) or a ``.tar.gz`` (``nda``)."""
        visit = f"{VISIT_FOLDERS[self.visit_month]}/{self.folder}"
        return f"image03/{visit}.tar.gz" if style == "nda" else visit

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.participant_id, self.side, self.visit_month, self.sequence)


def _digits(seed: int, *parts: object, n: int) -> str:
    h = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).hexdigest()
    return str(int(h, 16) % 10**n).zfill(n)


def _uid(seed: int, *parts: object) -> str:
    return generate_uid(entropy_srcs=[str(seed), *map(str, parts)])


#: Series folder names (8 digits) are 10000000 + 4 * block + slot, the block an affine
#: permutation (from the seed) of the knee-visit's number: unique in a cohort, no state needed.
_BLOCKS = 22_500_000
_MULTIPLIER = 7_654_321  # coprime with 22 500 000 (= 2^5 3^2 5^7): the map is a bijection


def series_folder_name(seed: int, participant_id: str, side: str, visit_month: int, sequence: str,
                       repeat: int = 0) -> str:
    """The 8-digit series folder name (and last 8 digits of the barcode) of one series.

    Unique within a cohort (participant ids are 9000000 + a unique number below 10**6), and a
    rescan's is higher than its first scan's, as the OAI labels a later scan.
    """
    knee_visit = (int(participant_id) - 9_000_000) * 8 + ("right", "left").index(side) * 4 + visit_month // 12
    block = (_MULTIPLIER * knee_visit + int(_digits(seed, "series-offset", n=7))) % _BLOCKS
    return str(10_000_000 + 4 * block + SEQUENCES.index(sequence) + 2 * repeat)


def release_of(seed: int, quirks: Quirks, participant_id: str, visit_month: int) -> str:
    """The image release holding a participant's series at a visit."""
    if visit_month == 0 and unit(seed, "release_0e1", participant_id) < quirks.release_0e1:
        return BASELINE_E1
    return RELEASES[visit_month]


def truncated_count(size: str, sequence: str, draw: float) -> int:
    """Slices kept in a truncated series: one of :data:`TRUNCATED_SLICES`'s fractions, by ``draw`` in [0, 1)."""
    full = SIZES["full"][sequence].shape[0]
    expected = SIZES[size][sequence].shape[0]
    counts = TRUNCATED_SLICES[sequence]
    frac = counts[min(int(draw * len(counts)), len(counts) - 1)] / full
    return max(1, min(expected - 1, int(frac * expected)))


def series_record(seed: int, quirks: Quirks, size: str, participant_id: str, side: str, visit_month: int,
                  sequence: str, study_date: str, *, repeat: int = 0, n_slices: int | None = None,
                  chosen: bool = True) -> SeriesRecord:
    """The deterministic record of one series (``repeat`` 1: the knee-visit's second series)."""
    study_key = (participant_id, side, visit_month)
    extra = (repeat,) if repeat else ()
    series_id = series_folder_name(seed, participant_id, side, visit_month, sequence, repeat)
    if quirks.per_series_barcodes:
        barcode = "0166" + series_id
    else:
        barcode = "016610" + _digits(seed, *study_key, "barcode", n=6)
    expected = SIZES[size][sequence].shape[0]
    return SeriesRecord(
        participant_id=participant_id, side=side, visit_month=visit_month, sequence=sequence,
        release=release_of(seed, quirks, participant_id, visit_month), series_id=series_id,
        study_date=study_date, barcode=barcode,
        study_description=f"OAI^MR^{VISIT_NAMES[visit_month]}^{side.upper()}",
        series_description=f"{SERIES_STEMS[sequence]}_{side.upper()}",
        study_uid=_uid(seed, *study_key, "study"),
        series_uid=_uid(seed, *study_key, sequence, "series", *extra),
        frame_uid=_uid(seed, *study_key, "frame"),
        series_number=SEQUENCES.index(sequence) + 1 + REPEAT_STEP * repeat,
        repeat=repeat, n_slices=expected if n_slices is None else n_slices, expected_slices=expected,
        chosen=chosen,
    )


def sequence_series(seed: int, quirks: Quirks, size: str, participant_id: str, side: str, visit_month: int,
                    sequence: str, study_date: str) -> list[SeriesRecord]:
    """Every series of one knee-visit and sequence (one, or two with a repeat or a rescan)."""
    key = (participant_id, side, visit_month, sequence)
    args = (seed, quirks, size, participant_id, side, visit_month, sequence, study_date)
    if unit(seed, "truncated_series", *key) < quirks.truncated_series:
        n = truncated_count(size, sequence, unit(seed, "truncated_slices", *key))
        rescan = unit(seed, "rescan_after_truncation", *key) < quirks.rescan_after_truncation
        first = series_record(*args, n_slices=n, chosen=False)
        return [first, series_record(*args, repeat=1)] if rescan else [first]
    if unit(seed, "repeat_scans", *key) < quirks.repeat_scans:
        return [series_record(*args, chosen=False), series_record(*args, repeat=1)]
    return [series_record(*args)]


def knee_visit_series(seed: int, quirks: Quirks, size: str, row) -> list[SeriesRecord]:
    """Every series of one ground-truth row (a knee-visit) whose ``has_<sequence>`` is true."""
    out: list[SeriesRecord] = []
    for seq in SEQUENCES:
        if bool(getattr(row, f"has_{seq}")):
            out += sequence_series(seed, quirks, size, str(row.participant_id), row.side, int(row.visit_month),
                                   seq, str(row.study_date))
    return out


def series_records(seed: int, quirks: Quirks, size: str, knees) -> list[SeriesRecord]:
    """Records of every series of the ground-truth table ``knees``, in its row order."""
    out: list[SeriesRecord] = []
    for row in knees.itertuples(index=False):
        out += knee_visit_series(seed, quirks, size, row)
    return out


SERIES_COLUMNS = ("participant_id", "side", "visit_month", "sequence", "series_number", "barcode", "path",
                  "n_slices", "expected_slices", "repeat", "truncated", "chosen")


def series_table(records: list[SeriesRecord], style: str) -> str:
    """``synthetic/series.csv``: one row per listed series (:data:`SERIES_COLUMNS`).

    ``path`` is relative to the cohort root (a folder, or a ``.tar.gz`` in the ``nda`` style);
    ``repeat`` is true for a knee-visit's second series; ``chosen`` marks the series a correct
    reader must pick (a complete one, then the highest series number).
    """
    lines = [",".join(SERIES_COLUMNS)]
    for r in sorted(records, key=_order):
        lines.append(",".join(map(str, (
            r.participant_id, r.side, r.visit_month, r.sequence, r.series_number, r.barcode, r.rel_path(style),
            r.n_slices, r.expected_slices, bool(r.repeat), r.truncated, r.chosen))))
    return "\n".join(lines) + "\n"


def _order(r: SeriesRecord):
    return (r.visit_month, r.participant_id, r.side != "right", r.sequence, r.series_number)
