"""The study package: the one contract between ``studies``, ``model`` and ``reader_app``.

A study package is a folder handed to readers::

    STUDY/
      manifest.json            this module's Manifest (schema_version 1)
      images/<case>_<seq>.nii.gz   oriented, anonymised NIfTI volumes (right knees mirrored)
      ai/scores.csv            optional: case_id, probability, run_id  (written by ``model``)
      ai/heatmaps/<case>_<seq>.nii.gz   optional Grad-CAM volumes on the image's grid
      ai/run.json              optional: the model run's provenance
      decisions/<reader>.sqlite    one decisions file per reader (written by ``reader_app``)

The key (which case of each pair progressed, its JSN, stratum and source ids) is a separate
JSON file that never goes into the package; the manifest carries its SHA-256 so analysis can
prove it did not change after reading.

Nothing in the package may reveal the answer: no labels, no JSN, no source ids, no dates, and
no file names or orderings that correlate with the label. Case ids are random tokens.

Everything here is plain data: the dataclasses load from and dump to JSON, and
:func:`load_manifest` checks the schema and reports every problem it finds at once.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studies.atomic import write_text_atomic
from studies.errors import InputFileError, did_you_mean, require_columns
from studies.package_paths import (
    CASE_ID_PATTERN,
    READER_ID_PATTERN,
    relative_path_problem,
    safe_id_problem,
)

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
IMAGES_DIR = "images"
AI_DIR = "ai"
AI_SCORES_NAME = "scores.csv"
AI_HEATMAPS_DIR = "heatmaps"
AI_RUN_NAME = "run.json"
#: Columns of ``ai/scores.csv`` (``run_id`` optional).
AI_SCORE_COLUMNS: tuple[str, ...] = ("case_id", "probability", "run_id")
DECISIONS_DIR = "decisions"

#: Sequence keys used everywhere in the package (and their OAI SeriesDescription stems).
SEQUENCES: tuple[str, ...] = ("cor_iw_tse", "sag_3d_dess")
SEQUENCE_LABELS = {"cor_iw_tse": "COR IW TSE", "sag_3d_dess": "SAG 3D DESS"}

#: Reading modes a study may allow (see the reader app): the AI is never shown in
#: ``unaided``; shown from the start in ``aided``; shown after a locked first answer in
#: ``sequential``.
READING_MODES: tuple[str, ...] = ("unaided", "aided", "sequential")
AI_MODES = frozenset({"aided", "sequential"})

DEFAULT_QUESTION = "Which knee will show joint-space narrowing within 12 months?"

#: Clinical variables readers may see, in display order: (key, label, unit).
CLINICAL_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("age", "Age", "years"),
    ("sex", "Sex", ""),
    ("bmi", "BMI", "kg/m²"),
    ("height_m", "Height", "m"),
    ("weight_kg", "Weight", "kg"),
    ("min_medial_jsw_mm", "Min. medial JSW", "mm"),
)
CLINICAL_KEYS = tuple(k for k, _, _ in CLINICAL_VARIABLES)

#: Strata of progressors, as in the paper's human benchmark.
STRATA: tuple[str, ...] = ("almost_certain", "likely", "doubtful")


@dataclass
class Case:
    """One knee as a reader sees it.

    ``images`` maps a sequence key to a path relative to the package root.
    ``clinical`` maps each of :data:`CLINICAL_KEYS` to its value (``sex`` is "F" or "M").
    """

    case_id: str
    images: dict[str, str]
    clinical: dict[str, Any]


@dataclass
class Pair:
    """Two case ids in no meaningful order (the reader app decides left and right)."""

    pair_id: str
    cases: tuple[str, str]


@dataclass
class Manifest:
    """The reader-visible description of a study (``manifest.json``)."""

    study_id: str
    cases: dict[str, Case]
    pairs: list[Pair]
    key_sha256: str
    question: str = DEFAULT_QUESTION
    title: str = "Knee OA progression reader study"
    practice_pairs: list[Pair] = field(default_factory=list)
    reading_modes: list[str] = field(default_factory=lambda: list(READING_MODES))
    sequences: list[str] = field(default_factory=lambda: list(SEQUENCES))
    #: None, or {"min": 1, "max": 5, "labels": {"1": "guess", "5": "certain"}}.
    confidence_scale: dict[str, Any] | None = None
    #: May a reader change a committed answer (each change is appended to the audit trail)?
    allow_answer_change: bool = False
    #: Educational studies may reveal the answers on the end screen; real studies never.
    educational: bool = False
    schema_version: int = SCHEMA_VERSION

    # -- conveniences -----------------------------------------------------------------
    def all_pairs(self) -> list[Pair]:
        """Practice pairs first, then the scored pairs."""
        return [*self.practice_pairs, *self.pairs]

    def is_practice(self, pair_id: str) -> bool:
        return any(p.pair_id == pair_id for p in self.practice_pairs)

    def pair(self, pair_id: str) -> Pair:
        for p in self.all_pairs():
            if p.pair_id == pair_id:
                return p
        raise KeyError(f"no pair {pair_id!r} in study {self.study_id}")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["pairs"] = [{"pair_id": p.pair_id, "cases": list(p.cases)} for p in self.pairs]
        d["practice_pairs"] = [
            {"pair_id": p.pair_id, "cases": list(p.cases)} for p in self.practice_pairs
        ]
        d["cases"] = {cid: {"images": c.images, "clinical": c.clinical} for cid, c in self.cases.items()}
        # schema_version first, for people who open the file.
        return {"schema_version": d.pop("schema_version"), **d}


_MANIFEST_REQUIRED = ("schema_version", "study_id", "cases", "pairs", "key_sha256")
_MANIFEST_OPTIONAL = (
    "question",
    "title",
    "practice_pairs",
    "reading_modes",
    "sequences",
    "confidence_scale",
    "allow_answer_change",
    "educational",
)


def manifest_problems(data: Any, path: str | Path = MANIFEST_NAME) -> list[str]:
    """Every schema problem in a parsed manifest, as readable sentences (empty when valid)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return [f"{path}: the manifest must be a JSON object, got {type(data).__name__}"]
    for k in _MANIFEST_REQUIRED:
        if k not in data:
            problems.append(f"{path}: missing field '{k}'." + did_you_mean(k, data.keys()))
    for k in data:
        if k not in _MANIFEST_REQUIRED and k not in _MANIFEST_OPTIONAL:
            problems.append(
                f"{path}: unknown field '{k}'."
                + did_you_mean(k, [*_MANIFEST_REQUIRED, *_MANIFEST_OPTIONAL])
            )
    if data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        problems.append(
            f"{path}: schema_version {data.get('schema_version')!r} is not supported "
            f"(this version reads {SCHEMA_VERSION}); update the software or rebuild the study"
        )
    cases = data.get("cases", {})
    if not isinstance(cases, dict):
        problems.append(f"{path}: 'cases' must be an object keyed by case id")
        cases = {}
    for cid, c in cases.items():
        if (bad := safe_id_problem(cid, CASE_ID_PATTERN)) is not None:
            problems.append(f"{path}: case id {cid!r} {bad}")
        if not isinstance(c, dict) or "images" not in c or "clinical" not in c:
            problems.append(f"{path}: case '{cid}' needs 'images' and 'clinical'")
            continue
        for seq, rel in c["images"].items():
            if seq not in SEQUENCES:
                problems.append(
                    f"{path}: case '{cid}' has unknown sequence '{seq}'." + did_you_mean(seq, SEQUENCES)
                )
            if (bad := relative_path_problem(rel, IMAGES_DIR)) is not None:
                problems.append(f"{path}: case '{cid}' {seq} image path {rel!r} {bad}")
        for k in CLINICAL_KEYS:
            if k not in c["clinical"]:
                problems.append(f"{path}: case '{cid}' lacks clinical variable '{k}'")
    seen: set[str] = set()
    for group in ("pairs", "practice_pairs"):
        pairs = data.get(group, [])
        if not isinstance(pairs, list):
            problems.append(f"{path}: '{group}' must be a list")
            continue
        for i, p in enumerate(pairs):
            if not isinstance(p, dict) or "pair_id" not in p or "cases" not in p:
                problems.append(f"{path}: {group}[{i}] needs 'pair_id' and 'cases'")
                continue
            if p["pair_id"] in seen:
                problems.append(f"{path}: pair id '{p['pair_id']}' appears twice")
            seen.add(p["pair_id"])
            pc = p["cases"]
            if not isinstance(pc, list) or len(pc) != 2 or pc[0] == pc[1]:
                problems.append(f"{path}: pair '{p['pair_id']}' must list two different case ids")
                continue
            for cid in pc:
                if cid not in cases:
                    problems.append(f"{path}: pair '{p['pair_id']}' names unknown case '{cid}'")
    for m in data.get("reading_modes", []):
        if m not in READING_MODES:
            problems.append(f"{path}: unknown reading mode '{m}'." + did_you_mean(m, READING_MODES))
    return problems


