"""Many networks at once: K networks of one shape trained by one loop.

For the small networks glassnet is about (the tutorials' 9-15-1, 13-8-1,
3-4-1), one training step is a handful of tiny matrix products and costs
little more than NumPy's per-call floor. A search, the folds of a
cross-validation, a landscape's optimiser race and a run over several seeds
all train *many* such networks. Here K networks with the same layers (sizes,
activations, loss, dtype) but their own weights, learning rate, L2/L1,
momentum, dropout rate, random stream and rows take their steps together:
every operation of a step runs once over all K instead of K times.

**The formulas are the one-network formulas** of :mod:`glassnet.layers`,
:mod:`glassnet.losses`, :mod:`glassnet.network` and
:mod:`glassnet.optimizers`, member by member: ``Z = X·W + b``, ``A = f(Z)``,
``dZ = dA ⊙ f'(Z)``, ``dW = Xᵀ·dZ``, ``db = Σ_rows dZ``, ``dX = dZ·Wᵀ``,
batch normalisation's ``dX = (γ/s)/m · (m·dY − dβ − X̂ ⊙ dγ)``, the penalties
``α/(2N)·Σ‖W‖² + (λ/N)·Σ|W|``, each optimiser's update rule.

**The stacked layout.** Every array gains a leading axis of length K: member
``k``'s ``W`` of shape ``(fan_in, fan_out)`` is ``W[k]`` of a ``(K, fan_in,
fan_out)`` array, its bias ``b[k]`` of a ``(K, fan_out)`` one, a batch of
activations ``(K, m, width)``. ``np.matmul`` broadcasts over that axis, so
``X @ W`` is K matrix products in one call; where the members share their
rows, ``X`` stays ``(m, n_in)`` and is broadcast against every ``W[k]``.
Per-member scalars (learning rate, momentum, α, λ, the dropout scale) are
arrays of shape ``(K, 1, …)`` that broadcast the same way. Each member's
:class:`~glassnet.Network` keeps working throughout: its layers' arrays are
pointed at the member's slices (views) of the stacked arrays, so validation,
callbacks and early stopping read and restore them as usual; when a member
leaves the stack its arrays are copied back into the ones it came with.

Each member's numbers equal its own run through :class:`glassnet.Trainer`
(weights, loss curve, stop epoch, random draws) to within the rounding of
the matrix products: a stacked product may sum its terms in another order
than the one-network product (a different BLAS kernel), about 1e-16 relative
per step, which the tests bound at 1e-10 after hundreds of steps.

:func:`fit_together` is the loop (one :class:`Run` per member, each with its
own :class:`~glassnet.Trainer`: optimiser, schedule, callbacks, history,
Generator); :func:`train_together` is the convenient front end, as
:func:`glassnet.train` is for one network; :func:`stack_key` says which
members may share a stack.
"""

from __future__ import annotations

import itertools
import signal
import threading
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from .activations import Softmax
from .layers import Activation, BatchNorm, Dense, Dropout
from .losses import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    HalfSquaredError,
    MeanSquaredError,
    SumSquaredError,
)
from .optimizers import SGD, Adam, RMSProp, get_optimizer, rmsprop_step
from .schedules import get_schedule
from .training import Trainer

__all__ = ["NetworkStack", "Run", "fit_together", "stack_key", "train_together"]

#: Memory the stacked arrays of one stack may take before a caller splits it
#: (:func:`glassnet.search.make_search` does): 1 GiB.
MEMORY_BUDGET = 1 << 30


def _layer_signature(layer):
    """What must match, layer by layer, for networks to share a stack."""
    if isinstance(layer, Dense):
        return ("dense", layer.n_inputs, layer.n_units, layer.activation, layer.b is not None)
    if isinstance(layer, BatchNorm):
        return ("batch_norm", layer.n_inputs, layer.eps, layer.momentum)
    if isinstance(layer, Activation):
        return ("activation", layer.activation)
    if isinstance(layer, Dropout):
        return ("dropout",)  # the rate may differ from member to member
    raise ValueError(f"a stack takes Dense, BatchNorm, Activation and Dropout layers, got "
                     f"{layer!r}")


def network_signature(network):
    """The layers, loss and dtype: networks with equal signatures can share a stack."""
    return (tuple(_layer_signature(layer) for layer in network.layers), network.loss,
            network.dtype)


def stack_key(trainer, X):
    """Members with equal keys can be trained by one :func:`fit_together` loop:
    the network's signature, the optimiser's class, the rows per epoch and the
    batch size (the steps per epoch)."""
    n = X.shape[0]
    size = n if trainer.batch_size is None else min(int(trainer.batch_size), n)
    return (network_signature(trainer.network), type(trainer.optimizer), n, size)


# -- the stacked layers --------------------------------------------------------------------
def _stacked(arrays):
    """One ``(K, …)`` array holding ``arrays`` (one per member)."""
    return np.stack([np.asarray(a) for a in arrays])


class _Buffers:
    """Arrays reused from step to step, per batch shape (as the layers' own
    ``_buffer``): a stack's activations are large, and a fresh array of that
    size costs more in page faults than the arithmetic done in it."""

    def __init__(self):
        self._known = {}

    def get(self, name, shape, dtype):
        key = (name, tuple(shape))
        array = self._known.get(key)
        if array is None:
            if len(self._known) > 16:
                self._known.clear()
            array = self._known[key] = np.empty(shape, dtype)
        return array

    def ones(self, m, dtype):
        key = ("ones", m)
        array = self._known.get(key)
        if array is None:
            array = self._known[key] = np.ones(m, dtype)
        return array


