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
    "TrainingHealth",
    "decision_boundary_figure",
    "gradient_norm_figure",
    "health_histogram_figure",
    "hidden_unit_layers",
    "inactive_fraction",
    "unit_health_figure",
    "update_ratio_figure",
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


#: The update-to-data ratio ‖ΔW‖/‖W‖ per step that practice takes as healthy
#: (Karpathy, "Building makemore Part 3", 2022): far below, a layer learns
#: slowly; far above (1e-2 and more), each step rewrites much of the layer.
UPDATE_RATIO_REFERENCE = 1e-3


class TrainingHealth(Callback):
    """What practitioners read to see a network train badly before the loss shows it.

    **Histograms**, at the chosen ``epochs`` (counting from 1; the last epoch
    is always added), for every hidden layer ``l`` on up to ``rows`` rows of
    ``X``: the pre-activations ``Z_l``, the activations ``A_l = f(Z_l)`` and
    the gradients ``dA_l = ∂L/∂A_l`` that reach them, each as ``bins`` counts
    over its own range; and ``dW_l`` of every dense layer (the data term's
    gradient). With each: the mean and standard deviation, and the fraction
    of **saturated** values (tanh ``|a| > 0.97``, sigmoid ``a < 0.015`` or
    ``a > 0.985``: ``f'`` is then below 6 % of its peak, so little gradient
    passes) or, for ReLU, of units **dead** on every row (``z <= 0``, no
    gradient at all). A tanh layer whose ``A`` histogram piles up at ±1 is
    saturated; a ReLU layer with a spike at 0 is losing units.

    **Update-to-data ratio**, every ``every`` steps, per dense layer:
    ``‖W_after − W_before‖ / ‖W_before‖`` over one optimiser step (Frobenius
    norms). About ``1e-3`` (:data:`UPDATE_RATIO_REFERENCE`) is the usual
    healthy order; ``1e-2`` and more over many steps often comes before a
    divergence, ``1e-5`` and less means the layer barely learns.

    The histograms come from a forward and backward pass of their own, in
    the network's current mode (dropout masks and batch statistics as a step
    sees them), after which the gradients, running statistics and random
    Generators are put back: training goes on as if nothing had looked.

    Recorded: ``histograms`` (``{epoch: {kind: [per layer (counts, edges)]}}``,
    ``kind`` one of ``'Z'``, ``'A'``, ``'dA'``, ``'dW'``), ``summaries``
    (``{epoch: [per hidden layer dict]}``), ``activations`` (their names),
    ``ratio_steps`` and ``update_ratios`` (one list per recorded step, one
    value per dense layer).
    """

    def __init__(self, X, Y, epochs=(1,), every=1, rows=1000, bins=40, seed=0):
        self.X, self.Y = X, Y
        self.epochs = sorted({int(e) for e in epochs})
        if any(e < 1 for e in self.epochs):
            raise ValueError(f"epochs count from 1, got {self.epochs}")
        self.every = max(1, int(every))
        self.rows, self.bins, self.seed = int(rows), int(bins), seed
        self.histograms, self.summaries = {}, {}
        self.activations = None
        self.ratio_steps, self.ratio_epochs, self.update_ratios = [], [], []
        self._before = None
        self._data = None
        self._last = None

    def on_train_begin(self, trainer):
        network = trainer.network
        X, Y = np.asarray(self.X), np.asarray(self.Y)
        if len(X) > self.rows:
            keep = np.sort(np.random.default_rng(self.seed).choice(len(X), self.rows,
                                                                    replace=False))
            X, Y = X[keep], Y[keep]
        if Y.ndim == 1:
            Y = Y[:, None]
        self._data = (np.ascontiguousarray(X, dtype=network.dtype),
                      np.ascontiguousarray(Y, dtype=network.dtype))
        self._before = [layer.W.copy() for layer in network.layers if isinstance(layer, Dense)]

    def on_step_end(self, trainer, step, loss):
        dense = [layer for layer in trainer.network.layers if isinstance(layer, Dense)]
        if step % self.every == 0 and self._before is not None:
            self.ratio_steps.append(step)
            self.ratio_epochs.append(len(trainer.history.epoch))  # from 0
            self.update_ratios.append([
                float(np.linalg.norm(layer.W - before) / max(np.linalg.norm(before), 1e-300))
                for layer, before in zip(dense, self._before)])
        if (step + 1) % self.every == 0:  # the weights before the next recorded step
            if self._before is None:
                self._before = [layer.W.copy() for layer in dense]
            else:
                for layer, before in zip(dense, self._before):
                    np.copyto(before, layer.W)

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch + 1 in self.epochs and np.isfinite(logs.get("loss", 0.0)):
            self._record(trainer.network, epoch + 1)

    def on_train_end(self, trainer):
        done = len(trainer.history.epoch)
        if done and done not in self.histograms and self._data is not None:
            self._record(trainer.network, done)

    def _record(self, network, epoch):
        from .gradcheck import Replay

        X, Y = self._data
        saved = [g.copy() for g in network.gradients()]
        replay = Replay(network)
        try:
            pre, post, grads = _look_inside(network, X, Y)
            weight_grads = [layer.dW.copy() for layer in network.layers
                            if isinstance(layer, Dense)]
        finally:
            replay()
            for g, s in zip(network.gradients(), saved):
                np.copyto(g, s)
        units = hidden_unit_layers(network.layers)
        self.activations = [layer.activation.name for layer in units]
        self.histograms[epoch] = {
            "Z": [_histogram(z, self.bins) for z in pre],
            "A": [_histogram(a, self.bins) for a in post],
            "dA": [_histogram(g, self.bins) for g in grads],
            "dW": [_histogram(g, self.bins) for g in weight_grads],
        }
        self.summaries[epoch] = [
            _summary(name, z, a, g) for name, z, a, g in zip(self.activations, pre, post, grads)]

    def update_ratio_by_epoch(self, n_epochs):
        """Per dense layer, the mean update-to-data ratio of each epoch's recorded
        steps (NaN where none was recorded): ``(n_epochs, n_layers)``."""
        ratios = np.array(self.update_ratios, dtype=float).reshape(len(self.update_ratios), -1)
        n_layers = ratios.shape[1] if ratios.size else 0
        out = np.full((n_epochs, n_layers), np.nan)
        if not ratios.size:
            return out
        epochs = np.array(self.ratio_epochs)
        for e in range(n_epochs):
            mine = epochs == e
            if mine.any():
                out[e] = ratios[mine].mean(axis=0)
        return out


