"""Model files: every field checked on load, so an edited or damaged file never predicts silently.

The fuzz tests take real model files (trained by the command line: binary,
multiclass with one-hot text columns and gaps, regression without a scaler;
and a file written from Python by glassnet 0.1.0 without biases), mutate one
metadata field or one array at a time, and require that the file either loads
to identical predictions or raises ``ModelFileError`` naming what was changed.
"""

import copy
import io
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from _tables import write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassnet.datasets._csv import Table, encode, read_table
from glassnet.io import ModelFileError, Scaler, load_model, save_model
from glassnet.network import Network

OLD_MODELS = Path(__file__).parent / "data" / "models-0.1.0"


# -- real model files ---------------------------------------------------------------
@dataclass
class Base:
    """A real model file, its parts, rows to predict and its predictions."""

    name: str
    path: Path
    data: Path          # complete raw rows (every feature column, no gaps)
    meta: dict
    arrays: dict
    table: Table
    X: np.ndarray
    output: np.ndarray
    prediction: np.ndarray


def make_base(name, path, data):
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("metadata.json"))
        with np.load(io.BytesIO(zf.read("weights.npz")), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    model = load_model(path)
    table = read_table(data)
    X = encode(table, model.metadata["schema"])
    return Base(name, path, data, meta, arrays, table, X, model.output(X), model.predict(X))


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    pytest.importorskip("sklearn")
    pytest.importorskip("click")
    from glassnet.cli import main

    root = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(5)
    binary = [[f"{a:.3f}", f"{b:.3f}", "yes" if a + b > 0 else "no"]
              for a, b in rng.normal(size=(60, 2))]
    write_csv(root / "binary.csv", ["a", "b", "label"], binary)
    multi = []
    for i in range(90):
        colour = ["red", "green", "blue"][i % 3]
        size = "" if i % 13 == 0 else f"{rng.normal() + i % 3:.3f}"
        multi.append([size, colour, f"{rng.uniform():.3f}", ["high", "low", "mid"][i % 3]])
    write_csv(root / "multiclass.csv", ["size", "colour", "noise", "grade"], multi)
    complete = [row for row in multi if row[0]]
    write_csv(root / "multiclass-rows.csv", ["size", "colour", "noise", "grade"], complete)
    regression = [[f"{x:.4f}", f"{z:.4f}", f"{2 * x - z:.4f}"] for x, z in rng.normal(size=(50, 2))]
    write_csv(root / "regression.csv", ["x", "z", "y"], regression)
    write_csv(root / "python-rows.csv", ["u", "v"], rng.normal(size=(8, 2)).round(3).tolist())
    common = ["--hidden", "3", "--epochs", "5", "--plots", "none", "--quiet"]
    runs = {
        "binary": ([root / "binary.csv"], root / "binary.csv"),
        "multiclass": ([root / "multiclass.csv", "--one-hot", "--missing", "median",
                        "--scale", "minmax"], root / "multiclass-rows.csv"),
        "regression": ([root / "regression.csv", "--scale", "none"], root / "regression.csv"),
        "layers": ([root / "binary.csv", "--batch-norm", "--dropout", "0.2", "--l1", "0.01"],
                   root / "binary.csv"),  # format 2: dense, batch_norm, activation, dropout
    }
    result = {}
    for name, (args, rows) in runs.items():
        assert main(["train", *map(str, args), "--out", str(root / name), *common]) == 0
        result[name] = make_base(name, root / name / "model.glassnet", rows)
    result["python"] = make_base("python", OLD_MODELS / "python-api-nobias.glassnet",
                                 root / "python-rows.csv")
    return result


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """Where mutants are written: in memory when the system offers it (thousands of
    files are written and read back), else a temporary directory."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        with tempfile.TemporaryDirectory(dir="/dev/shm") as directory:
            yield Path(directory) / "mutant.glassnet"
    else:
        yield tmp_path_factory.mktemp("fuzz") / "mutant.glassnet"


def write_model(path, meta, arrays, extra=()):
    """A model file from metadata (a dict, or raw text) and arrays, as save_model lays it out."""
    weights = io.BytesIO()
    np.savez(weights, **arrays)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", meta if isinstance(meta, str) else json.dumps(meta))
        zf.writestr("weights.npz", weights.getvalue())
        for name, data in extra:
            zf.writestr(name, data)
    return path


def mentioned(name, message):
    return name in message or json.dumps(name) in message  # odd keys are quoted


def assert_loads_identically_or_names(base, path, names):
    """Either the file loads and predicts exactly as the original on the same raw rows,
    or it raises ModelFileError whose one-line message names ``names[0]`` and, when more
    are given, at least one of the others (the keys on the way to a nested field)."""
    try:
        model = load_model(path)
    except ModelFileError as exc:
        message = str(exc)
        assert len(message.splitlines()) == 1, message
        assert exc.field and f": {exc.field}: " in message or exc.field == "format_version"
        assert mentioned(names[0], message), (names, message)
        assert len(names) == 1 or any(mentioned(n, message) for n in names[1:]), (names, message)
        return exc
    X = base.X
    if "schema" in base.meta:  # a file with a schema must still encode raw rows the same
        X = encode(base.table, model.metadata["schema"])
        np.testing.assert_array_equal(X, base.X)
    output = model.output(X)
    assert output.dtype == base.output.dtype and np.array_equal(output, base.output), names
    if model.task == "classification":
        # a relabelled class (still sorted) is a harmless edit: the same unit wins
        assert len(model.classes) == base.output.shape[1] + (base.output.shape[1] == 1)
        position = [list(model.classes).index(label) for label in model.predict(X)]
        expected = (base.output[:, 0] > 0.5).astype(int) if base.output.shape[1] == 1 else \
            base.output.argmax(axis=1)
        assert position == list(expected)
    else:
        assert np.array_equal(model.predict(X), base.prediction)
    return None


# -- metadata mutations ---------------------------------------------------------------------
DELETE = object()
ENUMS = ["classification", "regression", "float32", "float64", "object", "minmax", "standard",
         "none", "error", "drop", "median", "relu", "tanh", "sigmoid", "softmax", "identity",
         "leaky_relu", "exp", "mse", "half_squared_error", "binary_cross_entropy",
         "categorical_cross_entropy", "poisson", "numeric", "categorical", "MLPClassifier",
         "MLPRegressor", "squared_error"]
OTHER_TYPES = [None, True, -1, 2.5, "x", [], {}]


def node_paths(value, prefix=()):
    """Every key and list item of the metadata (for long lists the first and last)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from node_paths(child, (*prefix, key))
    elif isinstance(value, list):
        indices = range(len(value)) if len(value) <= 3 else (0, len(value) - 1)
        for i in indices:
            yield from node_paths(value[i], (*prefix, i))


def get(meta, path):
    for key in path:
        meta = meta[key]
    return meta


def mutated(meta, path, new):
    meta = copy.deepcopy(meta)
    parent = get(meta, path[:-1])
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return meta


def replacements(value):
    """Other types, other lengths, other values for one node."""
    out = [DELETE] + [v for v in OTHER_TYPES if type(v) is not type(value)]
    if isinstance(value, bool):
        out.append(not value)
    elif isinstance(value, int):
        out += [value + 1, value - 1, 0]
    elif isinstance(value, float):
        out += [value * 2 + 1, -value, math.inf]
    elif isinstance(value, str):
        out += [value + "x", ""] + ([e for e in ENUMS if e != value] if value in ENUMS else [])
    elif isinstance(value, list) and value:
        out += [value[:-1], value + value[-1:], value[::-1]]
    elif isinstance(value, dict):
        out += [{**value, "zzz_unknown": 1}]
    return out


def unverifiable(base, path):
    """A hidden layer's activation is a free choice the weights do not pin down: only a
    file that records the estimator's ``params`` (as the command line writes) lets it be
    checked. A file written from Python without them cannot tell tanh from relu."""
    if "activations" not in base.meta["architecture"]:
        return False  # format 2 files here all record params
    hidden = len(base.meta["architecture"]["activations"]) - 1
    return "params" not in base.meta and path[:2] == ("architecture", "activations") and \
        len(path) > 2 and path[2] < hidden


def names_for(path):
    """What a ModelFileError for a change at ``path`` must name."""
    keys = [k for k in path if isinstance(k, str)]
    return keys if keys else ["metadata.json"]


def test_every_metadata_field_mutated(bases, scratch):
    target = scratch
    outcomes = {"loaded": 0, "refused": 0}
    fields_refused = set()
    for base in bases.values():
        for path in node_paths(base.meta):
            if not path:
                continue
            if unverifiable(base, path) or (path[0] == "params" and base.name != "binary"):
                continue  # (the estimator's params have the same keys in every file)
            for new in replacements(get(base.meta, path)):
                write_model(target, mutated(base.meta, path, new), base.arrays)
                exc = assert_loads_identically_or_names(base, target, names_for(path))
                outcomes["refused" if exc else "loaded"] += 1
                if exc:
                    fields_refused.add(path[0])
        unknown = {**base.meta, "zzz_unknown": {"a": 1}}
        write_model(target, unknown, base.arrays)
        assert assert_loads_identically_or_names(base, target, ["zzz_unknown"])
    # the test must exercise both outcomes, and refuse edits to every kind of field
    assert outcomes["loaded"] > 50 and outcomes["refused"] > 1000, outcomes
    assert fields_refused >= set(bases["binary"].meta) | {"architecture"}


ISSUE_CASES = {
    # the edits a user tried (issue 18), each refused with the field named
    "class added": ("binary", lambda m: m["classes"].append("maybe"), "classes"),
    "task flipped": ("binary", lambda m: m.update(task="regression"), "task"),
    "task flipped to classification": ("regression", lambda m: m.update(task="classification"),
                                       "task"),
    "class removed": ("multiclass", lambda m: m["classes"].pop(), "classes"),
    "feature_names shortened": ("multiclass", lambda m: m["feature_names"].pop(),
                                "feature_names"),
    "schema shortened": ("multiclass", lambda m: m["schema"].pop(), "schema"),
    "dtype object": ("binary", lambda m: m.update(dtype="object"), "dtype"),
    "fill is text": ("multiclass", lambda m: m["schema"][0].update(fill="abc"), "schema[0].fill"),
    "classes swapped": ("binary", lambda m: m["classes"].reverse(), "classes"),
    "hidden activation": ("binary",
                          lambda m: m["architecture"]["activations"][0].update(name="tanh"),
                          "params.activation"),
}


@pytest.mark.parametrize("case", list(ISSUE_CASES))
def test_issue_edits_are_refused_naming_the_field(bases, tmp_path, case):
    name, edit, field = ISSUE_CASES[case]
    base = bases[name]
    meta = copy.deepcopy(base.meta)
    edit(meta)
    path = write_model(tmp_path / "edited.glassnet", meta, base.arrays)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert info.value.field == field
    assert str(info.value).startswith(f"{path} is damaged: {field}: expected ")


# -- weights.npz mutations -------------------------------------------------------------------
class Exploit:
    """Unpickling this would create a file; glassnet must never unpickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def array_mutations(array, marker):
    yield "flattened", array.reshape(-1)
    yield "extra axis", array[..., None]
    yield "one fewer", array[:-1]
    yield "one more", np.concatenate([array, array[:1]])
    if array.ndim == 2 and array.shape[0] != array.shape[1]:  # square: new values, same shape
        yield "transposed", array.T
        yield "one more column", np.concatenate([array, array[:, :1]], axis=1)
    for dtype in ("float32", "float16", "int64", "complex128", "bool", ">f8", "<f8"):
        yield dtype, array.astype(dtype)
    yield "object", np.array([Exploit(str(marker))] * array.size, dtype=object)
    for value in (np.nan, np.inf, -np.inf):
        changed = array.astype(np.float64)
        changed.flat[changed.size // 2] = value
        yield str(value), changed
    yield "zero", np.zeros_like(array)  # a value change: only a scale must be > 0


def test_every_array_mutated(bases, scratch, tmp_path):
    target, marker = scratch, tmp_path / "pwned"
    refused = 0
    for base in bases.values():
        for name, array in base.arrays.items():
            for label, changed in array_mutations(array, marker):
                if label == "zero" and name not in ("scaler_scale", "target_scale"):
                    continue  # new weights are a different model, not a damaged file
                write_model(target, base.meta, {**base.arrays, name: changed})
                exc = assert_loads_identically_or_names(base, target, [name])
                refused += exc is not None
                if label in ("<f8", ">f8"):  # the same numbers, either byte order
                    assert exc is None, exc
            arrays = dict(base.arrays)
            del arrays[name]
            write_model(target, base.meta, arrays)
            assert assert_loads_identically_or_names(base, target, [name])
            write_model(target, base.meta, {**arrays, name + "x": array})
            assert assert_loads_identically_or_names(base, target, [name])
        write_model(target, base.meta, {**base.arrays, "extra": np.zeros(3)})
        assert assert_loads_identically_or_names(base, target, ["extra"])
    assert refused > 200
    assert not marker.exists()


# -- hypothesis: arbitrary values anywhere ------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10 ** 30), 10 ** 30) | st.floats()
    | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8)




@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_values_at_arbitrary_fields(bases, scratch, data):
    base = bases[data.draw(st.sampled_from(sorted(bases)))]
    path = data.draw(st.sampled_from([p for p in node_paths(base.meta)
                                      if p and not unverifiable(base, p)]))
    node = get(base.meta, path)
    if isinstance(node, dict) and data.draw(st.booleans()):  # an unknown key
        key = data.draw(st.text(min_size=1, max_size=5).filter(lambda k: k not in node))
        meta = mutated(base.meta, (*path, key), data.draw(json_values))
        names = [path[0], key]
    else:
        meta = mutated(base.meta, path, data.draw(json_values))
        names = names_for(path)
    write_model(scratch, meta, base.arrays)
    assert_loads_identically_or_names(base, scratch, names)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_array_damage(bases, scratch, data):
    base = bases[data.draw(st.sampled_from(sorted(bases)))]
    name = data.draw(st.sampled_from(sorted(base.arrays)))
    array = base.arrays[name]
    kind = data.draw(st.sampled_from(["shape", "dtype", "value"]))
    if kind == "shape":
        shape = tuple(data.draw(st.lists(st.integers(0, 5), max_size=3)))
        changed = np.resize(array, shape)
    elif kind == "dtype":
        changed = array.astype(data.draw(st.sampled_from(
            ["float16", "float32", "int8", "uint64", "complex64", "bool", "U3", ">f4"])))
    else:
        changed = array.astype(np.float64)
        changed.flat[data.draw(st.integers(0, array.size - 1))] = data.draw(
            st.sampled_from([np.nan, np.inf, -np.inf]))
    write_model(scratch, base.meta, {**base.arrays, name: changed})
    assert_loads_identically_or_names(base, scratch, [name])


# -- the command line ------------------------------------------------------------------------
CLI_CASES = [
    ("predict", "binary", lambda m, a: m["classes"].append("maybe"), "classes"),
    ("evaluate", "binary", lambda m, a: m.update(task="regression"), "task"),
    ("predict", "multiclass", lambda m, a: m["schema"].pop(), "schema"),
    ("evaluate", "multiclass", lambda m, a: m["schema"][0].update(fill="abc"),
     "schema[0].fill"),
    ("predict", "regression", lambda m, a: a["W1"].__setitem__((0, 0), np.nan),
     "weights.npz:W1"),
    ("evaluate", "regression", lambda m, a: m.update(dtype="object"), "dtype"),
]


def damaged_copy(base, tmp_path, edit):
    meta, arrays = copy.deepcopy(base.meta), {k: v.copy() for k, v in base.arrays.items()}
    edit(meta, arrays)
    return write_model(tmp_path / "damaged.glassnet", meta, arrays)


@pytest.mark.parametrize("command,name,edit,field", CLI_CASES)
def test_cli_one_error_line_and_no_output(bases, tmp_path, capsys, command, name, edit, field):
    from glassnet.cli import main

    path = damaged_copy(bases[name], tmp_path, edit)
    out = tmp_path / "out.csv"
    code = main([command, str(path), str(bases[name].data), "--out", str(out)])
    captured = capsys.readouterr()
    assert code != 0 and captured.out == ""
    assert captured.err.startswith(f"error: {path} is damaged: {field}: expected ")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert not out.exists()


@pytest.mark.parametrize("command,name,edit,field",
                         [CLI_CASES[0], CLI_CASES[1], CLI_CASES[4]])
def test_cli_subprocess(bases, tmp_path, command, name, edit, field):
    path = damaged_copy(bases[name], tmp_path, edit)
    out = tmp_path / "out.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.run([sys.executable, "-m", "glassnet", command, str(path),
                           str(bases[name].data), "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {path} is damaged: {field}: expected ")
    assert not out.exists()


# -- the zip itself --------------------------------------------------------------------------
def zip_with(path, members):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicate names
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def members_of(base):
    with zipfile.ZipFile(base.path) as zf:
        return [(name, zf.read(name)) for name in zf.namelist()]


@pytest.mark.parametrize("extra,field,fragment", [
    (("notes.txt", b"hello"), "notes.txt", "extra member"),
    (("../evil.py", b"import os"), "../evil.py", "leaves the archive"),
    (("/etc/evil", b"x"), "/etc/evil", "leaves the archive"),
    (("metadata.json", b"{}"), "metadata.json", "twice"),
])
def test_zip_members(bases, tmp_path, extra, field, fragment):
    path = zip_with(tmp_path / "m.glassnet", [*members_of(bases["binary"]), extra])
    with pytest.raises(ModelFileError, match=fragment) as info:
        load_model(path)
    assert info.value.field == field


def test_zip_bomb_refused_before_inflating(bases, tmp_path, monkeypatch):
    import glassnet.io

    opened = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    # a real bomb: 8 MiB of zeros in 8 KiB, against a 1 MiB limit
    members = dict(members_of(bases["binary"]))
    path = zip_with(tmp_path / "bomb.glassnet",
                    [("metadata.json", members["metadata.json"]),
                     ("weights.npz", b"\0" * (8 << 20))])
    assert path.stat().st_size < 64 << 10
    # the same inside weights.npz: an array that inflates past the limit
    weights = io.BytesIO()
    np.savez_compressed(weights, W1=np.zeros(1 << 18))
    inner = zip_with(tmp_path / "inner.glassnet", [("metadata.json", members["metadata.json"]),
                                                   ("weights.npz", weights.getvalue())])
    monkeypatch.setattr(glassnet.io, "MAX_INFLATED_BYTES", 1 << 20)
    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(ModelFileError, match="refused before inflating") as info:
        load_model(path)
    assert info.value.field == "weights.npz" and opened == []
    path = inner
    with pytest.raises(ModelFileError, match="refused before inflating") as info:
        load_model(path)
    assert info.value.field == "weights.npz:W1.npy"
    assert opened == ["metadata.json", "weights.npz"]


def test_declared_size_past_the_limit(bases, tmp_path):
    """A member whose header says it inflates to ~4 GB is refused from the header alone."""
    path = zip_with(tmp_path / "big.glassnet", members_of(bases["binary"]))
    with zipfile.ZipFile(path) as zf:
        start = zf.start_dir
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02", start) + 4)  # weights.npz
    data[central + 24:central + 28] = (0xF0000000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="refused before inflating") as info:
        load_model(path)
    assert info.value.field == "weights.npz" and "4026531840" in str(info.value)


def test_member_that_inflates_past_its_declared_size(bases, tmp_path):
    """A bomb that declares 100 bytes: inflated a chunk at a time, stopped at the declared
    size (the CRC then fails), never inflated whole."""
    import tracemalloc

    members = dict(members_of(bases["binary"]))
    path = zip_with(tmp_path / "liar.glassnet", [("metadata.json", b"\0" * (64 << 20)),
                                                 ("weights.npz", members["weights.npz"])])
    with zipfile.ZipFile(path) as zf:
        start = zf.start_dir
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02", start)  # metadata.json's entry
    data[central + 24:central + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="CRC") as info:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.field == "zip" and peak < 8 << 20, peak


def test_npy_header_that_lies_about_its_size(bases, tmp_path):
    members = dict(members_of(bases["binary"]))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10 ** 12,)})
    weights = io.BytesIO()
    with zipfile.ZipFile(weights, "w") as zf:
        zf.writestr("W1.npy", header.getvalue() + b"\0" * 64)
    path = zip_with(tmp_path / "lie.glassnet", [("metadata.json", members["metadata.json"]),
                                                ("weights.npz", weights.getvalue())])
    with pytest.raises(ModelFileError, match="8000000000000 bytes of data") as info:
        load_model(path)
    assert info.value.field == "weights.npz:W1"


@pytest.mark.parametrize("content,fragment", [
    (b"", "not a glassnet model file"),
    (b"hello, world", "not a glassnet model file"),
    (pickle.dumps({"W1": [1.0]}), "pickle"),
])
def test_not_a_zip(tmp_path, content, fragment):
    path = tmp_path / "model.glassnet"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=fragment):
        load_model(path)


def test_metadata_that_is_not_json(bases, tmp_path):
    base = bases["binary"]
    for text, fragment in [("{", "expected JSON"), ("[1, 2]", "expected a JSON object"),
                           ('{"task": 1, "task": 2}', "task: expected each key once"),
                           ("[" * 100000, "expected JSON")]:
        path = write_model(tmp_path / "m.glassnet", text, base.arrays)
        with pytest.raises(ModelFileError, match=fragment):
            load_model(path)
    path = zip_with(tmp_path / "latin.glassnet", [("metadata.json", "é".encode("latin-1")),
                                                  ("weights.npz", b"")])
    with pytest.raises(ModelFileError, match="metadata.json: expected UTF-8"):
        load_model(path)


# -- files written before these checks, and what save_model accepts ---------------------
def test_old_model_files_still_load():
    expected = json.loads((OLD_MODELS / "expected.json").read_text())
    assert len(expected) == 4
    for name, values in expected.items():
        model = load_model(OLD_MODELS / name)
        X = np.linspace(-1.0, 2.0, 5 * len(model.feature_names)).reshape(5, -1)
        # recorded on one CPU: another BLAS kernel sums each row·column product
        # (at most 30 terms) in another order, which moves it by at most
        # 30·2⁻⁵³·Σ|terms| (~1e-15 here), a few times over through the layers
        np.testing.assert_allclose(model.output(X), np.array(values["output"]), rtol=1e-12,
                                   atol=1e-13)
        predicted = model.predict(X).tolist()
        if all(isinstance(v, float) for v in values["predict"]):  # a regression: as above
            np.testing.assert_allclose(predicted, values["predict"], rtol=1e-12, atol=1e-13)
        else:  # labels: every output above is 0.03 or more from a decision boundary
            assert predicted == values["predict"]
    bare = load_model(OLD_MODELS / "python-api-nobias.glassnet").metadata
    assert bare["classes"] is None and bare["missing"] == "error"
    assert bare["schema"] == [{"name": "u", "kind": "numeric", "fill": 0.0},
                              {"name": "v", "kind": "numeric", "fill": 0.0}]


def test_save_model_refuses_what_would_not_load(tmp_path):
    net = Network.from_sizes([2, 3, 1], output_activation="sigmoid", seed=0)
    scaler = Scaler("standard").fit(np.random.default_rng(0).normal(size=(10, 2)))
    meta = {"task": "classification", "classes": ["a", "b"], "feature_names": ["p", "q"]}
    path = tmp_path / "ok.glassnet"
    save_model(path, net, scaler, meta)
    assert load_model(path).classes == ["a", "b"]
    for change, fragment in [({"classes": ["a", "b", "c"]}, "classes: expected 2 labels"),
                             ({"feature_names": ["p"]}, "feature_names: expected 2 names"),
                             ({"colour": "red"}, "colour: expected one of the keys"),
                             ({"task": "regression"}, "task: expected \"classification\"")]:
        bad = tmp_path / "bad.glassnet"
        with pytest.raises(ValueError, match=f"cannot save this model: {fragment}"):
            save_model(bad, net, scaler, {**meta, **change})
        assert not bad.exists()


# -- a scaled regression target ----------------------------------------------------------------
def regression_with_target_scaler(path):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(30, 2)), 150 + 40 * rng.normal(size=(30, 1))
    net = Network.from_sizes([2, 4, 1], output_activation="identity", loss="mse", seed=0)
    scaler, target = Scaler("standard").fit(X), Scaler("standard").fit(y)
    save_model(path, net, scaler, {"task": "regression", "feature_names": ["p", "q"]},
               target_scaler=target)
    return X, net, scaler, target


def test_target_scaler_round_trip(tmp_path):
    X, net, scaler, target = regression_with_target_scaler(tmp_path / "r.glassnet")
    model = load_model(tmp_path / "r.glassnet")
    assert model.metadata["target_scaler"] == "standard"
    np.testing.assert_array_equal(model.target_scaler.offset, target.offset)
    np.testing.assert_array_equal(model.target_scaler.scale, target.scale)
    scaled = net.output(scaler.transform(X))
    assert np.array_equal(model.output(X), scaled)  # the network's own units
    np.testing.assert_allclose(model.predict(X), scaled[:, 0] * target.scale[0] + target.offset[0],
                               rtol=0, atol=1e-12)
    assert abs(model.predict(X).mean() - 150) < 60  # the target's units, not ~0


def test_files_without_a_target_scaler_omit_the_key(tmp_path):
    net = Network.from_sizes([2, 3, 1], output_activation="identity", loss="mse", seed=0)
    scaler = Scaler("none").fit(np.zeros((3, 2)))
    save_model(tmp_path / "m.glassnet", net, scaler, {"task": "regression",
                                                     "feature_names": ["p", "q"]})
    with zipfile.ZipFile(tmp_path / "m.glassnet") as zf:
        assert "target_scaler" not in json.loads(zf.read("metadata.json"))
        assert not {"target_offset.npy", "target_scale.npy"} & set(
            zipfile.ZipFile(io.BytesIO(zf.read("weights.npz"))).namelist())
    model = load_model(tmp_path / "m.glassnet")
    assert model.target_scaler is None and model.metadata["target_scaler"] is None
    assert np.array_equal(model.predict(np.ones((2, 2))), net.output(np.ones((2, 2)))[:, 0])


@pytest.mark.parametrize("edit,field,fragment", [
    (lambda m, a: m.pop("target_scaler"), "weights.npz:target_offset", "target_scaler is null"),
    (lambda m, a: m.update(target_scaler="log"), "target_scaler", "expected one of \"standard\""),
    (lambda m, a: a.pop("target_scale"), "weights.npz:target_scale", "target_scaler is"),
    (lambda m, a: a.update(target_scale=np.zeros(1)), "weights.npz:target_scale", "> 0"),
    (lambda m, a: a.update(target_offset=np.zeros(2)), "weights.npz:target_offset",
     "one per output"),
    (lambda m, a: m.update(task="classification", classes=["a", "b"], architecture={
        **m["architecture"], "activations": [*m["architecture"]["activations"][:-1],
                                             {"name": "sigmoid"}],
        "loss": "binary_cross_entropy"}), "target_scaler", "only a regression target"),
])
def test_target_scaler_damage_is_named(tmp_path, edit, field, fragment):
    path = tmp_path / "r.glassnet"
    regression_with_target_scaler(path)
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("metadata.json"))
        with np.load(io.BytesIO(zf.read("weights.npz")), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    edit(meta, arrays)
    with pytest.raises(ModelFileError, match=fragment) as info:
        load_model(write_model(tmp_path / "edited.glassnet", meta, arrays))
    assert info.value.field == field


def test_python_round_trip_keeps_weights_loss_and_penalty(tmp_path):
    rng = np.random.default_rng(3)
    net = Network.from_sizes([4, 5, 3], output_activation="softmax", alpha=0.01, seed=0)
    X = rng.normal(loc=3.0, scale=2.0, size=(20, 4))
    scaler = Scaler("standard").fit(X)
    save_model(tmp_path / "m.glassnet", net, scaler,
               {"task": "classification", "classes": ["a", "b", "c"],
                "feature_names": ["f1", "f2", "f3", "f4"]})
    model = load_model(tmp_path / "m.glassnet")
    assert all(np.array_equal(p, q) for p, q in zip(model.network.parameters(),
                                                   net.parameters()))
    assert model.network.alpha == 0.01 and model.network.loss.name == net.loss.name
    np.testing.assert_array_equal(model.output(X), net.output(scaler.transform(X)))
    labels = np.array(["a", "b", "c"])[net.predict(scaler.transform(X))]
    assert model.predict(X).tolist() == labels.tolist()


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    from glassnet.io import atomic_write

    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_scaler_kinds():
    X = np.random.default_rng(4).normal(loc=5.0, size=(30, 3))
    X[:, 2] = 1.0  # a constant column keeps scale 1
    minmax = Scaler("minmax").fit_transform(X)
    assert minmax[:, :2].min() == 0.0 and minmax[:, :2].max() == pytest.approx(1.0)
    standard = Scaler("standard").fit_transform(X)
    np.testing.assert_allclose(standard[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(standard[:, 2], 0.0)
    np.testing.assert_array_equal(Scaler("none").fit_transform(X), X)
    with pytest.raises(ValueError, match="scaler must be one of minmax, standard, none"):
        Scaler("robust")
