"""The advisor: each note fires on a run that shows its evidence, and stays silent on
runs that do not; every value it suggests is sensible for the run."""

import json
import re

import numpy as np
import pytest

from glassnet.advice import (
    Evidence,
    advise,
    diagnose,
    exploded,
    largest_stable_rate,
    more_epochs,
    smaller_rate,
)

# curves shaped like real runs (per-epoch losses)
EPOCHS = np.arange(200)
CONVERGING = list(0.7 * np.exp(-EPOCHS / 40) + 0.1)               # falls, flattens
STILL_FALLING = list(0.7 * np.exp(-EPOCHS / 400) + 0.05)          # far from flat at 200
OVERFIT_TRAIN = list(0.7 * np.exp(-EPOCHS / 50) + 0.05)
OVERFIT_HELD = list(0.3 + 0.4 * np.exp(-EPOCHS / 10) + 0.001 * np.maximum(EPOCHS - 40, 0))
DIVERGING = [2.0, 50.0, 3e3, 4e5, 6e7]
UNSTABLE = [1.0, 0.4, 0.3, 0.5, 0.25, 0.6, 0.3, 0.9, 0.35, 1.2, 0.4, 1.5]
STUCK = [0.6931, 0.6930, 0.6931, 0.6929, 0.6930, 0.6929, 0.6930, 0.6929]


def kinds(evidence):
    return [note.kind for note in advise(evidence)]


def test_diverging_fires_on_a_loss_that_grew_by_orders_of_magnitude():
    notes = advise(Evidence(train_loss=DIVERGING, lr=100, solver="sgd", stop_reason="tol"))
    assert [n.kind for n in notes] == ["diverging"]
    assert "--lr 10" in notes[0].text and "too large" in notes[0].text


def test_diverging_does_not_fire_on_healthy_or_noisy_runs():
    for curve in (CONVERGING, STILL_FALLING, OVERFIT_TRAIN, STUCK):
        assert diagnose(Evidence(train_loss=curve)) != "diverging"


def test_unstable_fires_on_a_growing_oscillation_and_names_a_smaller_rate():
    notes = advise(Evidence(train_loss=UNSTABLE, lr=0.5, stop_reason="max_epochs"))
    assert [n.kind for n in notes] == ["unstable"]
    assert "--lr 0.05" in notes[0].text


def test_a_loss_that_ends_above_its_start_is_unstable_never_stuck_with_a_larger_rate():
    """rmsprop at lr 0.5 on heart: 1.17 -> 5.7 over 12 epochs, once called stuck with
    "try --lr 5"."""
    rising = [1.171, 0.9, 0.6, 0.8, 1.5, 2.0, 2.4, 3.1, 3.0, 4.2, 5.0, 5.722]
    notes = advise(Evidence(train_loss=rising, lr=0.5, stop_reason="tol"))
    assert [n.kind for n in notes] == ["unstable"]
    rates = [float(r) for r in re.findall(r"--lr ([\d.e-]+)", notes[0].text)]
    assert rates and all(r < 0.5 for r in rates)


def test_unstable_does_not_fire_on_minibatch_noise_near_the_minimum():
    rng = np.random.default_rng(0)
    noisy = list(np.array(CONVERGING) * (1 + 0.02 * rng.standard_normal(200)))
    assert diagnose(Evidence(train_loss=noisy)) != "unstable"


def test_stuck_fires_when_the_loss_hardly_moves_and_not_otherwise():
    notes = advise(Evidence(train_loss=STUCK, scale="none", lr=0.001))
    assert [n.kind for n in notes] == ["stuck"]
    assert "--scale standard" in notes[0].text and "--lr 0.01" in notes[0].text
    assert diagnose(Evidence(train_loss=CONVERGING)) != "stuck"


def test_overfitting_fires_and_never_suggests_more_epochs():
    evidence = Evidence(train_loss=OVERFIT_TRAIN, held_out_loss=OVERFIT_HELD,
                        still_improving=True, hidden=(100,))
    notes = advise(evidence)
    assert [n.kind for n in notes] == ["overfitting"]
    text = notes[0].text
    assert "--epochs" not in text
    assert "--early-stopping" in text and "--alpha 1" in text and "--hidden 25" in text
    best = int(np.argmin(OVERFIT_HELD)) + 1
    assert f"lowest at epoch {best} of 200" in text


def test_overfitting_does_not_fire_when_the_held_out_loss_keeps_falling_or_stopped_early():
    assert diagnose(Evidence(train_loss=STILL_FALLING, held_out_loss=STILL_FALLING,
                             still_improving=True)) == "still_learning"
    assert diagnose(Evidence(train_loss=OVERFIT_TRAIN, held_out_loss=OVERFIT_HELD,
                             stop_reason="early_stopping")) is None


