"""Property-based fuzzing of every reader of external input.

For each: "a clean StudyError or a correct result, never another exception". Example counts
are bounded (``FUZZ_EXAMPLES``, default 40 each) so this runs within ``make test``.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from study_factory import make_study

from reader_app.domain.volumes import load_sequence
from studies.decisions import read_decisions, verify_file
from studies.decisions.merge import merge_decisions
from studies.decisions.simulate import simulate_reader
from studies.errors import StudyError
from studies.package import (
    decisions_path,
    load_key,
    load_manifest,
    manifest_problems,
    read_ai_scores,
)
from studies.schema_check import read_json_bounded

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    t = make_study(tmp_path_factory.mktemp("fuzz"), n_pairs=2, with_ai=True, confidence=True)
    simulate_reader(t.study, t.key, "r1", 0.7, seed=1)
    return t


def _paths(data) -> list[list]:
    """Every path (list of keys/indices) into a JSON document."""
    out = [[]]
    if isinstance(data, dict):
        for k, v in data.items():
            out += [[k, *p] for p in _paths(v)]
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += [[i, *p] for p in _paths(v)]
    return out


def _mutate(doc, path, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return doc


def _clean_or_ok(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except StudyError:
        return None


@FUZZ
@given(data=st.data())
def test_manifest_readers_never_raise_anything_but_study_errors(tiny, data):
    base = json.loads((tiny.study / "manifest.json").read_text())
    paths = _paths(base)
    path = data.draw(st.sampled_from(paths))
    doc = _mutate(base, path, data.draw(json_values))
    problems = manifest_problems(doc)
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "manifest.json").write_text(json.dumps(doc))
        m = _clean_or_ok(load_manifest, tmp)
        assert (m is None) == bool(problems)
        if m is not None:  # a correct result: the values are the ones in the file
            assert m.study_id == doc["study_id"] and set(m.cases) == set(doc["cases"])
            assert isinstance(m.educational, bool) and isinstance(m.allow_answer_change, bool)


@FUZZ
@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_json_files_of_any_bytes_are_clean(raw):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.json"
        p.write_bytes(raw)
        _clean_or_ok(read_json_bounded, p, "file", max_bytes=1 << 20)
        (Path(tmp) / "manifest.json").write_bytes(raw)
        _clean_or_ok(load_manifest, tmp)
        _clean_or_ok(load_key, p)


@FUZZ
@given(data=st.data())
def test_key_reader_never_raises_anything_but_study_errors(tiny, data):
    base = json.loads(tiny.key.read_text())
    doc = _mutate(base, data.draw(st.sampled_from(_paths(base))), data.draw(json_values))
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "key.json"
        p.write_text(json.dumps(doc))
        k = _clean_or_ok(load_key, p)
        if k is not None:
            assert all(isinstance(pair["progressor"], str) for pair in k["pairs"])


cells = st.text(alphabet=st.sampled_from(list("K0123456789.,;\"'\n\r\t -+eEnaif") + ["é", "\x00"]), max_size=12)


@FUZZ
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=4), max_size=6),
       header=st.sampled_from(["case_id,probability,run_id", "case_id;probability", "probability", ""]),
       encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"]))
def test_ai_scores_of_any_shape_are_clean_or_correct(rows, header, encoding):
    text = header + "\n" + "\n".join(",".join(r) for r in rows)
    with tempfile.TemporaryDirectory() as tmp:
        ai = Path(tmp) / "ai"
        ai.mkdir()
        try:
            (ai / "scores.csv").write_bytes(text.encode(encoding))
        except UnicodeEncodeError:
            return
        res = _clean_or_ok(read_ai_scores, tmp)
        if res is not None:
            scores, _ = res
            assert scores and all(0.0 <= p <= 1.0 for p in scores.values())


payload_texts = st.one_of(
    json_values.map(lambda v: json.dumps(v)),
    st.sampled_from(["NaN", "Infinity", '{"pair_id": NaN}', "[" * 3000, '"1"', "1"]),
    st.text(max_size=40),
)


@FUZZ
@given(row=st.integers(1, 6), payload=payload_texts,
       meta=st.one_of(st.none(), st.tuples(st.sampled_from(["reader_id", "study_id", "format", "seed"]),
                                          st.text(max_size=20))))
def test_decisions_readers_are_clean_on_any_payload_or_header(tiny, row, payload, meta):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r1.sqlite"
        shutil.copy(decisions_path(tiny.study, "r1"), path)
        conn = sqlite3.connect(path)
        try:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
                conn.execute(f"DROP TRIGGER {name}")
            conn.execute("UPDATE audit SET payload_json = ? WHERE id = ?", (payload, row))
            if meta is not None:
                conn.execute("UPDATE meta SET value = ? WHERE key = ?", (meta[1], meta[0]))
            conn.commit()
        finally:
            conn.close()
        report = _clean_or_ok(verify_file, path)
        df = _clean_or_ok(read_decisions, path)
        items = _clean_or_ok(merge_decisions, tiny.study, [path], dry_run=True)
        if items is not None and items[0].status in ("new", "update") and report is not None:
            assert report.ok
        if df is not None and report is not None and report.ok:
            assert df["ai_shown"].dtype == bool and df["chosen_case"].map(type).eq(str).all()


@FUZZ
@given(raw=st.binary(min_size=0, max_size=600), gz=st.booleans())
def test_image_files_of_any_bytes_are_clean(tiny, raw, gz):
    m = load_manifest(tiny.study)
    case = m.cases[sorted(m.cases)[0]]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "images").mkdir()
        rel = case.images["cor_iw_tse"]
        (Path(tmp) / rel).write_bytes(gzip.compress(raw) if gz else raw)
        case = copy.copy(case)
        case.image_sha256 = {}
        _clean_or_ok(load_sequence, tmp, case, "cor_iw_tse")
