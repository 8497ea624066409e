"""The declared schemas (JSON Schema, draft 2020-12) of every file handed between people:
the manifest, the key, the rows of ``ai/scores.csv`` and the payloads of decisions files.

Checked with :func:`studies.schema_check.schema_problems`. Types are strict (``"false"`` is not
a boolean, ``true`` is not an integer), text and lists are bounded, numbers are finite (the
parser refuses NaN and Infinity) and in range. Cross-references (a pair naming a known case,
``confidence_scale.min <= max``) are checked by the code that loads each file.
"""

from __future__ import annotations

from typing import Any

from studies.ai_scores import AI_SCORE_ROW_SCHEMA  # noqa: F401  (re-exported: defined with the file it checks)
from studies.decisions.modes import schema_names
from studies.package_layout import (
    MAX_CONFIDENCE_STEPS,
    SEQUENCES,
    STRATA,
    SUPPORTED_SCHEMA_VERSIONS,
)
from studies.package_paths import CASE_ID_SCHEMA, MAX_PATH_CHARS, PAIR_ID_PATTERN
from studies.vocabulary import clinical_schema

MAX_TITLE_CHARS = 200
MAX_QUESTION_CHARS = 1000
MAX_CASES = 20_000
MAX_PAIRS = 10_000
MAX_LABEL_CHARS = 100
MAX_REASON_CHARS = 2000

STUDY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

_case_id = CASE_ID_SCHEMA
_pair_id = {"type": "string", "pattern": PAIR_ID_PATTERN,
            "description": "a pair id: 1-64 letters, digits, '-', '_' or '.'"}
_sha256 = {"type": "string", "pattern": SHA256_PATTERN, "description": "64 lower-case hex digits"}


def _number(lo: float, hi: float) -> dict[str, Any]:
    return {"type": "number", "minimum": lo, "maximum": hi}


#: A case's clinical variables: those readers see, each in its plausible range (a typo, not a
#: patient, is outside it), from the vocabulary (:mod:`studies.vocabulary.variables`).
_clinical = clinical_schema()

_case = {
    "type": "object",
    "required": ["images", "clinical"],
    "additionalProperties": False,
    "properties": {
        "images": {
            "type": "object",
            "propertyNames": {"enum": list(SEQUENCES)},
            "additionalProperties": {"type": "string", "maxLength": MAX_PATH_CHARS},
        },
        "clinical": _clinical,
        # schema_version 2: the SHA-256 of each image file, by sequence
        "image_sha256": {
            "type": "object",
            "propertyNames": {"enum": list(SEQUENCES)},
            "additionalProperties": _sha256,
        },
    },
}

_pair = {
    "type": "object",
    "required": ["pair_id", "cases"],
    "additionalProperties": False,
    "properties": {
        "pair_id": _pair_id,
        "cases": {"type": "array", "items": _case_id, "minItems": 2, "maxItems": 2},
    },
}

MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "knee reader study manifest",
    "type": "object",
    "required": ["schema_version", "study_id", "cases", "pairs", "key_sha256"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"type": "integer", "enum": list(SUPPORTED_SCHEMA_VERSIONS)},
        "study_id": {"type": "string", "pattern": STUDY_ID_PATTERN,
                     "description": "1-64 letters, digits, '-', '_' or '.'"},
        "cases": {"type": "object", "maxProperties": MAX_CASES,
                  "propertyNames": _case_id,
                  "additionalProperties": _case},
        "pairs": {"type": "array", "items": _pair, "minItems": 1, "maxItems": MAX_PAIRS},
        "practice_pairs": {"type": "array", "items": _pair, "maxItems": MAX_PAIRS},
        "key_sha256": _sha256,
        "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS},
        "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE_CHARS},
        "reading_modes": {"type": "array", "items": {"enum": schema_names()},
                          "minItems": 1, "uniqueItems": True},
        "sequences": {"type": "array", "items": {"enum": list(SEQUENCES)},
                      "minItems": 1, "uniqueItems": True},
        "confidence_scale": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["min", "max"],
                    "additionalProperties": False,
                    "properties": {
                        "min": {"type": "integer", "minimum": 0, "maximum": 100},
                        "max": {"type": "integer", "minimum": 0, "maximum": 100},
                        "labels": {
                            "type": "object", "maxProperties": MAX_CONFIDENCE_STEPS,
                            "propertyNames": {"pattern": r"^[0-9]{1,3}$"},
                            "additionalProperties": {"type": "string", "maxLength": MAX_LABEL_CHARS},
                        },
                    },
                },
            ]
        },
        "allow_answer_change": {"type": "boolean"},
        "educational": {"type": "boolean"},
        # schema_version 2: the SHA-256 of each AI file (``ai/...`` path -> hash)
        "ai_sha256": {"type": "object", "maxProperties": 3 * MAX_CASES + 10,
                      "additionalProperties": _sha256},
    },
}


