"""The dense (fully connected) layer: forward, and backward by the chain rule.

Samples are rows. For a batch ``X`` of shape ``(m, n_in)``::

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

__all__ = ["Dense"]


def _is_dense_array(X):
    return isinstance(X, np.ndarray)


class Dense:
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

    def __init__(self, n_inputs, n_units, activation="relu", init="he_normal", bias=True,
                 rng=None, dtype=np.float64):
        for label, value in (("n_inputs", n_inputs), ("n_units", n_units)):
            if int(value) != value or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        self.activation = get_activation(activation)
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
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
        use this so that ``coefs_[i]`` *is* layer ``i``'s ``W``. With
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

    def __getstate__(self):
        # the cached batch and buffers are scratch space, not state
        state = dict(self.__dict__)
        state.update(_buffers={}, X=None, A=None)
        return state

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

        The ``(m, n)`` buffers are column-major (Fortran order): each unit's
        ``m`` values are contiguous, the memory layout of the first tutorial's
        samples-as-columns ``Z = W·X + b``. Element-wise work and the sums over
        samples then run along contiguous memory; the matrix products do not
        care, BLAS takes either layout.
        """
        buffers = self._buffers.get(m)
        if buffers is None:
            if len(self._buffers) > 4:
                self._buffers.clear()
            shape = (m, self.n_units)
            buffers = (np.empty(shape, self.dtype, order="F"),
                       np.empty(shape, self.dtype, order="F"),
                       np.empty((m, self.n_inputs), self.dtype, order="F"),
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
