"""The training-health callback: histograms inside the layers and the update-to-data ratio."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet.dynamics import TrainingHealth, _look_inside
from glassnet.training import Callback


def data(seed=0, n=120):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(float)
    return X, y


def test_look_inside_gives_each_hidden_layers_z_a_and_gradient():
    X, y = data()
    net = gn.Network.from_sizes([5, 7, 6, 1], activation=["tanh", "relu"], seed=1)
    W1, b1, W2, b2, W3, b3 = net.get_weights()
    Y = y[:, None]
    pre, post, grads = _look_inside(net, X, Y)
    # the forward and backward passes written out by hand
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    Z2 = A1 @ W2 + b2
    A2 = np.maximum(Z2, 0)
    out = 1 / (1 + np.exp(-(A2 @ W3 + b3)))
    dZ3 = (out - Y) / len(X)  # binary cross-entropy fused with the sigmoid
    dA2 = dZ3 @ W3.T
    dA1 = (dA2 * (Z2 > 0)) @ W2.T
    # float64, the same products in the same order up to BLAS blocking: 1e-12 relative
    for got, want in zip(pre + post + grads, [Z1, Z2, A1, A2, dA1, dA2]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.3}, {"batch_norm": True}])
def test_watching_changes_nothing_in_training(extra):
    X, y = data(1)
    runs = []
    for watch in (False, True):
        net = gn.Network.from_sizes([5, 8, 8, 1], activation="tanh", seed=2, **extra)
        callbacks = [TrainingHealth(X, y, epochs=(1, 2, 5), rows=50)] if watch else []
        history = gn.train(net, X, y, lr=0.3, epochs=6, batch_size=32, seed=3,
                           callbacks=callbacks)
        runs.append((net.get_weights(), [b.copy() for b in net.buffers()], history.loss))
    (w0, b0, l0), (w1, b1, l1) = runs
    for a, b in zip(w0 + b0, w1 + b1):
        np.testing.assert_array_equal(a, b)  # bit for bit: masks, statistics, gradients kept
    assert l0 == l1


def test_update_ratio_is_the_relative_change_of_each_layers_weights():
    X, y = data(2)
    net = gn.Network.from_sizes([5, 8, 1], activation="relu", seed=4)

    class Weights(Callback):
        def __init__(self):
            self.seen = [[layer.W.copy() for layer in net.layers]]

        def on_step_end(self, trainer, step, loss):
            self.seen.append([layer.W.copy() for layer in trainer.network.layers])

    weights = Weights()
    health = TrainingHealth(X, y, every=2)
    gn.train(net, X, y, lr=0.2, epochs=3, batch_size=40, seed=0,
             callbacks=[weights, health])
    assert health.ratio_steps == [0, 2, 4, 6, 8]
    assert health.ratio_epochs == [0, 0, 1, 2, 2]  # three steps of 40 rows per epoch
    for step, ratios in zip(health.ratio_steps, health.update_ratios):
        before, after = weights.seen[step], weights.seen[step + 1]
        expected = [np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(after, before)]
        np.testing.assert_allclose(ratios, expected, rtol=1e-12)
    by_epoch = health.update_ratio_by_epoch(3)
    np.testing.assert_allclose(by_epoch[0], np.mean(health.update_ratios[:2], axis=0))


def test_saturation_and_dead_units_are_reported_only_where_they_are():
    X, y = data(3)
    summaries = {}
    for name, activation, scale in (("healthy tanh", "tanh", 1), ("saturated tanh", "tanh", 8),
                                    ("healthy relu", "relu", 1), ("dying relu", "relu", 1)):
        net = gn.Network.from_sizes([5, 16, 1], activation=activation, seed=5,
                                    init="glorot_normal")
        net.layers[0].W *= scale
        if name == "dying relu":
            net.layers[0].b[:8] = -50.0  # half the units below zero on every row
        health = TrainingHealth(X, y, epochs=(1,))
        gn.train(net, X, y, lr=0.01, epochs=1, callbacks=[health])
        summaries[name] = health.summaries[1][0]
    assert summaries["healthy tanh"]["saturated"] < 0.05
    assert summaries["saturated tanh"]["saturated"] > 0.5
    assert summaries["healthy relu"]["dead"] == 0.0
    assert summaries["dying relu"]["dead"] == 0.5


def test_train_dynamics_writes_the_health_figures_and_numbers(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from glassnet.cli import main

    out = tmp_path / "run"
    code = main(["train", "wisconsin", "--hidden", "8,8", "--activation", "tanh", "--epochs",
                 "12", "--dynamics", "1,6", "--quiet", "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 0, err
    for name in ("health_histograms.png", "update_ratio.png", "gradient_norms.png",
                 "unit_health.png"):
        assert (out / name).stat().st_size > 5000
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert header[-3:] == ["update_ratio_1", "update_ratio_2", "update_ratio_3"]
    health = json.loads((out / "metrics.json").read_text())["health"]
    assert sorted(health["layers"], key=int) == ["1", "6", "12"]  # the last always added
    assert [layer["layer"] for layer in health["update_ratio"]] == [1, 2, 3]
    assert all(0 < layer["median"] < 1 for layer in health["update_ratio"])
    assert health["activations"] == ["tanh", "tanh"]

    code = main(["train", "wisconsin", "--epochs", "5", "--dynamics", "0,3", "--quiet",
                 "--out", str(tmp_path / "bad")])
    _, err = capsys.readouterr()
    assert code != 0 and err.strip().startswith("error:") and "--dynamics" in err
    assert len(err.strip().splitlines()) == 1
