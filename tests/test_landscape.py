import os
import stat

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


def test_off_plane_fraction_is_the_sine_of_the_angle_to_the_plane():
    center = np.array([1.0, 2.0, 3.0])
    d1, d2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    points = center + np.array([[0.0, 0.0, 0.0], [2.0, -1.0, 0.0], [0.0, 0.0, 3.0],
                                [1.0, 0.0, 1.0]])
    np.testing.assert_allclose(ls.off_plane_fraction(points, center, d1, d2),
                               [0.0, 0.0, 1.0, np.sqrt(0.5)], atol=1e-12)


@pytest.mark.parametrize("n_steps, expected", [(200, 3), (4400, 45), (50, 1), (1, 1)])
def test_record_interval_is_odd_and_gives_about_100_points(n_steps, expected):
    every = ls.record_interval(n_steps)
    assert every == expected and every % 2 == 1
    assert n_steps < 150 or 50 <= n_steps // every + 1 <= 150


def test_rises_count_upturns():
    assert ls.count_rises([5, 4, 3, 2]) == 0
    assert ls.count_rises([5, 6, 7, 4, 5, 3, 3.00001, 4]) == 3
    assert ls.count_rises([1, 2, 1, 2], tol=2) == 0


def test_landscape_from_paths_anchors_the_plane_at_the_shared_start(wisconsin):
    X, y = wisconsin
    net = gn.Network.from_sizes([9, 6, 1], activation="tanh", seed=3)
    start = net.get_weights()
    paths = {}
    for name, lr in (("slow", 0.05), ("fast", 0.5)):
        net.set_weights(start)
        recorder = ls.TrajectoryRecorder(every=4)
        gn.train(net, X, y, lr=lr, epochs=40, callbacks=[recorder])
        paths[name] = recorder.trajectory.matrix()
    net.set_weights(start)
    result = ls.landscape_from_paths(net, X, y, paths, resolution=9)
    for name, coords in result.paths.items():
        np.testing.assert_array_equal(coords[0], [0.0, 0.0])  # the start is the centre
        assert result.off_plane[name][0] == 0.0
        assert result.plane_loss[name][0] == pytest.approx(result.path_loss[name][0], rel=1e-12)
        assert np.all((result.off_plane[name] >= 0) & (result.off_plane[name] <= 1))
    assert result.center_loss == pytest.approx(net.compute_loss(X, y), rel=1e-12)
    i, j = int(np.flatnonzero(result.y == 0)[0]), int(np.flatnonzero(result.x == 0)[0])
    assert result.loss[i, j] == pytest.approx(result.center_loss, rel=1e-12)
    # the drawn loss of a point is the loss at its projection, recomputed here
    d1, d2 = result.d1, result.d2
    assert abs(d1 @ d2) < 1e-10 and np.isclose(d1 @ d1, 1) and np.isclose(d2 @ d2, 1)
    point = paths["fast"][5]
    center = ls.flatten(start)
    a, b = result.paths["fast"][5]
    net.set_weights(ls.unflatten(center + a * d1 + b * d2, net.parameters()))
    assert result.plane_loss["fast"][5] == pytest.approx(net.compute_loss(X, y), rel=1e-10)
    residual = (point - center) - a * d1 - b * d2
    assert result.off_plane["fast"][5] == pytest.approx(
        np.linalg.norm(residual) / np.linalg.norm(point - center), rel=1e-8)
    gap, name, step = result.worst_gap
    assert gap == pytest.approx(max(result.gap(n) for n in paths))
    assert step == result.steps[name][np.argmax(np.abs(result.path_loss[name]
                                                       - result.plane_loss[name]))]


def test_random_plane_shows_the_basin_and_no_paths(wisconsin, tmp_path):
    pytest.importorskip("matplotlib")
    from glassnet import plots

    X, y = wisconsin
    net = gn.Network.from_sizes([9, 15, 1], activation="relu", init="scaled_normal", seed=1)
    result = ls.compare_optimizers(net, X, y, optimizers=("sgd", "momentum"), epochs=30,
                                   resolution=11, directions="random")
    assert result.drawn == [] and result.worst_gap is None
    assert result.x[0] == -1.0 and result.x[-1] == 1.0 and 0.0 in result.x
    assert result.center_loss == pytest.approx(result.final_loss["sgd"], rel=1e-12)
    for fractions in result.off_plane.values():
        assert fractions[1:].mean() > 0.9  # a path lies almost wholly off a random plane
    figure = plots.landscape_figure(result)
    assert len(figure.axes[0].lines) == 1  # only the centre's marker, no path
    assert "not drawn" in figure.axes[0].get_title()
    with pytest.raises(ValueError, match="random plane"):
        plots.save_descent_animation(result, tmp_path / "x.gif")


def test_presets_use_the_registry_and_tell_their_story_in_their_rates():
    from glassnet.optimizers import SGD, Adam

    opt, schedule = ls.make_optimizer("annealing", lr=0.1, epochs=200, large_lr=5.0)
    assert isinstance(opt, SGD) and opt.lr == 5.0 and opt.momentum == 0
    rates = [schedule(opt.lr, t) for t in range(200)]
    assert rates[0] == pytest.approx(0.1)  # warms up from the base rate
    assert rates[20] == pytest.approx(5.0) and rates[99] == pytest.approx(5.0)
    assert rates[-1] == pytest.approx(0.01) and np.all(np.diff(rates[100:]) <= 0)
    opt, schedule = ls.make_optimizer("large-lr", lr=0.1, epochs=200, large_lr=5.0)
    assert [schedule(5.0, t) for t in (0, 20, 199)] == pytest.approx([0.1, 5.0, 5.0])
    opt, schedule = ls.make_optimizer("adam", lr=0.1, epochs=200)
    assert isinstance(opt, Adam) and opt.lr == pytest.approx(0.01) and schedule is None
    opt, _ = ls.make_optimizer("momentum", lr=0.1, epochs=200)
    assert opt.momentum == 0.9
    with pytest.raises(ValueError, match="large_lr"):
        ls.make_optimizer("large-lr", lr=0.1, epochs=200)