class _DenseStack:
    """K dense layers: ``Z = X·W + b``, ``A = f(Z)`` with ``W`` ``(K, n_in, n_out)``."""

    def __init__(self, layers):
        self.layers = layers
        self.activation = layers[0].activation
        self.has_bias = layers[0].b is not None
        self.X = self.A = None
        self.buffers = _Buffers()

    def forward(self, X, training=True):
        K, n_out = self.W.shape[0], self.W.shape[2]
        A = self.buffers.get("A", (K, X.shape[-2], n_out), self.W.dtype)
        np.matmul(X, self.W, out=A)  # Z = X·W, K products (X shared or one per member)
        if self.has_bias:
            A += self.b[:, None, :]  # + b, broadcast over the rows
        self.activation.forward(A, out=A)  # A = f(Z), in place: backward needs A
        self.X, self.A = X, A
        return A

    def delta_buffer(self, shape):
        return self.buffers.get("dZ", shape, self.W.dtype)

    def backward(self, dA, need_input_gradient=True):
        dZ = self.delta_buffer(dA.shape)
        if isinstance(self.activation, Softmax):
            # dZ = A ⊙ (dA − Σ_j dA_j·A_j), row by row of every member
            row_dot = np.einsum("kij,kij->ki", dA, self.A)[..., None]
            np.multiply(np.subtract(dA, row_dot, out=dZ), self.A, out=dZ)
        else:
            self.activation.backward(dA, self.A, out=dZ)  # dZ = dA ⊙ f'(Z)
        return self.backward_from_dZ(dZ, need_input_gradient)

    def backward_from_dZ(self, dZ, need_input_gradient=True):
        X = self.X
        np.matmul(np.swapaxes(X, -1, -2), dZ, out=self.dW)  # dW = Xᵀ·dZ
        if self.has_bias:
            np.matmul(self.buffers.ones(dZ.shape[1], dZ.dtype), dZ,
                      out=self.db)  # db = Σ_rows dZ, as 1ᵀ·dZ
        if not need_input_gradient:
            return None
        K, n_in = self.W.shape[:2]
        dX = self.buffers.get("dX", (K, dZ.shape[1], n_in), dZ.dtype)
        WT = np.swapaxes(self.W, 1, 2)
        if self.W.shape[2] == 1:
            return np.multiply(dZ, WT, out=dX)  # dX = dZ·Wᵀ, an outer product here
        return np.matmul(dZ, WT, out=dX)  # dX = dZ·Wᵀ


class _BatchNormStack:
    """K batch normalisations (see :class:`glassnet.BatchNorm` for the formulas)."""

    buffer_names = ("running_mean", "running_var")

    def __init__(self, layers):
        self.layers = layers
        self.eps, self.momentum = layers[0].eps, layers[0].momentum
        self._ones = {}

    def _ones_for(self, m, dtype):
        ones = self._ones.get(m)
        if ones is None:
            ones = self._ones[m] = np.ones(m, dtype)
        return ones

    def forward(self, X, training=True):
        m = X.shape[1]
        ones = self._ones_for(m, X.dtype)
        if m < 2:
            raise ValueError(f"{self.layers[0]!r} in training mode needs at least 2 rows per "
                             f"batch, got 1")
        mean = np.matmul(ones, X) / m  # μ = (1/m)·Σ_i x_i, per member and column
        X_hat = X - mean[:, None, :]
        var = np.matmul(ones, X_hat * X_hat) / m  # σ² = (1/m)·Σ_i (x_i − μ)²
        inv_std = 1.0 / np.sqrt(var + self.eps)  # 1/s
        X_hat *= inv_std[:, None, :]
        keep = 1.0 - self.momentum
        self.running_mean *= keep
        self.running_mean += self.momentum * mean
        self.running_var *= keep
        self.running_var += (self.momentum * m / (m - 1)) * var  # unbiased σ²·m/(m − 1)
        self.X_hat, self.inv_std = X_hat, inv_std
        Y = X_hat * self.gamma[:, None, :]
        Y += self.beta[:, None, :]  # y = γ·x̂ + β
        return Y

    def backward(self, dY, need_input_gradient=True):
        m = dY.shape[1]
        ones = self._ones_for(m, dY.dtype)
        X_hat = self.X_hat
        np.matmul(ones, dY, out=self.dbeta)  # dβ = Σ_i dy_i
        dX = dY * X_hat
        np.matmul(ones, dX, out=self.dgamma)  # dγ = Σ_i dy_i·x̂_i
        if not need_input_gradient:
            return None
        scale = (self.gamma * self.inv_std)[:, None, :]  # γ/s
        # dX = (γ/s)/m · (m·dY − dβ − X̂ ⊙ dγ), as (γ/s)·(dY − (dβ + X̂ ⊙ dγ)/m)
        np.multiply(X_hat, self.dgamma[:, None, :], out=dX)
        dX += self.dbeta[:, None, :]
        dX *= -1.0 / m
        dX += dY
        dX *= scale
        return dX


class _ActivationStack:
    """K activation layers: ``A = f(Z)``, ``dZ = dA ⊙ f'(Z)``."""

    def __init__(self, layers):
        self.layers = layers
        self.activation = layers[0].activation
        self.buffers = _Buffers()

    def forward(self, Z, training=True):
        self.A = self.activation.forward(Z)
        return self.A

    def delta_buffer(self, shape):
        return self.buffers.get("dZ", shape, self.A.dtype)

    def backward(self, dA, need_input_gradient=True):
        if not need_input_gradient:
            return None
        if isinstance(self.activation, Softmax):
            row_dot = np.einsum("kij,kij->ki", dA, self.A)[..., None]
            return (dA - row_dot) * self.A
        return self.activation.backward(dA, self.A)

    def backward_from_dZ(self, dZ, need_input_gradient=True):
        return dZ if need_input_gradient else None


