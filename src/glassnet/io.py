"""Model files: arrays in ``.npz`` plus JSON metadata. Never pickle.

A ``.glassnet`` file is a zip archive with two members:

``metadata.json``
    format name and version, the glassnet version that wrote it, the task,
    the architecture (layer sizes, activations, loss), the classes, the
    feature names, the CSV encoding schema, the scaler kind, the target
    scaler (``"standard"`` for a standardised regression target, else null)
    and the training settings;
``weights.npz``
    every layer's arrays by name (``W1, b1, W2, b2, …``), the scaler's
    ``scaler_offset`` and ``scaler_scale`` and, with a target scaler, its
    ``target_offset`` and ``target_scale``: ``.npy`` arrays read with
    ``allow_pickle=False``.

Two format versions. Version 1 holds a stack of dense layers: the
architecture lists ``layer_sizes``, one ``activations`` entry and one
``bias`` flag per layer. Version 2, written when the network has other layers
(batch normalisation, dropout, separate activations), lists every layer's
configuration in ``architecture.layers`` (``{"type": "dense" | "batch_norm" |
"activation" | "dropout", ...}``) and stores each layer's arrays under the
names of :meth:`~glassnet.Network.state_dict`, the layer's position
appended: ``W1``, ``gamma2``, ``beta2``, ``running_mean2``,
``running_var2``, … A plain dense network is still written as version 1,
which older glassnet versions read; both versions load.

Conversions to and from ONNX, PyTorch and scikit-learn (``to_onnx``,
``to_torch``, ``from_torch``, ``to_sklearn``, ``from_sklearn``) live in
:mod:`glassnet.interop` and are re-exported here on first use.

Nothing in a model file is ever executed: a pickle or any other file gets a
clear :class:`ModelFileError`. Nothing in it is trusted either: the zip (no
extra members, no ``..`` names, nothing that inflates past
:data:`MAX_INFLATED_BYTES`), every ``.npy`` header, every metadata field and
every array are checked against each other before a model is returned (see
:mod:`glassnet.model_schema`), and ``save_model`` runs the same checks on
what it writes. Every file glassnet writes goes to a temporary
file in the same directory first and is moved into place with
``os.replace``, so a crash never leaves half a file behind; it gets the
permissions the user's umask gives, like any file ``open()`` creates.
"""

from __future__ import annotations

import io
import json
import math
import os
import secrets
import stat
import tokenize
import warnings
import zipfile
from contextlib import contextmanager

import numpy as np

from ._files import regular_file_problem
from ._version import __version__
from .layers import Dense, layer_from_config
from .model_schema import FORMAT, FORMAT_VERSION, Damage, check_metadata, check_weights
from .network import Network

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_INFLATED_BYTES",
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


#: A model file whose members (or weights.npz's arrays) would inflate past this
#: many bytes in all is refused before anything is inflated.
MAX_INFLATED_BYTES = 1 << 30


class ModelFileError(ValueError):
    """A model file that is damaged, not a glassnet model, or from an incompatible version.

    ``field`` names the part of the file at fault (``"classes"``,
    ``"schema[2].fill"``, ``"weights.npz:W1"``, ``"metadata.json"``), or is
    ``None`` when the file is not a model file at all.
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


# -- atomic writes --------------------------------------------------------------
@contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file next to ``path``; on success move it onto ``path``.

    An existing ``path`` that is not a regular file (or a link) is refused:
    a device such as ``/dev/full`` is never replaced by a file.
    The temporary file is created with ``os.open(..., 0o666)``, so it gets
    the permissions the user's umask gives, as ``open()`` would (0644 under
    umask 022): a model or report written for others on a server can be read
    by them. (``tempfile.mkstemp`` would make it 0600.) ``O_EXCL`` and a
    random name keep two writers from sharing a temporary file.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        kind = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        kind = None
    if kind is not None and not (stat.S_ISREG(kind) or stat.S_ISLNK(kind)):
        # os.replace would put a regular file where a device, FIFO or directory was
        raise ValueError(f"{path} exists and is not a regular file; refusing to replace it")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".tmp-{secrets.token_hex(6)}-{os.path.basename(path)}")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:  # name the user's file, not the temporary one
            raise type(exc)(exc.errno, exc.strerror, path) from None
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise FileExistsError(f"could not create a temporary file next to {path}")
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

    def inverse_transform(self, X):
        """``x = x'·scale + offset``: scaled values back in their own units."""
        return np.asarray(X, dtype=np.float64) * self.scale + self.offset


