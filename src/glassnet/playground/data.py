"""The playground's data: generate or load it, derive input features, split,
scale, and choose the plane the page draws.

Everything the network sees is built here, in the order the exported Python
snippet repeats:

1. rows: a 2-D toy from :mod:`glassnet.datasets` (drawn with the data seed and
   moved to the playground's coordinates, about −5..5), a bundled data set, or
   an uploaded CSV read and checked exactly as ``glassnet train`` does;
2. input features: for the toys, the chosen columns among ``x1, x2, x1², x2²,
   x1·x2, sin x1, sin x2`` of the point ``(x1, x2)``; otherwise the encoded columns;
3. split: a permutation from the same seeded generator, the first ``train`` %
   of it for training;
4. scaling: a :class:`glassnet.io.Scaler` fitted on the training rows.

The page draws the network's output over a plane of inputs
(:class:`ViewPlane`): the toys' own ``(x1, x2)`` plane; for more than two
inputs either two chosen inputs with the others held at their training means,
or the plane of the first two principal components of the scaled training
inputs, through their mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import datasets
from ..io import Scaler
from .config import DATASETS, FEATURES, problem_of

__all__ = ["TOYS", "PlaygroundData", "ViewPlane", "build_data", "toy_features", "view_plane"]

# name -> (generator, shift, factor): the playground's point is (P − shift)·factor,
# so that every toy spans about −5..5 and sin x1 turns a few times across it
TOYS = {
    "circles": (datasets.make_circles, (0.0, 0.0), 5.0),
    "xor": (datasets.make_gaussian_xor, (0.0, 0.0), 2.5),
    "spirals": (datasets.make_spirals, (0.0, 0.0), 5.0),
    "moons": (datasets.make_moons, (0.5, 0.25), 3.0),
    "gaussians": (datasets.make_gaussians, (0.0, 0.0), 2.5),
    "blobs": (datasets.make_blobs, (0.0, 0.0), 2.5),
    "bumps": (datasets.make_bumps, (0.0, 0.0), 5.0),
    "plane": (datasets.make_plane, (0.0, 0.0), 5.0),
}


def toy_features(P, keys):
    """The input features ``keys`` (see :data:`~glassnet.playground.config.FEATURES`)
    of the points ``P`` (shape ``(n, 2)``), one column each."""
    x1, x2 = P[:, 0], P[:, 1]
    columns = {
        "x1": lambda: x1,
        "x2": lambda: x2,
        "x1sq": lambda: x1 ** 2,
        "x2sq": lambda: x2 ** 2,
        "x1x2": lambda: x1 * x2,
        "sinx1": lambda: np.sin(x1),
        "sinx2": lambda: np.sin(x2),
    }
    return np.column_stack([columns[key]() for key in keys])


@dataclass
class ViewPlane:
    """A plane of network inputs drawn as an image.

    ``domain = (x_min, x_max, y_min, y_max)`` in the plane's own coordinates;
    :meth:`grid` lays out a ``resolution × resolution`` image whose row 0 is the
    top (``y_max``) and column 0 the left (``x_min``).
    """

    xlabel: str
    ylabel: str
    note: str
    domain: tuple
    to_inputs: object  # (n, 2) plane coordinates -> (n, d) scaled network inputs
    raw_features: object = None  # (n, 2) plane coordinates -> {key: raw column} (toys only)

    def grid(self, resolution):
        """The plane coordinates of every pixel, ``(resolution², 2)``, row by row."""
        x0, x1, y0, y1 = self.domain
        xs = np.linspace(x0, x1, resolution)
        ys = np.linspace(y1, y0, resolution)
        gx, gy = np.meshgrid(xs, ys)
        return np.column_stack([gx.ravel(), gy.ravel()])


@dataclass
class PlaygroundData:
    """Rows ready for the network, and how they were made.

    ``X`` holds the unscaled input features (what a model file's scaler
    expects), ``Xs`` the scaled ones, ``y`` the targets as labels or values
    and ``Y`` the network's targets (0/1 for two classes, class indices for
    more, values for regression: standardised when ``target_scaler``, the
    :class:`~glassnet.io.Scaler` fitted on the training rows, is not None).
    ``train`` and ``test`` index the rows. ``points`` is each row's position in
    the view plane.
    """

    name: str
    kind: str
    task: str
    X: np.ndarray
    y: np.ndarray
    Y: np.ndarray
    classes: list | None
    feature_names: list
    feature_labels: list
    train: np.ndarray
    test: np.ndarray
    scaler: Scaler
    Xs: np.ndarray
    plane: ViewPlane
    points: np.ndarray
    target_name: str = "label"
    target_range: tuple = (0.0, 1.0)
    prepared: object = None  # the CSV / bundled data as glassnet train prepares it
    notes: list = field(default_factory=list)
    target_scaler: Scaler | None = None

    @property
    def n_outputs(self):
        if self.task == "regression" or len(self.classes) == 2:
            return 1
        return len(self.classes)

    @property
    def output_activation(self):
        if self.task == "regression":
            return "identity"
        return "sigmoid" if self.n_outputs == 1 else "softmax"


def build_data(config, upload_path=None, upload_name=None):
    """Build the :class:`PlaygroundData` a :class:`~glassnet.playground.config.Config` describes.

    ``upload_path`` is the file behind ``config.upload`` (for ``data='csv'``).
    Raises :class:`glassnet.datasets.DataError` (a ``ValueError``) with the
    same messages as ``glassnet train`` for a CSV it cannot use.
    """
    rng = np.random.default_rng(config.dseed)
    if config.kind == "toy":
        generator, shift, factor = TOYS[config.data]
        P, y = generator(config.points, noise=config.noise, seed=rng)
        P = (P - np.asarray(shift)) * factor
        X = toy_features(P, config.features)
        task = problem_of(config.data)
        classes = None if task == "regression" else np.unique(y).tolist()
        names = config.feature_columns
        labels = [FEATURES[f][0] for f in config.features]
        prepared, target_name, notes = None, "y" if task == "regression" else "label", []
    else:
        prepared = _prepare_table(config, upload_path)
        X, y, task = prepared.X, prepared.y, prepared.task
        classes = prepared.classes
        names = list(prepared.feature_names)
        labels = names
        target_name = prepared.target
        notes = list(prepared.notes)
        P = None
    n = len(X)
    order = rng.permutation(n)
    n_train = min(max(1, round(n * config.train / 100)), n - 1)
    train, test = np.sort(order[:n_train]), np.sort(order[n_train:])
    scaler = Scaler(config.scale).fit(X[train])
    Xs = scaler.transform(X)
    target_scaler = None
    if task == "classification":
        lookup = {c: i for i, c in enumerate(classes)}
        index = np.array([lookup[_plain(v)] for v in y], dtype=np.int64)
        Y = index if len(classes) > 2 else index.astype(np.float64)
        target_range = (0.0, 1.0)
    else:
        Y = np.asarray(y, dtype=np.float64)
        if config.scaletarget:  # the network learns (y − mean) / sd of the training rows
            target_scaler = Scaler("standard").fit(Y[train].reshape(-1, 1))
            Y = target_scaler.transform(Y.reshape(-1, 1))[:, 0]
            notes = [*notes, (f"the network learns the standardised target "
                              f"({target_name} − {target_scaler.offset[0]:.4g}) / "
                              f"{target_scaler.scale[0]:.4g}")]
        low, high = float(Y.min()), float(Y.max())
        target_range = (low, high if high > low else low + 1.0)
    name = DATASETS[config.data][0] if config.kind != "csv" else (upload_name or "your CSV")
    data = PlaygroundData(name, config.kind, task, X, y, Y, classes, names, labels, train, test,
                          scaler, Xs, None, None, target_name, target_range, prepared, notes,
                          target_scaler)
    data.plane, data.points = view_plane(config, data, P)
    return data


def view_plane(config, data, P=None):
    """``(plane, points)``: the :class:`ViewPlane` for ``config.view`` and each row's
    position in it. ``P`` are the toys' 2-D points (``None`` for tables)."""
    if config.kind == "toy":
        P = data.points if P is None else P
        return _toy_plane(config, P, data.scaler)
    return _table_plane(config, data.X, data.Xs, data.train, data.scaler, data.feature_names)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _prepare_table(config, upload_path):
    """A bundled data set or a CSV, read, checked and encoded as ``glassnet train`` does."""
    from ..tables import prepare

    source = config.data if config.kind == "bundled" else upload_path
    if source is None:
        raise ValueError("the uploaded file is no longer on the server: upload it again")
    return prepare(source, target=config.target or None, missing=config.missing,
                   one_hot=config.onehot)


