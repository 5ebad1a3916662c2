"""Engine networks for commands that drive :class:`~glassnet.network.Network` directly
(gradcheck, landscape), and the one place that takes the network out of a fitted
estimator."""

from __future__ import annotations

from ..tables import design
from .options import parse_activation, parse_hidden

__all__ = ["engine_network", "fitted_network"]


def engine_network(prepared, hidden, activation, scale, seed, init, alpha=0.0):
    """A float64 engine :class:`Network` for the prepared data, with its scaled
    features and encoded targets: ``(network, X, Y)``. The output is a sigmoid
    for two classes, a softmax for more, the identity for regression."""
    from ..network import Network

    sizes = parse_hidden(hidden)
    act = parse_activation(activation, len(sizes))
    act = [("sigmoid" if a == "logistic" else a) for a in
           ([act] * len(sizes) if isinstance(act, str) else act)]
    X, Y, _ = design(prepared, scale)
    if prepared.task == "classification":
        output = "sigmoid" if Y.shape[1] == 1 else "softmax"
    else:
        output = "identity"
    network = Network.from_sizes([X.shape[1], *sizes, Y.shape[1]], activation=act,
                                 output_activation=output, init=init, alpha=alpha, seed=seed)
    return network, X, Y


def fitted_network(estimator):
    """The engine :class:`Network` of a fitted MLPClassifier/MLPRegressor (to save it)."""
    return estimator.network_
