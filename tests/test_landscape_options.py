"""The landscape's other surfaces (test loss, accuracy), lines and Hessian planes."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import landscape as ls
from glassnet.curvature import hessian_vector_product
from glassnet.datasets import load_wisconsin
from glassnet.training import score


@pytest.fixture(scope="module")
def problem():
    X, y = load_wisconsin(return_X_y=True)
    X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:500], order[500:]
    net = gn.Network.from_sizes([9, 15, 1], activation="relu", init="scaled_normal", seed=1)
    return net, X[train], y[train], X[test], y[test]


@pytest.fixture(scope="module")
def result(problem):
    net, X, y, _, _ = problem
    return ls.compare_optimizers(net, X, y, optimizers=("sgd", "momentum"), lr=0.1, epochs=40,
                                 resolution=11)


def at(network, vector):
    network.set_weights(ls.unflatten(vector, network.parameters()))
    return network


def test_accuracy_and_test_loss_surfaces_are_measured_on_the_same_plane(problem, result):
    net, _, _, X_test, y_test = problem
    saved = net.get_weights()
    accuracy = ls.resurface(result, net, X_test, y_test, "accuracy")
    test_loss = ls.resurface(result, net, X_test, y_test, "loss")
    assert accuracy.quantity == "test accuracy" and test_loss.quantity == "test loss"
    np.testing.assert_array_equal(accuracy.x, result.x)  # the plane the training loss chose
    np.testing.assert_array_equal(accuracy.paths["sgd"], result.paths["sgd"])
    Xc, Yc, _ = net.check_data(X_test, y_test)
    i, j = 3, 8
    point = result.center_vector + result.x[j] * result.d1 + result.y[i] * result.d2
    # the grid: each value is the quantity at θ* + x·d1 + y·d2, rows as y
    assert accuracy.loss[i, j] == score(at(net, point), Xc, Yc)
    assert test_loss.loss[i, j] == pytest.approx(net.compute_loss(X_test, y_test), rel=1e-10)
    # along a path: the true value at the recorded weights, the drawn one at the projection
    k = len(result.points["momentum"]) // 2
    recorded = result.points["momentum"][k]
    assert accuracy.path_loss["momentum"][k] == score(at(net, recorded), Xc, Yc)
    projected = result.center_vector + result.paths["momentum"][k] @ np.vstack(
        [result.d1, result.d2])
    assert test_loss.plane_loss["momentum"][k] == pytest.approx(
        at(net, projected).compute_loss(X_test, y_test), rel=1e-10)
    assert np.all((accuracy.loss >= 0) & (accuracy.loss <= 1))
    net.set_weights(saved)
    regression = gn.Network.from_sizes([9, 4, 1], output_activation="identity", seed=0)
    with pytest.raises(ValueError, match="accuracy needs a classifier"):
        ls.resurface(result, regression, X_test, y_test, "accuracy")


def test_hessian_plane_is_spanned_by_the_top_eigenvectors(problem):
    net, X, y, _, _ = problem
    result = ls.compare_optimizers(net, X, y, optimizers=("sgd",), lr=0.1, epochs=40,
                                   resolution=7, directions="hessian")
    centre = result.points["sgd"][-1]
    at(net, centre)
    norm = np.linalg.norm(centre)
    like = net.parameters()
    for d, value in zip((result.d1, result.d2), result.eigenvalues):
        assert np.linalg.norm(d) == pytest.approx(norm, rel=1e-12)
        unit = d / norm
        Hv = ls.flatten(hessian_vector_product(net, X, y, ls.unflatten(unit, like)))
        # Lanczos' residual bound at tol 1e-6, relative to λ_max
        np.testing.assert_allclose(Hv, value * unit, atol=1e-5 * result.eigenvalues[0])
    assert result.eigenvalues[0] > result.eigenvalues[1] > 0
    assert result.drawn == []  # paths lie off such a plane: not drawn
    j = int(np.flatnonzero(result.x == 0)[0])
    assert result.loss[j, j] == pytest.approx(net.compute_loss(X, y), rel=1e-10)


def test_interpolation_line_runs_from_the_start_to_the_end(problem, result):
    net, X, y, _, _ = problem
    line = ls.landscape_line(net, X, y, result, "interpolation", resolution=9)
    np.testing.assert_allclose(line.coords, np.linspace(-0.5, 1.5, 9))
    start, end = result.points["sgd"][0], result.points["sgd"][-1]
    assert line.values[2] == pytest.approx(at(net, start).compute_loss(X, y), rel=1e-10)
    assert line.values[6] == pytest.approx(at(net, end).compute_loss(X, y), rel=1e-10)
    assert line.values[4] == pytest.approx(at(net, (start + end) / 2).compute_loss(X, y),
                                           rel=1e-10)
    assert line.path_coords["sgd"][0] == 0 and line.path_coords["sgd"][-1] == pytest.approx(1)
    assert line.off_line["sgd"][-1] == pytest.approx(0, abs=1e-12)
    assert "sgd" in line.drawn
    # at the path's own points the line is exact at both ends
    assert line.line_values["sgd"][-1] == pytest.approx(line.path_values["sgd"][-1], rel=1e-10)
    hessian = ls.landscape_line(net, X, y, result, "hessian", resolution=5, window=0.5)
    assert hessian.eigenvalue > 0 and hessian.drawn == []
    assert hessian.values[2] == pytest.approx(at(net, end).compute_loss(X, y), rel=1e-10)
    assert hessian.values[0] > hessian.values[2] < hessian.values[4]  # the bottom of a bowl


def test_landscape_command_surface_and_line(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    from PIL import Image

    from glassnet.cli import main

    out = tmp_path / "acc"
    assert main(["landscape", "wisconsin", "--surface", "accuracy", "--line", "interpolation",
                 "--optimizers", "sgd,momentum", "--epochs", "30", "--resolution", "9",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy of 137 held-out rows" in printed
    for name in ("landscape.png", "landscape_3d.png", "line.png"):
        assert np.asarray(Image.open(out / name).convert("L"), dtype=float).std() > 10
    with np.load(out / "landscape_accuracy.npz", allow_pickle=False) as data:
        assert str(data["quantity"]) == "test accuracy"
        assert np.all((data["loss"] >= 0) & (data["loss"] <= 1))
    with np.load(out / "landscape.npz", allow_pickle=False) as data:
        assert str(data["quantity"]) == "loss"  # the training loss, as before

    code = main(["landscape", "heart", "--surface", "accuracy", "--epochs", "5",
                 "--target", "serum_cholesterol", "--one-hot", "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("error: ") and "--surface" in err
