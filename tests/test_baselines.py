"""Baselines: the constant and linear models every training report is compared with."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")

from glassnet.baselines import MajorityClass, TrainingMean, fit_baselines, primary_metric


def test_majority_class_predicts_the_most_frequent_label_with_the_class_frequencies():
    X = np.zeros((5, 2))
    model = MajorityClass(["a", "b", "c"]).fit(X, np.array(["b", "a", "b", "c", "b"]))
    assert model.predict(X[:2]).tolist() == ["b", "b"]
    np.testing.assert_allclose(model.predict_proba(X[:2]), [[0.2, 0.6, 0.2]] * 2)
    tie = MajorityClass([0, 1]).fit(X[:4], np.array([1, 0, 1, 0]))
    assert tie.predict(X[:1]).tolist() == [0]


def test_training_mean():
    model = TrainingMean().fit(np.zeros((3, 1)), np.array([1.0, 2.0, 6.0]))
    assert model.predict(np.zeros((2, 1))).tolist() == [3.0, 3.0]


def test_regression_baselines_are_the_mean_and_sklearns_ridge():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5] + 100
    found = fit_baselines("regression", X, y)
    assert [(b.name, b.kind) for b in found] == [("training mean", "constant"),
                                                 ("ridge regression", "linear")]
    np.testing.assert_allclose(found[0].predictor.predict(X[:3]), [y.mean()] * 3)
    np.testing.assert_allclose(found[1].predictor.predict(X), Ridge(alpha=1.0).fit(X, y).predict(X))
    assert primary_metric("regression") == "r2"


def test_logistic_regression_columns_follow_the_classes_even_when_one_is_missing():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] > 0, "high", "low")  # "mid" never among the training rows
    found = fit_baselines("classification", X, y, classes=["high", "low", "mid"])
    assert [b.name for b in found] == ["majority class", "logistic regression"]
    proba = found[1].predictor.predict_proba(X)
    assert proba.shape == (60, 3) and np.all(proba[:, 2] == 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (found[1].predictor.predict(X) == y).mean() > 0.9
    assert primary_metric("classification") == "accuracy"


def test_no_linear_baseline_from_a_single_class():
    found = fit_baselines("classification", np.zeros((4, 1)), np.array(["a"] * 4),
                          classes=["a", "b"])
    assert [b.name for b in found] == ["majority class"]