def test_still_learning_fires_only_when_the_epochs_ran_out_while_falling():
    notes = advise(Evidence(train_loss=STILL_FALLING, held_out_loss=STILL_FALLING,
                            still_improving=True, epochs=200, lr=0.001))
    assert [n.kind for n in notes] == ["still_learning"]
    assert "--epochs 1000" in notes[0].text and "--lr 0.003" in notes[0].text
    assert diagnose(Evidence(train_loss=STILL_FALLING, still_improving=False)) is None
    assert diagnose(Evidence(train_loss=STILL_FALLING, still_improving=True,
                             stop_reason="tol")) is None


def test_no_note_on_a_run_that_converged():
    assert advise(Evidence(train_loss=CONVERGING, held_out_loss=CONVERGING)) == []


def test_fewer_units_is_never_one_and_small_layers_are_left_alone():
    for hidden, expected in (((8,), None), ((15,), "3"), ((9, 5), "2,2"), ((64, 32), "16,8")):
        text = advise(Evidence(train_loss=OVERFIT_TRAIN, held_out_loss=OVERFIT_HELD,
                               hidden=hidden))[0].text
        found = re.search(r"--hidden ([\d,]+)", text)
        assert (found and found.group(1)) == expected or (expected is None and not found)


def test_a_smaller_rate_is_at_most_a_tenth_and_below_the_stable_rate():
    assert smaller_rate(100) == 10 and smaller_rate(0.5) == 0.05 and smaller_rate(0.07) == 0.005
    assert smaller_rate(100, stable_rate=1.22) == 0.5
    for lr in (1e-4, 0.003, 0.7, 3.0, 250.0):
        assert smaller_rate(lr) <= lr / 10 * (1 + 1e-12)
    assert more_epochs(200) == 1000


def test_exploded_is_a_million_times_the_first_loss_or_not_finite():
    assert exploded([0.7, 8e5]) and exploded([0.7, float("nan")])
    assert not exploded([0.7, 6e5]) and not exploded([0.7])


def test_worse_than_linear_follows_the_diagnosis():
    metrics = {"train": {"accuracy": 0.21}, "test": {"accuracy": 0.26}}
    baselines = {"logistic regression": {"kind": "linear", "train": {"accuracy": 0.89},
                                         "test": {"accuracy": 0.78}}}
    notes = advise(Evidence(train_loss=DIVERGING, lr=100, metrics=metrics, baselines=baselines))
    assert [n.kind for n in notes] == ["diverging", "worse_than_linear"]
    assert "--lr 10" in notes[1].text and "--lr 1000" not in notes[1].text
    overfit = {"train": {"accuracy": 0.99}, "test": {"accuracy": 0.70}}
    line = advise(Evidence(train_loss=OVERFIT_TRAIN, held_out_loss=OVERFIT_HELD,
                           still_improving=True, metrics=overfit, baselines=baselines))[1].text
    assert "learns their noise" in line and "--epochs" not in line
    better = {"train": {"accuracy": 0.95}, "test": {"accuracy": 0.80}}
    assert kinds(Evidence(train_loss=CONVERGING, metrics=better, baselines=baselines)) == []


def test_largest_stable_rate_is_two_over_the_sharpness_of_a_quadratic():
    import glassnet as gn

    # one linear unit with squared error on orthonormal-ish rows: the Hessian of
    # mean (x·w + b - y)² is 2·[XᵀX/m, x̄; x̄ᵀ, 1]; computed here independently
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = rng.normal(size=(40, 1))
    net = gn.Network.from_sizes([3, 1], output_activation="identity", loss="mse", seed=0)
    Xb = np.column_stack([X, np.ones(40)])
    hessian = 2 * Xb.T @ Xb / 40
    expected = 2 / np.linalg.eigvalsh(hessian).max()
    # power iteration stops at a relative change of 1e-6 on a well-separated
    # spectrum: 1e-4 holds on any BLAS
    assert largest_stable_rate(net, X, y) == pytest.approx(expected, rel=1e-4)
    assert largest_stable_rate(net, X, y, budget=10) is None


# -- on the command line -----------------------------------------------------------------
def run(capsys, *args):
    pytest.importorskip("sklearn")
    pytest.importorskip("click")
    from _cli import run as run_cli

    return run_cli(capsys, *args)