# -- the model ----------------------------------------------------------------------
class Model:
    """A trained network with everything needed to apply it to raw rows.

    Attributes: ``network``, ``scaler`` (the features'), ``target_scaler`` (a
    :class:`Scaler` that maps the network's regression output back to the
    target's units, or None when the target was not scaled) and ``metadata``
    (the JSON dict), and ``source``, the file it was loaded from (or None), which
    messages name. Only NumPy is needed to predict.

    Outputs that are not finite (weights that overflow on some rows) are refused
    with a :class:`ModelFileError`: a NaN probability would otherwise become a
    label by default.
    """

    def __init__(self, network, scaler, metadata, target_scaler=None, source=None):
        self.network = network
        self.scaler = scaler
        self.metadata = metadata
        self.target_scaler = target_scaler
        self.source = source

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
        """The network's output for already-encoded (unscaled) features (for a scaled
        regression target, in the scaled units: :meth:`predict` undoes the scaling)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} encoded features, got "
                             f"shape {X.shape}")
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            out = self.network.output(self.scaler.transform(X).astype(self.network.dtype))
        return self._finite(out)

    def _finite(self, out):
        bad = ~np.isfinite(out).all(axis=1)
        if bad.any():
            name = f"model {self.source}" if self.source else "this model"
            raise ModelFileError(
                f"{name} gives non-finite outputs (NaN or infinity) for {int(bad.sum())} of "
                f"{len(out)} rows, the first at row {int(np.argmax(bad)) + 1}: its weights "
                f"overflow there; nothing predicted", field="weights.npz")
        return out

    def predict_proba(self, X):
        """Class probabilities, one column per entry of ``classes``."""
        if self.task != "classification":
            raise ValueError("predict_proba needs a classification model")
        out = self.output(X)
        if out.shape[1] == 1:
            return np.column_stack([1 - out[:, 0], out[:, 0]])
        return out

    def predict(self, X):
        """Labels (classification; threshold 0.5 as scikit-learn) or values (regression,
        in the target's own units)."""
        if self.task != "classification":
            out = self.output(X)
            if self.target_scaler is not None:
                out = self._finite(self.target_scaler.inverse_transform(out))
            return out[:, 0] if out.shape[1] == 1 else out
        proba = self.predict_proba(X)
        if proba.shape[1] == 2:
            index = (proba[:, 1] > 0.5).astype(int)
        else:
            index = proba.argmax(axis=1)
        return np.asarray(self.classes)[index]


def save_model(path, network, scaler, metadata, target_scaler=None):
    """Write a ``.glassnet`` file atomically; returns the metadata written.

    ``scaler`` is the features' :class:`Scaler`; ``target_scaler``, for a
    regression network trained on a standardised target, the ``'standard'``
    :class:`Scaler` fitted on the training targets (one column per output).
    """
    meta = dict(metadata)
    plain = all(isinstance(layer, Dense) for layer in network.layers)
    architecture = {"layer_sizes": network.sizes}
    if plain:
        architecture.update(
            activations=[layer.activation.config() for layer in network.layers],
            bias=[layer.b is not None for layer in network.layers])
    else:
        architecture["layers"] = [layer.config() for layer in network.layers]
    architecture.update(loss=network.loss.name, alpha=network.alpha)
    if network.l1:
        architecture["l1"] = network.l1
    meta.update(
        format=FORMAT, format_version=1 if plain else 2, glassnet_version=__version__,
        architecture=architecture,
        dtype=str(network.dtype),
        scaler=scaler.kind,
    )
    meta.pop("target_scaler", None)
    if target_scaler is not None:  # absent otherwise, as older glassnet versions wrote
        meta["target_scaler"] = target_scaler.kind
    arrays = network.state_dict()
    arrays["scaler_offset"] = np.asarray(scaler.offset, dtype=np.float64)
    arrays["scaler_scale"] = np.asarray(scaler.scale, dtype=np.float64)
    if target_scaler is not None:
        arrays["target_offset"] = np.asarray(target_scaler.offset, dtype=np.float64)
        arrays["target_scale"] = np.asarray(target_scaler.scale, dtype=np.float64)
    text = json.dumps(meta, indent=2, default=_json_default)
    try:  # what is written must load: the same checks as load_model
        check_weights(check_metadata(json.loads(text)), arrays)
    except Damage as exc:
        raise ValueError(f"cannot save this model: {exc.field}: {exc.detail}") from None
    weights = io.BytesIO()
    np.savez(weights, **arrays)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", text)
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
    """Read a ``.glassnet`` file, checking every field before anything is predicted.

    Raises :class:`ModelFileError` for a file that is not a model, is damaged
    or edited into something inconsistent (``field`` names the part at fault:
    a metadata key such as ``classes`` or ``schema[2].fill``, an array such as
    ``weights.npz:W1``, or a zip member), or comes from a newer format.
    See :mod:`glassnet.model_schema` for what is checked.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"no such model file: {path}")
    if os.path.isdir(path):
        raise ModelFileError(f"{path} is a directory, not a glassnet model file")
    problem = regular_file_problem(path, "model")
    if problem:  # a FIFO would block, /dev/zero never end
        raise ModelFileError(problem)
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            head = handle.read(2)
        hint = " (it looks like a Python pickle, which glassnet never loads)" if head[:1] == \
            b"\x80" else ""
        raise ModelFileError(f"{path} is not a glassnet model file{hint}")
    members = ("metadata.json", "weights.npz")
    try:
        with zipfile.ZipFile(path) as zf:
            present = set(zf.namelist()) & set(members)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelFileError(f"{path} is damaged: zip: expected a readable zip, found {exc}",
                             field="zip") from None
    if not present:
        raise ModelFileError(f"{path} is not a glassnet model file (a zip without "
                             f"metadata.json and weights.npz)")
    try:
        for name in members:
            if name not in present:
                raise Damage(name, "expected this member in the zip, found it missing")
        contents = _read_zip(lambda: zipfile.ZipFile(path), "", members.__contains__,
                             " and ".join(members))
        meta = _parse_metadata(contents["metadata.json"])
        _check_version(path, meta)
        meta = check_metadata(meta)
        arrays = _read_npz(contents["weights.npz"])
        arrays = check_weights(meta, arrays)
    except Damage as exc:
        raise ModelFileError(f"{path} is damaged: {exc.field}: {exc.detail}",
                             field=exc.field) from None
    arch = meta["architecture"]
    if "layers" in arch:  # format 2: every layer, its arrays named as state_dict() names them
        layers = [layer_from_config(config, meta["dtype"]) for config in arch["layers"]]
        network = Network(layers, loss=arch["loss"], alpha=arch["alpha"], l1=arch["l1"])
        network.load_state_dict({name: array for name, array in arrays.items()
                                 if not name.startswith(("scaler_", "target_"))})
    else:
        layers = [Dense.from_arrays(arrays[f"W{i}"], arrays.get(f"b{i}"), activation)
                  for i, activation in enumerate(arch["activations"], start=1)]
        network = Network(layers, loss=arch["loss"], alpha=arch["alpha"], l1=arch["l1"])
    network.pack()  # the arrays are the file's own: laid out for training further
    scaler = Scaler(meta["scaler"], arrays["scaler_offset"], arrays["scaler_scale"])
    target_scaler = None
    if meta["target_scaler"] is not None:
        target_scaler = Scaler(meta["target_scaler"], arrays["target_offset"],
                               arrays["target_scale"])
    model = Model(network, scaler, meta, target_scaler, source=path)
    _probe(model)
    return model


def _probe(model):
    """Refuse weights that give non-finite outputs on three probe rows: every scaled
    feature at 0 (the training mean, for a standard scaler), at +1 and at -1."""
    scaled = np.repeat([[0.0], [1.0], [-1.0]], len(model.scaler.offset), axis=1)
    with np.errstate(all="ignore"):
        out = model.network.output(scaled.astype(model.network.dtype))
        if model.target_scaler is not None:
            out = model.target_scaler.inverse_transform(out)
    bad = int((~np.isfinite(out).all(axis=1)).sum())
    if bad:
        raise ModelFileError(f"{model.source} is damaged: weights.npz: expected weights that "
                             f"give finite outputs, found NaN or infinity on {bad} of 3 probe "
                             f"rows (every scaled feature at 0, +1 and -1)",
                             field="weights.npz")


def _check_version(path, meta):
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and \
            version > FORMAT_VERSION and meta.get("format") == FORMAT:
        raise ModelFileError(
            f"{path} has model format version {version} (written by glassnet "
            f"{meta.get('glassnet_version', '?')}); this glassnet {__version__} reads format "
            f"versions 1 to {FORMAT_VERSION} (format_version in metadata.json): upgrade glassnet "
            f"to load it",
            field="format_version")


def _read_zip(open_archive, where, allowed, what):
    """Every member of a zip, read whole once the archive is found sound: no
    name with ``..`` or an absolute path, no name twice, only ``allowed(name)``
    members (``what`` describes them), none encrypted or compressed in a way
    zipfile cannot read, and at most :data:`MAX_INFLATED_BYTES` declared in all,
    which is checked before anything is inflated."""
    prefix = f"{where}:" if where else ""
    try:
        with open_archive() as zf:
            infos, seen = zf.infolist(), set()
            for info in infos:
                name, fault = info.filename, None
                parts = name.replace("\\", "/").split("/")
                if ".." in parts or name.startswith(("/", "\\")) or ":" in parts[0]:
                    fault = "expected a plain member name, found a path that leaves the archive"
                elif name in seen:
                    fault = "expected each member once, found it twice"
                elif not allowed(name):
                    fault = f"expected only {what} in the zip, found this extra member"
                elif info.flag_bits & 0x1:
                    fault = "expected a plain member, found it encrypted"
                elif info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    fault = (f"expected stored or deflated data, found compression method "
                             f"{info.compress_type}")
                if fault:
                    raise Damage(prefix + name, fault)
                seen.add(name)
            total = sum(info.file_size for info in infos)
            if total > MAX_INFLATED_BYTES:
                largest = max(infos, key=lambda info: info.file_size)
                raise Damage(prefix + largest.filename,
                             f"expected at most {MAX_INFLATED_BYTES} bytes inflated in all, "
                             f"found {largest.file_size} declared for this member ({total} "
                             f"in all); refused before inflating")
            return {info.filename: _inflate(zf, info) for info in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        raise Damage(where or "zip", f"expected a readable zip, found {exc}") from None


def _inflate(zf, info, chunk=1 << 20):
    """A member's bytes, inflated a chunk at a time: zipfile stops at the declared
    size (then finds the CRC wrong if the data goes on), but its ``read()`` of a
    whole member may inflate up to 2 GiB in one step, whatever was declared."""
    parts = []
    with zf.open(info) as member:
        while data := member.read(chunk):
            parts.append(data)
    return b"".join(parts)


def _parse_metadata(data):
    def unique_keys(pairs):
        found = dict(pairs)
        if len(found) != len(pairs):  # one pass: an object may have 200,000 keys
            seen = set()
            for key, _ in pairs:
                if key in seen:
                    raise Damage(key, "expected each key once in its object, found it twice")
                seen.add(key)
        return found

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Damage("metadata.json", f"expected UTF-8 text, found {exc.reason} at byte "
                                      f"{exc.start}") from None
    try:
        meta = json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise Damage("metadata.json", f"expected JSON, found {exc.msg} at line {exc.lineno} "
                                      f"column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise Damage("metadata.json", f"expected JSON, found {exc}") from None
    if not isinstance(meta, dict):
        raise Damage("metadata.json", f"expected a JSON object, found {type(meta).__name__}")
    return meta


def _read_npz(data):
    """The arrays of ``weights.npz``, each ``.npy`` header checked before its data is read."""
    members = _read_zip(lambda: zipfile.ZipFile(io.BytesIO(data)), "weights.npz",
                        lambda name: name.endswith(".npy") and "/" not in name, ".npy arrays")
    return {name[:-4]: _read_npy(raw, f"weights.npz:{name[:-4]}")
            for name, raw in members.items()}


def _read_npy(raw, where):
    handle = io.BytesIO(raw)
    try:
        with warnings.catch_warnings():  # a header NumPy can parse only the Python 2 way
            warnings.simplefilter("ignore")
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise Damage(where, f"expected a .npy array of format 1.0 or 2.0, found "
                                    f"{version}")
    # The header is a Python literal: a damaged one fails in the tokenizer or the parser
    except (ValueError, SyntaxError, TypeError, OverflowError, EOFError, MemoryError,
            RecursionError, tokenize.TokenError) as exc:
        raise Damage(where, f"expected a .npy array, found {type(exc).__name__}: "
                            f"{exc}") from None
    if dtype.hasobject:
        raise Damage(where, "expected numbers, found Python objects (never unpickled)")
    if any(n < 0 for n in shape):
        raise Damage(where, f"expected a shape of sizes >= 0, found {shape}")
    needed, present = math.prod(shape) * dtype.itemsize, len(raw) - handle.tell()
    if needed != present:
        raise Damage(where, f"expected {needed} bytes of data for shape {shape} of "
                            f"{dtype}, found {present}")
    handle.seek(0)
    try:
        return np.lib.format.read_array(handle, allow_pickle=False)
    except (ValueError, TypeError, OverflowError, EOFError) as exc:  # pragma: no cover
        raise Damage(where, f"expected a .npy array, found {exc}") from None
