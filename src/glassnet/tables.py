"""A table ready for a run: read, checked, encoded, split and scaled.

This is the data layer under the command line (and anything else that trains
on a user's file or a bundled data set: the playground, search, export). It
turns a name or a path into numbers a network can learn from, and remembers
how, so that a saved model can encode new files the same way:

- :func:`prepare` reads DATA (a bundled name or a file), resolves the target,
  applies the missing-value policy, infers each feature column's encoding
  (its *schema*) and the task, and returns a :class:`Prepared`;
- :func:`split` holds out test rows (stratified for classification);
- :func:`encode_targets` turns labels into the network's target matrix and
  :func:`design` gives scaled features and encoded targets in one call;
- :func:`read_for_model` and :func:`labelled_for_model` read new rows with a
  saved model's schema (for predicting and evaluating).

Every failure is a :class:`~glassnet.datasets.DataError` whose message names
the file, the column and the line.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .datasets import (
    BUNDLED,
    DataError,
    Table,
    encode,
    encode_table,
    feature_names,
    load,
    parse_target,
    read_table,
    resolve_target,
)
from .io import Scaler

__all__ = [
    "BUNDLED_TARGET",
    "MISSING_POLICIES",
    "Prepared",
    "Split",
    "bundled_table",
    "design",
    "encode_targets",
    "infer_task",
    "labelled_for_model",
    "prepare",
    "read_data",
    "read_for_model",
    "split",
]

BUNDLED_TARGET = {"wisconsin": "class", "heart": "class", "xor": "y"}
MISSING_POLICIES = ("error", "drop", "median")
SEPARATOR_NAMES = {"tab": "\t", "space": " "}


@dataclass
class Prepared:
    """Data ready for a network: encoded features, targets and how they were made.

    ``X`` is float64 ``(n_rows, n_encoded_features)``; ``y`` holds the labels
    (classification) or float64 values (regression); ``schema`` says how each
    feature column became numbers (see :func:`glassnet.datasets.infer_schema`);
    ``notes`` are one-line remarks for a report (rows dropped, values filled).
    """

    source: str
    X: np.ndarray
    y: np.ndarray
    target: str
    schema: list
    feature_names: list
    task: str
    classes: list | None
    missing: str
    notes: list = field(default_factory=list)
    one_hot: bool = False


def bundled_table(name, missing="drop", one_hot=False):
    """A bundled data set as a :class:`Table` of text cells, the target column last."""
    options = {}
    if name == "wisconsin":
        options["missing"] = "median" if missing == "median" else "drop"
    if name == "heart":
        options["one_hot"] = one_hot
    bunch = load(name, **options)
    target = BUNDLED_TARGET[name]
    labels = bunch.target_names[bunch.target] if name != "xor" else bunch.target
    columns = [np.ascontiguousarray(bunch.data[:, j], dtype=np.float64)
               for j in range(bunch.data.shape[1])]
    columns.append(np.array([str(v) for v in labels], dtype=object))
    return Table(name, list(bunch.feature_names) + [target], columns, None, True)


def read_data(data, sep=None, missing="error", one_hot=False):
    """DATA (a bundled name or a path) as a :class:`Table` of text cells.

    ``sep`` may also be ``'tab'`` or ``'space'``; it is detected when omitted.
    """
    if data in BUNDLED:
        return bundled_table(data, missing=missing, one_hot=one_hot)
    if not os.path.exists(data) and os.sep not in data and "." not in data:
        raise DataError(f"no bundled data set or file named {data!r}; bundled: "
                        f"{', '.join(BUNDLED)}")
    return read_table(data, sep=SEPARATOR_NAMES.get(sep, sep))


def infer_task(y):
    """'classification' for text or a few whole-number values, else 'regression'."""
    if y.dtype.kind in "OUS":
        return "classification"
    values = np.unique(y)
    if np.issubdtype(y.dtype, np.integer) and len(values) <= 20:
        return "classification"
    return "regression"


def prepare(data, target=None, missing="error", one_hot=False, sep=None, task="auto"):
    """Read DATA and encode it for training: a :class:`Prepared`.

    Parameters
    ----------
    data : str
        A bundled data set (``wisconsin``, ``heart``, ``xor``) or a file path.
    target : str or int, optional
        The target column's name or index; the last column (or the bundled
        set's target) by default.
    missing : {'error', 'drop', 'median'}
        Missing cells: an error counting them per column, drop those rows, or
        fill features with the column's median (most frequent value for text).
        Bundled sets treat ``'error'`` as ``'drop'``.
    one_hot : bool
        Encode text feature columns as one indicator column per value.
    sep : str, optional
        The separator; detected when omitted.
    task : {'auto', 'classification', 'regression'}
        ``'auto'``: see :func:`infer_task`.
    """
    table = read_data(data, sep=sep, missing=missing, one_hot=one_hot)
    if data in BUNDLED:
        target = target or BUNDLED_TARGET[data]
        missing = "drop" if missing == "error" else missing
    X, y, target_name, schema, counts, dropped = encode_table(table, target, None, one_hot,
                                                              missing)
    notes = []
    if counts and missing != "error":
        notes.append(f"{sum(counts.values())} missing value(s); "
                     + (f"dropped {dropped} row(s)" if missing == "drop" else
                        f"filled with column medians, dropped {dropped} row(s) without a target"))
    if task == "auto":
        task = infer_task(y)
    classes = None
    if task == "classification":
        _exact_labels(table, target_name, y)
        classes = [_plain(v) for v in np.unique(y)]
        if len(classes) < 2:
            raise DataError(f"{table.path}: the target column {target_name!r} has one class "
                            f"only ({classes[0]!r}); a classifier needs at least two")
    else:
        if y.dtype.kind in "OUS":
            raise DataError(f"{table.path}: target column {target_name!r} holds text; use "
                            f"--task classification")
        y = y.astype(np.float64)
        if np.unique(y).size < 2:
            raise DataError(f"{table.path}: the target column {target_name!r} has a single "
                            f"value; nothing to learn")
    return Prepared(table.path, X, y, target_name, schema, feature_names(schema), task,
                    classes, missing, notes, one_hot)


def _exact_labels(table, name, y):
    """Whole numbers past 2**53 are not held exactly (float64 rounds 2**63 + 1 to 2**63):
    as class labels, distinct values could merge. Refuse them, saying what to do."""
    if y.dtype.kind == "f" and len(y):
        big = np.abs(y) >= 2.0**53
        if big.any():
            i = int(np.argmax(big))
            raise DataError(f"{table.path}: target column {name!r} holds whole numbers too "
                            f"large to hold exactly ({table.cell(name, i)} at {table.where(i)}; "
                            f"beyond 2**53 = 9007199254740992 neighbouring integers read as "
                            f"the same number), so class labels could merge; write them as "
                            f"text (a letter before each) or use --task regression")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Split:
    """Training and test rows of a :class:`Prepared`, features scaled by ``scaler``
    (fitted on the training rows only). ``note`` says why every row is in both
    parts, or is ``None`` when they are disjoint."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    scaler: Scaler
    note: str | None = None


