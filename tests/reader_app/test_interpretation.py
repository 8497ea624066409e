"""What a study's figures can and cannot show (plain Python): the AI on the study's pairs
beside its cross-validated AUC, the interval a study's size allows, synthetic knees and
simulated readers said to be what they are."""

from __future__ import annotations

import json

import pytest
from study_factory import make_study

from reader_app.domain.coordination import reader_statuses
from reader_app.domain.interpretation import (
    StudyContext,
    ai_sentences,
    pc_half_width,
    study_context,
)
from studies.decisions.provenance import is_simulated
from studies.decisions.simulate import simulate_reader
from studies.decisions.store import DecisionStore
from studies.errors import InputFileError
from studies.package import decisions_path, load_key

CV = {"auc": 0.643, "ci": [0.575, 0.711], "n": 265, "folds": 5, "n_positive": 115, "n_negative": 150}


def _summary(n_pairs: int) -> dict:
    return {
        "n_pairs": n_pairs,
        "ai": {
            "pairs": {"pc": 0.62, "wilson_lo": 0.48, "wilson_hi": 0.74},
            "auc": {"auc": 0.655, "ci": [0.547, 0.763], "n_positive": n_pairs, "n_negative": n_pairs},
        },
    }


def test_the_sentences_give_both_aucs_the_width_and_what_the_demo_is():
    text = " ".join(ai_sentences(_summary(50), StudyContext(cv=CV, fold_models=True, synthetic=True,
                                                           simulated_readers=("sim-1", "sim-2"))))
    assert "AI on the study's 50 pairs: picks the progressor in 0.620 of them (95 % CI 0.480–0.740)" in text
    assert "50 × 50 progressor × non-progressor combinations 0.655 (95 % CI 0.547–0.763)" in text
    assert "fold model that never saw it" in text
    assert "cross-validated on its training cohort (265 knees, 5 folds): AUC 0.643 (95 % CI 0.575–0.711)" in text
    assert "±0.14" in text and "synthetic" in text and "Simulated readers (sim-1, sim-2)" in text


def test_a_real_study_without_cross_validation_says_only_what_applies():
    text = " ".join(ai_sentences(_summary(150), StudyContext()))
    assert "±0.08" in text
    for word in ("cross-validated", "synthetic", "Simulated", "never saw", "bfloat16"):
        assert word not in text


def test_features_in_reduced_precision_are_said():
    text = " ".join(ai_sentences(_summary(150), StudyContext(precision="bfloat16")))
    assert "image features were computed in bfloat16" in text and "docs/model.md" in text


@pytest.mark.parametrize(("n", "half"), [(10, 0.31), (50, 0.139), (150, 0.080)])
def test_half_width_of_a_proportion_correct(n, half):
    assert pc_half_width(n) == pytest.approx(half, abs=0.001)


def test_context_from_run_json_and_key(tmp_path):
    tiny = make_study(tmp_path, n_pairs=2, with_images=False, with_ai=True)
    run = tiny.study / "ai" / "run.json"
    run.write_text(json.dumps({"run_id": "r", "cross_validation": CV, "models_used": {"fold_1": 2, "fold_3": 2}}))
    key = load_key(tiny.key)
    key["build"] = {"synthetic": True}
    ctx = study_context(tiny.study, key, ("sim-1",))
    assert ctx == StudyContext(cv=CV, fold_models=True, synthetic=True, simulated_readers=("sim-1",))
    run.write_text(json.dumps({"run_id": "r", "models_used": {"final": 4}}))
    assert study_context(tiny.study, {}) == StudyContext()
    run.write_text(json.dumps({"run_id": "r", "engine": {"engine": "openvino", "precision": "bfloat16"}}))
    assert study_context(tiny.study, {}).precision == "bfloat16"
    run.write_text("{not json")
    with pytest.raises(InputFileError, match="run.json"):
        study_context(tiny.study, {})


def test_simulated_readers_are_told_apart_from_people(tmp_path):
    tiny = make_study(tmp_path, n_pairs=3, with_images=False, with_ai=False)
    simulate_reader(tiny.study, tiny.key, "sim-1", 0.7)
    with DecisionStore.open(decisions_path(tiny.study, "r1"), "r1", tiny.manifest, "unaided") as store:
        store.session_start()
        store.session_stop()
    assert is_simulated(decisions_path(tiny.study, "sim-1"))
    assert not is_simulated(decisions_path(tiny.study, "r1"))
    statuses = {s.reader_id: s.simulated for s in reader_statuses(tiny.study)}
    assert statuses == {"sim-1": True, "r1": False}