def _padded(low, high, fraction=0.06):
    span = high - low
    if span <= 0:
        span = max(abs(low), 1.0)
    return low - fraction * span, high + fraction * span


def _toy_plane(config, P, scaler):
    reach = float(np.max(np.abs(P))) * 1.05
    reach = max(1.0, np.ceil(reach * 2) / 2)  # a round number of half units
    keys = config.features

    def to_inputs(Q):
        return scaler.transform(toy_features(Q, keys))

    def raw_features(Q):
        return {key: toy_features(Q, [key])[:, 0] for key in FEATURES}

    plane = ViewPlane("x₁", "x₂", "", (-reach, reach, -reach, reach), to_inputs, raw_features)
    return plane, P


def _table_plane(config, X, Xs, train, scaler, names):
    d = X.shape[1]
    if d == 1:
        low, high = _padded(float(X[:, 0].min()), float(X[:, 0].max()))

        def to_inputs(Q):
            return scaler.transform(Q[:, :1])

        points = np.column_stack([X[:, 0], np.zeros(len(X))])
        return ViewPlane(names[0], "", "one input: the vertical axis is unused",
                         (low, high, -1.0, 1.0), to_inputs), points
    if config.view != "pca" or d == 2:
        i, j = (0, 1) if config.view == "pca" else (int(p) for p in config.view.split(","))
        if max(i, j) >= d:
            raise ValueError(f"view: the data have {d} inputs (0 to {d - 1}), got {config.view!r}")
        means = X[train].mean(axis=0)

        def to_inputs(Q):
            rows = np.tile(means, (len(Q), 1))
            rows[:, i], rows[:, j] = Q[:, 0], Q[:, 1]
            return scaler.transform(rows)

        x0, x1 = _padded(float(X[:, i].min()), float(X[:, i].max()))
        y0, y1 = _padded(float(X[:, j].min()), float(X[:, j].max()))
        note = "" if d == 2 else (f"{names[i]} × {names[j]}; the other {d - 2} inputs are held "
                                  f"at their training means")
        return ViewPlane(names[i], names[j], note, (x0, x1, y0, y1), to_inputs), \
            X[:, [i, j]].astype(np.float64)
    center = Xs[train].mean(axis=0)
    _, s, Vt = np.linalg.svd(Xs[train] - center, full_matrices=False)
    basis = Vt[:2]
    shares = s[:2] ** 2 / max(float(np.sum(s ** 2)), np.finfo(float).tiny)
    coords = (Xs - center) @ basis.T

    def to_inputs(Q):
        return center + Q @ basis

    x0, x1 = _padded(float(coords[:, 0].min()), float(coords[:, 0].max()))
    y0, y1 = _padded(float(coords[:, 1].min()), float(coords[:, 1].max()))
    note = (f"PCA projection of the {d} scaled inputs: PC1 holds {shares[0]:.0%} of their "
            f"variance, PC2 {shares[1]:.0%}; points are projected onto the plane through the "
            f"training mean, and the colours are the network's output on that plane")
    return ViewPlane(f"PC1 ({shares[0]:.0%})", f"PC2 ({shares[1]:.0%})", note,
                     (x0, x1, y0, y1), to_inputs), coords


def thumbnails(n_points=160):
    """A small sample of every 2-D toy at its usual noise, for the page's data picker."""
    out = {}
    for name, (generator, shift, factor) in TOYS.items():
        P, y = generator(n_points, noise=DATASETS[name][2], seed=0)
        P = (P - np.asarray(shift)) * factor
        reach = float(np.max(np.abs(P))) or 1.0
        regression = problem_of(name) == "regression"
        values = (y - y.min()) / (np.ptp(y) or 1.0) if regression else y
        out[name] = {"x": np.round(P[:, 0] / reach, 3).tolist(),
                     "y": np.round(P[:, 1] / reach, 3).tolist(),
                     "value": np.round(values, 3).tolist(),
                     "regression": regression,
                     "classes": None if regression else int(np.max(y)) + 1}
    return out
