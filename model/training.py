"""Fitting the attention-MIL classifier, scikit-learn style.

``MILClassifier(**params).fit(X, C, y)`` returns the fitted estimator; learned attributes end
in ``_`` (``module_``, ``classes_``, ``clinical_mean_``, ``loss_curve_``). Class imbalance is
handled with a class-weighted cross-entropy (weights inversely proportional to class
frequency, as scikit-learn's ``class_weight="balanced"``). Seeded: the same data and seed
give the same model on the same machine.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from model.classifier_params import DEFAULTS, check_classifier_params
from model.mil import AttentionMIL
from studies.progress import NO_PROGRESS, Progress


def _validation_split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices; the validation share is drawn per class (stratified)."""
    val = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = int(round(fraction * len(idx)))
        if 0 < k < len(idx):
            val.extend(rng.choice(idx, size=k, replace=False))
    val = np.sort(np.asarray(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(y)), val), val


def auto_epochs(n: int, batch_size: int, *, steps: int = 600, lo: int = 10, hi: int = 60) -> int:
    """Epochs giving about ``steps`` optimiser steps on ``n`` bags, clipped to [lo, hi].

    9,280 bags in 5-fold CV (7,424 per training split, batches of 128): 11 epochs; a demo
    cohort of 300 bags: 60 epochs.
    """
    per_epoch = max(1, -(-n // batch_size))
    return int(min(hi, max(lo, -(-steps // per_epoch))))


class MILClassifier(ClassifierMixin, BaseEstimator):
    """Attention-MIL over slice features plus clinical variables.

    ``X``: (n, N, F) float slice features (n bags of N slices, F features each); ``C``: (n, K)
    raw clinical values (NaN allowed) or None; ``y``: (n,) integer class labels 0..C-1.

    The keyword arguments are the hyper-parameters of :data:`model.classifier_params.PARAMETERS`
    (their defaults and constraints are written there, once). ``__init__`` stores them as
    given; :meth:`fit` checks them. ``get_params`` / ``set_params`` / ``sklearn.base.clone``
    work as for any scikit-learn estimator.

    Learned by :meth:`fit`: ``module_`` (the :class:`AttentionMIL`, eval mode), ``classes_``
    (the labels seen), ``clinical_mean_`` / ``clinical_std_`` (K,), ``loss_curve_`` and
    ``validation_loss_`` (one value per epoch), ``n_epochs_``, ``best_epoch_``.
    """

    def __init__(
        self,
        *,
        epochs: int | None = DEFAULTS["epochs"],
        batch_size: int = DEFAULTS["batch_size"],
        lr: float = DEFAULTS["lr"],
        weight_decay: float = DEFAULTS["weight_decay"],
        conv_channels: int = DEFAULTS["conv_channels"],
        gru_hidden: int = DEFAULTS["gru_hidden"],
        mlp_hidden: tuple[int, int] = DEFAULTS["mlp_hidden"],
        dropout: float = DEFAULTS["dropout"],
        class_weight: str | None = DEFAULTS["class_weight"],
        validation_fraction: float = DEFAULTS["validation_fraction"],
        seed: int = DEFAULTS["seed"],
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.conv_channels = conv_channels
        self.gru_hidden = gru_hidden
        self.mlp_hidden = mlp_hidden
        self.dropout = dropout
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.seed = seed

    def check_params(self) -> MILClassifier:
        """Raise :class:`~studies.errors.OptionError` for a hyper-parameter outside its
        constraint ("The 'epochs' parameter must be ..."); return self."""
        check_classifier_params(self.get_params())
        return self

    def params_json(self) -> dict:
        """The hyper-parameters as JSON values (config.json's ``classifier``, a model file's ``params``)."""
        return {**self.get_params(), "mlp_hidden": list(self.mlp_hidden)}

    @classmethod
    def from_params_json(cls, d: dict) -> MILClassifier:
        """An unfitted estimator from :meth:`params_json`'s dict (files of earlier versions
        carry an always-empty ``extra`` entry, which is ignored)."""
        params = {k: v for k, v in d.items() if k != "extra"}
        if "mlp_hidden" in params:
            params["mlp_hidden"] = tuple(params["mlp_hidden"])
        return cls(**params)

    def _architecture(self) -> dict:
        """The keyword arguments of :class:`AttentionMIL` these hyper-parameters set."""
        return {"conv_channels": self.conv_channels, "gru_hidden": self.gru_hidden,
                "mlp_hidden": tuple(self.mlp_hidden), "dropout": self.dropout}

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X, C, y, *, progress: Progress = NO_PROGRESS) -> MILClassifier:
        """Fit on bags ``X`` (n, N, F), raw clinical ``C`` (n, K), labels ``y`` (n,); returns self.

        Runs on one torch thread: the head's operations are too small to share between
        threads, and two threads on two busy cores made the demo's 5-fold CV 20x slower
        (29.4 s vs 1.3 s for 15 epochs of 208 bags at load 8.4, measured in one run).
        """
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._fit(X, C, y, progress=progress)
        finally:
            torch.set_num_threads(previous)

    def _fit(self, X, C, y, *, progress: Progress = NO_PROGRESS) -> MILClassifier:
        self.check_params()
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y).astype(np.int64)
        if X.ndim != 3 or len(X) != len(y):
            raise ValueError(f"X must be (n, N, F) with n = len(y); got {X.shape} and {y.shape}")
        C = np.zeros((len(X), 0), np.float32) if C is None else np.asarray(C, dtype=np.float32)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y has a single class ({self.classes_.tolist()}); need at least 2")
        n_classes = int(max(self.classes_.max() + 1, 2))
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        m = AttentionMIL(X.shape[2], C.shape[1], n_classes, **self._architecture())
        f_mean, f_std = X.mean(axis=(0, 1)), X.std(axis=(0, 1))
        m.feature_mean.copy_(torch.as_tensor(f_mean, dtype=torch.float32))
        m.feature_std.copy_(torch.as_tensor(np.where(f_std > 1e-6, f_std, 1.0), dtype=torch.float32))
        if C.shape[1]:
            mean = np.nanmean(C, axis=0)
            std = np.nanstd(C, axis=0)
            mean = np.where(np.isfinite(mean), mean, 0.0)
            std = np.where(np.isfinite(std) & (std > 1e-8), std, 1.0)
            m.clinical_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            m.clinical_std.copy_(torch.as_tensor(std, dtype=torch.float32))
        self.clinical_mean_, self.clinical_std_ = m.clinical_mean.numpy().copy(), m.clinical_std.numpy().copy()
        counts = np.bincount(y, minlength=n_classes).astype(np.float64)
        if self.class_weight == "balanced":
            w = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
        else:
            w = np.ones(n_classes)
        loss_fn = nn.CrossEntropyLoss(weight=torch.as_tensor(w, dtype=torch.float32))
        opt = torch.optim.AdamW(m.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        Xt, Ct, yt = torch.from_numpy(X), torch.from_numpy(C), torch.from_numpy(y)
        self.loss_curve_, self.validation_loss_ = [], []
        self.n_epochs_ = epochs = self.epochs or auto_epochs(len(y), self.batch_size)
        train_idx, val_idx = _validation_split(y, self.validation_fraction, rng)
        best, best_loss, self.best_epoch_ = None, float("inf"), epochs
        for epoch in range(epochs):
            m.train()
            order = torch.from_numpy(rng.permutation(train_idx))
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                b = order[start : start + self.batch_size]
                opt.zero_grad()
                loss = loss_fn(m(Xt[b], Ct[b]), yt[b])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            self.loss_curve_.append(total / len(order))
            if len(val_idx):
                m.eval()
                with torch.no_grad():
                    v = torch.from_numpy(val_idx)
                    val = float(loss_fn(m(Xt[v], Ct[v]), yt[v]))
                self.validation_loss_.append(val)
                if val < best_loss:
                    best_loss, self.best_epoch_ = val, epoch + 1
                    best = {k: t.clone() for k, t in m.state_dict().items()}
            progress.update(epoch + 1, epochs)
        if best is not None:
            m.load_state_dict(best)
        m.eval()
        self.module_ = m
        return self

    # -- prediction ----------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise RuntimeError("This MILClassifier is not fitted yet; call fit(X, C, y) first.")

    def predict_proba(self, X, C=None, *, batch_size: int = 1024) -> np.ndarray:
        """(n, N, F) features, (n, K) raw clinical values -> (n, n_classes) probabilities."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.float32)
        C = np.zeros((len(X), 0), np.float32) if C is None else np.asarray(C, dtype=np.float32)
        out = []
        with torch.no_grad():
            for s in range(0, len(X), batch_size):
                logits = self.module_(torch.from_numpy(X[s : s + batch_size]), torch.from_numpy(C[s : s + batch_size]))
                out.append(torch.softmax(logits, 1).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.module_.n_classes), np.float32)

    def predict(self, X, C=None) -> np.ndarray:
        """(n, N, F), (n, K) -> (n,) the most probable class of each bag."""
        return self.predict_proba(X, C).argmax(1)

    def attention(self, X) -> np.ndarray:
        """(n, N, F) -> (n, N) attention weights."""
        self._check_fitted()
        with torch.no_grad():
            return self.module_.attention(torch.as_tensor(np.asarray(X, np.float32))).numpy()

    # -- persistence ---------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Serialise parameters and weights (``torch.save`` of plain tensors and dicts)."""
        self._check_fitted()
        m = self.module_
        buf = io.BytesIO()
        torch.save(
            {
                "params": self.params_json(),
                "shape": [m.n_features, m.n_clinical, m.n_classes],
                "classes": self.classes_.tolist(),
                "state_dict": m.state_dict(),
            },
            buf,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> MILClassifier:
        """A fitted estimator from :meth:`to_bytes` (also files of earlier versions)."""
        d = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        est = cls.from_params_json(d["params"])
        f, k, c = d["shape"]
        m = AttentionMIL(f, k, c, **est._architecture())
        m.load_state_dict(d["state_dict"])
        m.eval()
        est.module_ = m
        est.classes_ = np.asarray(d["classes"])
        est.clinical_mean_, est.clinical_std_ = m.clinical_mean.numpy().copy(), m.clinical_std.numpy().copy()
        return est
