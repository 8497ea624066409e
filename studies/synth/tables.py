"""The OAI's tables, written the way the OAI writes them.

Pipe-delimited text with a header row, keyed by ``ID``, with a ``VERSION`` column. Coded cells
read ``code: label`` (``1: Male``, ``2: Left``); missing values carry the OAI's missing codes
(``.: Missing Form/Incomplete Workbook``, ``.A: Not Expected``, ``.B: Don't Know/Unknown/
Uncertain``, ``.D: Not Done``).

Files: ``Enrollees.txt`` (sex, site, race), ``AllClinicalVV.txt`` (age, BMI, height, weight,
WOMAC function, stiffness and pain per knee), ``kxr_qjsw_duryeaVV.txt`` (minimum medial JSW, one row per knee) and
``kxr_sq_bu00.txt`` (baseline KL grade), for VV in 00, 01, 03, 05.
"""

from __future__ import annotations

from pathlib import Path

from studies.atomic import write_text_atomic
from studies.synth.layout import TABLE_SUFFIX, VISIT_PREFIX
from studies.synth.population import VISITS, Population

MISSING_FORM = ".: Missing Form/Incomplete Workbook"
NOT_EXPECTED = ".A: Not Expected"
SEX_CODES = {"M": "1: Male", "F": "2: Female"}
SIDE_CODES = {"right": "1: Right", "left": "2: Left"}
SITE_NAMES = {"A": "A: Memorial Hospital of Rhode Island", "B": "B: Ohio State University",
              "C": "C: University of Pittsburgh", "D": "D: University of Maryland/Johns Hopkins",
              "E": "E: Columbia University"}
RACE_CODES = {0: "1: White or Caucasian", 1: "2: Black or African American", 2: "3: Asian", 3: "0: Other Non-white"}
TABLE_VERSION = {0: "2.2.3", 12: "1.7.1", 24: "1.6.1", 36: "1.5.1"}


def _table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["|".join(columns)] + ["|".join(r) for r in rows]
    return "\n".join(lines) + "\n"


def _num(value: float, fmt: str) -> str:
    return format(value, fmt)


def enrollees(pop: Population) -> str:
    p = pop.participants
    rows = [[pid, "2.1.1", SEX_CODES[sex], SITE_NAMES[site], RACE_CODES[race]]
            for pid, sex, site, race in zip(p.participant_id, p.sex, p.site, p.race, strict=True)]
    return _table(["ID", "VERSION", "P02SEX", "V00SITE", "P02RACE"], rows)


def all_clinical(pop: Population, month: int) -> str:
    """One row per participant: age, BMI, height (mm), weight (kg), WOMAC function, stiffness and
    pain (right/left knee)."""
    vv = VISIT_PREFIX[month]
    bmi_col, h_col, w_col = ("P01BMI", "P01HEIGHT", "P01WEIGHT") if month == 0 else (f"{vv}BMI", f"{vv}HEIGHT", f"{vv}WEIGHT")
    cols = ["ID", "VERSION", f"{vv}AGE", bmi_col, h_col, w_col, f"{vv}WOMADLR", f"{vv}WOMADLL",
            f"{vv}WOMSTFR", f"{vv}WOMSTFL", f"{vv}WOMKPR", f"{vv}WOMKPL"]
    k = pop.knees[pop.knees.visit_month == month].set_index(["participant_id", "side"])
    rows = []
    for pid in pop.participants.participant_id:
        r, l_ = k.loc[(pid, "right")], k.loc[(pid, "left")]
        if not r.attended:
            rows.append([pid, TABLE_VERSION[month]] + [MISSING_FORM] * (len(cols) - 2))
            continue

        def pain(row):
            return row.womac_table_code or str(int(row.womac_pain))

        rows.append([pid, TABLE_VERSION[month], str(int(r.age)), _num(r.bmi, ".1f"), str(int(r.height_mm)),
                     _num(r.weight_kg, ".1f"), str(int(r.womac_function)), str(int(l_.womac_function)),
                     str(int(r.womac_stiffness)), str(int(l_.womac_stiffness)), pain(r), pain(l_)])
    return _table(cols, rows)


def qjsw(pop: Population, month: int) -> str:
    """One row per knee that had a radiograph: ``SIDE`` and ``VVVMCMJSW`` (mm)."""
    vv = VISIT_PREFIX[month]
    k = pop.knees[(pop.knees.visit_month == month) & pop.knees.attended]
    rows = [[r.participant_id, "0.6", SIDE_CODES[r.side], r.jsw_table_code or _num(r.jsw_mm, ".3f"), "15"]
            for r in k.itertuples(index=False)]
    return _table(["ID", "VERSION", "SIDE", f"{vv}MCMJSW", "READPRJ"], rows)


def kl_grades(pop: Population) -> str:
    """Baseline KL grades (plain integers 0-4), one row per knee."""
    k = pop.knees[pop.knees.visit_month == 0]
    rows = [[r.participant_id, "0.7", SIDE_CODES[r.side], r.kl_table_code or str(int(r.kl_grade)), "15"]
            for r in k.itertuples(index=False)]
    return _table(["ID", "VERSION", "SIDE", "V00XRKL", "READPRJ"], rows)


def write_tables(folder: Path, pop: Population) -> list[Path]:
    """Write every table into ``folder``; returns the paths written."""
    files = {"Enrollees.txt": enrollees(pop), "kxr_sq_bu00.txt": kl_grades(pop)}
    for month in VISITS:
        files[f"AllClinical{TABLE_SUFFIX[month]}.txt"] = all_clinical(pop, month)
        files[f"kxr_qjsw_duryea{TABLE_SUFFIX[month]}.txt"] = qjsw(pop, month)
    paths = []
    for name, text in files.items():
        write_text_atomic(folder / name, text)
        paths.append(folder / name)
    return paths
