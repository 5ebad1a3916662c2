import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
import itertools

import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import check_estimator

import glassnet as gn
from glassnet.datasets import load_wisconsin


@pytest.mark.parametrize("estimator", [gn.MLPClassifier(max_iter=100),
                                       gn.MLPRegressor(max_iter=100),
                                       gn.MLPClassifier(solver="sgd", max_iter=100),
                                       pytest.param(gn.MLPRegressor(solver="lbfgs"),
                                                    marks=pytest.mark.slow),  # 200 iterations
                                       gn.MLPRegressor(max_iter=100, scale_target=True)],
                         ids=["classifier", "regressor", "classifier-sgd", "regressor-lbfgs",
                              "regressor-scale-target"])
def test_check_estimator(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_estimator(estimator)


# scikit-learn's own checks for transformers' feature names and set_output, which
# check_estimator leaves to scikit-learn's test suite
TRANSFORMER_CHECKS = ["check_get_feature_names_out_error",
                      "check_transformer_get_feature_names_out",
                      "check_transformer_get_feature_names_out_pandas",
                      "check_set_output_transform", "check_set_output_transform_pandas",
                      "check_global_output_transform_pandas",
                      "check_set_output_transform_polars",
                      "check_global_set_output_transform_polars"]


@pytest.mark.parametrize("check", TRANSFORMER_CHECKS)
@pytest.mark.parametrize("estimator", [gn.MLPClassifier(max_iter=20),
                                       gn.MLPRegressor(hidden_layer_sizes=(3, 4), max_iter=20)],
                         ids=["classifier", "regressor"])
def test_feature_names_and_set_output_pass_sklearn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # the checks mix frames and arrays on purpose (PCA warns the same)
        warnings.filterwarnings("ignore", message="X (has|does not have valid) feature names")
        getattr(estimator_checks, check)(type(estimator).__name__, estimator)


def targets(kind, rng, n):
    if kind == "binary":
        return rng.choice(["no", "yes"], n)
    if kind == "multiclass":
        return rng.integers(0, 3, n)
    if kind == "multilabel":
        Y = rng.integers(0, 2, (n, 3))
        Y[0], Y[1] = 0, 1  # every label takes both values
        return Y
    if kind == "regression":
        return rng.normal(size=n)
    return rng.normal(size=(n, 2))  # multi-output regression


def one_step(cls, X, y, W0, b0, **params):
    """Fit once to set up, then put W0, b0 back and take exactly one full-batch step."""
    est = cls(solver="sgd", momentum=0.0, batch_size=X.shape[0], shuffle=False, max_iter=1,
              warm_start=True, learning_rate_init=0.1, tol=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        est.coefs_ = [W.copy() for W in W0]
        est.intercepts_ = [b.copy() for b in b0]
        est.fit(X, y)
    return est


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression",
                                  "multi-output"])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_one_sgd_step_equals_scikit_learn(activation, kind, alpha):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = targets(kind, rng, 40)
    regression = kind in ("regression", "multi-output")
    ours_cls, sk_cls = ((gn.MLPRegressor, sk.MLPRegressor) if regression
                        else (gn.MLPClassifier, sk.MLPClassifier))
    n_out = {"binary": 1, "multiclass": 3, "multilabel": 3, "regression": 1,
             "multi-output": 2}[kind]
    sizes = [5, 6, 4, n_out]
    W0 = [rng.normal(size=(a, b)) for a, b in itertools.pairwise(sizes)]
    b0 = [rng.normal(size=b) for b in sizes[1:]]
    params = {"hidden_layer_sizes": (6, 4), "activation": activation, "alpha": alpha}
    ours = one_step(ours_cls, X, y, W0, b0, **params)
    theirs = one_step(sk_cls, X, y, W0, b0, **params)
    assert ours.out_activation_ == theirs.out_activation_
    for mine, ref in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, ref, rtol=1e-10, atol=1e-12)
    if kind != "multi-output":  # scikit-learn averages that loss over outputs
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)


