"""Layers: each one's forward pass, and its backward pass by the chain rule.

Samples are rows. Every layer maps a batch of shape ``(m, n_in)`` to one of
shape ``(m, n_out)`` and follows one small interface:

``forward(X)``
    the output, caching what ``backward`` needs (it follows the layer's
    ``training`` flag, set by ``Network.train()`` / ``Network.eval()``);
``backward(dY)``
    given ``dY = ∂L/∂(output)``, store the gradients of the layer's own
    parameters and return ``dX = ∂L/∂(input)`` for the layer below;
``apply(X)``
    inference: the output in a new array, nothing cached, always in
    evaluation mode;
``parameters()`` / ``gradients()`` / ``parameter_names()``
    the trainable arrays (updated in place by optimisers), their gradients
    and their short names (``W``, ``b``, ``gamma``, ``beta``);
``buffers()`` / ``buffer_names()``
    state that is not trained by gradients but changes predictions
    (``BatchNorm``'s running statistics);
``config()``
    plain data from which the layer is rebuilt (model files).

The layers:

:class:`Dense`
    ``Z = X·W + b``, ``A = f(Z)``, the activation inside (``'identity'`` for
    none).
:class:`BatchNorm`
    normalise each feature over the batch, then scale and shift.
:class:`Activation`
    ``A = f(Z)`` on its own, for stacks such as
    ``Dense → BatchNorm → Activation → Dropout``.
:class:`Dropout`
    inverted dropout: drop units at random in training, the identity at
    inference.

The dense layer, in detail. For a batch ``X`` of shape ``(m, n_in)``::

    Z = X·W + b          W: (n_in, n_out), b: (n_out,), Z: (m, n_out)
    A = f(Z)

Backward, given ``dA = ∂L/∂A`` from the layer above (or ``dZ`` directly when
the loss is fused with the output activation)::

    dZ = dA ⊙ f'(Z)       element-wise chain rule through the activation
    dW = Xᵀ·dZ            (n_in, m)·(m, n_out): every sample's outer product, summed
    db = Σ_rows dZ        the bias is added to every row, so its gradient sums them
    dX = dZ·Wᵀ            handed down to the layer below as its dA

The first tutorial writes the same layer with samples as columns,
``Z = W·X + b``; its ``W`` is this ``Wᵀ`` and its ``X`` is this ``Xᵀ``. Its
``dW = (1/m)·dZ·Xᵀ`` is the transpose of ``Xᵀ·dZ`` here, where the ``1/m`` is
already inside ``dZ`` (see ``losses.py``).
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .initializers import get_initializer

__all__ = ["Activation", "BatchNorm", "Dense", "Dropout", "Layer", "layer_from_config"]


def _is_dense_array(X):
    return isinstance(X, np.ndarray)


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


class Layer:
    """What every layer has; subclasses override what applies to them.

    ``n_inputs`` and ``n_units`` are the widths in and out; ``None`` means
    the layer takes any width and keeps it (:class:`Activation`,
    :class:`Dropout`). ``training`` selects the training or the evaluation
    behaviour of :meth:`forward`; :class:`~glassnet.Network` sets it on every
    layer with ``train()`` and ``eval()``.
    """

    n_inputs = None
    n_units = None
    dtype = None
    training = True

    def parameters(self):
        return []

    def gradients(self):
        return []

    def parameter_names(self):
        return []

    def buffers(self):
        return []

    def buffer_names(self):
        return []

    def astype(self, dtype):
        return self

    _cached = ()  # attributes holding the last batch: not state, dropped by copies

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_buffers"] = {}
        state.update(dict.fromkeys(self._cached))
        return state


def _order_for(width):
    """The memory order of a layer's ``(m, width)`` batch buffers: column-major
    ("F") for narrow layers, row-major ("C") from 64 units on (see
    :meth:`Dense._buffer`). Arrays that meet in one operation share it."""
    return "C" if width >= 64 else "F"


def _scratch_buffers(layer, shape, count, dtype):
    """``count`` reused arrays of ``shape`` for ``layer``, kept per batch shape.

    As for :meth:`Dense._buffer`: training repeats the same few batch shapes,
    so each layer allocates once per shape instead of once per step. The
    arrays are laid out like the dense layer's of the same width.
    """
    key = (shape, np.dtype(dtype))
    buffers = layer._buffers.get(key)
    if buffers is None:
        if len(layer._buffers) > 4:
            layer._buffers.clear()
        order = _order_for(shape[-1])
        buffers = tuple(np.empty(shape, dtype, order=order) for _ in range(count))
        layer._buffers[key] = buffers
    return buffers


class Dense(Layer):
    """A fully connected layer ``A = f(X·W + b)``.

    Parameters
    ----------
    n_inputs, n_units : int
        ``fan_in`` and ``fan_out``; ``W`` has shape ``(n_inputs, n_units)``.
    activation : str or Activation, default 'relu'
        See :mod:`glassnet.activations`.
    init : str or callable, default 'he_normal'
        See :mod:`glassnet.initializers`.
    bias : bool, default True
        ``False`` gives the toy tutorial's bias-free layer (``b`` is ``None``).
    rng : numpy.random.Generator or int or None
        Source of the initial weights.
    dtype : float64 or float32

    Attributes
    ----------
    W, b : numpy.ndarray
        The parameters, of shapes ``(n_inputs, n_units)`` and ``(n_units,)``.
    dW, db : numpy.ndarray
        Their gradients after ``backward``.
    """

    _cached = ("X", "A")

    def __init__(self, n_inputs, n_units, activation="relu", init="he_normal", bias=True,
                 rng=None, dtype=np.float64):
        for label, value in (("n_inputs", n_inputs), ("n_units", n_units)):
            if int(value) != value or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        self.activation = get_activation(activation)
        dtype = _check_dtype(dtype)
        rng = np.random.default_rng(rng)
        self.W = np.ascontiguousarray(get_initializer(init)(int(n_inputs), int(n_units), rng, dtype))
        self.b = np.zeros(int(n_units), dtype=dtype) if bias else None
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b) if bias else None
        self._buffers = {}
        self.X = self.A = None

    @classmethod
    def from_arrays(cls, W, b=None, activation="relu", gradients=True):
        """A layer around existing arrays (no copy): ``W`` ``(n_in, n_out)``, ``b`` ``(n_out,)``.

        Updating the layer updates these arrays; the scikit-learn estimators
        use this so that ``coefs_[i]`` *is* layer ``i``'s ``W`` (between
        epochs: within one the training loop may point the layer at a second
        buffer, see :meth:`glassnet.Trainer.step`). With
        ``gradients=False`` no ``dW``/``db`` arrays are allocated: enough for
        prediction, which only calls :meth:`apply`.
        """
        layer = cls.__new__(cls)
        layer.activation = get_activation(activation)
        layer.W = W
        layer.b = b
        layer.dW = np.empty_like(W) if gradients else None
        layer.db = None if b is None or not gradients else np.empty_like(b)
        layer._buffers = {}
        layer.X = layer.A = None
        return layer

    # -- shape and parameters -------------------------------------------------
    @property
    def n_inputs(self):
        return self.W.shape[0]

    @property
    def n_units(self):
        return self.W.shape[1]

    @property
    def dtype(self):
        return self.W.dtype

    def parameters(self):
        """``[W, b]`` (or ``[W]`` without bias): the arrays themselves, updated in place."""
        return [self.W] if self.b is None else [self.W, self.b]

    def gradients(self):
        """``[dW, db]``, aligned with :meth:`parameters`."""
        return [self.dW] if self.b is None else [self.dW, self.db]

    def parameter_names(self):
        return ["W"] if self.b is None else ["W", "b"]

    def config(self):
        return {"type": "dense", "n_inputs": self.n_inputs, "n_units": self.n_units,
                "activation": self.activation.config(), "bias": self.b is not None}

    def astype(self, dtype):
        """Convert parameters (and gradients) to ``dtype`` in place of the old arrays."""
        dtype = np.dtype(dtype)
        self.W = self.W.astype(dtype)
        self.dW = self.dW.astype(dtype)
        if self.b is not None:
            self.b = self.b.astype(dtype)
            self.db = self.db.astype(dtype)
        self._buffers = {}
        return self

    def __repr__(self):
        bias = "" if self.b is not None else ", bias=False"
        return (f"Dense({self.n_inputs}, {self.n_units}, activation={self.activation.name!r}"
                f"{bias})")

    # -- forward and backward -------------------------------------------------
    def _buffer(self, m):
        """Reused ``(A, dZ, dX, ones)`` buffers for a batch of ``m`` rows.

        Training calls forward/backward thousands of times on the same batch
        shapes (the full batch, or a mini-batch and the last partial one), so
        allocating once per shape removes every per-step allocation.

        A narrow layer's ``(m, n)`` buffers are column-major (Fortran order):
        each unit's ``m`` values are contiguous, the memory layout of the first
        tutorial's samples-as-columns ``Z = W·X + b``, so the element-wise work
        on a 683 x 15 array runs along 683 contiguous values instead of 15. A
        wide layer's (64 units or more) are row-major: there the rows are long
        enough, and OpenBLAS multiplies into row-major arrays faster (on the
        MNIST-shaped step, about 85 µs of its 1.4 ms of matrix products). The
        ``dX`` buffer goes down to the layer below and is row-major when that
        layer's are: an element-wise operation on a row-major and a
        column-major array runs about five times slower than on two of one
        layout (the ReLU derivative below a 10-unit softmax layer took 70 µs
        instead of 15). The results are the same either way; see
        :func:`_order_for`.
        """
        buffers = self._buffers.get(m)
        if buffers is None:
            if len(self._buffers) > 4:
                self._buffers.clear()
            shape, order = (m, self.n_units), _order_for(self.n_units)
            buffers = (np.empty(shape, self.dtype, order=order),
                       np.empty(shape, self.dtype, order=order),
                       # dX goes down to the layer below: laid out like its
                       # buffers when those are row-major (a product into a
                       # column-major dX is slower, so a narrow layer below
                       # gets this layer's layout, as before)
                       np.empty((m, self.n_inputs), self.dtype,
                                order="C" if _order_for(self.n_inputs) == "C" else order),
                       np.ones(m, self.dtype))
            self._buffers[m] = buffers
        return buffers

    def forward(self, X):
        """``A = f(X·W + b)``, caching ``X`` and ``A`` for :meth:`backward`.

        The returned array is a buffer this layer reuses: it stays valid until
        the next ``forward`` with the same number of rows. Use :meth:`apply`
        for a fresh array.
        """
        A = self._buffer(X.shape[0])[0]
        if _is_dense_array(X):
            np.matmul(X, self.W, out=A)  # Z = X·W
        else:  # scipy.sparse input: sparse @ dense gives a dense array
            np.copyto(A, X @ self.W)
        if self.b is not None:
            A += self.b  # Z = X·W + b, broadcast over rows
        self.activation.forward(A, out=A)  # A = f(Z), in place: backward needs A, not Z
        self.X, self.A = X, A
        return A

    def delta_buffer(self, shape):
        """The reused ``dZ`` array for a batch of this shape (the fused loss writes into it)."""
        return self._buffer(shape[0])[1]

    def backward(self, dA, need_input_gradient=True):
        """Given ``dA = ∂L/∂A``, store ``dW``, ``db`` and return ``dX = dZ·Wᵀ``."""
        dZ = self._buffer(dA.shape[0])[1]
        self.activation.backward(dA, self.A, out=dZ)  # dZ = dA ⊙ f'(Z)
        return self.backward_from_dZ(dZ, need_input_gradient)

    def backward_from_dZ(self, dZ, need_input_gradient=True):
        """Given ``dZ = ∂L/∂Z``: ``dW = Xᵀ·dZ``, ``db = Σ_rows dZ``, return ``dX = dZ·Wᵀ``.

        The first layer's ``dX`` is never used, so the network passes
        ``need_input_gradient=False`` and skips that matrix product.
        """
        X = self.X
        if _is_dense_array(X):
            np.matmul(X.T, dZ, out=self.dW)
        else:
            np.copyto(self.dW, np.asarray(X.T @ dZ))
        _, _, dX, ones = self._buffer(dZ.shape[0])
        if self.b is not None:
            # db = Σ_rows dZ, written as the product 1ᵀ·dZ: one BLAS call, much
            # faster than NumPy's sum over the first axis
            np.matmul(ones, dZ, out=self.db)
        if not need_input_gradient:
            return None
        if self.n_units == 1:
            # dX = dZ·Wᵀ is an outer product (m × 1)·(1 × n_in) here: a
            # broadcast multiply does it without a matrix product
            return np.multiply(dZ, self.W.T, out=dX)
        return np.matmul(dZ, self.W.T, out=dX)

    def apply(self, X):
        """Inference: ``f(X·W + b)`` in a new array, nothing cached."""
        Z = X @ self.W
        Z = np.asarray(Z)
        if self.b is not None:
            Z += self.b
        return self.activation.forward(Z, out=Z)


class BatchNorm(Layer):
    """Batch normalisation over features (PyTorch's ``BatchNorm1d``).

    Each feature (column) ``j`` is normalised over the ``m`` rows of the
    batch, then scaled and shifted by learned ``γ_j`` and ``β_j``::

        μ  = (1/m)·Σ_i x_i                    batch mean, per column
        σ² = (1/m)·Σ_i (x_i − μ)²             biased batch variance
        s  = √(σ² + eps)
        x̂_i = (x_i − μ) / s
        y_i = γ·x̂_i + β

    In training, ``μ`` and ``σ²`` are the batch's, and the running statistics
    that inference uses move towards them::

        running_mean ← (1 − momentum)·running_mean + momentum·μ
        running_var  ← (1 − momentum)·running_var  + momentum·σ²·m/(m − 1)

    (the running variance takes the unbiased ``σ²·m/(m − 1)``, as PyTorch
    does). In evaluation mode ``μ = running_mean`` and ``σ² = running_var``:
    the layer is then a fixed affine map of each feature.

    **Backward.** Given ``dY = ∂L/∂Y``, the parameters' gradients sum over
    the rows, as a bias's does::

        dβ = Σ_i dy_i              dγ = Σ_i dy_i·x̂_i

    For the input, every ``x̂_i`` depends on every ``x_k`` through ``μ`` and
    ``s``. With ``Σ_i (x_i − μ) = 0``::

        ∂μ/∂x_k = 1/m       ∂σ²/∂x_k = (2/m)·(x_k − μ)       ∂s/∂x_k = x̂_k / m
        ∂x̂_i/∂x_k = (δ_ik − 1/m)/s − (x_i − μ)/s² · ∂s/∂x_k
                  = (1/s)·(δ_ik − 1/m − x̂_i·x̂_k/m)

    and so, with ``dx̂_i = γ·dy_i``::

        dx_k = Σ_i dx̂_i·∂x̂_i/∂x_k
             = (γ/s)/m · (m·dy_k − Σ_i dy_i − x̂_k·Σ_i dy_i·x̂_i)

    which, for the whole batch, is the compact form the code computes::

        dX = (γ/s)/m · (m·dY − dβ − X̂ ⊙ dγ)

    In evaluation mode ``μ`` and ``s`` are constants and ``dX = dY·γ/s``.

    **A batch of one row** in training has ``σ² = 0`` and ``x̂ = 0``: the
    output would be ``β`` whatever the input, and the unbiased variance is
    undefined. :meth:`forward` raises a ``ValueError`` instead (PyTorch does
    too). Inference on one row is fine (it uses the running statistics), and
    :func:`glassnet.train` never makes a one-row mini-batch for a network
    with batch normalisation (a last lone row joins the batch before it).

    Sample weights weight the loss, not the batch statistics (as in
    PyTorch): ``μ`` and ``σ²`` are plain means over the batch's rows.

    Parameters
    ----------
    n_features : int
    eps : float, default 1e-5
    momentum : float, default 0.1
        Weight of the newest batch in the running statistics, in (0, 1].
    dtype : float64 or float32

    Attributes
    ----------
    gamma, beta : the parameters ``γ`` (ones at first) and ``β`` (zeros).
    dgamma, dbeta : their gradients after ``backward``.
    running_mean, running_var : the running statistics (zeros and ones at first).
    eps, momentum : as given.
    """

    _cached = ("X_hat", "inv_std")

    def __init__(self, n_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        if int(n_features) != n_features or n_features < 1:
            raise ValueError(f"n_features must be a positive integer, got {n_features!r}")
        eps, momentum = float(eps), float(momentum)
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        if not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum}")
        dtype = _check_dtype(dtype)
        n = int(n_features)
        self.gamma = np.ones(n, dtype)
        self.beta = np.zeros(n, dtype)
        self.dgamma = np.zeros(n, dtype)
        self.dbeta = np.zeros(n, dtype)
        self.running_mean = np.zeros(n, dtype)
        self.running_var = np.ones(n, dtype)
        self.eps = eps
        self.momentum = momentum
        self._buffers = {}
        self.X_hat = self.inv_std = None

    @property
    def n_inputs(self):
        return self.gamma.shape[0]

    n_units = n_inputs

    @property
    def dtype(self):
        return self.gamma.dtype

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.dgamma, self.dbeta]

    def parameter_names(self):
        return ["gamma", "beta"]

    def buffers(self):
        return [self.running_mean, self.running_var]

    def buffer_names(self):
        return ["running_mean", "running_var"]

    def astype(self, dtype):
        dtype = _check_dtype(dtype)
        for name in ("gamma", "beta", "dgamma", "dbeta", "running_mean", "running_var"):
            setattr(self, name, getattr(self, name).astype(dtype))
        self._buffers = {}
        return self

    def config(self):
        return {"type": "batch_norm", "n_features": self.n_inputs, "eps": self.eps,
                "momentum": self.momentum}

    def __repr__(self):
        return f"BatchNorm({self.n_inputs}, eps={self.eps:g}, momentum={self.momentum:g})"

    def forward(self, X):
        """``Y = γ·(X − μ)/√(σ² + eps) + β`` with the batch's statistics (training,
        updating the running ones) or the running statistics (evaluation)."""
        m = X.shape[0]
        Y, X_hat, _, ones = self._buffer(m)
        if self.training:
            if m < 2:
                raise ValueError(
                    f"{self!r} in training mode needs at least 2 rows per batch, got "
                    f"1 sample: the variance of one row is 0, so every output would be beta. "
                    f"Use a batch size of 2 or more, or network.eval() to use the running "
                    f"statistics")
            mean = np.matmul(ones, X) / m  # μ = (1/m)·Σ_i x_i, as 1ᵀ·X (one BLAS call)
            np.subtract(X, mean, out=X_hat)  # X − μ
            np.multiply(X_hat, X_hat, out=Y)  # (x_i − μ)², Y as scratch
            var = np.matmul(ones, Y) / m  # σ² = (1/m)·Σ_i (x_i − μ)²
            inv_std = 1.0 / np.sqrt(var + self.eps)  # 1/s
            X_hat *= inv_std  # x̂ = (x − μ)/s
            keep = 1.0 - self.momentum
            self.running_mean *= keep
            self.running_mean += self.momentum * mean
            self.running_var *= keep
            self.running_var += (self.momentum * m / (m - 1)) * var  # unbiased σ²·m/(m − 1)
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            np.subtract(X, self.running_mean, out=X_hat)
            X_hat *= inv_std
        self.inv_std = inv_std.astype(self.dtype, copy=False)
        self.X_hat = X_hat
        np.multiply(X_hat, self.gamma, out=Y)
        Y += self.beta  # y = γ·x̂ + β
        return Y

    def backward(self, dY, need_input_gradient=True):
        """Store ``dγ = Σ dY ⊙ X̂``, ``dβ = Σ dY``; return
        ``dX = (γ/s)/m · (m·dY − dβ − X̂ ⊙ dγ)`` (training) or ``dY·γ/s`` (evaluation)."""
        m = dY.shape[0]
        _, X_hat, dX, ones = self._buffer(m)
        np.matmul(ones, dY, out=self.dbeta)  # dβ = Σ_i dy_i
        np.multiply(dY, X_hat, out=dX)  # dy_i·x̂_i, dX as scratch
        np.matmul(ones, dX, out=self.dgamma)  # dγ = Σ_i dy_i·x̂_i
        if not need_input_gradient:
            return None
        scale = self.gamma * self.inv_std  # γ/s
        if not self.training:
            return np.multiply(dY, scale, out=dX)  # dX = dY·γ/s
        # dX = (γ/s)/m · (m·dY − dβ − X̂ ⊙ dγ), written as (γ/s)·(dY − (dβ + X̂ ⊙ dγ)/m)
        np.multiply(X_hat, self.dgamma, out=dX)
        dX += self.dbeta
        dX *= -1.0 / m
        dX += dY
        dX *= scale
        return dX

    def apply(self, X):
        """Inference with the running statistics, in a new array."""
        scale = self.gamma / np.sqrt(self.running_var + self.eps)  # γ/s
        return (np.asarray(X) - self.running_mean) * scale + self.beta

    def _buffer(self, m):
        """``(Y, X̂, dX, ones)`` for ``m`` rows."""
        Y, X_hat, dX = _scratch_buffers(self, (m, self.n_inputs), 3, self.dtype)
        ones = self._buffers.get(m)
        if ones is None:
            ones = self._buffers[m] = np.ones(m, self.dtype)
        return Y, X_hat, dX, ones


class Activation(Layer):
    """An activation on its own, ``A = f(Z)``, for stacks like
    ``Dense(..., activation='identity') → BatchNorm → Activation('relu')``.

    Forward and backward are those of :mod:`glassnet.activations`:
    ``A = f(Z)`` and ``dZ = dA ⊙ f'(Z)`` (written with ``A``). It takes any
    width and keeps it.
    """

    _cached = ("A",)

    def __init__(self, activation="relu"):
        self.activation = get_activation(activation)
        self._buffers = {}
        self.A = None

    def config(self):
        return {"type": "activation", "activation": self.activation.config()}

    def __repr__(self):
        return f"Activation({self.activation.name!r})"

    def forward(self, Z):
        """``A = f(Z)`` into a reused buffer, cached for :meth:`backward`."""
        A = _scratch_buffers(self, Z.shape, 2, Z.dtype)[0]
        self.activation.forward(Z, out=A)
        self.A = A
        return A

    def backward(self, dA, need_input_gradient=True):
        """``dZ = dA ⊙ f'(Z)``."""
        if not need_input_gradient:
            return None
        dZ = self.delta_buffer(dA.shape)
        return self.activation.backward(dA, self.A, out=dZ)

    def backward_from_dZ(self, dZ, need_input_gradient=True):
        """Given ``dZ = ∂L/∂Z`` (a fused loss): the input gradient is ``dZ`` itself."""
        return dZ if need_input_gradient else None

    def delta_buffer(self, shape):
        return _scratch_buffers(self, tuple(shape), 2, self.A.dtype)[1]

    def apply(self, Z):
        return self.activation.forward(Z)  # out=None: a new array, Z untouched


