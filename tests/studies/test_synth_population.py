"""The planted population: JSN distribution, progressor enrichment, risk and pain signals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from studies.synth.population import draw_population


@pytest.fixture(scope="module")
def default_pop():
    return draw_population(2000, seed=3)


def _windows(knees):
    return knees[knees.visit_month < 36].dropna(subset=["jsn_next_mm"])


def test_jsn_distribution_is_realistic(default_pop):
    w = _windows(default_pop.knees)
    jsn = w.jsn_next_mm
    share = (jsn <= -0.5).mean()
    assert 0.07 <= share <= 0.12  # about 9 % as in the OAI
    prog = jsn[jsn <= -0.5]
    assert (prog < -1.1).sum() >= 40  # an "almost certain" tail
    assert (prog > -0.6).sum() >= 40  # enough "doubtful" progressors in -0.6..-0.5
    assert ((prog >= -1.1) & (prog < -0.6)).mean() > 0.6  # most are "likely"
    assert jsn[jsn > -0.5].mean() == pytest.approx(-0.08, abs=0.05)


def test_progressor_rate_enriches(default_pop):
    rich = draw_population(800, seed=3, progressor_rate=0.5)
    base = rich.knees[rich.knees.visit_month == 0]
    assert (base.jsn_next_mm <= -0.5).mean() == pytest.approx(0.5, abs=0.06)
    assert rich.knees.risk[rich.knees.visit_month == 0].mean() == pytest.approx(0.5, abs=0.01)


def test_risk_signals_beat_chance_but_not_perfectly(default_pop):
    w = _windows(default_pop.knees)
    y = (w.jsn_next_mm <= -0.5).astype(int).to_numpy()
    clinical = np.column_stack([w.bmi, w.jsw_mm, w.kl_grade, w.age, w.sex == "M"])
    lr = LogisticRegression(max_iter=2000)
    p_clin = cross_val_predict(lr, clinical, y, cv=5, method="predict_proba")[:, 1]
    p_both = cross_val_predict(lr, np.column_stack([clinical, w.bml]), y, cv=5, method="predict_proba")[:, 1]
    auc_clin, auc_both = roc_auc_score(y, p_clin), roc_auc_score(y, p_both)
    assert 0.55 <= auc_clin <= 0.68
    assert 0.68 <= auc_both <= 0.85 and auc_both > auc_clin + 0.05
    # each named factor raises risk
    assert w.risk[w.bml == 1].mean() > 2 * w.risk[w.bml == 0].mean()
    assert np.corrcoef(w.bmi, w.risk)[0, 1] > 0.05 and np.corrcoef(w.jsw_mm, w.risk)[0, 1] < -0.05


def test_pain_rises_with_effusion(default_pop):
    k = default_pop.knees
    by_grade = k.groupby("effusion").womac_pain.mean()
    assert list(by_grade.index) == [0, 1, 2, 3] and by_grade.is_monotonic_increasing
    binary = k[(k.womac_pain >= 2) | (k.womac_pain < 1)]
    assert roc_auc_score(binary.womac_pain >= 2, binary.effusion) > 0.72
    assert k.womac_pain.between(0, 20).all()


def test_missing_shares_and_ids(default_pop):
    k, p = default_pop.knees, default_pop.participants
    attended = k[k.attended]
    share = (attended.jsw_table_code != "").mean()
    assert 0.05 <= share <= 0.10
    assert attended.jsw_table_code[attended.jsw_table_code != ""].str.match(r"^\.[A-Z]?: ").all()
    assert p.participant_id.str.fullmatch(r"9\d{6}").all() and p.participant_id.is_unique
    assert (k.has_cor_iw_tse & k.has_sag_3d_dess)[k.attended].mean() > 0.95
    assert 0.0 < (~k.attended).mean() < 0.03


def test_same_seed_same_population():
    a, b = draw_population(50, seed=9), draw_population(50, seed=9)
    assert a.knees.equals(b.knees) and a.participants.equals(b.participants)
    assert not draw_population(50, seed=10).knees.jsw_mm.equals(a.knees.jsw_mm)