class _DropoutStack:
    """K dropout layers, each drawing its mask from its own member's Generator
    (the draws a one-network run makes, in the same order); ``M = [u ≥ p]/(1 − p)``,
    ``Y = X ⊙ M``, ``dX = dY ⊙ M``. A member with ``p = 0`` draws nothing."""

    def __init__(self, layers):
        self.layers = layers
        self.mask = None

    def forward(self, X, training=True):
        active = [layer for layer in self.layers if layer.p]
        if not active:
            self.mask = None
            return X
        shape = X.shape[1:]
        M = np.empty(X.shape, X.dtype)
        for k, layer in enumerate(self.layers):
            if layer.p:
                np.multiply(layer._draw_keep(shape), M.dtype.type(1.0 / (1.0 - layer.p)),
                            out=M[k])  # M = [u ≥ p]/(1 − p)
            else:
                M[k] = 1.0
        self.mask = M
        return X * M

    def backward(self, dY, need_input_gradient=True):
        if not need_input_gradient:
            return None
        return dY if self.mask is None else dY * self.mask


_STACKS = {Dense: _DenseStack, BatchNorm: _BatchNormStack, Activation: _ActivationStack,
           Dropout: _DropoutStack}


# -- the losses, per member -----------------------------------------------------------------
def _delta_scale(loss, N, n_outputs):
    """The factor of ``Ŷ − Y`` in each fused loss's ``dL/dZ`` (see :mod:`glassnet.losses`)."""
    if isinstance(loss, MeanSquaredError):
        return 2.0 / (N * n_outputs)  # 2(ŷ − y)/(N·k)
    if isinstance(loss, SumSquaredError):
        return np.full_like(N, 2.0)  # 2(ŷ − y), not averaged
    return 1.0 / N  # (ŷ − y)/N


def _row_losses(loss, Y, P):
    """Each row's loss ``(K, m)`` before the average over rows, or None when this
    loss is evaluated member by member."""
    if isinstance(loss, BinaryCrossEntropy):
        eps = np.finfo(P.dtype).eps
        P = np.clip(P, eps, 1 - eps)
        log_p = np.log(P)
        log_q = np.log(1 - P)
        # y·log ŷ + (1 − y)·log(1 − ŷ) = y·(log ŷ − log(1 − ŷ)) + log(1 − ŷ)
        log_p -= log_q
        log_p *= Y
        log_p += log_q
        return -log_p.sum(axis=-1)
    if isinstance(loss, CategoricalCrossEntropy):
        eps = np.finfo(P.dtype).eps
        log_p = np.log(np.maximum(np.minimum(P, 1 - eps), eps))
        log_p *= Y
        return -log_p.sum(axis=-1)
    if isinstance(loss, (MeanSquaredError, HalfSquaredError, SumSquaredError)):
        per_row = np.square(P - Y).sum(axis=-1)
        return 0.5 * per_row if isinstance(loss, HalfSquaredError) else per_row
    return None


