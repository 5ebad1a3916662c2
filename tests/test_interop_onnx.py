"""ONNX export, checked with onnxruntime against glassnet on the same rows."""

import csv
import json
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("sklearn")
pytest.importorskip("click")

from _networks import give_trained_statistics

import glassnet as gn
from glassnet.cli import main
from glassnet.datasets import load_heart, load_wisconsin
from glassnet.io import ModelFileError, load_model, to_onnx

TOL = 1e-5  # float32 graph against float64 glassnet


def session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def run_onnx(proto, feeds):
    sess = session(proto)
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def props(proto):
    return {entry.key: entry.value for entry in proto.metadata_props}


def fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few epochs are enough here
        return estimator.fit(X, y)


def assert_labels_match(labels, expected, proba, classes):
    """Labels equal wherever the decision is not within float32 rounding of a tie."""
    proba = np.asarray(proba)
    if proba.shape[1] == 2:
        clear = np.abs(proba[:, 1] - 0.5) > TOL
    else:
        top = np.sort(proba, axis=1)
        clear = top[:, -1] - top[:, -2] > TOL
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(np.asarray(labels)[clear], np.asarray(expected)[clear])


# -- estimators and networks ---------------------------------------------------------------
@pytest.mark.parametrize("case", ["binary", "multiclass_text", "per_layer", "float32"])
def test_classifier_graph_matches_predict_proba(case, rng):
    X = rng.normal(size=(240, 5))
    score = X[:, 0] - X[:, 1] + 0.5 * X[:, 2] ** 2
    settings = {"hidden_layer_sizes": (12,), "max_iter": 60, "random_state": 0}
    if case == "binary":
        y = (score > 0.5).astype(int)
    else:
        y = np.array(["low", "mid", "high"])[np.digitize(score, [0, 1.5])]
    if case == "per_layer":
        settings.update(hidden_layer_sizes=(10, 7), activation=["tanh", "leaky_relu"])
    if case == "float32":
        settings.update(dtype="float32", activation="logistic")
    clf = fit(gn.MLPClassifier(**settings), X, y)
    outputs = run_onnx(to_onnx(clf), {"X": X.astype(np.float32)})
    expected = clf.predict_proba(X)
    np.testing.assert_allclose(outputs["probabilities"], expected, atol=TOL)
    assert_labels_match(outputs["label"], clf.predict(X), expected, clf.classes_)
    assert json.loads(props(to_onnx(clf))["glassnet.classes"]) == list(clf.classes_)


def test_multilabel_classifier_gives_indicator_labels(rng):
    X = rng.normal(size=(200, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5]).astype(int)
    clf = fit(gn.MLPClassifier(hidden_layer_sizes=(16,), max_iter=80, random_state=1), X, Y)
    outputs = run_onnx(to_onnx(clf), {"X": X.astype(np.float32)})
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(outputs["probabilities"], proba, atol=TOL)
    clear = np.abs(proba - 0.5) > TOL
    np.testing.assert_array_equal(outputs["label"][clear], clf.predict(X)[clear])


@pytest.mark.parametrize("loss,n_outputs", [("squared_error", 1), ("squared_error", 2),
                                            ("poisson", 1)])