class Dropout(Layer):
    """Inverted dropout (Srivastava et al., 2014), with probability ``p`` of
    dropping each unit.

    Training: each entry is kept independently with probability ``1 − p``
    and the kept ones are scaled by ``1/(1 − p)``, so that every unit's
    expected output equals its input::

        M_ij = [u_ij >= p] / (1 − p)      u_ij ~ U[0, 1) from the network's Generator
        Y = X ⊙ M                         E[Y] = X
        dX = dY ⊙ M                       the same mask on the way back

    Evaluation (``network.eval()``, and every prediction): ``Y = X``, nothing
    to rescale, since training already did. ``p = 0`` is the identity in
    both modes.

    The random numbers come from ``rng``: the network's seeded
    ``numpy.random.Generator``, which :class:`~glassnet.Network` hands to
    every dropout layer built without one. ``mask`` holds the last training
    pass's scaled mask ``M``.

    Parameters
    ----------
    p : float, default 0.5
        The probability of dropping a unit, in [0, 1).
    rng : numpy.random.Generator or int, optional
    """

    _cached = ("mask",)

    def __init__(self, p=0.5, rng=None):
        p = float(p)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
        self.p = p
        self.rng = None if rng is None else np.random.default_rng(rng)
        self._buffers = {}
        self.mask = None

    def config(self):
        return {"type": "dropout", "p": self.p}

    def __repr__(self):
        return f"Dropout(p={self.p:g})"

    def forward(self, X, keep=None):
        """``Y = X ⊙ M`` in training, ``X`` itself in evaluation.

        ``keep`` (a boolean array shaped like ``X``) imposes which entries are
        kept instead of drawing them, e.g. to replay another library's mask.
        """
        if not self.training or (self.p == 0.0 and keep is None):
            self.mask = None
            return X
        Y, M = _scratch_buffers(self, X.shape, 3, X.dtype)[:2]
        if keep is None:
            keep = self._draw_keep(X.shape)
        np.multiply(keep, M.dtype.type(1.0 / (1.0 - self.p)), out=M)  # M = [u >= p]/(1 − p)
        self.mask = M
        return np.multiply(X, M, out=Y)

    def _draw_keep(self, shape):
        """Which entries to keep, each with probability ``1 − p``.

        ``u ≥ p`` for a uniform ``u`` is drawn as 32 random bits ``k ≥ p·2³²``
        (probability ``1 − p`` to within 2⁻³³), read straight from the
        Generator's bit generator: twice as fast as drawing floats, and the
        random numbers are most of dropout's cost.
        """
        if self.rng is None:
            self.rng = np.random.default_rng()
        size = int(np.prod(shape))
        bits = self.rng.bit_generator.random_raw((size + 1) // 2).view(np.uint32)[:size]
        # laid out like the layer's buffers (see _order_for): multiplying arrays
        # of different layouts is about three times slower
        return np.greater_equal(bits, round(self.p * 2.0 ** 32)).reshape(
            shape, order=_order_for(shape[-1]))

    def backward(self, dY, need_input_gradient=True):
        """``dX = dY ⊙ M`` (``dY`` itself in evaluation mode)."""
        if not need_input_gradient:
            return None
        if self.mask is None:
            return dY
        dX = _scratch_buffers(self, dY.shape, 3, dY.dtype)[2]
        return np.multiply(dY, self.mask, out=dX)

    def apply(self, X):
        """Inference: the identity."""
        return X


_LAYER_TYPES = {"dense": Dense, "batch_norm": BatchNorm, "activation": Activation,
                "dropout": Dropout}


def layer_from_config(config, dtype=np.float64):
    """Rebuild a layer from :meth:`config`'s plain data, with placeholder parameters
    (zeros for ``W`` and ``b``) that a model file's arrays then fill."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind not in _LAYER_TYPES:
        raise ValueError(f"unknown layer type {kind!r}; known: {', '.join(_LAYER_TYPES)}")
    if kind == "dense":
        n_in, n_out = int(config["n_inputs"]), int(config["n_units"])
        W = np.zeros((n_in, n_out), dtype)
        b = np.zeros(n_out, dtype) if config.get("bias", True) else None
        return Dense.from_arrays(W, b, config["activation"])
    if kind == "batch_norm":
        return BatchNorm(config["n_features"], eps=config["eps"], momentum=config["momentum"],
                         dtype=dtype)
    if kind == "activation":
        return Activation(config["activation"])
    return Dropout(config["p"])
