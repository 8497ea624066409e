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

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from studies.ai_scores import AI_SCORE_COLUMNS, parse_scores
from studies.atomic import write_text_atomic
from studies.errors import InputFileError
from studies.package_layout import (  # noqa: F401  (re-exported: the package's fixed names live there)
    AI_DIR,
    AI_HEATMAPS_DIR,
    AI_RUN_NAME,
    AI_SCORES_NAME,
    DECISIONS_DIR,
    IMAGES_DIR,
    MANIFEST_NAME,
    MAX_CONFIDENCE_STEPS,
    SCHEMA_VERSION,
    SEQUENCE_LABELS,
    SEQUENCES,
    STRATA,
    SUPPORTED_SCHEMA_VERSIONS,
)
from studies.package_paths import READER_ID_PATTERN, relative_path_problem, safe_id_problem
from studies.vocabulary import shown_variables

DEFAULT_QUESTION = "Which knee will show joint-space narrowing within 12 months?"

#: Clinical variables readers see, in display order: (key, label, unit), from
#: :func:`studies.vocabulary.shown_variables` (where each is defined).
CLINICAL_VARIABLES: tuple[tuple[str, str, str], ...] = tuple(
    (v.package_key, v.label, v.unit) for v in shown_variables()
)
CLINICAL_KEYS = tuple(k for k, _, _ in CLINICAL_VARIABLES)


@dataclass
class Case:
    """One knee as a reader sees it.

    ``images`` maps a sequence key to a path relative to the package root.
    ``clinical`` maps the package key of each variable readers see
    (:func:`studies.vocabulary.shown_variables`) to its value (``sex`` is "F" or "M").
    """

    case_id: str
    images: dict[str, str]
    clinical: dict[str, Any]
    #: Sequence -> SHA-256 of the image file (schema_version 2; empty in version 1).
    image_sha256: dict[str, str] = field(default_factory=dict)


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
    #: The reading modes a study allows (:mod:`studies.decisions.modes`); default all.
    reading_modes: list[str] = field(default_factory=lambda: _all_reading_modes())
    sequences: list[str] = field(default_factory=lambda: list(SEQUENCES))
    #: None, or {"min": 1, "max": 5, "labels": {"1": "guess", "5": "certain"}}.
    confidence_scale: dict[str, Any] | None = None
    #: May a reader change a committed answer (each change is appended to the audit trail)?
    allow_answer_change: bool = False
    #: Educational studies may reveal the answers on the end screen; real studies never.
    educational: bool = False
    schema_version: int = SCHEMA_VERSION
    #: ``ai/...`` path -> SHA-256 of each AI output file, recorded by the model's inference.
    ai_sha256: dict[str, str] = field(default_factory=dict)

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
        d["cases"] = {
            cid: {"images": c.images, "clinical": c.clinical,
                  **({"image_sha256": c.image_sha256} if c.image_sha256 else {})}
            for cid, c in self.cases.items()
        }
        if not self.ai_sha256:
            d.pop("ai_sha256")
        # schema_version first, for people who open the file.
        return {"schema_version": d.pop("schema_version"), **d}


def _all_reading_modes() -> list[str]:
    # imported here: importing studies.decisions.modes first runs studies/decisions/__init__.py,
    # whose store builds on this module (Manifest)
    from studies.decisions.modes import mode_names

    return list(mode_names())


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
#: Largest manifest or key file read (a 150-pair study's manifest is about 100 kB).
MAX_JSON_BYTES = 64 << 20


def manifest_problems(data: Any, path: str | Path = MANIFEST_NAME) -> list[str]:
    """Every problem in a parsed manifest, as readable sentences (empty when valid): the
    declared schema (:data:`studies.schemas.MANIFEST_SCHEMA`), then the cross-references."""
    from studies.schema_check import schema_problems
    from studies.schemas import manifest_schema

    if isinstance(data, dict) and data.get("schema_version") not in SUPPORTED_SCHEMA_VERSIONS \
            and type(data.get("schema_version")) is int:
        return [
            f"{path}: schema_version {data.get('schema_version')!r} is not supported "
            f"(this version reads {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}); update the "
            "software or rebuild the study"
        ]
    problems = schema_problems(data, manifest_schema(), path)
    if isinstance(data, dict):  # the cross-references of whatever parts are well formed
        problems += _reference_problems(data, path)
    return problems


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _reference_problems(data: dict[str, Any], path: str | Path) -> list[str]:
    """Cross-references the schema cannot express; tolerant of parts the schema refused."""
    problems: list[str] = []
    cases = {k: v for k, v in _dict(data.get("cases")).items() if isinstance(v, dict)}
    version = data.get("schema_version")
    for cid, c in cases.items():
        for seq, rel in _dict(c.get("images")).items():
            if (bad := relative_path_problem(rel, IMAGES_DIR)) is not None:
                problems.append(f"{path}: case '{cid}' {seq} image path {rel!r} {bad}")
        if type(version) is int and version >= 2 and isinstance(c.get("images"), dict) \
                and set(_dict(c.get("image_sha256"))) != set(c["images"]):
            problems.append(f"{path}: case '{cid}' needs an image_sha256 for each of its images "
                            f"(schema_version {version})")
    for rel in _dict(data.get("ai_sha256")):
        if (bad := relative_path_problem(rel, AI_DIR)) is not None:
            problems.append(f"{path}: ai_sha256 path {rel!r} {bad}")
    seen: set[str] = set()
    for group in ("pairs", "practice_pairs"):
        pairs = data.get(group)
        for p in pairs if isinstance(pairs, list) else []:
            if not isinstance(p, dict) or not isinstance(p.get("pair_id"), str):
                continue
            pid, pc = p["pair_id"], p.get("cases")
            if pid in seen:
                problems.append(f"{path}: pair id '{pid}' appears twice")
            seen.add(pid)
            if not (isinstance(pc, list) and len(pc) == 2 and all(isinstance(c, str) for c in pc)):
                continue
            if pc[0] == pc[1]:
                problems.append(f"{path}: pair '{pid}' must list two different case ids")
            for cid in pc:
                if cid not in cases:
                    problems.append(f"{path}: pair '{pid}' names unknown case '{cid}'")
    scale = data.get("confidence_scale")
    if isinstance(scale, dict) and type(scale.get("min")) is int and type(scale.get("max")) is int:
        lo, hi = scale["min"], scale["max"]
        if lo > hi:
            problems.append(f"{path}: confidence_scale min {lo} is above max {hi}")
        elif hi - lo + 1 > MAX_CONFIDENCE_STEPS:
            problems.append(f"{path}: confidence_scale has {hi - lo + 1} steps, "
                            f"at most {MAX_CONFIDENCE_STEPS} allowed")
        for label in _dict(scale.get("labels")):
            if str(label).isdigit() and not lo <= int(label) <= hi:
                problems.append(f"{path}: confidence_scale label '{label}' is outside {lo}..{hi}")
    return problems


