"""Model files: arrays in ``.npz`` plus JSON metadata. Never pickle.

A ``.glassnet`` file is a zip archive with two members:

``metadata.json``
    format name and version, the glassnet version that wrote it, the task,
    the architecture (layer sizes, activations, loss), the classes, the
    feature names, the CSV encoding schema, the scaler kind and the training
    settings;
``weights.npz``
    ``W1, b1, W2, b2, …`` and the scaler's ``scaler_offset`` and
    ``scaler_scale``, read back with ``numpy.load(..., allow_pickle=False)``.

Conversions to and from ONNX, PyTorch and scikit-learn (``to_onnx``,
``to_torch``, ``from_torch``, ``to_sklearn``, ``from_sklearn``) live in
:mod:`glassnet.interop` and are re-exported here on first use.

Nothing in a model file is ever executed: a pickle or any other file gets a
clear :class:`ModelFileError`. Every file glassnet writes goes to a temporary
file in the same directory first and is moved into place with
``os.replace``, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from contextlib import contextmanager

import numpy as np

from ._version import __version__
from .layers import Dense
from .network import Network

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Model",
    "ModelFileError",
    "Scaler",
    "atomic_write",
    "load_model",
    "save_model",
    "write_bytes",
    "write_text",
]

_INTEROP = ("from_sklearn", "from_torch", "to_onnx", "to_sklearn", "to_torch")


def __getattr__(name):
    # The converters need onnx, torch or scikit-learn; import them only when asked,
    # so that glassnet.io needs NumPy alone.
    if name in _INTEROP:
        from . import interop

        return getattr(interop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

FORMAT = "glassnet-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that is damaged, not a glassnet model, or from an incompatible version."""


# -- atomic writes --------------------------------------------------------------
@contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file next to ``path``; on success move it onto ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes(path, data):
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


# -- preprocessing ----------------------------------------------------------------
class Scaler:
    """Feature scaling ``x' = (x − offset) / scale``, column by column.

    ``kind='minmax'``: offset = column minimum, scale = max − min (to [0, 1]);
    ``kind='standard'``: offset = mean, scale = standard deviation;
    ``kind='none'``: offset 0, scale 1. A constant column gets scale 1.
    Fitted on the training rows only.
    """

    KINDS = ("minmax", "standard", "none")

    def __init__(self, kind="standard", offset=None, scale=None):
        if kind not in self.KINDS:
            raise ValueError(f"scaler must be one of {', '.join(self.KINDS)}, got {kind!r}")
        self.kind = kind
        self.offset = offset
        self.scale = scale

    def fit(self, X):
        X = np.asarray(X, dtype=np.float64)
        if self.kind == "minmax":
            offset, scale = X.min(axis=0), X.max(axis=0) - X.min(axis=0)
        elif self.kind == "standard":
            offset, scale = X.mean(axis=0), X.std(axis=0)
        else:
            offset, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        self.offset, self.scale = offset, np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X):
        if X.shape[1] != self.offset.shape[0]:
            raise ValueError(f"expected {self.offset.shape[0]} features, got {X.shape[1]}")
        return (np.asarray(X, dtype=np.float64) - self.offset) / self.scale

    def fit_transform(self, X):
        return self.fit(X).transform(X)


