"""Attention-MIL module and its scikit-learn style estimator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from model.mil import AttentionMIL, SliceConv1d
from model.training import MILClassifier


def planted(n=300, slices=8, features=64, seed=0):
    """Bags where positives carry a signal in 2 of 8 slices; clinical var 0 is weakly informative."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    X = rng.normal(size=(n, slices, features)).astype(np.float32)
    where = rng.integers(0, slices - 1, n)
    for i in np.flatnonzero(y):
        X[i, where[i] : where[i] + 2, :8] += 1.5
    C = np.stack([y + rng.normal(0, 2, n), rng.normal(50, 10, n)], 1).astype(np.float32)
    return X, C, y


def test_slice_conv_equals_conv1d():
    conv = SliceConv1d(20, 4)
    ref = torch.nn.Conv1d(20, 4, 3, padding=1)
    with torch.no_grad():
        ref.weight.copy_(conv.linear.weight.view(3, 4, 20).permute(1, 2, 0))
        ref.bias.copy_(torch.randn(4))
        conv.bias.copy_(ref.bias)
    x = torch.randn(5, 8, 20)
    assert torch.allclose(conv(x), ref(x.transpose(1, 2)).transpose(1, 2), atol=1e-5)


def test_shapes_attention_and_missing_clinical():
    m = AttentionMIL(n_features=1280, n_clinical=10, n_classes=3).eval()
    x, c = torch.randn(4, 8, 1280), torch.randn(4, 10)
    c[0, 3] = float("nan")
    logits, att = m(x, c, return_attention=True)
    assert logits.shape == (4, 3) and att.shape == (4, 8)
    assert torch.allclose(att.sum(1), torch.ones(4)) and (att >= 0).all()
    assert torch.isfinite(logits).all()
    assert m.mlp[1].in_features == 1290  # 1280 + 10, as in the paper
    with pytest.raises(ValueError, match="clinical"):
        m(x)


def test_learns_a_planted_slice_signal_and_attends_to_it():
    X, C, y = planted()
    est = MILClassifier(epochs=25, lr=3e-3, conv_channels=8, gru_hidden=8).fit(X[:200], C[:200], y[:200])
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    p = est.predict_proba(X[200:], C[200:])
    assert p.shape == (100, 2) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert roc_auc_score(y[200:], p[:, 1]) > 0.85
    # attention of positive bags peaks on the signal slices more often than chance (2/8)
    att = est.attention(X[200:])
    pos = np.flatnonzero(y[200:])
    signal = X[200:, :, :8].mean(2)
    hits = np.mean([att[i].argmax() in np.argsort(signal[i])[-2:] for i in pos])
    assert hits > 0.5


def test_seeded_and_round_trips(tmp_path):
    X, C, y = planted(n=80)
    a = MILClassifier(epochs=2, seed=3).fit(X, C, y)
    b = MILClassifier(epochs=2, seed=3).fit(X, C, y)
    np.testing.assert_allclose(a.predict_proba(X, C), b.predict_proba(X, C), atol=1e-6)
    c = MILClassifier.from_bytes(a.to_bytes())
    np.testing.assert_allclose(a.predict_proba(X, C), c.predict_proba(X, C), atol=1e-6)
    np.testing.assert_allclose(c.clinical_mean_, np.nanmean(C, 0), rtol=1e-5)


def test_errors_are_explicit():
    X, C, y = planted(n=20)
    with pytest.raises(ValueError, match="single class"):
        MILClassifier(epochs=1).fit(X, C, np.zeros(20, int))
    with pytest.raises(RuntimeError, match="not fitted"):
        MILClassifier().predict_proba(X, C)
    from studies.errors import OptionError

    with pytest.raises(OptionError, match="epochs"):
        MILClassifier(epochs=0).fit(X, C, y)
    with pytest.raises(TypeError, match="lerning_rate"):
        MILClassifier(lerning_rate=1)
