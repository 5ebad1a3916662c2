"""Activation functions: each one's value and derivative, side by side.

Shape convention (see ``glassnet/__init__.py``): samples are rows, so ``Z`` and
``A`` are ``(n_samples, n_units)`` arrays and every function here works
element-wise (softmax row-wise).

Every activation is a small object with two methods:

``forward(Z, out=None)``
    ``A = f(Z)``.
``backward(dA, A, out=None)``
    ``dZ = dA * f'(Z)``, the chain rule through the activation. Every
    derivative here can be written with the output ``A`` alone (``s·(1 − s)``
    for the sigmoid, ``1 − a²`` for tanh, ``a > 0`` for ReLU), so a layer keeps
    ``A`` and never needs ``Z`` again. That saves one array per layer.

``out=`` lets the training loop reuse preallocated buffers; ``out`` may be the
same array as the input.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Exp",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
]


class Activation:
    """Base class: ``name``, ``forward`` and ``backward``."""

    name = "activation"

    def forward(self, Z, out=None):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, dA, A, out=None):  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, Z):
        return self.forward(Z)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(vars(self).items()))))

    def config(self):
        """Plain-data description, used by model files."""
        return {"name": self.name, **vars(self)}


class Identity(Activation):
    """``f(z) = z``;  ``f'(z) = 1``, so ``dZ = dA``."""

    name = "identity"

    def forward(self, Z, out=None):
        if out is None:
            return Z.copy()
        if out is not Z:
            np.copyto(out, Z)
        return out

    def backward(self, dA, A, out=None):
        return self.forward(dA, out)


class Sigmoid(Activation):
    """Logistic sigmoid.

    ``s = sigmoid(z) = 1 / (1 + exp(-z))``;  ``d/dz = s·(1 − s)``.

    Computed as ``1 / (1 + e)`` for ``z >= 0`` and ``e / (1 + e)`` for
    ``z < 0`` with ``e = exp(-|z|) <= 1``: ``exp`` never overflows, so
    ``z = ±1000`` gives exactly 1 and 0 with no warning, and tiny
    probabilities keep their full relative precision.
    """

    name = "sigmoid"

    def forward(self, Z, out=None):
        negative = Z < 0
        e = np.abs(Z, out=out)
        np.negative(e, out=e)
        np.exp(e, out=e)  # e = exp(-|z|) in (0, 1]
        denominator = e + 1.0
        # numerator: e where z < 0, else 1
        np.copyto(e, 1.0, where=~negative)
        return np.divide(e, denominator, out=e)

    def backward(self, dA, A, out=None):
        # dZ = dA · s · (1 − s)
        one_minus = 1.0 - A
        out = np.multiply(dA, A, out=out)
        return np.multiply(out, one_minus, out=out)


class Tanh(Activation):
    """Hyperbolic tangent.

    ``a = tanh(z)``;  ``d/dz = 1 − a²``.
    """

    name = "tanh"

    def forward(self, Z, out=None):
        return np.tanh(Z, out=out)

    def backward(self, dA, A, out=None):
        # dZ = dA · (1 − a²)
        derivative = np.square(A)
        np.subtract(1.0, derivative, out=derivative)
        return np.multiply(dA, derivative, out=out)


class ReLU(Activation):
    """Rectified linear unit.

    ``relu(z) = max(0, z)``;  ``d/dz = 1 if z > 0 else 0`` (0 at z = 0, the
    convention of PyTorch and scikit-learn). ``a > 0`` exactly when ``z > 0``.
    """

    name = "relu"

    def forward(self, Z, out=None):
        return np.maximum(Z, 0.0, out=out)

    def backward(self, dA, A, out=None):
        # dZ = dA · [a > 0]: the mask written as 1.0/0.0 in dA's dtype, then one
        # multiply (a third faster than multiplying by a boolean array, which
        # NumPy casts element by element)
        if out is not None and np.may_share_memory(out, dA):  # in place: keep dA
            return np.multiply(dA, A > 0, out=out)
        out = np.greater(A, 0, out=np.empty_like(dA) if out is None else out,
                         casting="unsafe")
        return np.multiply(out, dA, out=out)


