"""scikit-learn conversions: exact round trips, identical predictions, clear refusals."""

import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

import glassnet as gn
from glassnet import landscape
from glassnet.dynamics import DynamicsRecorder
from glassnet.io import from_sklearn, to_sklearn

FITTED = ["coefs_", "intercepts_", "classes_", "n_features_in_", "n_iter_", "t_", "loss_",
          "best_loss_", "loss_curve_", "n_layers_", "n_outputs_", "out_activation_"]


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: short fits on purpose
        return function(*args, **kwargs)


def data(kind, rng, n=150):
    X = rng.normal(size=(n, 4))
    score = X[:, 0] + X[:, 1] * X[:, 2]
    if kind == "binary":
        return X, np.where(score > 0, "yes", "no")
    if kind == "multiclass":
        return X, np.digitize(score, [-0.5, 0.5]) * 10
    if kind == "multilabel":
        return X, np.column_stack([score > 0, X[:, 3] > 0]).astype(int)
    if kind == "poisson":
        return X, rng.poisson(np.exp(0.3 * X[:, 0]))
    return X, np.column_stack([score, X[:, 3]])


def assert_same(a, b, names):
    for name in names:
        if not hasattr(a, name):
            assert not hasattr(b, name), name
            continue
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, list) and x and isinstance(x[0], np.ndarray):
            assert len(x) == len(y) and all(
                p.dtype == q.dtype and np.array_equal(p, q) for p, q in zip(x, y)), name
        else:
            assert np.array_equal(np.asarray(x), np.asarray(y)), name


CASES = [
    ("binary", SkClassifier, {"activation": "tanh"}),
    ("multiclass", SkClassifier, {"hidden_layer_sizes": (6, 5), "solver": "sgd"}),
    ("multilabel", SkClassifier, {"activation": "logistic"}),
    ("regression", SkRegressor, {"hidden_layer_sizes": (7,), "solver": "lbfgs"}),
    ("poisson", SkRegressor, {"loss": "poisson", "activation": "identity"}),
]


@pytest.mark.parametrize("kind,cls,params", CASES, ids=[c[0] for c in CASES])
def test_sklearn_to_glassnet_to_sklearn_is_bit_for_bit(kind, cls, params, rng):
    X, y = data(kind, rng)
    sk = quietly(cls(max_iter=30, random_state=0, **params).fit, X, y)
    ours = from_sklearn(sk)
    assert type(ours).__name__ == cls.__name__ and ours.__module__.startswith("glassnet")
    assert ours.get_params() == {**ours.get_params(), **sk.get_params()}
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    if cls is SkClassifier:
        np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=1e-13,
                                   atol=1e-15)
    back = to_sklearn(ours)
    assert type(back) is cls and back.get_params() == sk.get_params()
    assert_same(sk, back, FITTED)
    np.testing.assert_array_equal(back.predict(X), sk.predict(X))
    if cls is SkClassifier:
        np.testing.assert_array_equal(back.predict_proba(X), sk.predict_proba(X))


def test_feature_names_and_float32_carry_over(rng):
    pd = pytest.importorskip("pandas")
    X, y = data("binary", rng)
    frame = pd.DataFrame(X.astype(np.float32), columns=["a", "b", "c", "d"])
    sk = quietly(SkClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit,
                 frame, y)
    ours = from_sklearn(sk)
    assert list(ours.feature_names_in_) == ["a", "b", "c", "d"]
    assert ours.coefs_[0].dtype == np.float32
    np.testing.assert_array_equal(ours.predict(frame), sk.predict(frame))
    assert_same(sk, to_sklearn(ours), FITTED + ["feature_names_in_"])


def test_glassnet_estimator_to_sklearn_predicts_identically(rng):
    X, y = data("multiclass", rng)
    ours = quietly(gn.MLPClassifier(hidden_layer_sizes=(8, 4), activation=["relu", "relu"],
                                    solver="rmsprop", max_iter=40, random_state=0).fit, X, y)
    sk = to_sklearn(ours)
    assert sk.activation == "relu" and sk.solver == "adam"  # rmsprop: not scikit-learn's
    assert_same(ours, sk, FITTED)
    np.testing.assert_array_equal(sk.predict(X), ours.predict(X))
    np.testing.assert_allclose(sk.predict_proba(X), ours.predict_proba(X), rtol=1e-13)
    quietly(sk.partial_fit, X, y)  # scikit-learn continues training it
    assert len(sk.loss_curve_) == len(ours.loss_curve_) + 1
    assert not np.array_equal(sk.coefs_[0], ours.coefs_[0])
    clone(sk)


