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
directions are zero unless asked for. Such a plane shows the basin around
trained weights, but an optimiser's path lies almost wholly off it (two
random vectors in many dimensions are nearly orthogonal to the path).

Paths are drawn on a plane that follows them (Li et al., section 7), and a
plane can only show part of a path: each recorded point ``θ`` is drawn at
its projection, where the surface shows ``L(projection)``, not ``L(θ)``.
:func:`landscape_from_paths` anchors the plane at the start all paths share
and picks its directions (:func:`honest_plane`) so that this gap stays
small; it keeps, for every recorded point, the true loss, the drawn loss and
the fraction of the displacement the plane cannot show, so a figure can say
how true it is.

Evaluation is vectorised: a batch of ``P`` weight settings has every
parameter stacked with a leading axis of length ``P``, and one forward pass
``X·W`` with ``W`` of shape ``(P, fan_in, fan_out)`` evaluates all of them
(in chunks that bound the memory used).

Parameters are always handled as lists aligned with
``network.parameters()`` (``[W1, b1, W2, b2, …]``).

Dropout and batch normalisation: the landscape is the loss in evaluation
mode, the loss a trained network is used with. Dropout is the identity and
batch normalisation uses the network's running statistics, held fixed over
the whole plane (in :func:`compare_optimizers`, those at the end of the first
optimiser's run). Random directions leave batch normalisation's ``γ`` and
``β`` unperturbed (zero), as Li et al. do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layers import Dense
from .training import Callback, evaluate

__all__ = [
    "DIRECTIONS",
    "LINES",
    "OPTIMIZER_PRESETS",
    "QUANTITIES",
    "Landscape",
    "LandscapeLine",
    "Trajectory",
    "TrajectoryRecorder",
    "batched_loss",
    "compare_optimizers",
    "count_rises",
    "filter_normalize",
    "flatten",
    "grid_loss",
    "honest_plane",
    "interpolation_loss",
    "landscape_from_paths",
    "landscape_line",
    "line_loss",
    "make_optimizer",
    "off_plane_fraction",
    "pca_directions",
    "project",
    "random_direction",
    "record_interval",
    "resurface",
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
    directions are set to zero; batch normalisation's ``γ`` and ``β``
    directions always are. Returns a new list of arrays.
    """
    params = network.parameters()
    out = [np.array(d, dtype=np.float64, copy=True) for d in direction]
    tiny = np.finfo(np.float64).tiny
    i = 0
    for layer in network.layers:
        n = len(layer.parameters())
        if not isinstance(layer, Dense):
            for k in range(i, i + n):
                out[k][...] = 0.0
            i += n
            continue
        has_bias = layer.b is not None
        W, d = params[i].astype(np.float64), out[i]
        weight_norms = np.sum(W * W, axis=0)
        direction_norms = np.sum(d * d, axis=0)
        if include_bias and has_bias:
            b, db = params[i + 1].astype(np.float64), out[i + 1]
            weight_norms = weight_norms + b * b
            direction_norms = direction_norms + db * db
        scale = np.sqrt(weight_norms) / np.maximum(np.sqrt(direction_norms), tiny)
        d *= scale  # column j (unit j) scaled to ‖θ_j‖
        if has_bias:
            if include_bias:
                out[i + 1] *= scale
            else:
                out[i + 1][...] = 0.0
        i += n
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
    """The loss (penalties included) at ``P`` weight settings at once, in evaluation mode.

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


def _principal_axes(M, k=2):
    """The top ``k`` right singular vectors of ``M`` and their squared singular
    values, from the eigenvectors of the smaller Gram matrix (``M·Mᵀ`` or
    ``Mᵀ·M``): a symmetric eigenproblem at most ``min(rows, columns)`` wide."""
    M = np.asarray(M, dtype=np.float64)
    if M.shape[0] < M.shape[1]:
        values, U = np.linalg.eigh(M @ M.T)
        values, U = values[::-1][:k], U[:, ::-1][:, :k]
        V = (M.T @ U) / np.sqrt(np.maximum(values, np.finfo(float).tiny))
    else:
        values, V = np.linalg.eigh(M.T @ M)
        values, V = values[::-1][:k], V[:, ::-1][:, :k]
    return V.T, np.maximum(values, 0.0)


def pca_directions(points, center):
    """The two principal directions of ``points − center`` (rows are parameter vectors).

    Returns ``(d1, d2, explained)``: orthonormal vectors and the fraction of
    the total squared distance from ``center`` that each explains. Following
    Li et al., the matrix is not re-centred on its mean: the plane passes
    through ``center``.
    """
    M = np.atleast_2d(np.asarray(points, dtype=np.float64) - np.asarray(center, dtype=np.float64))
    total = float(np.sum(M * M))
    if total == 0.0:  # every point at the centre: any two axes
        axes = np.eye(2, M.shape[1])
        return axes[0], axes[1], np.zeros(2)
    Vt, squares = _principal_axes(M, 2)
    explained = squares / total
    if Vt.shape[0] < 2 or squares[1] <= 1e-24 * max(squares[0], 1e-300):
        # a single direction off the centre: any orthogonal second axis
        extra = np.zeros_like(Vt[0])
        extra[int(np.argmin(np.abs(Vt[0])))] = 1.0
        extra -= extra @ Vt[0] * Vt[0]
        Vt = np.vstack([Vt[0], extra / np.linalg.norm(extra)])
        explained = np.array([explained[0], 0.0])
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


def off_plane_fraction(points, center, d1, d2):
    """How much of each point's displacement from ``center`` lies off the plane.

    For ``d = θ − center`` and its projection ``d_∥`` onto the plane spanned
    by ``d1, d2``, the fraction is ``‖d − d_∥‖ / ‖d‖``, from 0 (in the plane)
    to 1 (perpendicular to it); it is the sine of the angle between ``d`` and
    the plane, and 0 for the centre itself.
    """
    M = np.asarray(points, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    coords = project(points, center, d1, d2)
    residual = M - coords @ np.vstack([d1, d2])
    lengths = np.linalg.norm(M, axis=1)
    fraction = np.linalg.norm(residual, axis=1) / np.where(lengths > 0, lengths, 1.0)
    return np.clip(np.where(lengths > 0, fraction, 0.0), 0.0, 1.0)


def count_rises(losses, tol=1e-4):
    """How many times a sequence of losses turns upwards: the number of runs of
    consecutive increases, each step of a run larger than ``tol``."""
    up = np.diff(np.asarray(losses, dtype=np.float64)) > tol
    if not up.size:
        return 0
    return int(up[0]) + int(np.sum(up[1:] & ~up[:-1]))


def record_interval(n_steps, points=100):
    """Record every ``k`` steps so that a run of ``n_steps`` gives about ``points`` points.

    ``k`` is the odd number nearest ``n_steps/points``: a rate above
    ``2/λ_max`` makes the weights flip across the valley every step, and an
    even ``k`` would catch them on the same side each time, hiding the zig-zag.
    """
    ratio = max(1.0, n_steps / points)
    return int(2 * np.floor(ratio / 2) + 1)


# -- the plane, the grid and the paths on it ------------------------------------------
@dataclass
class Landscape:
    """A loss surface on a plane with optimiser paths, and how true the drawing is.

    ``loss[i, j]`` is the loss at ``center + x[j]·d1 + y[i]·d2``. For each path
    ``name``: ``paths[name]`` holds each recorded point's ``(a, b)``
    coordinates on the plane, ``steps[name]`` its step, ``path_loss[name]``
    the true loss at the recorded weights, ``plane_loss[name]`` the loss at
    their projection onto the plane (what the surface shows there) and
    ``off_plane[name]`` the fraction of the displacement from the centre that
    the plane cannot show (see :func:`off_plane_fraction`).
    """

    x: np.ndarray
    y: np.ndarray
    loss: np.ndarray
    center_loss: float
    center: str
    paths: dict
    path_loss: dict
    plane_loss: dict
    off_plane: dict
    steps: dict
    diverged: dict
    explained: np.ndarray | None
    directions: str
    d1: np.ndarray = field(repr=False, default=None)
    d2: np.ndarray = field(repr=False, default=None)
    rates: dict = field(default_factory=dict)
    steps_per_epoch: int = 1
    sharpness: float | None = None
    large_lr: float | None = None
    #: what ``loss``, ``path_loss`` and ``plane_loss`` hold: 'loss' (training rows),
    #: 'test loss' or 'test accuracy' (see :func:`resurface`)
    quantity: str = "loss"
    #: each path's recorded weight vectors, and the plane's centre, flattened
    points: dict = field(repr=False, default=None)
    center_vector: np.ndarray = field(repr=False, default=None)
    #: the eigenvalues of the Hessian along d1 and d2 (``directions='hessian'``)
    eigenvalues: np.ndarray | None = None

    @property
    def final_loss(self):
        """The true loss at each path's last recorded point."""
        return {name: float(losses[-1]) for name, losses in self.path_loss.items()}

    @property
    def drawn(self):
        """The paths the figures draw: every path on a PCA plane, none on a random
        one (their displacement lies almost wholly off it)."""
        return list(self.paths) if self.directions == "pca" else []  # random, hessian: none

    def gap(self, name):
        """The largest ``|true − drawn|`` loss along a path."""
        return float(np.max(np.abs(self.path_loss[name] - self.plane_loss[name])))

    @property
    def worst_gap(self):
        """``(gap, name, step)``: the largest ``|true − drawn|`` loss over the drawn,
        steady paths, or ``None`` when none is drawn."""
        worst = None
        for name in self.drawn:
            if self.diverged[name]:
                continue
            differences = np.abs(self.path_loss[name] - self.plane_loss[name])
            k = int(np.argmax(differences))
            if worst is None or differences[k] > worst[0]:
                worst = (float(differences[k]), name, int(self.steps[name][k]))
        return worst

    def save_npz(self, path):
        """Write the arrays to ``path`` (atomically); read back with ``allow_pickle=False``.

        ``x, y, loss, center_loss``; per path ``path_<name>`` (coordinates),
        ``steps_<name>``, ``path_loss_<name>`` (true), ``plane_loss_<name>``
        (drawn), ``off_plane_<name>``, ``rate_<name>``; ``directions``,
        ``center``, ``steps_per_epoch``, ``explained_variance`` (PCA),
        ``lambda_max`` and ``large_lr`` (when measured).
        """
        import io as _io

        from .io import write_bytes

        arrays = {"x": self.x, "y": self.y, "loss": self.loss,
                  "center_loss": np.float64(self.center_loss), "center": np.str_(self.center),
                  "directions": np.str_(self.directions),
                  "steps_per_epoch": np.int64(self.steps_per_epoch)}
        for name in self.paths:
            arrays[f"path_{name}"] = self.paths[name]
            arrays[f"path_loss_{name}"] = self.path_loss[name]
            arrays[f"plane_loss_{name}"] = self.plane_loss[name]
            arrays[f"off_plane_{name}"] = self.off_plane[name]
            arrays[f"steps_{name}"] = np.asarray(self.steps[name])
            if name in self.rates:
                arrays[f"rate_{name}"] = np.str_(self.rates[name])
        if self.explained is not None:
            arrays["explained_variance"] = self.explained
        if self.sharpness is not None:
            arrays["lambda_max"] = np.float64(self.sharpness)
        if self.large_lr is not None:
            arrays["large_lr"] = np.float64(self.large_lr)
        if self.eigenvalues is not None:
            arrays["eigenvalues"] = np.asarray(self.eigenvalues, dtype=np.float64)
        arrays["quantity"] = np.str_(self.quantity)
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


def _stack(vectors, like):
    """Flattened weight vectors (rows) as parameter arrays with a leading axis."""
    vectors = np.asarray(vectors, dtype=np.float64)
    out, start = [], 0
    for p in like:
        out.append(vectors[:, start:start + p.size].reshape(len(vectors), *p.shape))
        start += p.size
    return out


def _losses_at(network, X, Y, vectors, sample_weight=None):
    """The loss at each flattened weight vector (a row of ``vectors``)."""
    return batched_loss(network, X, Y, _stack(vectors, network.parameters()), sample_weight,
                        _checked=True)


def honest_plane(network, X, y, start, points, sample_weight=None, iterations=20,
                 true_loss=None):
    """Two orthonormal directions for a plane through ``start`` on which the
    loss drawn under each of ``points`` is as close as possible to its true loss.

    Candidates: the principal components of the displacements ``θ − start``
    (Li et al.), then the same for the displacements scaled to unit length
    (every recorded point counts by its direction, not its distance) and a
    Lawson reweighting of those: each round weights every point by its gap
    ``|L(θ) − L(projection of θ)|`` so far and recomputes the weighted
    components, pulling the plane towards the points it draws worst. The
    candidate with the smallest worst gap wins. ``start`` and the rows of
    ``points`` are flattened weights; ``true_loss`` (the loss at each point)
    is computed when not given. Returns ``(d1, d2, worst gap)``; ``d1`` is the
    plane's own principal axis, oriented so that the points' mean lies at
    positive ``d1``.
    """
    X, Y, sample_weight = _prepare(network, X, y, sample_weight)
    like = network.parameters()
    start = np.asarray(start, dtype=np.float64)
    M = np.asarray(points, dtype=np.float64) - start
    true = (_losses_at(network, X, Y, points, sample_weight) if true_loss is None
            else np.asarray(true_loss, dtype=np.float64))
    lengths = np.linalg.norm(M, axis=1)
    U = M / np.where(lengths > 0, lengths, 1.0)[:, None]

    def components(rows):
        return pca_directions(rows, np.zeros(rows.shape[1]))[:2]

    def gaps(d1, d2):
        B = np.vstack([d1, d2])
        drawn = batched_loss(network, X, Y, _stack(start + (M @ B.T) @ B, like), sample_weight,
                             _checked=True)
        return np.abs(drawn - true)

    d1, d2 = components(M)
    best = (d1, d2, float(gaps(d1, d2).max()))
    weights = np.ones(len(M))
    for _ in range(iterations):
        d1, d2 = components(U * np.sqrt(weights)[:, None])
        g = gaps(d1, d2)
        if g.max() < best[2]:
            best = (d1, d2, float(g.max()))
        weights = weights * (g + 1e-3 * g.max() + 1e-12)  # Lawson: w ← w·gap
        weights /= weights.max()
    d1, d2, worst = best
    # rotate within the plane to its own principal axes, d1 along the most spread
    B = np.vstack([d1, d2])
    r1, r2, _ = pca_directions(M @ B.T, np.zeros(2))
    d1, d2 = np.vstack([r1, r2]) @ B
    if (M @ d1).mean() < 0:
        d1 = -d1
    return d1, d2, worst


def landscape_from_paths(network, X, y, paths, steps=None, *, diverged=None, directions="pca",
                         resolution=51, window=1.0, seed=0, include_bias=False,
                         sample_weight=None):
    """The plane, the grid, and each recorded point's true and drawn loss.

    ``paths`` maps a name to the weight vectors recorded along one run, an
    array of shape ``(n_points, n_parameters)`` in ``flatten(network.parameters())``
    order (``TrajectoryRecorder(...).trajectory.matrix()``); ``steps`` maps
    the same names to the step of each point (default ``0, 1, …``);
    ``diverged`` names runs that ran away, which are projected but take no
    part in choosing the plane or the grid.

    ``directions='pca'``: the plane passes through the **first point of the
    first path**, the start every path shares when the runs begin from the
    same weights, and is spanned by principal components of the steady
    paths' displacements from it, chosen by :func:`honest_plane` so that the
    loss drawn under each recorded point is as close as it can make it to
    the true loss. Every path then starts exactly on the plane, where the
    loss is highest and changes fastest; a plane through the paths' end
    instead leaves the start far off it, drawn in the valley while it truly
    sits on the hill. ``explained`` is the fraction of the steady paths'
    squared displacement that each direction captures.

    ``directions='random'``: two filter-normalised random directions through
    the **last point of the first steady path** (the trained weights), on
    ``±window`` (Li et al. show the basin on about ±1). A path's displacement
    lies almost wholly off such a plane (see ``off_plane``), so
    :attr:`Landscape.drawn` is empty there.

    ``directions='hessian'``: through the same trained weights ``θ*``, the
    plane of the Hessian's two top eigenvectors there (the two directions of
    sharpest curvature, :func:`glassnet.curvature.hessian_eigenvalues`, in
    evaluation mode), each scaled to ``‖θ*‖`` so that ``±1`` moves as far as
    on a filter-normalised plane; ``eigenvalues`` holds their eigenvalues
    (per unit vector). Paths are not drawn, as on a random plane.

    The network's weights are left as they were. Returns a :class:`Landscape`.
    """
    if directions not in DIRECTIONS:
        raise ValueError(f"directions must be one of {', '.join(DIRECTIONS)}, got "
                         f"{directions!r}")
    if not paths:
        raise ValueError("give at least one path")
    Xc, Yc, sample_weight = _prepare(network, X, y, sample_weight)
    like = network.parameters()
    n_parameters = sum(p.size for p in like)
    paths = {name: np.atleast_2d(np.asarray(points, dtype=np.float64))
             for name, points in paths.items()}
    for name, points in paths.items():
        if points.shape[1] != n_parameters or not len(points):
            raise ValueError(f"path {name!r}: expected points of {n_parameters} parameters, "
                             f"got shape {points.shape}")
    steps = {name: np.asarray(steps[name]) if steps is not None else np.arange(len(points))
             for name, points in paths.items()}
    diverged = {name: bool((diverged or {}).get(name, False)) for name in paths}
    first = next(iter(paths))
    steady = [name for name in paths if not diverged[name]] or [first]
    path_loss = {name: _losses_at(network, Xc, Yc, points, sample_weight)
                 for name, points in paths.items()}
    explained = eigenvalues = None
    if directions == "hessian":
        center_vec = paths[steady[0]][-1]
        center_label = f"{steady[0]}'s final weights"
        d1_vec, d2_vec, eigenvalues = _hessian_plane(network, Xc, Yc, center_vec, sample_weight,
                                                     seed)
    elif directions == "pca":
        center_vec = paths[first][0]
        center_label = "the shared start"
        covered = np.vstack([paths[n] for n in steady])
        d1_vec, d2_vec, _ = honest_plane(
            network, Xc, Yc, center_vec, covered, sample_weight,
            true_loss=np.concatenate([path_loss[n] for n in steady]))
        M = covered - center_vec
        explained = np.array([np.sum((M @ d1_vec) ** 2), np.sum((M @ d2_vec) ** 2)]) / max(
            float(np.sum(M * M)), np.finfo(float).tiny)
    else:
        center_vec = paths[steady[0]][-1]
        center_label = f"{steady[0]}'s final weights"
        rng = np.random.default_rng(seed)
        saved = network.get_weights()
        network.set_weights(unflatten(center_vec, like))  # normalise against the centre
        d1_vec = flatten(random_direction(network, rng, include_bias))
        d2_vec = flatten(random_direction(network, rng, include_bias))
        network.set_weights(saved)
    coords = {name: project(points, center_vec, d1_vec, d2_vec) for name, points in paths.items()}
    off_plane = {name: off_plane_fraction(points, center_vec, d1_vec, d2_vec)
                 for name, points in paths.items()}
    if directions == "pca":
        drawn = np.vstack([coords[n] for n in steady])
        xs, ys = _grid_axis(drawn[:, 0], resolution), _grid_axis(drawn[:, 1], resolution)
    else:
        xs = ys = _grid_axis(np.array([-window, window]), resolution, margin=0.0)
    center = unflatten(center_vec, like)
    d1, d2 = unflatten(d1_vec, like), unflatten(d2_vec, like)
    grid = grid_loss(network, Xc, Yc, d1, d2, xs, ys, center=center,
                     sample_weight=sample_weight)
    center_loss = float(_losses_at(network, Xc, Yc, center_vec[None], sample_weight)[0])
    plane_loss = {}
    for name, points in paths.items():
        on_plane = center_vec + coords[name] @ np.vstack([d1_vec, d2_vec])
        plane_loss[name] = _losses_at(network, Xc, Yc, on_plane, sample_weight)
    result = Landscape(xs, ys, grid, center_loss, center_label, coords, path_loss, plane_loss,
                       off_plane, steps, diverged, explained, directions, d1_vec, d2_vec)
    result.points, result.center_vector, result.eigenvalues = paths, center_vec, eigenvalues
    return result


#: The planes :func:`landscape_from_paths` can cut.
DIRECTIONS = ("pca", "random", "hessian")


def _hessian_plane(network, X, Y, center_vec, sample_weight, seed, k=2):
    """The top ``k`` Hessian eigenvectors at ``center_vec`` (evaluation mode), each
    scaled to ``‖center_vec‖``, and their eigenvalues: ``(d1, …, eigenvalues)``."""
    from .curvature import hessian_eigenvalues

    like = network.parameters()
    saved, mode = network.get_weights(), network.training
    network.set_weights(unflatten(center_vec, like))
    network.eval()
    try:
        top = hessian_eigenvalues(network, X, Y, k=k, sample_weight=sample_weight, seed=seed)
    finally:
        network.set_weights(saved)
        network.train(mode)
    scale = float(np.linalg.norm(center_vec))
    return (*[v * scale for v in top.vectors], top.values)


# -- optimisers compared on one landscape ---------------------------------------------
OPTIMIZER_PRESETS = {
    "sgd": "plain gradient descent at the base rate",
    "momentum": "SGD with momentum 0.9 at the base rate",
    "nesterov": "SGD with Nesterov momentum 0.9 at the base rate",
    "annealing": "the large rate (warmed up) for half the run, then cosine-annealed to a "
                 "tenth of the base rate",
    "large-lr": "plain SGD past the edge of stability: 1.35 x 2/λ_max (warmed up)",
    "adam": "Adam at a tenth of the base rate",
    "rmsprop": "RMSProp at a tenth of the base rate",
}
LARGE_RATE_PRESETS = ("large-lr", "annealing")

# The large rate is OVERSHOOT x 2/λ_max: gradient descent overshoots the
# valley along its sharpest direction, flips across it every step and
# settles only where the valley is flat enough (the edge of stability).
# Measured on Wisconsin (seeds 0-5, batch full and 32) 1.35 makes the loss
# rise and fall several times and still end low; from 1.5 up the runs turn
# chaotic, their bounces leave every plane and can kill ReLU units.
OVERSHOOT = 1.35
# The large rates are reached by a geometric warm-up over this fraction of
# the epochs: applied from the first step, they fling the weights off the
# start in many directions at once, a flight no plane can draw truthfully.
WARMUP_FRACTION = 0.1


def make_optimizer(name, lr, epochs, large_lr=None):
    """``(optimizer, schedule)`` for a preset name (see ``OPTIMIZER_PRESETS``).

    ``large-lr`` and ``annealing`` need ``large_lr`` (see
    :func:`compare_optimizers`, which measures it). Both climb from ``lr`` to
    it over the first tenth of the epochs (:class:`~glassnet.schedules.Warmup`);
    ``large-lr`` then stays there, ``annealing`` holds it until half the
    epochs and then follows a cosine down to ``lr/10`` at the last epoch.
    """
    from .optimizers import get_optimizer
    from .schedules import Cosine, Warmup

    if name not in OPTIMIZER_PRESETS:
        raise ValueError(f"unknown optimizer {name!r}; choose from "
                         f"{', '.join(OPTIMIZER_PRESETS)}")
    if name in LARGE_RATE_PRESETS:
        if large_lr is None:
            raise ValueError(f"{name} needs large_lr")
        warmup = max(1, round(WARMUP_FRACTION * epochs))
        start_factor = min(1.0, lr / large_lr)
        if name == "large-lr":
            return get_optimizer("sgd", lr=large_lr), Warmup(warmup, start_factor)
        hold = max(0, epochs // 2 - warmup)
        decay = Cosine(period=max(1, epochs - warmup - hold - 1), min_lr=0.1 * lr)
        return (get_optimizer("sgd", lr=large_lr),
                Warmup(warmup, start_factor, hold=hold, then=decay))
    rate = lr / 10 if name in ("adam", "rmsprop") else lr
    return get_optimizer(name, lr=rate), None


def _rate_label(name, lr, large_lr):
    if name == "large-lr":
        return f"lr {lr:.3g} ↗ {large_lr:.3g}"
    if name == "annealing":
        return f"lr {lr:.3g} ↗ {large_lr:.3g} ↘ {0.1 * lr:.3g}"
    if name in ("adam", "rmsprop"):
        return f"lr {lr / 10:.3g}"
    if name in ("momentum", "nesterov"):
        return f"lr {lr:.3g}, μ 0.9"
    return f"lr {lr:.3g}"


def compare_optimizers(network, X, y, optimizers=("sgd", "momentum", "annealing", "large-lr"),
                       lr=0.1, epochs=200, batch_size=None, record_every=None, resolution=51,
                       directions="pca", seed=0, include_bias=False, large_lr=None,
                       overshoot=OVERSHOOT, points=100, stack=True):
    """Train copies of ``network`` (same initial weights) with each optimiser and
    draw all their paths on one loss landscape (:func:`landscape_from_paths`).

    Each run records its weights every ``record_every`` steps, by default
    every ``k`` steps with ``k`` chosen from the run's length so that each
    path has about ``points`` points whatever the batch size
    (:func:`record_interval`).

    The large rate (``large-lr``, and ``annealing``'s peak) is measured
    unless given: the sharpness ``λ_max`` of the loss at the weights plain
    SGD reaches at the base rate (:func:`glassnet.curvature.sharpness`), and
    the rate ``overshoot·2/λ_max``, past which gradient descent overshoots
    along the valley's sharpest direction. A run whose loss became
    non-finite, or whose weights passed 1e6, is marked ``diverged``; its
    finite points are kept. Returns a :class:`Landscape`; the network itself
    is left at its initial weights.

    With ``stack`` (the default) the runs that share an optimiser class (and
    the large-rate ones, once the rate is known) train together as one stack
    from copies of the start (:func:`_paths_together`); the paths are those
    of one run after another (``stack=False``) to within the rounding of the
    matrix products.
    """
    import math

    from .curvature import sharpness
    from .training import Trainer, TrainingDivergedError

    if directions not in DIRECTIONS:
        raise ValueError(f"directions must be one of {', '.join(DIRECTIONS)}, got "
                         f"{directions!r}")
    if not optimizers:
        raise ValueError("give at least one optimizer")
    unknown = [n for n in optimizers if n not in OPTIMIZER_PRESETS]
    if unknown:
        raise ValueError(f"unknown optimizer(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(OPTIMIZER_PRESETS)}")
    Xc, Yc, _ = network.check_data(X, y)
    m = Xc.shape[0]
    steps_per_epoch = 1 if batch_size is None or batch_size >= m else math.ceil(m / batch_size)
    every = record_every or record_interval(epochs * steps_per_epoch, points)
    initial = network.state_dict()  # weights and running statistics

    def run(optimizer, schedule, recorder):
        network.load_state_dict(initial)
        trainer = Trainer(network, optimizer, batch_size=batch_size, rng=seed,
                          callbacks=[recorder] if recorder else [])
        try:
            trainer.fit(Xc, Yc, epochs, schedule=schedule, catch_interrupt=False)
            return False
        except TrainingDivergedError:
            return True

    def sharpness_after_sgd():
        """λ_max at plain SGD's final weights (its path's end, or a run for it)."""
        if "sgd" in trajectories and not diverged["sgd"]:
            network.set_weights(unflatten(trajectories["sgd"][-1], network.parameters()))
        else:
            run(*make_optimizer("sgd", lr, epochs), None)
        value = sharpness(network, Xc, Yc, seed=seed).value
        if not value > 0:
            raise ValueError(f"the loss has no positive curvature at plain SGD's final "
                             f"weights (λ_max = {value:g}); give large_lr")
        return value

    trajectories, steps, diverged = {}, {}, {}
    lambda_max = None
    ordered = ([n for n in optimizers if n not in LARGE_RATE_PRESETS]
               + [n for n in optimizers if n in LARGE_RATE_PRESETS])
    if stack:
        ran = _paths_together(network, initial, Xc, Yc, [n for n in ordered
                                                         if n not in LARGE_RATE_PRESETS],
                              lr, epochs, None, batch_size, seed, every)
    for name in ordered:
        if stack and name in LARGE_RATE_PRESETS and name not in ran:
            if large_lr is None:
                lambda_max = sharpness_after_sgd()
                large_lr = overshoot * 2.0 / lambda_max
            ran.update(_paths_together(network, initial, Xc, Yc, [
                n for n in ordered if n in LARGE_RATE_PRESETS], lr, epochs, large_lr,
                batch_size, seed, every))
        if stack:
            failed, recorder, buffers = ran[name]
            _keep_path(name, failed, recorder, trajectories, steps, diverged)
            if name == optimizers[0]:
                reference = buffers
            continue
        if name in LARGE_RATE_PRESETS and large_lr is None:
            lambda_max = sharpness_after_sgd()
            large_lr = overshoot * 2.0 / lambda_max
        recorder = TrajectoryRecorder(every)
        failed = run(*make_optimizer(name, lr, epochs, large_lr), recorder)
        _keep_path(name, failed, recorder, trajectories, steps, diverged)
        if name == optimizers[0]:
            reference = {n: b.copy() for n, b in zip(network.buffer_names(), network.buffers())}
    # evaluation mode on the first run's running statistics (batch normalisation)
    network.load_state_dict({**initial, **reference})
    order = list(optimizers)
    result = landscape_from_paths(
        network, Xc, Yc, {n: trajectories[n] for n in order}, {n: steps[n] for n in order},
        diverged=diverged, directions=directions, resolution=resolution, seed=seed,
        include_bias=include_bias)
    uses_large = any(n in LARGE_RATE_PRESETS for n in order)
    result.rates = {n: _rate_label(n, lr, large_lr) for n in order}
    result.steps_per_epoch = steps_per_epoch
    result.sharpness = lambda_max
    result.large_lr = large_lr if uses_large else None
    network.load_state_dict(initial)
    return result


# -- other surfaces on the same plane, and lines ----------------------------------------
QUANTITIES = ("loss", "accuracy")


def _values_at(network, X, Y, vectors, quantity, sample_weight=None):
    """The loss (penalties included) or the accuracy at each flattened weight vector."""
    stacked = _stack(vectors, network.parameters())
    losses, scores = evaluate(network, X, Y, sample_weight, weights=stacked,
                              with_score=quantity == "accuracy")
    return scores if quantity == "accuracy" else losses


def resurface(landscape, network, X, y, quantity="loss", label=None, sample_weight=None):
    """The same plane and paths, with the surface and both loss series along the
    paths (true, and drawn under each point) of another quantity or other rows:
    ``quantity='loss'`` on the rows ``X, y`` (e.g. held-out rows: the test loss
    surface) or ``'accuracy'`` (classifiers: the share of rows predicted
    right). Li et al. draw the test loss and accuracy on the plane their
    training loss chose, which is what this does: the plane, the directions
    and the paths' coordinates are kept. ``label`` names the quantity in
    figures (default ``'test loss'`` or ``'test accuracy'``). Returns a new
    :class:`Landscape`.
    """
    import dataclasses

    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}, got {quantity!r}")
    if quantity == "accuracy" and network.output_activation.name not in ("sigmoid", "softmax"):
        raise ValueError(f"accuracy needs a classifier (sigmoid or softmax output), got "
                         f"{network.output_activation.name!r}")
    if landscape.points is None or landscape.center_vector is None:
        raise ValueError("the landscape keeps no weight vectors (made by landscape_from_paths?)")
    Xc, Yc, sample_weight = _prepare(network, X, y, sample_weight)
    center, d1, d2 = landscape.center_vector, landscape.d1, landscape.d2
    gx, gy = np.meshgrid(landscape.x, landscape.y)
    grid_points = center + np.column_stack([gx.ravel(), gy.ravel()]) @ np.vstack([d1, d2])
    grid = _values_at(network, Xc, Yc, grid_points, quantity, sample_weight).reshape(gx.shape)
    true, drawn = {}, {}
    for name, points in landscape.points.items():
        true[name] = _values_at(network, Xc, Yc, points, quantity, sample_weight)
        on_plane = center + landscape.paths[name] @ np.vstack([d1, d2])
        drawn[name] = _values_at(network, Xc, Yc, on_plane, quantity, sample_weight)
    center_value = float(_values_at(network, Xc, Yc, center[None], quantity, sample_weight)[0])
    return dataclasses.replace(landscape, loss=grid, center_loss=center_value, path_loss=true,
                               plane_loss=drawn,
                               quantity=label or f"test {quantity}")


@dataclass
class LandscapeLine:
    """A 1-D cut ``f(a) = value(θ_0 + a·δ)`` and the paths seen against it.

    ``kind`` is ``'interpolation'`` (``θ_0`` the shared start, ``δ`` the first
    path's end minus it: ``a = 0`` is the start, ``a = 1`` the end; Goodfellow,
    Vinyals & Saxe, "Qualitatively characterizing neural network optimization
    problems", ICLR 2015), ``'random'`` (a filter-normalised random direction
    through the first path's end) or ``'hessian'`` (the top Hessian
    eigenvector there, scaled to ``‖θ‖``). ``values[i]`` is the quantity at
    ``a = coords[i]``. Per path: ``path_coords`` (each recorded point's
    projection ``a = (θ − θ_0)·δ/‖δ‖²``), ``path_values`` (the true value at
    the point), ``line_values`` (the value the line shows at its projection)
    and ``off_line`` (the share of the displacement the line cannot show).
    ``drawn`` lists the paths a figure draws: those mostly on the line.
    """

    kind: str
    coords: np.ndarray
    values: np.ndarray
    quantity: str
    center: str
    path_coords: dict
    path_values: dict
    line_values: dict
    off_line: dict
    steps: dict
    steps_per_epoch: int = 1
    eigenvalue: float | None = None

    @property
    def drawn(self):
        return [name for name, off in self.off_line.items() if np.median(off[1:]) < 0.5] \
            if self.kind == "interpolation" else []

    def gap(self, name):
        return float(np.max(np.abs(self.path_values[name] - self.line_values[name])))


LINES = ("interpolation", "random", "hessian")


def landscape_line(network, X, y, landscape, kind="interpolation", resolution=101,
                   window=1.0, quantity="loss", label=None, seed=0, sample_weight=None):
    """A 1-D cut through the weights of ``landscape``'s paths (see
    :class:`LandscapeLine`), of the loss or the accuracy on the rows ``X, y``.

    The interpolation runs over ``a ∈ [−0.5, 1.5]``: half a path beyond each
    end, where Goodfellow et al. look for the barrier a straight line would
    meet; the others over ``±window``.
    """
    if kind not in LINES:
        raise ValueError(f"line must be one of {', '.join(LINES)}, got {kind!r}")
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}, got {quantity!r}")
    if landscape.points is None:
        raise ValueError("the landscape keeps no weight vectors (made by landscape_from_paths?)")
    Xc, Yc, sample_weight = _prepare(network, X, y, sample_weight)
    like = network.parameters()
    first = next(iter(landscape.points))
    steady = [n for n in landscape.points if not landscape.diverged[n]] or [first]
    eigenvalue = None
    if kind == "interpolation":
        origin = landscape.points[first][0]
        direction = landscape.points[steady[0]][-1] - origin
        coords = np.linspace(-0.5, 1.5, resolution)
        center = "the shared start (a = 0) to " + f"{steady[0]}'s final weights (a = 1)"
    else:
        origin = landscape.points[steady[0]][-1]
        center = f"{steady[0]}'s final weights"
        if kind == "random":
            saved = network.get_weights()
            network.set_weights(unflatten(origin, like))
            direction = flatten(random_direction(network, np.random.default_rng(seed)))
            network.set_weights(saved)
        else:
            direction, _, values = _hessian_plane(network, Xc, Yc, origin, sample_weight, seed)
            eigenvalue = float(values[0])
        coords = np.linspace(-window, window, resolution)
    length2 = max(float(direction @ direction), np.finfo(float).tiny)
    values = _values_at(network, Xc, Yc, origin + coords[:, None] * direction, quantity,
                        sample_weight)
    path_coords, path_values, line_values, off_line = {}, {}, {}, {}
    for name, points in landscape.points.items():
        M = points - origin
        a = M @ direction / length2
        residual = M - a[:, None] * direction
        lengths = np.linalg.norm(M, axis=1)
        off_line[name] = np.clip(np.where(lengths > 0, np.linalg.norm(residual, axis=1)
                                          / np.where(lengths > 0, lengths, 1.0), 0.0), 0, 1)
        path_coords[name] = a
        path_values[name] = _values_at(network, Xc, Yc, points, quantity, sample_weight)
        line_values[name] = _values_at(network, Xc, Yc, origin + a[:, None] * direction,
                                       quantity, sample_weight)
    name = label or ("loss" if quantity == "loss" else "accuracy")
    return LandscapeLine(kind, coords, values, name, center, path_coords, path_values,
                         line_values, off_line, dict(landscape.steps),
                         landscape.steps_per_epoch, eigenvalue)


def _keep_path(name, failed, recorder, trajectories, steps, diverged):
    """A run's recorded path, its finite points only: a clipped cross-entropy stays
    finite while the weights run away, so weights beyond 1e6 also count as
    divergence, and those points are dropped."""
    recorded = recorder.trajectory.matrix()
    keep = np.all(np.isfinite(recorded), axis=1) & (np.abs(recorded).max(axis=1) < 1e6)
    diverged[name] = failed or not keep.all()
    trajectories[name] = recorded[keep]
    steps[name] = np.asarray(recorder.trajectory.steps)[keep]


def _paths_together(network, initial, X, Y, names, lr, epochs, large_lr, batch_size, seed,
                    every):
    """The runs ``names`` from copies of ``network`` at ``initial``, those of one
    optimiser class as one stack (:func:`glassnet.stack.fit_together`); returns
    ``{name: (diverged, recorder, running statistics after the run)}``."""
    import copy

    from .stack import Run, fit_together
    from .training import Trainer, TrainingDivergedError

    network.load_state_dict(initial)
    runs = {}
    for name in names:
        optimizer, schedule = make_optimizer(name, lr, epochs, large_lr)
        recorder = TrajectoryRecorder(every)
        trainer = Trainer(copy.deepcopy(network), optimizer, batch_size=batch_size, rng=seed,
                          callbacks=[recorder])
        runs[name] = (Run(trainer, X, Y, epochs, schedule=schedule), recorder)
    groups = {}
    for name, (run, _) in runs.items():
        groups.setdefault(type(run.trainer.optimizer), []).append(name)
    done = {}
    for group in groups.values():
        results = fit_together([runs[name][0] for name in group], catch_interrupt=False)
        for name, result in zip(group, results):
            net = runs[name][0].trainer.network
            done[name] = (isinstance(result, TrainingDivergedError), runs[name][1],
                          {n: b.copy() for n, b in zip(net.buffer_names(), net.buffers())})
    return done
