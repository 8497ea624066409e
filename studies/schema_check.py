"""Checking external JSON against a declared schema, and reading JSON within bounds.

Everything another person or workstation hands the tools (manifest, key, AI scores, decisions
payloads) is checked against one JSON Schema (draft 2020-12, :mod:`jsonschema`) declared in
:mod:`studies.schemas`; :func:`schema_problems` returns every problem at once as sentences that
name the file, the field (a JSON path such as ``cases.K2F7QXA.clinical.bmi``) and the value.

:func:`read_json_bounded` parses a file strictly: at most ``max_bytes``, UTF-8, no ``NaN`` or
``Infinity`` (JSON has neither; Python's parser accepts them), no duplicate keys, and nesting at
most :data:`MAX_DEPTH` deep, so a hostile file is a clean :class:`InputFileError`, never a
``RecursionError`` or ``MemoryError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from studies.errors import InputFileError, did_you_mean

#: Deepest nesting of arrays and objects accepted in any input JSON.
MAX_DEPTH = 32
#: At most this many problems are listed (the rest are counted).
MAX_PROBLEMS = 50


_VALIDATORS: dict[int, Draft202012Validator] = {}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} appears twice in one object")
        out[k] = v
    return out


def _depth_ok(text: str, limit: int) -> bool:
    """Is the bracket nesting of ``text`` at most ``limit``? (Brackets inside strings are
    counted too: that can only make the bound stricter for text nobody writes.)"""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads_strict(text: str) -> Any:
    """``json.loads`` refusing NaN/Infinity, duplicate keys and nesting deeper than
    :data:`MAX_DEPTH` (raises ValueError, never RecursionError)."""
    if not isinstance(text, str | bytes | bytearray):
        raise ValueError(f"expected JSON text, got {type(text).__name__}")
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if not _depth_ok(text, MAX_DEPTH):
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except RecursionError as exc:  # pragma: no cover - the depth check comes first
        raise ValueError("nested too deeply") from exc


def read_json_bounded(path: str | Path, what: str, *, max_bytes: int) -> Any:
    """Parse the JSON file at ``path`` within bounds; :class:`InputFileError` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, f"{what} not found", hint="Check the path")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputFileError(path, f"{what} is {size:,} bytes, more than the {max_bytes:,} allowed",
                             hint="This is not a file the tools wrote; check where it came from")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                             hint="Save it as UTF-8") from exc
    if not _depth_ok(text, MAX_DEPTH):
        raise InputFileError(path, f"{what} is nested more than {MAX_DEPTH} levels deep",
                             hint="This is not a file the tools wrote; check where it came from")
    try:
        return loads_strict(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise InputFileError(path, f"{what} is not valid JSON ({exc})") from exc


def _where(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _sentence(error) -> str:
    where = _where(error)
    v = error.validator
    if v == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return "; ".join(
            f"{where}: unknown field '{k}'." + did_you_mean(str(k), allowed) for k in extra
        )
    if v == "required":
        name = error.message.split("'")[1] if "'" in error.message else error.message
        present = list(error.instance) if isinstance(error.instance, dict) else []
        return f"{where}: missing field '{name}'." + did_you_mean(name, present)
    if v == "type":
        want = error.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        return f"{where}: must be {'an' if str(want)[0] in 'aeiou' else 'a'} {want}, got {_short(error.instance)}"
    if v == "maxLength":
        return f"{where}: text of {len(error.instance):,} characters, at most {error.validator_value} allowed"
    if v in ("maxItems", "maxProperties"):
        return f"{where}: {len(error.instance):,} entries, at most {error.validator_value} allowed"
    if v == "pattern":
        return f"{where}: {_short(error.instance)} does not have the expected form ({error.schema.get('description', error.validator_value)})"
    if v == "propertyNames":
        return f"{where}: {error.message}"
    return f"{where}: {_short(error.instance)} {error.message.split(' ', 1)[1] if error.message.startswith(repr(error.instance)) else '- ' + error.message}"


def schema_errors(data: Any, schema: dict[str, Any]) -> list[tuple[str, str]]:
    """Every way ``data`` breaks ``schema`` as (field path, sentence) pairs."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None or validator.schema is not schema:
        validator = _VALIDATORS[id(schema)] = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [(_where(e), _sentence(e)) for e in _leaves(errors)]


def schema_problems(data: Any, schema: dict[str, Any], path: str | Path) -> list[str]:
    """Every way ``data`` breaks ``schema``, one sentence each, prefixed with ``path``."""
    out = [f"{path}: {sentence}" for _, sentence in schema_errors(data, schema)]
    if len(out) > MAX_PROBLEMS:
        out = [*out[:MAX_PROBLEMS], f"{path}: ... and {len(out) - MAX_PROBLEMS} more problems"]
    return out


def _leaves(errors: Iterable) -> list:
    """For ``oneOf``/``anyOf`` failures, the most specific sub-error (``best_match`` style)."""
    from jsonschema.exceptions import best_match

    out = []
    for e in errors:
        if e.validator in ("oneOf", "anyOf") and e.context:
            out.append(best_match(e.context))
        else:
            out.append(e)
    return out
