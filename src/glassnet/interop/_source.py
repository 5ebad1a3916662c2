"""What a converter is given, reduced to one description.

Every exporter accepts a saved model (a :class:`glassnet.io.Model` or the path
of a ``.glassnet`` file), a fitted glassnet estimator or an engine
:class:`~glassnet.Network`. :func:`describe` turns any of them into a
:class:`Source`: the network, and what surrounds it when there is something
(the task, the class labels, the raw columns and their preprocessing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..network import Network

__all__ = ["Source", "describe", "describe_network", "engine_network", "missing_extra"]


def missing_extra(what, extra, exc):
    """An ImportError that names the extra to install."""
    name = getattr(exc, "name", None) or str(exc)
    return ImportError(f"{what} needs {name}, which is not installed: "
                       f"pip install 'glassnet[{extra}]'")


@dataclass
class Source:
    """A network and its surroundings.

    ``kind`` is ``'model'``, ``'estimator'`` or ``'network'``. ``task`` is
    ``'classification'``, ``'regression'`` or ``None`` (a bare network);
    ``classes`` the class labels of a classifier; ``schema`` the raw columns
    of a model trained from a table (``None`` otherwise), with ``missing`` its
    missing-value rule and ``scaler`` its fitted scaler; ``target_scaler`` maps a
    regression network's output back to the target's units (a model file's, or an
    estimator's with ``scale_target=True``; ``None`` otherwise); ``feature_names``
    the network's input columns.
    """

    network: Network
    kind: str
    task: str | None = None
    classes: list | None = None
    multilabel: bool = False
    schema: list | None = None
    missing: str = "error"
    scaler: object = None
    feature_names: list = field(default_factory=list)
    target: str | None = None
    target_scaler: object = None


def _is_glassnet_estimator(obj):
    return type(obj).__module__.startswith("glassnet.") and hasattr(obj, "hidden_layer_sizes")


def engine_network(estimator):
    """The engine :class:`Network` of a fitted glassnet estimator (its ``network_``:
    layers that share the estimator's arrays)."""
    if not hasattr(estimator, "coefs_"):
        raise ValueError(f"this {type(estimator).__name__} is not fitted yet: call fit first")
    return estimator.network_


def describe(obj):
    """A :class:`Source` for a model, a model file's path, a glassnet estimator or a
    network. A scikit-learn MLP is first made a glassnet estimator by the converter
    that takes one (:func:`glassnet.interop.sklearn.as_glassnet`): this module sits
    below the converters and imports none of them."""
    from ..io import Model, load_model

    if isinstance(obj, (str, os.PathLike)):
        obj = load_model(obj)
    if isinstance(obj, Network):
        return Source(obj, "network", feature_names=[f"x{j}" for j in range(obj.n_inputs)])
    if isinstance(obj, Model):
        meta = obj.metadata
        schema = meta.get("schema") or [{"name": name, "kind": "numeric"}
                                         for name in obj.feature_names]
        return Source(obj.network, "model", task=obj.task, classes=obj.classes,
                      schema=schema, missing=meta.get("missing", "error"),
                      scaler=obj.scaler, feature_names=list(obj.feature_names),
                      target=meta.get("target"), target_scaler=obj.target_scaler)
    if _is_glassnet_estimator(obj):
        network = engine_network(obj)
        names = getattr(obj, "feature_names_in_", None)
        names = [str(n) for n in names] if names is not None else [
            f"x{j}" for j in range(network.n_inputs)]
        if hasattr(obj, "classes_"):
            multilabel = obj.out_activation_ == "logistic" and obj.n_outputs_ > 1
            return Source(network, "estimator", task="classification",
                          classes=[_plain(c) for c in obj.classes_], multilabel=multilabel,
                          feature_names=names)
        target_scaler = None
        if getattr(obj, "target_offset_", None) is not None:
            from ..io import Scaler

            target_scaler = Scaler("standard", obj.target_offset_, obj.target_scale_)
        return Source(network, "estimator", task="regression", feature_names=names,
                      target_scaler=target_scaler)
    raise TypeError(f"expected a glassnet model (or its path), a fitted glassnet or "
                    f"scikit-learn MLPClassifier/MLPRegressor, or a glassnet Network; got "
                    f"{type(obj).__name__}")


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def describe_network(obj, converter, into):
    """:func:`describe` for converters of the network alone: a saved model is refused
    with a pointer to ``model.network``, since its preprocessing would be lost."""
    source = describe(obj)
    if source.kind == "model":
        raise TypeError(f"{converter} converts a network or an estimator; pass model.network: "
                        f"the model's encoding and scaling are not part of {into} (to_onnx "
                        f"exports the whole model)")
    if source.target_scaler is not None:
        raise ValueError(f"this estimator was fitted with scale_target=True, which {into} "
                         f"cannot hold: its network predicts the standardised target; pass "
                         f"estimator.network_ and map its output y' to y'·target_scale_ + "
                         f"target_offset_ (to_onnx exports the whole estimator)")
    return source