# -- the model ----------------------------------------------------------------------
class Model:
    """A trained network with everything needed to apply it to raw rows.

    Attributes: ``network``, ``scaler``, ``metadata`` (the JSON dict). Only
    NumPy is needed to predict.
    """

    def __init__(self, network, scaler, metadata):
        self.network = network
        self.scaler = scaler
        self.metadata = metadata

    @property
    def task(self):
        return self.metadata["task"]

    @property
    def classes(self):
        return self.metadata.get("classes")

    @property
    def feature_names(self):
        return self.metadata["feature_names"]

    def output(self, X):
        """The network's output for already-encoded (unscaled) features."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} encoded features, got "
                             f"shape {X.shape}")
        return self.network.output(self.scaler.transform(X).astype(self.network.dtype))

    def predict_proba(self, X):
        """Class probabilities, one column per entry of ``classes``."""
        if self.task != "classification":
            raise ValueError("predict_proba needs a classification model")
        out = self.output(X)
        if out.shape[1] == 1:
            return np.column_stack([1 - out[:, 0], out[:, 0]])
        return out

    def predict(self, X):
        """Labels (classification; threshold 0.5 as scikit-learn) or values (regression)."""
        if self.task != "classification":
            out = self.output(X)
            return out[:, 0] if out.shape[1] == 1 else out
        proba = self.predict_proba(X)
        if proba.shape[1] == 2:
            index = (proba[:, 1] > 0.5).astype(int)
        else:
            index = proba.argmax(axis=1)
        return np.asarray(self.classes)[index]


def save_model(path, network, scaler, metadata):
    """Write a ``.glassnet`` file atomically; returns the metadata written."""
    meta = dict(metadata)
    meta.update(
        format=FORMAT, format_version=FORMAT_VERSION, glassnet_version=__version__,
        architecture={
            "layer_sizes": network.sizes,
            "activations": [layer.activation.config() for layer in network.layers],
            "loss": network.loss.name,
            "bias": [layer.b is not None for layer in network.layers],
            "alpha": network.alpha,
        },
        dtype=str(network.dtype),
        scaler=scaler.kind,
    )
    arrays = {}
    for i, layer in enumerate(network.layers, start=1):
        arrays[f"W{i}"] = layer.W
        if layer.b is not None:
            arrays[f"b{i}"] = layer.b
    arrays["scaler_offset"] = np.asarray(scaler.offset, dtype=np.float64)
    arrays["scaler_scale"] = np.asarray(scaler.scale, dtype=np.float64)
    weights = io.BytesIO()
    np.savez(weights, **arrays)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(meta, indent=2, default=_json_default))
        zf.writestr("weights.npz", weights.getvalue())
    write_bytes(path, archive.getvalue())
    return meta


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in model metadata")


def load_model(path):
    """Read a ``.glassnet`` file; raises :class:`ModelFileError` for anything else."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"no such model file: {path}")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            head = handle.read(2)
        hint = " (it looks like a Python pickle, which glassnet never loads)" if head[:1] == \
            b"\x80" else ""
        raise ModelFileError(f"{path} is not a glassnet model file{hint}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if not {"metadata.json", "weights.npz"} <= names:
                raise ModelFileError(f"{path} is not a glassnet model file (a zip without "
                                     f"metadata.json and weights.npz)")
            meta = json.loads(zf.read("metadata.json").decode("utf-8"))
            weights = zf.read("weights.npz")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{path} is damaged: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a glassnet model file")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version!r} (written by glassnet "
            f"{meta.get('glassnet_version', '?')}); this glassnet {__version__} reads format "
            f"version {FORMAT_VERSION}")
    try:
        with np.load(io.BytesIO(weights), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        arch = meta["architecture"]
        sizes, activations = arch["layer_sizes"], arch["activations"]
        layers = []
        for i, activation in enumerate(activations, start=1):
            W = np.ascontiguousarray(arrays[f"W{i}"], dtype=meta.get("dtype", "float64"))
            b = arrays.get(f"b{i}")
            if W.shape != (sizes[i - 1], sizes[i]):
                raise ModelFileError(f"{path} is damaged: W{i} has shape {W.shape}, expected "
                                     f"{(sizes[i - 1], sizes[i])}")
            b = None if b is None else np.ascontiguousarray(b, dtype=W.dtype)
            layers.append(Dense.from_arrays(W, b, activation))
        network = Network(layers, loss=arch["loss"], alpha=arch.get("alpha", 0.0))
        scaler = Scaler(meta["scaler"], arrays["scaler_offset"], arrays["scaler_scale"])
    except ModelFileError:
        raise
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{path} is damaged: {type(exc).__name__}: {exc}") from None
    return Model(network, scaler, meta)
