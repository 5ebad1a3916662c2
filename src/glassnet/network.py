"""A network: a sequence of layers and a loss.

Forward runs the layers in order; backward runs them in reverse, each turning
``∂L/∂(its output)`` into ``∂L/∂(its input)`` while storing the gradients of
its own parameters. That reverse sweep is backpropagation: the chain rule
``∂L/∂W1 = ∂L/∂A2 · ∂A2/∂Z2 · ∂Z2/∂A1 · ∂A1/∂Z1 · ∂Z1/∂W1`` evaluated from the
loss end, one factor per line of ``Dense.backward``.

Penalties on the dense layers' weights (not the biases, not batch
normalisation's ``γ`` and ``β``), with ``N`` the number (or total weight) of
the samples in the batch:

- L2, scikit-learn's ``alpha``: ``L += α/(2N)·Σ_l ‖W_l‖²``, so
  ``dW_l += (α/N)·W_l``;
- L1, ``l1``: ``L += (λ/N)·Σ_l Σ_ij |W_l,ij|``. ``|w|`` has no derivative
  at 0; its subgradient ``sign(w)`` (with ``sign(0) = 0``) gives
  ``dW_l += (λ/N)·sign(W_l)``. It pulls every weight towards 0 by the same
  amount whatever its size, so weights that matter little end up at zero
  (with gradient steps, within about one step of it) where L2 only shrinks
  every weight in proportion.

Modes. ``network.train()`` and ``network.eval()`` switch every layer between
training behaviour (dropout drops units, batch normalisation uses and updates
the batch statistics) and evaluation behaviour (dropout is the identity, batch
normalisation uses its running statistics). The mode governs :meth:`Network.forward`
and so :meth:`~Network.loss_and_gradients` and :func:`glassnet.gradient_check`;
:func:`glassnet.train` runs its steps in training mode and its held-out
evaluations in evaluation mode. The prediction methods (``output``,
``predict_proba``, ``predict``, ``compute_loss``) are inference: they always
behave as in evaluation mode, whatever the mode. A new network is in training
mode, as in PyTorch.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .flat import pack, span
from .layers import Activation, BatchNorm, Dense, Dropout
from .losses import get_loss, sample_normaliser

__all__ = ["Network"]

_CANONICAL_LOSS = {
    "sigmoid": "binary_cross_entropy",
    "softmax": "categorical_cross_entropy",
    "identity": "mse",
    "exp": "poisson",
}


class Network:
    """A feed-forward network of layers (:mod:`glassnet.layers`).

    Parameters
    ----------
    layers : list of layers
        :class:`~glassnet.layers.Dense`, :class:`~glassnet.layers.BatchNorm`,
        :class:`~glassnet.layers.Activation`, :class:`~glassnet.layers.Dropout`.
        Widths must agree (a layer with ``n_inputs`` must receive that many
        features); the last layer must carry the output activation (a
        ``Dense`` or an ``Activation``).
    loss : str or Loss, optional
        Defaults to the output activation's natural partner: binary
        cross-entropy for a sigmoid, categorical cross-entropy for a softmax,
        mean squared error for the identity.
    alpha : float, default 0
        L2 penalty on the dense layers' weights.
    l1 : float, default 0
        L1 penalty on the dense layers' weights.
    seed : int or numpy.random.Generator, optional
        The network's Generator, ``rng``: the source of every dropout mask
        (each :class:`~glassnet.layers.Dropout` built without its own).

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> net = gn.Network.from_sizes([9, 15, 1], activation="relu",
    ...                             output_activation="sigmoid", seed=1)
    >>> net.summary()
    Network: 9 inputs -> 1 output, loss binary_cross_entropy, training mode
     #  layer                               output   parameters  arrays
     1  Dense(9, 15, activation='relu')     (m, 15)         150  W1, b1
     2  Dense(15, 1, activation='sigmoid')  (m, 1)           16  W2, b2
    trainable parameters: 166
    """

    def __init__(self, layers, loss=None, alpha=0.0, l1=0.0, seed=None):
        layers = list(layers)
        if not layers:
            raise ValueError("a Network needs at least one layer")
        width = n_inputs = None
        owner = None
        for i, layer in enumerate(layers):
            if layer.n_inputs is not None:
                if width is not None and layer.n_inputs != width:
                    raise ValueError(f"layer {owner} has {width} units but layer {i} expects "
                                     f"{layer.n_inputs} inputs")
                if n_inputs is None:
                    n_inputs = layer.n_inputs
            if layer.n_units is not None:
                width, owner = layer.n_units, i
        if n_inputs is None:
            raise ValueError("a Network needs a layer that fixes the input width (a Dense or "
                             "BatchNorm layer)")
        if not hasattr(layers[-1], "activation"):
            raise ValueError(f"the last layer must be a Dense or Activation layer (it sets the "
                             f"output activation and the default loss), got {layers[-1]!r}")
        dtypes = {layer.dtype for layer in layers if layer.dtype is not None}
        if len(dtypes) > 1:
            raise ValueError(f"all layers must share one dtype, got {sorted(map(str, dtypes))}")
        if loss is None:
            out_name = layers[-1].activation.name
            if out_name not in _CANONICAL_LOSS:
                raise ValueError(
                    f"no default loss for output activation {out_name!r}; pass loss=...")
            loss = _CANONICAL_LOSS[out_name]
        alpha, l1 = float(alpha), float(l1)
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if not l1 >= 0:
            raise ValueError(f"l1 must be >= 0, got {l1}")
        self.layers = layers
        self.loss = get_loss(loss)
        self.alpha = alpha
        self.l1 = l1
        self._n_inputs, self._n_outputs = n_inputs, width
        self._dense = [layer for layer in layers if isinstance(layer, Dense)]
        # made on first use when unseeded: seeding from the OS takes ~25 µs, which
        # would double the cost of a one-row prediction through the estimators
        self._rng = None if seed is None else np.random.default_rng(seed)
        for layer in layers:
            if isinstance(layer, Dropout) and layer.rng is None:
                layer.rng = self.rng
        self.train()

    @classmethod
    def from_sizes(cls, sizes, activation="relu", output_activation="sigmoid", loss=None,
                   init="he_normal", bias=True, alpha=0.0, l1=0.0, dropout=0.0,
                   batch_norm=False, seed=None, dtype=np.float64):
        """Build ``len(sizes) - 1`` dense layers, e.g. ``[9, 15, 1]``.

        ``activation`` is one name for every hidden layer or a list with one
        per hidden layer; ``init`` and ``dropout`` likewise. ``seed`` (an int
        or a ``numpy.random.Generator``) makes the initial weights and the
        dropout masks reproducible.

        Each hidden layer becomes ``Dense → f`` or, with ``batch_norm=True``,
        ``Dense (no bias) → BatchNorm → Activation(f)``: normalisation
        subtracts the batch mean, so a bias before it would do nothing that
        ``β`` does not. With ``dropout > 0`` a ``Dropout(dropout)`` follows.
        The output layer is a plain ``Dense`` with ``output_activation``.
        """
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
        n_hidden = len(sizes) - 2
        activations = _per_layer(activation, n_hidden, "activation") + [output_activation]
        inits = _per_layer(init, n_hidden + 1, "init")
        dropouts = _per_layer(dropout, n_hidden, "dropout")
        rng = np.random.default_rng(seed)
        layers = []
        for i, (fan_in, fan_out) in enumerate(pairwise(sizes)):
            hidden = i < n_hidden
            if hidden and batch_norm:
                layers += [Dense(fan_in, fan_out, activation="identity", init=inits[i],
                                 bias=False, rng=rng, dtype=dtype),
                           BatchNorm(fan_out, dtype=dtype), Activation(activations[i])]
            else:
                layers.append(Dense(fan_in, fan_out, activation=activations[i], init=inits[i],
                                    bias=bias, rng=rng, dtype=dtype))
            if hidden and dropouts[i]:
                layers.append(Dropout(dropouts[i]))
        return cls(layers, loss=loss, alpha=alpha, l1=l1, seed=rng).pack()

    # -- description ----------------------------------------------------------
    @property
    def rng(self):
        """The network's ``numpy.random.Generator``: the dropout layers' source of masks."""
        if self._rng is None:
            self._rng = np.random.default_rng()
        return self._rng

    @property
    def sizes(self):
        """The input width, then each dense layer's width: ``[9, 15, 1]``."""
        return [self.n_inputs] + [layer.n_units for layer in self._dense]

    @property
    def n_inputs(self):
        return self._n_inputs

    @property
    def n_outputs(self):
        return self._n_outputs

    @property
    def dtype(self):
        return next(layer.dtype for layer in self.layers if layer.dtype is not None)

    @property
    def output_activation(self):
        return self.layers[-1].activation

    @property
    def fused(self):
        """True when the loss's gradient fuses with the output activation into ``Ŷ − Y``."""
        return self.loss.canonical_activation == self.output_activation.name

    @property
    def min_batch_rows(self):
        """The fewest rows a training batch may have: 2 with batch normalisation, else 1."""
        return 2 if any(isinstance(layer, BatchNorm) for layer in self.layers) else 1

    def summary(self, print_fn=print):
        """Print a table of the layers: output shape, parameter count and the
        names of their arrays (as :meth:`parameter_names` and model files use
        them), then the totals. ``m`` is the number of rows."""
        for line in self._summary_lines():
            print_fn(line)

    def __repr__(self):
        return "\n".join(self._summary_lines())

    def _summary_lines(self):
        outputs = "1 output" if self.n_outputs == 1 else f"{self.n_outputs} outputs"
        head = (f"Network: {self.n_inputs} inputs -> {outputs}, loss {self.loss.name}"
                + (f", L2 alpha {self.alpha:g}" if self.alpha else "")
                + (f", L1 {self.l1:g}" if self.l1 else "")
                + f", {'training' if self.training else 'evaluation'} mode")
        rows = [("#", "layer", "output", "parameters", "arrays")]
        width = self.n_inputs
        trainable = state = 0
        for i, layer in enumerate(self.layers, start=1):
            width = layer.n_units or width
            n_params = sum(p.size for p in layer.parameters())
            n_state = sum(b.size for b in layer.buffers())
            trainable += n_params
            state += n_state
            count = f"{n_params:,}" + (f" + {n_state:,} state" if n_state else "")
            names = [f"{name}{i}" for name in layer.parameter_names() + layer.buffer_names()]
            rows.append((str(i), repr(layer), f"(m, {width})", count, ", ".join(names) or "-"))
        widths = [max(len(row[k]) for row in rows) for k in range(5)]
        lines = [head]
        for row in rows:
            cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                     row[3].rjust(widths[3]), row[4].ljust(widths[4])]
            lines.append((" " + "  ".join(cells)).rstrip())
        total = f"trainable parameters: {trainable:,}"
        if state:
            total += f"; state: {state:,} running statistics (not trained)"
        lines.append(total)
        return lines

    # -- modes ----------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (or evaluation mode with ``mode=False``) for every layer; returns self."""
        self.training = bool(mode)
        for layer in self.layers:
            layer.training = self.training
        return self

    def eval(self):
        """Evaluation mode: dropout off, batch normalisation on running statistics; returns self."""
        return self.train(False)

    # -- parameters and state -------------------------------------------------
    def parameters(self):
        """``[W1, b1, W2, b2, ...]``: the live arrays, which optimisers update.

        Within an epoch of :meth:`glassnet.Trainer.run_epoch` the layers may
        be pointed at a second buffer from step to step (see
        :meth:`glassnet.Trainer.step`): ask again rather than keep the list.
        """
        return [p for layer in self.layers for p in layer.parameters()]

    def point_parameters_at(self, arrays):
        """Make ``arrays`` (one per :meth:`parameters`, same shapes) the layers'
        parameter arrays, values and all; the training loop's two buffers
        take turns this way (see :meth:`glassnet.Trainer.step`)."""
        arrays = iter(arrays)
        for layer in self.layers:
            for name in layer.parameter_names():
                setattr(layer, name, next(arrays))

    def gradients(self):
        """``[dW1, db1, ...]``, aligned with :meth:`parameters`."""
        return [g for layer in self.layers for g in layer.gradients()]

    def parameter_names(self):
        """``['W1', 'b1', ...]``: each array's name followed by its layer's position (from 1)."""
        return [f"{name}{i}" for i, layer in enumerate(self.layers, start=1)
                for name in layer.parameter_names()]

    def buffers(self):
        """The live non-trainable state arrays (batch normalisation's running statistics)."""
        return [b for layer in self.layers for b in layer.buffers()]

    def buffer_names(self):
        """``['running_mean2', 'running_var2', ...]``, aligned with :meth:`buffers`."""
        return [f"{name}{i}" for i, layer in enumerate(self.layers, start=1)
                for name in layer.buffer_names()]

    def get_weights(self):
        """A copy of every parameter array."""
        return [p.copy() for p in self.parameters()]

    def set_weights(self, weights):
        """Copy ``weights`` (as from :meth:`get_weights`) into the parameters."""
        _copy_into(self.parameter_names(), self.parameters(), list(weights))

    def state_dict(self):
        """Copies of every parameter and buffer, by name: all that predictions depend on."""
        names = self.parameter_names() + self.buffer_names()
        return {name: a.copy() for name, a in zip(names, self.parameters() + self.buffers())}

    def load_state_dict(self, arrays):
        """Copy the arrays of :meth:`state_dict` (or a model file) into the network."""
        names = self.parameter_names() + self.buffer_names()
        missing = [name for name in names if name not in arrays]
        unknown = sorted(set(arrays) - set(names))
        if missing or unknown:
            raise ValueError(f"state does not match the network: missing {missing or 'none'}, "
                             f"unexpected {unknown or 'none'}")
        _copy_into(names, self.parameters() + self.buffers(), [arrays[n] for n in names])

    def astype(self, dtype):
        """Convert every layer to ``dtype`` (float32 or float64), laid out as
        :meth:`pack` lays them; returns self."""
        for layer in self.layers:
            layer.astype(dtype)
        return self.pack()

    def pack(self, parameters=True, gradients=True):
        """Lay the parameters end to end in one buffer, and the gradients in
        another (see :mod:`glassnet.flat`); returns self.

        The values are kept; each layer's arrays (``W``, ``b``, ``dW``, …)
        become views of the new buffers, so an array taken from a layer
        before is no longer that layer's. An optimiser then updates every
        parameter with a few whole-buffer operations per step instead of a
        few per array. :meth:`from_sizes` and :meth:`astype` pack; the
        scikit-learn estimators lay out their own ``coefs_`` and
        ``intercepts_`` and pack only the gradients (``parameters=False``).
        Already-packed arrays are left alone.
        """
        owners = [(layer, name) for layer in self.layers for name in layer.parameter_names()]
        for wanted, prefix in ((parameters, ""), (gradients, "d")):
            if not wanted or not owners:
                continue
            arrays = [getattr(layer, prefix + name) for layer, name in owners]
            if any(a is None for a in arrays) or span(arrays) is not None:
                continue
            _, views = pack(arrays)
            for (layer, name), view in zip(owners, views):
                setattr(layer, prefix + name, view)
        return self

    # -- the math -------------------------------------------------------------
    def forward(self, X):
        """Run every layer in the current mode, caching what backward needs; returns ``Ŷ``.

        ``X`` must already be a 2-D array of this network's dtype (the public
        entry points, :func:`glassnet.train` and the predict methods, check
        it). The result is the output layer's reused buffer.
        """
        A = X
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def forward_many(self, X, weights):
        """``Ŷ`` at ``P`` weight settings in one pass, in evaluation mode; the network's
        own weights are untouched and nothing is cached.

        ``weights`` is aligned with :meth:`parameters`, every array with a
        leading axis of length ``P`` (``W1`` of shape ``(P, fan_in, fan_out)``,
        …). ``X·W`` with such a stack of ``W`` is one matrix product per
        setting, so the result has shape ``(P, m, k)``. Batch normalisation uses
        its running statistics with each setting's ``γ`` and ``β``; dropout is
        the identity.
        """
        A = np.broadcast_to(X, (len(weights[0]), *X.shape))  # the same rows for every setting
        for layer, own in self._stacked(weights):
            if isinstance(layer, Dense):
                A = np.matmul(A, own[0])  # (P, m, fan_out)
                if layer.b is not None:
                    A += own[1][:, None, :]
                A = layer.activation.forward(A, out=A)
            elif isinstance(layer, BatchNorm):
                gamma, beta = own
                scale = gamma / np.sqrt(layer.running_var + layer.eps)  # γ/s, (P, n)
                A = (A - layer.running_mean) * scale[:, None, :] + beta[:, None, :]
            elif isinstance(layer, Activation):
                A = layer.activation.forward(A)  # a new array
        return A

    def _stacked(self, weights):
        """``(layer, its arrays)`` for a list aligned with :meth:`parameters`."""
        k = 0
        for layer in self.layers:
            n = len(layer.parameters())
            yield layer, weights[k:k + n]
            k += n

    def penalty(self, normaliser, weights=None):
        """``α/(2N)·Σ‖W‖² + (λ/N)·Σ|W|`` over the dense layers (``N`` the number or
        total weight of samples).

        With ``weights`` (a stack as in :meth:`forward_many`), an array of the
        ``P`` penalties instead of the one at the current weights.
        """
        if weights is not None:
            stacked = [own[0] for layer, own in self._stacked(weights) if isinstance(layer, Dense)]
            total = np.zeros(len(weights[0]))
            if self.alpha:
                total += 0.5 * self.alpha * sum(np.einsum("pij,pij->p", W, W) for W in stacked)
            if self.l1:
                total += self.l1 * sum(np.abs(W).sum(axis=(1, 2)) for W in stacked)
            return total / normaliser
        total = 0.0
        if self.alpha:
            total += 0.5 * self.alpha * sum(float(np.dot(layer.W.ravel(), layer.W.ravel()))
                                            for layer in self._dense)
        if self.l1:
            total += self.l1 * sum(float(np.abs(layer.W).sum()) for layer in self._dense)
        return total / normaliser if total else 0.0

    def objective(self, Y, Yhat, sample_weight=None):
        """What training minimises: ``loss(Y, Ŷ)`` plus the penalties, at the current weights."""
        return self.loss.value(Y, Yhat, sample_weight) + self.penalty(
            sample_normaliser(len(Y), sample_weight))

    def backward(self, Y, sample_weight=None):
        """Backpropagate from the cached forward pass; fills every layer's gradients."""
        layers = self.layers
        out = layers[-1]
        A = out.A
        if self.fused:
            dZ = out.delta_buffer(A.shape)
            self.loss.delta(Y, A, sample_weight, out=dZ)  # dL/dZ = (Ŷ − Y)·w/Σw
            dA = out.backward_from_dZ(dZ, need_input_gradient=len(layers) > 1)
        else:
            dA = self.loss.gradient(Y, A, sample_weight)  # dL/dŶ
            dA = out.backward(dA, need_input_gradient=len(layers) > 1)
        for i in range(len(layers) - 2, -1, -1):
            dA = layers[i].backward(dA, need_input_gradient=i > 0)
        if self.alpha or self.l1:
            normaliser = sample_normaliser(len(A), sample_weight)
            for layer in self._dense:
                if self.alpha:
                    layer.dW += (self.alpha / normaliser) * layer.W  # d/dW of α/(2N)·‖W‖²
                if self.l1:
                    layer.dW += (self.l1 / normaliser) * np.sign(layer.W)  # (λ/N)·sign(W)

    def loss_and_gradients(self, X, Y, sample_weight=None):
        """Forward, loss, backward: returns ``L`` (penalty included), fills the gradients."""
        loss = self.objective(Y, self.forward(X), sample_weight)
        self.backward(Y, sample_weight)
        return loss

    # -- public, validated entry points ---------------------------------------
    def output(self, X):
        """``Ŷ`` for ``X`` in a new array: inference (evaluation behaviour whatever the
        mode: no dropout, batch normalisation on running statistics), nothing cached."""
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
        """The loss (penalty included) at the current weights, as inference sees it."""
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


def _copy_into(names, targets, arrays):
    """Copy ``arrays`` into ``targets`` after checking their number and shapes (all or nothing)."""
    if len(arrays) != len(targets):
        raise ValueError(f"expected {len(targets)} arrays, got {len(arrays)}")
    arrays = [np.asarray(a) for a in arrays]
    for name, target, a in zip(names, targets, arrays):
        if a.shape != target.shape:
            raise ValueError(f"{name}: expected shape {target.shape}, got {a.shape}")
    for target, a in zip(targets, arrays):
        np.copyto(target, a)


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