# -- the network stack -------------------------------------------------------------------------
class NetworkStack:
    """K networks of one shape (see :func:`network_signature`) as stacked arrays.

    On construction every member's parameters and running statistics are
    copied into ``(K, …)`` arrays and the member's layers pointed at its
    slices; :meth:`release` copies them back into the arrays each member came
    with and points the layers there again. ``alpha`` and ``l1`` are per
    member. :meth:`loss_and_gradients` is :meth:`glassnet.Network.loss_and_gradients`
    for all K at once and returns the K losses.
    """

    def __init__(self, networks):
        networks = list(networks)
        if not networks:
            raise ValueError("a stack needs at least one network")
        signature = network_signature(networks[0])
        for i, network in enumerate(networks[1:], start=1):
            if network_signature(network) != signature:
                raise ValueError(f"network {i} differs from network 0 in its layers, loss or "
                                 f"dtype; a stack holds networks of one shape")
        self.networks = networks
        self._rows = None
        self.loss = networks[0].loss
        self.fused = networks[0].fused
        self.dtype = networks[0].dtype
        self._homes = [(net.parameters(), net.buffers()) for net in networks]
        self.layers = [_STACKS[type(layer)]([net.layers[i] for net in networks])
                       for i, layer in enumerate(networks[0].layers)]
        self._load()

    @property
    def K(self):
        return len(self.networks)

    def _load(self):
        """Stack the members' current arrays and point their layers at their slices.

        The parameters of all members live in one ``(K, P)`` buffer, member
        ``k``'s ``P`` numbers in row ``k`` in the order of
        :meth:`glassnet.Network.parameters`, and each stacked ``W`` is a
        ``(K, n_in, n_out)`` view of its columns; the gradients likewise. An
        optimiser step, the copy kept against divergence and a member leaving
        then each touch one array instead of one per layer (as
        :mod:`glassnet.flat` does for one network)."""
        networks = self.networks
        dtype = self.dtype
        self.alpha = np.array([net.alpha for net in networks], dtype)
        self.l1 = np.array([net.l1 for net in networks], dtype)
        self.flat = np.stack([np.concatenate([p.ravel() for p in net.parameters()])
                              if net.parameters() else np.empty(0, dtype) for net in networks])
        self.flat_grad = np.zeros_like(self.flat)
        for j, stacked in enumerate(self.layers):
            members = [net.layers[j] for net in networks]
            stacked.layers = members
            for name in getattr(stacked, "buffer_names", ()):
                setattr(stacked, name, _stacked([getattr(layer, name) for layer in members]))
        self._views()

    def _slots(self):
        """``(stacked layer, name, shape, offset)`` of every parameter, in order."""
        offset = 0
        for stacked, layer in zip(self.layers, self.networks[0].layers):
            for name in layer.parameter_names():
                shape = getattr(layer, name).shape
                yield stacked, name, shape, offset
                offset += int(np.prod(shape))

    def _views(self):
        """Point the stacked layers at their views of the flat buffers, and each
        member's layers at its own slices."""
        K = self.K
        self.shapes = []
        for stacked, name, shape, offset in list(self._slots()):
            size = int(np.prod(shape))
            setattr(stacked, name, self.flat[:, offset:offset + size].reshape((K, *shape)))
            setattr(stacked, "d" + name,
                    self.flat_grad[:, offset:offset + size].reshape((K, *shape)))
            self.shapes.append((shape, offset))
        self.penalised = bool(self.alpha.any() or self.l1.any())
        for k, net in enumerate(self.networks):
            for stacked, layer in zip(self.layers, net.layers):
                for name in layer.parameter_names():
                    setattr(layer, name, getattr(stacked, name)[k])
                for name in getattr(stacked, "buffer_names", ()):
                    setattr(layer, name, getattr(stacked, name)[k])

    def parameters(self):
        """The stacked parameters ``[W1, b1, …]``, each ``(K, …)``: views of :attr:`flat`."""
        return [getattr(stacked, name) for stacked, name, _, _ in self._slots()]

    def gradients(self):
        """``[dW1, db1, …]``, aligned with :meth:`parameters`: views of :attr:`flat_grad`."""
        return [getattr(stacked, "d" + name) for stacked, name, _, _ in self._slots()]

    def buffers(self):
        """The stacked running statistics."""
        return [getattr(s, name) for s in self.layers for name in getattr(s, "buffer_names", ())]

    # -- the math ------------------------------------------------------------------------------
    def forward(self, X):
        """``Ŷ`` of every member, ``(K, m, k)``; ``X`` is ``(m, n)`` (shared rows) or ``(K, m, n)``."""
        A = X
        for stacked in self.layers:
            A = stacked.forward(A)
        return A

    def objective(self, Y, Yhat, sample_weight=None):
        """Each member's loss plus its penalties, ``(K,)``."""
        N = self._normaliser(Yhat.shape[1], sample_weight)
        rows = _row_losses(self.loss, Y, Yhat)
        if rows is None:  # a loss without a stacked form: member by member
            values = np.array([self.loss.value(_member(Y, k), Yhat[k],
                                               _member(sample_weight, k, 2))
                               for k in range(self.K)])
        else:
            if sample_weight is None:
                values = rows.sum(axis=1)
            elif sample_weight.ndim == 1:
                values = rows @ sample_weight
            else:
                values = np.einsum("ki,ki->k", sample_weight, rows)
            if not isinstance(self.loss, SumSquaredError):  # SSE is a sum, not a mean
                values = values / N
            if isinstance(self.loss, MeanSquaredError):
                values = values / Y.shape[-1]  # ÷ k after the mean over rows, as alone
        return values + self.penalty(N)

    def _normaliser(self, m, sample_weight):
        """``N`` per member: the rows, or the total sample weight."""
        if sample_weight is None:
            known = self._rows
            if known is None or known.shape[0] != self.K or known[0] != m:
                known = self._rows = np.full(self.K, float(m))
            return known
        return np.broadcast_to(sample_weight.sum(axis=-1), (self.K,)).astype(np.float64)

    def penalty(self, N):
        """``α/(2N)·Σ‖W‖² + (λ/N)·Σ|W|`` over the dense layers, per member."""
        total = np.zeros(self.K)
        weights = [s.W for s in self.layers if isinstance(s, _DenseStack)]
        if not self.penalised:
            return total
        if self.alpha.any():
            total += 0.5 * self.alpha * sum(np.einsum("kij,kij->k", W, W) for W in weights)
        if self.l1.any():
            total += self.l1 * sum(np.abs(W).sum(axis=(1, 2)) for W in weights)
        return total / N

    def backward(self, Y, sample_weight=None):
        """Backpropagate every member from the cached forward pass."""
        layers = self.layers
        out = layers[-1]
        A = out.A
        N = self._normaliser(A.shape[1], sample_weight)
        if self.fused:
            dZ = np.subtract(A, Y, out=out.delta_buffer(A.shape))
            dZ *= _delta_scale(self.loss, N, A.shape[2])[:, None, None]  # (Ŷ − Y)·w/Σw
            if sample_weight is not None:
                dZ *= sample_weight[..., None]
            dA = out.backward_from_dZ(dZ, need_input_gradient=len(layers) > 1)
        elif isinstance(self.loss, (MeanSquaredError, HalfSquaredError, SumSquaredError)):
            # their dL/dŶ is the same scaled difference as the fused dL/dZ
            dA = np.subtract(A, Y)
            dA *= _delta_scale(self.loss, N, A.shape[2])[:, None, None]
            if sample_weight is not None:
                dA *= sample_weight[..., None]
            dA = out.backward(dA, need_input_gradient=len(layers) > 1)
        else:
            dA = np.stack([self.loss.gradient(_member(Y, k), A[k], _member(sample_weight, k, 2))
                           for k in range(self.K)])  # dL/dŶ, member by member
            dA = out.backward(dA, need_input_gradient=len(layers) > 1)
        for i in range(len(layers) - 2, -1, -1):
            dA = layers[i].backward(dA, need_input_gradient=i > 0)
        if self.penalised:
            for s in layers:
                if isinstance(s, _DenseStack):
                    if self.alpha.any():
                        s.dW += (self.alpha / N)[:, None, None] * s.W  # (α/N)·W
                    if self.l1.any():
                        s.dW += (self.l1 / N)[:, None, None] * np.sign(s.W)  # (λ/N)·sign(W)

    def loss_and_gradients(self, X, Y, sample_weight=None):
        """Forward, loss, backward for every member: returns the ``(K,)`` losses."""
        losses = self.objective(Y, self.forward(X), sample_weight)
        self.backward(Y, sample_weight)
        return losses

    # -- members leaving ------------------------------------------------------------------------
    def keep(self, indices):
        """Go on with the members at ``indices`` only; the others are released."""
        indices = list(indices)
        gone = [k for k in range(self.K) if k not in set(indices)]
        for k in gone:
            self._release_member(k)
        index = np.asarray(indices, dtype=np.intp)
        self.flat, self.flat_grad = self.flat[index], self.flat_grad[index]
        for stacked in self.layers:
            for name in getattr(stacked, "buffer_names", ()):
                setattr(stacked, name, getattr(stacked, name)[index])
            stacked.layers = [stacked.layers[k] for k in indices]
        self.networks = [self.networks[k] for k in indices]
        self._homes = [self._homes[k] for k in indices]
        self.alpha, self.l1 = self.alpha[index], self.l1[index]
        if self.networks:
            self._views()

    def _release_member(self, k):
        params, buffers = self._homes[k]
        net = self.networks[k]
        for home, current in zip(params + buffers, net.parameters() + net.buffers()):
            np.copyto(home, current)
        net.point_parameters_at(params)
        buffers = iter(buffers)
        for layer in net.layers:
            for name in layer.buffer_names():
                setattr(layer, name, next(buffers))

    def release(self):
        """Every member back in its own arrays, with the stack's values."""
        self.keep([])