def test_regressor_graph_matches_predict(loss, n_outputs, rng):
    X = rng.normal(size=(150, 3))
    y = np.column_stack([np.exp(0.5 * X[:, 0]), X[:, 1] - X[:, 2]])[:, :n_outputs]
    reg = fit(gn.MLPRegressor(loss=loss, hidden_layer_sizes=(9,), max_iter=50,
                              random_state=0), X, y.ravel() if n_outputs == 1 else y)
    outputs = run_onnx(to_onnx(reg), {"X": X.astype(np.float32)})
    assert set(outputs) == {"value"}
    np.testing.assert_allclose(outputs["value"], reg.predict(X), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_standardised_target_is_undone_in_the_graph(n_outputs, rng):
    X = rng.normal(size=(120, 3))
    y = np.column_stack([150 + 40 * X[:, 0], -3 + 0.1 * X[:, 1]])[:, :n_outputs]
    reg = fit(gn.MLPRegressor(hidden_layer_sizes=(9,), max_iter=50, scale_target=True,
                              random_state=0), X, y.ravel() if n_outputs == 1 else y)
    outputs = run_onnx(to_onnx(reg), {"X": X.astype(np.float32)})
    np.testing.assert_allclose(outputs["value"], reg.predict(X), rtol=TOL, atol=TOL)
    assert abs(outputs["value"].mean(axis=0).ravel()[0] - 150) < 60  # not near 0: the units of y


def test_network_without_biases_and_every_activation(rng):
    layers = [gn.Dense(3, 4, activation="relu", rng=0, bias=False),
              gn.Dense(4, 5, activation={"name": "leaky_relu", "slope": 0.2}, rng=1),
              gn.Dense(5, 4, activation="identity", rng=2),
              gn.Dense(4, 3, activation="softmax", rng=3)]
    for layer in layers[1:]:
        layer.b[:] = rng.normal(size=layer.b.shape)
    net = gn.Network(layers)
    X = rng.normal(size=(30, 3))
    outputs = run_onnx(to_onnx(net), {"X": X.astype(np.float32)})
    assert set(outputs) == {"output"}
    np.testing.assert_allclose(outputs["output"], net.output(X), atol=TOL)
    ops = [node.op_type for node in to_onnx(net).graph.node]
    assert ops.count("MatMul") == 1 and ops.count("Gemm") == 3 and "LeakyRelu" in ops


def test_sklearn_mlp_exports_through_glassnet(rng):
    from sklearn.neural_network import MLPClassifier

    X = rng.normal(size=(120, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    sk = fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0), X, y)
    outputs = run_onnx(to_onnx(sk), {"X": X.astype(np.float32)})
    np.testing.assert_allclose(outputs["probabilities"], sk.predict_proba(X), atol=TOL)


def test_graph_is_valid_onnx_with_stated_opsets(rng):
    clf = fit(gn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0),
              rng.normal(size=(20, 2)), np.arange(20) % 2)
    proto = to_onnx(clf)
    onnx.checker.check_model(proto, full_check=True)
    assert {(o.domain, o.version) for o in proto.opset_import} == {("", 17), ("ai.onnx.ml", 3)}
    assert proto.ir_version == 8 and proto.producer_name == "glassnet"
    assert json.loads(props(proto)["glassnet.inputs"]) == {"X": ["x0", "x1"]}


# -- saved models, raw rows -----------------------------------------------------------------
def train_model(tmp_path, data, *flags):
    out = tmp_path / "run"
    code = main(["train", str(data), "--out", str(out), "--quiet", "--plots", "none",
                 "--epochs", "30", *flags])
    assert code == 0
    return out / "model.glassnet"


