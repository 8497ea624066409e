"""The paper's evaluation metrics, for binary and multi-class tasks.

Binary: ROC AUC, PR AUC (average precision) of the positive class; predictions at
probability >= 0.5 (the classifier is trained with balanced class weights) give weighted F1,
precision and recall of the positive class, and the confusion matrix. Multi-class: one-vs-rest
ROC AUC and PR AUC, macro-averaged; weighted F1/precision/recall of the argmax.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)


def evaluate(y: np.ndarray, proba: np.ndarray, n_classes: int = 2) -> dict:
    """Metrics of probabilities ``proba`` (n, n_classes) against labels ``y`` (n,).

    Returns a JSON-ready dict; AUCs are NaN (written as null) when ``y`` has one class.
    """
    y = np.asarray(y).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    labels = list(range(n_classes))
    pred = proba.argmax(1)
    out: dict = {"n": int(len(y)), "positives": int((y == 1).sum()) if n_classes == 2 else None}
    present = np.unique(y)
    if n_classes == 2:
        p = proba[:, 1]
        out["roc_auc"] = float(roc_auc_score(y, p)) if len(present) == 2 else float("nan")
        out["pr_auc"] = float(average_precision_score(y, p)) if len(present) == 2 else float("nan")
        pred = (p >= 0.5).astype(int)
        out["precision"] = float(precision_score(y, pred, zero_division=0))
        out["recall"] = float(recall_score(y, pred, zero_division=0))
    else:
        ok = len(present) == n_classes
        out["roc_auc"] = float(roc_auc_score(y, proba, multi_class="ovr", labels=labels)) if ok else float("nan")
        onehot = np.eye(n_classes)[y]
        out["pr_auc"] = float(average_precision_score(onehot, proba, average="macro")) if ok else float("nan")
        out["precision"] = float(precision_score(y, pred, average="weighted", zero_division=0))
        out["recall"] = float(recall_score(y, pred, average="weighted", zero_division=0))
    out["f1_weighted"] = float(f1_score(y, pred, average="weighted", zero_division=0))
    out["confusion_matrix"] = confusion_matrix(y, pred, labels=labels).tolist()
    return out


def json_safe(obj):
    """Replace NaN/inf floats by None, recursively (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.floating | np.integer):
        return json_safe(obj.item())
    return obj
