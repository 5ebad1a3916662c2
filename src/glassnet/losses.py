"""Loss functions: each one's value and its gradient, side by side.

Notation (the README's shape convention): ``Y`` the targets and ``Ŷ = A`` the network's
output, both ``(m, k)`` arrays with one row per sample; ``m`` samples, ``k``
outputs. Optional sample weights ``w`` (one per row) turn every average over
samples into a weighted one: ``(1/m) Σ_i`` becomes ``(1/Σw) Σ_i w_i``.

Each loss has

``value(Y, Ŷ, w=None)``
    the scalar loss ``L``;
``gradient(Y, Ŷ, w=None)``
    ``dL/dŶ``, which the output activation's ``backward`` turns into ``dZ``;
``delta(Y, Ŷ, w=None, out=None)``
    the *fused* gradient ``dL/dZ`` when the output activation is the loss's
    canonical partner (``canonical_activation``). Sigmoid with binary
    cross-entropy, softmax with categorical cross-entropy, identity with squared
    error and exp with Poisson deviance all collapse to ``c·(Ŷ − Y)``: no
    division by ``Ŷ(1 − Ŷ)``, so no blow-up when a probability saturates.
    This is the "cost with its delta" of Nielsen's ``network2.py``.

Probabilities are clipped to ``[eps, 1 − eps]`` (``eps`` the machine epsilon of
their dtype) before any logarithm, so ``log(0)`` never happens.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LOSSES",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "HalfSquaredError",
    "Loss",
    "MeanSquaredError",
    "PoissonDeviance",
    "SumSquaredError",
    "get_loss",
    "sample_normaliser",
]


def _xlogy(x, y):
    """``x·log(y)`` with ``0·log(0) = 0`` (no scipy in the core)."""
    out = np.zeros(np.broadcast(x, y).shape, dtype=np.result_type(x, y))
    mask = np.broadcast_to(x != 0, out.shape)
    np.multiply(x, np.log(y, where=mask, out=np.ones_like(out)), out=out, where=mask)
    return out


def sample_normaliser(n, sample_weight=None):
    """``N``, what every average over samples divides by: the number of rows
    ``n``, or the total weight ``Σw`` when there are sample weights.

    The losses, their gradients, the L2 penalty ``α/(2N)·Σ‖W‖²`` and the
    evaluation of held-out rows all divide by this one number.
    """
    return n if sample_weight is None else float(sample_weight.sum())


def _row_mean(values, sample_weight):
    """``(1/m) Σ_i values_i`` or ``(1/Σw) Σ_i w_i·values_i``."""
    if sample_weight is None:
        return float(values.sum() / values.shape[0])
    return float(sample_weight @ values / sample_normaliser(len(values), sample_weight))


def _scale_rows(diff, sample_weight, scale, out):
    """``scale·w_i·diff_i`` per row, written into ``out`` (``diff`` may be ``out``)."""
    out = np.multiply(diff, scale, out=out)
    if sample_weight is not None:
        out *= sample_weight[:, None]
    return out


def _averaged(rows, sample_weight):
    """``rows_i/m`` or ``w_i·rows_i/Σw``, in place: a per-sample gradient averaged."""
    scale = 1.0 / sample_normaliser(len(rows), sample_weight)
    return _scale_rows(rows, sample_weight, scale, rows)


class Loss:
    """Base class. Subclasses define ``value``, ``gradient`` and ``delta``."""

    name = "loss"
    canonical_activation = None

    def __repr__(self):
        return f"{type(self).__name__}()"

    def config(self):
        return {"name": self.name}

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self).__name__)

    def delta(self, Y, Yhat, sample_weight=None, out=None):
        """Fused ``dL/dZ = (Ŷ − Y)·w_i/Σw`` for the canonical output activation."""
        diff = np.subtract(Yhat, Y, out=out)
        return _averaged(diff, sample_weight)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy, one independent yes/no per output column.

    ``L = −(1/m) Σ_i Σ_k [y log ŷ + (1 − y) log(1 − ŷ)]``

    ``dL/dŷ = −(1/m)·(y/ŷ − (1 − y)/(1 − ŷ))``  (the first tutorial's ``dL/dŶ``)

    Fused with the sigmoid, ``dL/dz = dL/dŷ · ŷ(1 − ŷ) = (ŷ − y)/m``.
    Targets must be 0 or 1.
    """

    name = "binary_cross_entropy"
    canonical_activation = "sigmoid"

    def value(self, Y, Yhat, sample_weight=None):
        eps = np.finfo(Yhat.dtype).eps
        P = np.clip(Yhat, eps, 1 - eps)  # log P and log(1 − P) are finite from here on
        log_p = np.log(P)
        log_q = np.log(np.subtract(1, P, out=P), out=P)
        # y·log ŷ + (1 − y)·log(1 − ŷ) = y·(log ŷ − log(1 − ŷ)) + log(1 − ŷ)
        log_p -= log_q
        log_p *= Y
        log_p += log_q
        if sample_weight is None and log_p.shape[1] == 1:
            return -float(log_p.sum()) / log_p.shape[0]
        return -_row_mean(log_p.sum(axis=1), sample_weight)

    def gradient(self, Y, Yhat, sample_weight=None):
        eps = np.finfo(Yhat.dtype).eps
        P = np.clip(Yhat, eps, 1 - eps)
        dA = -(Y / P - (1 - Y) / (1 - P))
        return _averaged(dA, sample_weight)


