"""The OAI style's tables, written the way the OAI's ASCII release writes them.

Pipe-delimited text with a header row, keyed by ``ID``, with a ``VERSION`` column. Coded cells
read ``code: label`` (``1: Male``, ``2: Left``) or, in some files, the bare code
(``Quirks.bare_codes``); KL grades ``2: 2`` (``Quirks.kl_coded_cells``) or ``2``; ``V00SITE`` a
bare letter (``Quirks.site_letter``). Missing values carry the OAI's missing codes
(``.: Missing Form/Incomplete Workbook``, ``.A: Not Expected``, and with
``Quirks.real_missing_codes`` ``.D: Don't Know/Unknown/Uncertain``, ``.R: Refused``, ``.M`` ...)
or are blank (``Quirks.blank_cells``). Some files have lower-case key headers (``id``,
``version``, ``side``, ``readprj``: ``Quirks.lower_case_headers``) or an upper-case name
(``KXR_SQ_BU00.txt``: ``Quirks.upper_case_file_names``).

Files, VV in 00, 01, 03, 05:

- ``Enrollees.txt``: ID, VERSION, P02SEX, V00SITE, P02RACE;
- ``AllClinicalVV.txt``: ID, VERSION, VVVAGE (integer years), BMI, HEIGHT (mm) where measured,
  WEIGHT (kg) (``P01`` names at baseline), WOMAC function (``VVVWOMADLR/L``), stiffness
  (``VVVWOMSTFR/L``) and pain (``VVVWOMKPR/L``, 0-20). Height is measured at baseline
  (``P01HEIGHT``) and 24 months (``V03HEIGHT``) only (``Quirks.absent_heights``);
- ``kxr_qjsw_duryeaVV.txt``: ID, VERSION, SIDE, READPRJ, VVVMCMJSW (mm, 3 decimals);
- ``kxr_sq_buVV.txt``: ID, VERSION, SIDE, READPRJ, VVVXRKL;

the X-ray rows are :mod:`studies.synth.readings`' (several reading projects per knee).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from studies.atomic import write_text_atomic
from studies.synth.layout import TABLE_SUFFIX, VISIT_PREFIX
from studies.synth.population import VISITS
from studies.synth.quirks import Quirks, pick, unit

MISSING_FORM = ".: Missing Form/Incomplete Workbook"
SEX_CODES = {"M": "1: Male", "F": "2: Female"}
SIDE_CODES = {"right": "1: Right", "left": "2: Left"}
SITE_NAMES = {"A": "A: Memorial Hospital of Rhode Island", "B": "B: Ohio State University",
              "C": "C: University of Pittsburgh", "D": "D: University of Maryland/Johns Hopkins",
              "E": "E: Columbia University"}
RACE_CODES = {0: "1: White or Caucasian", 1: "2: Black or African American", 2: "3: Asian", 3: "0: Other Non-white"}
TABLE_VERSION = {0: "2.2.3", 12: "1.7.1", 24: "1.6.1", 36: "1.5.1"}
KEY_HEADERS = ("ID", "VERSION", "SIDE", "READPRJ")
#: Months at which height is measured (with ``Quirks.absent_heights``).
HEIGHT_MONTHS = (0, 24)


def table_names() -> list[str]:
    """Every table file's canonical name."""
    names = ["Enrollees.txt"]
    for month in VISITS:
        vv = TABLE_SUFFIX[month]
        names += [f"AllClinical{vv}.txt", f"kxr_qjsw_duryea{vv}.txt", f"kxr_sq_bu{vv}.txt"]
    return names


def _bare(cell: str) -> str:
    return cell.split(":", 1)[0]


class _Style:
    """Per-file format choices of one cohort (which files have bare codes, lower-case headers ...)."""

    def __init__(self, seed: int, quirks: Quirks) -> None:
        names = table_names()
        coded = [n for n in names if not n.startswith("AllClinical")]
        self.seed, self.quirks = seed, quirks
        self.bare = pick(seed, "bare_codes", coded, quirks.bare_codes)
        self.lower = pick(seed, "lower_case_headers", names, quirks.lower_case_headers)
        self.upper = pick(seed, "upper_case_file_names", names, quirks.upper_case_file_names)
        kl = [n for n in names if n.startswith("kxr_sq_bu")]
        self.kl_coded = pick(seed, "kl_coded_cells", kl, quirks.kl_coded_cells)

    def code(self, name: str, cell: str) -> str:
        return _bare(cell) if name in self.bare else cell

    def text(self, name: str, columns: list[str], rows: list[list[str]]) -> tuple[str, str]:
        """(file name as written, file text)."""
        if name in self.lower:
            columns = [c.lower() if c in KEY_HEADERS else c for c in columns]
        lines = ["|".join(columns)] + ["|".join(r) for r in rows]
        stem, ext = name.rsplit(".", 1)
        return (stem.upper() + "." + ext if name in self.upper else name), "\n".join(lines) + "\n"


