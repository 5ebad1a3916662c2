"""What a model file may hold, and every check run on it before it predicts.

:func:`glassnet.io.load_model` trusts nothing in a file. After the zip and the
``.npy`` headers are found sound (:mod:`glassnet.io`), three passes run here,
each stopping at the first problem with a :class:`Damage` that names the
field at fault and says what was expected and what is there:

1. :func:`check_metadata`: every key of ``metadata.json`` against its entry in
   :data:`METADATA`: its type and range (strings where strings belong,
   finite numbers, positive sizes, one of the known names), unknown keys
   refused, missing required keys refused, missing optional keys filled with
   their defaults. A record may also check its own fields against each other
   (the architecture: one activation and one bias flag per layer, an output
   activation that fits the loss).
2. :func:`check_weights`: the arrays of ``weights.npz`` against
   :func:`expected_arrays`: none missing, none extra, each of the shape the
   architecture gives, of the metadata's dtype, and finite (scales positive).
   When every array agrees with the others but not with the metadata, the
   metadata field is named (``architecture.layer_sizes``, ``dtype``);
   otherwise the odd array.
3. Each field's consistency check (``Field(..., check=...)``), in the order of
   :data:`METADATA`: the task against the output activation and loss, the
   classes against the output units, the feature names against the first
   layer's inputs, the schema against the feature names, the scaler kind
   against its arrays, the estimator's recorded parameters against the
   architecture.

Two formats
-----------
Format 1 describes a stack of dense layers (``architecture.activations`` and
``architecture.bias``, one entry per layer of ``layer_sizes``). Format 2
lists every layer in ``architecture.layers`` (:data:`LAYER`: ``dense``,
``batch_norm``, ``activation``, ``dropout``), whose arrays are named by the
layer's position (``W1``, ``gamma2``, ``running_var2``, …; running variances
must be ``>= 0``); the layers must chain, their dense layers must be those
of ``layer_sizes``, and a file written by an estimator must hold exactly the
stack its ``params`` (``batch_norm``, ``dropout``) build.

Adding a field
--------------
1. One entry in :data:`METADATA`, or in the record it belongs to
   (:data:`ARCHITECTURE` for the network): ``"l1": Field(Number(low=0),
   default=0.0)``. Give a ``default`` when files written before the field
   existed must still load: what those files meant (no L1 penalty).
2. If it must agree with the weights or another field, its check on the same
   entry: ``check=check_l1``, a function ``(meta, arrays)`` that raises
   ``Damage("architecture.l1", "expected ..., found ...")``. Checks run after
   every type and every array is known good, so they may index freely.
3. If it brings arrays (a target scaler's offset and scale, batch-norm
   running means and variances), one :class:`ArrayRule` per array in
   :func:`expected_arrays`, its shape and dtype taken from the metadata; it
   is then checked for presence, dtype, shape and finite values like ``W1``.

``save_model`` runs the same checks on what it is about to write, so a file
glassnet writes always loads, and a key written without a schema entry is
refused at once.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .activations import ACTIVATIONS, get_activation
from .datasets._csv import feature_names as encoded_names
from .losses import LOSSES

__all__ = [
    "ARCHITECTURE",
    "FORMAT",
    "FORMAT_VERSION",
    "LAYER",
    "METADATA",
    "OUTPUTS",
    "ArrayRule",
    "Damage",
    "Field",
    "check_metadata",
    "check_weights",
    "expected_arrays",
    "hidden_activations",
    "output_activation",
]

FORMAT = "glassnet-model"
FORMAT_VERSION = 2  # 1: a stack of dense layers; 2: any layers (architecture.layers)


class Damage(Exception):
    """One thing wrong in a model file: ``field`` (e.g. ``schema[2].fill`` or
    ``weights.npz:W1``) and ``detail`` (what was expected, what is there)."""

    def __init__(self, field, detail):
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def _json(value):
    """JSON text for a message, on one line whatever the value holds."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace(
        "\u2029", "\\u2029")


def show(value):
    """A short description of a JSON value for messages: ``the text "abc"``."""
    try:
        text = _json(value)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if value is None or isinstance(value, bool):
        return text
    if isinstance(value, str):
        return f"the text {text}"
    if isinstance(value, (int, float)):
        return f"the number {text}"
    if isinstance(value, list):
        return f"a list of {len(value)} {text}"
    if isinstance(value, dict):
        return f"an object {text}"
    return text


