"""Where each variable of the knee table lives in each OAI download style: one declarative map.

The project's vocabulary (the clinical variables of :mod:`studies.vocabulary`, columns of the
knee table) is fed from the OAI's tables; :func:`map_problems` checks at import that every
variable the map fills is one of the vocabulary's.
The two download styles name the same measurements differently:

- ``oai``: the OAI's own ASCII release: pipe-delimited tables per visit, wide, with a visit
  prefix (``AllClinical01.txt``: ``V01BMI``), ``P01`` names for some baseline measurements.
- ``nda``: the NIMH Data Archive package: tab-delimited structures in long format, lower-case
  names without the visit prefix, keyed by ``src_subject_id`` + ``visit`` (``V00``, ``V01`` ...).

:data:`VARIABLE_MAP` is that mapping, one :class:`Source` per style and variable. In ``table``
and ``column``, ``{vv}`` stands for the visit's two digits (``00``, ``01``, ``03``, ``05``);
``baseline_column`` replaces ``column`` at baseline (the OAI's ``P01`` names) and ``visits``
limits the visits at which the column exists (the OAI has ``P01HEIGHT`` and ``V03HEIGHT``
only). A release whose names differ is read with ``--variables FILE``: a TOML file

.. code-block:: toml

    [nda.bmi]
    table = "oai_physexam01"
    column = "p01bmi"

or a CSV with the columns ``style,variable,table,column[,baseline_column,visits]`` (visits
``0;24``). Only the fields given are replaced.

The NDA names come from public pipelines that use the NDA package and are likely rather than
confirmed (``docs/real-oai.md``); the OAI names from the OAI's variable guide.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from studies.errors import InputFileError, did_you_mean
from studies.vocabulary import VARIABLES as VOCABULARY

STYLES: tuple[str, ...] = ("oai", "nda")

#: Visits the ingest reads: month -> (two-digit code, NDA visit label).
VISIT_CODES: dict[int, str] = {0: "00", 12: "01", 24: "03", 36: "05"}
#: Every OAI visit month -> its two-digit code (beyond 36 months: listed, not used for labels).
ALL_VISIT_CODES: dict[int, str] = {**VISIT_CODES, 48: "06", 72: "08", 96: "10"}


@dataclass(frozen=True)
class Source:
    """Where one knee-table variable is read in one style.

    ``table``: file stem (case-insensitive, ``.txt`` added), ``{vv}`` = visit code.
    ``column``: column name (case-insensitive), ``{vv}`` = visit code.
    ``baseline_column``: the column at month 0 when it differs (``P01BMI``).
    ``visits``: months at which the column exists (``None``: every visit the table has).
    ``per``: ``participant`` (one row per participant and visit) or ``knee`` (rows per side and
    reading project).
    ``scale``: multiply the cell by it (height mm -> m: 0.001; NDA age months -> years: 1/12).
    ``floor``: round down after scaling (the NDA's age in months -> whole years, as the OAI's).
    """

    variable: str
    table: str
    column: str
    baseline_column: str | None = None
    visits: tuple[int, ...] | None = None
    per: str = "participant"
    scale: float = 1.0
    floor: bool = False

    def table_name(self, month: int) -> str:
        return self.table.replace("{vv}", VISIT_CODES[month]).lower() + ".txt"

    def column_name(self, month: int) -> str:
        name = self.baseline_column if (month == 0 and self.baseline_column) else self.column
        return name.replace("{vv}", VISIT_CODES[month])

    def at(self, month: int) -> bool:
        return self.visits is None or month in self.visits


VARIABLE_MAP: dict[str, dict[str, Source]] = {
    "oai": {
        s.variable: s
        for s in (
            Source("sex", "Enrollees", "P02SEX", visits=(0,)),
            Source("age", "AllClinical{vv}", "V{vv}AGE"),
            Source("bmi", "AllClinical{vv}", "V{vv}BMI", baseline_column="P01BMI"),
            Source("height_m", "AllClinical{vv}", "V{vv}HEIGHT", baseline_column="P01HEIGHT",
                   visits=(0, 24), scale=0.001),
            Source("weight_kg", "AllClinical{vv}", "V{vv}WEIGHT", baseline_column="P01WEIGHT"),
            Source("pain_right", "AllClinical{vv}", "V{vv}WOMKPR"),
            Source("pain_left", "AllClinical{vv}", "V{vv}WOMKPL"),
            Source("jsw_mm", "kxr_qjsw_duryea{vv}", "V{vv}MCMJSW", per="knee"),
            Source("kl_grade", "kxr_sq_bu{vv}", "V{vv}XRKL", per="knee"),
        )
    },
    "nda": {
        s.variable: s
        for s in (
            Source("sex", "oai_enrollee01", "sex", visits=(0,)),
            Source("age", "oai_oarisk01", "interview_age", scale=1 / 12, floor=True),
            Source("bmi", "oai_oarisk01", "bmi"),
            Source("height_m", "oai_oarisk01", "height", visits=(0, 24), scale=0.001),
            Source("weight_kg", "oai_oarisk01", "weight"),
            Source("pain_right", "oai_koos_womac01", "womac_pain_right"),
            Source("pain_left", "oai_koos_womac01", "womac_pain_left"),
            Source("jsw_mm", "oai_kxrquantjsw01", "mcmjsw", per="knee"),
            Source("kl_grade", "oai_kxrsemiquant01", "xrkl", per="knee"),
        )
    },
}

#: The variables read from the tables, in the map's order. Each is a clinical variable's
#: knee-table column (:data:`studies.vocabulary.VARIABLES`) or one of the names under which
#: a variable is read per side (``pain_right``/``pain_left`` become ``womac_pain`` of each
#: knee); ``jsw_mm``/``kl_grade`` carry a reading project.
VARIABLES: tuple[str, ...] = tuple(VARIABLE_MAP["oai"])
#: Variables without which no study can be built; the others are optional (a missing table
#: is a warning, a missing column in a table that is there an error).
REQUIRED: frozenset[str] = frozenset({"sex", "age", "jsw_mm"})


def vocabulary_names() -> frozenset[str]:
    """The names a variable map may fill: each clinical variable's column, or the per-side
    names it is read as (:attr:`studies.vocabulary.ClinicalVariable.read_as`)."""
    return frozenset(name for v in VOCABULARY for name in (v.read_as or (v.column,)))


def map_problems(variable_maps: dict[str, dict[str, Source]] | None = None) -> list[str]:
    """Targets of the variable maps (default :data:`VARIABLE_MAP`) that are not in the
    vocabulary, and styles whose maps fill different variables."""
    maps = VARIABLE_MAP if variable_maps is None else variable_maps
    known = vocabulary_names()
    out = [f"{style} variable map: '{name}' is not a clinical variable of studies.vocabulary"
           for style, sources in maps.items() for name in sources if name not in known]
    out += [f"{style} variable map: entry '{name}' names variable '{src.variable}'"
            for style, sources in maps.items() for name, src in sources.items() if src.variable != name]
    first = next(iter(maps.values()), {})
    out += [f"{style} variable map fills {sorted(sources)}, not {sorted(first)}"
            for style, sources in maps.items() if set(sources) != set(first)]
    return out


if _problems := map_problems() + [f"required variable '{r}' is not in the map" for r in REQUIRED - set(VARIABLES)]:
    raise ImportError("; ".join(_problems))


#: Key columns of each style: participant id, side (1 right, 2 left), reading project, visit.
KEYS: dict[str, dict[str, str]] = {
    "oai": {"id": "ID", "side": "SIDE", "project": "READPRJ"},
    "nda": {"id": "src_subject_id", "side": "side", "project": "readprj", "visit": "visit"},
}

_FIELDS = ("table", "column", "baseline_column", "visits")


def variable_map(style: str, override: str | Path | None = None) -> dict[str, Source]:
    """The :class:`Source` of every variable for ``style``, with ``override``'s entries applied.

    Raises :class:`InputFileError` for an override file that cannot be read, names an
    unknown style, variable or field, or gives a bad value.
    """
    sources = dict(VARIABLE_MAP[style])
    if override is None:
        return sources
    for ostyle, variable, fields, _where in _read_override(Path(override)):
        if ostyle != style:
            continue
        if variable not in sources:
            raise InputFileError(
                override, f"unknown variable '{variable}'." + did_you_mean(variable, VARIABLES),
                hint=f"Variables: {', '.join(VARIABLES)}",
            )
        sources[variable] = replace(sources[variable], **fields)
    return sources


def _read_override(path: Path) -> list[tuple[str, str, dict, str]]:
    """(style, variable, fields, where) of each entry of a TOML or CSV override file."""
    if not path.is_file():
        raise InputFileError(path, "variables file not found", hint="Give a .toml or .csv file")
    entries: list[tuple[str, str, dict, str]] = []
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputFileError(path, f"not valid TOML ({exc})") from exc
        for style, table in data.items():
            if not isinstance(table, dict):
                raise InputFileError(path, "expected [style.variable] tables", value=style)
            for variable, fields in table.items():
                if not isinstance(fields, dict):
                    raise InputFileError(path, f"expected a [{style}.{variable}] table", value=fields)
                entries.append((style, variable, dict(fields), f"[{style}.{variable}]"))
    elif path.suffix.lower() == ".csv":
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputFileError(path, f"cannot read this CSV ({exc})") from exc
        for i, r in enumerate(rows, start=1):
            fields = {k.strip(): (v or "").strip() for k, v in r.items() if k and k.strip() not in ("style", "variable") and (v or "").strip()}
            entries.append(((r.get("style") or "").strip(), (r.get("variable") or "").strip(), fields, f"row {i}"))
    else:
        raise InputFileError(path, "expected a .toml or .csv variables file", value=path.suffix)
    out = []
    for style, variable, fields, where in entries:
        if style not in STYLES:
            raise InputFileError(path, f"{where}: unknown style." + did_you_mean(style, STYLES),
                                 value=style, hint="Styles: oai, nda")
        for name, value in fields.items():
            if name not in _FIELDS:
                raise InputFileError(path, f"{where}: unknown field '{name}'." + did_you_mean(name, _FIELDS),
                                     hint=f"Fields: {', '.join(_FIELDS)}")
            if name == "visits":
                fields[name] = _visits(value, path, where)
            elif not isinstance(value, str) or not value.strip():
                raise InputFileError(path, f"{where}: '{name}' must be a non-empty name", value=value)
        out.append((style, variable, fields, where))
    return out


def _visits(value, path: Path, where: str) -> tuple[int, ...]:
    items = value.split(";") if isinstance(value, str) else value
    try:
        months = tuple(int(v) for v in items)
    except (TypeError, ValueError):
        months = ()
    if not months or any(m not in VISIT_CODES for m in months):
        raise InputFileError(path, f"{where}: 'visits' must list months among {sorted(VISIT_CODES)}",
                             value=value)
    return months
