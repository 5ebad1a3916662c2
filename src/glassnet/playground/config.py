"""The playground's whole configuration, and how it is written into a URL.

A :class:`Config` is plain data: which data set, which input features, the
network's shape, the optimiser and its settings, and how the page shows
them. The page keeps the configuration in its URL (``#data=spirals&hidden=8,8&…``)
so that a link reproduces a setup; :meth:`Config.from_query` reads such a
query and :meth:`Config.to_query` writes the canonical one. The schema lives
here only: the page asks the server for it (:func:`schema`) and never
re-implements the rules, so a value the page sends is checked once, in Python.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from urllib.parse import parse_qsl, quote

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "DROPOUTS",
    "FEATURES",
    "HIDEABLE",
    "INITIALIZERS",
    "LIMITS",
    "OPTIMIZERS",
    "PROBLEMS",
    "SCHEDULES",
    "SPEEDS",
    "Config",
    "ConfigError",
    "problem_of",
    "schedule_options",
    "schema",
]


class ConfigError(ValueError):
    """A setting the playground cannot use; the message names the setting."""


# name -> (label, kind, default noise); kind is "toy" (2-D generator), "bundled" or "csv"
DATASETS = {
    "circles": ("Circles", "toy", 0.1),
    "xor": ("Gaussian XOR", "toy", 0.3),
    "spirals": ("Spirals", "toy", 0.05),
    "moons": ("Moons", "toy", 0.1),
    "gaussians": ("Two Gaussians", "toy", 0.3),
    "blobs": ("Three blobs (3 classes)", "toy", 0.3),
    "bumps": ("Bumps (regression)", "toy", 0.05),
    "plane": ("Plane (regression)", "toy", 0.05),
    "wisconsin": ("Wisconsin breast cancer", "bundled", 0.0),
    "heart": ("Statlog heart", "bundled", 0.0),
    "csv": ("Your CSV", "csv", 0.0),
}

# URL key -> (label on the page, the column name in files and snippets)
FEATURES = {
    "x1": ("x₁", "x1"),
    "x2": ("x₂", "x2"),
    "x1sq": ("x₁²", "x1^2"),
    "x2sq": ("x₂²", "x2^2"),
    "x1x2": ("x₁·x₂", "x1*x2"),
    "sinx1": ("sin x₁", "sin(x1)"),
    "sinx2": ("sin x₂", "sin(x2)"),
}

# the problem types of the page's switch; each toy is one or the other (tables: their target's)
PROBLEMS = ("classification", "regression")
REGRESSION_TOYS = ("bumps", "plane")

ACTIVATIONS = ("tanh", "relu", "leaky_relu", "sigmoid", "identity")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "scaled_normal",
                "zeros")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "exponential", "step", "cosine", "invscaling", "plateau")
SCALERS = ("standard", "minmax", "none")
MISSING = ("error", "drop", "median")
# the dropout rates offered (probability of dropping a hidden unit in training)
DROPOUTS = (0.0, 0.1, 0.2, 0.3, 0.5)
# epochs per screen update; 0 means a single step (one batch) per update
SPEEDS = (0, 1, 2, 5, 10, 20, 50, 100)

# what a classroom link may hide (``hide=lr,opt``): the page's controls and panels
HIDEABLE = ("problem", "data", "upload", "train", "noise", "points", "regenerate", "scale",
            "features", "layers", "act", "init", "seed", "dropout", "batchnorm", "opt", "lr",
            "sched", "batch", "l2", "l1", "speed", "stop", "reset", "step", "showtest",
            "discrete", "edit", "dynamics", "curvature", "confusion", "landscape", "export",
            "inspector")
LESSON_LIMIT = 600  # characters of lesson text a link may carry

LIMITS = {
    "points": (20, 5000),
    "train": (10, 90),
    "noise": (0.0, 1.0),
    "layers": (0, 6),
    "units": (1, 16),
    "lr": (1e-6, 10.0),
    "l2": (0.0, 10.0),
    "l1": (0.0, 10.0),
    "seed": (0, 2**31 - 1),
    "batch": (0, 100_000),
    "maxepochs": (0, 1_000_000),
    "targetloss": (0.0, 1e6),
}


def problem_of(name):
    """``'classification'`` or ``'regression'`` for a toy; ``None`` for bundled data and
    CSV files, whose problem type is their target's (numbers or classes)."""
    if DATASETS[name][1] != "toy":
        return None
    return "regression" if name in REGRESSION_TOYS else "classification"


