"""Check hand-derived gradients against finite differences.

The first tutorial introduces the derivative as the one-sided difference
``f'(x) ≈ (f(x + h) − f(x)) / h``. Its error is ``O(h)``: Taylor's theorem
gives ``f(x + h) = f(x) + h·f'(x) + (h²/2)·f''(x) + …``, so the quotient is
off by about ``(h/2)·f''(x)``. The central difference

    ``f'(x) ≈ (f(x + h) − f(x − h)) / (2h)``

cancels the ``h²`` terms and is off by ``O(h²)``: with ``h = 1e-6`` in float64
the truncation error is about 1e-12 instead of 1e-6, small enough that a
relative error above ~1e-6 really means a wrong formula.

For each parameter array the result reports the relative error

    ``‖g_analytic − g_numeric‖ / max(‖g_analytic‖ + ‖g_numeric‖, floor)``

The denominator cannot vanish: its ``floor`` is where finite differences stop
resolving the gradient. Each loss is computed to a few units of rounding,
about ``ε·|L|`` (``ε = 2.2e-16`` in float64), so a central difference carries
noise ``σ = NOISE_ULPS·ε·|L| / h`` (≈ 4·2.2e-16·0.7 / 1e-6 ≈ 6e-10 for a loss
of 0.7); over ``k`` entries the noise has norm about ``√k·σ``. A gradient of
norm ``g`` is resolved to a relative precision ``√k·σ / g``, which reaches the
tolerance only when ``g ≥ √k·σ / tolerance``: that is the floor
(``floor = √k·σ / tolerance``, about 6e-4 for one entry at the default
tolerance of 1e-6). A bias whose analytic gradient is exactly 0 and whose
numeric one is 5.6e-11 of rounding then reads as 1e-7, not as a failure; a
1 % error in any gradient above the noise still reads as far above 1e-6.

Kinks: ReLU and leaky ReLU have no derivative at 0. When the step ``±h`` of
an entry moves some unit's input across 0, the central difference measures
the average of two slopes and disagrees with the (one-sided) analytic
gradient although both are right. Such entries are found by comparing which
side of 0 every ReLU/leaky-ReLU input lies on at ``x + h`` and ``x − h`` with
the sides at ``x``; they are left out of the relative error and counted in
``kinks`` instead.

Dropout and batch normalisation: the check differentiates the function the
network computes in its current mode. In training mode (a new network's
mode) each dropout mask is drawn once and held fixed for every evaluation
(the Generator's state is put back before each one), and batch normalisation
uses the batch's statistics: exactly the function a training step
differentiates, the batch-norm backward included. In evaluation mode
(``network.eval()``) dropout is the identity and batch normalisation a fixed
affine map on its running statistics. Either way the running statistics and
the Generator are restored afterwards: the check changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GradientCheck", "Replay", "gradient_check", "numerical_gradient"]

#: Units of rounding (``ε·|L|``) in one evaluation of the loss: the noise of a central
#: difference is ``NOISE_ULPS·ε·|L| / h`` (see the module docstring).
NOISE_ULPS = 4
#: The default tolerance on the relative error.
TOLERANCE = 1e-6
_KINKED = ("relu", "leaky_relu")


@dataclass
class GradientCheck:
    """Per-parameter results of :func:`gradient_check`."""

    names: list
    shapes: list
    relative_errors: list
    max_abs_differences: list
    analytic: list
    numeric: list
    kinks: list = None
    floors: list = None
    tolerance: float = TOLERANCE

    def __post_init__(self):
        if self.kinks is None:
            self.kinks = [0] * len(self.names)

    @property
    def max_relative_error(self):
        return max(self.relative_errors)

    @property
    def n_kinks(self):
        """Entries left out because their finite-difference step crossed a kink."""
        return int(sum(self.kinks))

    def passed(self, tolerance=None):
        """Every relative error below ``tolerance`` (default: the check's own)."""
        return self.max_relative_error < (self.tolerance if tolerance is None else tolerance)

    def as_dict(self):
        """``{parameter name: relative error}``."""
        return dict(zip(self.names, self.relative_errors))

    def __str__(self):
        lines = [(f"{'parameter':<10} {'shape':<12} {'max |diff|':>12} "
                  f"{'relative error':>15} {'kinks':>6}")]
        for name, shape, diff, rel, kinks in zip(self.names, self.shapes,
                                                 self.max_abs_differences,
                                                 self.relative_errors, self.kinks):
            lines.append(f"{name:<10} {shape!s:<12} {diff:>12.3e} {rel:>15.3e} {kinks:>6}")
        if self.n_kinks:
            lines.append(f"{self.n_kinks} entr{'y' if self.n_kinks == 1 else 'ies'} left out: "
                         f"the step ±h moved a ReLU input across 0 (a kink), where the "
                         f"finite difference averages two slopes")
        return "\n".join(lines)


def numerical_gradient(f, x, h=1e-6):
    """Central differences of the scalar function ``f()`` with respect to the array
    ``x``, which is perturbed in place entry by entry and restored."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing to it perturbs x
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        f_plus = f()
        flat[i] = original - h
        f_minus = f()
        flat[i] = original
        grad.reshape(-1)[i] = (f_plus - f_minus) / (2 * h)
    return grad


def gradient_check(network, X, y, sample_weight=None, h=1e-6, tolerance=TOLERANCE):
    """Compare the network's backpropagated gradients with central differences.

    Parameters
    ----------
    network : Network
        Checked at its current weights (restored afterwards) and in its current
        mode (training or evaluation; see the module docstring). Use float64:
        float32 has too few digits for a tight check.
    X, y : array-like
        The data, as for :func:`glassnet.train`.
    h : float, default 1e-6
        The finite-difference step.
    tolerance : float, default 1e-6
        The relative error below which a gradient agrees; it sets the floor of
        the relative error's denominator (see the module docstring).

    Returns
    -------
    GradientCheck
        ``relative_errors[i]`` for ``network.parameter_names()[i]``, ``kinks[i]``
        the entries left out because their step crossed a ReLU kink;
        ``passed()`` when every relative error is below ``tolerance``.

    Examples
    --------
    >>> import glassnet as gn
    >>> from glassnet.datasets import load_wisconsin
    >>> X, y = load_wisconsin(return_X_y=True)
    >>> net = gn.Network.from_sizes([9, 15, 1], seed=1)
    >>> check = gn.gradient_check(net, X[:20] / 10, y[:20])
    >>> check.names
    ['W1', 'b1', 'W2', 'b2']
    >>> check.passed()
    True
    """
    X, Y, sample_weight = network.check_data(X, y, sample_weight)
    replay = Replay(network)
    try:
        loss = network.loss_and_gradients(X, Y, sample_weight)
        analytic = [g.astype(np.float64) for g in network.gradients()]
        sides = _kink_sides(network)

        def evaluate():
            replay()  # the same dropout masks, the same running statistics
            value = network.objective(Y, network.forward(X), sample_weight)
            crossed = any(not np.array_equal(a, b) for a, b in zip(_kink_sides(network), sides))
            return value, crossed

        numeric, kinked = zip(*[_differences(evaluate, p, h) for p in network.parameters()])
    finally:
        replay()
    sigma = NOISE_ULPS * np.finfo(np.float64).eps * max(abs(float(loss)), 1e-300) / h
    rel, diffs, floors = [], [], []
    for a, n, skip in zip(analytic, numeric, kinked):
        keep = ~skip
        a_kept, n_kept = a[keep], n[keep]
        floor = np.sqrt(max(a_kept.size, 1)) * sigma / tolerance
        rel.append(float(np.linalg.norm(a_kept - n_kept)
                         / max(np.linalg.norm(a_kept) + np.linalg.norm(n_kept), floor)))
        diffs.append(float(np.abs(a_kept - n_kept).max()) if a_kept.size else 0.0)
        floors.append(float(floor))
    return GradientCheck(network.parameter_names(), [p.shape for p in network.parameters()],
                         rel, diffs, analytic, list(numeric), [int(k.sum()) for k in kinked],
                         floors, tolerance)


def _kink_sides(network):
    """For every ReLU/leaky-ReLU layer, which of its last inputs were above 0
    (their outputs are above 0 exactly then)."""
    return [layer.A > 0 for layer in network.layers
            if getattr(getattr(layer, "activation", None), "name", None) in _KINKED
            and getattr(layer, "A", None) is not None]


def _differences(evaluate, x, h):
    """Central differences of ``evaluate()``'s loss with respect to each entry of
    ``x`` (perturbed in place and restored), and which entries' steps crossed a kink."""
    grad = np.zeros(x.shape, dtype=np.float64)
    kinked = np.zeros(x.shape, dtype=bool)
    flat = x.reshape(-1)  # a view: writing to it perturbs x
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        f_plus, crossed_plus = evaluate()
        flat[i] = original - h
        f_minus, crossed_minus = evaluate()
        flat[i] = original
        grad.reshape(-1)[i] = (f_plus - f_minus) / (2 * h)
        kinked.reshape(-1)[i] = crossed_plus or crossed_minus
    return grad, kinked


class Replay:
    """Remembers the network's random Generators and running statistics; calling it
    puts them back, so that every forward pass after it draws the same dropout
    masks and starts from the same running statistics (used by
    :func:`gradient_check` and by finite-difference Hessian-vector products)."""

    def __init__(self, network):
        generators = {id(layer.rng): layer.rng for layer in network.layers
                      if getattr(layer, "rng", None) is not None}
        self.generators = [(g, g.bit_generator.state) for g in generators.values()]
        self.buffers = network.buffers()
        self.saved = [b.copy() for b in self.buffers]

    def __call__(self):
        for generator, state in self.generators:
            generator.bit_generator.state = state
        for buffer, saved in zip(self.buffers, self.saved):
            np.copyto(buffer, saved)
