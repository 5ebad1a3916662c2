"""Baselines: what a network must beat, fitted on the same training rows.

A network's test accuracy of 0.96 or R² of 0.45 means little on its own. Beside
it, a report shows models that need no training to speak of:

- a constant: the **majority class** (classification; its probabilities are the
  class frequencies of the training rows, so its log loss is the entropy of
  the labels and its ROC AUC 0.5) or the **training mean** (regression; R² ≈ 0
  on new rows, below 0 when their mean differs);
- a **linear model** when scikit-learn is installed: logistic regression
  (``LogisticRegression()``, L2 penalty ``C=1``) or ridge regression
  (``Ridge()``, ``alpha=1``), on the same scaled features the network sees.

A network that does worse than the constant has learnt nothing; one that
does worse than the linear model is not using its hidden layers (too few
epochs, too small a learning rate, unscaled data) or is overfitting.

Each baseline is a fitted predictor with ``predict`` (and ``predict_proba``
for classification, one column per entry of ``classes``), so it is scored by
the same code as the network.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["Baseline", "MajorityClass", "TrainingMean", "fit_baselines", "primary_metric"]


@dataclass
class Baseline:
    """A fitted baseline: its ``name`` for reports, ``kind`` (``'constant'`` or
    ``'linear'``) and ``predictor``."""

    name: str
    kind: str
    predictor: object


def primary_metric(task):
    """The metric a report compares models on: ``'accuracy'`` or ``'r2'`` (higher is better)."""
    return "accuracy" if task == "classification" else "r2"


class MajorityClass:
    """Predicts the most frequent training label for every row, with the training
    class frequencies as its probabilities (ties go to the first class in ``classes``)."""

    def __init__(self, classes):
        self.classes = list(classes)

    def fit(self, X, y):
        y = np.asarray(y)
        counts = np.array([np.sum(y == c) for c in self.classes], dtype=np.float64)
        self.prior_ = counts / counts.sum()
        self.label_ = self.classes[int(np.argmax(counts))]
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))

    def predict(self, X):
        return np.array([self.label_] * len(X))


class TrainingMean:
    """Predicts the mean of the training targets for every row."""

    def fit(self, X, y):
        self.mean_ = float(np.mean(np.asarray(y, dtype=np.float64)))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


class _Linear:
    """A scikit-learn linear model whose ``predict_proba`` has one column per entry of
    ``classes``, in that order, also when the training rows lack some class."""

    def __init__(self, model, classes=None):
        self.model, self.classes = model, classes

    def fit(self, X, y):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(X, y)
        return self

    def predict(self, X):
        return self.model.predict(X)

    def predict_proba(self, X):
        proba = self.model.predict_proba(X)
        out = np.zeros((len(X), len(self.classes)))
        seen = [str(c) for c in self.model.classes_]
        for j, label in enumerate(self.classes):
            if str(label) in seen:
                out[:, j] = proba[:, seen.index(str(label))]
        return out


def fit_baselines(task, X_train, y_train, classes=None):
    """The baselines for a task, fitted on ``X_train`` (scaled as the network's
    input) and ``y_train`` (labels, or values in their own units): a list of
    :class:`Baseline`, the constant first, then the linear model when
    scikit-learn is installed and the training rows hold two classes or more."""
    y_train = np.asarray(y_train)
    if task == "classification":
        found = [Baseline("majority class", "constant", MajorityClass(classes).fit(X_train,
                                                                                    y_train))]
    else:
        found = [Baseline("training mean", "constant", TrainingMean().fit(X_train, y_train))]
    try:
        from sklearn.linear_model import LogisticRegression, Ridge
    except ImportError:
        return found
    if task == "classification":
        if len(np.unique(y_train.astype(str))) > 1:
            linear = _Linear(LogisticRegression(max_iter=1000), classes).fit(X_train, y_train)
            found.append(Baseline("logistic regression", "linear", linear))
    else:
        found.append(Baseline("ridge regression", "linear",
                              _Linear(Ridge(alpha=1.0)).fit(X_train, y_train)))
    return found