def test_a_loss_that_explodes_while_finite_ends_with_an_error_naming_a_smaller_rate(
        capsys, tmp_path):
    code, _, err = run(capsys, "train", "heart", "--lr", "100", "--solver", "sgd",
                         "--quiet", "--plots", "none", "--out", tmp_path / "d")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: training diverged in epoch")
    lr = float(re.search(r"try --lr ([\d.e-]+)", lines[0]).group(1))
    assert lr <= 10
    stable = float(re.search(r"2/λ_max = ([\d.e+-]+)", lines[0]).group(1))
    assert lr <= stable
    assert not (tmp_path / "d" / "model.glassnet").exists()


def test_heart_at_the_defaults_is_called_overfitting_not_short_of_epochs(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "heart", "--quiet", "--plots", "none",
                       "--out", tmp_path / "h")
    assert code == 0
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    assert not any("--epochs" in note and "try" in note for note in notes), notes
    assert any("learns its training rows' noise" in note for note in notes)
    history = np.genfromtxt(tmp_path / "h" / "history.csv", delimiter=",", names=True)
    best = int(np.argmin(history["test_loss"])) + 1
    assert any(f"lowest at epoch {best} of" in note for note in notes)
    metrics = json.loads((tmp_path / "h" / "metrics.json").read_text())
    assert any("learns its training rows' noise" in note for note in metrics["notes"])


def test_wisconsin_at_the_defaults_is_still_learning_not_overfitting(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "wisconsin", "--quiet", "--plots", "none",
                       "--out", tmp_path / "w")
    assert code == 0
    assert "still learning; try --epochs 1000" in out
    assert "noise" not in out and "--hidden 1," not in out


def test_search_refit_prints_the_notes_train_prints_in_search_terms(capsys, tmp_path):
    code, out, err = run(capsys, "search", "heart", "--param", "lr=0.01", "--param",
                         "epochs=500", "--cv", "2", "--quiet", "--out", tmp_path / "s")
    assert code == 0, err
    metrics = json.loads((tmp_path / "s" / "metrics.json").read_text())
    ours = metrics["test"]["accuracy"]
    theirs = metrics["baselines"]["logistic regression"]["test"]["accuracy"]
    worse = [line for line in out.splitlines()
             if line.startswith("note: the network does worse than logistic regression")]
    # the note is a claim: present exactly when the claim holds
    assert len(worse) == (1 if ours < theirs else 0)
    for line in worse:  # on this machine: 0.7593 vs 0.7778 (41 vs 42 of 54 rows)
        assert "--param alpha=1" in line and "--alpha" not in line
        assert line[len("note: "):] in metrics["notes"]


def test_search_params_spelling():
    from glassnet.cli.advice import as_search_params

    assert as_search_params("try --early-stopping, --alpha 1, --hidden 16,8, --lr 0.003") == \
        "try --early-stopping, --param alpha=1, --param hidden=16x8, --param lr=0.003"


def test_stuck_names_tanh_only_when_most_relu_units_are_dead():
    import glassnet as gn
    from glassnet.advice import dead_fraction

    net = gn.Network.from_sizes([2, 4, 1], activation="relu", seed=0)
    X = np.abs(np.random.default_rng(0).normal(size=(10, 2)))
    net.layers[0].W[:, :3] = -1.0  # inputs are positive: three of four units never fire
    net.layers[0].b[:3] = -0.1
    net.layers[0].W[:, 3], net.layers[0].b[3] = 1.0, 0.1
    assert dead_fraction(net, X) == 0.75
    dead = advise(Evidence(train_loss=STUCK, dead_fraction=0.75))[0].text
    alive = advise(Evidence(train_loss=STUCK, dead_fraction=0.0))[0].text
    assert "--activation tanh (75% of the ReLU units" in dead and "tanh" not in alive
    assert dead_fraction(gn.Network.from_sizes([2, 3, 1], activation="tanh", seed=0), X) is None


def test_lbfgs_is_not_told_to_stop_early_and_counts_iterations():
    text = advise(Evidence(train_loss=OVERFIT_TRAIN, held_out_loss=OVERFIT_HELD,
                           solver="lbfgs"))[0].text
    assert "--early-stopping" not in text and "--dropout" not in text
    assert "lowest at iteration" in text and "--alpha 1" in text


def test_dead_fraction_leaves_the_fitted_model_as_it_was():
    """The advisor measures dead units on a copy in evaluation mode: a model with batch
    normalisation and dropout predicts the same, bit for bit, after the measurement
    (a forward pass in training mode moved the running statistics and drew masks)."""
    import warnings

    from glassnet import MLPClassifier
    from glassnet.advice import dead_fraction

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((8,), batch_norm=True, dropout=0.3, max_iter=5,
                              random_state=0).fit(X, y)
    before = model.predict_proba(X)
    assert dead_fraction(model.network_, X * 3 + 1) is not None
    np.testing.assert_array_equal(model.predict_proba(X), before)
