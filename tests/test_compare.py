"""glassnet against PyTorch and scikit-learn: the lockstep proof and ``glassnet compare``."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli import main
from glassnet.datasets import load_heart

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from glassnet.interop.torch_mlp import TorchMLPClassifier, TorchMLPRegressor
from glassnet.lockstep import lockstep, sklearn_can_follow


@pytest.fixture(scope="module")
def heart():
    X, y = load_heart(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y.reshape(-1, 1).astype(float)


def tutorial_network(seed=0, **options):
    return gn.Network.from_sizes([13, 8, 1], activation="relu", output_activation="sigmoid",
                                 init="glorot_uniform", seed=seed, **options)


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_sgd_lockstep_agrees_with_torch_and_sklearn(heart):
    X, Y = heart
    network = tutorial_network()
    start = [w.copy() for w in network.get_weights()]
    result = lockstep(network, X, Y, optimizer="sgd", lr=0.05, batch_size=32, epochs=3)
    assert result.skipped == {}
    for name in ("torch", "sklearn"):
        dw, dloss = result.worst(name)
        assert dw <= 1e-10 and dloss <= 1e-10, (name, dw, dloss)
        assert len(result.weight_diff[name]) == 3
    # glassnet really trained: the weights moved and the loss fell
    assert max(np.abs(a - b).max() for a, b in zip(start, network.get_weights())) > 1e-3
    assert result.loss["glassnet"][-1] < result.loss["glassnet"][0]


def test_adam_lockstep_torch_exact_sklearn_differs_by_its_eps_placement(heart):
    X, Y = heart
    result = lockstep(tutorial_network(1), X, Y, optimizer="adam", lr=0.01, batch_size=50,
                      epochs=3)
    assert result.worst("torch")[0] <= 1e-10
    drift = result.worst("sklearn")[0]
    assert 1e-10 < drift < 1e-3  # its Adam is not PyTorch's, but close


def test_lockstep_detects_a_different_run(heart, monkeypatch):
    """The bound is not vacuous: a PyTorch run with momentum against glassnet's plain SGD."""
    import glassnet.lockstep as ls

    X, Y = heart
    original = ls._TorchFollower.__init__

    def with_momentum(self, net, optimizer, lr, momentum):
        original(self, net, optimizer, lr, 0.5)

    monkeypatch.setattr(ls._TorchFollower, "__init__", with_momentum)
    result = lockstep(tutorial_network(), X, Y, optimizer="sgd", lr=0.05, batch_size=32,
                      epochs=1, libraries=("torch",))
    assert result.worst("torch")[0] > 1e-6


def test_sklearn_takes_part_only_where_it_can(heart):
    X, Y = heart
    assert sklearn_can_follow(tutorial_network(), "sgd") is None
    assert "plain SGD" in sklearn_can_follow(tutorial_network(), "sgd", momentum=0.9)
    assert "L1" in sklearn_can_follow(tutorial_network(l1=0.1), "sgd")
    mixed = gn.Network.from_sizes([13, 4, 4, 1], activation=["relu", "tanh"], seed=0)
    assert "one activation" in sklearn_can_follow(mixed, "sgd")
    result = lockstep(tutorial_network(l1=0.1, alpha=0.5), X, Y, epochs=2)
    assert "L1" in result.skipped["sklearn"] and "sklearn" not in result.weight_diff
    assert result.worst("torch")[0] <= 1e-10  # the penalties as PyTorch computes them
    # with L2 alone, scikit-learn's alpha/(2m)·‖W‖² is glassnet's
    result = lockstep(tutorial_network(alpha=0.5), X, Y, epochs=2)
    assert result.worst("sklearn")[0] <= 1e-10 and result.worst("torch")[0] <= 1e-10


def test_compare_lockstep_command(capsys, tmp_path):
    code, out, _ = run(capsys, "compare", "heart", "--lockstep", "--hidden", "8", "--epochs",
                       "2", "--out", tmp_path / "ls")
    assert code == 0, out
    line = next(line for line in out.splitlines() if "PyTorch" in line)
    worst = float(line.split("│")[2])
    assert worst <= 1e-10
    assert "scikit-learn MLP" in out
    png = tmp_path / "ls" / "lockstep.png"
    assert png.exists() and png.stat().st_size > 10_000


def test_compare_models_picks_rows_and_torch_row_is_there(capsys):
    code, out, _ = run(capsys, "compare", "heart", "--folds", "2", "--max-iter", "5",
                       "--models", "torch,linear")
    assert code == 0
    assert "PyTorch (torch.nn, torch.optim)" in out and "LogisticRegression" in out
    assert "glassnet MLPClassifier" not in out and "scikit-learn MLPClassifier" not in out


def test_compare_without_torch_skips_the_row_with_a_note(capsys, monkeypatch):
    from glassnet.cli import compare

    monkeypatch.setattr(compare, "torch_available", lambda: False)
    code, out, _ = run(capsys, "compare", "heart", "--folds", "2", "--max-iter", "5",
                       "--models", "glassnet,torch")
    assert code == 0
    assert "skipping the PyTorch row" in out and "glassnet[torch]" in out
    assert "glassnet MLPClassifier" in out and "PyTorch (torch.nn" not in out


def test_compare_rejects_unknown_models(capsys):
    code, _, err = run(capsys, "compare", "heart", "--models", "glassnet,keras")
    assert code != 0 and err.startswith("error:") and "keras" in err


def test_torch_mlp_uses_the_estimators_initial_weight_scheme_and_learns(heart):
    X, Y = heart
    y = Y.ravel().astype(int)
    model = TorchMLPClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0)
    model.fit(X, y)
    first = model.model_[0].weight.detach().numpy()
    assert np.abs(first).max() <= np.sqrt(6 / (13 + 8))
    last = model.model_[2].weight.detach().numpy()
    assert np.abs(last).max() <= np.sqrt(2 / (8 + 1)) + 0.01  # sigmoid head, after one epoch
    trained = TorchMLPClassifier(hidden_layer_sizes=(8,), max_iter=100, random_state=0,
                                 learning_rate_init=0.01).fit(X, y)
    assert trained.score(X, y) > 0.8
    proba = trained.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    # same seed, same model; the thread setting is put back
    threads = torch.get_num_threads()
    again = TorchMLPClassifier(hidden_layer_sizes=(8,), max_iter=100, random_state=0,
                               learning_rate_init=0.01).fit(X, y)
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(again.predict_proba(X), proba)


def test_torch_mlp_regressor_and_early_stopping():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=300)
    model = TorchMLPRegressor(hidden_layer_sizes=(16,), max_iter=1000, early_stopping=True,
                              learning_rate_init=0.01, random_state=0).fit(X, y)
    assert model.n_iter_ < 1000 and model.score(X, y) > 0.9
    assert model.predict(X).shape == (300,)
