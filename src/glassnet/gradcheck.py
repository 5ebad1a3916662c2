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
``‖g_analytic − g_numeric‖ / max(‖g_analytic‖ + ‖g_numeric‖, 1e-8)``. The
floor of 1e-8 keeps a gradient that is exactly zero (a bias feeding batch
normalisation, which subtracts it again) from reading as a 100 % error when
its analytic value is rounding noise of 1e-18; a real error of that size
shows in ``max_abs_differences``.

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

_FLOOR = 1e-8  # gradient norms below this are compared on this absolute scale


@dataclass
class GradientCheck:
    """Per-parameter results of :func:`gradient_check`."""

    names: list
    shapes: list
    relative_errors: list
    max_abs_differences: list
    analytic: list
    numeric: list

    @property
    def max_relative_error(self):
        return max(self.relative_errors)

    def passed(self, tolerance=1e-6):
        return self.max_relative_error < tolerance

    def as_dict(self):
        """``{parameter name: relative error}``."""
        return dict(zip(self.names, self.relative_errors))

    def __str__(self):
        lines = [f"{'parameter':<10} {'shape':<12} {'max |diff|':>12} {'relative error':>15}"]
        for name, shape, diff, rel in zip(self.names, self.shapes, self.max_abs_differences,
                                          self.relative_errors):
            lines.append(f"{name:<10} {shape!s:<12} {diff:>12.3e} {rel:>15.3e}")
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


def gradient_check(network, X, y, sample_weight=None, h=1e-6):
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

    Returns
    -------
    GradientCheck
        ``relative_errors[i]`` for ``network.parameter_names()[i]``; below
        ~1e-6 in float64 means the analytic gradient is right.

    Examples
    --------
    >>> import glassnet as gn
    >>> from glassnet.datasets import load_wisconsin
    >>> X, y = load_wisconsin(return_X_y=True)
    >>> net = gn.Network.from_sizes([9, 15, 1], seed=1)
    >>> check = gn.gradient_check(net, X[:20] / 10, y[:20])
    >>> check.names
    ['W1', 'b1', 'W2', 'b2']
    >>> check.passed(1e-6)
    True
    """
    X, Y, sample_weight = network.check_data(X, y, sample_weight)
    replay = Replay(network)
    try:
        network.loss_and_gradients(X, Y, sample_weight)
        analytic = [g.astype(np.float64) for g in network.gradients()]

        def loss():
            replay()  # the same dropout masks, the same running statistics
            return network.objective(Y, network.forward(X), sample_weight)

        numeric = [numerical_gradient(loss, p, h) for p in network.parameters()]
    finally:
        replay()
    rel, diffs = [], []
    for a, n in zip(analytic, numeric):
        rel.append(float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n),
                                                     _FLOOR)))
        diffs.append(float(np.abs(a - n).max()))
    return GradientCheck(network.parameter_names(), [p.shape for p in network.parameters()],
                         rel, diffs, analytic, numeric)


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
