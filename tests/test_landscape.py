import numpy as np
import pytest

import glassnet as gn
from glassnet import landscape as ls
from glassnet.datasets import load_wisconsin


@pytest.fixture(scope="module")
def wisconsin():
    X, y = load_wisconsin(return_X_y=True)
    return (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0)), y


def trained(X, y, alpha=0.0, seed=1):
    net = gn.Network.from_sizes([9, 15, 1], activation="relu", init="scaled_normal",
                                alpha=alpha, seed=seed)
    gn.train(net, X, y, lr=0.1, epochs=50)
    return net


def test_grid_centre_equals_model_loss(wisconsin):
    X, y = wisconsin
    net = trained(X, y, alpha=0.05)
    rng = np.random.default_rng(0)
    d1, d2 = ls.random_direction(net, rng), ls.random_direction(net, rng)
    xs = np.linspace(-1, 1, 21)
    grid = ls.grid_loss(net, X, y, d1, d2, xs, xs)
    assert grid[10, 10] == pytest.approx(net.compute_loss(X, y), rel=1e-9)
    assert grid.shape == (21, 21) and np.all(np.isfinite(grid))


@pytest.mark.parametrize("include_bias", [False, True])
def test_filter_normalisation_matches_unit_norms(include_bias):
    net = gn.Network.from_sizes([5, 7, 4, 3], output_activation="softmax", seed=0)
    for layer in net.layers:
        layer.b[:] = np.random.default_rng(1).normal(size=layer.b.shape)
    direction = ls.random_direction(net, np.random.default_rng(2), include_bias=include_bias)
    for k, layer in enumerate(net.layers):
        W, dW, db = layer.W, direction[2 * k], direction[2 * k + 1]
        if include_bias:
            expected = np.sqrt((W ** 2).sum(axis=0) + layer.b ** 2)
            actual = np.sqrt((dW ** 2).sum(axis=0) + db ** 2)
        else:
            expected, actual = np.linalg.norm(W, axis=0), np.linalg.norm(dW, axis=0)
            assert not db.any()  # bias directions are zero by default
        np.testing.assert_allclose(actual, expected, rtol=1e-12)


def test_vectorised_equals_one_point_at_a_time():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    for out, loss, y in [("sigmoid", None, rng.integers(0, 2, 40)),
                         ("softmax", None, rng.integers(0, 3, 40)),
                         ("identity", "mse", rng.normal(size=(40, 2)))]:
        k = {"sigmoid": 1, "softmax": 3, "identity": 2}[out]
        net = gn.Network.from_sizes([4, 6, 5, k], activation=["tanh", "relu"],
                                    output_activation=out, loss=loss, alpha=0.1, seed=4)
        d1, d2 = ls.random_direction(net, rng), ls.random_direction(net, rng, include_bias=True)
        xs, ys = rng.uniform(-2, 2, 5), rng.uniform(-2, 2, 4)
        grid = ls.grid_loss(net, X, y, d1, d2, xs, ys)
        center = net.get_weights()
        for i, b in enumerate(ys):
            for j, a in enumerate(xs):
                net.set_weights([c + a * u + b * v for c, u, v in zip(center, d1, d2)])
                assert grid[i, j] == pytest.approx(net.compute_loss(X, y), rel=1e-10)
        net.set_weights(center)


def test_interpolation_endpoints(wisconsin):
    X, y = wisconsin
    net = gn.Network.from_sizes([9, 15, 1], seed=0)
    start = net.get_weights()
    gn.train(net, X, y, lr=0.1, epochs=30)
    end = net.get_weights()
    losses = ls.interpolation_loss(net, X, y, start, end, [0.0, 0.5, 1.0])
    assert losses[2] == pytest.approx(net.compute_loss(X, y), rel=1e-12)
    net.set_weights(start)
    assert losses[0] == pytest.approx(net.compute_loss(X, y), rel=1e-12)


def test_projection_is_exact_in_the_plane():
    rng = np.random.default_rng(5)
    center = rng.normal(size=30)
    points = center + rng.normal(size=(12, 30)) * np.linspace(3, 0.1, 30)
    d1, d2, explained = ls.pca_directions(points, center)
    assert abs(d1 @ d2) < 1e-12 and np.isclose(d1 @ d1, 1) and np.isclose(d2 @ d2, 1)
    assert 0 < explained[1] <= explained[0] < 1
    coords = rng.normal(size=(6, 2))
    in_plane = center + coords[:, :1] * d1 + coords[:, 1:] * d2
    np.testing.assert_allclose(ls.project(in_plane, center, d1, d2), coords, atol=1e-12)


