"""``STUDY/ai/scores.csv``: the model's probability per case, checked strictly.

The file is comma-separated UTF-8 (a byte-order mark is allowed) with a header naming
``case_id`` and ``probability`` (``run_id`` optional), one row per case. Each row is checked
against :data:`AI_SCORE_ROW_SCHEMA` (one of the file schemas of :mod:`studies.schemas`) after the probability is parsed: a finite
number from 0 to 1. :func:`parse_scores` reports every problem at once (wrong encoding or
separator, a missing column, bad or duplicate rows, an empty file); with the manifest's case
ids, also cases without a score and scores of unknown cases.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from studies.errors import did_you_mean
from studies.package_paths import CASE_ID_SCHEMA

#: Columns of ``ai/scores.csv`` (``run_id`` optional).
AI_SCORE_COLUMNS: tuple[str, ...] = ("case_id", "probability", "run_id")
#: Largest scores file read (150 pairs take about 10 kB).
MAX_SCORES_BYTES = 16 << 20
MAX_LISTED = 20

#: One row of ``ai/scores.csv`` after parsing (probability already a float); JSON Schema.
AI_SCORE_ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["case_id", "probability"],
    "properties": {
        "case_id": CASE_ID_SCHEMA,
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "run_id": {"type": ["string", "null"], "maxLength": 200},
    },
}


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:200]:
        return None, "is UTF-16 (or binary), not UTF-8 text; save it as UTF-8 CSV"
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, f"is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 CSV"


def _probability(text: str | None) -> float | None:
    try:
        p = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return p if math.isfinite(p) else None


def parse_scores(
    path: str | Path, case_ids: Iterable[str] | None = None
) -> tuple[dict[str, float], set[str], list[str]]:
    """({case_id: probability}, run ids, problems) of the scores file at ``path``.

    ``problems`` are sentences naming the file, row and column; the scores hold the rows that
    passed. With ``case_ids`` (the manifest's cases), missing and unknown cases are problems too.
    """
    from studies.schema_check import schema_errors  # jsonschema: loaded when a file is read

    path = Path(path)
    size = path.stat().st_size
    if size > MAX_SCORES_BYTES:
        return {}, set(), [f"{path}: {size:,} bytes, more than the {MAX_SCORES_BYTES:,} allowed"]
    text, bad = _decode(path.read_bytes())
    if text is None:
        return {}, set(), [f"{path}: {bad}"]
    if not text.strip():
        return {}, set(), [f"{path}: the file is empty; expected a header {','.join(AI_SCORE_COLUMNS)}"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    problems: list[str] = []
    for col in AI_SCORE_COLUMNS[:2]:
        if col not in header:
            hint = did_you_mean(col, header)
            if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
                hint += " The file is not comma-separated: use ',' between columns."
            problems.append(f"{path}: missing column '{col}'.{hint}")
    if problems:
        return {}, set(), problems
    scores: dict[str, float] = {}
    run_ids: set[str] = set()
    for i, raw_row in enumerate(reader, 1):
        row = {(k or "").strip(): v for k, v in raw_row.items()}
        if None in raw_row:
            problems.append(f"{path}, row {i}: more cells than the header's {len(header)}")
            continue
        cid = (row.get("case_id") or "").strip()
        p = _probability(row.get("probability"))
        parsed = {"case_id": cid, "probability": p if p is not None else row.get("probability"),
                  "run_id": row.get("run_id")}
        row_problems = [
            f"{path}, row {i}, column '{field}': "
            + (f"must be a finite number from 0 to 1 (got {row.get('probability')!r})"
               if field == "probability" else sentence.split(": ", 1)[-1])
            for field, sentence in schema_errors(parsed, AI_SCORE_ROW_SCHEMA)
        ]
        if row_problems:
            problems += row_problems
            continue
        if cid in scores:
            problems.append(f"{path}, row {i}: case '{cid}' is listed twice")
            continue
        scores[cid] = p  # type: ignore[assignment]
        if (row.get("run_id") or "").strip():
            run_ids.add(row["run_id"].strip())
    if not scores and not problems:
        problems.append(f"{path}: no rows; expected one row per case of the study")
    if case_ids is not None:
        known = set(case_ids)
        missing = sorted(known - set(scores))
        extra = sorted(set(scores) - known)
        if missing:
            problems.append(f"{path}: {len(missing)} case(s) of the study have no score "
                            f"({', '.join(missing[:MAX_LISTED])}); re-run the model's inference")
        if extra:
            problems.append(f"{path}: {len(extra)} case(s) are not in the study "
                            f"({', '.join(extra[:MAX_LISTED])}); scores of another study?")
    return scores, run_ids, problems
