"""An OAI cohort in either download style -> the knee table.

::

    style (detected or --style) --> image index (contents.csv | image03.txt) --> series,
        each assessed and one chosen per knee, visit and sequence     (studies.cohort.series)
    tables --> variables (the declarative map, --variables)          (studies.cohort.sources)
        --> JSW and KL readings per reading project                   (studies.cohort.projects)
    --> knee table: one row per knee and visit (studies.cohort.table.KNEE_COLUMNS)

Heights are carried forward from the last visit that measured one (the OAI measures height at
baseline and 24 months only); the report says how many knee-visits got a carried height.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studies.cohort.image_index import contents_files, read_index
from studies.cohort.oai_tables import find_tables
from studies.cohort.projects import (
    KL_PREFERENCE,
    check_project,
    preference,
    preferred_values,
    project_counts,
    ranked,
)
from studies.cohort.series import (
    PROTOCOL_SLICES,
    CountCache,
    assess,
    choose,
    chosen_paths,
    summarize,
)
from studies.cohort.sources import Tables, read_variables
from studies.cohort.table import Cohort, finalize_knees
from studies.cohort.variables import STYLES, variable_map
from studies.errors import InputFileError, OptionError
from studies.package import SEQUENCES
from studies.vocabulary import VARIABLES as VOCABULARY

KEY = ["participant_id", "side", "visit_month"]
SYNTHETIC_MARKER = Path("synthetic") / "cohort.json"
NDA_INDEX = "image03.txt"


@dataclass(frozen=True)
class IngestOptions:
    """How to read an OAI cohort.

    ``style``: 'oai' | 'nda' | None (detect). ``variables``: a TOML/CSV file overriding the
    variable map. ``jsw_project`` / ``kl_project``: 'auto' (None) or a reading-project number.
    """

    style: str | None = None
    variables: str | Path | None = None
    jsw_project: str | None = None
    kl_project: str | None = None

    def check(self) -> IngestOptions:
        if self.style is not None and self.style not in STYLES:
            raise OptionError("style", "'oai' or 'nda' (or leave it out to detect it)", self.style)
        return IngestOptions(self.style, self.variables, check_project("jsw-project", self.jsw_project),
                             check_project("kl-project", self.kl_project))


def detect_style(root: Path) -> str | None:
    """'nda' for an NDA package (``image03.txt`` or ``oai_*01.txt`` at the top), 'oai' for the
    OAI's releases (``<VV>m/contents.csv``, ``contents.*.csv`` or ``Enrollees.txt``), else None.

    Raises :class:`InputFileError` when the folder holds both (pass ``--style``).
    """
    root = Path(root)
    if not root.is_dir():
        return None
    names = {p.name.lower() for p in root.iterdir()}
    nda = NDA_INDEX in names or any(n.startswith("oai_") and n.endswith("01.txt") for n in names)
    oai = bool(contents_files(root)) or "enrollees.txt" in names
    if nda and oai:
        raise InputFileError(root, "holds files of both download styles (image03.txt and contents.csv)",
                             hint="Pass --style oai or --style nda")
    return "nda" if nda else "oai" if oai else None


def expected_slices(root: Path) -> dict[str, int]:
    """Slices of a complete series per sequence: the OAI protocol's, or a synthetic cohort's own
    (its ``synthetic/cohort.json`` records the sizes it wrote)."""
    expected = dict(PROTOCOL_SLICES)
    marker = root / SYNTHETIC_MARKER
    if marker.is_file():
        try:
            shapes = json.loads(marker.read_text()).get("series_shapes") or {}
            for seq in (s for s in SEQUENCES if s in shapes):
                expected[seq] = int(shapes[seq]["shape"][0])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputFileError(marker, f"unreadable series sizes ({exc})",
                                 hint="Regenerate the cohort with 'knee-study synth-cohort'") from exc
    return expected


def _tables(root: Path, style: str) -> Tables:
    if style == "nda":
        paths = {p.name.lower(): p for p in sorted(root.glob("*.txt")) if p.is_file()}
    else:
        skip = frozenset(p.name for p in root.iterdir() if p.is_dir() and p.name[:2].isdigit())
        paths = find_tables(root, skip_dirs=skip)
    return Tables(style, paths)


def carry_heights_forward(visits: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Fill each participant's missing heights from their last earlier measurement."""
    v = visits.sort_values(["participant_id", "visit_month"], kind="stable").copy()
    before = v["height_m"].isna()
    v["height_m"] = v.groupby("participant_id")["height_m"].ffill()
    return v, int((before & v["height_m"].notna()).sum())


def read_series_table(root: Path, style: str, report: dict[str, Any]) -> pd.DataFrame:
    """Every listed series of the project's sequences, assessed and one chosen per group."""
    index = read_index(style, root, report)
    series = choose(assess(index, expected_slices(root)))
    report["series_found"] = len(series)
    report["series_choice"] = summarize(series)
    return series