def manifest_from_json(data: dict[str, Any]) -> Manifest:
    """Build a :class:`Manifest` from parsed JSON already checked by :func:`manifest_problems`."""
    cases = {
        cid: Case(case_id=cid, images=dict(c["images"]), clinical=dict(c["clinical"]),
                  image_sha256=dict(c.get("image_sha256", {})))
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
        ai_sha256=dict(data.get("ai_sha256", {})),
        **kwargs,
    )


def read_json(path: str | Path, what: str) -> Any:
    """Parse a JSON file strictly and within bounds (see :mod:`studies.schema_check`),
    turning a missing, oversized, malformed or too deeply nested file into an
    :class:`InputFileError`."""
    from studies.schema_check import read_json_bounded

    return read_json_bounded(path, what, max_bytes=MAX_JSON_BYTES)


def load_manifest(study: str | Path) -> Manifest:
    """Load and check ``STUDY/manifest.json``; raise one error listing every schema problem."""
    path = Path(study) / MANIFEST_NAME
    data = read_json(path, "study manifest")
    problems = manifest_problems(data, path)
    if problems:
        raise InputFileError(path, "the manifest is not valid:\n  " + "\n  ".join(problems))
    return manifest_from_json(data)


def save_manifest(study: str | Path, manifest: Manifest) -> Path:
    """Write ``STUDY/manifest.json`` atomically and return its path.

    The SHA-256 of every image file present and not yet recorded is filled in
    (:func:`fill_image_hashes`); the manifest is written as schema_version 2
    when every image has its hash, else as version 1 (no hashes).
    """
    manifest = fill_image_hashes(study, manifest)
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


def fill_image_hashes(study: str | Path, manifest: Manifest) -> Manifest:
    """A copy of ``manifest`` with the SHA-256 of each image file that exists and has none
    recorded, as schema_version 2 when every image then has one, else version 1."""
    study = Path(study)
    cases = {}
    complete = True
    for cid, case in manifest.cases.items():
        hashes = dict(case.image_sha256)
        for seq, rel in case.images.items():
            path = study / rel
            if seq not in hashes and path.is_file():
                hashes[seq] = file_sha256(path)
            complete &= seq in hashes
        cases[cid] = replace(case, image_sha256=hashes)
    if not complete:  # version 1 carries no hashes at all
        cases = {cid: replace(c, image_sha256={}) for cid, c in cases.items()}
    return replace(manifest, cases=cases, schema_version=2 if complete else 1)


def load_key(path: str | Path) -> dict[str, Any]:
    """Load a key file (see ``docs/formats.md``); checks the fields analysis relies on.

    A key is ``{"schema_version": 1, "study_id": ..., "pairs": [...], "practice_pairs": [...]}``
    where each pair is ``{"pair_id", "progressor", "non_progressor", "jsn_mm",
    "non_progressor_jsn_mm", "stratum", "progressor_source": {"participant_id", "side",
    "visit"}, "non_progressor_source": {...}}``.
    """
    from studies.schema_check import schema_problems
    from studies.schemas import KEY_SCHEMA

    path = Path(path)
    data = read_json(path, "study key")
    problems = schema_problems(data, KEY_SCHEMA, path)
    if problems:
        raise InputFileError(path, "not a valid study key:\n  " + "\n  ".join(problems))
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

    Raises :class:`InputFileError` listing every problem (see :mod:`studies.ai_scores`):
    encoding, separator, a missing column, a probability that is not a finite number from 0
    to 1, a case listed twice, an empty file.
    """
    path = Path(study) / AI_DIR / AI_SCORES_NAME
    if not path.is_file():
        return None
    scores, run_ids, problems = parse_scores(path)
    if problems:
        raise InputFileError(
            path, "the AI scores are not valid:\n  " + "\n  ".join(problems),
            hint=f"Expected UTF-8 CSV with columns {', '.join(AI_SCORE_COLUMNS)}; re-run the model's inference",
        )
    return scores, ",".join(sorted(run_ids))


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