def test_trajectory_recorder_counts_steps(wisconsin):
    X, y = wisconsin
    net = gn.Network.from_sizes([9, 4, 1], seed=0)
    recorder = ls.TrajectoryRecorder(every=10)
    gn.train(net, X, y, lr=0.1, epochs=25, callbacks=[recorder])
    assert recorder.trajectory.steps == [0, 10, 20, 25]
    np.testing.assert_array_equal(recorder.trajectory.points[-1], ls.flatten(net.parameters()))


def _gap_from_npz(data, names):
    return max(np.max(np.abs(data[f"path_loss_{n}"] - data[f"plane_loss_{n}"])) for n in names)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``glassnet landscape wisconsin`` at its defaults (a coarser grid), under umask 022."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("click")
    from glassnet.cli import main

    out = tmp_path_factory.mktemp("landscape") / "default"
    previous = os.umask(0o022)
    try:
        code = main(["landscape", "wisconsin", "--resolution", "21", "--out", str(out)])
    finally:
        os.umask(previous)
    assert code == 0
    return out


NAMES = ("sgd", "momentum", "annealing", "large-lr")


def test_landscape_command_writes_true_pictures(default_run):
    from PIL import Image

    out = default_run
    for name in ("landscape.png", "landscape_3d.png"):
        image = np.asarray(Image.open(out / name).convert("L"), dtype=float)
        assert image.std() > 10
    with np.load(out / "landscape.npz", allow_pickle=False) as data:
        assert str(data["center"]) == "the shared start"
        assert data["loss"].shape == (21, 21)
        i = int(np.flatnonzero(data["y"] == 0)[0])
        j = int(np.flatnonzero(data["x"] == 0)[0])
        assert data["loss"][i, j] == pytest.approx(float(data["center_loss"]), rel=1e-12)
        for name in NAMES:
            points = len(data[f"path_{name}"])
            assert 50 <= points <= 150  # about 100 per path
            np.testing.assert_array_equal(data[f"path_{name}"][0], [0.0, 0.0])
            assert data[f"path_loss_{name}"][0] == pytest.approx(float(data["center_loss"]))
            assert data[f"plane_loss_{name}"].shape == data[f"off_plane_{name}"].shape == (
                points,)
            assert np.all((data[f"off_plane_{name}"] >= 0) & (data[f"off_plane_{name}"] <= 1))
        assert _gap_from_npz(data, NAMES) <= 0.05  # the drawing is true to 0.05
        # the presets' stories, read from the true losses
        large = data["path_loss_large-lr"]
        assert ls.count_rises(large) >= 3 and large[-1] < large[0]
        assert np.all(np.isfinite(large))
        assert data["path_loss_annealing"][-1] < data["path_loss_sgd"][-1]
        lam = float(data["lambda_max"])
        assert float(data["large_lr"]) == pytest.approx(ls.OVERSHOOT * 2 / lam)
        assert "↗" in str(data["rate_large-lr"]) and "↘" in str(data["rate_annealing"])
        frames = len(data["steps_sgd"])
    gif = Image.open(out / "descent.gif")
    assert gif.n_frames == frames  # one frame per recorded point
    colours = set()
    for k in (gif.n_frames // 2, gif.n_frames - 1):
        gif.seek(k)
        colours |= {c for _, c in gif.convert("RGB").getcolors(1 << 16)}
    for hex_colour in ("#d55e00", "#0072b2", "#009e73", "#cc79a7"):
        assert tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)) in colours


def test_landscape_files_get_the_umask_permissions(default_run):
    for path in default_run.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
    assert not [p for p in default_run.iterdir() if p.name.startswith(".tmp-")]


def test_landscape_command_with_mini_batches(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("click")
    from glassnet.cli import main

    out = tmp_path / "batch32"
    assert main(["landscape", "wisconsin", "--batch-size", "32", "--resolution", "5",
                 "--out", str(out)]) == 0
    with np.load(out / "landscape.npz", allow_pickle=False) as data:
        assert int(data["steps_per_epoch"]) == 22
        for name in NAMES:
            assert 50 <= len(data[f"path_{name}"]) <= 150  # not one point per step
        assert _gap_from_npz(data, NAMES) <= 0.10


def test_landscape_command_rejects_unknown_optimizer(tmp_path, capsys):
    pytest.importorskip("click")
    from glassnet.cli import main

    code = main(["landscape", "wisconsin", "--optimizers", "sgd,lbfgs",
                 "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("error: ") and "lbfgs" in err
    assert not (tmp_path / "x").exists()


def test_runaway_optimizer_is_marked_diverged_and_left_out_of_the_plane(wisconsin):
    X, y = wisconsin
    net = gn.Network.from_sizes([9, 15, 1], activation="tanh", output_activation="identity",
                                seed=1)
    result = ls.compare_optimizers(net, X, y * 3.0, optimizers=("sgd", "large-lr"), lr=0.1,
                                   epochs=40, resolution=5, large_lr=50.0)
    assert result.diverged == {"sgd": False, "large-lr": True}
    assert result.sharpness is None and result.large_lr == 50.0
    assert np.all(np.isfinite(result.loss))
    # the grid covers the steady path, not the runaway one
    assert np.abs(result.paths["sgd"]).max() <= max(np.abs(result.x).max(),
                                                   np.abs(result.y).max())
    assert result.worst_gap[1] == "sgd"
