"""A network: a sequence of dense layers and a loss.

Forward runs the layers in order; backward runs them in reverse, each turning
``∂L/∂(its output)`` into ``∂L/∂(its input)`` while storing the gradients of
its own ``W`` and ``b``. That reverse sweep is backpropagation: the chain rule
``∂L/∂W1 = ∂L/∂A2 · ∂A2/∂Z2 · ∂Z2/∂A1 · ∂A1/∂Z1 · ∂Z1/∂W1`` evaluated from the
loss end, one factor per line of ``Dense.backward``.

An optional L2 penalty (weights only, not biases) follows scikit-learn:
``L += α/(2m)·Σ_l ‖W_l‖²`` and so ``dW_l += (α/m)·W_l``.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .layers import Dense
from .losses import get_loss, sample_normaliser

__all__ = ["Network"]

_CANONICAL_LOSS = {
    "sigmoid": "binary_cross_entropy",
    "softmax": "categorical_cross_entropy",
    "identity": "mse",
    "exp": "poisson",
}


class Network:
    """A feed-forward network of :class:`~glassnet.layers.Dense` layers.

    Parameters
    ----------
    layers : list of Dense
        Consecutive layers must agree: ``layers[i].n_units == layers[i+1].n_inputs``.
    loss : str or Loss, optional
        Defaults to the output activation's natural partner: binary
        cross-entropy for a sigmoid, categorical cross-entropy for a softmax,
        mean squared error for the identity.
    alpha : float, default 0
        L2 penalty on the weights.

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> net = gn.Network.from_sizes([9, 15, 1], activation="relu",
    ...                             output_activation="sigmoid", seed=1)
    >>> net
    Network([9, 15, 1], activations=['relu', 'sigmoid'], loss='binary_cross_entropy')
    """

    def __init__(self, layers, loss=None, alpha=0.0):
        layers = list(layers)
        if not layers:
            raise ValueError("a Network needs at least one layer")
        for i, (lower, upper) in enumerate(pairwise(layers)):
            if lower.n_units != upper.n_inputs:
                raise ValueError(
                    f"layer {i} has {lower.n_units} units but layer {i + 1} expects "
                    f"{upper.n_inputs} inputs")
        dtypes = {layer.dtype for layer in layers}
        if len(dtypes) > 1:
            raise ValueError(f"all layers must share one dtype, got {sorted(map(str, dtypes))}")
        if loss is None:
            out_name = layers[-1].activation.name
            if out_name not in _CANONICAL_LOSS:
                raise ValueError(
                    f"no default loss for output activation {out_name!r}; pass loss=...")
            loss = _CANONICAL_LOSS[out_name]
        alpha = float(alpha)
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.layers = layers
        self.loss = get_loss(loss)
        self.alpha = alpha

    @classmethod
    def from_sizes(cls, sizes, activation="relu", output_activation="sigmoid", loss=None,
                   init="he_normal", bias=True, alpha=0.0, seed=None, dtype=np.float64):
        """Build ``len(sizes) - 1`` dense layers, e.g. ``[9, 15, 1]``.

        ``activation`` is one name for every hidden layer or a list with one
        per hidden layer; ``init`` likewise. ``seed`` (an int or a
        ``numpy.random.Generator``) makes the initial weights reproducible.
        """
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
        n_hidden = len(sizes) - 2
        activations = _per_layer(activation, n_hidden, "activation") + [output_activation]
        inits = _per_layer(init, n_hidden + 1, "init")
        rng = np.random.default_rng(seed)
        layers = [Dense(fan_in, fan_out, activation=act, init=ini, bias=bias, rng=rng, dtype=dtype)
                  for fan_in, fan_out, act, ini in zip(sizes, sizes[1:], activations, inits)]
        return cls(layers, loss=loss, alpha=alpha)

    # -- description ----------------------------------------------------------
    @property
    def sizes(self):
        return [self.layers[0].n_inputs] + [layer.n_units for layer in self.layers]

    @property
    def n_inputs(self):
        return self.layers[0].n_inputs

    @property
    def n_outputs(self):
        return self.layers[-1].n_units

    @property
    def dtype(self):
        return self.layers[0].dtype

    @property
    def output_activation(self):
        return self.layers[-1].activation

    @property
    def fused(self):
        """True when the loss's gradient fuses with the output activation into ``Ŷ − Y``."""
        return self.loss.canonical_activation == self.output_activation.name

    def __repr__(self):
        acts = [layer.activation.name for layer in self.layers]
        return f"Network({self.sizes}, activations={acts}, loss={self.loss.name!r})"

    def parameters(self):
        """``[W1, b1, W2, b2, ...]``: the live arrays, which optimisers update in place."""
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        """``[dW1, db1, ...]``, aligned with :meth:`parameters`."""
        return [g for layer in self.layers for g in layer.gradients()]

    def parameter_names(self):
        names = []
        for i, layer in enumerate(self.layers, start=1):
            names.append(f"W{i}")
            if layer.b is not None:
                names.append(f"b{i}")
        return names

    def get_weights(self):
        """A copy of every parameter array."""
        return [p.copy() for p in self.parameters()]

    def set_weights(self, weights):
        """Copy ``weights`` (as from :meth:`get_weights`) into the parameters."""
        params = self.parameters()
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f"expected {len(params)} arrays, got {len(weights)}")
        for name, p, w in zip(self.parameter_names(), params, weights):
            w = np.asarray(w)
            if w.shape != p.shape:
                raise ValueError(f"{name}: expected shape {p.shape}, got {w.shape}")
        for p, w in zip(params, weights):
            np.copyto(p, w)

    def astype(self, dtype):
        """Convert every layer to ``dtype`` (float32 or float64); returns self."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    # -- the math -------------------------------------------------------------
    def forward(self, X):
        """Run every layer, caching what backward needs; returns ``Ŷ``.

        ``X`` must already be a 2-D array of this network's dtype (the public
        entry points, :func:`glassnet.train` and the predict methods, check
        it). The result is the output layer's reused buffer.
        """
        A = X
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def forward_many(self, X, weights):
        """``Ŷ`` at ``P`` weight settings in one pass; the network's own weights are untouched.

        ``weights`` is aligned with :meth:`parameters`, every array with a
        leading axis of length ``P`` (``W1`` of shape ``(P, fan_in, fan_out)``,
        …). ``X·W`` with such a stack of ``W`` is one matrix product per
        setting, so the result has shape ``(P, m, k)``. Nothing is cached.
        """
        A = X  # (m, n0) for the first layer, then (P, m, n)
        k = 0
        for layer in self.layers:
            Z = np.matmul(A, weights[k])  # (P, m, fan_out)
            k += 1
            if layer.b is not None:
                Z += weights[k][:, None, :]
                k += 1
            A = layer.activation.forward(Z, out=Z)
        return A

    def penalty(self, normaliser, weights=None):
        """The L2 term ``α/(2N)·Σ‖W‖²`` (``N`` the number or total weight of samples).

        With ``weights`` (a stack as in :meth:`forward_many`), an array of the
        ``P`` penalties instead of the one at the current weights.
        """
        if weights is None:
            if not self.alpha:
                return 0.0
            total = sum(float(np.dot(layer.W.ravel(), layer.W.ravel())) for layer in self.layers)
            return 0.5 * self.alpha * total / normaliser
        if not self.alpha:
            return np.zeros(len(weights[0]))
        stacked_W = [w for name, w in zip(self.parameter_names(), weights) if name[0] == "W"]
        squares = sum(np.einsum("pij,pij->p", W, W) for W in stacked_W)
        return 0.5 * self.alpha * squares / normaliser

    def objective(self, Y, Yhat, sample_weight=None):
        """What training minimises: ``loss(Y, Ŷ) + α/(2N)·Σ‖W‖²`` at the current weights."""
        return self.loss.value(Y, Yhat, sample_weight) + self.penalty(
            sample_normaliser(len(Y), sample_weight))

    def backward(self, Y, sample_weight=None):
        """Backpropagate from the cached forward pass; fills every ``dW``, ``db``."""
        layers = self.layers
        out = layers[-1]
        A = out.A
        if self.fused:
            dZ = out.dZ_buffer(A.shape[0])
            self.loss.delta(Y, A, sample_weight, out=dZ)  # dL/dZ = (Ŷ − Y)·w/Σw
            dA = out.backward_from_dZ(dZ, need_input_gradient=len(layers) > 1)
        else:
            dA = self.loss.gradient(Y, A, sample_weight)  # dL/dŶ
            dA = out.backward(dA, need_input_gradient=len(layers) > 1)
        for i in range(len(layers) - 2, -1, -1):
            dA = layers[i].backward(dA, need_input_gradient=i > 0)
        if self.alpha:
            scale = self.alpha / sample_normaliser(len(A), sample_weight)
            for layer in layers:
                layer.dW += scale * layer.W  # d/dW of α/(2N)·‖W‖²

    def loss_and_gradients(self, X, Y, sample_weight=None):
        """Forward, loss, backward: returns ``L`` (penalty included), fills the gradients."""
        loss = self.objective(Y, self.forward(X), sample_weight)
        self.backward(Y, sample_weight)
        return loss

    # -- public, validated entry points ---------------------------------------
    def output(self, X):
        """``Ŷ`` for ``X`` in a new array (nothing cached)."""
        A = self.check_X(X)
        for layer in self.layers:
            A = layer.apply(A)
        return A

    predict_proba = output

    def predict(self, X, threshold=0.5):
        """Labels: 1 where ``Ŷ > threshold`` for sigmoid outputs (one per column;
        strictly greater, as scikit-learn), the arg-max for a softmax, ``Ŷ``
        itself otherwise."""
        Yhat = self.output(X)
        name = self.output_activation.name
        if name == "sigmoid":
            labels = (Yhat > threshold).astype(np.int64)
            return labels.ravel() if labels.shape[1] == 1 else labels
        if name == "softmax":
            return Yhat.argmax(axis=1)
        return Yhat.ravel() if Yhat.shape[1] == 1 else Yhat

    def compute_loss(self, X, y, sample_weight=None):
        """The loss (penalty included) at the current weights."""
        X, Y, sample_weight = self.check_data(X, y, sample_weight)
        return self.objective(Y, self.output(X), sample_weight)

    def check_X(self, X):
        """Validate ``X`` against this network and return it as a 2-D array of its dtype."""
        X = np.asarray(X)
        if X.ndim == 1 and self.n_inputs == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if X.shape[0] == 0:
            raise ValueError("X is empty: it has 0 samples (rows)")
        if X.shape[1] != self.n_inputs:
            raise ValueError(
                f"X has {X.shape[1]} features (columns) but the network's first layer "
                f"expects {self.n_inputs}")
        if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        X = np.ascontiguousarray(X, dtype=self.dtype)
        _check_finite(X, "X")
        return X

    def check_data(self, X, y, sample_weight=None):
        """Validate ``X``, the targets ``y`` and ``sample_weight`` for this network's loss.

        ``y`` may be ``(m,)`` or ``(m, k)``; for a softmax output a 1-D vector
        of class indices ``0..k-1`` is one-hot encoded. Returns arrays of the
        network's dtype.
        """
        X = self.check_X(X)
        m = X.shape[0]
        y = np.asarray(y)
        k = self.n_outputs
        if y.ndim == 1 and self.output_activation.name == "softmax" and k > 1:
            if not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0):
                raise ValueError("class labels for a softmax output must be integers 0..k-1")
            labels = y.astype(np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= k):
                raise ValueError(
                    f"class labels must be in 0..{k - 1} for a {k}-unit softmax output, "
                    f"got values from {labels.min()} to {labels.max()}")
            y = np.eye(k, dtype=self.dtype)[labels]
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != k:
            raise ValueError(f"y must have shape ({m},) or ({m}, {k}) for a network with "
                             f"{k} output(s), got {y.shape}")
        if y.shape[0] != m:
            raise ValueError(f"X has {m} rows but y has {y.shape[0]}")
        if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
            raise ValueError(f"y must be numeric, got dtype {y.dtype}")
        Y = np.ascontiguousarray(y, dtype=self.dtype)
        _check_finite(Y, "y")
        if self.loss.name in ("binary_cross_entropy", "categorical_cross_entropy"):
            bad = (Y != 0) & (Y != 1)
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise ValueError(
                    f"{self.loss.name} needs targets in {{0, 1}}, got {Y[row, col]!r} at "
                    f"row {row}" + (f", column {col}" if k > 1 else ""))
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=self.dtype)
            if sample_weight.shape != (m,):
                raise ValueError(f"sample_weight must have shape ({m},), got "
                                 f"{sample_weight.shape}")
            _check_finite(sample_weight, "sample_weight")
            if (sample_weight < 0).any() or sample_weight.sum() <= 0:
                raise ValueError("sample_weight must be >= 0 with a positive sum")
        return X, Y, sample_weight


def _check_finite(array, name, block=1 << 20):
    """Raise naming the first NaN or infinity. Checks blocks of rows, so a large
    data set never needs a full-size temporary boolean array."""
    rows = max(1, block // max(1, array[0].size if array.ndim > 1 and len(array) else 1))
    if all(np.isfinite(array[start:start + rows]).all() for start in range(0, len(array), rows)):
        return
    if not np.isfinite(array).all():
        bad = ~np.isfinite(array)
        where = np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(array[tuple(where)]) else "infinity"
        position = f"row {where[0]}" + (f", column {where[1]}" if array.ndim > 1 else "")
        raise ValueError(f"{name} contains {int(bad.sum())} non-finite value(s); the first "
                         f"is {kind} at {position}")


def _per_layer(spec, n, label):
    if isinstance(spec, (list, tuple)):
        if len(spec) != n:
            raise ValueError(f"{label} has {len(spec)} entries but the network needs {n}")
        return list(spec)
    return [spec] * n
