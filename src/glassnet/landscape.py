"""The loss landscape of your own network, after Li, Xu, Taylor, Studer and
Goldstein, "Visualizing the Loss Landscape of Neural Nets" (NeurIPS 2018).

The loss is a function of every weight at once, ``L(θ)``; to see it we cut it
with a line or a plane through a point ``θ*`` (usually trained weights)::

    1-D:  f(a)    = L(θ* + a·δ)
    2-D:  f(a, b) = L(θ* + a·δ + b·η)

Directions. Random directions are drawn from a normal distribution and then
*filter-normalised*: for a dense layer each unit's incoming-weight vector in
the direction (a column of ``W``) is rescaled to the norm of the same unit's
weights, so a step of 1 moves every unit by as much as its own scale and
plots of different networks are comparable (Li et al., section 4). Bias
directions are zero unless asked for. Along an optimiser's trajectory,
random directions show almost nothing (two random vectors in many dimensions
are nearly orthogonal to the path); :func:`pca_directions` instead takes the
two principal components of the trajectory ``[θ_0 − θ*, …, θ_n − θ*]``
(Li et al., section 7).

Evaluation is vectorised: a batch of ``P`` weight settings has every
parameter stacked with a leading axis of length ``P``, and one forward pass
``X·W`` with ``W`` of shape ``(P, fan_in, fan_out)`` evaluates all of them
(in chunks that bound the memory used).

Parameters are always handled as lists aligned with
``network.parameters()`` (``[W1, b1, W2, b2, …]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .optimizers import PRESETS
from .optimizers import make_optimizer as _make_preset
from .training import Callback, evaluate

__all__ = [
    "Trajectory",
    "TrajectoryRecorder",
    "batched_loss",
    "filter_normalize",
    "flatten",
    "grid_loss",
    "interpolation_loss",
    "line_loss",
    "pca_directions",
    "project",
    "random_direction",
    "unflatten",
]


# -- parameter vectors ----------------------------------------------------------------
def flatten(arrays):
    """Concatenate parameter arrays into one vector."""
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def unflatten(vector, like):
    """Split a vector into arrays shaped like ``like`` (a list of arrays)."""
    out, start = [], 0
    for a in like:
        out.append(np.asarray(vector[start:start + a.size]).reshape(a.shape))
        start += a.size
    return out


# -- directions ---------------------------------------------------------------------
def filter_normalize(direction, network, include_bias=False):
    """Rescale ``direction`` unit by unit to the norms of ``network``'s weights.

    For unit ``j`` of a dense layer the "filter" is its incoming weight vector
    ``W[:, j]`` (with ``b[j]`` appended when ``include_bias``). The direction's
    filter becomes ``d_j · ‖θ_j‖ / ‖d_j‖``. Without ``include_bias`` the bias
    directions are set to zero. Returns a new list of arrays.
    """
    params = network.parameters()
    names = network.parameter_names()
    out = [np.array(d, dtype=np.float64, copy=True) for d in direction]
    tiny = np.finfo(np.float64).tiny
    for i, name in enumerate(names):
        if not name.startswith("W"):
            if not include_bias:
                out[i][...] = 0.0
            continue
        bias_index = i + 1 if i + 1 < len(names) and names[i + 1] == "b" + name[1:] else None
        W, d = params[i].astype(np.float64), out[i]
        weight_norms = np.sum(W * W, axis=0)
        direction_norms = np.sum(d * d, axis=0)
        if include_bias and bias_index is not None:
            b, db = params[bias_index].astype(np.float64), out[bias_index]
            weight_norms = weight_norms + b * b
            direction_norms = direction_norms + db * db
        scale = np.sqrt(weight_norms) / np.maximum(np.sqrt(direction_norms), tiny)
        d *= scale  # column j (unit j) scaled to ‖θ_j‖
        if include_bias and bias_index is not None:
            out[bias_index] *= scale
    return out


def random_direction(network, rng=None, include_bias=False):
    """A filter-normalised Gaussian direction (see :func:`filter_normalize`)."""
    rng = np.random.default_rng(rng)
    raw = [rng.standard_normal(p.shape) for p in network.parameters()]
    return filter_normalize(raw, network, include_bias=include_bias)


# -- batched evaluation ---------------------------------------------------------------
def _prepare(network, X, y, sample_weight=None):
    X, Y, sample_weight = network.check_data(X, y, sample_weight)
    return X.astype(np.float64), Y.astype(np.float64), sample_weight


def batched_loss(network, X, y, params, sample_weight=None, max_elements=2_000_000,
                 _checked=False):
    """The loss (L2 penalty included) at ``P`` weight settings at once.

    ``params`` is a list aligned with ``network.parameters()`` whose entries
    have a leading axis of length ``P`` (``W1`` of shape ``(P, fan_in,
    fan_out)``, …). Returns an array of ``P`` losses. The network's own
    weights are not touched. (:func:`glassnet.training.evaluate` does the work.)
    """
    if not _checked:
        X, y, sample_weight = _prepare(network, X, y, sample_weight)
    losses, _ = evaluate(network, X, y, sample_weight, weights=params, with_score=False,
                         max_elements=max_elements)
    return losses


def _points_along(center, directions, coefficients):
    """Stack ``θ* + Σ_k c_k·d_k`` for each row of ``coefficients`` (shape (P, K))."""
    coefficients = np.asarray(coefficients, dtype=np.float64)
    out = []
    for i, c in enumerate(center):
        c = np.asarray(c, dtype=np.float64)
        stacked = np.broadcast_to(c, (len(coefficients), *c.shape)).copy()
        for k, direction in enumerate(directions):
            stacked += coefficients[:, k].reshape(-1, *([1] * c.ndim)) * direction[i]
        out.append(stacked)
    return out


def line_loss(network, X, y, direction, coords, center=None, sample_weight=None):
    """``f(a) = L(θ* + a·δ)`` for each ``a`` in ``coords`` (θ* = current weights by default)."""
    center = network.parameters() if center is None else center
    coords = np.asarray(coords, dtype=np.float64)
    params = _points_along(center, [direction], coords[:, None])
    return batched_loss(network, X, y, params, sample_weight)


def interpolation_loss(network, X, y, start, end, alphas, sample_weight=None):
    """Loss along the straight line ``θ(α) = (1 − α)·θ_start + α·θ_end``."""
    direction = [np.asarray(e, dtype=np.float64) - np.asarray(s, dtype=np.float64)
                 for s, e in zip(start, end)]
    return line_loss(network, X, y, direction, alphas, center=start,
                     sample_weight=sample_weight)


def grid_loss(network, X, y, d1, d2, xs, ys, center=None, sample_weight=None):
    """``loss[i, j] = L(θ* + xs[j]·δ + ys[i]·η)`` over the whole grid, vectorised."""
    center = network.parameters() if center is None else center
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    gx, gy = np.meshgrid(xs, ys)  # gx[i, j] = xs[j], gy[i, j] = ys[i]
    coefficients = np.column_stack([gx.ravel(), gy.ravel()])
    X, Y, sample_weight = _prepare(network, X, y, sample_weight)
    params = _points_along(center, [d1, d2], coefficients)
    losses = batched_loss(network, X, Y, params, sample_weight, _checked=True)
    return losses.reshape(len(ys), len(xs))


# -- trajectories and PCA -------------------------------------------------------------
@dataclass
class Trajectory:
    """Parameter vectors recorded during training, with the step of each."""

    steps: list = field(default_factory=list)
    points: list = field(default_factory=list)

    def matrix(self):
        return np.array(self.points)


class TrajectoryRecorder(Callback):
    """Record the flattened weights every ``every`` steps (and before the first
    step), into ``self.trajectory``."""

    def __init__(self, every=1):
        self.every = max(1, int(every))
        self.trajectory = Trajectory()

    def on_train_begin(self, trainer):
        if not self.trajectory.points:
            self.trajectory.steps.append(0)
            self.trajectory.points.append(flatten(trainer.network.parameters()))

    def on_step_end(self, trainer, step, loss):
        done = step + 1  # steps taken so far, counting this one
        if done % self.every == 0:
            self.trajectory.steps.append(done)
            self.trajectory.points.append(flatten(trainer.network.parameters()))

    def on_train_end(self, trainer):
        done = trainer.history.n_steps
        if self.trajectory.steps[-1] != done:
            self.trajectory.steps.append(done)
            self.trajectory.points.append(flatten(trainer.network.parameters()))


def pca_directions(points, center):
    """The two principal directions of ``points − center`` (rows are parameter vectors).

    Returns ``(d1, d2, explained)``: orthonormal vectors and the fraction of
    the total squared distance from ``center`` that each explains. Following
    Li et al., the matrix is not re-centred on its mean: the plane passes
    through ``center``.
    """
    M = np.asarray(points, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    _, s, Vt = np.linalg.svd(M, full_matrices=False)
    total = float(np.sum(s ** 2)) or 1.0
    explained = (s[:2] ** 2) / total
    if Vt.shape[0] < 2:  # a single point off the centre: any orthogonal second axis
        extra = np.zeros_like(Vt[0])
        extra[int(np.argmin(np.abs(Vt[0])))] = 1.0
        extra -= extra @ Vt[0] * Vt[0]
        Vt = np.vstack([Vt, extra / np.linalg.norm(extra)])
        explained = np.append(explained, 0.0)
    return Vt[0], Vt[1], explained


def project(points, center, d1, d2):
    """Coordinates ``(a, b)`` of each point in the plane ``center + a·d1 + b·d2``.

    Least squares, so exact for points in the plane; for orthonormal
    directions this is just the two dot products.
    """
    M = np.asarray(points, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    basis = np.column_stack([d1, d2])
    coords, *_ = np.linalg.lstsq(basis, M.T, rcond=None)
    return coords.T


# -- optimisers compared on one landscape ---------------------------------------------
OPTIMIZER_PRESETS = {name: PRESETS[name].description for name in
                     ("sgd", "momentum", "nesterov", "annealing", "large-lr", "adam", "rmsprop")}


def make_optimizer(name, lr, epochs):
    """``(optimizer, schedule)`` for a preset name (see ``OPTIMIZER_PRESETS``) at base rate ``lr``."""
    if name not in OPTIMIZER_PRESETS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZER_PRESETS)}")
    return _make_preset(name, base_lr=lr, epochs=epochs)


@dataclass
class Landscape:
    """A loss surface on a plane with optimiser paths drawn on it.

    ``loss[i, j]`` is the loss at ``center + x[j]·d1 + y[i]·d2``;
    ``paths[name]`` holds each recorded point's ``(a, b)`` coordinates,
    ``path_loss[name]`` the true loss at each recorded point and
    ``plane_loss[name]`` the loss at its projection onto the plane.
    """

    x: np.ndarray
    y: np.ndarray
    loss: np.ndarray
    center_loss: float
    paths: dict
    path_loss: dict
    plane_loss: dict
    steps: dict
    final_loss: dict
    diverged: dict
    explained: np.ndarray | None
    directions: str

    def save_npz(self, path):
        """Write the arrays to ``path`` (atomically); read back with ``allow_pickle=False``."""
        import io as _io

        from .io import write_bytes

        arrays = {"x": self.x, "y": self.y, "loss": self.loss,
                  "center_loss": np.float64(self.center_loss)}
        for name in self.paths:
            arrays[f"path_{name}"] = self.paths[name]
            arrays[f"path_loss_{name}"] = self.path_loss[name]
            arrays[f"steps_{name}"] = np.asarray(self.steps[name])
        if self.explained is not None:
            arrays["explained_variance"] = self.explained
        buffer = _io.BytesIO()
        np.savez(buffer, **arrays)
        write_bytes(path, buffer.getvalue())


def _grid_axis(values, resolution, margin=0.25, minimum=1e-3):
    """Grid coordinates covering ``values`` with a margin, containing 0 exactly."""
    low, high = float(np.min(values)), float(np.max(values))
    span = max(high - low, minimum)
    low, high = min(low - margin * span, -minimum), max(high + margin * span, minimum)
    axis = np.linspace(low, high, resolution)
    axis[np.argmin(np.abs(axis))] = 0.0  # the centre lies on the grid
    return axis


def compare_optimizers(network, X, y, optimizers=("sgd", "momentum", "annealing", "large-lr"),
                       lr=0.1, epochs=200, batch_size=None, record_every=None, resolution=51,
                       directions="pca", seed=0, include_bias=False):
    """Train copies of ``network`` (same initial weights) with each optimiser and
    draw all their paths on one loss landscape.

    The plane is centred on the first optimiser's final weights; with
    ``directions='pca'`` it is spanned by the two principal components of all
    recorded points (Li et al., section 7), with ``'random'`` by two
    filter-normalised random directions. An optimiser whose loss became
    non-finite is marked ``diverged``; its finite recorded points are still
    projected and drawn, but it takes no part in choosing the plane or the grid
    extent, which would otherwise be stretched by its runaway weights. Returns
    a :class:`Landscape`; the network itself is left at its initial weights.
    """
    from .training import Trainer, TrainingDivergedError

    if directions not in ("pca", "random"):
        raise ValueError(f"directions must be 'pca' or 'random', got {directions!r}")
    if not optimizers:
        raise ValueError("give at least one optimizer")
    Xc, Yc, _ = network.check_data(X, y)
    initial = network.get_weights()
    record_every = record_every or max(1, epochs // 100)
    trajectories, final, diverged, steps = {}, {}, {}, {}
    for name in optimizers:
        network.set_weights(initial)
        optimizer, schedule = make_optimizer(name, lr, epochs)
        recorder = TrajectoryRecorder(record_every)
        trainer = Trainer(network, optimizer, batch_size=batch_size, rng=seed,
                          callbacks=[recorder])
        try:
            trainer.fit(Xc, Yc, epochs, schedule=schedule, catch_interrupt=False)
            diverged[name] = False
        except TrainingDivergedError:
            diverged[name] = True
        points = recorder.trajectory.matrix()
        # a clipped cross-entropy stays finite while the weights run away, so
        # weights beyond 1e6 also count as divergence; those points are dropped
        keep = np.all(np.isfinite(points), axis=1) & (np.abs(points).max(axis=1) < 1e6)
        diverged[name] = diverged[name] or not keep.all()
        trajectories[name] = points[keep]
        steps[name] = np.asarray(recorder.trajectory.steps)[keep]
        final[name] = network.compute_loss(X, y)
    network.set_weights(initial)
    reference = optimizers[0]
    center_vec = trajectories[reference][-1]
    like = network.parameters()
    center = unflatten(center_vec, like)
    steady = [trajectories[n] for n in optimizers if not diverged[n]] or [trajectories[reference]]
    explained = None
    if directions == "pca":
        d1_vec, d2_vec, explained = pca_directions(np.vstack(steady), center_vec)
    else:
        rng = np.random.default_rng(seed)
        probe = unflatten(center_vec, like)
        saved = network.get_weights()
        network.set_weights(probe)  # normalise against the centre's own weights
        d1_vec = flatten(random_direction(network, rng, include_bias))
        d2_vec = flatten(random_direction(network, rng, include_bias))
        network.set_weights(saved)
    paths = {name: project(trajectories[name], center_vec, d1_vec, d2_vec)
             for name in optimizers}
    steady_coords = np.vstack([paths[n] for n in optimizers if not diverged[n]] or
                              [paths[reference]])
    xs = _grid_axis(steady_coords[:, 0], resolution)
    ys = _grid_axis(steady_coords[:, 1], resolution)
    d1, d2 = unflatten(d1_vec, like), unflatten(d2_vec, like)
    grid = grid_loss(network, X, y, d1, d2, xs, ys, center=center)
    center_loss = float(batched_loss(network, X, y, [c[None] for c in center])[0])
    path_loss, plane_loss = {}, {}
    for name in optimizers:
        stacked = [np.stack(arrays) for arrays in
                   zip(*(unflatten(p, like) for p in trajectories[name]))]
        path_loss[name] = batched_loss(network, Xc, Yc, stacked, _checked=True)
        plane = _points_along(center, [d1, d2], paths[name])
        plane_loss[name] = batched_loss(network, Xc, Yc, plane, _checked=True)
    return Landscape(xs, ys, grid, center_loss, paths, path_loss, plane_loss, steps, final,
                     diverged, explained, directions)