def split(prepared, test_size, seed, scale="none"):
    """Hold out test rows (stratified for classification) and scale the features: a :class:`Split`.

    With ``test_size == 0`` or fewer than 10 rows, every row is used for both
    and ``note`` says so. ``scale`` is a :class:`~glassnet.io.Scaler` kind.
    """
    from sklearn.model_selection import train_test_split

    n = len(prepared.y)
    if test_size == 0 or n < 10:
        reason = "too few rows to split" if n < 10 else "--test-size 0"
        X_train, X_test, y_train, y_test = prepared.X, prepared.X, prepared.y, prepared.y
        note = f"{reason}: trained and reported on all {n} rows"
    else:
        stratify = None
        if prepared.task == "classification":
            _, counts = np.unique(prepared.y, return_counts=True)
            n_test = math.ceil(test_size * n)
            if counts.min() >= 2 and n_test >= len(counts) and n - n_test >= len(counts):
                stratify = prepared.y
        X_train, X_test, y_train, y_test = train_test_split(
            prepared.X, prepared.y, test_size=test_size, random_state=seed, stratify=stratify)
        note = None
    scaler = Scaler(scale).fit(X_train)
    return Split(scaler.transform(X_train), scaler.transform(X_test), y_train, y_test, scaler,
                 note)


def encode_targets(prepared, y):
    """The network's target matrix for labels or values ``y``: one column per class
    (a single 0/1 column for two classes), or the values as one column."""
    if prepared.task == "classification":
        from sklearn.preprocessing import label_binarize

        Y = label_binarize(np.asarray(y), classes=np.asarray(prepared.classes))
        return Y.astype(np.float64)
    return np.asarray(y, dtype=np.float64).reshape(-1, 1)


def design(prepared, scale):
    """Every row, scaled and encoded for an engine network: ``(X, Y, scaler)``."""
    scaler = Scaler(scale).fit(prepared.X)
    return scaler.transform(prepared.X), encode_targets(prepared, prepared.y), scaler


def read_for_model(metadata, data, sep=None):
    """Read DATA and encode its feature columns exactly as a model's training data.

    ``metadata`` is a saved model's metadata (its ``schema``, ``missing`` and
    ``one_hot``). Returns ``(table, X)``.
    """
    missing = metadata.get("missing", "error")
    table = read_data(data, sep=sep, missing=missing, one_hot=metadata.get("one_hot", False))
    needed = [c["name"] for c in metadata["schema"]]
    present = set(table.names)
    absent = [n for n in needed if n not in present]
    if absent:
        raise DataError(f"{table.path}: missing feature column(s) {', '.join(map(repr, absent))}"
                        f"; the model needs: {', '.join(needed)}")
    return table, encode(table, metadata["schema"], missing="median" if missing == "median"
                         else "error")


def labelled_for_model(model, data, target=None, sep=None):
    """Rows of DATA with their labels, encoded for a saved ``model``: a :class:`Prepared`.

    The target defaults to the column the model was trained on; labels the model
    never saw are an error that lists them.
    """
    table, X = read_for_model(model.metadata, data, sep)
    name = resolve_target(table, target or model.metadata["target"])
    y = parse_target(table, name, slice(None))
    if model.task == "classification":
        known = {str(c) for c in model.classes}
        unseen = sorted({str(v) for v in y} - known)
        if unseen:
            shown = ", ".join(unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5
                                              else "")
            raise DataError(f"{table.path}: target {name!r} has {len(unseen)} label(s) the model "
                            f"never saw ({shown}); the model knows {', '.join(sorted(known))}")
        lookup = {str(c): c for c in model.classes}
        y = np.array([lookup[str(v)] for v in y])
    return Prepared(table.path, X, y, name, model.metadata["schema"], model.feature_names,
                    model.task, model.classes, model.metadata.get("missing", "error"),
                    one_hot=model.metadata.get("one_hot", False))