def test_compare_optimizers(wisconsin):
    X, y = wisconsin
    net = gn.Network.from_sizes([9, 15, 1], activation="relu", init="scaled_normal", seed=1)
    initial = net.get_weights()
    result = ls.compare_optimizers(net, X, y, optimizers=("sgd", "momentum", "large-lr"),
                                   lr=0.1, epochs=60, resolution=15)
    # the reference optimiser's final point is the centre
    np.testing.assert_allclose(result.paths["sgd"][-1], [0.0, 0.0], atol=1e-12)
    assert 0.0 in result.x and 0.0 in result.y
    i, j = int(np.flatnonzero(result.y == 0)[0]), int(np.flatnonzero(result.x == 0)[0])
    assert result.loss[i, j] == pytest.approx(result.center_loss, rel=1e-9)
    assert result.center_loss == pytest.approx(result.final_loss["sgd"], rel=1e-9)
    # every path starts at the same initial weights, whose loss is the network's own
    starts = {name: path[0] for name, path in result.paths.items()}
    for start in starts.values():
        np.testing.assert_allclose(start, starts["sgd"], atol=1e-9)
    assert all(w0 is not None and np.array_equal(w0, w1)
               for w0, w1 in zip(initial, net.get_weights()))  # network left at its start
    assert result.path_loss["momentum"][0] == pytest.approx(net.compute_loss(X, y), rel=1e-12)
    assert result.path_loss["momentum"][-1] == pytest.approx(result.final_loss["momentum"],
                                                              rel=1e-9)
    assert all(len(p) == 61 for p in result.paths.values())  # every step recorded (60 epochs)
    assert result.explained[0] >= result.explained[1] > 0


def test_trajectory_recorder_counts_steps(wisconsin):
    X, y = wisconsin
    net = gn.Network.from_sizes([9, 4, 1], seed=0)
    recorder = ls.TrajectoryRecorder(every=10)
    gn.train(net, X, y, lr=0.1, epochs=25, callbacks=[recorder])
    assert recorder.trajectory.steps == [0, 10, 20, 25]
    np.testing.assert_array_equal(recorder.trajectory.points[-1], ls.flatten(net.parameters()))


def test_landscape_command_writes_files(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("click")
    from PIL import Image

    from glassnet.cli import main

    out = tmp_path / "land"
    code = main(["landscape", "wisconsin", "--epochs", "40", "--resolution", "21",
                 "--out", str(out)])
    assert code == 0
    for name in ("landscape.png", "landscape_3d.png"):
        image = np.asarray(Image.open(out / name).convert("L"), dtype=float)
        assert image.std() > 10
    gif = Image.open(out / "descent.gif")
    assert gif.n_frames >= 20
    with np.load(out / "landscape.npz", allow_pickle=False) as data:
        assert data["loss"].shape == (21, 21)
        assert 0.0 in data["x"] and 0.0 in data["y"]
        for name in ("sgd", "momentum", "annealing", "large-lr"):
            assert data[f"path_{name}"].shape == (41, 2)
            assert data[f"path_loss_{name}"].shape == (41,)
        i = int(np.flatnonzero(data["y"] == 0)[0])
        j = int(np.flatnonzero(data["x"] == 0)[0])
        assert data["loss"][i, j] == pytest.approx(float(data["center_loss"]), rel=1e-9)
        np.testing.assert_allclose(data["path_sgd"][-1], [0, 0], atol=1e-12)


def test_landscape_command_rejects_unknown_optimizer(tmp_path, capsys):
    pytest.importorskip("click")
    from glassnet.cli import main

    code = main(["landscape", "wisconsin", "--optimizers", "sgd,lbfgs",
                 "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("error: ") and "lbfgs" in err
    assert not (tmp_path / "x").exists()


def test_runaway_optimizer_is_marked_diverged_and_left_out_of_the_plane():
    from glassnet.datasets import load_heart

    X, y = load_heart(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    net = gn.Network.from_sizes([13, 15, 1], activation="relu", init="scaled_normal", seed=1)
    result = ls.compare_optimizers(net, X, y, optimizers=("sgd", "large-lr"), lr=2.0,
                                   epochs=60, resolution=11)
    assert result.diverged == {"sgd": False, "large-lr": True}
    assert np.all(np.isfinite(result.loss))
    # the grid covers the steady path, not the runaway one
    assert np.abs(result.paths["sgd"]).max() <= max(np.abs(result.x).max(),
                                                   np.abs(result.y).max())