def _member(array, k, stacked_ndim=3):
    """Member ``k``'s part of a shared array or of a stacked one (``stacked_ndim``
    dimensions: 3 for targets ``(K, m, k)``, 2 for sample weights ``(K, m)``)."""
    if array is None or array.ndim != stacked_ndim:
        return array
    return array[k]


def _own_state(optimizer, i, name, shape):
    """The optimiser's state ``name`` for parameter ``i``, when it has one of ``shape``."""
    state = optimizer.state
    if not state or i >= len(state) or name not in state[i]:
        return None
    own = state[i][name]
    return own if own.shape == shape else None


# -- the optimisers, stacked --------------------------------------------------------------------
class _StackedOptimizer:
    """The members' optimisers (one class) as one update of the stack's ``(K, P)`` buffer.

    Each rule is the class's own (see :mod:`glassnet.optimizers`), written
    with a ``(K, 1)`` column for every scalar so that each member keeps its
    own rate, momentum, β's and ε; member ``k`` with momentum 0 among members
    with momentum takes ``v ← 0·v + g = g``, its own plain step, exactly. The
    state (velocities, moments) is a ``(K, P)`` buffer like the parameters,
    handed back to each member's optimiser when it leaves, with its step
    count ``t``.
    """

    def __init__(self, optimizers, stack):
        kinds = {type(o) for o in optimizers}
        if len(kinds) != 1:
            raise ValueError(f"a stack's members need one optimiser class, got "
                             f"{sorted(k.__name__ for k in kinds)}")
        self.kind = kinds.pop()
        if not issubclass(self.kind, (SGD, RMSProp, Adam)):
            raise TypeError(f"no stacked update for {self.kind.__name__}")
        self.optimizers = list(optimizers)
        self.shapes = stack.shapes
        self.t = np.array([o.t for o in optimizers], dtype=np.int64)
        if self.kind is SGD:
            self.slots = ("velocity",) if any(o.momentum for o in optimizers) else ()
        else:
            self.slots = self.kind.slots
        self.state = {}
        flat = stack.flat
        for name in self.slots:
            rows = []
            for o in optimizers:
                row = np.zeros(flat.shape[1], flat.dtype)
                for i, (shape, offset) in enumerate(self.shapes):
                    own = _own_state(o, i, name, shape)
                    if own is not None:
                        row[offset:offset + own.size] = own.ravel()
                rows.append(row)
            self.state[name] = np.stack(rows) if rows else np.zeros_like(flat)
        self.read_settings()

    def read_rates(self):
        """The members' rates as a ``(K, 1)`` column (a schedule sets them each epoch)."""
        self.lr = np.array([float(o.lr) for o in self.optimizers])[:, None]

    def read_settings(self):
        """The members' settings as ``(K, 1)`` columns."""
        def column(name):
            return np.array([float(getattr(o, name)) for o in self.optimizers])[:, None]
        self.read_rates()
        self.weight_decay = column("weight_decay")
        self.decay = bool(self.weight_decay.any())
        if self.kind is SGD:
            self.momentum = column("momentum")
            self.nesterov = np.array([o.nesterov for o in self.optimizers])[:, None]
            self.any_nesterov = bool(self.nesterov.any())
        elif self.kind is RMSProp:
            self.rho, self.eps = column("rho"), column("eps")
        else:
            self.beta1, self.beta2, self.eps = column("beta1"), column("beta2"), column("eps")

    def step(self, p, g):
        """Update the ``(K, P)`` parameters ``p`` in place from the gradients ``g``."""
        self.t += 1
        s = self.state
        decoupled = self.kind is not SGD and self.kind is not RMSProp and self.kind.decoupled
        if self.decay and not decoupled:
            g = g + self.weight_decay * p  # coupled L2: g + λ·θ
        if self.kind is SGD:
            if self.slots:
                v = s["velocity"]
                first = (self.t == 1)[:, None]
                if self.t[0] == 1 and first.all():
                    np.copyto(v, g)  # v starts at g
                elif not first.any():
                    v *= self.momentum
                    v += g  # v ← μ·v + g
                else:
                    v_next = v * self.momentum
                    v_next += g  # v ← μ·v + g
                    np.copyto(v, np.where(first, g, v_next))
                if self.any_nesterov:
                    look = v * self.momentum
                    look += g  # g + μ·v
                    g = np.where(self.nesterov, look, v)
                else:
                    g = v
            step = g * self.lr
            np.subtract(p, step, out=p)  # θ ← θ − lr·g
        elif self.kind is RMSProp:  # RMSProp's own rule, with a column per member
            rmsprop_step(p, g, s["square_avg"], np.empty_like(g), p, self.lr, self.rho,
                         self.eps)
        else:
            if decoupled and self.decay:
                np.multiply(p, 1.0 - self.lr * self.weight_decay, out=p)  # θ·(1 − lr·λ)
            m, v = s["m"], s["v"]
            m *= self.beta1
            scratch = g * (1.0 - self.beta1)
            m += scratch  # m ← β1·m + (1 − β1)·g
            v *= self.beta2
            np.multiply(g, g, out=scratch)
            scratch *= 1.0 - self.beta2
            v += scratch  # v ← β2·v + (1 − β2)·g²
            # the folded form of Adam._update: θ ← θ − m/d, d = √v·scale + ε/k, with
            # β^t by Python's pow, as Adam.step computes it (NumPy's vector pow may
            # differ in the last bit)
            t = self.t.tolist()
            k = self.lr[:, 0] / (1.0 - np.array([b ** n for b, n in
                                                 zip(self.beta1[:, 0].tolist(), t)]))
            b2t = np.array([b ** n for b, n in zip(self.beta2[:, 0].tolist(), t)])
            with np.errstate(divide="ignore"):
                scale = np.where(k == 0.0, np.inf, 1.0 / (k * np.sqrt(1.0 - b2t)))
            frozen = scale > float(np.finfo(p.dtype).max)  # lr too small to move θ
            np.sqrt(v, out=scratch)
            scratch *= np.where(frozen, 1.0, scale)[:, None]
            scratch += np.where(frozen, 1.0, self.eps[:, 0] / np.where(k == 0.0, 1.0, k))[:, None]
            np.divide(m, scratch, out=scratch)
            if frozen.any():
                scratch[frozen] = 0.0
            np.subtract(p, scratch, out=p)  # θ ← θ − lr·m̂/(√v̂ + ε)

    def keep(self, indices):
        index = np.asarray(list(indices), dtype=np.intp)
        self.optimizers = [self.optimizers[k] for k in indices]
        self.t = self.t[index]
        self.state = {name: a[index] for name, a in self.state.items()}
        if self.optimizers:
            self.read_settings()

    def hand_back(self, k, params):
        """Member ``k``'s step count and state into its own optimiser, laid out for ``params``."""
        o = self.optimizers[k]
        o.t = int(self.t[k])
        if not o.slots:
            return
        if o._stale(params):
            o.state = o._init_state(params)
        for i, (shape, offset) in enumerate(self.shapes):
            size = int(np.prod(shape))
            for name in o.slots:
                source = self.state.get(name)
                np.copyto(o.state[i][name], 0.0 if source is None else
                          source[k, offset:offset + size].reshape(shape))


