"""Metrics for reports, computed with scikit-learn's metric functions."""

from __future__ import annotations

import numpy as np

__all__ = ["classification_metrics", "regression_metrics"]


def classification_metrics(y_true, y_pred, proba, classes):
    """Accuracy, precision, recall, F1, ROC AUC, log loss and the confusion matrix.

    Binary targets report precision/recall/F1 of the second class (the
    "positive" one, e.g. malignant); more classes report macro averages and a
    one-vs-rest ROC AUC. ROC AUC is ``None`` when the rows hold one class only.
    """
    from sklearn import metrics

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    labels = list(classes)
    binary = len(labels) == 2
    average = "binary" if binary else "macro"
    extra = {"pos_label": labels[1]} if binary else {}
    result = {
        "n_samples": len(y_true),
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "precision": float(metrics.precision_score(y_true, y_pred, average=average,
                                                   labels=labels, zero_division=0, **extra)),
        "recall": float(metrics.recall_score(y_true, y_pred, average=average, labels=labels,
                                             zero_division=0, **extra)),
        "f1": float(metrics.f1_score(y_true, y_pred, average=average, labels=labels,
                                     zero_division=0, **extra)),
    }
    present = set(y_true.tolist())
    if len(present) < 2:
        result["roc_auc"] = None
    elif binary:
        result["roc_auc"] = float(metrics.roc_auc_score(y_true == labels[1], proba[:, 1]))
    elif present == set(labels):
        result["roc_auc"] = float(metrics.roc_auc_score(
            np.array([labels.index(v) for v in y_true]), proba, multi_class="ovr"))
    else:
        result["roc_auc"] = None
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    result["log_loss"] = float(metrics.log_loss(y_true, clipped, labels=labels))
    result["confusion_matrix"] = metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    result["labels"] = [_plain(v) for v in labels]
    return result


def regression_metrics(y_true, y_pred):
    """R², mean absolute error and root mean squared error."""
    from sklearn import metrics

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return {
        "n_samples": len(y_true),
        "r2": float(metrics.r2_score(y_true, y_pred)) if len(y_true) > 1 else None,
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, y_pred))),
    }


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
