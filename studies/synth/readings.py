"""X-ray readings by reading project: the rows of the JSW and KL tables, in both styles.

The OAI's radiographs were read in several reading projects (``READPRJ``); one knee and visit
may have rows from several. Here, per attended knee-visit:

- **JSW** (medial minimum JSW, mm): project 15 reads every knee (its cell holds the ground
  truth's ``jsw_mm``, or its missing code). A share of knees (``Quirks.jsw_second_project``) is
  also read by project 37 at some of its visits, never all: that project measures
  systematically differently (a per-knee offset of N(0, 0.3) mm, plus 0.05 mm noise; 0.000 stays
  0.000), so a JSN subtracting readings of two projects is wrong.
- **KL grade** (0-4): project 15 reads nearly every knee-visit (the ground truth's
  ``kl_grade``); a share (``Quirks.kl_extra_projects``) is also read by project 37, 42 or both,
  whose grade differs by one in 30 % of readings; a few knee-visits (``Quirks.kl_without_15``)
  have no project-15 row, only project 37's, which then holds the ground truth's grade.

:func:`draw_readings` returns them as one long table, written to ``synthetic/readings.csv``
(participant_id, side, visit_month, table ``jsw``|``kl``, project, value (empty when missing),
code (the missing code written instead, or empty)) and read by both styles' table writers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.synth.population import VISITS
from studies.synth.quirks import Quirks, quirk_rng

MAIN_PROJECT = 15
SECOND_JSW_PROJECT = 37
KL_PROJECTS = (15, 37, 42)
#: Share of other projects' KL readings one grade away from project 15's.
KL_DISAGREE = 0.3
JSW_OFFSET_SD_MM = 0.3
JSW_NOISE_SD_MM = 0.05
READING_COLUMNS = ("participant_id", "side", "visit_month", "table", "project", "value", "code")


def draw_readings(knees: pd.DataFrame, seed: int, quirks: Quirks) -> pd.DataFrame:
    """Every X-ray reading of the knee table's attended knee-visits (columns :data:`READING_COLUMNS`).

    ``knees``: the ground truth (knee-major rows, :data:`VISITS` per knee). Rows are sorted by
    table, visit, participant, side (right first) and project.
    """
    rows = _jsw_rows(knees, seed, quirks) + _kl_rows(knees, seed, quirks)
    df = pd.DataFrame(rows, columns=list(READING_COLUMNS))
    df["_side"] = df["side"] != "right"
    df = df.sort_values(["table", "visit_month", "participant_id", "_side", "project"], kind="stable")
    return df.drop(columns="_side").reset_index(drop=True)


def _jsw_rows(knees: pd.DataFrame, seed: int, quirks: Quirks) -> list[tuple]:
    nv = len(VISITS)
    nk = len(knees) // nv
    rng = quirk_rng(seed, "jsw_second_project")
    chosen = rng.random(nk) < quirks.jsw_second_project
    offset = rng.normal(0.0, JSW_OFFSET_SD_MM, nk)
    visit_draw = rng.random((nk, nv))
    noise = rng.normal(0.0, JSW_NOISE_SD_MM, (nk, nv))
    pid, side = knees["participant_id"].to_numpy(), knees["side"].to_numpy()
    month, attended = knees["visit_month"].to_numpy(), knees["attended"].to_numpy(bool)
    jsw, code = knees["jsw_mm"].to_numpy(float), knees["jsw_table_code"].to_numpy()
    rows = []
    for k in range(nk):
        at = [v for v in range(nv) if attended[k * nv + v]]
        second = set(_some_visits(at, visit_draw[k])) if chosen[k] else set()
        for v in at:
            i = k * nv + v
            rows.append((pid[i], side[i], int(month[i]), "jsw", MAIN_PROJECT, np.nan if code[i] else jsw[i], code[i]))
            if v in second:
                value = 0.0 if jsw[i] == 0 else max(0.05, round(jsw[i] + offset[k] + noise[k, v], 3))
                rows.append((pid[i], side[i], int(month[i]), "jsw", SECOND_JSW_PROJECT, value, ""))
    return rows


def _some_visits(attended: list[int], draw: np.ndarray) -> list[int]:
    """A non-empty strict subset of ``attended`` (visits read by the second project); [] if < 2."""
    if len(attended) < 2:
        return []
    keep = [v for v in attended if draw[v] < 0.5]
    if not keep:
        keep = [attended[int(np.argmin(draw[attended]))]]
    if len(keep) == len(attended):
        keep.remove(attended[int(np.argmax(draw[attended]))])
    return keep


def _kl_rows(knees: pd.DataFrame, seed: int, quirks: Quirks) -> list[tuple]:
    n = len(knees)
    rng = quirk_rng(seed, "kl_extra_projects")
    extra, which = rng.random(n), rng.random(n)
    disagree, direction = rng.random((n, 2)), rng.random((n, 2))
    no15 = quirk_rng(seed, "kl_without_15").random(n) < quirks.kl_without_15
    rows = []
    for i, r in enumerate(knees.itertuples(index=False)):
        if not r.attended:
            continue
        key = (r.participant_id, r.side, int(r.visit_month), "kl")
        grade = int(r.kl_grade)
        others: list[int] = []
        if extra[i] < quirks.kl_extra_projects:
            others = [37] if which[i] < 0.6 else [42] if which[i] < 0.8 else [37, 42]
        if no15[i]:
            rows.append((*key, 37, np.nan if r.kl_table_code else float(grade), r.kl_table_code))
            others = [p for p in others if p != 37]
        else:
            rows.append((*key, MAIN_PROJECT, np.nan if r.kl_table_code else float(grade), r.kl_table_code))
        for j, project in enumerate(others):
            g = grade
            if disagree[i, j] < KL_DISAGREE:
                g = grade + 1 if (direction[i, j] < 0.5 and grade < 4) or grade == 0 else grade - 1
            rows.append((*key, project, float(g), ""))
    return rows
