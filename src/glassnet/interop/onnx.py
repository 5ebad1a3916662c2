"""Export to ONNX: the network *and* its preprocessing, from raw columns to labels.

The graph is built with the ``onnx`` package's ``helper`` functions, opset
17 of the default domain and opset 3 of ``ai.onnx.ml``, IR version 8, and
computes in float32. For a model trained from a table (``glassnet train``)
it starts from the raw feature columns and repeats what ``glassnet predict``
does:

``X`` (float32, one column per numeric feature column, missing cells NaN)
    ``Imputer`` fills NaN with the training median when the model was trained
    with ``--missing median``;
``X_text`` (string, one column per text column, present only if there are any)
    ``OneHotEncoder`` turns each into indicator columns (a value unseen in
    training gives all zeros); a missing-value token (empty, ``?``, ``NA``,
    ``nan``, …, any case), found with a ``LabelEncoder``, becomes the most
    frequent training value with ``--missing median``;
then ``Concat`` puts the encoded columns in the model's order, ``Scaler``
computes ``(x − offset)·(1/scale)``, and each dense layer is a ``Gemm``
(``Z = X·W + b``) followed by its activation. Layers that behave differently
in training are exported in their inference form: batch normalisation as
``BatchNormalization`` with the running statistics, dropout as nothing. Without ``--missing median``,
where ``glassnet predict`` refuses a missing value, the graph gives NaN
probabilities for that row.

Outputs: ``label`` and ``probabilities`` (one column per class, in the order of
the classes) for classifiers, ``value`` for regressors (one value per row, or
one column per output, in the target's units: a ``Mul`` and an ``Add`` undo a
standardised target's scaling), ``output`` (``Ŷ``) for a bare network. A glassnet
estimator's graph takes its ``n_features_in_`` columns as ``X``; the graph's
metadata (``metadata_props``) and the inputs' documentation name the columns.

Layers are exported by the functions in :data:`LAYER_EXPORTERS`, one per
layer class, so a new kind of layer needs one small function there.
"""

from __future__ import annotations

import itertools
import json

import numpy as np

from .._version import __version__
from ..datasets._csv import MISSING_TOKENS
from ..layers import Activation, BatchNorm, Dense, Dropout
from ._source import describe, missing_extra
from .sklearn import as_glassnet

__all__ = ["IR_VERSION", "LAYER_EXPORTERS", "ML_OPSET", "OPSET", "to_onnx"]

OPSET = 17
ML_OPSET = 3
IR_VERSION = 8


def _import_onnx():
    try:
        import onnx
        import onnx.numpy_helper
    except ImportError as exc:
        raise missing_extra("glassnet.io.to_onnx", "onnx", exc) from None
    return onnx