def manifest_from_json(data: dict[str, Any]) -> Manifest:
    """Build a :class:`Manifest` from parsed JSON already checked by :func:`manifest_problems`."""
    cases = {
        cid: Case(case_id=cid, images=dict(c["images"]), clinical=dict(c["clinical"]))
        for cid, c in data["cases"].items()
    }

    def pairs(key: str) -> list[Pair]:
        return [Pair(p["pair_id"], (p["cases"][0], p["cases"][1])) for p in data.get(key, [])]

    kwargs = {k: data[k] for k in _MANIFEST_OPTIONAL if k in data and k not in ("practice_pairs",)}
    return Manifest(
        study_id=data["study_id"],
        cases=cases,
        pairs=pairs("pairs"),
        practice_pairs=pairs("practice_pairs"),
        key_sha256=data["key_sha256"],
        schema_version=data["schema_version"],
        **kwargs,
    )


def read_json(path: str | Path, what: str) -> Any:
    """Parse a JSON file, turning a missing or malformed file into an :class:`InputFileError`."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, f"{what} not found", hint="Check the path")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"{what} is not valid JSON ({exc})") from exc


def load_manifest(study: str | Path) -> Manifest:
    """Load and check ``STUDY/manifest.json``; raise one error listing every schema problem."""
    path = Path(study) / MANIFEST_NAME
    data = read_json(path, "study manifest")
    problems = manifest_problems(data, path)
    if problems:
        raise InputFileError(path, "the manifest is not valid:\n  " + "\n  ".join(problems))
    return manifest_from_json(data)


def save_manifest(study: str | Path, manifest: Manifest) -> Path:
    """Write ``STUDY/manifest.json`` atomically and return its path."""
    path = Path(study) / MANIFEST_NAME
    write_text_atomic(path, json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n")
    return path


# -- the key -----------------------------------------------------------------------------


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_key(path: str | Path) -> dict[str, Any]:
    """Load a key file (see ``docs/formats.md``); checks the fields analysis relies on.

    A key is ``{"schema_version": 1, "study_id": ..., "pairs": [...], "practice_pairs": [...]}``
    where each pair is ``{"pair_id", "progressor", "non_progressor", "jsn_mm",
    "non_progressor_jsn_mm", "stratum", "progressor_source": {"participant_id", "side",
    "visit"}, "non_progressor_source": {...}}``.
    """
    path = Path(path)
    data = read_json(path, "study key")
    if not isinstance(data, dict) or "pairs" not in data or "study_id" not in data:
        raise InputFileError(path, "not a study key: expected an object with 'study_id' and 'pairs'")
    for i, p in enumerate(data["pairs"]):
        for k in ("pair_id", "progressor", "non_progressor", "stratum"):
            if k not in p:
                raise InputFileError(path, f"pairs[{i}] lacks '{k}'")
    return data


def verify_key(study: str | Path, key_path: str | Path) -> None:
    """Raise :class:`InputFileError` unless the key's SHA-256 matches the manifest's."""
    manifest = load_manifest(study)
    if not Path(key_path).is_file():
        raise InputFileError(key_path, "study key not found", hint="Check the path")
    actual = file_sha256(key_path)
    if actual != manifest.key_sha256:
        raise InputFileError(
            key_path,
            "the key does not match this study: its SHA-256 differs from the one in "
            f"{Path(study) / MANIFEST_NAME} (key {actual[:12]}..., manifest {manifest.key_sha256[:12]}...)",
            hint="Use the key written when this study was built; a changed key cannot be trusted",
        )


def read_ai_scores(study: str | Path) -> tuple[dict[str, float], str] | None:
    """``STUDY/ai/scores.csv`` as ({case_id: probability}, the run ids joined by ','), or None
    when the study has no scores. Plain ``csv`` (the reader app's start stays free of pandas).

    Raises :class:`InputFileError` naming the row and column for a missing column, a
    probability that is not a number from 0 to 1, or a case listed twice.
    """
    path = Path(study) / AI_DIR / AI_SCORES_NAME
    if not path.is_file():
        return None
    scores: dict[str, float] = {}
    run_ids: set[str] = set()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        require_columns(path, reader.fieldnames or [], AI_SCORE_COLUMNS[:2],
                        hint=f"Expected columns {', '.join(AI_SCORE_COLUMNS)}")
        for i, row in enumerate(reader, 1):
            cid = (row["case_id"] or "").strip()
            try:
                p = float(row["probability"])
            except (TypeError, ValueError):
                p = math.nan
            if not 0.0 <= p <= 1.0:
                raise InputFileError(path, "probability must be a number from 0 to 1", row=i,
                                     column="probability", value=row["probability"])
            if cid in scores:
                raise InputFileError(path, "case listed twice", row=i, column="case_id", value=cid)
            scores[cid] = p
            run_ids.add((row.get("run_id") or "").strip())
    return scores, ",".join(sorted(r for r in run_ids if r))


def decisions_dir(study: str | Path) -> Path:
    return Path(study) / DECISIONS_DIR


def decisions_path(study: str | Path, reader_id: str) -> Path:
    """``STUDY/decisions/<reader_id>.sqlite``; the reader id must be a safe file name."""
    check_reader_id(reader_id)
    return decisions_dir(study) / f"{reader_id}.sqlite"


def check_reader_id(reader_id: str) -> str:
    """Reader ids become file names: letters, digits, '-', '_' and '.', 1-64 characters."""
    from studies.errors import OptionError

    if safe_id_problem(reader_id, READER_ID_PATTERN) is not None:
        raise OptionError(
            "reader", "1-64 letters, digits, '-', '_' or '.', starting with a letter or digit", reader_id
        )
    return reader_id
