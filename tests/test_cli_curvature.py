"""``glassnet train --track-sharpness`` and ``--dynamics``: what they record and draw."""

import csv
import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
from PIL import Image

import glassnet as gn
from glassnet.cli import main
from glassnet.cli.curvature import measurement_interval
from glassnet.curvature import hessian_eigenvalues
from glassnet.io import load_model
from glassnet.tables import prepare, split

FULL_BATCH_SGD = ["--hidden", "15", "--solver", "sgd", "--momentum", "0", "--batch-size", "full",
                  "--scale", "minmax", "--quiet"]


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_track_sharpness_records_lambda_max_every_n_epochs(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "wisconsin", *FULL_BATCH_SGD, "--lr", "0.5",
                       "--epochs", "40", "--track-sharpness", "7", "--out", out)
    assert code == 0, err
    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    measured = {int(r["epoch"]): float(r["sharpness"]) for r in rows if r["sharpness"]}
    assert sorted(measured) == [1, 8, 15, 22, 29, 36, 40]  # every 7 epochs, and the last
    metrics = json.loads((out / "metrics.json").read_text())["sharpness"]
    assert metrics["epochs"] == sorted(measured) and metrics["every"] == 7
    assert metrics["threshold"] == [pytest.approx(2 / 0.5)] * 7 and metrics["lr"] == [0.5] * 7
    # the last measurement is the saved network's λ_max on the training rows, to Lanczos'
    # tolerance (1e-3 relative residual: the eigenvalue to about that or better)
    model = load_model(out / "model.glassnet")
    rows = split(prepare("wisconsin"), 0.2, 0, scale="minmax")
    y = (rows.y_train == model.metadata["classes"][1]).astype(float)
    expected = hessian_eigenvalues(model.network, rows.X_train, y, k=1, tol=1e-10).values[0]
    assert measured[40] == pytest.approx(expected, rel=2e-3)
    image = Image.open(out / "sharpness.png")
    assert image.size[0] > 400 and len(np.unique(np.asarray(image.convert("L")))) > 20


def test_track_sharpness_alone_measures_about_a_hundred_times():
    assert measurement_interval(0, 3000) == 30
    assert measurement_interval(0, 40) == 1
    assert measurement_interval(5, 3000) == 5


def test_without_track_sharpness_nothing_is_measured(tmp_path, capsys):
    out = tmp_path / "plain"
    code, _, err = run(capsys, "train", "wisconsin", *FULL_BATCH_SGD, "--lr", "0.5",
                       "--epochs", "5", "--out", out)
    assert code == 0, err
    assert "sharpness" not in (out / "history.csv").read_text().splitlines()[0]
    assert "sharpness" not in json.loads((out / "metrics.json").read_text())
    assert not (out / "sharpness.png").exists()


def test_sharpness_rises_to_two_over_eta_with_full_batch_gradient_descent():
    """The edge of stability on the bundled data (Cohen et al. 2021): at rate 3 the
    sharpness climbs from about 0.4 to 2/η = 0.67 and hovers there, the loss
    rising at some steps but falling overall; at rate 0.5 it stays far below 2/η = 4."""
    from glassnet.curvature import SharpnessTracker
    from glassnet.datasets import load_wisconsin

    X, y = load_wisconsin(return_X_y=True)
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    outcomes = {}
    for lr in (3.0, 0.5):
        net = gn.Network.from_sizes([9, 15, 1], seed=1)
        tracker = SharpnessTracker(X, y, every=10)
        history = gn.train(net, X, y, lr=lr, epochs=1200, callbacks=[tracker])
        outcomes[lr] = np.array(tracker.values) * lr / 2, np.array(history.loss)  # λ/(2/η)
    ratio, loss = outcomes[3.0]
    assert np.median(ratio[5:20]) < 0.7  # epochs 50-200: well below the edge ...
    assert 0.9 < ratio[60:].max() < 1.1  # ... then at it, not beyond
    assert np.sum(np.diff(loss) > 0) > 50 and loss[-1] < 0.1 * loss[0]  # non-monotone, falling
    calm_ratio, calm_loss = outcomes[0.5]
    assert calm_ratio.max() < 0.25 and np.all(np.diff(calm_loss) <= 0)


def test_sharpness_is_not_measured_after_a_run_that_raised_or_was_stopped():
    """The last measurement (``on_train_end``) is skipped when the run ended by an
    exception (here the divergence guard's LossExploded) or Ctrl-C: a Lanczos there
    could only delay the stop or mask the error with one of its own."""
    from glassnet.cli.advice import LossExploded
    from glassnet.curvature import SharpnessTracker
    from glassnet.training import Callback

    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.tile([0.0, 1.0], 15)

    class Explode(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                raise LossExploded(epoch + 1, 1.0, 1e9)

    class CtrlC(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                trainer._interrupted = True  # what the first Ctrl-C's handler does

    for stopper, expected in ((Explode(), pytest.raises(LossExploded)), (CtrlC(), None)):
        tracker = SharpnessTracker(X, y, every=10)
        net = gn.Network.from_sizes([3, 4, 1], seed=1)
        if expected is None:
            gn.train(net, X, y, lr=0.1, epochs=8, callbacks=[tracker, stopper])
        else:
            with expected:
                gn.train(net, X, y, lr=0.1, epochs=8, callbacks=[tracker, stopper])
        assert tracker.epochs == [1]  # epoch 1's measurement only, none at the end
    tracker = SharpnessTracker(X, y, every=10)  # a run that ends normally: measured at the end
    gn.train(gn.Network.from_sizes([3, 4, 1], seed=1), X, y, lr=0.1, epochs=3,
             callbacks=[tracker])
    assert tracker.epochs == [1, 3]