# -- the loop ----------------------------------------------------------------------------------
@dataclass
class Run:
    """One member of :func:`fit_together`: the arguments of :meth:`glassnet.Trainer.fit`.

    ``X``, ``Y`` and ``sample_weight`` are already checked (as
    :meth:`glassnet.Network.check_data` returns them). Members that pass the
    very same ``X`` object share their rows.
    """

    trainer: Trainer
    X: np.ndarray
    Y: np.ndarray
    epochs: int
    sample_weight: np.ndarray | None = None
    schedule: object = None
    validation_data: tuple | None = None


class _Member:
    """Where one member stands in the loop."""

    def __init__(self, index, run):
        self.index = index
        self.run = run
        self.trainer = run.trainer
        self.epochs_done = 0
        self.session = None
        self.result = None
        self.left_epoch = False  # stopped inside the epoch (a callback, Ctrl-C)
        self.finished = False
        self.counted = False
        # no callbacks, schedule, validation or step record: the loop keeps the
        # member's history itself, as Trainer.begin_epoch/end_epoch would
        trainer = run.trainer
        self.plain = not (trainer.callbacks or run.schedule is not None
                          or run.validation_data is not None or trainer.record_every)
        self.history, self.optimizer, self.epochs = trainer.history, trainer.optimizer, run.epochs


class _StackInterrupt:
    """Ctrl-C during :func:`fit_together`: every member stops after the current step
    (a second Ctrl-C raises)."""

    def __init__(self, members):
        self.members = members
        self.previous = None
        self.hit = False

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True
        for member in self.members:
            member.trainer._interrupted = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def fit_together(runs, catch_interrupt=True):
    """Run every :class:`Run` as :meth:`glassnet.Trainer.fit` would, all in one loop.

    Returns one entry per run: its :class:`~glassnet.History`, or the
    exception its own ``fit`` would have raised (a
    :class:`~glassnet.TrainingDivergedError` for a member whose loss became
    non-finite; that member keeps its last finite weights and leaves, the
    others go on). Every member takes its own shuffles and dropout masks from
    its trainer's and network's Generators, its own schedule, callbacks,
    validation and early stopping, exactly as alone; see the module docstring
    for the layout. The runs must share :func:`stack_key` (one shape, one
    optimiser class, the same number of rows and batch size).
    """
    runs = list(runs)
    if not runs:
        return []
    first = runs[0]
    keys = {stack_key(r.trainer, r.X) for r in runs}
    if len(keys) != 1:
        raise ValueError("fit_together needs runs of one stack_key: the same layers, loss, "
                         "dtype, optimiser class, rows and batch size")
    for r in runs:
        if not isinstance(r.X, np.ndarray):
            raise TypeError(f"fit_together needs dense X arrays, got {type(r.X).__name__}")
        if int(r.epochs) != r.epochs or r.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {r.epochs!r}")
    members = [_Member(i, r) for i, r in enumerate(runs)]
    shared = all(r.X is first.X for r in runs)
    with np.errstate(over="ignore", invalid="ignore"), \
            (_StackInterrupt(members) if catch_interrupt else nullcontext()):
        for m in members:
            trainer = m.trainer
            trainer._interrupted = False
            trainer.schedule = None if m.run.schedule is None else get_schedule(m.run.schedule)
            m.session = trainer.session(catch_interrupt=False)
            m.session.__enter__()
        loop = _Loop(members, shared)
        try:
            loop.run()
        finally:
            loop.close()
    return [m.result for m in members]