def test_network_to_sklearn_with_classes(rng):
    net = gn.Network.from_sizes([4, 6, 3], activation="tanh", output_activation="softmax",
                                seed=0)
    X = rng.normal(size=(20, 4))
    sk = to_sklearn(net, classes=["a", "b", "c"])
    assert isinstance(sk, SkClassifier) and sk.hidden_layer_sizes == (6,)
    np.testing.assert_allclose(sk.predict_proba(X), net.output(X), rtol=1e-13)
    np.testing.assert_array_equal(sk.predict(X), np.array(["a", "b", "c"])[net.predict(X)])
    binary = to_sklearn(gn.Network.from_sizes([4, 1], output_activation="sigmoid", seed=1))
    assert list(binary.classes_) == [0, 1] and binary.hidden_layer_sizes == ()
    regressor = to_sklearn(gn.Network.from_sizes([4, 3, 2], output_activation="identity",
                                                 seed=2, alpha=0.5))
    assert isinstance(regressor, SkRegressor) and regressor.alpha == 0.5
    np.testing.assert_allclose(regressor.predict(X),
                               gn.Network.from_sizes([4, 3, 2], output_activation="identity",
                                                     seed=2).output(X))


@pytest.mark.parametrize("build,fragment", [
    (lambda: gn.Network.from_sizes([3, 4, 4, 1], activation=["relu", "tanh"], seed=0),
     "different activations ['relu', 'tanh']"),
    (lambda: gn.Network.from_sizes([3, 4, 1], activation="leaky_relu", seed=0),
     "no 'leaky_relu' activation"),
    (lambda: gn.Network.from_sizes([3, 4, 1], bias=False, seed=0), "layer 1 has no bias"),
    (lambda: gn.Network.from_sizes([3, 4, 2], output_activation="softmax", seed=0),
     "two-unit softmax"),
    (lambda: gn.Network.from_sizes([3, 4, 1], output_activation="tanh", loss="mse", seed=0),
     "no 'tanh' output"),
])
def test_networks_scikit_learn_cannot_represent(build, fragment):
    with pytest.raises(ValueError) as info:
        to_sklearn(build())
    assert fragment in str(info.value)


def test_bad_classes_and_objects():
    net = gn.Network.from_sizes([3, 3], output_activation="softmax", seed=0)
    with pytest.raises(ValueError, match="has 2 labels but the network's output gives 3"):
        to_sklearn(net, classes=["a", "b"])
    with pytest.raises(ValueError, match="sorted"):
        to_sklearn(net, classes=["c", "b", "a"])
    with pytest.raises(TypeError, match="fitted sklearn.neural_network.MLPClassifier"):
        from_sklearn(gn.MLPClassifier())
    with pytest.raises(ValueError, match="not fitted"):
        from_sklearn(SkClassifier())
    with pytest.raises(ValueError, match="not fitted"):
        to_sklearn(gn.MLPRegressor())


def test_imported_model_opens_in_the_glass_box(rng):
    X, y = data("binary", rng, n=80)
    sk = quietly(SkClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=50,
                              random_state=0).fit, X, y)
    ours = from_sklearn(sk)
    network = ours.network_
    Y = (y == "yes").astype(float)
    assert network.sizes == [4, 6, 1] and network.loss.name == "binary_cross_entropy"
    np.testing.assert_allclose(network.output(X)[:, 0], sk.predict_proba(X)[:, 1], rtol=1e-13)
    # the gradient of the imported weights, checked numerically
    check = gn.gradient_check(network, X, Y)
    assert check.passed(1e-6), check
    # its loss landscape around the imported weights
    d1, d2 = landscape.random_direction(network, 0), landscape.random_direction(network, 1)
    grid = landscape.grid_loss(network, X, Y, d1, d2, np.array([-1.0, 0.0, 1.0]),
                               np.array([-1.0, 0.0, 1.0]))
    assert grid[1, 1] == pytest.approx(network.compute_loss(X, Y), rel=1e-10)
    assert grid.max() > grid[1, 1]
    # and its training dynamics, continuing training in glassnet
    recorder = DynamicsRecorder(every=1)
    ours.set_params(warm_start=True, max_iter=3, callbacks=[recorder])
    quietly(ours.fit, X, y)
    assert len(recorder.steps) > 0 and ours.n_iter_ == 3
    assert len(ours.loss_curve_) == len(sk.loss_curve_) + 3
    assert not np.array_equal(ours.coefs_[0], sk.coefs_[0])  # trained on a copy


def test_missing_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.neural_network", None)
    with pytest.raises(ImportError, match=r"glassnet\[sklearn\]"):
        to_sklearn(gn.Network.from_sizes([2, 1], seed=0))


def test_batch_norm_estimator_is_refused(rng):
    X, y = data("binary", rng, n=60)
    ours = quietly(gn.MLPClassifier(hidden_layer_sizes=(5,), batch_norm=True, max_iter=5,
                                    random_state=0).fit, X, y)
    with pytest.raises(ValueError, match="layer 2 is a BatchNorm"):
        to_sklearn(ours)