def enrollees(pop_participants: pd.DataFrame, st: _Style) -> list:
    name = "Enrollees.txt"
    rows = []
    for pid, sex, site, race in pop_participants[["participant_id", "sex", "site", "race"]].itertuples(index=False):
        site_cell = site if unit(st.seed, "site_letter", pid) < st.quirks.site_letter else SITE_NAMES[site]
        rows.append([pid, "2.1.1", st.code(name, SEX_CODES[sex]), site_cell, st.code(name, RACE_CODES[race])])
    return [name, ["ID", "VERSION", "P02SEX", "V00SITE", "P02RACE"], rows]


def height_months(quirks: Quirks) -> tuple[int, ...]:
    """Visits (months) whose tables carry a height."""
    return HEIGHT_MONTHS if quirks.absent_heights else tuple(VISITS)


def all_clinical(knees: pd.DataFrame, participants: pd.Series, month: int, quirks: Quirks) -> list:
    """One row per participant: age, BMI, height (mm, where measured), weight (kg), WOMAC
    function, stiffness and pain (right/left knee)."""
    vv = VISIT_PREFIX[month]
    p = "P01" if month == 0 else vv
    with_height = month in height_months(quirks)
    cols = ["ID", "VERSION", f"{vv}AGE", f"{p}BMI", *([f"{p}HEIGHT"] if with_height else []), f"{p}WEIGHT",
            f"{vv}WOMADLR", f"{vv}WOMADLL", f"{vv}WOMSTFR", f"{vv}WOMSTFL", f"{vv}WOMKPR", f"{vv}WOMKPL"]
    k = knees[knees.visit_month == month].set_index(["participant_id", "side"])
    rows = []
    for pid in participants:
        r, l_ = k.loc[(pid, "right")], k.loc[(pid, "left")]
        if not r.attended:
            rows.append([pid, TABLE_VERSION[month]] + [MISSING_FORM] * (len(cols) - 2))
            continue
        blank = set(str(r.blank_cells).split(";"))

        def cell(var: str, text: str, blank=blank) -> str:
            return "" if var in blank else text

        def pain(row) -> str:
            return row.womac_table_code or str(int(row.womac_pain))

        rows.append([pid, TABLE_VERSION[month], str(int(r.age)), cell("bmi", format(r.bmi, ".1f")),
                     *([cell("height_mm", str(int(r.height_mm)))] if with_height else []),
                     cell("weight_kg", format(r.weight_kg, ".1f")), str(int(r.womac_function)),
                     str(int(l_.womac_function)), str(int(r.womac_stiffness)), str(int(l_.womac_stiffness)),
                     pain(r), pain(l_)])
    return [f"AllClinical{TABLE_SUFFIX[month]}.txt", cols, rows]


def xray(readings: pd.DataFrame, table: str, month: int, st: _Style) -> list:
    """One row per knee and reading project: ``kxr_qjsw_duryeaVV`` (JSW) or ``kxr_sq_buVV`` (KL)."""
    vv = VISIT_PREFIX[month]
    name = f"kxr_qjsw_duryea{TABLE_SUFFIX[month]}.txt" if table == "jsw" else f"kxr_sq_bu{TABLE_SUFFIX[month]}.txt"
    col, version = (f"{vv}MCMJSW", "0.6") if table == "jsw" else (f"{vv}XRKL", "0.8")
    sel = readings[(readings.table == table) & (readings.visit_month == month)]
    rows = []
    for r in sel.itertuples(index=False):
        if r.code:
            value = r.code
        elif table == "jsw":
            value = format(r.value, ".3f")
        else:
            g = int(r.value)
            value = f"{g}: {g}" if name in st.kl_coded else str(g)
        rows.append([r.participant_id, version, st.code(name, SIDE_CODES[r.side]), str(r.project), value])
    return [name, ["ID", "VERSION", "SIDE", "READPRJ", col], rows]


def write_tables(folder: Path, participants: pd.DataFrame, knees: pd.DataFrame, readings: pd.DataFrame,
                 seed: int, quirks: Quirks) -> list[Path]:
    """Write every table into ``folder``; returns the paths written.

    ``participants``: the population's participants; ``knees``: the ground truth (after
    :func:`studies.synth.truth_quirks.apply_truth_quirks`); ``readings``: X-ray readings.
    """
    st = _Style(seed, quirks)
    tables = [enrollees(participants, st)]
    for month in VISITS:
        tables.append(all_clinical(knees, participants.participant_id, month, quirks))
        tables += [xray(readings, "jsw", month, st), xray(readings, "kl", month, st)]
    paths = []
    for name, cols, rows in tables:
        written, text = st.text(name, cols, rows)
        write_text_atomic(folder / written, text)
        paths.append(folder / written)
    return paths
