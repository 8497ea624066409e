"""The real OAI's quirks the generator plants, each a rate that 0 turns off.

A :class:`Quirks` holds one number per quirk: a share (of series, knees, cells, files or rows,
as each field says) in [0, 1], or a switch (0 or 1). The defaults are the rates seen in the
real data (or a realistic guess where none is published); :data:`NO_QUIRKS` turns all off.
They are recorded in ``synthetic/cohort.json``.

Every quirk draws its own random numbers, from the seed and its name (:func:`unit`,
:func:`quirk_rng`), never from the population's stream: turning one quirk off, or changing its
rate, leaves the patients and every other quirk as they were, and a higher rate only adds
affected series, knees or cells to those of a lower one. The download style draws nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from studies.errors import OptionError, did_you_mean


@dataclass(frozen=True)
class Quirks:
    """Rates of the real data's quirks (see ``docs/synthetic-cohort.md``)."""

    #: share of knee-visit-sequences scanned twice: a second complete series, higher series number
    repeat_scans: float = 0.02
    #: share of series cut short (e.g. 8, 66, 109 or 159 of 160 DESS slices; 12, 20 or 34 of 35 COR)
    truncated_series: float = 0.015
    #: share of truncated series followed by a complete rescan (the others stand alone)
    rescan_after_truncation: float = 0.8
    #: share of participants whose baseline series sit in release 0.E.1 (the others in 0.C.2)
    release_0e1: float = 0.5
    #: switch: each series its own barcode, the series folder its last 8 digits (0: one barcode per knee-visit)
    per_series_barcodes: float = 1.0
    #: share of contents.csv rows whose Barcode is written as an integer (leading zeros dropped)
    integer_barcodes: float = 1.0
    #: share of contents.csv rows whose StudyDescription ends with a space
    trailing_space: float = 0.1
    #: share of knee-visits whose KL grade is also read by project 37 and/or 42 (may differ by a grade)
    kl_extra_projects: float = 0.3
    #: share of knee-visits whose KL grade has no project-15 row (read by project 37 only)
    kl_without_15: float = 0.02
    #: share of knees whose JSW is read by a second project (37) at some visits, not all
    jsw_second_project: float = 0.08
    #: share of knees whose medial JSW reaches 0.000 mm (bone on bone) at some visit and stays there
    bone_on_bone: float = 0.015
    #: share of missing cells written with the other real codes (.D .R .M .P .T .V .W .S)
    real_missing_codes: float = 0.5
    #: share of clinical numeric cells (BMI, weight, height) left blank
    blank_cells: float = 0.01
    #: share of table files whose coded cells are bare codes (side ``1``, sex ``2``), not ``1: Right``
    bare_codes: float = 0.3
    #: share of KL tables whose grades read ``2: 2`` (the others a bare ``2``)
    kl_coded_cells: float = 0.75
    #: share of table files with lower-case key headers (``id``, ``version``, ``side``, ``readprj``)
    lower_case_headers: float = 0.3
    #: share of table files named in upper case (``KXR_SQ_BU00.txt``)
    upper_case_file_names: float = 0.2
    #: share of Enrollees rows whose V00SITE is a bare letter (the others ``A: Memorial ...``)
    site_letter: float = 1.0
    #: switch: heights measured at baseline and 24 months only (no V01HEIGHT, V05HEIGHT)
    absent_heights: float = 1.0
    #: share of participant-visits with an X-Ray row in the NDA's image03.txt (to be ignored)
    xray_rows: float = 0.5

    def check(self) -> Quirks:
        """Return self; raise :class:`OptionError` for a rate outside [0, 1] or a switch not 0/1."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise OptionError(f"quirk {f.name}", "a number in [0, 1]", value)
            if f.name in SWITCHES and value not in (0, 1):
                raise OptionError(f"quirk {f.name}", "0 (off) or 1 (on)", value)
        return self

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    def with_rates(self, rates: dict[str, float]) -> Quirks:
        """A copy with ``rates`` (quirk name -> rate) applied; unknown names are an :class:`OptionError`."""
        for name in rates:
            if name not in QUIRK_NAMES:
                raise OptionError("quirk", "a quirk name." + did_you_mean(name, QUIRK_NAMES)
                                  + f" Quirks: {', '.join(QUIRK_NAMES)}", name)
        return replace(self, **{k: float(v) for k, v in rates.items()}).check()

    @classmethod
    def from_dict(cls, data: dict) -> Quirks:
        """The quirks recorded in a ``cohort.json`` (names it lacks are off)."""
        known = {k: float(v) for k, v in data.items() if k in QUIRK_NAMES}
        return replace(NO_QUIRKS, **known).check()


QUIRK_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Quirks))
SWITCHES = frozenset({"per_series_barcodes", "absent_heights"})
NO_QUIRKS = Quirks(**{name: 0.0 for name in QUIRK_NAMES})
DEFAULT_QUIRKS = Quirks()


def parse_rate(text: str) -> tuple[str, float]:
    """``NAME=RATE`` (the CLI's ``--quirk``) -> (name, rate). Raises :class:`OptionError`."""
    name, sep, value = text.partition("=")
    name = name.strip().replace("-", "_")
    try:
        rate = float(value)
    except ValueError:
        rate = None
    if not sep or rate is None:
        raise OptionError("quirk", "NAME=RATE, e.g. repeat_scans=0.05", text)
    if name not in QUIRK_NAMES:
        raise OptionError("quirk", "a quirk name." + did_you_mean(name, QUIRK_NAMES)
                          + f" Quirks: {', '.join(QUIRK_NAMES)}", name)
    return name, rate


def unit(seed: int, *parts: object) -> float:
    """A uniform number in [0, 1) derived from the seed and ``parts`` (a SHA-256, no random state)."""
    h = hashlib.sha256("|".join(map(str, (seed, "quirk", *parts))).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def quirk_rng(seed: int, name: str) -> np.random.Generator:
    """The random stream of one quirk: from the seed and the quirk's name only."""
    tag = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    return np.random.default_rng(np.random.SeedSequence([int(seed), 20260311, tag]))


def pick(seed: int, name: str, items: list[str], rate: float) -> set[str]:
    """The ``round(rate * len(items))`` items (at least one when rate > 0) with the lowest draws.

    For quirks of whole files, so that a default rate always shows at least one affected file.
    """
    if rate <= 0 or not items:
        return set()
    k = max(1, round(rate * len(items)))
    return set(sorted(items, key=lambda it: unit(seed, name, it))[:k])