def _look_inside(network, X, Y):
    """One forward and backward pass that keeps, per hidden layer, the
    pre-activations ``Z``, the activations ``A`` and ``dA = ∂L/∂A`` (copies),
    and leaves each dense layer's ``dW`` (the data term's) filled."""
    layers = network.layers
    units = {id(layer) for layer in hidden_unit_layers(layers)}
    pre, post = [], []
    A = X
    for layer in layers:
        if id(layer) in units:
            if isinstance(layer, Dense):
                Z = A @ layer.W  # Z = A·W + b, which the layer does not keep
                if layer.b is not None:
                    Z += layer.b
            else:
                Z = A.copy()  # an Activation layer's input is its Z
            A = layer.forward(A)
            pre.append(Z)
            post.append(A.copy())
        else:
            A = layer.forward(A)
    out = layers[-1]
    if network.fused:
        dA = out.backward_from_dZ(network.loss.delta(Y, A), need_input_gradient=len(layers) > 1)
    else:
        dA = out.backward(network.loss.gradient(Y, A), need_input_gradient=len(layers) > 1)
    grads = {}
    for i in range(len(layers) - 2, -1, -1):
        if id(layers[i]) in units:
            grads[id(layers[i])] = dA.copy()  # ∂L/∂(this layer's output)
        dA = layers[i].backward(dA, need_input_gradient=i > 0)
    return pre, post, [grads[id(layer)] for layer in hidden_unit_layers(layers)]


