import importlib.util
from pathlib import Path

import numpy as np
import pytest

from glassnet.dynamics import inactive_fraction


def test_inactive_fraction_definitions():

    A = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    assert inactive_fraction("relu", A) == pytest.approx(1 / 3)  # first unit never fires
    saturated = np.array([[0.999, 0.5], [0.001, 0.6], [0.9999, 0.4]])
    assert inactive_fraction("sigmoid", saturated) == 0.5
    assert inactive_fraction("tanh", np.array([[0.9999, 0.1], [-0.9999, 0.2]])) == 0.5
    assert inactive_fraction("identity", A) == 0.0
    assert inactive_fraction("softmax", np.full((2, 3), 1 / 3)) == 0.0


def test_leaky_relu_units_are_never_dead_but_relu_units_are():
    from glassnet.activations import LeakyReLU

    negative = -np.abs(np.random.default_rng(0).normal(size=(50, 4)))  # z < 0 on every row
    assert inactive_fraction("relu", np.maximum(negative, 0)) == 1.0
    assert inactive_fraction("leaky_relu", 0.01 * negative) == 0.0
    assert inactive_fraction(LeakyReLU(0.2), 0.2 * negative) == 0.0
    # with slope 0 a "leaky" ReLU is a ReLU, and its f' is 0 below zero
    assert inactive_fraction(LeakyReLU(0.0), 0.0 * negative) == 1.0


def test_recorder_counts_dead_units_from_the_derivative():
    import glassnet as gn
    from glassnet.dynamics import DynamicsRecorder

    X = np.abs(np.random.default_rng(1).normal(size=(40, 3)))
    y = (X[:, 0] > 1).astype(int)
    for activation, dead in (("relu", 1.0), ("leaky_relu", 0.0)):
        net = gn.Network.from_sizes([3, 4, 1], activation=activation, seed=0)
        net.layers[0].W[:] = -1.0  # every pre-activation negative on these rows
        net.layers[0].b[:] = -1.0
        recorder = DynamicsRecorder()
        gn.train(net, X, y, lr=0.01, epochs=1, callbacks=[recorder])
        assert recorder.inactive[0] == [dead]


def test_vanishing_gradients_shrink_layer_by_layer_while_the_sigmoid_net_still_learns():
    path = Path(__file__).resolve().parent.parent / "examples" / "vanishing_gradients.py"
    spec = importlib.util.spec_from_file_location("vanishing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--out", ""])
    sigmoid, relu = result["norms"]["sigmoid"], result["norms"]["relu"]
    assert np.all(np.diff(sigmoid) > 0)  # smaller at every layer nearer the input
    assert sigmoid[0] / sigmoid[-1] < 0.02
    assert relu[0] / relu[-1] > 0.3
    sigmoid_loss, relu_loss = result["losses"]["sigmoid"], result["losses"]["relu"]
    assert sigmoid_loss[-1] < 0.15 < sigmoid_loss[0]  # it learns...
    assert sigmoid_loss[50] > relu_loss[50] + 0.3  # ...slowly: ReLU is far ahead by epoch 50


def test_train_plots_all(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("click")
    import csv

    from PIL import Image

    from glassnet.cli import main
    from glassnet.datasets import make_moons

    X, y = make_moons(200, noise=0.15, seed=0)
    data = tmp_path / "moons.csv"
    with open(data, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "label"])
        writer.writerows([*row, label] for row, label in zip(X, y))
    out = tmp_path / "run"
    assert main(["train", str(data), "--plots", "all", "--hidden", "16,16", "--epochs", "100",
                 "--quiet", "--out", str(out)]) == 0
    for name in ("gradient_norms.png", "unit_health.png", "decision_boundary.png"):
        image = np.asarray(Image.open(out / name).convert("L"), dtype=float)
        assert image.std() > 10, name
