"""Fitting the attention-MIL classifier, scikit-learn style.

``MILClassifier(**params).fit(X, C, y)`` returns the fitted estimator; learned attributes end
in ``_`` (``module_``, ``classes_``, ``clinical_mean_``, ``loss_curve_``). Class imbalance is
handled with a class-weighted cross-entropy (weights inversely proportional to class
frequency, as scikit-learn's ``class_weight="balanced"``). Seeded: the same data and seed
give the same model on the same machine.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from model.mil import AttentionMIL
from studies.errors import OptionError
from studies.progress import NO_PROGRESS, Progress


@dataclass
class MILParams:
    """Hyper-parameters (the resolved config stores them)."""

    #: None: :func:`auto_epochs` (about 600 optimiser steps, 10 to 60 epochs).
    epochs: int | None = None
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-2
    conv_channels: int = 16
    gru_hidden: int = 16
    mlp_hidden: tuple[int, int] = (64, 32)
    dropout: float = 0.5
    class_weight: str | None = "balanced"
    #: Share of the bags held out (stratified) to pick the epoch with the lowest validation
    #: loss (early stopping); 0 trains on everything for the full epoch count.
    validation_fraction: float = 0.15
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        d["mlp_hidden"] = list(self.mlp_hidden)
        return d


def _validation_split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices; the validation share is drawn per class (stratified)."""
    if not 0 <= fraction < 1:
        raise OptionError("validation_fraction", "a number in [0, 1)", fraction)
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


class MILClassifier:
    """Attention-MIL over slice features plus clinical variables.

    ``X``: (n, N, F) float slice features; ``C``: (n, K) raw clinical values (NaN allowed) or
    None; ``y``: (n,) integer class labels 0..C-1.
    """

    def __init__(self, params: MILParams | None = None, **overrides) -> None:
        self.params = params or MILParams()
        for k, v in overrides.items():
            if not hasattr(self.params, k):
                raise OptionError(k, f"one of {', '.join(MILParams.__dataclass_fields__)}", k)
            setattr(self.params, k, v)

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
        p = self.params
        if p.epochs is not None and not (isinstance(p.epochs, int) and p.epochs >= 1):
            raise OptionError("epochs", "an int >= 1 (or None: automatic)", p.epochs)
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y).astype(np.int64)
        if X.ndim != 3 or len(X) != len(y):
            raise ValueError(f"X must be (n, N, F) with n = len(y); got {X.shape} and {y.shape}")
        C = np.zeros((len(X), 0), np.float32) if C is None else np.asarray(C, dtype=np.float32)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y has a single class ({self.classes_.tolist()}); need at least 2")
        n_classes = int(max(self.classes_.max() + 1, 2))
        torch.manual_seed(p.seed)
        rng = np.random.default_rng(p.seed)
        m = AttentionMIL(
            X.shape[2],
            C.shape[1],
            n_classes,
            conv_channels=p.conv_channels,
            gru_hidden=p.gru_hidden,
            mlp_hidden=tuple(p.mlp_hidden),
            dropout=p.dropout,
        )
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
        if p.class_weight == "balanced":
            w = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
        else:
            w = np.ones(n_classes)
        loss_fn = nn.CrossEntropyLoss(weight=torch.as_tensor(w, dtype=torch.float32))
        opt = torch.optim.AdamW(m.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        Xt, Ct, yt = torch.from_numpy(X), torch.from_numpy(C), torch.from_numpy(y)
        self.loss_curve_, self.validation_loss_ = [], []
        self.n_epochs_ = epochs = p.epochs or auto_epochs(len(y), p.batch_size)
        train_idx, val_idx = _validation_split(y, p.validation_fraction, rng)
        best, best_loss, self.best_epoch_ = None, float("inf"), epochs
        for epoch in range(epochs):
            m.train()
            order = torch.from_numpy(rng.permutation(train_idx))
            total = 0.0
            for start in range(0, len(order), p.batch_size):
                b = order[start : start + p.batch_size]
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
        """(n, N, F), (n, K) -> (n, n_classes) probabilities."""
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
                "params": self.params.to_json(),
                "shape": [m.n_features, m.n_clinical, m.n_classes],
                "classes": self.classes_.tolist(),
                "state_dict": m.state_dict(),
            },
            buf,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> MILClassifier:
        d = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        params = MILParams(**{**d["params"], "mlp_hidden": tuple(d["params"]["mlp_hidden"])})
        est = cls(params)
        f, k, c = d["shape"]
        m = AttentionMIL(f, k, c, conv_channels=params.conv_channels, gru_hidden=params.gru_hidden,
                         mlp_hidden=params.mlp_hidden, dropout=params.dropout)
        m.load_state_dict(d["state_dict"])
        m.eval()
        est.module_ = m
        est.classes_ = np.asarray(d["classes"])
        est.clinical_mean_, est.clinical_std_ = m.clinical_mean.numpy().copy(), m.clinical_std.numpy().copy()
        return est
