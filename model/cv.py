"""K-fold cross-validation grouped by patient and stratified by label, with two baselines.

No patient is on both sides of a split (``StratifiedGroupKFold`` on participant ids). On the
same folds: the attention-MIL model, a clinical-only logistic regression, and an image-only
logistic regression on the slice features averaged over slices. Metrics per fold and pooled
over the out-of-fold predictions (:func:`model.metrics.evaluate`); the folds' ROC curves of
the model in one figure.

The folds' models can be fitted in parallel processes (``workers``), each on one torch thread
as in the sequential loop and with the same seeds, so the results are the same. The processes
are the model's worker processes, forked from a server process that has imported torch once
(``forkserver``, where the platform has it; else spawned), so that a second pool in the same
program does not import torch again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model.classifier_params import RUN_DEFAULTS
from model.metrics import evaluate
from model.preprocess.pipeline import worker_pool
from model.training import MILClassifier, auto_epochs
from studies.errors import OptionError
from studies.progress import NO_PROGRESS, Progress

MODELS = ("mil", "clinical_logreg", "image_logreg")


@dataclass
class CVResult:
    """Out-of-fold results; ``fold`` (n,) in 1..k, ``proba[name]`` (n, C) per model."""

    fold: np.ndarray
    proba: dict[str, np.ndarray]
    estimators: list[MILClassifier]
    metrics: dict
    epochs: int = 0


def assign_folds(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(n,) fold numbers 1..folds of (n,) labels ``y`` and (n,) patient ids ``groups``;
    grouped by ``groups``, stratified by ``y``. ``folds`` (an int >= 2, checked by
    :meth:`model.run.RunConfig.check`) may not exceed the number of patients."""
    n_groups = len(np.unique(groups))
    if folds > n_groups:
        raise OptionError("folds", f"at most the number of patients ({n_groups})", folds)
    fold = np.zeros(len(y), dtype=int)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups), 1):
        fold[test] = k
    return fold


def _logreg(seed: int):
    return make_pipeline(
        SimpleImputer(strategy="mean", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=2000, C=0.1, random_state=seed),
    )


def _fit_fold(estimator: MILClassifier, X: np.ndarray, C: np.ndarray, y: np.ndarray) -> MILClassifier:
    """One fold's model, fitted in a worker process."""
    return estimator.fit(X, C, y)


def _fit_proba(est, Xtr, ytr, Xte, n_classes: int) -> np.ndarray:
    est.fit(Xtr, ytr)
    p = np.zeros((len(Xte), n_classes))
    p[:, est.classes_] = est.predict_proba(Xte)
    return p


def cross_validate(
    X: np.ndarray,
    C: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    n_classes: int = 2,
    folds: int = RUN_DEFAULTS["folds"],
    seed: int = 0,
    estimator: MILClassifier | None = None,
    workers: int = 1,
    progress: Progress = NO_PROGRESS,
) -> CVResult:
    """Cross-validate on ``X`` (n, N, F), ``C`` (n, K), ``y`` (n,), ``groups`` (n,).

    ``estimator``: the unfitted classifier (default ``MILClassifier(seed=seed)``); fold k fits
    a clone of it with ``seed + k`` and, when its ``epochs`` is None, the epochs
    :func:`~model.training.auto_epochs` gives a training split, the same for every fold.
    ``workers``: processes fitting the folds' models at once (:func:`model.preprocess.pipeline.worker_pool`; 1: one after
    the other here); the results are the same. ``progress``: one stage per fold (equal
    weights), counting its epochs (with ``workers`` > 1 each fold's stage completes when its
    model is fitted).
    """
    if not (isinstance(workers, int) and workers >= 1):
        raise OptionError("workers", "an int >= 1", workers)
    estimator = (MILClassifier(seed=seed) if estimator is None else estimator).check_params()
    fold = assign_folds(y, groups, folds, seed)
    proba = {m: np.zeros((len(y), n_classes)) for m in MODELS}
    estimators = []
    pooled_img = X.mean(axis=1)  # (n, F)
    epochs = estimator.epochs or auto_epochs(int(round(len(y) * (folds - 1) / folds)), estimator.batch_size)
    splits = [(fold != k, fold == k) for k in range(1, folds + 1)]  # (train, test) masks of fold k
    if any(len(np.unique(y[tr])) < 2 for tr, _ in splits):
        raise OptionError("folds", "fewer folds: a training split has a single class", folds)
    unfitted = [clone(estimator).set_params(epochs=epochs, seed=estimator.seed + k) for k in range(1, folds + 1)]
    pool = worker_pool(min(workers, folds)) if workers > 1 else None
    try:
        pending = [pool.submit(_fit_fold, est, X[tr], C[tr], y[tr])
                   for est, (tr, _) in zip(unfitted, splits, strict=True)] if pool is not None else []
        for k, (tr, te) in enumerate(splits, 1):
            with progress.stage(f"fold {k}", weight=1 / folds) as st:
                est = pending[k - 1].result() if pool is not None else unfitted[k - 1].fit(X[tr], C[tr], y[tr], progress=st)
            estimators.append(est)
            proba["mil"][te] = est.predict_proba(X[te], C[te])
            if C.shape[1]:
                proba["clinical_logreg"][te] = _fit_proba(_logreg(seed), C[tr], y[tr], C[te], n_classes)
            proba["image_logreg"][te] = _fit_proba(_logreg(seed), pooled_img[tr], y[tr], pooled_img[te], n_classes)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if not C.shape[1]:
        del proba["clinical_logreg"]
    metrics = {
        name: {
            "pooled": evaluate(y, p, n_classes),
            "folds": [evaluate(y[fold == k], p[fold == k], n_classes) for k in range(1, folds + 1)],
        }
        for name, p in proba.items()
    }
    return CVResult(fold=fold, proba=proba, estimators=estimators, metrics=metrics, epochs=epochs)


def plot_rocs(y: np.ndarray, proba: np.ndarray, fold: np.ndarray, path: str | Path, *, title: str) -> None:
    """One PNG with each fold's ROC curve (positive class = the last class) and the chance line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    from studies.atomic import write_bytes_atomic

    pos = proba.shape[1] - 1
    yy = (np.asarray(y) == pos).astype(int)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    for k in np.unique(fold):
        m = fold == k
        if len(np.unique(yy[m])) < 2:
            continue
        fpr, tpr, _ = roc_curve(yy[m], proba[m, pos])
        ax.plot(fpr, tpr, label=f"fold {k} (AUC {roc_auc_score(yy[m], proba[m, pos]):.2f})")
    ax.plot([0, 1], [0, 1], ":", color="purple", label="chance")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right", fontsize=8)
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())