def glassnet_predict(capsys, model_path, data):
    """``glassnet predict`` as a user runs it: labels and probability columns."""
    capsys.readouterr()
    assert main(["predict", str(model_path), str(data)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    header, body = rows[0], rows[1:]
    labels = [row[1] for row in body]
    proba = np.array([[float(v) for v in row[2:]] for row in body])
    return header, labels, proba


@pytest.mark.parametrize("data,flags,loader", [
    ("wisconsin", [], lambda: load_wisconsin()),
    ("heart", ["--one-hot", "--scale", "minmax", "--hidden", "8,4"],
     lambda: load_heart(one_hot=True)),
    ("heart", ["--hidden", "16,8", "--batch-norm", "--dropout", "0.2", "--batch-size", "32"],
     lambda: load_heart()),
])
def test_bundled_model_matches_glassnet_predict(data, flags, loader, tmp_path, capsys):
    model_path = train_model(tmp_path, data, *flags)
    proto = to_onnx(model_path)
    bunch = loader()
    columns = dict(zip(bunch.feature_names, bunch.data.T))
    inputs = json.loads(props(proto)["glassnet.inputs"])
    assert list(inputs) == ["X"] and inputs["X"] == list(bunch.feature_names)
    X = np.column_stack([columns[name] for name in inputs["X"]]).astype(np.float32)
    outputs = run_onnx(proto, {"X": X})
    header, labels, proba = glassnet_predict(capsys, model_path, data)
    assert header[2:] == [f"probability_{c}" for c in json.loads(props(proto)["glassnet.classes"])]
    np.testing.assert_allclose(outputs["probabilities"], proba, atol=TOL)
    assert_labels_match(outputs["label"], labels, proba, None)
    ops = {node.op_type for node in proto.graph.node}
    assert "Scaler" in ops
    assert ("BatchNormalization" in ops) == ("--batch-norm" in flags)


def write_patients(path, rng, n=240, extra_rows=()):
    """A CSV with text columns, missing cells spelt several ways, and numeric columns."""
    lines = [["age", "sex", "chest_pain", "bp", "smoker", "outcome"]]
    for _ in range(n):
        age, bp = rng.normal(50, 10), rng.normal(130, 15)
        sex = str(rng.choice(["male", "female"]))
        chest = str(rng.choice(["typical", "atypical", "non-anginal", "asymptomatic"]))
        smoker = str(rng.choice(["yes", "no"]))
        risk = (age - 50) / 10 + (bp - 130) / 15 + 1.5 * (chest == "asymptomatic") + 0.5 * (
            sex == "male")
        outcome = "sick" if risk + rng.normal() > 0.5 else "healthy"
        row = [f"{age:.1f}", sex, chest, f"{bp:.0f}", smoker, outcome]
        if rng.random() < 0.06:
            row[2] = str(rng.choice(["?", "NA", "", "n/A", "None", "NaN"]))
        if rng.random() < 0.05:
            row[3] = str(rng.choice(["?", "nan", ""]))
        lines.append(row)
    lines.extend(extra_rows)
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(lines)
    return path


def feeds_from_csv(path, proto):
    """The graph's inputs from a CSV, read with Python's csv module: numbers as float32
    (NaN where a cell is not a number), text as it is."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    columns = dict(zip(rows[0], zip(*rows[1:])))

    def number(cell):
        try:
            return float(cell)
        except ValueError:
            return np.nan

    feeds = {}
    for name, names in json.loads(props(proto)["glassnet.inputs"]).items():
        if name == "X":
            feeds[name] = np.array([[number(c) for c in columns[n]] for n in names],
                                   dtype=np.float32).T
        else:
            feeds[name] = np.array([list(columns[n]) for n in names], dtype=object).T
    return feeds


def test_text_csv_model_matches_glassnet_predict(tmp_path, capsys):
    rng = np.random.default_rng(7)
    train_csv = write_patients(tmp_path / "patients.csv", rng)
    model_path = train_model(tmp_path, train_csv, "--one-hot", "--missing", "median")
    proto = to_onnx(model_path)
    inputs = json.loads(props(proto)["glassnet.inputs"])
    assert inputs == {"X": ["age", "bp"], "X_text": ["sex", "chest_pain", "smoker"]}
    ops = {node.op_type for node in proto.graph.node}
    assert {"Imputer", "OneHotEncoder", "LabelEncoder", "Scaler"} <= ops
    # new rows: an unseen category, every spelling of a missing cell, a missing number
    new_rows = [["61.0", "female", "crushing", "150", "no", "sick"],
                ["45.5", "male", "N/A", "", "yes", "healthy"],
                ["39.0", "NULL", "typical", "NaN", "-", "healthy"],
                ["70.2", "male", "-nan", "171", "none", "sick"]]
    new_csv = write_patients(tmp_path / "new.csv", np.random.default_rng(8), n=60,
                             extra_rows=new_rows)
    outputs = run_onnx(proto, feeds_from_csv(new_csv, proto))
    _, labels, proba = glassnet_predict(capsys, model_path, new_csv)
    np.testing.assert_allclose(outputs["probabilities"], proba, atol=TOL)
    assert_labels_match(outputs["label"], labels, proba, None)
    assert outputs["label"].dtype == object  # the text labels themselves


def test_missing_value_without_imputation_gives_nan(tmp_path, capsys):
    rng = np.random.default_rng(3)
    train_csv = write_patients(tmp_path / "patients.csv", rng)
    model_path = train_model(tmp_path, train_csv, "--one-hot", "--missing", "drop")
    proto = to_onnx(model_path)
    clean = [["50.0", "male", "typical", "120", "no", "healthy"]] * 2
    rows = clean + [["50.0", "male", "?", "120", "no", "healthy"],
                    ["50.0", "male", "typical", "?", "no", "healthy"]]
    new_csv = write_patients(tmp_path / "new.csv", rng, n=0, extra_rows=rows)
    outputs = run_onnx(proto, feeds_from_csv(new_csv, proto))
    assert np.isfinite(outputs["probabilities"][:2]).all()
    assert np.isnan(outputs["probabilities"][2:]).all()  # glassnet predict refuses these rows
    assert main(["predict", str(model_path), str(new_csv)]) == 1
    assert "missing value" in capsys.readouterr().err


def test_regression_model_from_csv(tmp_path, capsys):
    rng = np.random.default_rng(5)
    path = tmp_path / "houses.csv"
    rows = [["rooms", "area", "city", "price"]]
    for _ in range(150):
        rooms, area = int(rng.integers(1, 6)), rng.uniform(30, 200)
        city = str(rng.choice(["north", "south"]))
        rows.append([rooms, f"{area:.1f}", city,
                     f"{area * 2 + rooms * 10 + (city == 'north') * 40 + rng.normal():.2f}"])
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    model_path = train_model(tmp_path, path, "--one-hot")
    proto = to_onnx(load_model(model_path))
    outputs = run_onnx(proto, feeds_from_csv(path, proto))
    capsys.readouterr()
    assert main(["predict", str(model_path), str(path)]) == 0
    predicted = np.array([float(r[1]) for r in
                          list(csv.reader(capsys.readouterr().out.splitlines()))[1:]])
    np.testing.assert_allclose(outputs["value"], predicted, rtol=TOL, atol=1e-4)


# -- errors ----------------------------------------------------------------------------------
def test_bad_inputs_get_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        to_onnx(gn.MLPClassifier())
    with pytest.raises(TypeError, match="expected a glassnet model"):
        to_onnx({"weights": [1, 2]})
    pickle_file = tmp_path / "model.pkl"
    pickle_file.write_bytes(b"\x80\x04\x95" + b"\x00" * 20)
    with pytest.raises(ModelFileError, match="pickle"):
        to_onnx(pickle_file)
    with pytest.raises(ModelFileError, match="no such model file"):
        to_onnx(tmp_path / "absent.glassnet")


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    net = gn.Network.from_sizes([2, 1], seed=0)
    with pytest.raises(ImportError, match=r"glassnet\[onnx\]"):
        to_onnx(net)


def test_model_saved_from_python_keeps_its_scaler(tmp_path, rng):
    from glassnet.io import Scaler, save_model

    X = rng.normal(loc=5.0, scale=3.0, size=(40, 3))
    net = gn.Network.from_sizes([3, 4, 1], output_activation="identity", seed=0)
    scaler = Scaler("standard").fit(X)
    path = tmp_path / "m.glassnet"
    save_model(path, net, scaler, {"task": "regression", "feature_names": ["a", "b", "c"]})
    proto = to_onnx(path)
    outputs = run_onnx(proto, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(outputs["value"], load_model(path).predict(X), rtol=TOL,
                               atol=TOL)
    assert json.loads(props(proto)["glassnet.inputs"]) == {"X": ["a", "b", "c"]}


# -- the command line ------------------------------------------------------------------------
def test_export_command_as_a_user_runs_it(tmp_path, capsys):
    rng = np.random.default_rng(11)
    data = write_patients(tmp_path / "patients.csv", rng)
    model_path = train_model(tmp_path, data, "--one-hot", "--missing", "median")
    capsys.readouterr()
    out = tmp_path / "model.onnx"
    assert main(["export", str(model_path), "--format", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"wrote {out}: ONNX opset 17 with ai.onnx.ml 3, float32",
        "input  X (float32, 2 columns): age, bp",
        "input  X_text (string, 3 columns): sex, chest_pain, smoker",
        "output label, probabilities (classes: healthy, sick)"]
    proto = onnx.load(str(out))  # a protobuf file, read without executing anything
    outputs = run_onnx(proto, feeds_from_csv(data, proto))
    _, labels, proba = glassnet_predict(capsys, model_path, data)
    np.testing.assert_allclose(outputs["probabilities"], proba, atol=TOL)
    assert_labels_match(outputs["label"], labels, proba, None)
    # without --out, next to the model
    assert main(["export", str(model_path)]) == 0
    assert (model_path.parent / "model.onnx").stat().st_size == out.stat().st_size


def test_export_errors_are_one_line(tmp_path, capsys, monkeypatch):
    def error_line(*args):
        capsys.readouterr()
        assert main([str(a) for a in args]) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
        return err[0]

    assert "no such model file" in error_line("export", tmp_path / "absent.glassnet")
    pickled = tmp_path / "model.glassnet"
    pickled.write_bytes(b"\x80\x04\x95" + b"\x00" * 20)
    assert "pickle" in error_line("export", pickled)
    model_path = train_model(tmp_path, "xor")
    assert "overwrite the model" in error_line("export", model_path, "--out", model_path)
    assert "'tflite' is not 'onnx'" in error_line("export", model_path, "--format", "tflite")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert "pip install 'glassnet[onnx]'" in error_line("export", model_path, "--out",
                                                        tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_export_help_has_an_example(capsys):
    assert main(["export", "--help"]) == 0
    out = capsys.readouterr().out
    assert "glassnet export" in out.split("Example", 1)[1] and "--format" in out


def test_batch_norm_and_dropout_export_in_inference_form(rng):
    net = gn.Network.from_sizes([4, 6, 5, 2], activation=["relu", "tanh"],
                                output_activation="softmax", batch_norm=True, dropout=0.25,
                                seed=2)
    give_trained_statistics(net, rng)
    X = rng.normal(size=(30, 4))
    proto = to_onnx(net)
    ops = [node.op_type for node in proto.graph.node]
    assert ops.count("BatchNormalization") == 2 and "Dropout" not in ops
    outputs = run_onnx(proto, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(outputs["output"], net.output(X), atol=TOL)


def test_estimator_with_batch_norm_and_dropout(rng):
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    clf = fit(gn.MLPClassifier(hidden_layer_sizes=(8, 6), batch_norm=True, dropout=0.2,
                               max_iter=30, random_state=0), X, y)
    proto = to_onnx(clf)
    assert [node.op_type for node in proto.graph.node].count("BatchNormalization") == 2
    outputs = run_onnx(proto, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(outputs["probabilities"], clf.predict_proba(X), atol=TOL)
