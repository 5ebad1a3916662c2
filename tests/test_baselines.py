"""Baselines: the constant and linear models every training report is compared with."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")

from glassnet.baselines import MajorityClass, TrainingMean, fit_baselines, primary_metric
from glassnet.cli.advice import more_epochs, worse_than_linear


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


# -- the report's advice --------------------------------------------------------------------
SETTINGS = {"task": "regression", "epochs": 200, "still_improving": False, "lr": 0.001,
            "hidden": (100,), "alpha": 0.0001, "scale": "standard", "scale_target": True,
            "early_stopping": False, "rows": "test"}


def linear_at(train, test):
    return {"training mean": {"kind": "constant", "train": {"r2": 0.0}, "test": {"r2": -0.01}},
            "ridge regression": {"kind": "linear", "train": {"r2": train}, "test": {"r2": test}}}


def test_more_epochs_is_five_times_rounded_up():
    assert [more_epochs(e) for e in (1, 30, 200, 3000)] == [5, 200, 1000, 20000]


def test_no_advice_when_the_network_is_as_good_as_the_linear_model():
    metrics = {"train": {"r2": 0.6}, "test": {"r2": 0.45}}
    assert worse_than_linear(metrics, linear_at(0.5, 0.45), "r2", SETTINGS) is None
    assert worse_than_linear(metrics, {}, "r2", SETTINGS) is None
    assert worse_than_linear({"train": {"r2": 0.6}, "test": {"r2": None}},
                             linear_at(0.5, 0.45), "r2", SETTINGS) is None


def test_overfitting_advice_names_alpha_hidden_and_early_stopping():
    metrics = {"train": {"r2": 0.7}, "test": {"r2": 0.40}}
    line = worse_than_linear(metrics, linear_at(0.5, 0.45), "r2", SETTINGS)
    assert line.startswith("the network does worse than ridge regression on the test rows "
                           "(r2 0.4000 vs 0.4500) although it fits its training rows better")
    assert line.endswith("try --alpha 1, --hidden 10, --early-stopping")
    assert "\n" not in line


def test_underfitting_advice_names_epochs_lr_and_scaling():
    metrics = {"train": {"r2": -1.2}, "test": {"r2": -1.4}}
    settings = {**SETTINGS, "still_improving": True, "scale_target": False, "scale": "none"}
    line = worse_than_linear(metrics, linear_at(0.5, 0.45), "r2", settings)
    assert "not learnt enough" in line
    assert line.endswith("try --scale-target, --scale standard, --epochs 1000, --lr 0.01")