def load_oai_style(root: str | Path, options: IngestOptions | None = None) -> Cohort:
    """Read an OAI cohort in either style (see module docstring); return the :class:`Cohort`.

    Raises :class:`InputFileError` naming the file, column and value for anything unreadable
    or a required table or variable that is missing.
    """
    root = Path(root)
    opts = (options or IngestOptions()).check()
    style = opts.style or detect_style(root)
    if style is None:
        raise InputFileError(root, "not an OAI download: no contents.csv, image03.txt or OAI tables",
                             hint="See docs/real-oai.md")
    report: dict[str, Any] = {"style": style, "warnings": [], "missing": [], "found": {}}
    series = read_series_table(root, style, report)
    tables = _tables(root, style)
    sex, visits, readings = read_variables(tables, variable_map(style, opts.variables), root, report)

    jsw = readings[readings["variable"] == "jsw_mm"]
    kl = readings[readings["variable"] == "kl_grade"]
    jsw_ranked = ranked(jsw, preference(jsw, opts.jsw_project))
    kl_ranked = ranked(kl, preference(kl, opts.kl_project, KL_PREFERENCE))
    report["reading_projects"] = project_counts(readings)
    report["jsw_projects"] = list(dict.fromkeys(jsw_ranked.sort_values("rank")["project"]))
    report["kl_projects"] = list(dict.fromkeys(kl_ranked.sort_values("rank")["project"]))
    if opts.jsw_project is not None and jsw_ranked.empty and not jsw.empty:
        raise OptionError("jsw-project", f"one of the cohort's JSW projects {sorted(set(jsw['project']))}",
                          opts.jsw_project)

    paths = chosen_paths(series)
    keys = pd.concat([paths[KEY], jsw_ranked[KEY]]).drop_duplicates()
    knees = keys.copy()
    for extra in (paths, preferred_values(jsw_ranked, "jsw_mm"), preferred_values(kl_ranked, "kl_grade")):
        knees = knees.merge(extra, on=KEY, how="left")
    visits, carried = carry_heights_forward(visits)
    report["heights_carried_forward"] = carried
    knees = knees.merge(visits, on=["participant_id", "visit_month"], how="left")
    for var in VOCABULARY:  # read per side for a participant (WOMAC pain): each knee its own side's
        if var.read_as:
            right, left = var.read_as
            knees[var.column] = np.where(knees["side"] == "right", knees[right], knees[left])
    knees = knees.merge(sex, on="participant_id", how="left")
    knees = finalize_knees(knees)
    report["participants"] = int(knees["participant_id"].nunique())
    report["knee_visits"] = len(knees)
    report["knees_without_sex"] = int(knees["sex"].isna().sum())
    jsw_readings = jsw_ranked[[*KEY, "project", "value", "rank"]].rename(columns={"value": "jsw_mm"})
    return Cohort(knees=knees, root=root, source=style, report=report,
                  is_synthetic=(root / SYNTHETIC_MARKER).is_file(), series=series,
                  jsw_readings=jsw_readings.reset_index(drop=True))


def resolve(cohort: Cohort, keys: list[tuple[str, str, int]], *, count_cache: str | Path | None = None
            ) -> dict[tuple[str, str, int], list[str]]:
    """Count every series of these knee-visits exactly and choose again; update the knee table.

    Call it for the knees a study or a model is about to read, once their files are on disk
    (a synthetic cohort's are written on demand): a single ``.tar.gz`` is counted only here.
    Returns, per knee-visit left without a complete series, the sequences it lacks; their
    paths in ``cohort.knees`` become None. A plain-CSV cohort has nothing to choose: ``{}``.
    ``count_cache``: a JSON file keeping the archives' slice counts between commands.
    """
    if cohort.series is None or cohort.series.empty or not keys:
        return {}
    series = cohort.series
    wanted = pd.DataFrame(list(dict.fromkeys((str(p), s, int(m)) for p, s, m in keys)), columns=KEY)
    hit = series.reset_index().merge(wanted, on=KEY)["index"]
    cache = CountCache(count_cache) if count_cache is not None else None
    again = choose(assess(series.loc[hit].drop(columns=["n_slices", "status", "series_number", "chosen"]),
                          expected_slices(cohort.root), count_all=True, cache=cache))
    if cache is not None:
        cache.save()
    cohort.series.loc[again.index, again.columns] = again
    lacking: dict[tuple[str, str, int], list[str]] = {}
    knees = cohort.knees
    pos = {(r.participant_id, r.side, int(r.visit_month)): i for i, r in enumerate(knees[KEY].itertuples())}
    for r in again[again["chosen"]].itertuples():
        k = (r.participant_id, r.side, int(r.visit_month))
        if k not in pos:
            continue
        ok = r.status == "complete"
        knees.iat[pos[k], knees.columns.get_loc(r.sequence)] = r.path if ok else None
        if not ok:
            lacking.setdefault(k, []).append(r.sequence)
    cohort.report["series_choice"] = summarize(cohort.series)
    return lacking
