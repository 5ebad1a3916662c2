"""Watch training happen: gradient norms and unit health, layer by layer.

:class:`DynamicsRecorder` is a callback. Every ``every`` steps it records,
for each layer ``l``:

- ``‖dW_l‖``, the Frobenius norm of the weight gradient. Backpropagation
  multiplies ``dA`` by ``f'(Z)`` once per layer on the way down; with
  sigmoids ``f' <= 1/4``, so in a deep sigmoid network the norms shrink
  layer after layer towards the input (vanishing gradients), while ReLU's
  ``f' = 1`` on active units keeps them of one order.
- the fraction of *inactive* units in the batch: a unit is **dead** when its
  activation's derivative ``f'(z)`` is 0 for every row, so no gradient
  reaches its incoming weights (a ReLU unit whose ``z <= 0`` on every row; a
  leaky ReLU never is, its slope below 0 keeps a gradient); a sigmoid or tanh
  unit is **saturated** when ``f'(z)`` is below 5 % of its maximum on at
  least 90 % of the rows.
"""

from __future__ import annotations

import numpy as np

from .layers import Dense
from .training import Callback

__all__ = [
    "DynamicsRecorder",
    "decision_boundary_figure",
    "gradient_norm_figure",
    "hidden_unit_layers",
    "inactive_fraction",
    "unit_health_figure",
    "write_training_dynamics",
]


def inactive_fraction(activation, A):
    """Fraction of dead or saturated units in a batch ``A = f(Z)`` (rows are samples).

    ``activation`` is an :class:`~glassnet.activations.Activation` or its name.
    ``f'(Z)`` comes from the activation's own ``backward`` (``dZ = dA ⊙ f'(Z)``
    with ``dA = 1``). Dead: ``f'(Z) = 0`` on every row. Saturated (sigmoid,
    tanh): ``f'(Z)`` below 5 % of its maximum on at least 90 % of the rows.
    A softmax couples its units, so none is counted.
    """
    from .activations import get_activation

    activation = get_activation(activation)
    if activation.name == "softmax":
        return 0.0
    A = np.asarray(A, dtype=np.float64)
    derivative = activation.backward(np.ones_like(A), A)  # f'(Z), row by row
    inactive = np.all(derivative == 0, axis=0)
    peak = {"sigmoid": 0.25, "tanh": 1.0}.get(activation.name)
    if peak is not None:
        inactive |= np.mean(derivative < 0.05 * peak, axis=0) >= 0.9
    return float(np.mean(inactive))


class DynamicsRecorder(Callback):
    """Record per-layer gradient norms and inactive-unit fractions every ``every`` steps."""

    def __init__(self, every=1):
        self.every = max(1, int(every))
        self.steps = []
        self.gradient_norms = []  # one list per record: ‖dW_l‖ for each dense layer
        self.inactive = []  # one list per record: fraction for each hidden layer
        self.activations = None

    def on_step_end(self, trainer, step, loss):
        if step % self.every:
            return
        layers = trainer.network.layers
        units = hidden_unit_layers(layers)
        self.activations = [layer.activation.name for layer in units]
        self.steps.append(step)
        self.gradient_norms.append([float(np.linalg.norm(layer.dW)) for layer in layers
                                    if isinstance(layer, Dense)])
        self.inactive.append([inactive_fraction(layer.activation, layer.A)
                              for layer in units])


def hidden_unit_layers(layers):
    """The layer whose output is each hidden layer's activations: per dense layer
    but the last, the last layer with an activation before the next dense one
    (the ``Dense`` itself, or the ``Activation`` after its batch normalisation)."""
    units, current = [], None
    for layer in layers:
        if isinstance(layer, Dense) and current is not None:
            units.append(current)
        if hasattr(layer, "activation"):
            current = layer
    return units


def gradient_norm_figure(recorder, title="Gradient norm per layer"):
    """``‖dW_l‖`` over the steps, one line per layer (log scale)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.2))
    ax = figure.add_subplot()
    norms = np.array(recorder.gradient_norms)
    for layer in range(norms.shape[1]):
        ax.plot(recorder.steps, np.maximum(norms[:, layer], 1e-300), label=f"layer {layer + 1}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("‖dW‖ (Frobenius)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure


def unit_health_figure(recorder, title="Inactive units per hidden layer"):
    """Fraction of dead (f' = 0 on every row) or saturated (sigmoid/tanh) units
    over the steps."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.2))
    ax = figure.add_subplot()
    fractions = np.array(recorder.inactive)
    for layer in range(fractions.shape[1] if fractions.ndim == 2 else 0):
        kind = "saturated" if recorder.activations[layer] in ("sigmoid", "tanh") else "dead"
        ax.plot(recorder.steps, fractions[:, layer],
                label=f"layer {layer + 1} ({recorder.activations[layer]}: {kind})")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("fraction of units")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure


def decision_boundary_figure(predict_proba, X, y, classes, title="Decision boundary"):
    """Predicted class over a grid of a 2-D input space, with the training points."""
    from matplotlib.figure import Figure

    X = np.asarray(X, dtype=np.float64)
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0) + 1e-9)
    gx, gy = np.meshgrid(np.linspace(X[:, 0].min() - pad[0], X[:, 0].max() + pad[0], 200),
                         np.linspace(X[:, 1].min() - pad[1], X[:, 1].max() + pad[1], 200))
    proba = predict_proba(np.column_stack([gx.ravel(), gy.ravel()]))
    figure = Figure(figsize=(5.6, 4.8))
    ax = figure.add_subplot()
    labels = np.asarray(classes)
    y = np.asarray(y)
    if proba.shape[1] == 2:
        surface = ax.contourf(gx, gy, proba[:, 1].reshape(gx.shape), levels=20, cmap="RdBu_r",
                              alpha=0.7)
        figure.colorbar(surface, ax=ax, label=f"P({labels[1]})")
        ax.contour(gx, gy, proba[:, 1].reshape(gx.shape), levels=[0.5], colors="black")
    else:
        ax.contourf(gx, gy, proba.argmax(axis=1).reshape(gx.shape), alpha=0.4, cmap="tab10",
                    levels=np.arange(len(labels) + 1) - 0.5)
    for k, label in enumerate(labels):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=14, edgecolor="black", linewidth=0.3,
                   color=f"C{k}" if proba.shape[1] > 2 else ("#2166ac", "#b2182b")[k],
                   label=str(label))
    ax.set_title(title)
    ax.legend(fontsize=8)
    return figure


def write_training_dynamics(outputs, recorder, predict_proba, X, y, classes, feature_names):
    """The ``--plots all`` figures: gradient norms, unit health, and (2-D data) the boundary."""
    from .plots import save_figure

    save_figure(gradient_norm_figure(recorder), outputs.path("gradient_norms.png"))
    save_figure(unit_health_figure(recorder), outputs.path("unit_health.png"))
    if X.shape[1] == 2 and classes is not None:
        figure = decision_boundary_figure(predict_proba, X, y, classes)
        axes = figure.axes[0]
        axes.set_xlabel(f"{feature_names[0]} (scaled)")
        axes.set_ylabel(f"{feature_names[1]} (scaled)")
        save_figure(figure, outputs.path("decision_boundary.png"))