class CategoricalCrossEntropy(Loss):
    """Categorical cross-entropy over ``k`` mutually exclusive classes.

    ``L = −(1/m) Σ_i Σ_k y_ik log ŷ_ik``  (``Y`` one-hot, rows of ``Ŷ`` sum to 1)

    ``dL/dŷ = −(1/m)·y/ŷ``

    Fused with the softmax, ``dL/dz = (ŷ − y)/m``: the softmax Jacobian
    ``a_k(δ_kj − a_j)`` times ``−y/ŷ`` sums to ``a_j·Σ_k y_k − y_j``, and
    ``Σ_k y_k = 1``.
    """

    name = "categorical_cross_entropy"
    canonical_activation = "softmax"

    def value(self, Y, Yhat, sample_weight=None):
        eps = np.finfo(Yhat.dtype).eps
        log_p = np.log(np.clip(Yhat, eps, 1 - eps))  # finite: no 0·log 0 to guard
        log_p *= Y
        return -_row_mean(log_p.sum(axis=1), sample_weight)

    def gradient(self, Y, Yhat, sample_weight=None):
        eps = np.finfo(Yhat.dtype).eps
        P = np.clip(Yhat, eps, 1 - eps)
        dA = -(Y / P)
        return _averaged(dA, sample_weight)


class MeanSquaredError(Loss):
    """Mean squared error over every entry (PyTorch's ``MSELoss``).

    ``L = (1/(m·k)) Σ_i Σ_k (ŷ − y)²``;  ``dL/dŷ = 2(ŷ − y)/(m·k)``.

    Fused with the identity output, ``dL/dz = dL/dŷ``.
    """

    name = "mse"
    canonical_activation = "identity"

    def value(self, Y, Yhat, sample_weight=None):
        return _row_mean(np.square(Yhat - Y).sum(axis=1), sample_weight) / Y.shape[1]

    def gradient(self, Y, Yhat, sample_weight=None):
        return self.delta(Y, Yhat, sample_weight)

    def delta(self, Y, Yhat, sample_weight=None, out=None):
        diff = np.subtract(Yhat, Y, out=out)
        scale = 2.0 / (sample_normaliser(len(Y), sample_weight) * Y.shape[1])
        return _scale_rows(diff, sample_weight, scale, diff)


class HalfSquaredError(Loss):
    """Half the squared error, summed over outputs and averaged over samples.

    ``L = (1/(2m)) Σ_i Σ_k (ŷ − y)²``;  ``dL/dŷ = (ŷ − y)/m``.

    scikit-learn's ``MLPRegressor`` optimises this ("squared error is
    halved" so the 2 of the derivative cancels). Fused with the identity
    output, ``dL/dz = dL/dŷ``.
    """

    name = "half_squared_error"
    canonical_activation = "identity"

    def value(self, Y, Yhat, sample_weight=None):
        return 0.5 * _row_mean(np.square(Yhat - Y).sum(axis=1), sample_weight)

    def gradient(self, Y, Yhat, sample_weight=None):
        return self.delta(Y, Yhat, sample_weight)


class SumSquaredError(Loss):
    """Sum of squared errors, the toy tutorial's loss (no averaging).

    ``L = Σ_i Σ_k (y − ŷ)²``;  ``dL/dŷ = 2(ŷ − y)``.

    Sample weights multiply each row's term: ``L = Σ_i w_i Σ_k (y − ŷ)²``.
    """

    name = "sse"
    canonical_activation = "identity"

    def value(self, Y, Yhat, sample_weight=None):
        per_row = np.square(Yhat - Y).sum(axis=1)
        return float(per_row.sum() if sample_weight is None else sample_weight @ per_row)

    def gradient(self, Y, Yhat, sample_weight=None):
        return self.delta(Y, Yhat, sample_weight)

    def delta(self, Y, Yhat, sample_weight=None, out=None):
        diff = np.subtract(Yhat, Y, out=out)
        return _scale_rows(diff, sample_weight, 2.0, diff)


class PoissonDeviance(Loss):
    """Half the Poisson deviance, for counts (scikit-learn's ``loss='poisson'``).

    ``L = (1/m) Σ_i Σ_k [y log(y/ŷ) − y + ŷ]``;  ``dL/dŷ = (1 − y/ŷ)/m``.

    Fused with the exp output (``ŷ = exp(z)``), ``dL/dz = (ŷ − y)/m``.
    """

    name = "poisson"
    canonical_activation = "exp"

    def value(self, Y, Yhat, sample_weight=None):
        tiny = np.finfo(Yhat.dtype).tiny
        P = np.maximum(Yhat, tiny)
        per_row = (_xlogy(Y, Y / P) - Y + P).sum(axis=1)
        return _row_mean(per_row, sample_weight)

    def gradient(self, Y, Yhat, sample_weight=None):
        tiny = np.finfo(Yhat.dtype).tiny
        dA = 1.0 - Y / np.maximum(Yhat, tiny)
        return _averaged(dA, sample_weight)


LOSSES = {
    "binary_cross_entropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
    "categorical_cross_entropy": CategoricalCrossEntropy,
    "cross_entropy": CategoricalCrossEntropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "half_squared_error": HalfSquaredError,
    "squared_error": HalfSquaredError,
    "sse": SumSquaredError,
    "sum_squared_error": SumSquaredError,
    "poisson": PoissonDeviance,
}


def get_loss(spec):
    """Return a :class:`Loss` for a name (``'binary_cross_entropy'``) or an instance."""
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, dict):
        spec = spec.get("name")
    try:
        return LOSSES[spec]()
    except (KeyError, TypeError):
        valid = ", ".join(sorted(LOSSES))
        raise ValueError(f"unknown loss {spec!r}; valid names: {valid}") from None