class _Loop:
    """The epochs of :func:`fit_together`: :meth:`glassnet.Trainer.fit`'s loop with
    each step taken by the stack and each member's bookkeeping its own."""

    def __init__(self, members, shared):
        self.members = list(members)  # the active ones, in stack order
        self.shared = shared
        trainers = [m.trainer for m in members]
        self.stack = NetworkStack([t.network for t in trainers])
        self.optimizer = _StackedOptimizer([t.optimizer for t in trainers], self.stack)
        self.backup = None  # the weights and statistics of the step before
        self.has_backup = np.zeros(len(members), dtype=bool)
        self.orders = None
        first = members[0].run
        n = first.X.shape[0]
        size = n if first.trainer.batch_size is None else min(int(first.trainer.batch_size), n)
        self.n, self.batch_size = n, size
        if shared:
            self.X, self.Y, self.w = first.X, first.Y, first.sample_weight
        else:
            self.X = np.stack([m.run.X for m in members])
            self.Y = np.stack([m.run.Y for m in members])
            self.w = (None if first.sample_weight is None
                      else np.stack([m.run.sample_weight for m in members]))
        self.min_rows = trainers[0].network.min_batch_rows
        self.watched = [k for k, m in enumerate(self.members) if not m.plain]
        self.totals = np.zeros(len(members))
        self.steps = self.samples = 0  # taken by every member still here

    # -- members leaving -------------------------------------------------------------------------
    def _finish(self, member, error=None):
        """The member leaves at the next :meth:`_compact`, its optimiser state handed back."""
        k = self.members.index(member)
        self.optimizer.hand_back(k, member.trainer.network.parameters())
        self._count_steps(member)
        member.result = member.trainer.history if error is None else error
        member.finished = True

    def _count_steps(self, member):
        """A plain member's steps, counted by the loop for all of them, into its history."""
        if member.plain and not member.counted:
            member.history.n_steps += self.steps
            member.history.samples_seen += self.samples
            member.counted = True

    def _compact(self):
        """Drop the members that finished: their arrays go home, their sessions end."""
        keep = [k for k, m in enumerate(self.members) if not m.finished]
        if len(keep) == len(self.members):
            return
        leaving = [m for m in self.members if m.finished]
        self.stack.keep(keep)
        self.optimizer.keep(keep)
        if self.backup is not None:
            self.backup = [b[keep] for b in self.backup]
        self.has_backup = self.has_backup[keep]
        if self.orders is not None:
            self.orders = self.orders[keep]
        if not self.shared:
            self.X, self.Y = self.X[keep], self.Y[keep]
            self.w = None if self.w is None else self.w[keep]
        self.members = [self.members[k] for k in keep]
        self.totals = self.totals[keep]
        self.watched = [k for k, m in enumerate(self.members) if not m.plain]
        for m in leaving:  # on_train_end (early stopping's restore) sees the member's own arrays
            error = m.result if isinstance(m.result, BaseException) else None
            m.session.__exit__(*((type(error), error, error.__traceback__) if error is not None
                                 else (None, None, None)))
            m.session = None

    def close(self):
        """However the loop ends, every member goes back to its own arrays."""
        for m in self.members:
            if not m.finished:
                self._finish(m)
        self._compact()

    # -- the epochs ----------------------------------------------------------------------------
    def run(self):
        epoch = 0
        while self.members:
            for m in self.members:
                m.left_epoch = False
                if not m.plain:
                    m.trainer.begin_epoch()
            if self.watched:
                self.optimizer.read_rates()  # a schedule or a callback may set them
            self.totals = np.zeros(len(self.members))
            self._epoch()
            epoch += 1
            # one full-batch step's loss is the epoch's, else the row-weighted mean
            losses = (self.totals if self.batch_size >= self.n else self.totals / self.n).tolist()
            for m, loss in zip(self.members, losses):
                if m.finished:
                    continue
                if m.plain:  # what end_epoch records when there is nothing else to do
                    history = m.history
                    history.lr.append(m.optimizer.lr)
                    history.epoch.append(len(history.epoch))
                    history.loss.append(loss)
                    if m.epochs <= epoch or m.trainer._interrupted:
                        self._finish(m)
                else:
                    self._end_epoch(m, loss)
            self._compact()

    def _end_epoch(self, m, loss):
        trainer = m.trainer
        trainer.end_epoch(loss, m.run.validation_data)
        m.epochs_done += 1
        if trainer.stop or trainer._interrupted or m.epochs_done >= m.run.epochs:
            self._finish(m)

    def _epoch(self):
        n, size = self.n, self.batch_size
        if size >= n:
            self._step(self.X, self.Y, self.w, n)
            return
        # each member's own shuffle, from its own Generator, as Trainer._run_epoch draws it
        self.orders = np.stack([m.trainer.rng.permutation(n) if m.trainer.shuffle
                                else np.arange(n) for m in self.members])
        bounds = [*range(0, n, size), n]
        if bounds[-1] - bounds[-2] < self.min_rows:
            del bounds[-2]  # a lone last row joins the batch before it
        for start, stop in itertools.pairwise(bounds):
            idx = self.orders[:, start:stop]
            if self.shared:
                Xb, Yb = self.X[idx], self.Y[idx]
                wb = None if self.w is None else self.w[idx]
            else:
                Xb = np.take_along_axis(self.X, idx[:, :, None], axis=1)
                Yb = np.take_along_axis(self.Y, idx[:, :, None], axis=1)
                wb = None if self.w is None else np.take_along_axis(self.w, idx, axis=1)
            self._step(Xb, Yb, wb, stop)
            if stop < n:
                for k, m in enumerate(self.members):
                    if not m.finished and (m.trainer.stop or m.trainer._interrupted):
                        # stopped inside the epoch (a step callback, Ctrl-C): the loss
                        # of the rows seen so far stands for the epoch, as alone
                        self._end_epoch(m, float(self.totals[k]) / stop)
                        if not m.finished:
                            self._finish(m)
                self._compact()
            if not self.members:
                return
        self.orders = None

    def _step(self, X, Y, w, stop):
        stack = self.stack
        losses = stack.loss_and_gradients(X, Y, w)
        saved = [stack.flat, *stack.buffers()]
        finite = np.isfinite(losses)
        diverged = not finite.all()
        if diverged:
            for k in np.flatnonzero(~finite):
                m = self.members[k]
                if self.has_backup[k]:  # back to the weights of the step before
                    for target, copy in zip(saved, self.backup):
                        target[k] = copy[k]
                self._count_steps(m)  # the error names the step
                self._finish(m, m.trainer.diverged(float(losses[k])))
        if self.backup is None:
            self.backup = [np.empty_like(a) for a in saved]
        for backup, a in zip(self.backup, saved):
            np.copyto(backup, a)
        self.has_backup[:] = True
        if diverged:
            self._compact()
            if not self.members:
                return
            losses = losses[finite]
        self.optimizer.step(stack.flat, stack.flat_grad)
        rows = X.shape[-2]
        # the epoch's loss so far, as Trainer._steps sums it: Σ loss·rows (or the one loss)
        self.totals = losses if rows == self.n else self.totals + losses * rows
        self.steps += 1
        self.samples += rows
        for k in self.watched:  # members with callbacks or a step record
            m = self.members[k]
            trainer, history, loss = m.trainer, m.history, float(losses[k])
            step = history.n_steps
            if trainer.record_every and step % trainer.record_every == 0:
                history.iteration.append(step)
                history.iteration_loss.append(loss)
            if trainer.callbacks:
                trainer._notify("on_step_end", step, loss)
            history.n_steps += 1
            history.samples_seen += rows


