"""Every input checked against one declared schema, every problem at once,
strict types, bounded sizes, finite numbers in range; the issue's cases as regressions.

Each hostile input must end in a clean :class:`StudyError` (load) or a list of problems
(validate), never another exception and never a silently accepted value."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
import sqlite3

import nibabel as nib
import numpy as np
import pytest
from forge import forge
from study_factory import make_study

from reader_app.domain.volumes import load_sequence
from studies.decisions import read_decisions, verify_file
from studies.decisions.simulate import simulate_reader
from studies.errors import InputFileError, StudyError
from studies.package import decisions_path, load_key, load_manifest, read_ai_scores
from studies.validate import validate_study


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("pristine"), n_pairs=2, with_ai=True, confidence=True)


@pytest.fixture()
def tiny(pristine, tmp_path):
    shutil.copytree(pristine.study, tmp_path / "study")
    shutil.copy(pristine.key, tmp_path / "key.json")
    return tmp_path / "study", tmp_path / "key.json"


def _edit(study, change):
    data = json.loads((study / "manifest.json").read_text())
    change(data)
    (study / "manifest.json").write_text(json.dumps(data))


def _first_case(d):
    return d["cases"][sorted(d["cases"])[0]]


MANIFEST_CASES = {
    "images as a list": (lambda d: _first_case(d).update(images=["images/a.nii.gz"]), "images"),
    "clinical as a list": (lambda d: _first_case(d).update(clinical=[1, 2]), "clinical"),
    "pair_id as a list": (lambda d: d["pairs"][0].update(pair_id=["P1"]), "pair_id"),
    "key_sha256 an int": (lambda d: d.update(key_sha256=5), "key_sha256"),
    "key_sha256 null": (lambda d: d.update(key_sha256=None), "key_sha256"),
    "reading_modes null": (lambda d: d.update(reading_modes=None), "reading_modes"),
    "schema_version true": (lambda d: d.update(schema_version=True), "schema_version"),
    "schema_version 99": (lambda d: d.update(schema_version=99), "schema_version 99"),
    "confidence min > max": (lambda d: d.update(confidence_scale={"min": 5, "max": 1}), "above max"),
    "educational 'false'": (lambda d: d.update(educational="false"), "educational"),
    "allow_answer_change 'no'": (lambda d: d.update(allow_answer_change="no"), "allow_answer_change"),
    "html-sized title": (lambda d: d.update(title="<b>x</b>" * 100), "title"),
    "5 MB question": (lambda d: d.update(question="q" * 5_000_000), "question"),
    "BMI 1e308": (lambda d: _first_case(d)["clinical"].update(bmi=1e308), "bmi"),
    "age as text": (lambda d: _first_case(d)["clinical"].update(age="61"), "age"),
    "sex lower case": (lambda d: _first_case(d)["clinical"].update(sex="f"), "sex"),
    "a leaking clinical field": (lambda d: _first_case(d)["clinical"].update(jsn_mm=-0.7), "jsn_mm"),
    "an unknown field": (lambda d: d.update(pairz=[]), "pairz"),
    "a root list": (lambda d: None, None),
}


@pytest.mark.parametrize("name", sorted(MANIFEST_CASES))
def test_hostile_manifests_are_clean_errors_in_load_and_validate(tiny, name):
    study, key = tiny
    change, needle = MANIFEST_CASES[name]
    if needle is None:
        (study / "manifest.json").write_text("[1, 2]")
        needle = "must be an object"
    else:
        _edit(study, change)
    with pytest.raises(InputFileError) as info:
        load_manifest(study)
    assert needle in str(info.value)
    problems = validate_study(study, key)
    assert any(needle in p for p in problems), problems


def test_every_manifest_problem_is_reported_at_once(tiny):
    study, _ = tiny

    def change(d):
        d["educational"] = "false"
        d["schema_version"] = True
        _first_case(d)["clinical"]["bmi"] = 1e308
        d["pairs"][0]["cases"] = [d["pairs"][0]["cases"][0]] * 2

    _edit(study, change)
    text = "\n".join(validate_study(study))
    for needle in ("educational", "schema_version", "bmi", "two different case ids"):
        assert needle in text


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50 + "1" + "}" * 50,
                                  '{"schema_version": NaN}', '{"a": 1, "a": 2}', "\udcff"])
def test_deep_nesting_nan_duplicates_and_bad_encoding_are_clean(tiny, text):
    study, _ = tiny
    (study / "manifest.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(InputFileError):
        load_manifest(study)
    assert validate_study(study)


def test_a_sound_confidence_scale_and_boolean_flags_still_load(tiny):
    study, _ = tiny
    _edit(study, lambda d: d.update(educational=True, allow_answer_change=False,
                                    confidence_scale={"min": 1, "max": 3, "labels": {"1": "guess"}}))
    m = load_manifest(study)
    assert m.educational is True and m.confidence_scale["max"] == 3


@pytest.mark.parametrize("change,needle", [
    (lambda k: k.update(pairs=[{"pair_id": "P001"}]), "progressor"),
    (lambda k: k["pairs"][0].update(stratum="sure"), "stratum"),
    (lambda k: k.update(study_id=7), "study_id"),
    (lambda k: k.update(pairs="P001"), "pairs"),
])
def test_hostile_keys_are_clean_errors(tiny, change, needle):
    _, key = tiny
    data = json.loads(key.read_text())
    change(data)
    key.write_text(json.dumps(data))
    with pytest.raises(InputFileError, match=needle):
        load_key(key)


# -- ai/scores.csv ------------------------------------------------------------------------

def _scores(study):
    return study / "ai" / "scores.csv"


def _rewrite_scores(study, edit):
    lines = _scores(study).read_text().splitlines()
    _scores(study).write_bytes(edit(lines))


SCORE_CASES = {
    "probability 1.5": (lambda ls: "\n".join([ls[0], ls[1].rsplit(",", 2)[0] + ",1.5,run", *ls[2:]]).encode(), "probability"),
    "probability nan": (lambda ls: "\n".join([ls[0], ls[1].rsplit(",", 2)[0] + ",nan,run", *ls[2:]]).encode(), "probability"),
    "probability inf": (lambda ls: "\n".join([ls[0], ls[1].rsplit(",", 2)[0] + ",inf,run", *ls[2:]]).encode(), "probability"),
    "semicolons": (lambda ls: "\n".join(line.replace(",", ";") for line in ls).encode(), "comma-separated"),
    "a missing column": (lambda ls: "\n".join(line.rsplit(",", 2)[0] + "," + line.rsplit(",", 1)[1] for line in ls).encode(), "probability"),
    "a missing case": (lambda ls: "\n".join(ls[:-1]).encode(), "have no score"),
    "a duplicate case": (lambda ls: "\n".join([*ls, ls[1]]).encode(), "listed twice"),
    "utf-16": (lambda ls: "\n".join(ls).encode("utf-16"), "UTF-16"),
    "latin-1": (lambda ls: "\n".join([*ls[:-1], ls[-1] + "é"]).encode("latin-1"), "UTF-8"),
    "empty": (lambda ls: b"", "empty"),
    "header only": (lambda ls: ls[0].encode(), "no rows"),
}


@pytest.mark.parametrize("name", sorted(SCORE_CASES))
def test_hostile_ai_scores_are_reported_by_validate_and_refused_by_readers(tiny, name):
    study, _ = tiny
    edit, needle = SCORE_CASES[name]
    _rewrite_scores(study, edit)
    problems = validate_study(study)
    assert any(needle in p for p in problems), problems
    if name != "a missing case":  # completeness is the study's business, not the file's
        with pytest.raises(InputFileError, match=needle):
            read_ai_scores(study)


def test_sound_scores_with_a_bom_are_read(tiny):
    study, _ = tiny
    _scores(study).write_bytes(b"\xef\xbb\xbf" + _scores(study).read_bytes())
    scores, run = read_ai_scores(study)
    assert len(scores) == 4 and run == "run-test"
    assert validate_study(study) == []


# -- decisions payloads -------------------------------------------------------------------

@pytest.fixture()
def decided(tmp_path):
    tiny = make_study(tmp_path, n_pairs=3, with_images=False)
    simulate_reader(tiny.study, tiny.key, "r1", 0.7, seed=1)
    return decisions_path(tiny.study, "r1")


def _decision_edit(field, value):
    def edit(row_id, kind, payload):
        if kind == "decision":
            payload = {**payload, field: value}
        return payload
    return edit


@pytest.mark.parametrize("field,value", [("ai_shown", "false"), ("practice", "no"),
                                         ("confidence", 2.5), ("active_seconds", -1),
                                         ("chosen_case", ["K1"])])
def test_payloads_off_their_schema_are_refused_even_with_an_intact_chain(decided, field, value):
    forge(decided, payload_edit=_decision_edit(field, value))
    report = verify_file(decided)
    assert not report.ok and field in report.reason
    with pytest.raises(InputFileError, match=field):
        read_decisions(decided)


@pytest.mark.parametrize("payload", ["NaN", "1", '"1"', "[]", '{"pair_id": NaN}'])
def test_a_raw_nan_or_scalar_payload_is_a_clean_break(decided, payload):
    with sqlite3.connect(decided) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET payload_json = ? WHERE id = 2", (payload,))
    conn.close()
    report = verify_file(decided)
    assert not report.ok and report.broken_at == 2
    with pytest.raises(StudyError):
        read_decisions(decided)


# -- images: header sizes are checked before allocating ------------------------------------

def test_a_header_claiming_huge_volumes_is_refused_before_allocating(tiny):
    study, _ = tiny
    m = load_manifest(study)
    cid = sorted(m.cases)[0]
    path = study / m.cases[cid].images["cor_iw_tse"]
    hdr = nib.Nifti1Header()
    hdr.set_data_dtype(np.int16)
    hdr.set_data_shape((3000, 3000, 3000))
    hdr["vox_offset"] = 352
    path.write_bytes(gzip.compress(hdr.binaryblock + b"\0" * 4 + b"\0" * 1000))
    unhashed = dataclasses.replace(m.cases[cid], image_sha256={})  # as a version 1 manifest
    with pytest.raises(InputFileError, match="more than"):
        load_sequence(study, unhashed, "cor_iw_tse")
    assert any("more than" in p and cid in p for p in validate_study(study))