def wisconsin():
    X, y = load_wisconsin(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_fitted_attributes_match_scikit_learn_conventions():
    X, y = wisconsin()
    ours = gn.MLPClassifier(hidden_layer_sizes=(15, 7), max_iter=30, random_state=0)
    theirs = sk.MLPClassifier(hidden_layer_sizes=(15, 7), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    for attr in ("classes_", "n_features_in_", "n_iter_", "n_layers_", "n_outputs_",
                 "out_activation_", "t_"):
        assert np.all(getattr(ours, attr) == getattr(theirs, attr)), attr
    assert [W.shape for W in ours.coefs_] == [W.shape for W in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert len(ours.loss_curve_) == 30 and ours.loss_ == ours.loss_curve_[-1]
    assert ours.best_loss_ == min(ours.loss_curve_)
    assert ours.validation_scores_ is None and ours.best_validation_score_ is None
    assert ours.history_.loss == ours.loss_curve_
    assert ours.score(X, y) > 0.95


def test_convergence_warning_and_verbose(capsys):
    X, y = wisconsin()
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        gn.MLPClassifier(max_iter=3, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 3, loss = " in out


def test_lbfgs_solver_fits():
    X, y = wisconsin()
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 200 "):
        clf = gn.MLPClassifier(solver="lbfgs", hidden_layer_sizes=(10,), max_iter=200,
                               random_state=0, alpha=1.0).fit(X, y)
    assert clf.score(X, y) > 0.96 and clf.n_iter_ > 0 and np.isfinite(clf.loss_)
    assert not hasattr(clf, "partial_fit")


def test_early_stopping_restores_best_validation_weights():
    X, y = wisconsin()
    clf = gn.MLPClassifier(early_stopping=True, n_iter_no_change=3, max_iter=500,
                           learning_rate_init=0.05, random_state=0).fit(X, y)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_ < 500
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.history_.val_loss) == clf.n_iter_


def test_partial_fit_and_unseen_labels():
    X, y = wisconsin()
    clf = gn.MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:300], y[:300], classes=[0, 1])
    clf.partial_fit(X[300:], y[300:])
    assert clf.n_iter_ == 1 and clf.t_ == len(X)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X[:10], np.full(10, 7))
    with pytest.raises(ValueError, match=r"`y` has classes not in `classes`: \[7\]"):
        gn.MLPClassifier().partial_fit(X[:10], np.full(10, 7), classes=[0, 1])


def test_partial_fit_trains_weights_set_by_hand():
    """scikit-learn's worked example: one SGD step of a 3-2-1 logistic network from
    weights set by hand, computed here with the formulas (dZ = A - y at the output,
    dZ1 = dZ2 W2ᵀ ⊙ A1(1 - A1), dW = Xᵀ dZ + alpha W, b -= lr dZ)."""
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    W1, b1 = np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]), np.array([0.1, 0.1])
    W2, b2 = np.array([[0.1], [0.2]]), np.array([1.0])
    clf = gn.MLPClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, momentum=0,
                           activation="logistic", hidden_layer_sizes=2, random_state=1)
    clf.coefs_, clf.intercepts_ = [W1.copy(), W2.copy()], [b1.copy(), b2.copy()]
    clf.partial_fit(X, y, classes=[0, 1])
    A1 = 1 / (1 + np.exp(-(X @ W1 + b1)))
    dZ2 = 1 / (1 + np.exp(-(A1 @ W2 + b2))) - y[:, None]
    dZ1 = dZ2 @ W2.T * A1 * (1 - A1)
    # one sample: every product is a handful of float64 operations, equal to 1e-12
    np.testing.assert_allclose(clf.coefs_[0], W1 - 0.1 * (X.T @ dZ1 + 0.1 * W1), rtol=1e-12)
    np.testing.assert_allclose(clf.coefs_[1], W2 - 0.1 * (A1.T @ dZ2 + 0.1 * W2), rtol=1e-12)
    np.testing.assert_allclose(clf.intercepts_[0], b1 - 0.1 * dZ1[0], rtol=1e-12)
    np.testing.assert_allclose(clf.intercepts_[1], b2 - 0.1 * dZ2[0], rtol=1e-12)
    assert clf.n_iter_ == 1 and clf.t_ == 1 and list(clf.classes_) == [0, 1]


def test_warm_start_continues():
    X, y = wisconsin()
    clf = gn.MLPClassifier(max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        first = clf.loss_curve_[-1]
        clf.fit(X, y)
    assert len(clf.loss_curve_) == 10 and clf.loss_curve_[5] < first


def test_string_labels_multiclass_and_multilabel():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    names = np.array(["setosa", "versicolor", "virginica"])
    y = names[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0)]
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(300\)"):
        clf = gn.MLPClassifier(max_iter=300, random_state=0).fit(X, y)
    assert clf.out_activation_ == "softmax" and set(clf.predict(X)) <= set(names)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0]).astype(int)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(300\)"):
        multi = gn.MLPClassifier(max_iter=300, random_state=0).fit(X, Y)
    assert multi.out_activation_ == "logistic" and multi.predict(X).shape == (150, 3)
    assert multi.score(X, Y) > 0.8