class LeakyReLU(Activation):
    """Leaky ReLU with slope ``slope`` for negative inputs (``0 <= slope < 1``).

    ``f(z) = z if z > 0 else slope·z``;  ``d/dz = 1 if z > 0 else slope``.
    With ``slope > 0``, ``a > 0`` exactly when ``z > 0``.
    """

    name = "leaky_relu"

    def __init__(self, slope=0.01):
        slope = float(slope)
        if not 0.0 <= slope < 1.0:
            raise ValueError(f"LeakyReLU slope must be in [0, 1), got {slope}")
        self.slope = slope

    def forward(self, Z, out=None):
        # max(z, slope·z) is z for z > 0 and slope·z otherwise, since slope < 1
        scaled = Z * self.slope
        return np.maximum(Z, scaled, out=out)

    def backward(self, dA, A, out=None):
        derivative = np.where(A > 0, 1.0, self.slope).astype(dA.dtype, copy=False)
        return np.multiply(dA, derivative, out=out)

    def __repr__(self):
        return f"LeakyReLU(slope={self.slope})"


class Softmax(Activation):
    """Row-wise softmax.

    ``softmax(z)_k = exp(z_k) / Σ_j exp(z_j)`` over each row (sample).
    Shifting a row by its maximum changes nothing mathematically and keeps
    ``exp`` from overflowing.

    Derivative: the Jacobian of one row is ``∂a_k/∂z_j = a_k·(δ_kj − a_j)``,
    so the chain rule gives ``dZ = A ⊙ (dA − Σ_j dA_j·A_j)`` row by row. With
    categorical cross-entropy the two fuse into ``dZ = (A − Y)/m``
    (see ``losses.py``), which is what training uses.
    """

    name = "softmax"

    def forward(self, Z, out=None):
        # over the last axis: the rows of Z, or of each matrix in a stack (P, m, k)
        shifted = np.subtract(Z, Z.max(axis=-1, keepdims=True), out=out)
        np.exp(shifted, out=shifted)
        shifted /= shifted.sum(axis=-1, keepdims=True)
        return shifted

    def backward(self, dA, A, out=None):
        row_dot = np.einsum("ij,ij->i", dA, A)[:, None]
        out = np.subtract(dA, row_dot, out=out)
        return np.multiply(out, A, out=out)


class Exp(Activation):
    """Exponential, the output of a Poisson regression.

    ``f(z) = exp(z)``;  ``d/dz = exp(z) = a``.
    """

    name = "exp"

    def forward(self, Z, out=None):
        return np.exp(Z, out=out)

    def backward(self, dA, A, out=None):
        return np.multiply(dA, A, out=out)


ACTIVATIONS = {
    "identity": Identity,
    "linear": Identity,
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
    "exp": Exp,
}


def get_activation(spec):
    """Return an :class:`Activation` for a name (``'relu'``), an instance, or a
    config dict such as ``{'name': 'leaky_relu', 'slope': 0.1}``.

    Examples
    --------
    The sigmoid and its derivative ``s·(1 − s)``, which peaks at 1/4:

    >>> import numpy as np
    >>> from glassnet.activations import get_activation
    >>> sigmoid = get_activation("sigmoid")
    >>> Z = np.array([[-2.0, 0.0, 2.0]])
    >>> A = sigmoid.forward(Z)
    >>> A.round(4)
    array([[0.1192, 0.5   , 0.8808]])
    >>> sigmoid.backward(np.ones_like(A), A).round(4)   # dZ = dA · s·(1 − s)
    array([[0.105, 0.25 , 0.105]])
    >>> get_activation({"name": "leaky_relu", "slope": 0.1}).forward(Z)
    array([[-0.2,  0. ,  2. ]])
    """
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, dict):
        options = dict(spec)
        name = options.pop("name", None)
        return _from_name(name)(**options)
    return _from_name(spec)()


def _from_name(name):
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; valid names: {valid}") from None