def manifest_schema() -> dict[str, Any]:
    """:data:`MANIFEST_SCHEMA`, its ``clinical`` part made from the vocabulary as it is now
    (the same object while no variable was registered since import)."""
    clinical = clinical_schema()
    if clinical == _clinical:
        return MANIFEST_SCHEMA
    cases = MANIFEST_SCHEMA["properties"]["cases"]
    case = {**_case, "properties": {**_case["properties"], "clinical": clinical}}
    return {**MANIFEST_SCHEMA, "properties": {**MANIFEST_SCHEMA["properties"],
                                              "cases": {**cases, "additionalProperties": case}}}


_source = {"type": "object"}
_key_pair = {
    "type": "object",
    "required": ["pair_id", "progressor", "non_progressor", "stratum"],
    "properties": {
        "pair_id": _pair_id,
        "progressor": _case_id,
        "non_progressor": _case_id,
        "stratum": {"enum": list(STRATA)},
        "jsn_mm": {"type": ["number", "null"]},
        "non_progressor_jsn_mm": {"type": ["number", "null"]},
        "progressor_source": _source,
        "non_progressor_source": _source,
        "match_relaxed": {"type": "boolean"},
    },
}

KEY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "knee reader study key",
    "type": "object",
    "required": ["schema_version", "study_id", "pairs"],
    "properties": {
        "schema_version": {"type": "integer", "enum": [1]},
        "study_id": {"type": "string", "pattern": STUDY_ID_PATTERN,
                     "description": "1-64 letters, digits, '-', '_' or '.'"},
        "pairs": {"type": "array", "items": _key_pair, "minItems": 1, "maxItems": MAX_PAIRS},
        "practice_pairs": {"type": "array", "items": _key_pair, "maxItems": MAX_PAIRS},
        "build": {"type": "object"},
        "report": {"type": "object"},
    },
}

_iso = {"type": "string", "maxLength": 40,
        "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
        "description": "ISO-8601 time with an offset"}
_mode = {"enum": schema_names()}  # the registry's live list: a registered mode is accepted
_decision = {
    "type": "object",
    "required": ["pair_id", "phase", "case_left", "case_right", "chosen_case", "mode",
                 "ai_shown", "started_at", "decided_at", "active_seconds", "practice"],
    "properties": {
        "pair_id": _pair_id,
        "phase": {"enum": ["first", "final"]},
        "case_left": _case_id,
        "case_right": _case_id,
        "chosen_case": _case_id,
        "confidence": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
        "mode": _mode,
        "ai_shown": {"type": "boolean"},
        "started_at": _iso,
        "decided_at": _iso,
        "active_seconds": _number(0, 1e9),
        "practice": {"type": "boolean"},
        "replaces": {"type": "integer", "minimum": 1},
        "measurements": {"type": "array", "maxItems": 200, "items": {
            "type": "object",
            "required": ["case", "sequence", "slice", "length_mm"],
            "properties": {
                "case": _case_id,
                "sequence": {"type": "string", "maxLength": 40, "pattern": "^[a-z0-9_]+$"},  # or a reformat view
                "slice": {"type": "integer", "minimum": 0, "maximum": 100_000},
                "p0_voxel": {"type": "array", "maxItems": 3, "items": _number(-1e6, 1e6)},
                "p1_voxel": {"type": "array", "maxItems": 3, "items": _number(-1e6, 1e6)},
                "p0_mm": {"type": "array", "maxItems": 3, "items": _number(-1e6, 1e6)},
                "p1_mm": {"type": "array", "maxItems": 3, "items": _number(-1e6, 1e6)},
                "length_mm": _number(0, 1e4),
            },
        }},
    },
}

#: The payload of each kind of audit row of a decisions file.
PAYLOAD_SCHEMAS: dict[str, dict[str, Any]] = {
    "session_start": {"type": "object", "properties": {"mode": _mode, "simulated": {"type": "boolean"}}},
    "session_stop": {"type": "object", "properties": {"mode": _mode}},
    "decision": _decision,
    "answer_change": {**_decision, "required": [*_decision["required"], "replaces"]},
    "flag": {"type": "object", "required": ["pair_id", "reason"],
             "properties": {"pair_id": _pair_id,
                            "reason": {"type": "string", "maxLength": MAX_REASON_CHARS},
                            "mode": _mode}},
}
