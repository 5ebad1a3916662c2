"""scikit-learn: fitted ``MLPClassifier``/``MLPRegressor`` objects, both ways.

The two libraries store a network the same way: ``coefs_[i]`` is layer
``i``'s ``W`` of shape ``(fan_in, fan_out)`` and ``intercepts_[i]`` its
``b``; ``activation`` names the hidden layers' function and
``out_activation_`` the output's (``logistic`` or ``softmax`` for
classifiers, ``identity`` or ``exp`` for regressors). Converting copies
these arrays unchanged, with the constructor parameters and what fitting
recorded (``n_iter_``, ``loss_curve_``, ``classes_``, …), so a round trip
scikit-learn → glassnet → scikit-learn gives back the same arrays bit for bit
and both predict the same labels.

scikit-learn cannot represent every glassnet network: one activation for all
hidden layers, only identity/logistic/tanh/relu, a bias in every layer, and
a two-class softmax is a single sigmoid unit there. :func:`to_sklearn` says
which of these stops a conversion.
"""

from __future__ import annotations

import copy

import numpy as np

from ..layers import Dense
from ..training import History
from ._source import describe_network, missing_extra

__all__ = ["from_sklearn", "to_sklearn"]

_SKLEARN_HIDDEN = {"identity": "identity", "sigmoid": "logistic", "tanh": "tanh",
                   "relu": "relu"}
# what fitting records, copied both ways when present
_FITTED = ("classes_", "n_features_in_", "feature_names_in_", "n_iter_", "t_", "loss_", "best_loss_",
           "loss_curve_", "validation_scores_", "best_validation_score_")


def _is_sklearn_mlp(obj):
    return type(obj).__module__.startswith("sklearn.neural_network") and hasattr(
        obj, "hidden_layer_sizes")


def as_glassnet(obj):
    """``obj``, or for a fitted scikit-learn MLP the glassnet estimator
    :func:`from_sklearn` makes of it: what every exporter does first, so that each
    takes scikit-learn's MLPs as it takes glassnet's."""
    return from_sklearn(obj) if _is_sklearn_mlp(obj) else obj


def _import_sklearn(what):
    try:
        from sklearn import neural_network
        from sklearn.preprocessing import LabelBinarizer
    except ImportError as exc:
        raise missing_extra(what, "sklearn", exc) from None
    return neural_network, LabelBinarizer


def _label_binarizer(LabelBinarizer, classes, multilabel):
    """The fitted binarizer both libraries use to turn outputs into labels."""
    if multilabel:  # fitted on an indicator matrix: labels are its columns
        k = len(classes)
        return LabelBinarizer().fit(np.array([np.zeros(k, dtype=int), np.ones(k, dtype=int)]))
    return LabelBinarizer().fit(np.asarray(classes))


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return copy.copy(value)


def _copy_fitted(source, target):
    for name in _FITTED:
        if hasattr(source, name):
            setattr(target, name, _copy(getattr(source, name)))


