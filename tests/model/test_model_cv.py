"""Cross-validation folds, metrics, baselines, tasks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from test_model_mil import planted

from model.cv import assign_folds, cross_validate, plot_rocs
from model.metrics import evaluate, json_safe
from model.tasks import check_variables, clinical_matrix, get_task, task_rows
from model.training import MILClassifier
from studies.errors import OptionError, StudyError
from studies.progress import Progress


def test_folds_never_split_a_patient_and_keep_the_label_balance():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(100), 3)
    y = (rng.random(300) < 0.2).astype(int)
    fold = assign_folds(y, groups, 5, seed=1)
    assert set(fold) == {1, 2, 3, 4, 5}
    for g in range(100):
        assert len(set(fold[groups == g])) == 1
    rates = [y[fold == k].mean() for k in range(1, 6)]
    assert max(rates) - min(rates) < 0.12
    np.testing.assert_array_equal(fold, assign_folds(y, groups, 5, seed=1))
    with pytest.raises(OptionError, match="number of patients"):
        assign_folds(y[:6], groups[:6], 5, 0)


def test_metrics_binary_and_multiclass():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55]])
    m = evaluate(y, p)
    assert m["roc_auc"] == 1.0 and m["precision"] == 1.0 and m["recall"] == 1.0
    assert m["confusion_matrix"] == [[2, 0], [0, 2]]
    m1 = evaluate(np.zeros(4, int), p)
    assert np.isnan(m1["roc_auc"]) and json_safe(m1)["roc_auc"] is None
    y3 = np.array([0, 1, 2, 2])
    p3 = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])
    m3 = evaluate(y3, p3, 3)
    assert m3["roc_auc"] == 1.0 and len(m3["confusion_matrix"]) == 3


def test_cross_validation_beats_chance_and_reports_baselines(tmp_path):
    X, C, y = planted(n=240)
    groups = np.repeat(np.arange(120), 2)
    res = cross_validate(X, C, y, groups, folds=3, estimator=MILClassifier(epochs=15, lr=3e-3, conv_channels=8))
    assert set(res.metrics) == {"mil", "clinical_logreg", "image_logreg"}
    pooled = res.metrics["mil"]["pooled"]
    assert pooled["roc_auc"] > 0.8 > res.metrics["clinical_logreg"]["pooled"]["roc_auc"]
    assert len(res.metrics["mil"]["folds"]) == 3 and len(res.estimators) == 3
    for k, est in enumerate(res.estimators, 1):  # each fold model scores its own held-out fold
        np.testing.assert_allclose(est.predict_proba(X[res.fold == k], C[res.fold == k]), res.proba["mil"][res.fold == k], atol=1e-6)
    plot_rocs(y, res.proba["mil"], res.fold, tmp_path / "roc.png", title="t")
    assert (tmp_path / "roc.png").read_bytes()[:4] == b"\x89PNG"


def test_folds_fitted_in_parallel_processes_give_the_same_results():
    X, C, y = planted(n=120)
    groups = np.repeat(np.arange(60), 2)
    kw = {"folds": 3, "seed": 4, "estimator": MILClassifier(epochs=4, lr=3e-3, conv_channels=8, seed=4)}
    states = []
    one = cross_validate(X, C, y, groups, **kw)
    two = cross_validate(X, C, y, groups, workers=2, progress=Progress(states.append), **kw)
    np.testing.assert_array_equal(two.fold, one.fold)
    for name in one.proba:
        np.testing.assert_array_equal(two.proba[name], one.proba[name])
    for a, b in zip(one.estimators, two.estimators, strict=True):
        assert a.loss_curve_ == b.loss_curve_ and a.best_epoch_ == b.best_epoch_
        for key, value in a.module_.state_dict().items():
            assert torch.equal(value, b.module_.state_dict()[key]), key
    assert two.metrics == one.metrics
    assert {s.text for s in states} >= {"fold 1", "fold 3"} and states[-1].fraction == 1.0
    with pytest.raises(OptionError, match="workers"):
        cross_validate(X, C, y, groups, workers=0, **kw)


def _labels():
    return pd.DataFrame({
        "participant_id": ["1", "1", "2", "3"], "side": ["left", "right", "left", "left"], "visit_month": [0, 0, 0, 12],
        "progressor_abs": [True, False, False, True], "pain_binary": [1.0, np.nan, 0.0, 1.0],
        "cor_iw_tse": ["a", "b", None, "d"], "age": [60.0, 60.0, 70.0, 50.0], "sex": ["F", "F", "M", None],
        "jsw_mm": [4.0, 3.0, np.nan, 5.0],
    })


def test_task_rows_and_clinical_inputs():
    rows = task_rows(_labels(), get_task("jsn-abs"), "cor_iw_tse")
    assert rows["y"].tolist() == [1, 0, 1] and rows.attrs["dropped"] == {"no_label": 0, "no_image": 1}
    with pytest.raises(StudyError, match="single class"):
        task_rows(_labels(), get_task("pain"), "cor_iw_tse")
    with pytest.raises(StudyError, match="no column 'progressor_rel'"):
        task_rows(_labels(), get_task("jsn-rel"), "cor_iw_tse")
    C = clinical_matrix(_labels(), ("age", "sex", "jsw_mm"))
    assert C.shape == (4, 3) and C[0, 1] == 1.0 and C[2, 1] == 0.0 and np.isnan(C[3, 1]) and np.isnan(C[2, 2])
    pkg = pd.DataFrame([{"age": 61, "sex": "M", "min_medial_jsw_mm": 3.5}])
    assert clinical_matrix(pkg, ("age", "sex", "jsw_mm")).tolist() == [[61.0, 0.0, 3.5]]
    with pytest.raises(OptionError, match="Did you mean 'kl_grade'"):
        check_variables(get_task("jsn-abs"), ("kl_grde",))
    with pytest.raises(OptionError, match="womac_pain"):
        check_variables(get_task("pain"), ("womac_pain",))
    with pytest.raises(OptionError, match="Did you mean 'jsn-abs'"):
        get_task("jsn_abs")