class _Graph:
    """Nodes and constants under construction, every name unique."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes, self.initializers = [], []
        self._used = set()

    def name(self, base):
        name, k = base, 1
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def const(self, array, base):
        name = self.name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, base, domain="", **attributes):
        output = self.name(base)
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), [output], name=self.name(f"{output}_{op_type}"),
            domain=domain, **attributes))
        return output


# -- the network ------------------------------------------------------------------------
_ACTIVATION_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "exp": "Exp"}


def _activate(graph, activation, Z, prefix):
    name = activation.name
    if name == "identity":
        return Z
    if name == "leaky_relu":
        return graph.op("LeakyRelu", [Z], f"{prefix}A", alpha=float(activation.slope))
    if name == "softmax":
        return graph.op("Softmax", [Z], f"{prefix}A", axis=1)
    if name not in _ACTIVATION_OPS:
        raise ValueError(f"cannot export the activation {name!r} to ONNX")
    return graph.op(_ACTIVATION_OPS[name], [Z], f"{prefix}A")


def _dense(graph, layer, X, prefix):
    """``Z = X·W + b`` as one ``Gemm`` (``MatMul`` without a bias), then ``A = f(Z)``."""
    W = graph.const(layer.W.astype(np.float32), f"{prefix}W")
    if layer.b is None:
        Z = graph.op("MatMul", [X, W], f"{prefix}Z")
    else:
        b = graph.const(layer.b.astype(np.float32), f"{prefix}b")
        Z = graph.op("Gemm", [X, W, b], f"{prefix}Z")
    return _activate(graph, layer.activation, Z, prefix)


def _batch_norm(graph, layer, X, prefix):
    """Inference form, ONNX's ``BatchNormalization``:
    ``y = γ·(x − running_mean)/√(running_var + eps) + β``."""
    arrays = [graph.const(np.asarray(array, dtype=np.float32), f"{prefix}{name}")
              for name, array in (("gamma", layer.gamma), ("beta", layer.beta),
                                  ("running_mean", layer.running_mean),
                                  ("running_var", layer.running_var))]
    return graph.op("BatchNormalization", [X, *arrays], f"{prefix}Y", epsilon=float(layer.eps))


def _activation_layer(graph, layer, X, prefix):
    return _activate(graph, layer.activation, X, prefix)


def _dropout(graph, layer, X, prefix):
    """Inference form: the identity (inverted dropout rescaled in training already)."""
    return X


#: layer class -> function(graph, layer, input name, name prefix) -> output name
LAYER_EXPORTERS = {Dense: _dense, BatchNorm: _batch_norm, Activation: _activation_layer,
                   Dropout: _dropout}


def _network(graph, network, X):
    for i, layer in enumerate(network.layers, start=1):
        exporter = LAYER_EXPORTERS.get(type(layer))
        if exporter is None:
            raise ValueError(f"cannot export layer {i} ({type(layer).__name__}) to ONNX: "
                             f"glassnet has no ONNX exporter for it")
        X = exporter(graph, layer, X, f"layer{i}_")
    return X


# -- preprocessing ----------------------------------------------------------------------
def _case_variants(token):
    """Every upper/lower-case spelling of an ASCII token (``na`` -> na, nA, Na, NA)."""
    choices = [(c.lower(), c.upper()) if c.isalpha() else (c,) for c in token]
    return sorted({"".join(p) for p in itertools.product(*choices)})


# what glassnet's CSV reader takes for a missing cell of a text column: its tokens in
# any case
MISSING_SPELLINGS = sorted({v for token in MISSING_TOKENS for v in _case_variants(token)})


def _text_column(graph, source, column, j, missing):
    """One-hot indicator columns for the text column ``j`` of ``X_text``; ``missing``
    flags the missing cells of every text column."""
    categories = [str(c) for c in column["categories"]]
    tag = f"col{j}_"
    cells = graph.op("Gather", ["X_text", graph.const(np.array(j, dtype=np.int64),
                                                      f"{tag}index")], f"{tag}cells", axis=1)
    onehot = graph.op("OneHotEncoder", [cells], f"{tag}onehot", domain="ai.onnx.ml",
                      cats_strings=categories, zeros=1)
    flags = graph.op("Gather", [missing, graph.const(np.array([j], dtype=np.int64),
                                                     f"{tag}columns")], f"{tag}missing", axis=1)
    if source.missing == "median":  # the most frequent training value
        row = (np.asarray(categories) == str(column["fill"])).astype(np.float32)
    else:  # glassnet predict refuses the row: NaN
        row = np.full(len(categories), np.nan, dtype=np.float32)
    return graph.op("Where", [flags, graph.const(row[None, :], f"{tag}fill"), onehot],
                    f"{tag}encoded")


def _preprocess(graph, source):
    """The raw columns' inputs and the encoded, scaled matrix:
    ``(input value infos, {input name: its column names}, matrix name)``."""
    helper, TensorProto = graph.onnx.helper, graph.onnx.TensorProto
    numeric = [c for c in source.schema if c["kind"] == "numeric"]
    text = [c for c in source.schema if c["kind"] != "numeric"]
    inputs, columns = [], {}
    for name, group, kind, what in (
            ("X", numeric, TensorProto.FLOAT, "numeric columns, float32, missing cells NaN"),
            ("X_text", text, TensorProto.STRING, "text columns, as in the CSV")):
        if group:
            columns[name] = [c["name"] for c in group]
            inputs.append(helper.make_tensor_value_info(
                name, kind, ["N", len(group)], doc_string=f"{what}: {', '.join(columns[name])}"))
    X = "X"
    if numeric and source.missing == "median":
        X = graph.op("Imputer", ["X"], "X_imputed", domain="ai.onnx.ml",
                     imputed_value_floats=[float(c["fill"]) for c in numeric],
                     replaced_value_float=float("nan"))
    if not text:
        encoded = X
    else:
        missing = graph.op("LabelEncoder", ["X_text"], "X_text_missing_flag",
                           domain="ai.onnx.ml", keys_strings=MISSING_SPELLINGS,
                           values_int64s=[1] * len(MISSING_SPELLINGS), default_int64=0)
        missing = graph.op("Cast", [missing], "X_text_missing", to=TensorProto.BOOL)
        # the encoded blocks in the schema's order: runs of numeric columns, text columns
        blocks, run, k_numeric, k_text = [], [], 0, 0
        for column in [*source.schema, None]:
            if column is not None and column["kind"] == "numeric":
                run.append(k_numeric)
                k_numeric += 1
                continue
            if run:
                indices = graph.const(np.array(run, dtype=np.int64), "numeric_index")
                blocks.append(graph.op("Gather", [X, indices], "numeric", axis=1))
                run = []
            if column is not None:
                blocks.append(_text_column(graph, source, column, k_text, missing))
                k_text += 1
        encoded = blocks[0] if len(blocks) == 1 else graph.op("Concat", blocks, "encoded",
                                                               axis=1)
    scaler = source.scaler
    if scaler is not None and not (np.all(scaler.offset == 0) and np.all(scaler.scale == 1)):
        encoded = graph.op("Scaler", [encoded], "scaled", domain="ai.onnx.ml",
                           offset=[float(v) for v in scaler.offset],
                           scale=[float(1.0 / v) for v in scaler.scale])
    return inputs, columns, encoded


# -- outputs ------------------------------------------------------------------------------
def _label_tensor(classes):
    values = np.asarray(classes)
    if values.dtype.kind in "biu":
        return values.astype(np.int64), "INT64"
    if values.dtype.kind in "fc":
        return values.astype(np.float64), "DOUBLE"
    return np.array([str(c) for c in classes], dtype=object), "STRING"


def _classifier_outputs(graph, source, out):
    helper, TensorProto = graph.onnx.helper, graph.onnx.TensorProto
    k = source.network.n_outputs
    n_classes = len(source.classes)
    if source.multilabel:  # one sigmoid per label; label j is 1 where p_j > 0.5
        half = graph.const(np.array(0.5, dtype=np.float32), "half")
        above = graph.op("Greater", [out, half], "above_half")
        graph.nodes.append(helper.make_node("Cast", [above], ["label"], name="label_Cast",
                                            to=TensorProto.INT64))
        graph.nodes.append(helper.make_node("Identity", [out], ["probabilities"],
                                            name="probabilities_Identity"))
        return [helper.make_tensor_value_info("label", TensorProto.INT64, ["N", k]),
                helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", k])]
    if k == 1:  # binary: probabilities [1 − p, p]; class 1 where p > 0.5 (scikit-learn's rule)
        p = graph.op("Reshape", [out, graph.const(np.array([-1], dtype=np.int64), "flat")], "p")
        one = graph.const(np.array([[1.0]], dtype=np.float32), "one")
        q = graph.op("Sub", [one, out], "one_minus_p")
        graph.nodes.append(helper.make_node("Concat", [q, out], ["probabilities"],
                                            name="probabilities_Concat", axis=1))
        half = graph.const(np.array(0.5, dtype=np.float32), "half")
        index = graph.op("Cast", [graph.op("Greater", [p, half], "above_half")], "class_index",
                         to=TensorProto.INT64)
    else:  # softmax: the most probable class (the first on a tie, as numpy's argmax)
        graph.nodes.append(helper.make_node("Identity", [out], ["probabilities"],
                                            name="probabilities_Identity"))
        index = graph.op("ArgMax", [out], "class_index", axis=1, keepdims=0,
                         select_last_index=0)
    labels, label_type = _label_tensor(source.classes)
    graph.nodes.append(helper.make_node("Gather", [graph.const(labels, "classes"), index],
                                        ["label"], name="label_Gather", axis=0))
    return [helper.make_tensor_value_info("label", getattr(TensorProto, label_type), ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                          ["N", n_classes])]


def _outputs(graph, source, out):
    helper, TensorProto = graph.onnx.helper, graph.onnx.TensorProto
    k = source.network.n_outputs
    if source.task == "classification":
        return _classifier_outputs(graph, source, out)
    if source.task == "regression":
        if source.target_scaler is not None:  # back to the target's units: y = y'·scale + offset
            scale = np.asarray(source.target_scaler.scale, dtype=np.float32).reshape(1, k)
            offset = np.asarray(source.target_scaler.offset, dtype=np.float32).reshape(1, k)
            out = graph.op("Mul", [out, graph.const(scale, "target_scale")], "target_scaled")
            out = graph.op("Add", [out, graph.const(offset, "target_offset")], "target_units")
        if k == 1:  # one value per row, as predict gives
            flat = graph.const(np.array([-1], dtype=np.int64), "flat")
            graph.nodes.append(helper.make_node("Reshape", [out, flat], ["value"],
                                                name="value_Reshape"))
            return [helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N"])]
        graph.nodes.append(helper.make_node("Identity", [out], ["value"], name="value_Identity"))
        return [helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N", k])]
    graph.nodes.append(helper.make_node("Identity", [out], ["output"], name="output_Identity"))
    return [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", k])]


def to_onnx(model, *, name="glassnet"):
    """An ONNX model (``onnx.ModelProto``) computing what glassnet computes.

    Parameters
    ----------
    model : glassnet Model, path of a ``.glassnet`` file, fitted estimator or Network
        A saved model includes its preprocessing (see the module's
        documentation); an estimator (glassnet's, or scikit-learn's
        ``MLPClassifier``/``MLPRegressor``) or a network starts from the
        numbers its first layer takes.
    name : str
        The graph's name.

    Notes
    -----
    Save it with ``onnx.save(proto, "model.onnx")`` and run it with
    ``onnxruntime.InferenceSession("model.onnx").run(None, {"X": X})``, where
    ``X`` is a float32 array. Needs the ``onnx`` extra.
    """
    onnx = _import_onnx()
    source = describe(as_glassnet(model))
    helper, TensorProto = onnx.helper, onnx.TensorProto
    graph = _Graph(onnx)
    for reserved in ("X", "X_text", "label", "probabilities", "value", "output"):
        graph.name(reserved)
    if source.schema is not None:
        inputs, columns, X = _preprocess(graph, source)
    else:
        n = source.network.n_inputs
        inputs = [helper.make_tensor_value_info(
            "X", TensorProto.FLOAT, ["N", n],
            doc_string="float32 features: " + ", ".join(source.feature_names))]
        columns, X = {"X": list(source.feature_names)}, "X"
    outputs = _outputs(graph, source, _network(graph, source.network, X))
    what = {"model": "a saved glassnet model, from its raw columns",
            "estimator": "a glassnet estimator", "network": "a glassnet network"}[source.kind]
    onnx_graph = helper.make_graph(graph.nodes, name, inputs, outputs, graph.initializers,
                                   doc_string=f"{what}: {source.network!r}")
    proto = helper.make_model(
        onnx_graph, producer_name="glassnet", producer_version=__version__,
        ir_version=IR_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml",
                                                                          ML_OPSET)])
    props = {"glassnet.version": __version__, "glassnet.inputs": json.dumps(columns)}
    if source.task is not None:
        props["glassnet.task"] = source.task
    if source.classes is not None:
        props["glassnet.classes"] = json.dumps([_json_label(c) for c in source.classes])
    if source.target is not None:
        props["glassnet.target"] = str(source.target)
    helper.set_model_props(proto, props)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _json_label(value):
    return value if isinstance(value, (str, int, float, bool)) else str(value)