def _histogram(values, bins):
    values = np.asarray(values, dtype=np.float64).ravel()
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    return counts, edges


def _summary(activation, Z, A, dA):
    """Mean and spread of ``A`` and ``dA``, and the saturated or dead share."""
    out = {"activation": activation, "mean": float(A.mean()), "std": float(A.std()),
           "grad_std": float(dA.std())}
    if activation == "tanh":
        out["saturated"] = float(np.mean(np.abs(A) > 0.97))
    elif activation == "sigmoid":
        out["saturated"] = float(np.mean((A < 0.015) | (A > 0.985)))
    elif activation == "relu":
        out["dead"] = float(np.mean(np.all(Z <= 0, axis=0)))
    return out


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
    return _per_layer_log_figure(recorder.steps, recorder.gradient_norms, "‖dW‖ (Frobenius)",
                                 title)


def _per_layer_log_figure(steps, values, ylabel, title, reference=None, linewidth=None):
    """One line per layer (a column of ``values``) over the steps, on a log axis,
    with an optional ``(value, label)`` reference line."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.2))
    ax = figure.add_subplot()
    values = np.array(values, dtype=float)
    for layer in range(values.shape[1] if values.ndim == 2 else 0):
        ax.plot(steps, np.maximum(values[:, layer], 1e-300), label=f"layer {layer + 1}",
                linewidth=linewidth)
    if reference is not None:
        ax.axhline(reference[0], color="black", linestyle="--", linewidth=1, label=reference[1])
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
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


_KINDS = (("Z", "pre-activation Z"), ("A", "activation A = f(Z)"), ("dA", "gradient ∂L/∂A"),
          ("dW", "weight gradient ∂L/∂W"))


def health_histogram_figure(health, title="Inside the layers at chosen epochs"):
    """One panel per hidden layer (columns) and quantity (rows: ``Z``, ``A``,
    ``dA``, and ``dW`` of the dense layer feeding it), one outline per
    recorded epoch, with the saturated or dead share in the titles."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = sorted(health.histograms)
    n_layers = len(health.activations or [])
    columns = max(1, n_layers)
    figure = Figure(figsize=(3.4 * columns + 0.6, 9.0), layout="constrained")
    axes = np.array(figure.subplots(len(_KINDS), columns, squeeze=False))
    for row, (kind, label) in enumerate(_KINDS):
        for col in range(columns):
            ax = axes[row, col]
            if col >= n_layers:
                ax.set_visible(False)
                continue
            for k, epoch in enumerate(epochs):
                counts, edges = health.histograms[epoch][kind][col]
                share = counts / max(counts.sum(), 1)
                ax.stairs(share, edges, color=f"C{k}", label=f"epoch {epoch}")
            if row == 0:
                name = health.activations[col]
                last = health.summaries[epochs[-1]][col]
                extra = ""
                if "saturated" in last:
                    extra = f"\nsaturated {last['saturated']:.0%} at epoch {epochs[-1]}"
                elif "dead" in last:
                    extra = f"\ndead units {last['dead']:.0%} at epoch {epochs[-1]}"
                ax.set_title(f"hidden layer {col + 1} ({name}){extra}", fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{label}\nshare of values", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    figure.suptitle(title)
    return figure


def update_ratio_figure(health, title="Update-to-data ratio per layer"):
    """``‖ΔW‖/‖W‖`` per step for every dense layer (log scale), with the
    ``1e-3`` reference line."""
    return _per_layer_log_figure(health.ratio_steps, health.update_ratios,
                                 "‖ΔW‖ / ‖W‖ per step", title, linewidth=1,
                                 reference=(UPDATE_RATIO_REFERENCE,
                                            "1e-3, the usual healthy order"))


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