def train_together(networks, X, y, *, optimizer="sgd", lr=0.01, epochs=100, batch_size=None,
                   shuffle=True, seeds=None, schedule=None, sample_weight=None,
                   validation_data=None, callbacks=None, early_stopping=None,
                   catch_interrupt=True, **options):
    """Train ``networks`` (one shape) on the same ``(X, y)`` together, in place;
    returns one :class:`~glassnet.History` (or the exception of a member that
    diverged) per network, each the one :func:`glassnet.train` would return
    for that network alone with the same arguments.

    ``optimizer``, ``lr``, ``seeds``, ``schedule`` and ``callbacks`` may be
    one value for all or a list with one per network (``callbacks`` a list of
    lists); ``options`` go to :func:`glassnet.get_optimizer` (``momentum``, …),
    each one value or one per network.

    Examples
    --------
    Four learning rates on the minimal tutorial's XOR network, one loop:

    >>> import glassnet as gn
    >>> from glassnet.datasets import load_xor
    >>> from glassnet.stack import train_together
    >>> X, y = load_xor(return_X_y=True)
    >>> nets = [gn.Network.from_sizes([3, 4, 1], activation="sigmoid", loss="sse",
    ...                               init="uniform", bias=False, seed=1) for _ in range(4)]
    >>> histories = train_together(nets, X, y, lr=[0.1, 0.3, 1.0, 3.0], epochs=1500)
    >>> [round(h.loss[-1], 3) for h in histories]
    [0.487, 0.019, 0.003, 0.0]
    """
    from .training import EarlyStopping

    networks = list(networks)
    K = len(networks)

    def each(value, name):
        if isinstance(value, (list, tuple)):
            if len(value) != K:
                raise ValueError(f"{name} has {len(value)} entries for {K} networks")
            return list(value)
        return [value] * K

    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    data = networks[0].check_data(X, y, sample_weight)
    validation = None
    if validation_data is not None:
        validation = networks[0].check_data(*validation_data)
        validation = validation if validation[2] is not None else validation[:2]
    opts = {name: each(value, name) for name, value in options.items()}
    runs = []
    for k, (net, opt, rate, seed, sched, calls) in enumerate(zip(
            networks, each(optimizer, "optimizer"), each(lr, "lr"), each(seeds, "seeds"),
            each(schedule, "schedule"), each(callbacks, "callbacks"))):
        calls = list(calls or ())
        if early_stopping:
            calls.append(EarlyStopping(patience=early_stopping))
        made = get_optimizer(opt, lr=rate, **{name: v[k] for name, v in opts.items()})
        trainer = Trainer(net, made, batch_size=batch_size, shuffle=shuffle, rng=seed,
                          callbacks=calls)
        runs.append(Run(trainer, data[0], data[1], int(epochs), data[2], sched, validation))
    return fit_together(runs, catch_interrupt=catch_interrupt)