def _at(where, key):
    """The path to a value: ``schema[2].fill``; odd keys quoted: ``training["a b"]``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{where}[{json.dumps(key)}]"
    return f"{where}.{key}" if where else key


# -- value rules --------------------------------------------------------------------
class Spec:
    """A rule for one JSON value. ``check(value, where)`` returns the value
    (normalised where a rule fills defaults) or raises :class:`Damage`."""

    expects = "a value"

    def accepts(self, value):
        return True

    def check(self, value, where):
        if not self.accepts(value):
            raise Damage(where, f"expected {self.expects}, found {show(value)}")
        return value


class Text(Spec):
    expects = "a non-empty string"

    def accepts(self, value):
        return isinstance(value, str) and value != ""


class Flag(Spec):
    expects = "true or false"

    def accepts(self, value):
        return isinstance(value, bool)


def _is_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


class Integer(Spec):
    def __init__(self, low=None, high=None):
        self.low, self.high = low, high
        bounds = [f">= {low}" if low is not None else "", f"<= {high}" if high is not None
                  else ""]
        self.expects = " ".join(["a whole number", *filter(None, bounds)])

    def accepts(self, value):
        return (isinstance(value, int) and not isinstance(value, bool)
                and (self.low is None or value >= self.low)
                and (self.high is None or value <= self.high))


class Number(Spec):
    """A finite number, optionally in a range (``low_open``/``high_open``: excluding the end)."""

    def __init__(self, low=None, high=None, low_open=False, high_open=False):
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        if high is None:
            bound = "" if low is None else f" {'>' if low_open else '>='} {low}"
        else:
            bound = (f" in {'(' if low_open else '['}{low}, {high}"
                     f"{')' if high_open else ']'}")
        self.expects = "a finite number" + bound

    def accepts(self, value):
        if not _is_number(value):
            return False
        low_ok = self.low is None or (value > self.low if self.low_open else value >= self.low)
        high_ok = self.high is None or (value < self.high if self.high_open
                                        else value <= self.high)
        return low_ok and high_ok


class Choice(Spec):
    def __init__(self, *choices):
        self.choices = choices
        self.expects = "one of " + ", ".join(_json(c) for c in choices)

    def accepts(self, value):
        return isinstance(value, str) and value in self.choices


class Label(Spec):
    expects = "a class label (a non-empty string or a finite number)"

    def accepts(self, value):
        return (isinstance(value, str) and value != "") or _is_number(value)


class Anything(Spec):
    expects = "any JSON value"


class Nullable(Spec):
    def __init__(self, spec):
        self.spec = spec
        self.expects = f"null or {spec.expects}"

    def check(self, value, where):
        return None if value is None else self.spec.check(value, where)


class ListOf(Spec):
    def __init__(self, item, min_length=0, unique=False):
        self.item, self.min_length, self.unique = item, min_length, unique
        self.expects = (f"a list of {f'at least {min_length} ' if min_length else ''}"
                        f"{'distinct ' if unique else ''}items, each {item.expects}")

    def check(self, value, where):
        if not isinstance(value, list) or len(value) < self.min_length:
            raise Damage(where, f"expected {self.expects}, found {show(value)}")
        items = [self.item.check(v, _at(where, i)) for i, v in enumerate(value)]
        if self.unique:
            seen = {}
            for i, v in enumerate(items):
                key = json.dumps(v, sort_keys=True)
                if key in seen:
                    raise Damage(_at(where, i), f"expected a value not listed before, found "
                                                f"{show(v)} again (also at [{seen[key]}])")
                seen[key] = i
        return items


class MapOf(Spec):
    """An object with any string keys, each value following ``value``."""

    def __init__(self, value):
        self.value = value
        self.expects = f"an object whose values are {value.expects}"

    def check(self, value, where):
        if not isinstance(value, dict):
            raise Damage(where, f"expected {self.expects}, found {show(value)}")
        return {k: self.value.check(v, _at(where, k)) for k, v in value.items()}


REQUIRED = object()  # a Field default: the key must be present
OMITTED = object()   # a Field default: the key may be absent and stays absent


@dataclass
class Field:
    """One key of a record: its rule, its default when absent (``REQUIRED``:
    refuse the file; ``OMITTED``: leave it out; a callable: computed from the
    record as the file has it, whose earlier keys are already checked; else a
    value) and an optional consistency check ``check(meta, arrays)``, run once
    every type in the file and every array is known good."""

    spec: Spec
    default: object = REQUIRED
    check: object = None


class Record(Spec):
    """A JSON object with known keys, checked in order; unknown keys refused.
    ``check_record(record, where)``, when given, checks the fields against each other."""

    def __init__(self, fields, check_record=None):
        self.fields = fields
        self.check_record = check_record
        self.expects = "an object with keys " + ", ".join(fields)

    def check(self, value, where):
        if not isinstance(value, dict):
            raise Damage(where or "metadata.json", f"expected {self.expects}, found "
                                                   f"{show(value)}")
        unknown = [k for k in value if k not in self.fields]
        if unknown:
            raise Damage(_at(where, unknown[0]), f"expected one of the keys this glassnet "
                                                 f"reads ({', '.join(self.fields)}), found an "
                                                 f"unknown key")
        out = {}
        for key, spec_field in self.fields.items():
            if key in value:
                out[key] = spec_field.spec.check(value[key], _at(where, key))
            elif spec_field.default is REQUIRED:
                raise Damage(_at(where, key), f"expected {spec_field.spec.expects}, found the "
                                              f"key missing")
            elif spec_field.default is not OMITTED:
                default = spec_field.default  # a callable sees the record as the file has it
                out[key] = default(value) if callable(default) else copy.deepcopy(default)
        if self.check_record is not None:
            self.check_record(out, where)
        return out


class Tagged(Spec):
    """An object whose ``tag`` key picks the record it must follow."""

    def __init__(self, tag, records):
        self.tag, self.records = tag, records
        self.expects = f"an object with {tag!r} one of {', '.join(map(json.dumps, records))}"

    def check(self, value, where):
        tag = value.get(self.tag) if isinstance(value, dict) else None
        if not isinstance(tag, str) or tag not in self.records:
            found = show(value.get(self.tag)) if isinstance(value, dict) else show(value)
            at = _at(where, self.tag) if isinstance(value, dict) else where
            raise Damage(at, f"expected {' or '.join(map(json.dumps, self.records))}, "
                             f"found {found}")
        try:
            return self.records[tag].check(value, where)
        except Damage as exc:  # say which record was expected, as the tag chose it
            raise Damage(exc.field, f"{exc.detail} (as {_at(where, self.tag)} is "
                                    f"{_json(tag)})") from None


class ActivationConfig(Spec):
    """``{"name": ..., **options}`` as ``Activation.config()`` writes it; the
    options are those of that activation, each a finite number in its range."""

    expects = "an activation such as {\"name\": \"relu\"}"

    def check(self, value, where):
        if not isinstance(value, dict) or "name" not in value:
            raise Damage(where, f"expected {self.expects}, found {show(value)}")
        Record({"name": Field(Choice(*ACTIVATIONS))}).check({"name": value["name"]}, where)
        options = {k: Field(Number()) for k in get_activation(value["name"]).config()
                   if k != "name"}
        checked = Record({"name": Field(Text()), **options}).check(value, where)
        try:
            get_activation(checked)
        except ValueError as exc:
            raise Damage(where, f"expected valid options, found {show(value)} ({exc})") from None
        return checked


# -- the metadata ---------------------------------------------------------------------
#: Output layers a model file may have: the output activation's name, the task
#: it serves and the losses it trains with.
OUTPUTS = {
    "sigmoid": ("classification", ("binary_cross_entropy",)),
    "softmax": ("classification", ("categorical_cross_entropy",)),
    "identity": ("regression", ("mse", "half_squared_error", "sse")),
    "exp": ("regression", ("poisson",)),
}


def _architecture_agrees(arch, where):
    if "layers" in arch:
        _layers_agree(arch, where)
        return
    for key in ("activations", "bias"):
        if key not in arch:
            raise Damage(_at(where, key), "expected a list with one entry per layer (or the key "
                                          "layers instead), found the key missing")
    n_layers = len(arch["layer_sizes"]) - 1
    for key in ("activations", "bias"):
        if len(arch[key]) != n_layers:
            raise Damage(_at(where, key), f"expected {n_layers} entries, one per layer of "
                                          f"{_at(where, 'layer_sizes')} {arch['layer_sizes']}"
                                          f", found {len(arch[key])}")
    _output_fits_loss(arch, where, _at(where, f"activations[{n_layers - 1}]"),
                      _at(where, "activations"))


def _output_fits_loss(arch, where, output_at, listing):
    output = output_activation(arch)
    if output not in OUTPUTS:
        raise Damage(output_at, f"expected an output activation ({', '.join(OUTPUTS)}), found "
                                f"{show(output)}")
    losses = OUTPUTS[output][1]
    loss = LOSSES[arch["loss"]].name
    if loss not in losses:
        raise Damage(_at(where, "loss"), f"expected {' or '.join(map(json.dumps, losses))} "
                                         f"for a {output} output layer ({listing}), found "
                                         f"{show(loss)}")


def _layers_agree(arch, where):
    """Format 2: the layers chain (each layer's width is what the one before gives), the
    dense layers are those of ``layer_sizes``, and the last layer sets the output."""
    for key in ("activations", "bias"):
        if key in arch:
            raise Damage(_at(where, key), "expected no such key beside architecture.layers "
                                          "(each layer lists its own), found one")
    sizes, layers = arch["layer_sizes"], arch["layers"]
    listing = _at(where, "layers")
    width, dense = sizes[0], 0
    for i, layer in enumerate(layers):
        at = _at(listing, i)
        if layer["type"] == "dense":
            dense += 1
            if dense >= len(sizes):
                raise Damage(listing, f"expected {len(sizes) - 1} dense layers, one per step "
                                      f"of {_at(where, 'layer_sizes')} {sizes}, found more")
            sized = f"{_at(where, 'layer_sizes')} {sizes}"
            for key, wanted, why in (("n_inputs", width, f"the width before it; {sized}"),
                                     ("n_units", sizes[dense], f"entry {dense} of {sized}")):
                if layer[key] != wanted:
                    raise Damage(_at(at, key), f"expected {wanted} ({why}), found "
                                               f"{show(layer[key])}")
            width = layer["n_units"]
        elif layer["type"] == "batch_norm" and layer["n_features"] != width:
            raise Damage(_at(at, "n_features"), f"expected {width} (the width before it; "
                                                f"{_at(where, 'layer_sizes')} {sizes}), found "
                                                f"{show(layer['n_features'])}")
    if dense != len(sizes) - 1:
        raise Damage(listing, f"expected {len(sizes) - 1} dense layers, one per step of "
                              f"{_at(where, 'layer_sizes')} {sizes}, found {dense}")
    last = _at(listing, len(layers) - 1)
    if layers[-1]["type"] not in ("dense", "activation"):
        raise Damage(_at(last, "type"), f"expected \"dense\" or \"activation\" for the output "
                                        f"layer, found {show(layers[-1]['type'])}")
    _output_fits_loss(arch, where, _at(last, "activation"), listing)


def output_activation(arch):
    """The name of the output layer's activation, in either format."""
    if "layers" in arch:
        return get_activation(arch["layers"][-1]["activation"]).name
    return get_activation(arch["activations"][-1]).name


def hidden_activations(arch):
    """Each hidden layer's activation config: format 1's ``activations[:-1]``; in format 2
    the last activation before the next dense layer (the dense layer's own, or the
    ``activation`` layer after its batch normalisation)."""
    if "layers" not in arch:
        return arch["activations"][:-1]
    found, current = [], None
    for layer in arch["layers"]:
        if layer["type"] == "dense" and current is not None:
            found.append(current)
        if "activation" in layer:
            current = layer["activation"]
    return found


LAYER = Tagged("type", {
    "dense": Record({
        "type": Field(Choice("dense")),
        "n_inputs": Field(Integer(low=1)),
        "n_units": Field(Integer(low=1)),
        "activation": Field(ActivationConfig()),
        "bias": Field(Flag()),
    }),
    "batch_norm": Record({
        "type": Field(Choice("batch_norm")),
        "n_features": Field(Integer(low=1)),
        "eps": Field(Number(low=0, low_open=True)),
        "momentum": Field(Number(low=0, high=1, low_open=True)),
    }),
    "activation": Record({
        "type": Field(Choice("activation")),
        "activation": Field(ActivationConfig()),
    }),
    "dropout": Record({
        "type": Field(Choice("dropout")),
        "p": Field(Number(low=0, high=1, high_open=True)),
    }),
})

ARCHITECTURE = Record({
    "layer_sizes": Field(ListOf(Integer(low=1), min_length=2)),
    "activations": Field(ListOf(ActivationConfig()), default=OMITTED),
    "layers": Field(ListOf(LAYER, min_length=1), default=OMITTED),
    "loss": Field(Choice(*LOSSES)),
    "bias": Field(ListOf(Flag()), default=OMITTED),
    "alpha": Field(Number(low=0), default=0.0),
    "l1": Field(Number(low=0), default=0.0),
}, check_record=_architecture_agrees)

COLUMN = Tagged("kind", {
    "numeric": Record({
        "name": Field(Text()),
        "kind": Field(Choice("numeric")),
        "fill": Field(Number()),
    }),
    "categorical": Record({
        "name": Field(Text()),
        "kind": Field(Choice("categorical")),
        "categories": Field(ListOf(Text(), min_length=1, unique=True)),
        "fill": Field(Text()),
    }),
})

TRAINING = Record({
    "data": Field(Text(), default=OMITTED),
    "rows": Field(Integer(low=0), default=OMITTED),
    "epochs": Field(Integer(low=0), default=OMITTED),
    "interrupted": Field(Flag(), default=OMITTED),
    "created": Field(Text(), default=OMITTED),
})


def _numeric_schema(meta):
    """Files written from Python without a schema: each feature is a numeric
    column of that name (there is nothing to fill, as ``missing`` is 'error').
    A file that says how its raw rows were read must say it in full."""
    recorded = [key for key in ("one_hot", "missing", "target") if key in meta]
    if recorded:
        raise Damage("schema", f"expected the encoding of each raw column, found the key "
                               f"missing although the file records {', '.join(recorded)}")
    return [{"name": name, "kind": "numeric", "fill": 0.0} for name in meta["feature_names"]]


def _output_units(meta):
    return meta["architecture"]["layer_sizes"][-1]


def _output_name(meta):
    return output_activation(meta["architecture"])


def check_format_version(meta, arrays):
    wanted = 2 if "layers" in meta["architecture"] else 1
    if meta["format_version"] != wanted:
        why = ("architecture.layers lists the layers" if wanted == 2 else
               "architecture lists activations and bias, not layers")
        raise Damage("format_version", f"expected {wanted} ({why}), found "
                                       f"{show(meta['format_version'])}")


def check_scaler(meta, arrays):
    offset, scale = arrays["scaler_offset"], arrays["scaler_scale"]
    if meta["scaler"] == "none" and (offset.any() or (scale != 1).any()):
        raise Damage("scaler", "expected \"minmax\" or \"standard\" (weights.npz scaler_offset "
                               "and scaler_scale are not all 0 and 1), found \"none\"")


def check_task(meta, arrays):
    output = _output_name(meta)
    task = OUTPUTS[output][0]
    if meta["task"] != task:
        raise Damage("task", f"expected {_json(task)} for a {output} output layer with loss "
                             f"{meta['architecture']['loss']} (architecture), found "
                             f"{show(meta['task'])}")
    if task == "regression" and _output_units(meta) != 1:
        raise Damage("architecture.layer_sizes", f"expected 1 output unit for a regression "
                                                 f"(task), found {_output_units(meta)}")


def check_classes(meta, arrays):
    classes, units, output = meta["classes"], _output_units(meta), _output_name(meta)
    if meta["task"] == "regression":
        if classes is not None:
            raise Damage("classes", f"expected null for a regression model (task), found "
                                    f"{show(classes)}")
        return
    wanted = 2 if output == "sigmoid" else units
    if output == "sigmoid" and units != 1:
        raise Damage("architecture.layer_sizes", f"expected 1 output unit for a sigmoid "
                                                 f"output (two classes), found {units}")
    if classes is None or len(classes) != wanted:
        raise Damage("classes", f"expected {wanted} labels for {units} {output} output "
                                f"unit{'s' if units > 1 else ''} "
                                f"(architecture.layer_sizes), found {show(classes)}")
    if len({isinstance(c, str) for c in classes}) > 1:
        raise Damage("classes", f"expected labels that are all text or all numbers, found "
                                f"{show(classes)}")
    if classes != sorted(classes):
        raise Damage("classes", f"expected labels in sorted order, the order of the output "
                                f"units ({_json(sorted(classes))}), found {show(classes)}")


def check_feature_names(meta, arrays):
    n_inputs = meta["architecture"]["layer_sizes"][0]
    if len(meta["feature_names"]) != n_inputs:
        raise Damage("feature_names", f"expected {n_inputs} names, one per input of the first "
                                      f"layer (architecture.layer_sizes, W1 in weights.npz), "
                                      f"found {len(meta['feature_names'])}")


def check_schema(meta, arrays):
    """Column by column, the schema must encode to exactly the feature names."""
    schema, names = meta["schema"], meta["feature_names"]
    seen, position = set(), 0
    for i, column in enumerate(schema):
        where, name = f"schema[{i}]", column["name"]
        if name in seen:
            raise Damage(f"{where}.name", f"expected a column not listed before, found "
                                          f"{show(name)} again")
        seen.add(name)
        encoded = encoded_names([column])
        end = position + len(encoded)
        listed, prefix = names[position:end], name + "="
        if column["kind"] == "numeric" or not listed[:1] or not listed[0].startswith(prefix):
            if encoded != listed:
                raise Damage(f"{where}.name", f"expected the column feature_names[{position}] "
                                              f"names ({_json(listed[:1])}), found "
                                              f"{show(name)}")
        elif encoded != listed or (end < len(names) and names[end].startswith(prefix) and
                                   encoded_names(schema[i + 1:i + 2])[:1] != names[end:end + 1]):
            # every consecutive name=value feature not claimed by the next column is ours
            wanted = []
            for feature in names[position:]:
                if not feature.startswith(prefix):
                    break
                wanted.append(feature[len(prefix):])
            raise Damage(f"{where}.categories", f"expected {_json(wanted)}, the categories "
                                                f"feature_names lists from [{position}], found "
                                                f"{show(column['categories'])}")
        if column["kind"] == "categorical" and column["fill"] not in column["categories"]:
            raise Damage(f"{where}.fill", f"expected one of the column's categories "
                                          f"{_json(column['categories'])}, found "
                                          f"{show(column['fill'])}")
        position = end
    if position != len(names):
        raise Damage("schema", f"expected a column for every one of the {len(names)} "
                               f"feature_names, found none for feature_names[{position}:] "
                               f"{_json(names[position:])}")


def check_one_hot(meta, arrays):
    categorical = [c["name"] for c in meta["schema"] if c["kind"] == "categorical"]
    if categorical and not meta["one_hot"]:
        raise Damage("one_hot", f"expected true (schema column {_json(categorical[0])} is "
                                f"categorical), found false")


ESTIMATOR_TASKS = {"MLPClassifier": "classification", "MLPRegressor": "regression"}


def check_estimator(meta, arrays):
    task = ESTIMATOR_TASKS.get(meta.get("estimator"))
    if task is not None and task != meta["task"]:
        wanted = next(name for name, t in ESTIMATOR_TASKS.items() if t == meta["task"])
        raise Damage("estimator", f"expected {_json(wanted)} for task "
                                  f"{_json(meta['task'])}, "
                                  f"found {show(meta['estimator'])}")


# scikit-learn's names for the regression losses, as MLPRegressor records them
REGRESSOR_LOSSES = {"squared_error": "half_squared_error", "poisson": "poisson"}


def check_params(meta, arrays):
    """The estimator's recorded settings that fix the network must describe it."""
    params, arch = meta["params"], meta["architecture"]
    hidden = arch["layer_sizes"][1:-1]
    if "hidden_layer_sizes" in params:
        value = params["hidden_layer_sizes"]
        listed = [value] if _is_number(value) else value
        if listed != hidden:
            raise Damage("params.hidden_layer_sizes", f"expected {hidden} to match "
                                                      f"architecture.layer_sizes, found "
                                                      f"{show(value)}")
    if "activation" in params and hidden:
        value = params["activation"]
        names = [value] * len(hidden) if isinstance(value, str) else value
        actual = [get_activation(a).config() for a in hidden_activations(arch)]
        try:
            recorded = [get_activation(name).config() for name in names]
        except (ValueError, TypeError, OverflowError):
            recorded = None
        if not isinstance(names, list) or recorded != actual:
            raise Damage("params.activation", f"expected the hidden activations of "
                                              f"architecture "
                                              f"({', '.join(a['name'] for a in actual)}), "
                                              f"found {show(value)}")
    for key in ("alpha", "l1"):
        if key in params and params[key] != arch[key]:
            raise Damage(f"params.{key}", f"expected {arch[key]!r} to match "
                                          f"architecture.{key}, found {show(params[key])}")
    _check_estimator_layers(meta)
    if "dtype" in params and params["dtype"] not in (None, meta["dtype"]):
        raise Damage("params.dtype", f"expected null or {_json(meta['dtype'])} to match "
                                     f"dtype, found {show(params['dtype'])}")
    loss = params.get("loss")
    if "loss" in params and (not isinstance(loss, str)
                             or REGRESSOR_LOSSES.get(loss) != LOSSES[arch["loss"]].name):
        raise Damage("params.loss", f"expected the loss of architecture.loss "
                                    f"({arch['loss']}), found {show(params['loss'])}")


#: The batch normalisation the estimators build (``batch_norm=True``).
ESTIMATOR_BATCH_NORM = {"eps": 1e-5, "momentum": 0.1}


def _check_estimator_layers(meta):
    """An estimator's ``dropout`` and ``batch_norm`` fix its whole stack of layers:
    ``dense → [batch_norm → activation] → [dropout]`` per hidden layer, then the output
    dense layer. Format 1 files are plain stacks."""
    params, arch = meta["params"], meta["architecture"]
    layers = arch.get("layers")
    batch_norm, dropout = params.get("batch_norm", False), params.get("dropout", 0.0)
    norms = [layer for layer in layers or () if layer["type"] == "batch_norm"]
    drops = [layer for layer in layers or () if layer["type"] == "dropout"]
    if "batch_norm" in params and batch_norm is not bool(norms):
        raise Damage("params.batch_norm", f"expected {_json(bool(norms))}, as the architecture "
                                          f"has {len(norms)} batch_norm layers, found "
                                          f"{show(batch_norm)}")
    if "dropout" in params and (not _is_number(dropout) or bool(dropout) != bool(drops)
                                or any(d["p"] != dropout for d in drops)):
        wanted = drops[0]["p"] if drops else 0.0
        raise Damage("params.dropout", f"expected {wanted!r}, the p of the architecture's "
                                       f"dropout layers ({len(drops)}), found {show(dropout)}")
    if layers is None or meta.get("estimator") not in ESTIMATOR_TASKS:
        return
    sizes, hidden = arch["layer_sizes"], hidden_activations(arch)
    expected = []
    for k, (n_in, n_out) in enumerate(pairwise(sizes)):
        is_hidden = k < len(sizes) - 2
        act = hidden[k] if is_hidden else layers[-1]["activation"]
        expected.append({"type": "dense", "n_inputs": n_in, "n_units": n_out,
                         "activation": {"name": "identity"} if is_hidden and batch_norm
                         else act, "bias": True})
        if is_hidden and batch_norm:
            expected += [{"type": "batch_norm", "n_features": n_out, **ESTIMATOR_BATCH_NORM},
                         {"type": "activation", "activation": act}]
        if is_hidden and dropout:
            expected.append({"type": "dropout", "p": dropout})
    builds = f"{meta['estimator']}(batch_norm={batch_norm}, dropout={dropout}) builds"
    for i, (layer, wanted) in enumerate(zip(layers, expected)):
        for key in ("type", *wanted):
            same = (get_activation(layer[key]).config() == get_activation(wanted[key]).config()
                    if key == "activation" else layer.get(key) == wanted[key])
            if not same:
                raise Damage(f"architecture.layers[{i}].{key}",
                             f"expected {_json(wanted[key])}, as {builds} it (params), found "
                             f"{show(layer.get(key))}")
    if len(layers) != len(expected):
        raise Damage("architecture.layers", f"expected {len(expected)} layers, as {builds} "
                                            f"them (params), found {len(layers)}")


#: Every key of ``metadata.json``, in the order they are checked.
METADATA = Record({
    "format": Field(Choice(FORMAT)),
    "format_version": Field(Integer(low=1, high=FORMAT_VERSION), check=check_format_version),
    "glassnet_version": Field(Text()),
    "architecture": Field(ARCHITECTURE),
    "dtype": Field(Choice("float32", "float64")),
    "scaler": Field(Choice("minmax", "standard", "none"), check=check_scaler),
    "task": Field(Choice("classification", "regression"), check=check_task),
    "classes": Field(Nullable(ListOf(Label(), min_length=2, unique=True)), default=None,
                     check=check_classes),
    "feature_names": Field(ListOf(Text(), min_length=1, unique=True),
                           check=check_feature_names),
    "schema": Field(ListOf(COLUMN, min_length=1), default=_numeric_schema, check=check_schema),
    "one_hot": Field(Flag(), default=False, check=check_one_hot),
    "missing": Field(Choice("error", "drop", "median"), default="error"),
    "target": Field(Text(), default="target"),
    "estimator": Field(Text(), default=OMITTED, check=check_estimator),
    "params": Field(MapOf(Anything()), default={}, check=check_params),
    "training": Field(TRAINING, default={}),
})


def check_metadata(meta):
    """Pass 1: types, ranges, unknown and missing keys. Returns the metadata
    with defaults filled for the optional keys a file leaves out."""
    return METADATA.check(meta, "")


# -- the arrays ----------------------------------------------------------------------
@dataclass(frozen=True)
class ArrayRule:
    """What one array of ``weights.npz`` must be: its ``shape`` and ``dtype``,
    ``values`` ``'finite'``, ``'positive'`` or ``'nonnegative'``, ``why`` (the metadata that calls
    for it, for messages) and whether its dtype is the metadata's ``dtype``
    (``follows_dtype``) rather than fixed."""

    shape: tuple
    dtype: str
    why: str
    values: str = "finite"
    follows_dtype: bool = True


def expected_arrays(meta):
    """The arrays the metadata calls for, by name, in the order they are checked."""
    arch, dtype = meta["architecture"], meta["dtype"]
    sizes = arch["layer_sizes"]
    rules = {}
    if "layers" in arch:  # format 2: arrays named by the layer's position, from 1
        for i, layer in enumerate(arch["layers"], start=1):
            at = f"architecture.layers[{i - 1}]"
            if layer["type"] == "dense":
                shape = (layer["n_inputs"], layer["n_units"])
                rules[f"W{i}"] = ArrayRule(shape, dtype, f"the dense layer {at}")
                if layer["bias"]:
                    rules[f"b{i}"] = ArrayRule(shape[1:], dtype, f"{at}.bias is true")
            elif layer["type"] == "batch_norm":
                why = f"the batch_norm layer {at}"
                for name in ("gamma", "beta", "running_mean"):
                    rules[f"{name}{i}"] = ArrayRule((layer["n_features"],), dtype, why)
                rules[f"running_var{i}"] = ArrayRule((layer["n_features"],), dtype, why,
                                                     "nonnegative")
    else:
        for i, (n_in, n_out) in enumerate(pairwise(sizes), start=1):
            layer = f"layer {i} of architecture.layer_sizes {sizes}"
            rules[f"W{i}"] = ArrayRule((n_in, n_out), dtype, layer)
            if arch["bias"][i - 1]:
                rules[f"b{i}"] = ArrayRule((n_out,), dtype, f"{layer}; architecture.bias"
                                                            f"[{i - 1}] is true")
    inputs = f"the scaler, one per input of architecture.layer_sizes {sizes}"
    rules["scaler_offset"] = ArrayRule((sizes[0],), "float64", inputs, follows_dtype=False)
    rules["scaler_scale"] = ArrayRule((sizes[0],), "float64", inputs, "positive",
                                      follows_dtype=False)
    return rules


def _with_sizes(meta, sizes):
    return {**meta, "architecture": {**meta["architecture"], "layer_sizes": sizes}}


def _implied_sizes(arrays, n_layers):
    """Layer sizes read off the W arrays when they chain (W_i's columns = W_{i+1}'s rows)."""
    Ws = [arrays.get(f"W{i}") for i in range(1, n_layers + 1)]
    if any(W is None or W.ndim != 2 for W in Ws):
        return None
    if any(a.shape[1] != b.shape[0] for a, b in pairwise(Ws)):
        return None
    return [Ws[0].shape[0], *(W.shape[1] for W in Ws)]


def _native(dtype):
    return dtype.newbyteorder("=") if dtype.byteorder != "|" else dtype


def check_weights(meta, arrays):
    """Pass 2, then pass 3: the arrays against the metadata, then every field's
    consistency check. Returns the arrays as contiguous native-order copies."""
    rules = expected_arrays(meta)
    listing = ", ".join(rules)
    for name in rules:
        if name not in arrays:
            raise Damage(f"weights.npz:{name}", f"expected an array ({rules[name].why}), found "
                                                f"none; the metadata calls for {listing}")
    for name, array in arrays.items():
        if name not in rules:
            why = f"the metadata calls for {listing}"
            bias = re.fullmatch(r"b([1-9][0-9]*)", name)
            layers = meta["architecture"].get("layers")
            if bias and layers is None and int(bias[1]) < len(meta["architecture"][
                    "layer_sizes"]):
                why = f"architecture.bias[{int(bias[1]) - 1}] is false"
            elif bias and layers and int(bias[1]) <= len(layers) and \
                    layers[int(bias[1]) - 1]["type"] == "dense":
                why = f"architecture.layers[{int(bias[1]) - 1}].bias is false"
            raise Damage(f"weights.npz:{name}", f"expected no such array ({why}), found one of "
                                                f"shape {array.shape}")
    _check_dtypes(meta, arrays, rules)
    _check_shapes(meta, arrays, rules)
    out = {}
    for name, rule in rules.items():
        array = np.ascontiguousarray(arrays[name], dtype=rule.dtype)
        finite = np.isfinite(array)
        bad = ~{"finite": finite, "positive": finite & (array > 0),
                "nonnegative": finite & (array >= 0)}[rule.values]
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            wanted = {"finite": "finite numbers", "positive": "finite numbers > 0",
                      "nonnegative": "finite numbers >= 0"}[rule.values]
            raise Damage(f"weights.npz:{name}", f"expected {wanted}, found {array[index]} at "
                                                f"{list(index)}")
        out[name] = array
    for check in _field_checks(METADATA, meta):
        check(meta, out)
    return out


def _field_checks(record, value):
    """The consistency checks of a record's fields present in ``value``, nested
    records' included, in declaration order."""
    for key, spec_field in record.fields.items():
        if key not in value:
            continue
        if isinstance(spec_field.spec, Record):
            yield from _field_checks(spec_field.spec, value[key])
        if spec_field.check is not None:
            yield spec_field.check


def _check_dtypes(meta, arrays, rules):
    wrong = [n for n, r in rules.items() if _native(arrays[n].dtype) != np.dtype(r.dtype)]
    if not wrong:
        return
    from_meta = [n for n, r in rules.items() if r.follows_dtype]
    found = {_native(arrays[n].dtype) for n in from_meta}
    if wrong[0] in from_meta and len(found) == 1 and found <= {np.dtype("float32"),
                                                             np.dtype("float64")}:
        raise Damage("dtype", f"expected \"{found.pop()}\", the dtype of every weight array in "
                              f"weights.npz ({', '.join(from_meta)}), found "
                              f"{show(meta['dtype'])}")
    name, rule = wrong[0], rules[wrong[0]]
    source = "the metadata's dtype" if rule.follows_dtype else "as glassnet writes it"
    raise Damage(f"weights.npz:{name}", f"expected dtype {rule.dtype} ({source}), found "
                                        f"{arrays[name].dtype}")


def _check_shapes(meta, arrays, rules):
    wrong = [n for n, r in rules.items() if arrays[n].shape != r.shape]
    if not wrong:
        return
    sizes = meta["architecture"]["layer_sizes"]
    implied = None if "layers" in meta["architecture"] else _implied_sizes(arrays,
                                                                            len(sizes) - 1)
    if implied is not None:
        alternative = expected_arrays(_with_sizes(meta, implied))
        if all(arrays[n].shape == r.shape for n, r in alternative.items()):
            shapes = ", ".join(f"{n} {arrays[n].shape}" for n in alternative)
            raise Damage("architecture.layer_sizes", f"expected {implied}, the sizes of the "
                                                     f"arrays in weights.npz ({shapes}), found "
                                                     f"{sizes}")
    name, rule = wrong[0], rules[wrong[0]]
    raise Damage(f"weights.npz:{name}", f"expected shape {rule.shape} ({rule.why}), found "
                                        f"{arrays[name].shape}")