def to_sklearn(estimator, classes=None):
    """A fitted scikit-learn ``MLPClassifier`` or ``MLPRegressor`` with the same weights.

    Parameters
    ----------
    estimator : fitted glassnet estimator or Network
        A network becomes a classifier for a sigmoid or softmax output (with
        ``classes``, by default ``0, 1, …``) and a regressor for an identity
        (squared error) or exp (Poisson) output.
    classes : sequence, optional
        Class labels for a network's output units (ignored for estimators).

    Notes
    -----
    Training settings scikit-learn lacks (``solver='rmsprop'``/``'adamw'``,
    ``schedule``, ``init``, ``dtype``, ``callbacks``) shaped the weights but are
    not part of the network; they are left at scikit-learn's defaults. A
    network scikit-learn cannot represent (per-layer or leaky ReLU
    activations, a layer without a bias, a two-unit softmax, another kind of
    layer) raises a ``ValueError`` saying which. Needs the ``sklearn`` extra.
    """
    neural_network, LabelBinarizer = _import_sklearn("glassnet.io.to_sklearn")
    source = describe_network(as_glassnet(estimator), "to_sklearn", "a scikit-learn MLP")
    net = source.network
    for i, layer in enumerate(net.layers, start=1):
        if type(layer) is not Dense:
            raise ValueError(f"layer {i} is a {type(layer).__name__}; scikit-learn's MLP has "
                             f"dense layers only")
        if layer.b is None:
            raise ValueError(f"layer {i} has no bias; every layer of scikit-learn's MLP has one")
    hidden = [layer.activation.name for layer in net.layers[:-1]]
    for name in hidden:
        if name not in _SKLEARN_HIDDEN:
            raise ValueError(f"scikit-learn's MLP has no {name!r} activation (it has "
                             f"identity, logistic, tanh and relu)")
    if len(set(hidden)) > 1:
        raise ValueError(f"the hidden layers use different activations {hidden}; "
                         f"scikit-learn's MLP applies one activation to every hidden layer")
    output, k = net.output_activation.name, net.n_outputs
    if output == "softmax" and k == 2:
        raise ValueError("a two-unit softmax output: scikit-learn's MLPClassifier uses one "
                         "sigmoid unit for two classes")
    if output not in ("sigmoid", "softmax", "identity", "exp"):
        raise ValueError(f"scikit-learn's MLP has no {output!r} output (classifiers end in a "
                         f"sigmoid or softmax, regressors in the identity or exp)")
    if source.kind == "network" and output in ("sigmoid", "softmax"):
        expected = max(k, 2)
        classes = list(range(expected)) if classes is None else list(classes)
        if len(classes) != expected:
            raise ValueError(f"classes has {len(classes)} labels but the network's output "
                             f"gives {expected}")
        if list(np.unique(classes)) != classes:
            raise ValueError(f"classes must be distinct and sorted, as scikit-learn keeps "
                             f"them, got {classes}")
        source.task, source.classes = "classification", classes
        source.multilabel = output == "sigmoid" and k > 1
    classifier = output in ("sigmoid", "softmax")
    cls = neural_network.MLPClassifier if classifier else neural_network.MLPRegressor
    accepted = cls().get_params()
    activation = _SKLEARN_HIDDEN[hidden[0]] if hidden else "relu"
    if source.kind == "estimator":
        params = {k: v for k, v in estimator.get_params().items() if k in accepted}
        if params.get("solver") not in ("lbfgs", "sgd", "adam"):
            params.pop("solver", None)
        if isinstance(params.get("activation"), (list, tuple)):
            params["activation"] = activation
    else:
        params = {"hidden_layer_sizes": tuple(layer.n_units for layer in net.layers[:-1]),
                  "activation": activation, "alpha": net.alpha}
    if output == "exp":
        if "loss" not in accepted:
            raise ValueError("this scikit-learn has no poisson loss for MLPRegressor "
                             "(scikit-learn >= 1.7 has)")
        params["loss"] = "poisson"
    result = cls(**params)
    result.coefs_ = [np.array(layer.W, copy=True) for layer in net.layers]
    result.intercepts_ = [np.array(layer.b, copy=True) for layer in net.layers]
    result.n_layers_ = len(net.layers) + 1
    result.n_outputs_ = k
    result.out_activation_ = "logistic" if output == "sigmoid" else output
    if source.kind == "estimator":
        _copy_fitted(estimator, result)
    else:
        result.n_features_in_ = net.n_inputs
        result.n_iter_, result.t_, result.loss_curve_, result.best_loss_ = 0, 0, [], np.inf
    if classifier:
        result._label_binarizer = _label_binarizer(LabelBinarizer, source.classes,
                                                   source.multilabel)
        if not hasattr(result, "classes_"):
            result.classes_ = result._label_binarizer.classes_
    # scikit-learn counts epochs without improvement from here on warm_start/partial_fit
    result._no_improvement_count = 0
    return result


def from_sklearn(mlp):
    """A fitted glassnet ``MLPClassifier``/``MLPRegressor`` from scikit-learn's.

    The constructor parameters, ``coefs_``, ``intercepts_``, ``classes_`` and
    what fitting recorded are copied (``history_.loss`` is ``loss_curve_``);
    the result predicts what ``mlp`` predicts, and ``fit`` with
    ``warm_start=True`` or ``partial_fit`` continue training it with
    glassnet's engine. Its engine network (``network_``) is ready for
    :func:`glassnet.gradient_check`, :mod:`glassnet.landscape` and
    :mod:`glassnet.dynamics`. Needs the ``sklearn`` extra.
    """
    neural_network, LabelBinarizer = _import_sklearn("glassnet.io.from_sklearn")
    from .. import estimators

    if isinstance(mlp, neural_network.MLPClassifier):
        cls = estimators.MLPClassifier
    elif isinstance(mlp, neural_network.MLPRegressor):
        cls = estimators.MLPRegressor
    else:
        raise TypeError(f"from_sklearn takes a fitted sklearn.neural_network.MLPClassifier "
                        f"or MLPRegressor, got {type(mlp).__name__}")
    if not hasattr(mlp, "coefs_"):
        raise ValueError(f"this {type(mlp).__name__} is not fitted yet: call fit first")
    accepted = cls().get_params()
    result = cls(**{k: v for k, v in mlp.get_params(deep=False).items() if k in accepted})
    result.coefs_ = [np.array(W, copy=True) for W in mlp.coefs_]
    result.intercepts_ = [np.array(b, copy=True) for b in mlp.intercepts_]
    result.n_layers_ = mlp.n_layers_
    result.n_outputs_ = mlp.n_outputs_
    result.out_activation_ = mlp.out_activation_
    result.batch_norm_layers_ = []  # scikit-learn's MLP has none
    _copy_fitted(mlp, result)
    if isinstance(mlp, neural_network.MLPClassifier):
        multilabel = mlp.out_activation_ == "logistic" and mlp.n_outputs_ > 1
        result._label_binarizer = _label_binarizer(LabelBinarizer, list(mlp.classes_),
                                                   multilabel)
    curve = list(getattr(mlp, "loss_curve_", None) or [])
    result.history_ = History(epoch=list(range(len(curve))), loss=curve)
    # what a warm start or partial_fit continues from
    result._no_improvement_count = 0
    result._optimizer = None
    return result
