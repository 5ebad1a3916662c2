"""The command line, run as a user would: in-process through ``main`` and as a subprocess."""

import csv
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")
pytest.importorskip("matplotlib")
from _tables import write_csv
from PIL import Image

from glassnet.cli import main
from glassnet.io import load_model


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def assert_real_png(path):
    image = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 10  # not blank: real ink on the page


@pytest.fixture(scope="module")
def wisconsin_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "wisconsin"
    code = main(["train", "wisconsin", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_train_wisconsin_writes_everything(wisconsin_run):
    metrics = json.loads((wisconsin_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.95
    assert metrics["train"]["n_samples"] + metrics["test"]["n_samples"] == 683
    for key in ("precision", "recall", "f1", "roc_auc", "log_loss", "confusion_matrix"):
        assert key in metrics["test"] and key in metrics["train"]
    assert np.sum(metrics["test"]["confusion_matrix"]) == metrics["test"]["n_samples"]
    with open(wisconsin_run / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == metrics["epochs"] and float(rows[-1]["train_loss"]) < float(
        rows[0]["train_loss"])
    assert {"test_loss", "test_score"} <= set(rows[0])
    for name in ("loss.png", "confusion_matrix.png", "roc.png"):
        assert_real_png(wisconsin_run / name)
    model = load_model(wisconsin_run / "model.glassnet")
    assert model.classes == ["benign", "malignant"]
    assert model.metadata["feature_names"][0] == "clump_thickness"
    assert model.metadata["glassnet_version"]
    assert not [p for p in os.listdir(wisconsin_run) if p.startswith(".tmp")]


def test_model_file_holds_no_pickle(wisconsin_run):
    with zipfile.ZipFile(wisconsin_run / "model.glassnet") as zf:
        assert set(zf.namelist()) == {"metadata.json", "weights.npz"}
        meta = json.loads(zf.read("metadata.json"))
        assert meta["architecture"]["layer_sizes"] == [9, 100, 1]
        import io

        with np.load(io.BytesIO(zf.read("weights.npz")), allow_pickle=False) as npz:
            assert npz["W1"].shape == (9, 100)
            assert npz["scaler_offset"].shape == (9,)


def test_report_printed(capsys, tmp_path):
    code, out, err = run(capsys, "train", "heart", "--out", tmp_path / "h")
    assert code == 0
    assert "accuracy" in out and "confusion matrix" in out
    assert f"glassnet predict {tmp_path / 'h' / 'model.glassnet'} heart" in out
    assert "epoch 1/200" in err  # plain progress lines when not a terminal
    metrics = json.loads((tmp_path / "h" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.75


def test_xor_trains_on_all_rows(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "xor", "--out", tmp_path / "x")
    assert code == 0 and "too few rows to split" in out
    metrics = json.loads((tmp_path / "x" / "metrics.json").read_text())
    assert metrics["train"]["accuracy"] == 1.0 and metrics["train"]["n_samples"] == 4


def test_log_every_prints_tutorial_lines(capsys, tmp_path):
    code, _, err = run(capsys, "train", "wisconsin", "--solver", "sgd", "--momentum", "0",
                       "--batch-size", "full", "--lr", "0.1", "--epochs", "1001",
                       "--log-every", "500", "--tol", "0", "--plots", "none",
                       "--out", tmp_path / "w")
    assert code == 0
    steps = [line.split(":")[0] for line in err.splitlines() if line.startswith("iteration")]
    assert steps[:3] == ["iteration 0", "iteration 500", "iteration 1000"]


def test_csv_train_predict_round_trip(capsys, tmp_path):
    from glassnet.datasets import load_heart

    bunch = load_heart()
    rows = [[*map(float, x), ["no", "yes"][t]] for x, t in zip(bunch.data, bunch.target)]
    data = write_csv(tmp_path / "heart.csv", [*bunch.feature_names, "disease"], rows)
    code, _, _ = run(capsys, "train", data, "--target", "disease", "--test-size", "0",
                     "--out", tmp_path / "run", "--quiet", "--plots", "none")
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    code, _, err = run(capsys, "predict", tmp_path / "run" / "model.glassnet", data,
                       "--out", tmp_path / "pred.csv")
    assert code == 0 and "wrote 270 predictions" in err
    with open(tmp_path / "pred.csv") as handle:
        predicted = list(csv.DictReader(handle))
    assert [int(r["row"]) for r in predicted] == list(range(1, 271))
    labels = np.array([r["predicted_disease"] for r in predicted])
    truth = np.array(["no", "yes"])[bunch.target]
    assert (labels == truth).mean() == pytest.approx(metrics["train"]["accuracy"])
    proba = np.array([[float(r["probability_no"]), float(r["probability_yes"])]
                      for r in predicted])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # evaluate gives the same numbers as training reported
    code, _, _ = run(capsys, "evaluate", tmp_path / "run" / "model.glassnet", data,
                       "--out", tmp_path / "eval.json")
    assert code == 0
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    assert evaluated["accuracy"] == pytest.approx(metrics["train"]["accuracy"])
    assert evaluated["log_loss"] == pytest.approx(metrics["train"]["log_loss"], rel=1e-9)


def test_regression_csv(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] * 2 + np.sin(X[:, 1]) + 0.05 * rng.normal(size=200)
    data = write_csv(tmp_path / "reg.csv", ["a", "b", "c", "y"],
                     [[*x, t] for x, t in zip(X, y)])
    code, out, _ = run(capsys, "train", data, "--out", tmp_path / "r", "--quiet",
                       "--epochs", "300")
    assert code == 0 and "r2" in out
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["test"]["r2"] > 0.9
    assert_real_png(tmp_path / "r" / "predictions.png")


def test_one_hot_and_median(capsys, tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for i in range(120):
        colour = ["red", "green", "blue"][i % 3]
        size = "" if i % 17 == 0 else f"{rng.normal() + (colour == 'red'):.3f}"
        rows.append([size, colour, int(colour == "red")])
    data = write_csv(tmp_path / "c.csv", ["size", "colour", "label"], rows)
    code, _, err = run(capsys, "train", data, "--out", tmp_path / "o")
    assert_one_line_error(code, err, "missing values", "'size'")
    code, _, err = run(capsys, "train", data, "--missing", "median", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "'colour' holds text", "one-hot")
    code, out, _ = run(capsys, "train", data, "--missing", "median", "--one-hot",
                       "--out", tmp_path / "o", "--quiet")
    assert code == 0
    model = load_model(tmp_path / "o" / "model.glassnet")
    assert model.feature_names == ["size", "colour=blue", "colour=green", "colour=red"]
    code, out, _ = run(capsys, "predict", tmp_path / "o" / "model.glassnet", data)
    assert code == 0 and len(out.strip().splitlines()) == 121


@pytest.mark.parametrize("text,args,fragments", [
    (None, [], ["no such file"]),
    ("", [], ["is empty"]),
    ("a,b,y\n", [], ["header but no data rows"]),
    ("a,b,y\n" + "1,2,0\n3,4,1\n" * 5, ["--target", "z"], ["no target column 'z'", "a, b, y"]),
    ("a,b,y\n1,2,0\n3,oops,1\n" + "1,2,0\n" * 9, [],
     ["non-numeric value 'oops'", "column 'b'", "line 3"]),
    ("a,b,y\n" + "1,,0\n3,4,1\n" * 5, [], ["missing values", "'b': 5"]),
    ("a,b,y\n1,inf,0\n" + "3,4,1\n" * 9, [], ["infinite", "column 'b'", "line 2"]),
    ("a,b,y\n" + "1,2,1\n3,4,1\n" * 5, [], ["one class only"]),
    ("a,b,y\n" + "1,2,0\n3,4,1\n" * 5, ["--scale", "log"], ["--scale", "log"]),
    ("a,b,y\n" + "1,2,0\n3,4,1\n" * 5, ["--hidden", "ten"], ["--hidden", "ten"]),
])
def test_train_bad_input(capsys, tmp_path, text, args, fragments):
    data = tmp_path / "data.csv"
    if text is not None:
        data.write_text(text)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "train", data, "--out", out_dir, *args)
    assert_one_line_error(code, err, *fragments)
    assert not out_dir.exists()


def test_debug_shows_traceback(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        main(["train", str(tmp_path / "nope.csv"), "--debug"])


class Exploit:
    """Unpickling this would create a file; glassnet must never unpickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_model_file_errors(capsys, tmp_path, wisconsin_run):
    good = wisconsin_run / "model.glassnet"
    damaged = tmp_path / "damaged.glassnet"
    damaged.write_bytes(good.read_bytes()[:300])
    text = tmp_path / "text.glassnet"
    text.write_text("hello")
    marker = tmp_path / "pwned"
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(Exploit(str(marker))))
    future = tmp_path / "future.glassnet"
    with zipfile.ZipFile(good) as zf, zipfile.ZipFile(future, "w") as out:
        meta = json.loads(zf.read("metadata.json"))
        meta["format_version"] = 99
        out.writestr("metadata.json", json.dumps(meta))
        out.writestr("weights.npz", zf.read("weights.npz"))
    cases = [(damaged, ["damaged"]), (text, ["not a glassnet model"]),
             (pickled, ["not a glassnet model", "pickle"]),
             (future, ["format version 99", "reads format versions 1 to 2"]),
             (tmp_path / "absent.glassnet", ["no such model file"])]
    for path, fragments in cases:
        code, _, err = run(capsys, "predict", path, "wisconsin")
        assert_one_line_error(code, err, *fragments)
    assert not marker.exists()


def test_predict_missing_feature_columns(capsys, tmp_path, wisconsin_run):
    data = write_csv(tmp_path / "few.csv", ["clump_thickness", "mitoses"], [[1, 2], [3, 4]])
    out = tmp_path / "pred.csv"
    code, _, err = run(capsys, "predict", wisconsin_run / "model.glassnet", data, "--out", out)
    assert_one_line_error(code, err, "missing feature column(s)", "'bare_nuclei'")
    assert not out.exists()


def test_datasets_gradcheck_compare(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and "wisconsin   683 rows x  9 features" in out
    assert "heart       270 rows x 13 features" in out
    code, out, _ = run(capsys, "gradcheck", "heart", "--hidden", "6,4",
                       "--activation", "relu,tanh")
    assert code == 0 and "W3" in out and "all 6 gradients agree" in out
    code, out, _ = run(capsys, "compare", "wisconsin", "--folds", "3", "--max-iter", "50")
    assert code == 0
    for name in ("glassnet MLPClassifier", "scikit-learn MLPClassifier", "LogisticRegression"):
        assert name in out


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "datasets", "gradcheck",
                                     "compare", "landscape", "playground"])
def test_help_has_examples(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "Example" in out and "Usage: glassnet" in out
    assert f"glassnet {command}" in out.split("Example", 1)[1]  # the example runs this command


def test_top_level_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "glassnet train wisconsin" in out
    for command in ("train", "predict", "evaluate", "datasets", "gradcheck", "compare",
                    "landscape", "playground"):
        assert command in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and "glassnet, version" in out


def test_entry_point_and_ctrl_c(tmp_path):
    """A real process: Ctrl-C stops after the current step and still writes everything."""
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [sys.executable, "-m", "glassnet", "train", "wisconsin", "--epochs", "100000",
         "--batch-size", "1", "--tol", "0", "--out", str(out), "--plots", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    line = ""
    while "epoch 1/" not in line and time.time() < deadline:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, stdout
    assert "interrupted by Ctrl-C" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] and 1 <= metrics["epochs"] < 100000
    assert load_model(out / "model.glassnet").predict(np.ones((1, 9))).shape == (1,)


def test_bundled_one_hot_model_predicts_and_evaluates(capsys, tmp_path):
    code, _, _ = run(capsys, "train", "heart", "--one-hot", "--quiet", "--plots", "none",
                     "--out", tmp_path / "h")
    assert code == 0
    model = load_model(tmp_path / "h" / "model.glassnet")
    assert "thal=7" in model.feature_names and model.metadata["one_hot"] is True
    code, out, _ = run(capsys, "predict", tmp_path / "h" / "model.glassnet", "heart")
    assert code == 0 and len(out.strip().splitlines()) == 271
    code, out, _ = run(capsys, "evaluate", tmp_path / "h" / "model.glassnet", "heart")
    assert code == 0 and "accuracy" in out


def test_every_command_module_is_registered():
    """A command is one module of glassnet.cli defining `command`, named in the registry."""
    import importlib
    import pkgutil

    import glassnet.cli as package
    from glassnet.cli import COMMANDS, cli

    modules = {info.name for info in pkgutil.iter_modules(package.__path__)
               if info.name != "__main__"
               and hasattr(importlib.import_module(f"glassnet.cli.{info.name}"), "command")}
    assert modules == set(COMMANDS) == set(cli.commands)


def tutorial_command():
    """The first tutorial's own run, as its arguments: the second example of
    `glassnet train --help` (the one place it is written; the docs link to it)."""
    from glassnet.cli import cli

    text = cli.commands["train"].help.replace("\\\n", " ")
    line = next(line.strip() for line in text.splitlines()
                if line.strip().startswith("glassnet train wisconsin --hidden 15 --solver sgd"))
    return line.split()[1:]


def test_tutorial_command_runs_every_iteration(capsys, tmp_path):
    args = tutorial_command()
    assert "--epochs" in args and "--tol" not in args  # the default is what runs them all
    code, out, err = run(capsys, *args, "--plots", "none", "--out", tmp_path / "t")
    assert code == 0
    logged = [line.split(":")[0] for line in err.splitlines() if line.startswith("iteration")]
    assert logged == [f"iteration {k}" for k in range(0, 3000, 500)]
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert metrics["epochs"] == 3000
    assert metrics["stopped"]["reason"] == "max_epochs" and metrics["stopped"]["epoch"] == 3000
    assert "note: ran all 3000 epochs asked for by --epochs" in out


def test_early_stop_says_why_and_which_flag(capsys, tmp_path):
    args = tutorial_command()
    code, out, _ = run(capsys, *args, "--tol", "1e-4", "--quiet", "--plots", "none",
                       "--out", tmp_path / "t")
    assert code == 0
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())
    stopped = metrics["stopped"]
    assert stopped["reason"] == "tol" and stopped["epoch"] == metrics["epochs"] < 3000
    assert stopped["tol"] == 1e-4 and stopped["patience"] == 10 and "--tol" in stopped["flags"]
    with open(tmp_path / "t" / "history.csv") as handle:
        assert len(list(csv.DictReader(handle))) == stopped["epoch"]
    lines = [line for line in out.splitlines() if f"stopped at epoch {stopped['epoch']} of "
             f"--epochs 3000" in line]
    assert len(lines) == 1 and "--tol 0.0001" in lines[0] and "--patience 10" in lines[0]


def test_early_stopping_reason_and_best_epoch(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "wisconsin", "--early-stopping", "--epochs", "500",
                       "--quiet", "--plots", "none", "--out", tmp_path / "e")
    assert code == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    stopped = metrics["stopped"]
    assert stopped["reason"] == "early_stopping" and stopped["epoch"] < 500
    assert 1 <= stopped["best_epoch"] <= stopped["epoch"] - 10  # patience 10 after the best
    assert "--early-stopping" in stopped["flags"]
    assert f"keeps epoch {stopped['best_epoch']}'s weights" in out


def test_divergence_is_one_error_line(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3)) * 100
    data = write_csv(tmp_path / "big.csv", ["a", "b", "c", "y"],
                     [[*x, x.sum()] for x in X])
    code, _, err = run(capsys, "train", data, "--solver", "sgd", "--lr", "1", "--scale", "none",
                       "--quiet", "--out", tmp_path / "d")
    assert_one_line_error(code, err, "diverged in epoch", "--lr")
    assert not (tmp_path / "d").exists()


def test_help_percent_renders(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0 and "Hold out 10% of" in " ".join(out.split()) and "%%" not in out


def test_train_on_gzip_and_parquet_and_predict(capsys, tmp_path):
    import gzip

    import pandas as pd

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["label"] = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    with gzip.open(tmp_path / "t.csv.gz", "wt") as handle:
        frame.to_csv(handle, index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    reports = {}
    for name in ("t.csv.gz", "t.parquet"):
        code, out, _ = run(capsys, "train", tmp_path / name, "--quiet", "--plots", "none",
                           "--out", tmp_path / name.replace(".", "_"))
        assert code == 0, out
        reports[name] = json.loads((tmp_path / name.replace(".", "_") / "metrics.json")
                                   .read_text())
        times = [line for line in out.splitlines() if line.startswith("time: ")]
        assert len(times) == 1 and "loading" in times[0] and "training" in times[0] \
            and "report" in times[0]
    # the same rows, read from either format, give the same run
    assert reports["t.csv.gz"]["test"] == reports["t.parquet"]["test"]
    assert reports["t.parquet"]["test"]["accuracy"] > 0.9
    assert set(reports["t.parquet"]["timings"]) == {"loading", "training"}
    code, out, _ = run(capsys, "predict", tmp_path / "t_parquet" / "model.glassnet",
                       tmp_path / "t.parquet")
    assert code == 0 and len(out.strip().splitlines()) == 301
def test_train_with_batchnorm_dropout_l1_prints_summary_and_saves_every_layer(capsys, tmp_path):
    out = tmp_path / "h"
    code, stdout, err = run(capsys, "train", "heart", "--hidden", "16,8", "--batch-norm",
                            "--dropout", "0.2", "--l1", "0.001", "--batch-size", "32",
                            "--epochs", "20", "--plots", "none", "--out", out)
    assert code == 0, err
    lines = err.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Network: 13 inputs"))
    assert "L1 0.001" in lines[start]
    assert "BatchNorm(16" in lines[start + 3] and "Dropout(p=0.2)" in lines[start + 5]
    assert lines[start + 11].startswith("trainable parameters: ")
    assert lines[start + 12].startswith("epoch 1/20")  # the table comes before training
    model = load_model(out / "model.glassnet")
    assert model.metadata["format_version"] == 2 and model.network.l1 == 0.001
    assert not np.allclose(model.network.layers[1].running_var, 1.0)
    code, stdout, _ = run(capsys, "evaluate", out / "model.glassnet", "heart")
    assert code == 0 and "accuracy" in stdout
    code, _, err = run(capsys, "train", "heart", "--dropout", "0.2", "--solver", "lbfgs",
                       "--out", tmp_path / "x")
    assert_one_line_error(code, err, "--dropout", "stochastic")
    code, _, err = run(capsys, "train", "heart", "--dropout", "1")
    assert_one_line_error(code, err, "--dropout")
