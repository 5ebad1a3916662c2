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

The spectrum, from products alone (the methods of PyHessian: Yao, Gholami,
Keutzer & Mahoney, "PyHessian: Neural Networks Through the Lens of the
Hessian", 2020):

- :func:`hessian_eigenvalues`: the ``k`` largest or smallest eigenvalues and
  their eigenvectors by Lanczos with full reorthogonalisation
  (``Q_mᵀ·H·Q_m = T_m`` tridiagonal; the Ritz values of ``T_m`` converge to
  the ends of the spectrum first);
- :func:`hessian_trace`: ``tr(H) = E[zᵀ·H·z]`` for Rademacher ``z``
  (Hutchinson, 1989), with its standard error;
- :func:`spectral_density`: the eigenvalue density by stochastic Lanczos
  quadrature, ``φ_σ(t) ≈ (1/V)·Σ_v Σ_j τ_j·g_σ(t − θ_j)`` with the nodes
  ``θ_j`` and weights ``τ_j`` of ``m`` Lanczos steps from each probe ``v``
  (Ghorbani, Krishnan & Xiao, 2019);
- :class:`SharpnessTracker`: ``λ_max`` during training, beside
  :func:`stability_threshold` (``2/η``).

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

The other layers, each line again beside its ``R``. Dropout in training mode
multiplies by a mask ``M`` held fixed (the one the next training forward pass
would draw; the Generator is put back, so every product sees the same mask):
``Y = X ⊙ M``, ``R{Y} = R{X} ⊙ M``, ``dX = dY ⊙ M``, ``R{dX} = R{dY} ⊙ M``.
Batch normalisation in training mode (batch statistics, column by column;
``c = x − μ``, ``s = √(σ² + eps)``, ``x̂ = c/s``, ``y = γ·x̂ + β``)::

    R{c} = R{X} − mean_rows R{X}          R{s} = mean_rows(c ⊙ R{c}) / s
    R{x̂} = (R{c} − x̂ ⊙ R{s}) / s          R{y} = V_γ ⊙ x̂ + γ ⊙ R{x̂} + V_β
    R{dβ} = Σ_rows R{dY}                   R{dγ} = Σ_rows (R{dY} ⊙ x̂ + dY ⊙ R{x̂})
    dX = (γ/s) ⊙ (dY − (dβ + x̂ ⊙ dγ)/m)
    R{dX} = R{γ/s} ⊙ (dY − (dβ + x̂ ⊙ dγ)/m)
            + (γ/s) ⊙ (R{dY} − (R{dβ} + R{x̂} ⊙ dγ + x̂ ⊙ R{dγ})/m),
    R{γ/s} = V_γ/s − γ ⊙ R{s}/s²

and in evaluation mode (running statistics, a fixed affine map) ``R{s} = 0``,
``R{x̂} = R{X}/s``, ``dX = dY ⊙ γ/s``, ``R{dX} = R{dY} ⊙ γ/s + dY ⊙ V_γ/s``.
The running statistics are never updated by a product. The lines without
``R`` do not depend on ``v``: the functions below that take many products at
the same weights (Lanczos, Hutchinson's probes, the density) run them once
and share them, so each further product costs only the ``R{·}`` lines.

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
from .training import Callback

__all__ = [
    "SECOND_DERIVATIVES",
    "HessianEigen",
    "HessianTrace",
    "Sharpness",
    "SharpnessTracker",
    "SpectralDensity",
    "hessian_eigenvalues",
    "hessian_trace",
    "hessian_vector_product",
    "lanczos",
    "largest_eigenvalue",
    "sharpness",
    "spectral_density",
    "stability_threshold",
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


def _layer_slots(network):
    """Per layer, the index of its first array in ``network.parameters()``."""
    out, k = [], 0
    for layer in network.layers:
        out.append(k)
        k += len(layer.parameters())
    return out


def _check_exact(network):
    from .layers import Activation, BatchNorm, Dense, Dropout

    if not network.fused:
        raise ValueError(
            f"exact Hessian-vector products need an output activation fused with its loss "
            f"(sigmoid with binary cross-entropy, softmax with categorical cross-entropy, "
            f"identity with squared error, exp with Poisson); this network has "
            f"{network.output_activation.name!r} with {network.loss.name!r}: use "
            f"method='finite_difference'")
    last = len(network.layers) - 1
    for i, layer in enumerate(network.layers):
        if type(layer) not in (Dense, BatchNorm, Activation, Dropout):
            raise ValueError(f"layer {i} is a {type(layer).__name__}; exact Hessian-vector "
                             f"products know Dense, BatchNorm, Activation and Dropout layers: "
                             f"use method='finite_difference'")
        if (i < last and hasattr(layer, "activation")
                and layer.activation.name not in SECOND_DERIVATIVES):
            raise ValueError(f"hidden layer {i} uses {layer.activation.name!r}, whose second "
                             f"derivative is not written out: use method='finite_difference'")


class _Tape:
    """The passes of ``H·v`` that do not depend on ``v``, run once per weights and data.

    Forward: each layer's input and output (and batch normalisation's ``x̂``
    and ``s``, each dropout mask, drawn as the next training forward pass
    would draw it, the Generator put back). Backward: each layer's incoming
    ``dA`` (``dZ_L = c·w ⊙ (A_L − Y)`` at the output) and the ``dZ``, ``dγ``,
    ``dβ`` it makes. :meth:`product` then runs only the ``R{·}`` lines of the
    module docstring, so the products of one Lanczos run share this work.
    """

    def __init__(self, network, X, Y, sample_weight):
        from .gradcheck import Replay

        self.network, self.layers = network, network.layers
        self.params, self.slots = network.parameters(), _layer_slots(network)
        self.sample_weight = sample_weight
        self.normaliser = sample_normaliser(X.shape[0], sample_weight)
        replay = Replay(network)  # the masks the next forward pass would draw; Generator put back
        try:
            self.forward = self._forward(X)
        finally:
            replay()
        self.backward = self._backward(Y)

    def _forward(self, X):
        from .layers import BatchNorm, Dense, Dropout

        A, tape = X, []
        for layer, k in zip(self.layers, self.slots):
            if isinstance(layer, Dense):
                Z = A @ self.params[k]
                if layer.b is not None:
                    Z += self.params[k + 1]
                out = layer.activation.forward(Z)
                tape.append((A, out))
            elif isinstance(layer, BatchNorm):
                if layer.training:
                    centred = A - A.mean(axis=0)                  # c = x − μ
                    s = np.sqrt((centred * centred).mean(axis=0) + layer.eps)
                else:
                    centred, s = A - layer.running_mean, np.sqrt(layer.running_var + layer.eps)
                X_hat = centred / s
                out = self.params[k] * X_hat + self.params[k + 1]  # y = γ·x̂ + β
                tape.append((centred, s, X_hat))
            elif isinstance(layer, Dropout):
                mask = None
                if layer.training and layer.p > 0:
                    mask = layer._draw_keep(A.shape) / (1.0 - layer.p)  # M = [u >= p]/(1 − p)
                tape.append(mask)
                out = A if mask is None else A * mask
            else:  # Activation
                out = layer.activation.forward(A)
                tape.append(out)
            A = out
        self.output = A
        return tape

    def _backward(self, Y):
        """Per layer, what its R-backward needs of the ordinary backward pass."""
        from .layers import BatchNorm, Dense, Dropout

        d = self.network.loss.delta(Y, self.output, self.sample_weight)  # dZ_L
        tape = [None] * len(self.layers)
        at_output = True
        for i in range(len(self.layers) - 1, -1, -1):
            layer, k, entry = self.layers[i], self.slots[i], self.forward[i]
            if isinstance(layer, Dense):
                dA = None if at_output else d
                dZ = d if at_output else layer.activation.backward(d, entry[1])  # dA ⊙ f'(Z)
                tape[i] = (dA, dZ)
                d = dZ @ self.params[k].T if i else None
            elif isinstance(layer, BatchNorm):
                _, s, X_hat = entry
                dbeta, dgamma = d.sum(axis=0), (d * X_hat).sum(axis=0)
                inner = d - (dbeta + X_hat * dgamma) / d.shape[0] if layer.training else d
                tape[i] = (d, dgamma, inner)
                d = (self.params[k] / s) * inner  # (γ/s)·(dY − (dβ + x̂ ⊙ dγ)/m), or dY·γ/s
            elif isinstance(layer, Dropout):
                tape[i] = None
                d = d if entry is None else d * entry
            else:  # Activation
                tape[i] = None if at_output else d
                d = d if at_output else layer.activation.backward(d, entry)
            at_output = False
        return tape

    def product(self, v):
        """``H·v``, ``v`` aligned with ``network.parameters()`` (the module
        docstring's ``R{·}`` lines, forward then backward)."""
        from .layers import BatchNorm, Dense, Dropout

        params, layers, slots = self.params, self.layers, self.slots
        RA, R_inputs, RZs = None, [], []  # R{A_0} = R{X} = 0: None spares products with zeros
        for layer, k, entry in zip(layers, slots, self.forward):
            R_inputs.append(RA)
            if isinstance(layer, Dense):
                A_in, A = entry
                RZ = A_in @ v[k]  # R{Z} = R{A}·W + A·V_W + V_b
                if RA is not None:
                    RZ += RA @ params[k]
                if layer.b is not None:
                    RZ += v[k + 1]
                RZs.append(RZ)
                RA = layer.activation.backward(RZ, A)  # R{A} = f'(Z) ⊙ R{Z}
            elif isinstance(layer, BatchNorm):
                centred, s, X_hat = entry
                RA = np.zeros_like(X_hat) if RA is None else RA
                if layer.training:
                    Rc = RA - RA.mean(axis=0)                      # R{x − μ}
                    Rs = (centred * Rc).mean(axis=0) / s           # R{s} = R{σ²}/(2s)
                    RX_hat = (Rc - X_hat * Rs) / s                 # (R{x−μ} − x̂·R{s})/s
                else:
                    Rs, RX_hat = np.zeros_like(s), RA / s
                RZs.append((Rs, RX_hat))
                RA = v[k] * X_hat + params[k] * RX_hat + v[k + 1]  # V_γ·x̂ + γ·R{x̂} + V_β
            elif isinstance(layer, Dropout):
                RZs.append(None)
                RA = RA if entry is None or RA is None else RA * entry
            else:  # Activation
                RA = np.zeros_like(entry) if RA is None else RA
                RZs.append(RA)
                RA = layer.activation.backward(RA, entry)
        # the output layer's R{dZ_L} = c·w ⊙ R{A_L}
        Rd = self.network.loss.delta(np.zeros_like(RA), RA, self.sample_weight)
        alpha = self.network.alpha
        out = [None] * len(params)
        for i in range(len(layers) - 1, -1, -1):
            layer, k, entry, back = layers[i], slots[i], self.forward[i], self.backward[i]
            if isinstance(layer, Dense):
                A_in, A = entry
                dA, dZ = back
                if dA is not None:  # R{dZ} = R{dA} ⊙ f'(Z) + dA ⊙ f''(Z) ⊙ R{Z}
                    Rd = _r_through(layer.activation, Rd, dA, A, RZs[i])
                R_in = R_inputs[i]
                RdW = A_in.T @ Rd  # R{dW} = R{A_in}ᵀ·dZ + A_inᵀ·R{dZ} + (α/N)·V_W
                if R_in is not None:
                    RdW += R_in.T @ dZ
                if alpha:
                    RdW += (alpha / self.normaliser) * v[k]
                out[k] = RdW
                if layer.b is not None:
                    out[k + 1] = Rd.sum(axis=0)  # R{db} = Σ_rows R{dZ}
                if i:
                    Rd = Rd @ params[k].T + dZ @ v[k].T  # R{dA_in} = R{dZ}·Wᵀ + dZ·V_Wᵀ
            elif isinstance(layer, BatchNorm):
                centred, s, X_hat = entry
                d, dgamma, inner = back
                Rs, RX_hat = RZs[i]
                Rdbeta = Rd.sum(axis=0)
                Rdgamma = (Rd * X_hat + d * RX_hat).sum(axis=0)
                out[k], out[k + 1] = Rdgamma, Rdbeta
                if i:
                    gamma = params[k]
                    Rg = v[k] / s - gamma * Rs / (s * s)  # R{γ/s}
                    if layer.training:  # dX = (γ/s)·inner, inner = dY − (dβ + x̂ ⊙ dγ)/m
                        Rinner = Rd - (Rdbeta + RX_hat * dgamma + X_hat * Rdgamma) / d.shape[0]
                    else:  # dX = dY·γ/s
                        Rinner = Rd
                    Rd = Rg * inner + (gamma / s) * Rinner
            elif isinstance(layer, Dropout):
                if entry is not None:
                    Rd = Rd * entry  # R{dX} = R{dY} ⊙ M
            elif back is not None:  # a hidden Activation; at the output dZ passes through
                Rd = _r_through(layer.activation, Rd, back, entry, RZs[i])
        return out


# f'' = 0 (away from the kink): the R-backward's second term vanishes
_PIECEWISE_LINEAR = frozenset({"identity", "relu", "leaky_relu"})


def _r_through(activation, RdA, dA, A, RZ):
    """``R{dZ} = R{dA} ⊙ f'(Z) + dA ⊙ f''(Z) ⊙ R{Z}``."""
    RdZ = activation.backward(RdA, A)
    if activation.name not in _PIECEWISE_LINEAR:
        RdZ += dA * SECOND_DERIVATIVES[activation.name](A) * RZ
    return RdZ


def _exact_hvp(network, X, Y, v, sample_weight):
    """``H·v`` by the R-operator (see the module docstring for every line)."""
    return _Tape(network, X, Y, sample_weight).product(v)


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
    product, n = _flat_operator(network, X, y, sample_weight, method)
    return Sharpness(*largest_eigenvalue(product, n, iterations, tol, seed))


def _flat_operator(network, X, Y, sample_weight, method):
    """``(product, n)``: ``product(vector) = H·vector`` on flat float64 vectors of
    length ``n`` (the parameters end to end, in ``parameters()`` order).
    ``method=None`` picks ``'exact'`` where the network allows it."""
    if method is None:
        try:
            _check_exact(network)
            method = "exact"
        except ValueError:
            method = "finite_difference"
    elif method == "exact":
        _check_exact(network)
    like = network.parameters()
    splits = np.cumsum([p.size for p in like])[:-1]
    # the exact products at these weights share one forward and backward pass
    tape = _Tape(network, X, Y, sample_weight) if method == "exact" else None

    def product(vector):
        v = [part.reshape(p.shape).astype(p.dtype, copy=False)
             for part, p in zip(np.split(vector, splits), like)]
        if tape is not None:
            parts = tape.product(v)
        else:
            parts = hessian_vector_product(network, X, Y, v, sample_weight, method=method,
                                           _checked=True)
        return np.concatenate([part.ravel() for part in parts]).astype(np.float64)

    return product, sum(p.size for p in like)


# -- the spectrum ---------------------------------------------------------------------
def lanczos(product, start, steps, converged=None):
    """``steps`` steps of the Lanczos process with full reorthogonalisation.

    From ``q_1 = start/‖start‖`` the three-term recurrence::

        w = H·q_j − β_{j−1}·q_{j−1}       α_j = q_jᵀ·w
        w ← w − α_j·q_j                   β_j = ‖w‖,   q_{j+1} = w/β_j

    builds an orthonormal basis ``Q_m = [q_1 … q_m]`` of the Krylov space
    ``span{q_1, H·q_1, …, H^{m−1}·q_1}`` in which ``Q_mᵀ·H·Q_m = T_m``, the
    tridiagonal matrix with ``α`` on its diagonal and ``β`` beside it
    (Lanczos, 1950). In floating point the ``q_j`` lose their orthogonality
    as soon as a Ritz value converges, and copies of it ("ghosts") appear;
    subtracting every earlier ``q`` from ``w`` again, twice (classical
    Gram–Schmidt, "twice is enough"), keeps ``Q`` orthonormal to rounding.

    The eigenvalues ``θ_i`` of ``T_m`` (Ritz values) approximate ``H``'s
    from the ends of the spectrum inwards; with ``T_m = S·diag(θ)·Sᵀ`` the
    Ritz vector ``y_i = Q_m·s_i`` has residual ``‖H·y_i − θ_i·y_i‖ =
    |β_m·S_{m,i}|``, which costs no product to know. ``converged(θ, S, β_m)``,
    called after each step, may stop the process early. The process also
    stops when ``β_j`` vanishes: the Krylov space is then invariant and its
    Ritz values are exact eigenvalues.

    Returns ``(alpha, beta, Q)``, each with ``m`` rows: ``beta[:m−1]`` is
    ``T_m``'s off-diagonal and ``beta[m−1] = β_m`` the residual factor (0 when
    the space became invariant).
    """
    n = start.shape[0]
    steps = int(min(steps, n))
    Q = np.zeros((steps, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)
    q = start / np.linalg.norm(start)
    scale = 0.0
    for j in range(steps):
        Q[j] = q
        w = product(q)
        alpha[j] = q @ w
        w -= alpha[j] * q
        if j:
            w -= beta[j - 1] * Q[j - 1]
        for _ in range(2):  # full reorthogonalisation against q_1 … q_j
            w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        scale = max(scale, abs(alpha[j]), beta[j])
        if beta[j] <= 1e-12 * scale:  # an invariant subspace: T_j is exact
            beta[j] = 0.0
            break
        if converged is not None and converged(alpha[:j + 1], beta[:j + 1]):
            break
        q = w / beta[j]
    m = j + 1
    return alpha[:m], beta[:m], Q[:m]


def _tridiagonal(alpha, beta):
    m = len(alpha)
    T = np.diag(alpha)
    if m > 1:
        off = beta[:m - 1]
        T += np.diag(off, 1) + np.diag(off, -1)
    return T


@dataclass
class HessianEigen:
    """The result of :func:`hessian_eigenvalues`.

    ``values`` in decreasing order; ``vectors`` one unit eigenvector per row
    (flat, in ``parameters()`` order); ``residuals`` each pair's
    ``‖H·y − θ·y‖`` (an eigenvalue of ``H`` lies within it of ``θ``);
    ``iterations`` the Hessian-vector products used; ``converged`` whether
    every residual fell below ``tol·max|θ|``."""

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    iterations: int
    converged: bool


def _wanted(m, k, which):
    """Indices into the ascending Ritz values of the ones asked for."""
    k = min(k, m)
    top = list(range(m - k, m))
    bottom = list(range(k))
    if which == "largest":
        return top
    if which == "smallest":
        return bottom
    return sorted(set(top) | set(bottom))


def hessian_eigenvalues(network, X, y, k=5, which="largest", sample_weight=None,
                        max_iterations=None, tol=1e-6, seed=0, start=None, method=None):
    """The ``k`` largest (or smallest, or both) eigenvalues of the loss's Hessian
    and their eigenvectors, by Lanczos on exact Hessian-vector products.

    Lanczos (:func:`lanczos`, with full reorthogonalisation) on ``H`` from a
    random unit start vector (Gaussian, from ``seed``; or ``start``, e.g. the
    eigenvector of an earlier call, which makes the next one quick). After
    each step the Ritz values ``θ`` of ``T_m`` are checked: the process stops
    when every wanted Ritz pair has residual ``|β_m·S_{m,i}| <= tol·max|θ|``.
    For a symmetric ``H`` an eigenvalue lies within the residual of each
    ``θ_i`` (and within ``residual²/gap`` once the pair is isolated), so the
    default ``tol = 1e-6`` gives eigenvalues good to about ``1e-6``
    relative or better. The ends of the spectrum converge first, which is
    why the largest and the most negative eigenvalues (a saddle's directions
    of descent) are cheap while the middle is not. The same as PyHessian's
    top eigenvalues (Yao et al., "PyHessian: Neural Networks Through the
    Lens of the Hessian", 2020), which uses power iteration with deflation;
    Lanczos needs far fewer products for several at once.

    Parameters
    ----------
    network, X, y, sample_weight : as for :func:`hessian_vector_product`, at
        the network's current weights and mode (dropout masks held fixed).
    k : int, default 5
    which : 'largest', 'smallest' or 'both' (``k`` of each end)
    max_iterations : int, optional
        The most products; default ``max(100, 10·k)``, at most the number of
        parameters (where Lanczos is exact).
    tol : float, default 1e-6
    start : array, optional
        The flat start vector (length: the number of parameters).
    method : None, 'exact' or 'finite_difference'
        None: exact where the network allows it.

    Returns
    -------
    HessianEigen
    """
    if which not in ("largest", "smallest", "both"):
        raise ValueError(f"which must be 'largest', 'smallest' or 'both', got {which!r}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    X, Y, sample_weight = network.check_data(X, y, sample_weight)
    product, n = _flat_operator(network, X, Y, sample_weight, method)
    return _extreme_eigenpairs(product, n, k, which, max_iterations, tol, seed, start)


def _extreme_eigenpairs(product, n, k, which, max_iterations, tol, seed, start):
    if start is None:
        start = np.random.default_rng(seed).standard_normal(n)
    else:
        start = np.asarray(start, dtype=np.float64).ravel()
        if start.shape != (n,):
            raise ValueError(f"start must have {n} entries (one per parameter), got "
                             f"{start.shape[0]}")
        if not np.any(start):
            raise ValueError("start must not be all zeros")
    steps = min(n, max(100, 10 * k) if max_iterations is None else int(max_iterations))

    def converged(alpha, beta):
        m = len(alpha)
        if m < min(k + 1, n):
            return False
        theta, S = np.linalg.eigh(_tridiagonal(alpha, beta))
        idx = _wanted(m, k, which)
        residual = np.abs(beta[-1] * S[-1, idx])
        return bool(np.all(residual <= tol * max(np.abs(theta).max(), 1e-300)))

    alpha, beta, Q = lanczos(product, start, steps, converged)
    m = len(alpha)
    theta, S = np.linalg.eigh(_tridiagonal(alpha, beta))
    idx = _wanted(m, k, which)
    residuals = np.abs(beta[-1] * S[-1, idx])  # β_m = 0: an invariant subspace, exact
    ok = bool(np.all(residuals <= tol * max(np.abs(theta).max(), 1e-300)))
    order = np.argsort(theta[idx])[::-1]
    idx = np.asarray(idx)[order]
    vectors = (Q.T @ S[:, idx]).T
    return HessianEigen(theta[idx], vectors, residuals[order], m, ok)


@dataclass
class HessianTrace:
    """The result of :func:`hessian_trace`: the estimate of ``tr(H)``, its
    standard error, and each probe's ``zᵀ·H·z``."""

    value: float
    standard_error: float
    samples: np.ndarray


def hessian_trace(network, X, y, samples=100, seed=0, sample_weight=None, method=None):
    """``tr(H)`` by Hutchinson's estimator, with its standard error.

    For a random vector ``z`` with ``E[z·zᵀ] = I``,
    ``E[zᵀ·H·z] = E[tr(H·z·zᵀ)] = tr(H)``. Rademacher entries (±1, each with
    probability ½) give the smallest variance among such vectors:
    ``Var[zᵀHz] = 2·Σ_{i≠j} H_ij²`` (Hutchinson, "A stochastic estimator of the
    trace of the influence matrix for Laplacian smoothing splines", 1989).
    With ``S`` probes ``t_s = z_sᵀ·H·z_s``, the estimate is their mean
    ``t̄`` and its standard error ``sd(t)/√S`` (``sd`` with ``S − 1``); the
    true trace lies within two standard errors about 95 % of the time.
    Each probe costs one Hessian-vector product. PyHessian's trace is the
    same estimator (Yao et al., 2020).
    """
    samples = int(samples)
    if samples < 2:
        raise ValueError(f"samples must be >= 2 (a standard error needs two), got {samples}")
    X, Y, sample_weight = network.check_data(X, y, sample_weight)
    product, n = _flat_operator(network, X, Y, sample_weight, method)
    rng = np.random.default_rng(seed)
    values = np.empty(samples)
    for s in range(samples):
        z = rng.integers(0, 2, n) * 2.0 - 1.0  # Rademacher: ±1
        values[s] = z @ product(z)
    return HessianTrace(float(values.mean()), float(values.std(ddof=1) / np.sqrt(samples)),
                        values)


@dataclass
class SpectralDensity:
    """The result of :func:`spectral_density`: ``density`` on ``grid`` (it
    integrates to 1), and the quadrature behind it: per probe vector the
    ``nodes`` (Ritz values) and their ``weights`` (each probe's sum to 1)."""

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    sigma: float


def spectral_density(network, X, y, vectors=5, steps=80, points=1000, sigma=None, seed=0,
                     sample_weight=None, method=None):
    """The eigenvalue density of the Hessian by stochastic Lanczos quadrature.

    The density ``φ(t) = (1/n)·Σ_i δ(t − λ_i)``, broadened by a Gaussian
    ``g_σ(t) = exp(−t²/2σ²)/(σ√(2π))``, is ``φ_σ(t) = (1/n)·tr g_σ(t·I − H)``.
    For a unit Gaussian probe ``v`` (normalised), ``vᵀ·f(H)·v =
    Σ_i (vᵀu_i)²·f(λ_i)`` is a Stieltjes integral, and ``m`` Lanczos steps from
    ``v`` give its Gauss quadrature: nodes ``θ_j`` (the Ritz values) and
    weights ``τ_j = S_{1,j}²`` (the first entries of ``T_m``'s eigenvectors),
    exact for polynomials of degree up to ``2m − 1``. Averaging over
    ``vectors`` probes::

        φ_σ(t) ≈ (1/V)·Σ_v Σ_j τ_j^(v)·g_σ(t − θ_j^(v))

    (Lin, Saad & Yang, "Approximating spectral densities of large matrices",
    2016; applied to networks by Ghorbani, Krishnan & Xiao, "An investigation
    into neural net optimization via Hessian eigenvalue density", 2019, and
    PyHessian, Yao et al. 2020). The weights of each probe sum to 1, so the
    density integrates to 1; the grid runs ``6·σ`` past the outermost nodes,
    where less than 1e-8 of the mass is left, and the trapezoid rule on it
    (step well below ``σ``) gives 1 to within 1e-6.

    Parameters
    ----------
    vectors : int, default 5
        Probe vectors (PyHessian's default is 1).
    steps : int, default 80
        Lanczos steps per probe (at most the number of parameters).
    points : int, default 1000
        Grid points.
    sigma : float, optional
        The broadening; default 1 % of the spread of the nodes.

    Returns
    -------
    SpectralDensity
    """
    vectors, steps, points = int(vectors), int(steps), int(points)
    if vectors < 1 or steps < 1 or points < 10:
        raise ValueError(f"vectors and steps must be >= 1 and points >= 10, got {vectors}, "
                         f"{steps} and {points}")
    X, Y, sample_weight = network.check_data(X, y, sample_weight)
    product, n = _flat_operator(network, X, Y, sample_weight, method)
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    for _ in range(vectors):
        alpha, beta, _ = lanczos(product, rng.standard_normal(n), steps)
        theta, S = np.linalg.eigh(_tridiagonal(alpha, beta))
        nodes.append(theta)
        weights.append(S[0] ** 2)  # τ_j = (first entry of the j-th eigenvector)²
    width = max(len(t) for t in nodes)
    node_array = np.full((vectors, width), np.nan)
    weight_array = np.zeros((vectors, width))
    for i, (t, w) in enumerate(zip(nodes, weights)):
        node_array[i, :len(t)], weight_array[i, :len(w)] = t, w
    low, high = np.nanmin(node_array), np.nanmax(node_array)
    if sigma is None:
        sigma = 0.01 * max(high - low, 1e-8 * max(abs(low), abs(high), 1.0))
    sigma = float(sigma)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    grid = np.linspace(low - 6 * sigma, high + 6 * sigma, points)
    density = np.zeros(points)
    for t, w in zip(nodes, weights):
        gaussians = np.exp(-0.5 * ((grid[:, None] - t[None, :]) / sigma) ** 2)
        density += gaussians @ w
    density /= vectors * sigma * np.sqrt(2 * np.pi)
    return SpectralDensity(grid, density, node_array, weight_array, sigma)


# -- the edge of stability ------------------------------------------------------------
def stability_threshold(lr, momentum=0.0, nesterov=False):
    """The largest sharpness gradient descent at rate ``lr`` is stable at.

    On a quadratic with curvature ``λ`` a step maps ``δ ← (1 − η·λ)·δ``,
    stable while ``|1 − η·λ| <= 1``, so while ``λ <= 2/η``. Heavy-ball
    momentum ``β`` (``δ_{t+1} = (1 − η·λ)·δ_t + β·(δ_t − δ_{t−1})``) has
    characteristic roots inside the unit circle while ``λ <= (2 + 2β)/η``;
    Nesterov's (the gradient at the look-ahead point) while
    ``λ <= (2 + 2β)/((1 + 2β)·η)``. Returns the threshold, one per entry of ``lr``.
    """
    lr = np.asarray(lr, dtype=np.float64)
    if nesterov and momentum:
        return (2 + 2 * momentum) / ((1 + 2 * momentum) * lr)
    return (2 + 2 * momentum) / lr


class SharpnessTracker(Callback):
    """A training callback: ``λ_max`` of the full-data loss every ``every`` epochs
    (and after the last, unless the run raised or Ctrl-C stopped it), to watch
    gradient descent reach the edge of stability.

    Cohen et al. (2021) found that full-batch gradient descent at rate ``η``
    first raises the sharpness ("progressive sharpening") until it reaches
    ``2/η``, then hovers there while the loss keeps falling, though no longer
    monotonically. Each measurement is Lanczos (:func:`hessian_eigenvalues`,
    ``k = 1``) started from the previous measurement's eigenvector, which
    changes little between measurements, so a few products usually suffice;
    ``tol`` is the relative residual it stops at (1e-3: a plot's precision).
    The network is measured at its current weights and mode (dropout masks
    held, batch statistics of all the rows), and left as it was.

    Recorded: ``epochs`` (counting from 1), ``values`` (``λ_max``), ``lr``
    (the rate of each measured epoch), ``products`` (Hessian-vector products
    used). ``logs['sharpness']`` carries each measurement to the callbacks
    after this one.
    """

    def __init__(self, X, y, every=1, sample_weight=None, tol=1e-3, max_iterations=60, seed=0):
        every = int(every)
        if every < 1:
            raise ValueError(f"every must be >= 1 epoch, got {every}")
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.every, self.tol, self.max_iterations, self.seed = every, tol, max_iterations, seed
        self.epochs, self.values, self.lr, self.products = [], [], [], []
        self._data = self._vector = self._operator = None
        self._last_epoch = None

    def on_train_begin(self, trainer):
        network = trainer.network
        self._data = network.check_data(self.X, self.y, self.sample_weight)

    def _measure(self, trainer, epoch, lr):
        network = trainer.network
        X, Y, w = self._data
        product, n = _flat_operator(network, X, Y, w, None)
        result = _extreme_eigenpairs(product, n, 1, "largest", self.max_iterations, self.tol,
                                     self.seed, self._vector)
        self._vector = result.vectors[0]
        self.epochs.append(epoch + 1)
        self.values.append(float(result.values[0]))
        self.lr.append(float(lr))
        self.products.append(int(result.iterations))
        self._last_epoch = epoch
        return self.values[-1]

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.every == 0 and np.isfinite(logs.get("loss", 0.0)):
            logs["sharpness"] = self._measure(trainer, epoch, logs.get("lr", trainer.optimizer.lr))

    def on_train_end(self, trainer):
        if getattr(trainer, "aborted", False) or getattr(trainer, "interrupted", False):
            return  # a run that raised or was stopped: no Lanczos to delay or mask the error
        last = trainer.history.epoch[-1] if trainer.history.epoch else None
        if last is not None and last != self._last_epoch and trainer.history.loss and \
                np.isfinite(trainer.history.loss[-1]):
            self._measure(trainer, last, trainer.history.lr[-1] if trainer.history.lr
                          else trainer.optimizer.lr)

    def by_epoch(self, n_epochs):
        """``λ_max`` per epoch 1..``n_epochs``, NaN where not measured."""
        out = np.full(n_epochs, np.nan)
        for e, v in zip(self.epochs, self.values):
            if 1 <= e <= n_epochs:
                out[e - 1] = v
        return out
