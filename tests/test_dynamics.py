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


def test_vanishing_gradients_in_deep_sigmoid_but_not_relu():
    path = Path(__file__).resolve().parent.parent / "examples" / "vanishing_gradients.py"
    spec = importlib.util.spec_from_file_location("vanishing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    norms = module.main(["--epochs", "30", "--out", ""])
    sigmoid_ratio = norms["sigmoid"][0] / norms["sigmoid"][-1]
    relu_ratio = norms["relu"][0] / norms["relu"][-1]
    assert sigmoid_ratio < 0.05
    assert relu_ratio > 0.3


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