def test_regressor_multi_output_and_poisson():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X[:, 0] + X[:, 1], X[:, 2] ** 2])
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(500\)"):
        reg = gn.MLPRegressor(hidden_layer_sizes=(32,), max_iter=500, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (200, 2) and reg.score(X, Y) > 0.8
    counts = rng.poisson(np.exp(0.5 * X[:, 0]))
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(300\)"):
        poisson = gn.MLPRegressor(loss="poisson", max_iter=300, random_state=0).fit(X, counts)
    assert poisson.out_activation_ == "exp" and (poisson.predict(X) > 0).all()


def test_sparse_and_float32_input():
    X, y = wisconsin()
    clf = gn.MLPClassifier(max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(sp.csr_matrix(X), y)
        assert clf.score(sp.csr_matrix(X), y) > 0.95
        clf32 = clone(clf).fit(X.astype(np.float32), y)
    assert all(W.dtype == np.float32 for W in clf32.coefs_ + clf32.intercepts_)
    assert clf32.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_dataframe_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    bunch = load_wisconsin()
    frame = pd.DataFrame(bunch.data, columns=bunch.feature_names)
    clf = gn.MLPClassifier(max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frame, bunch.target)
    assert list(clf.feature_names_in_) == bunch.feature_names


def test_pickle_clone_pipeline_gridsearch_columntransformer():
    X, y = wisconsin()
    clf = gn.MLPClassifier(hidden_layer_sizes=(8,), max_iter=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        restored = pickle.loads(pickle.dumps(clf))
        np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
        fresh = clone(clf)
        assert not hasattr(fresh, "coefs_") and fresh.get_params() == clf.get_params()
        scores = cross_val_score(make_pipeline(StandardScaler(), clone(clf)), X, y, cv=3)
        assert scores.mean() > 0.93
        grid = GridSearchCV(clone(clf), {"alpha": [1e-4, 1e-1]}, cv=2).fit(X, y)
        assert grid.best_score_ > 0.93
        ct = make_pipeline(ColumnTransformer([("scale", StandardScaler(), [0, 1, 2, 3, 4])],
                                             remainder="passthrough"), clone(clf))
        assert ct.fit(X, y).score(X, y) > 0.93


def error_type(make, X, y, method="fit"):
    try:
        est = make()
        if method == "predict":
            est.fit(X, y)
            est.predict(X[:, :-1])
        else:
            getattr(est, method)(X, y)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc)
    return None


@pytest.mark.parametrize("case", ["nan", "inf", "neg_alpha", "solver", "predict_features"])
def test_rejects_what_scikit_learn_rejects(case):
    X, y = wisconsin()
    X, y = X[:60], y[:60]
    params, method = {"max_iter": 5}, "fit"
    if case == "nan":
        X = X.copy()
        X[3, 2] = np.nan
    elif case == "inf":
        X = X.copy()
        X[3, 2] = np.inf
    elif case == "neg_alpha":
        params["alpha"] = -1.0
    elif case == "solver":
        params["solver"] = "newton"
    else:
        method = "predict"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = error_type(lambda: gn.MLPClassifier(**params), X, y, method)
        theirs = error_type(lambda: sk.MLPClassifier(**params), X, y, method)
    assert theirs is not None and ours is not None
    assert issubclass(ours, theirs) or issubclass(theirs, ours)


def test_messages_name_the_problem():
    X, y = wisconsin()
    with pytest.raises(ValueError, match="'alpha' parameter of MLPClassifier.*-1"):
        gn.MLPClassifier(alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match="'solver' parameter.*newton"):
        gn.MLPClassifier(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="'class_weight' parameter of MLPClassifier"):
        gn.MLPClassifier(class_weight="even").fit(X, y)


def test_failed_fit_leaves_fitted_estimator_unchanged():
    X, y = wisconsin()
    clf = gn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(clf).items()}
    weights = [W.copy() for W in clf.coefs_]
    bad = X[:, :4].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        clf.fit(bad, y)
    clf.set_params(warm_start=True, learning_rate_init=1e6, solver="sgd", momentum=0.0)
    with pytest.raises(ValueError, match="non-finite"):
        clf.fit(X * 1e6, y)  # diverges
    assert clf.n_features_in_ == before["n_features_in_"]
    assert all(np.array_equal(a, b) for a, b in zip(clf.coefs_, weights))
    assert clf.loss_curve_ == before["loss_curve_"]


def test_glassnet_extras():
    X, y = wisconsin()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = gn.MLPClassifier(hidden_layer_sizes=(12, 6), activation=["tanh", "leaky_relu"],
                               solver="rmsprop", init="he_normal", dtype="float32",
                               schedule=gn.schedules.ExponentialDecay(0.95), max_iter=20,
                               learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.coefs_[0].dtype == np.float32 and clf.score(X, y) > 0.95
    assert clf.history_.lr[:2] == pytest.approx([0.01, 0.0095])
    with pytest.raises(ValueError, match="activation lists 1 functions but there are 2"):
        gn.MLPClassifier(hidden_layer_sizes=(4, 4), activation=["relu"]).fit(X, y)


def test_same_random_state_same_model():
    X, y = wisconsin()
    a = gn.MLPClassifier(max_iter=10, random_state=3)
    b = gn.MLPClassifier(max_iter=10, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X, y)
        b.fit(X, y)
    assert all(np.array_equal(p, q) for p, q in zip(a.coefs_, b.coefs_))


# -- glassnet's extra: a standardised regression target ---------------------------------------
def test_scale_target_is_off_by_default_and_a_clonable_parameter():
    from sklearn.base import clone

    assert gn.MLPRegressor().get_params()["scale_target"] is False
    assert clone(gn.MLPRegressor(scale_target=True)).get_params()["scale_target"] is True
    reg = gn.MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(np.ones((10, 2)), np.arange(10.0))
    assert reg.target_offset_ is None and reg.target_scale_ is None
    with pytest.raises(ValueError, match="needs loss='squared_error'"):
        gn.MLPRegressor(loss="poisson", scale_target=True).fit(np.ones((4, 1)), np.ones(4))
    with pytest.raises(ValueError, match="'scale_target' parameter of MLPRegressor"):
        gn.MLPRegressor(scale_target="yes").fit(np.ones((4, 1)), np.ones(4))


def test_scale_target_is_transformed_target_regressor_in_one_estimator():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = np.column_stack([150 + 40 * np.sin(X[:, 0]) + 10 * X[:, 1], 0.01 * X[:, 2]])
    settings = {"hidden_layer_sizes": (16,), "max_iter": 100, "learning_rate_init": 0.01,
                "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = gn.MLPRegressor(scale_target=True, **settings).fit(X, y)
        theirs = TransformedTargetRegressor(gn.MLPRegressor(**settings),
                                            transformer=StandardScaler()).fit(X, y)
        plain = gn.MLPRegressor(**settings).fit(X, y)
    np.testing.assert_allclose(ours.target_offset_, y.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(ours.target_scale_, y.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-7, atol=1e-9)
    assert ours.loss_curve_[0] < 10 and plain.loss_curve_[0] > 1000  # trained in scaled units
    assert ours.score(X, y) > 0.8 > plain.score(X, y)
    np.testing.assert_allclose(ours.network_.output(X) * ours.target_scale_ + ours.target_offset_,
                               ours.predict(X), rtol=1e-12)


def test_scale_target_with_weights_warm_start_and_partial_fit():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 2)), 500 + 20 * rng.normal(size=40)
    weights = rng.uniform(0.5, 2.0, size=40)
    reg = gn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, scale_target=True,
                          warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y, sample_weight=weights)
        mean = np.average(y, weights=weights)
        np.testing.assert_allclose(reg.target_offset_, [mean], rtol=1e-12)
        np.testing.assert_allclose(reg.target_scale_,
                                   [np.sqrt(np.average((y - mean) ** 2, weights=weights))])
        reg.fit(X, y + 1000)  # warm start: the same scaling, training carries on
        np.testing.assert_allclose(reg.target_offset_, [mean], rtol=1e-12)
        with pytest.raises(ValueError, match="same scale_target as before"):
            reg.set_params(scale_target=False).fit(X, y)
        online = gn.MLPRegressor(hidden_layer_sizes=(4,), scale_target=True, random_state=0)
        online.partial_fit(X[:20], y[:20])
        first = online.target_offset_.copy()
        online.partial_fit(X[20:], y[20:])
        np.testing.assert_array_equal(online.target_offset_, first)


def test_scale_target_scores_a_validation_set_of_ones_own_in_the_same_units():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 2))
    y = 300 + 50 * X[:, 0] - 20 * X[:, 1] ** 2
    reg = gn.MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, learning_rate_init=0.01,
                          scale_target=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:80], y[:80], X_val=X[80:], y_val=y[80:])
    assert reg.validation_scores_[-1] == pytest.approx(r2_score(y[80:], reg.predict(X[80:])),
                                                       rel=1e-9)
    assert reg.history_.val_loss[-1] < 1.0  # (ŷ' − y')²/2 in the standardised units
