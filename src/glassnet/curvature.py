"""Curvature of the loss: Hessian-vector products and the sharpness ``λ_max``.

The Hessian ``H = ∂²L/∂θ²`` says how the gradient changes as the weights
move. Its largest eigenvalue ``λ_max`` (the *sharpness*) decides whether
gradient descent with rate ``η`` is stable: near a minimum the loss is about
``L* + ½·δᵀHδ``, a step maps ``δ ← (I − η·H)·δ``, and along the top
eigenvector the factor ``1 − η·λ_max`` has magnitude above 1 once
``η > 2/λ_max``: each step then overshoots the valley floor by more than it
started, and the loss goes *up* (Cohen et al., "Gradient Descent on Neural
Networks Typically Occurs at the Edge of Stability", ICLR 2021).

``H`` has ``P²`` entries for ``P`` parameters, but ``H·v`` costs about two
gradients and is all that power iteration needs.

Exact products (Pearlmutter's R-operator)
-----------------------------------------
Write ``R{·}`` for the directional derivative ``d/dr (·)(θ + r·v)`` at
``r = 0``, with ``v = (V_W, V_b)`` per layer. ``R{∂L/∂θ} = H·v``. Applying
``R`` to every line of the forward and backward passes (shapes as in
``Z = X·W + b``, samples are rows)::

    forward          Z_l = A_{l−1}·W_l + b_l          A_l = f(Z_l)
    R-forward     R{Z_l} = R{A_{l−1}}·W_l + A_{l−1}·V_W,l + V_b,l
                  R{A_l} = f'(Z_l) ⊙ R{Z_l}             (R{A_0} = R{X} = 0)

    output        dZ_L = c·w ⊙ (A_L − Y)              (output fused with its loss)
                R{dZ_L} = c·w ⊙ R{A_L}

    backward      dW_l = A_{l−1}ᵀ·dZ_l + (α/N)·W_l     db_l = Σ_rows dZ_l
                R{dW_l} = R{A_{l−1}}ᵀ·dZ_l + A_{l−1}ᵀ·R{dZ_l} + (α/N)·V_W,l
                R{db_l} = Σ_rows R{dZ_l}
                  dA_{l−1} = dZ_l·W_lᵀ
                R{dA_{l−1}} = R{dZ_l}·W_lᵀ + dZ_l·V_W,lᵀ
                  dZ_{l−1} = dA_{l−1} ⊙ f'(Z_{l−1})
                R{dZ_{l−1}} = R{dA_{l−1}} ⊙ f'(Z_{l−1}) + dA_{l−1} ⊙ f''(Z_{l−1}) ⊙ R{Z_{l−1}}

Networks with batch normalisation or dropout take the finite-difference
product, of the loss in the network's current mode (as
:func:`glassnet.gradient_check` does: each dropout mask held fixed, the running
statistics put back).

``f'(Z) ⊙ x`` is each activation's own ``backward(x, A)`` (for the softmax
output the Jacobian ``diag(a) − a·aᵀ`` is symmetric, so the same call gives
``R{A}``). ``f''`` is written in terms of ``A`` in :data:`SECOND_DERIVATIVES`.
ReLU's ``f''`` is 0 away from the kink, which is the Hessian every autograd
library computes too. Central differences of the gradient,
``H·v ≈ (g(θ + ε·v) − g(θ − ε·v)) / 2ε``, are also available
(``method='finite_difference'``) and need no ``f''``, but a ReLU network's
gradient jumps wherever a pre-activation crosses 0 inside ``±ε``, which
inflates the estimate by ``1/ε``; the exact product has no such trouble.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .losses import sample_normaliser

__all__ = [
    "SECOND_DERIVATIVES",
    "Sharpness",
    "hessian_vector_product",
    "largest_eigenvalue",
    "sharpness",
]

# f''(z) written with a = f(z), for the R-operator's backward pass
SECOND_DERIVATIVES = {
    "identity": lambda A: np.zeros_like(A),        # f = z:            f'' = 0
    "relu": lambda A: np.zeros_like(A),            # piecewise linear:  f'' = 0 (z ≠ 0)
    "leaky_relu": lambda A: np.zeros_like(A),      # piecewise linear:  f'' = 0 (z ≠ 0)
    "sigmoid": lambda A: A * (1 - A) * (1 - 2 * A),  # s' = s(1−s):    s'' = s(1−s)(1−2s)
    "tanh": lambda A: -2 * A * (1 - A * A),        # t' = 1 − t²:       t'' = −2t(1 − t²)
    "exp": lambda A: A.copy(),                     # (e^z)'' = e^z
}


def _parameter_slices(network):
    """Per layer, the indices of ``W_l`` and ``b_l`` (``None`` without bias) in
    ``network.parameters()``."""
    out, k = [], 0
    for layer in network.layers:
        has_bias = layer.b is not None
        out.append((k, k + 1 if has_bias else None))
        k += 2 if has_bias else 1
    return out


def _check_exact(network):
    from .layers import Dense

    if not network.fused:
        raise ValueError(
            f"exact Hessian-vector products need an output activation fused with its loss "
            f"(sigmoid with binary cross-entropy, softmax with categorical cross-entropy, "
            f"identity with squared error, exp with Poisson); this network has "
            f"{network.output_activation.name!r} with {network.loss.name!r}: use "
            f"method='finite_difference'")
    for i, layer in enumerate(network.layers):
        if type(layer) is not Dense:
            raise ValueError(f"layer {i} is a {type(layer).__name__}; exact Hessian-vector "
                             f"products know dense layers only: use method='finite_difference'")
        if i < len(network.layers) - 1 and layer.activation.name not in SECOND_DERIVATIVES:
            raise ValueError(f"hidden layer {i} uses {layer.activation.name!r}, whose second "
                             f"derivative is not written out: use method='finite_difference'")


def _exact_hvp(network, X, Y, v, sample_weight):
    """``H·v`` by the R-operator (see the module docstring for every line)."""
    slots = _parameter_slices(network)
    params = network.parameters()
    A_prev, R_prev = X, None  # A_0 = X, R{A_0} = 0
    cache = []
    for layer, (iw, ib) in zip(network.layers, slots):
        W, VW = params[iw], v[iw]
        Z = A_prev @ W
        RZ = A_prev @ VW
        if R_prev is not None:
            RZ += R_prev @ W
        if ib is not None:
            Z += params[ib]
            RZ += v[ib]
        A = layer.activation.forward(Z)
        RA = layer.activation.backward(RZ, A)  # f'(Z) ⊙ R{Z}
        cache.append((A_prev, R_prev, A, RZ))
        A_prev, R_prev = A, RA
    dZ = network.loss.delta(Y, A_prev, sample_weight)  # c·w ⊙ (A_L − Y)
    RdZ = network.loss.delta(np.zeros_like(RA), RA, sample_weight)  # c·w ⊙ R{A_L}
    normaliser = sample_normaliser(X.shape[0], sample_weight)
    out = [None] * len(params)
    for l in range(len(network.layers) - 1, -1, -1):
        A_in, R_in, _, _ = cache[l]
        iw, ib = slots[l]
        W, VW = params[iw], v[iw]
        RdW = A_in.T @ RdZ
        if R_in is not None:
            RdW += R_in.T @ dZ
        if network.alpha:
            RdW += (network.alpha / normaliser) * VW
        out[iw] = RdW
        if ib is not None:
            out[ib] = RdZ.sum(axis=0)
        if l == 0:
            break
        dA = dZ @ W.T
        RdA = RdZ @ W.T + dZ @ VW.T
        below = network.layers[l - 1]
        A_below, RZ_below = cache[l - 1][2], cache[l - 1][3]
        second = SECOND_DERIVATIVES[below.activation.name](A_below)
        dZ = below.activation.backward(dA, A_below)  # dA ⊙ f'(Z)
        RdZ = below.activation.backward(RdA, A_below) + dA * second * RZ_below
    return out


def _finite_difference_hvp(network, X, Y, v, sample_weight, epsilon):
    from .gradcheck import Replay

    params = network.parameters()
    saved = network.get_weights()
    scale = epsilon / max(np.sqrt(sum(float(np.sum(d * d)) for d in v)), 1e-300)
    grads = []
    replay = Replay(network)  # both gradients with the same dropout masks, no drift
    try:
        for sign in (1.0, -1.0):
            for p, p0, d in zip(params, saved, v):
                np.copyto(p, p0 + sign * scale * d)
            replay()
            network.loss_and_gradients(X, Y, sample_weight)
            grads.append([g.copy() for g in network.gradients()])
    finally:
        network.set_weights(saved)
        replay()
    return [(gp - gm) / (2 * scale) for gp, gm in zip(*grads)]


def hessian_vector_product(network, X, y, v, sample_weight=None, method="exact",
                           epsilon=1e-5, _checked=False):
    """``H·v``: the Hessian of the loss (L2 penalty included) at the network's
    current weights, times ``v``.

    ``v`` is a list of arrays aligned with ``network.parameters()``; so is the
    result. ``method='exact'`` runs the R-operator (module docstring);
    ``'finite_difference'`` takes ``(g(θ + ε·v̂) − g(θ − ε·v̂)) / 2ε`` with
    ``v̂ = v/‖v‖`` scaled back. The network's weights are left as they were.
    """
    if not _checked:
        X, y, sample_weight = network.check_data(X, y, sample_weight)
    v = [np.asarray(d, dtype=network.dtype) for d in v]
    if method == "exact":
        _check_exact(network)
        return _exact_hvp(network, X, y, v, sample_weight)
    if method == "finite_difference":
        return _finite_difference_hvp(network, X, y, v, sample_weight, epsilon)
    raise ValueError(f"method must be 'exact' or 'finite_difference', got {method!r}")


@dataclass
class Sharpness:
    """The result of :func:`sharpness`: ``value`` is ``λ_max``, ``vector`` its
    unit eigenvector (flat, in ``parameters()`` order), ``iterations`` the
    products used, ``converged`` whether the estimate settled within ``tol``."""

    value: float
    vector: np.ndarray
    iterations: int
    converged: bool

    @property
    def stable_rate(self):
        """``2/λ_max``: gradient descent overshoots along ``vector`` above this rate."""
        return 2.0 / self.value if self.value > 0 else float("inf")


def _power_iteration(product, n, rng, iterations, tol, shift=0.0):
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    estimate, used = 0.0, 0
    for used in range(1, iterations + 1):
        w = product(v) - shift * v
        new = float(v @ w)  # Rayleigh quotient vᵀ(H − s·I)v
        norm = np.linalg.norm(w)
        if norm == 0:
            return 0.0, v, used, True
        v = w / norm
        if used > 1 and abs(new - estimate) <= tol * max(abs(new), 1e-12):
            return new, v, used, True
        estimate = new
    return estimate, v, used, False


def largest_eigenvalue(product, n, iterations=200, tol=1e-6, seed=0):
    """The largest (most positive) eigenvalue of a symmetric ``n × n`` operator
    given as ``product(v) = H·v``: ``(value, unit eigenvector, products used,
    converged)``.

    Power iteration ``v ← H·v/‖H·v‖`` converges to the eigenvalue of largest
    *magnitude*. If that one is negative (a saddle's downhill curvature
    dominates), a second run on ``H − λ·I``, whose eigenvalues are all ``>= 0``
    and whose largest is ``λ_max − λ``, finds the largest positive one.
    """
    rng = np.random.default_rng(seed)
    value, vector, used, converged = _power_iteration(product, n, rng, iterations, tol)
    if value < 0:
        shifted, vector, more, converged = _power_iteration(product, n, rng, iterations, tol,
                                                            shift=value)
        value, used = shifted + value, used + more
    return float(value), vector, used, converged


def sharpness(network, X, y, sample_weight=None, iterations=200, tol=1e-6, seed=0,
              method=None):
    """``λ_max``, the largest eigenvalue of the loss's Hessian at the current
    weights, by power iteration on Hessian-vector products
    (:func:`largest_eigenvalue`).

    ``method`` defaults to ``'exact'`` where the network allows it, else
    ``'finite_difference'``. Returns a :class:`Sharpness`.
    """
    X, y, sample_weight = network.check_data(X, y, sample_weight)
    if method is None:
        try:
            _check_exact(network)
            method = "exact"
        except ValueError:
            method = "finite_difference"
    like = network.parameters()
    splits = np.cumsum([p.size for p in like])[:-1]

    def product(vector):
        v = [part.reshape(p.shape) for part, p in zip(np.split(vector, splits), like)]
        parts = hessian_vector_product(network, X, y, v, sample_weight, method=method,
                                       _checked=True)
        return np.concatenate([part.ravel() for part in parts]).astype(np.float64)

    n = sum(p.size for p in like)
    return Sharpness(*largest_eigenvalue(product, n, iterations, tol, seed))
