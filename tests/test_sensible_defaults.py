"""Sensible results at the defaults: a regression target standardised (the model file
keeps the scaling, predictions come back in the target's units) and baselines beside
every training report.

The regression data is scikit-learn's bundled diabetes table (442 rows, 10 features,
a target from 25 to 346) written as a CSV, as a user would have it.
"""

import csv
import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")

from _cli import run

from glassnet.cli import main
from glassnet.io import load_model
from glassnet.tables import prepare, split


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    from sklearn.datasets import load_diabetes

    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def diabetes_run(diabetes_csv, tmp_path_factory):
    """``glassnet train diabetes.csv`` at the defaults, keeping the fitted estimator."""
    import glassnet.cli.train as train_module

    made = []
    original = train_module.make_estimator

    def keep(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    out = tmp_path_factory.mktemp("runs") / "diabetes"
    train_module.make_estimator = keep
    try:
        code = main(["train", str(diabetes_csv), "--out", str(out), "--quiet"])
    finally:
        train_module.make_estimator = original
    assert code == 0
    return out, made[0]


def test_defaults_reach_the_ridge_baseline(diabetes_run):
    out, _ = diabetes_run
    metrics = json.loads((out / "metrics.json").read_text())
    ridge = metrics["baselines"]["ridge regression"]
    assert ridge["kind"] == "linear" and 0.2 < ridge["test"]["r2"] < 0.7
    assert metrics["test"]["r2"] >= ridge["test"]["r2"] - 0.05
    mean = metrics["baselines"]["training mean"]
    assert mean["kind"] == "constant" and abs(mean["train"]["r2"]) < 1e-12
    assert mean["test"]["r2"] < 0.01 < metrics["test"]["r2"]
    # reported in the target's units: errors of tens, not of a scaled target's tenths
    assert 30 < metrics["test"]["mae"] < 80 and 30 < ridge["test"]["mae"] < 80


def test_model_file_keeps_the_target_scaler(diabetes_run, diabetes_csv):
    out, estimator = diabetes_run
    model = load_model(out / "model.glassnet")
    assert model.metadata["target_scaler"] == "standard"
    prepared = prepare(str(diabetes_csv))
    rows = split(prepared, 0.2, 0, scale="standard")
    np.testing.assert_allclose(model.target_scaler.offset, [rows.y_train.mean()], rtol=1e-12)
    np.testing.assert_allclose(model.target_scaler.scale, [rows.y_train.std()], rtol=1e-12)
    # the file predicts, from raw rows, what the in-memory model predicts
    in_memory = estimator.predict(rows.scaler.transform(prepared.X))
    from_file = model.predict(prepared.X)
    np.testing.assert_allclose(from_file, in_memory, rtol=0, atol=1e-10)
    assert 100 < from_file.mean() < 200


def test_predict_and_evaluate_in_the_targets_units(capsys, diabetes_run, diabetes_csv, tmp_path):
    out, _ = diabetes_run
    metrics = json.loads((out / "metrics.json").read_text())
    code, _, _ = run(capsys, "predict", out / "model.glassnet", diabetes_csv,
                     "--out", tmp_path / "p.csv")
    assert code == 0
    with open(tmp_path / "p.csv") as handle:
        predicted = np.array([float(r["predicted_target"]) for r in csv.DictReader(handle)])
    np.testing.assert_allclose(predicted, load_model(out / "model.glassnet").predict(
        prepare(str(diabetes_csv)).X), rtol=1e-9)
    code, _, _ = run(capsys, "evaluate", out / "model.glassnet", diabetes_csv,
                     "--out", tmp_path / "e.json")
    assert code == 0
    evaluated = json.loads((tmp_path / "e.json").read_text())
    assert evaluated["n_samples"] == 442
    assert abs(evaluated["mae"] - metrics["test"]["mae"]) < 15  # all rows vs test rows
    assert evaluated["r2"] > 0.3


def test_report_prints_the_baselines(capsys, diabetes_csv, tmp_path):
    code, out, _ = run(capsys, "train", diabetes_csv, "--quiet", "--plots", "none",
                       "--out", tmp_path / "d")
    assert code == 0
    metrics = json.loads((tmp_path / "d" / "metrics.json").read_text())
    lines = out.splitlines()
    for name in ("network", "training mean", "ridge regression"):
        row = next(line for line in lines if line.startswith(f"│ {name} "))
        test = metrics["test"] if name == "network" else metrics["baselines"][name]["test"]
        assert f"{test['r2']:.4f}" in row and f"{test['rmse']:.4f}" in row


def test_worse_than_linear_line_with_what_to_try(capsys, diabetes_csv, tmp_path):
    code, out, _ = run(capsys, "train", diabetes_csv, "--epochs", "2", "--no-early-stopping",
                       "--quiet", "--plots", "none", "--out", tmp_path / "w")
    assert code == 0
    lines = [line for line in out.splitlines() if "does worse than ridge regression" in line]
    assert len(lines) == 1
    assert lines[0].startswith("note: the network does worse than ridge regression on the test "
                               "rows (r2 ")
    assert "--epochs 10" in lines[0] and "--lr 0.003" in lines[0]
    metrics = json.loads((tmp_path / "w" / "metrics.json").read_text())
    assert any("does worse than ridge regression" in note for note in metrics["notes"])


def test_no_worse_than_linear_line_when_the_network_wins(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = np.sin(2 * X[:, 0]) * 50 + X[:, 1] ** 2 * 20 + 300
    path = tmp_path / "wave.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,y", comments="")
    code, out, _ = run(capsys, "train", path, "--quiet", "--plots", "none", "--epochs", "500",
                       "--out", tmp_path / "n")
    assert code == 0
    metrics = json.loads((tmp_path / "n" / "metrics.json").read_text())
    assert metrics["test"]["r2"] > metrics["baselines"]["ridge regression"]["test"]["r2"] + 0.2
    assert "does worse than" not in out


def test_no_scale_target_writes_no_target_scaler(capsys, diabetes_csv, tmp_path):
    code, _, _ = run(capsys, "train", diabetes_csv, "--no-scale-target", "--epochs", "3",
                     "--quiet", "--plots", "none", "--out", tmp_path / "u")
    assert code == 0
    model = load_model(tmp_path / "u" / "model.glassnet")
    assert model.target_scaler is None and model.metadata["params"]["scale_target"] is False


def test_classification_baselines(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "heart", "--quiet", "--plots", "none",
                       "--out", tmp_path / "h")
    assert code == 0
    metrics = json.loads((tmp_path / "h" / "metrics.json").read_text())
    majority = metrics["baselines"]["majority class"]
    # heart: 150 of 270 without disease; the test rows are stratified
    assert majority["test"]["accuracy"] == pytest.approx(30 / 54)
    assert majority["test"]["roc_auc"] == 0.5
    logistic = metrics["baselines"]["logistic regression"]
    assert logistic["kind"] == "linear" and logistic["test"]["accuracy"] > 0.75
    assert "│ majority class " in out and "│ logistic regression " in out
    assert "target_scaler" not in load_model(tmp_path / "h" / "model.glassnet").metadata or \
        load_model(tmp_path / "h" / "model.glassnet").metadata["target_scaler"] is None


def test_convergence_note_names_the_flag_and_value(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "heart", "--epochs", "5", "--quiet", "--plots", "none",
                       "--out", tmp_path / "c")
    assert code == 0
    assert any(line.startswith("note: ") and "try --epochs 50" in line
               for line in out.splitlines())


def test_search_scales_the_target_and_reports_the_baselines(capsys, diabetes_csv, tmp_path):
    from sklearn.metrics import r2_score

    out = tmp_path / "s"
    code, stdout, err = run(capsys, "search", diabetes_csv, "--param", "hidden=16,64",
                            "--cv", "3", "--quiet", "--out", out)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.2 < metrics["baselines"]["ridge regression"]["test"]["r2"] < 0.7
    assert "│ ridge regression " in stdout
    model = load_model(out / "model.glassnet")
    assert model.metadata["target_scaler"] == "standard"
    assert model.metadata["params"]["scale_target"] is True
    assert model.metadata["params"]["early_stopping"] is True
    rows = split(prepare(str(diabetes_csv)), 0.2, 0, scale="none")  # the raw test rows
    assert r2_score(rows.y_test, model.predict(rows.X_test)) == pytest.approx(
        metrics["test"]["r2"], rel=1e-9)
    assert metrics["test"]["r2"] > 0.2
