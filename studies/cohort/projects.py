"""X-ray reading projects: which project's reading a knee's JSW and KL come from.

The OAI's X-ray readings come from several reading projects (``READPRJ``): KL grades of one
knee and visit from projects 15, 37 and 42; JSW mostly from one project per file, with some
knees read again in another. Two readings of different projects are not comparable: a JSN
must never subtract them.

A *preference* is an ordered list of projects. ``auto`` (the default) orders JSW projects by
how many readings each has in the cohort (the main project first), and KL projects as
:data:`KL_PREFERENCE` (the project most public loaders keep, then the others), then by count;
a project number (``--jsw-project 16``) keeps that project's readings only. The knee table
shows, per knee and visit, the reading of the first project in the preference that has one;
labels (:func:`studies.labels.make_labels`) pair readings of one project for both ends of a
window.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from studies.errors import OptionError

KL_PREFERENCE: tuple[str, ...] = ("15", "37", "42")
KEY = ["participant_id", "side", "visit_month"]


def check_project(name: str, value: str | int | None) -> str | None:
    """``auto``/None -> None; a project number -> its text. Raises :class:`OptionError`."""
    if value is None or str(value).strip().lower() == "auto":
        return None
    text = str(value).strip()
    if not text.isdigit():
        raise OptionError(name, "'auto' or a reading-project number such as 15", value)
    return str(int(text))


def preference(readings: pd.DataFrame, forced: str | None, first: tuple[str, ...] = ()) -> list[str]:
    """Projects in order of preference for one variable's ``readings``."""
    if forced is not None:
        return [forced]
    counts = readings["project"].value_counts()
    by_count = sorted(counts.index, key=lambda p: (-int(counts[p]), p))
    return [p for p in first if p in counts.index] + [p for p in by_count if p not in first]


def ranked(readings: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """``readings`` of the projects in ``order`` with a ``rank`` column (0 = preferred)."""
    rank = {p: i for i, p in enumerate(order)}
    out = readings[readings["project"].isin(rank)].copy()
    out["rank"] = out["project"].map(rank).astype(int)
    return out


def preferred_values(ranked_readings: pd.DataFrame, name: str) -> pd.DataFrame:
    """Per knee-visit, the value of its best-ranked project: KEY + ``name`` + ``name_project``."""
    best = ranked_readings.sort_values("rank", kind="stable").drop_duplicates(KEY)
    return best[[*KEY, "value", "project"]].rename(columns={"value": name, "project": f"{name}_project"})


def project_counts(readings: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Rows per variable and project, e.g. ``{'kl_grade': {'15': 812, '37': 301}}``."""
    out: dict[str, dict[str, Any]] = {}
    for (var, prj), n in readings.groupby(["variable", "project"]).size().items():
        out.setdefault(var, {})[prj or "(none)"] = int(n)
    return out
