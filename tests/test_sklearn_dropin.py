"""Behaviours scikit-learn's MLP users rely on, each run on scikit-learn and on
glassnet with the same input, and glassnet's additions (class_weight, a
validation set of one's own, activations/transform, convergence advice,
reproducibility)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import neural_network as sk
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.class_weight import compute_class_weight

import glassnet as gn

SK_NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
                 "large values and need to be preprocessed.")
BOTH = pytest.mark.parametrize("lib", ["sklearn", "glassnet"])


def lib_module(lib):
    return sk if lib == "sklearn" else gn


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# -- 1. partial_fit: classes declared up front are all learnable -----------------
@BOTH
def test_partial_fit_declared_classes_get_units_and_are_learnable(lib):
    clf = lib_module(lib).MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.1,
                                        random_state=0)
    X = np.array([[1.0], [2.0], [3.0]] * 10)
    clf.partial_fit(X, np.array(["a", "b", "c"] * 10), classes=["a", "b", "c", "d"])
    assert list(clf.classes_) == ["a", "b", "c", "d"]
    assert clf.coefs_[-1].shape[1] == 4
    for _ in range(60):
        clf.partial_fit([[4.0]], ["d"])
    assert clf.predict([[4.0]])[0] == "d"


# -- 2. lbfgs stopped by max_fun warns, and n_iter_ <= max_fun -------------------
@BOTH
def test_lbfgs_max_fun_warns(lib, iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge") as record:
        reg = lib_module(lib).MLPRegressor(solver="lbfgs", max_fun=10, random_state=0).fit(X, y)
    assert 1 <= reg.n_iter_ <= 10
    if lib == "glassnet":
        assert "max_fun=10" in str(record[-1].message)


# -- 3. divergence ----------------------------------------------------------------
@BOTH
def test_divergence_with_early_stopping_keeps_best_validation_weights(lib):
    X, y = load_iris(return_X_y=True)
    est = lib_module(lib).MLPRegressor(solver="sgd", learning_rate_init=1, activation="identity",
                                       early_stopping=True, random_state=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est.fit(X, y)
    assert any(issubclass(w.category, ConvergenceWarning) for w in record)
    assert all(np.isfinite(W).all() for W in est.coefs_)
    assert np.isfinite(est.predict(X)).all()
    assert est.best_validation_score_ == np.nanmax(est.validation_scores_)
    if lib == "glassnet":
        message = next(str(w.message) for w in record if w.category is ConvergenceWarning)
        assert message.startswith(SK_NON_FINITE) and "learning_rate_init" in message


@BOTH
def test_divergence_without_early_stopping_raises_scikit_learn_text(lib):
    X, y = load_iris(return_X_y=True)
    est = lib_module(lib).MLPRegressor(solver="sgd", learning_rate_init=1, activation="identity",
                                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as info:
            est.fit(X, y)
    assert str(info.value).startswith(SK_NON_FINITE)
    if lib == "glassnet":
        assert "learning rate" in str(info.value)  # glassnet's advice follows


# -- 4. a single class fits and predicts it -------------------------------------
@BOTH
@pytest.mark.parametrize("early_stopping", [False, True])
def test_single_class_fits_and_predicts_it(lib, early_stopping, iris):
    X, _ = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    y = pd.Series(["setosa"] * len(X))
    clf = lib_module(lib).MLPClassifier(hidden_layer_sizes=(5,), max_iter=30,
                                        early_stopping=early_stopping, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frame, y)
    assert list(clf.classes_) == ["setosa"]
    assert (clf.predict(frame) == "setosa").all()
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    assert clf.predict_proba(frame).shape == (len(X), 2)


# -- 5. early stopping with a one-member class ----------------------------------
@BOTH
def test_one_member_class_with_early_stopping_is_named(lib, iris):
    X, _ = iris
    y = np.array(["a"] * 9 + ["b"])
    clf = lib_module(lib).MLPClassifier(early_stopping=True, max_iter=5)
    with pytest.raises(ValueError, match="least populated classes in y have only 1 member") as e:
        clf.fit(X[:10], y)
    if lib == "glassnet":
        assert "['b']" in str(e.value) and "'b': 1 member" in str(e.value)


@BOTH
def test_one_member_class_in_a_multiclass_target_still_fits(lib, iris):
    X, y = iris
    y = y.copy()
    y[0] = 7
    clf = lib_module(lib).MLPClassifier(hidden_layer_sizes=(5,), early_stopping=True,
                                        max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert list(clf.classes_) == [0, 1, 2, 7]


# -- 6. learning_rate='adaptive' --------------------------------------------------
ADAPTIVE = {"solver": "sgd", "learning_rate": "adaptive", "learning_rate_init": 0.5,
                "hidden_layer_sizes": (10,), "n_iter_no_change": 3, "tol": 1e-2, "max_iter": 60,
                "random_state": 0}


@BOTH
def test_adaptive_rate_divides_by_five(lib, iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = lib_module(lib).MLPClassifier(**ADAPTIVE).fit(X, y)
    k = np.log(0.5 / clf._optimizer.learning_rate) / np.log(5)
    assert k >= 1 and abs(k - round(k)) < 1e-9  # divided by 5 at least once, only by 5
    if lib == "glassnet":
        rates = np.array(clf.history_["lr"])
        assert rates[-1] == clf._optimizer.learning_rate
        changes = np.flatnonzero(rates[1:] != rates[:-1]) + 1
        assert len(changes) >= 1
        np.testing.assert_allclose(rates[changes - 1] / rates[changes], 5.0)
        # a change needs n_iter_no_change epochs without improvement first
        assert np.diff(np.r_[0, changes]).min() > ADAPTIVE["n_iter_no_change"]


def test_adaptive_rate_continues_with_warm_start(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = gn.MLPClassifier(**{**ADAPTIVE, "max_iter": 20}).fit(X, y)
        reached = clf._optimizer.learning_rate
        assert 1e-6 < reached < 0.5
        epochs = len(clf.history_["lr"])
        clf.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert clf.history_["lr"][epochs] == reached


def test_optimizer_learning_rate_for_sgd_and_adam(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for solver in ("sgd", "adam"):
            clf = gn.MLPClassifier(solver=solver, learning_rate_init=0.02, max_iter=3,
                                   random_state=0).fit(X, y)
            assert clf._optimizer.learning_rate == 0.02 == clf.history_["lr"][-1]


# -- class_weight -----------------------------------------------------------------
@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 3.0, 2: 0.5}])
def test_class_weight_equals_matching_sample_weight(class_weight, iris):
    X, y = iris
    X, y = X[:120], y[:120]  # unbalanced: 50, 50, 20
    params = {"hidden_layer_sizes": (8,), "max_iter": 20, "random_state": 0}
    if class_weight == "balanced":
        per_class = len(y) / (3 * np.bincount(y))
    else:
        per_class = np.array([class_weight[c] for c in range(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = gn.MLPClassifier(class_weight=class_weight, **params).fit(X, y)
        b = gn.MLPClassifier(**params).fit(X, y, sample_weight=per_class[y])
        unweighted = gn.MLPClassifier(**params).fit(X, y)
    for Wa, Wb, Wu in zip(a.coefs_, b.coefs_, unweighted.coefs_):
        np.testing.assert_allclose(Wa, Wb, rtol=0, atol=1e-10)
        assert not np.allclose(Wa, Wu)
    assert gn.MLPClassifier(class_weight="balanced").get_params()["class_weight"] == "balanced"


def test_partial_fit_refuses_balanced_and_takes_a_dict(iris):
    X, y = iris
    clf = gn.MLPClassifier(hidden_layer_sizes=(4,), class_weight="balanced", random_state=0)
    with pytest.raises(ValueError, match=r"class_weight='balanced' is not supported by "
                                         r"partial_fit.*compute_class_weight\('balanced'.*"
                                         r"class_weight=dict\(zip\(classes, weights\)\)"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(clf, "coefs_")
    # the fix the message names (weights over the whole target, as a dict), and a dict
    # naming some classes only: a batch that lacks a class still trains, each row
    # weighted by its class's weight (1 for a class the dict leaves out)
    balanced = compute_class_weight("balanced", classes=np.arange(3), y=y[:120])
    params = {"hidden_layer_sizes": (4,), "random_state": 0, "shuffle": False}
    for weights in (dict(zip([0, 1, 2], balanced)), {2: 3.0}):
        a = gn.MLPClassifier(class_weight=weights, **params)
        b = gn.MLPClassifier(**params)
        for batch in (np.arange(0, 60), np.arange(60, 120)):  # the first: classes 0, 1 only
            a.partial_fit(X[batch], y[batch], classes=[0, 1, 2])
            b.partial_fit(X[batch], y[batch], classes=[0, 1, 2],
                          sample_weight=np.array([weights.get(c, 1.0) for c in y[batch]]))
        for Wa, Wb in zip(a.coefs_, b.coefs_):
            np.testing.assert_allclose(Wa, Wb, rtol=0, atol=1e-12)


# -- a validation set of one's own -------------------------------------------------
def test_x_val_is_monitored_and_recorded(iris):
    X, y = iris
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, val = order[:100], order[100:]
    target = X[:, 0] + 0.5 * y
    reg = gn.MLPRegressor(hidden_layer_sizes=(6,), alpha=0.01, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[train], target[train], X_val=X[val], y_val=target[val])
    assert len(reg.history_["val_loss"]) == reg.n_iter_ == len(reg.validation_scores_)
    # the recorded loss is the loss on X_val at the final weights, recomputed by hand
    residual = reg.predict(X[val]) - target[val]
    penalty = 0.01 / (2 * len(val)) * sum((W ** 2).sum() for W in reg.coefs_)
    by_hand = 0.5 * np.mean(residual ** 2) + penalty
    assert abs(reg.history_["val_loss"][-1] - by_hand) < 1e-12
    assert abs(reg.validation_scores_[-1] - r2_score(target[val], reg.predict(X[val]))) < 1e-12
    # with early stopping, every training row trains and X_val is what is monitored
    clf = gn.MLPClassifier(hidden_layer_sizes=(6,), early_stopping=True, max_iter=15,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[train], y[train], X_val=X[val], y_val=y[val])
    assert clf.t_ == clf.n_iter_ * len(train)
    assert clf.best_validation_score_ == max(clf.validation_scores_) == clf.score(X[val], y[val])
    with pytest.raises(ValueError, match="X_val and y_val must be passed together"):
        gn.MLPClassifier().fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="y_val has classes not in the training y"):
        gn.MLPClassifier(max_iter=1).fit(X[y < 2], y[y < 2], X_val=X, y_val=y)


# -- activations and transform ----------------------------------------------------
def test_activations_match_a_manual_forward_pass_and_transform_in_a_pipeline(iris):
    X, y = iris
    clf = gn.MLPClassifier(hidden_layer_sizes=(7, 5), activation="tanh", max_iter=5,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    A = clf.activations(X)
    assert [a.shape for a in A] == [(150, 4), (150, 7), (150, 5), (150, 3)]
    (W1, W2, W3), (b1, b2, b3) = clf.coefs_, clf.intercepts_
    H1 = np.tanh(X @ W1 + b1)
    H2 = np.tanh(H1 @ W2 + b2)
    Z = H2 @ W3 + b3
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    for got, want in zip(A, [X, H1, H2, P]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(clf.transform(X), A[2])
    pipe = Pipeline([("features", gn.MLPClassifier(hidden_layer_sizes=(6,), max_iter=5,
                                                   random_state=0)),
                     ("head", LogisticRegression())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    assert pipe[:-1].transform(X).shape == (150, 6)
    assert pipe.predict(X).shape == (150,)


@pytest.mark.parametrize("estimator", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("sizes", [(), (3,), (7, 5), (4, 6, 2)])
def test_feature_names_out_name_every_transform_column(estimator, sizes, iris):
    X, y = iris
    est = getattr(gn, estimator)(hidden_layer_sizes=sizes, max_iter=2, random_state=0)
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    names = est.get_feature_names_out()
    width = est.transform(X).shape[1]
    assert width == (sizes[-1] if sizes else X.shape[1])
    assert names.dtype == object
    assert list(names) == [f"{estimator.lower()}{i}" for i in range(width)]
    # input_features is checked against what fit saw, as in scikit-learn
    assert list(est.get_feature_names_out([f"x{i}" for i in range(4)])) == list(names)
    with pytest.raises(ValueError, match="input_features should have length equal to"):
        est.get_feature_names_out(["a", "b"])


def test_set_output_pandas_names_columns_keeps_index_and_leaves_predict_alone(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"], index=np.arange(150) * 3 + 7)
    clf = gn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    assert clf.set_output(transform="pandas") is clf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = clf.fit_transform(frame, y)
    expected = [f"mlpclassifier{i}" for i in range(5)]
    for got in (out, clf.transform(frame)):
        assert isinstance(got, pd.DataFrame)
        assert list(got.columns) == expected
        assert got.index.equals(frame.index)
        np.testing.assert_array_equal(got.to_numpy(), clf.activations(frame)[1])
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        clf.get_feature_names_out(["a", "b", "c", "d"])
    assert isinstance(clf.predict_proba(frame), np.ndarray)
    assert isinstance(clf.predict(frame), np.ndarray)
    assert isinstance(clf.set_output(transform="default").transform(frame), np.ndarray)


def test_set_output_pandas_in_column_transformer_pipeline_and_feature_union(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"], index=np.arange(150) + 100)
    frame["colour"] = np.array(["red", "green", "blue"])[np.arange(150) % 3]
    features = ColumnTransformer([
        ("mlp", gn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0),
         ["sl", "sw", "pl", "pw"]),
        ("onehot", OneHotEncoder(sparse_output=False), ["colour"]),
    ])
    pipe = make_pipeline(features, LogisticRegression()).set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(frame, y)
    out = pipe[:-1].transform(frame)
    assert isinstance(out, pd.DataFrame) and out.index.equals(frame.index)
    assert list(out.columns) == [f"mlp__mlpclassifier{i}" for i in range(4)] + [
        "onehot__colour_blue", "onehot__colour_green", "onehot__colour_red"]
    assert list(pipe[-1].feature_names_in_) == list(out.columns)
    assert pipe.predict(frame).shape == (150,)
    union = FeatureUnion([
        ("clf", gn.MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0)),
        ("reg", gn.MLPRegressor(hidden_layer_sizes=(2,), max_iter=3, random_state=0)),
    ]).set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        both = union.fit_transform(frame[["sl", "sw", "pl", "pw"]], y)
    assert list(both.columns) == ["clf__mlpclassifier0", "clf__mlpclassifier1",
                                  "clf__mlpclassifier2", "reg__mlpregressor0",
                                  "reg__mlpregressor1"]
    assert both.index.equals(frame.index)


# -- convergence advice -------------------------------------------------------------
def test_convergence_warning_names_what_to_try(iris):
    X, y = iris
    frame = pd.DataFrame(X * [1, 1, 100, 1], columns=["a", "b", "wide", "d"])
    with pytest.warns(ConvergenceWarning) as record:
        gn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(frame, y)
    message = str(record[-1].message)
    assert message.startswith("Stochastic Optimizer: Maximum iterations (3) reached")
    assert "max_iter=3 now" in message and "learning_rate_init (now 0.001" in message
    assert "scale the features" in message and "column(s) wide " in message
    with pytest.warns(ConvergenceWarning) as record:
        gn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    assert "scale the features" not in str(record[-1].message)  # already scaled


# -- reproducibility ------------------------------------------------------------------
def fitted_coefs(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gn.MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, **params).fit(X, y).coefs_


def test_same_random_state_is_bit_identical_whatever_numpy_global_seed(iris):
    X, y = iris
    np.random.seed(0)
    first = fitted_coefs(X, y, random_state=3, early_stopping=True)
    np.random.seed(12345)
    second = fitted_coefs(X, y, random_state=3, early_stopping=True)
    other = fitted_coefs(X, y, random_state=4, early_stopping=True)
    for a, b, c in zip(first, second, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


@pytest.mark.slow
def test_gridsearch_bit_identical_across_n_jobs(iris):
    X, y = iris
    results = []
    for n_jobs in (1, 2):
        search = GridSearchCV(gn.MLPClassifier(hidden_layer_sizes=(6,), max_iter=5,
                                               random_state=0),
                              {"alpha": [1e-4, 1e-1]}, cv=3, n_jobs=n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
        results.append(search)
    one, two = results
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"],
                                  two.cv_results_["mean_test_score"])
    for a, b in zip(one.best_estimator_.coefs_, two.best_estimator_.coefs_):
        np.testing.assert_array_equal(a, b)