def schedule_options(name):
    """The options the playground gives each schedule (epochs are open-ended here)."""
    return {
        "constant": {},
        "exponential": {"gamma": 0.99},
        "step": {"step_size": 100, "gamma": 0.5},
        "cosine": {"period": 500},
        "invscaling": {"power": 0.5},
        "plateau": {"factor": 0.5, "patience": 20},
    }[name]


@dataclass(frozen=True)
class Config:
    """Everything that defines a playground run.

    Data: ``data`` (a name in :data:`DATASETS`), ``noise``, ``points``,
    ``train`` (percent of rows used for training), ``dseed`` (data and split
    seed), ``features`` (input features of the 2-D toys), ``target``,
    ``upload``, ``onehot`` and ``missing`` (CSV files, as ``glassnet train``),
    ``view`` (``'pca'`` or two input indices ``'i,j'`` for the boundary of data
    with more than two inputs), ``scale``, ``scaletarget`` (standardise a
    regression target on the training rows, as ``glassnet train`` does).
    Network: ``hidden`` (units per hidden layer), ``act`` (one activation per
    hidden layer), ``init``, ``seed``, ``dropout`` (a rate in :data:`DROPOUTS`:
    a ``Dropout(p)`` after each hidden layer's activation) and ``batchnorm``
    (a ``BatchNorm`` between each hidden layer's ``X·W`` and its activation),
    built by :meth:`glassnet.Network.from_sizes` as its ``dropout=`` and
    ``batch_norm=`` do.
    Training: ``opt``, ``lr``, ``sched``, ``batch`` (0 = full batch), ``l2`` and
    ``l1`` (the penalties' ``α`` and ``λ``).
    Stopping: ``maxepochs`` (play pauses after that many epochs; 0 = never) and
    ``targetloss`` (play pauses once the training loss is at or below it; 0 = never).
    Page: ``speed`` (epochs per screen update, 0 = one step), ``showtest``,
    ``discrete``, ``sharpness`` (measure λ_max now and then while training, drawn
    against 2/η), and the classroom keys ``hide`` (controls and panels the page
    leaves out, names in :data:`HIDEABLE`) and ``lesson`` (a short text shown above
    the network).
    """

    data: str = "circles"
    noise: float = 0.1
    points: int = 500
    train: int = 50
    dseed: int = 0
    features: tuple = ("x1", "x2")
    target: str = ""
    upload: str = ""
    onehot: bool = False
    missing: str = "error"
    view: str = "pca"
    scale: str = "standard"
    scaletarget: bool = True
    hidden: tuple = (4, 2)
    act: tuple = ("tanh", "tanh")
    init: str = "glorot_uniform"
    seed: int = 0
    dropout: float = 0.0
    batchnorm: bool = False
    opt: str = "sgd"
    lr: float = 0.03
    sched: str = "constant"
    batch: int = 10
    l2: float = 0.0
    l1: float = 0.0
    maxepochs: int = 0
    targetloss: float = 0.0
    speed: int = 1
    showtest: bool = False
    discrete: bool = False
    sharpness: bool = True
    hide: tuple = ()
    lesson: str = ""

    def __post_init__(self):
        _validate(self)

    # -- derived facts ------------------------------------------------------------------
    @property
    def kind(self):
        """``'toy'``, ``'bundled'`` or ``'csv'``."""
        return DATASETS[self.data][1]

    @property
    def problem(self):
        """The toy's problem type (``None`` for bundled data and CSV files)."""
        return problem_of(self.data)

    @property
    def feature_columns(self):
        """Column names of the selected toy features (``x1``, ``x1^2``, …)."""
        return [FEATURES[f][1] for f in self.features]

    # -- changing ---------------------------------------------------------------------
    def with_changes(self, changes):
        """A new config with ``changes`` (a dict of field -> value or its URL text).

        Picking another data set also picks that data set's usual noise, unless
        the noise is changed at the same time. Adding or removing hidden layers
        keeps one activation per layer: a new layer repeats the last one's.
        """
        values = {}
        for key, raw in dict(changes).items():
            values[key] = _parse_field(key, raw)
        if "data" in values:
            _check_choice("data", values["data"], DATASETS)
        if "data" in values and values["data"] != self.data and "noise" not in values:
            values["noise"] = DATASETS[values["data"]][2]
        if "hidden" in values and "act" not in values:
            act = list(self.act) or ["tanh"]
            n = len(values["hidden"])
            values["act"] = tuple((act + [act[-1]] * n)[:n])
        if "act" in values:
            hidden = values.get("hidden", self.hidden)
            if len(values["act"]) == 1 and len(hidden) != 1:
                values["act"] = values["act"] * len(hidden)
        return replace(self, **values)

    # -- the URL ----------------------------------------------------------------------
    @classmethod
    def from_query(cls, query):
        """Read a URL query (``'data=moons&lr=0.1'``, with or without a leading ``#``/``?``)
        or a dict; fields left out keep their defaults."""
        if isinstance(query, str):
            items = parse_qsl(query.lstrip("#?"), keep_blank_values=True)
        else:
            items = list(dict(query).items())
        seen = {}
        for key, value in items:
            if key in seen:
                raise ConfigError(f"{key} is given twice in the link")
            seen[key] = value
        return cls().with_changes(seen)

    def to_query(self):
        """The canonical query string: every field, in schema order."""
        parts = []
        for f in fields(self):
            text = _format_field(f.name, getattr(self, f.name))
            parts.append(f"{f.name}={quote(text, safe=',.-_')}")
        return "&".join(parts)

    def to_dict(self):
        """Plain JSON-ready data (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


# -- parsing and checking one field at a time ---------------------------------------------
_KINDS = {f.name: type(f.default) for f in fields(Config)}


def _parse_field(key, raw):
    if key not in _KINDS:
        valid = ", ".join(_KINDS)
        raise ConfigError(f"unknown setting {key!r}; the settings are: {valid}")
    kind = _KINDS[key]
    if isinstance(raw, str):
        text = raw.strip()
    else:
        text = raw
    try:
        if kind is bool:
            if isinstance(text, bool):
                return text
            lowered = str(text).lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if kind is int:
            if key == "batch" and str(text).lower() == "full":
                return 0
            return _whole(text)
        if kind is float:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind is tuple:
            items = text if isinstance(text, (list, tuple)) else \
                [part.strip() for part in str(text).split(",") if part.strip()]
            if key == "hidden":
                return tuple(_whole(part) for part in items)
            if key == "hide":
                return tuple(str(part).strip() for part in items if str(part).strip())
            return tuple(str(part) for part in items)
        return str(text)
    except (ValueError, TypeError, OverflowError):
        expected = {bool: "true or false", int: "a whole number", float: "a number",
                    tuple: "a comma-separated list", str: "text"}[kind]
        raise ConfigError(f"{key} must be {expected}, got {raw!r}") from None


def _whole(text):
    value = float(text)
    if value != int(value):
        raise ValueError
    return int(value)


def _format_field(key, value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if key == "batch" and value == 0:
        return "full"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else f"{value:g}"
    return str(value)


def _check_choice(key, value, choices):
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(map(str, choices))}; got {value!r}")


def _check_range(key, value, label=None):
    low, high = LIMITS[label or key]
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g}, got {value:g}")


def _validate(c):
    _check_choice("data", c.data, DATASETS)
    _check_range("noise", c.noise)
    _check_range("points", c.points)
    _check_range("train", c.train)
    _check_range("dseed", c.dseed, "seed")
    _check_range("seed", c.seed, "seed")
    if not c.features:
        raise ConfigError("features: pick at least one input feature")
    for name in c.features:
        _check_choice("features", name, FEATURES)
    if len(set(c.features)) != len(c.features):
        raise ConfigError(f"features lists a feature twice: {','.join(c.features)}")
    # canonical order, so equal setups give equal links
    object.__setattr__(c, "features", tuple(f for f in FEATURES if f in c.features))
    _check_choice("missing", c.missing, MISSING)
    _check_choice("scale", c.scale, SCALERS)
    if c.view != "pca":
        parts = c.view.split(",")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts) or \
                parts[0].strip() == parts[1].strip():
            raise ConfigError(f"view must be 'pca' or two different input numbers like '0,3', "
                              f"got {c.view!r}")
    _check_range("hidden layers", len(c.hidden), "layers")
    for units in c.hidden:
        if not LIMITS["units"][0] <= units <= LIMITS["units"][1]:
            raise ConfigError(f"hidden: each layer needs {LIMITS['units'][0]} to "
                              f"{LIMITS['units'][1]} units, got {units}")
    if len(c.act) != len(c.hidden):
        raise ConfigError(f"act: {len(c.act)} activation(s) for {len(c.hidden)} hidden "
                          f"layer(s); give one per layer")
    for name in c.act:
        _check_choice("act", name, ACTIVATIONS)
    _check_choice("init", c.init, INITIALIZERS)
    _check_choice("dropout", c.dropout, DROPOUTS)
    if c.batchnorm and c.batch == 1:
        raise ConfigError("batch: batch norm needs at least 2 rows per batch (the variance of "
                          "one row is 0); pick a batch size of 2 or more, or turn batch norm off")
    _check_choice("opt", c.opt, OPTIMIZERS)
    _check_range("lr", c.lr)
    _check_choice("sched", c.sched, SCHEDULES)
    _check_range("batch", c.batch)
    _check_range("l2", c.l2)
    _check_range("l1", c.l1)
    _check_range("maxepochs", c.maxepochs)
    _check_range("targetloss", c.targetloss)
    _check_choice("speed", c.speed, SPEEDS)
    for name in c.hide:
        _check_choice("hide", name, HIDEABLE)
    # canonical order, once each, so equal setups give equal links
    object.__setattr__(c, "hide", tuple(h for h in HIDEABLE if h in c.hide))
    if len(c.lesson) > LESSON_LIMIT:
        raise ConfigError(f"lesson: at most {LESSON_LIMIT} characters, got {len(c.lesson)}")
    if c.data == "csv" and not c.upload:
        raise ConfigError("data=csv needs an uploaded file: choose one with the upload button")


def schema():
    """The schema the page builds its controls from (JSON-ready)."""
    defaults = Config().to_dict()
    return {
        "defaults": defaults,
        "datasets": [{"name": name, "label": label, "kind": kind, "noise": noise,
                      "problem": problem_of(name)}
                     for name, (label, kind, noise) in DATASETS.items()],
        "problems": list(PROBLEMS),
        "hideable": list(HIDEABLE),
        "features": [{"key": key, "label": label, "column": column}
                     for key, (label, column) in FEATURES.items()],
        "activations": list(ACTIVATIONS),
        "initializers": list(INITIALIZERS),
        "dropouts": list(DROPOUTS),
        "optimizers": list(OPTIMIZERS),
        "schedules": [{"name": name, "options": schedule_options(name)} for name in SCHEDULES],
        "scalers": list(SCALERS),
        "missing": list(MISSING),
        "speeds": list(SPEEDS),
        "limits": {k: list(v) for k, v in LIMITS.items()},
    }
