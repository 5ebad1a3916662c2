"""PyTorch conversions: same outputs in float64, one training step in lockstep, and back."""

import pickle
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _networks import give_trained_statistics

import glassnet as gn
from glassnet.interop.torch import exp_module
from glassnet.io import from_torch, to_torch

HIDDEN = ["relu", "tanh", "sigmoid", "identity", {"name": "leaky_relu", "slope": 0.1}]
OUTPUTS = ["sigmoid", "softmax", "identity", "exp"]


def random_network(rng, output, hidden=None, bias=True):
    depth = len(hidden) if hidden else int(rng.integers(1, 4))
    sizes = [int(rng.integers(2, 7)) for _ in range(depth + 1)]
    sizes.append(int(rng.integers(3, 5)) if output == "softmax" else int(rng.integers(1, 3)))
    hidden = hidden or [HIDDEN[int(i)] for i in rng.integers(0, len(HIDDEN), depth)]
    net = gn.Network.from_sizes(sizes, activation=hidden, output_activation=output,
                                bias=bias, seed=int(rng.integers(1000)))
    for layer in net.layers:
        if layer.b is not None:
            layer.b[:] = rng.normal(scale=0.3, size=layer.b.shape)
    return net


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("trial", range(3))
def test_same_outputs_in_float64(output, trial):
    rng = np.random.default_rng(10 * trial + OUTPUTS.index(output))
    net = random_network(rng, output, bias=trial != 2)
    seq = to_torch(net)
    X = rng.normal(size=(25, net.n_inputs))
    with torch.no_grad():
        ours = seq(torch.from_numpy(X)).numpy()
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, net.output(X), rtol=1e-10, atol=1e-10)


def test_weights_are_transposed_copies_bit_for_bit(rng):
    net = random_network(rng, "sigmoid", hidden=["relu", "tanh"])
    seq = to_torch(net)
    linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Tanh", "Linear",
                                               "Sigmoid"]
    for layer, linear in zip(net.layers, linears):
        assert linear.weight.dtype == torch.float64
        assert np.array_equal(linear.weight.detach().numpy(), layer.W.T)
        assert np.array_equal(linear.bias.detach().numpy(), layer.b)
    with torch.no_grad():
        linears[0].weight.add_(1.0)  # a copy: glassnet's weights do not move
    assert not np.array_equal(linears[0].weight.detach().numpy(), net.layers[0].W.T)


def test_float32_network_and_dtype_override(rng):
    net = random_network(rng, "softmax").astype(np.float32)
    assert next(to_torch(net).parameters()).dtype == torch.float32
    seq = to_torch(net, dtype=torch.float64)
    X = rng.normal(size=(5, net.n_inputs))
    with torch.no_grad():
        np.testing.assert_allclose(seq(torch.from_numpy(X)).numpy(), net.output(X), atol=1e-6)


def torch_loss(name, output, Y):
    """glassnet's losses on the Sequential's output (already a probability)."""
    if name == "binary_cross_entropy":
        return torch.nn.BCELoss()(output, Y)
    if name == "categorical_cross_entropy":
        return torch.nn.NLLLoss()(torch.log(output), Y.argmax(dim=1))
    if name == "mse":
        return torch.nn.MSELoss()(output, Y)
    raise AssertionError(name)


@pytest.mark.parametrize("output,loss", [("sigmoid", "binary_cross_entropy"),
                                         ("softmax", "categorical_cross_entropy"),
                                         ("identity", "mse")])
def test_one_training_step_matches_pytorch(output, loss, rng):
    net = random_network(rng, output, hidden=["tanh", "relu"])
    net = gn.Network(net.layers, loss=loss, alpha=0.3)
    m = 40
    X = rng.normal(size=(m, net.n_inputs))
    Y = net.output(rng.normal(size=(m, net.n_inputs)))  # targets of the right kind:
    if output != "identity":  # 0/1 labels for the cross-entropies
        Y = (Y == Y.max(axis=1, keepdims=True)) if output == "softmax" else Y > 0.5
    Y = Y.astype(float)
    seq = to_torch(net)  # from the same initial weights, before glassnet's step

    lr = 0.05
    gn.train(net, X, Y, optimizer=gn.SGD(lr=lr, momentum=0.9), epochs=1)
    optimizer = torch.optim.SGD(seq.parameters(), lr=lr, momentum=0.9)
    optimizer.zero_grad()
    weights = [mod.weight for mod in seq if isinstance(mod, torch.nn.Linear)]
    penalty = 0.3 / (2 * m) * sum((W ** 2).sum() for W in weights)  # glassnet's L2 term
    (torch_loss(loss, seq(torch.from_numpy(X)), torch.from_numpy(Y)) + penalty).backward()
    optimizer.step()

    stepped = from_torch(seq, loss=loss)
    for ours, theirs in zip(net.parameters(), stepped.parameters()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_estimator_converts_too(rng):
    pytest.importorskip("sklearn")
    X = rng.normal(size=(60, 3))
    reg = gn.MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        reg.fit(X, X.sum(axis=1))
    with torch.no_grad():
        out = to_torch(reg)(torch.from_numpy(X)).numpy().ravel()
    np.testing.assert_allclose(out, reg.predict(X), rtol=1e-12)


# -- torch -> glassnet ---------------------------------------------------------------------
@pytest.mark.parametrize("output", OUTPUTS)
def test_round_trip_is_exact(output, rng):
    net = random_network(rng, output)
    back = from_torch(to_torch(net))
    assert repr(back) == repr(net)
    for ours, theirs in zip(net.parameters(), back.parameters()):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_a_sequential_written_in_pytorch(rng):
    torch.manual_seed(0)
    seq = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.LeakyReLU(0.05),
        torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Identity(), torch.nn.Tanh()),
        torch.nn.Linear(5, 5, bias=False),  # no activation: identity
        torch.nn.Linear(5, 3), torch.nn.Softmax(dim=-1)).double()
    net = from_torch(seq)
    assert [layer.activation.name for layer in net.layers] == ["leaky_relu", "tanh",
                                                               "identity", "softmax"]
    assert net.layers[0].activation.slope == 0.05 and net.layers[2].b is None
    assert net.loss.name == "categorical_cross_entropy"
    X = rng.normal(size=(12, 4))
    with torch.no_grad():
        np.testing.assert_allclose(net.output(X), seq(torch.from_numpy(X)).numpy(),
                                   rtol=1e-12, atol=1e-15)
    assert gn.gradient_check(net, X, np.eye(3)[rng.integers(0, 3, 12)]).passed(1e-6)


def test_float32_sequential_stays_float32():
    torch.manual_seed(1)
    net = from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid()))
    assert net.dtype == np.float32 and net.loss.name == "binary_cross_entropy"


def test_exp_module_pickles_and_converts(rng):
    net = random_network(rng, "exp")
    seq = pickle.loads(pickle.dumps(to_torch(net)))
    assert isinstance(seq[-1], exp_module())
    assert from_torch(seq).loss.name == "poisson"


@pytest.mark.parametrize("modules,fragment", [
    (lambda nn: [nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 1)], "module 1 (GELU"),
    (lambda nn: [nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2), nn.ELU())],
     "module 2.1 (ELU"),
    (lambda nn: [nn.Linear(3, 4), nn.BatchNorm1d(4, affine=False), nn.Linear(4, 1)],
     "affine=True"),
    (lambda nn: [nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=None), nn.Linear(4, 1)],
     "momentum"),
    (lambda nn: [nn.Linear(3, 4), nn.BatchNorm1d(5)], "takes 5 inputs but the layer before"),
    (lambda nn: [nn.Linear(3, 1), nn.Sigmoid(), nn.Dropout(0.1)], "last layer must be"),
    (lambda nn: [nn.Linear(3, 4), nn.Linear(5, 1)], "takes 5 inputs but the layer before"),
    (lambda nn: [nn.Linear(3, 4), nn.Softmax(dim=0)], "dim 0"),
    (lambda nn: [nn.Identity()], "no Linear layer"),
    (lambda nn: [nn.Linear(3, 4).half()], "torch.float16"),
    (lambda nn: [nn.Linear(3, 4).double(), nn.Linear(4, 1)], "mix dtypes"),
    (lambda nn: [nn.Linear(3, 4).double(), nn.BatchNorm1d(4), nn.Linear(4, 1).double()],
     "mix dtypes"),
    (lambda nn: [nn.Linear(3, 4), nn.ReLU()], "no default loss"),
])
def test_unsupported_sequential_gets_one_clear_error(modules, fragment):
    with pytest.raises(ValueError) as info:
        from_torch(torch.nn.Sequential(*modules(torch.nn)))
    assert fragment in str(info.value)


def test_wrong_objects():
    with pytest.raises(TypeError, match="torch.nn.Sequential"):
        from_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="expected a glassnet model"):
        to_torch(torch.nn.Linear(2, 2))


def test_saved_model_points_at_its_network(tmp_path):
    from glassnet.io import Scaler, load_model, save_model

    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    path = tmp_path / "m.glassnet"
    save_model(path, net, Scaler("none").fit(np.zeros((2, 2))),
               {"task": "classification", "classes": [0, 1], "feature_names": ["a", "b"]})
    model = load_model(path)
    with pytest.raises(TypeError, match="model.network"):
        to_torch(model)
    assert isinstance(to_torch(model.network), torch.nn.Sequential)


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"glassnet\[torch\]"):
        to_torch(gn.Network.from_sizes([2, 1], seed=0))


# -- batch normalisation, dropout and activation layers -----------------------------------
def layered_network(rng):
    """Dense → BatchNorm → Activation → Dropout, twice, with trained-looking statistics."""
    net = gn.Network.from_sizes([5, 7, 6, 3], activation=["relu", "tanh"],
                                output_activation="softmax", batch_norm=True, dropout=0.3,
                                seed=4)
    return give_trained_statistics(net, rng)


def test_batch_norm_and_dropout_in_inference_form(rng):
    net = layered_network(rng)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert "BatchNorm" in kinds and "Dropout" in kinds and "Activation" in kinds
    seq = to_torch(net)
    assert not seq.training  # evaluation mode, as glassnet predicts
    names = [type(m).__name__ for m in seq]
    assert names.count("BatchNorm1d") == 2 and names.count("Dropout") == 2
    norm = next(m for m in seq if isinstance(m, torch.nn.BatchNorm1d))
    ours = next(layer for layer in net.layers if isinstance(layer, gn.BatchNorm))
    assert np.array_equal(norm.running_var.numpy(), ours.running_var)
    assert norm.eps == ours.eps and norm.momentum == ours.momentum
    X = rng.normal(size=(20, 5))
    with torch.no_grad():
        np.testing.assert_allclose(seq(torch.from_numpy(X)).numpy(), net.output(X),
                                   rtol=1e-10, atol=1e-12)
    back = from_torch(seq)
    assert [type(layer).__name__ for layer in back.layers] == kinds
    for ours, theirs in zip(net.state_dict().values(), back.state_dict().values()):
        assert np.array_equal(ours, theirs)
    np.testing.assert_array_equal(back.output(X), net.output(X))


def test_a_torch_batch_norm_trained_in_pytorch(rng):
    torch.manual_seed(3)
    seq = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                              torch.nn.Dropout(0.2), torch.nn.Linear(8, 1),
                              torch.nn.Sigmoid()).double()
    X = torch.from_numpy(rng.normal(size=(32, 4)))
    for _ in range(3):  # training mode: moves the running statistics
        seq(X)
    seq.eval()
    net = from_torch(seq)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Dense", "BatchNorm", "Activation", "Dropout", "Dense"]
    with torch.no_grad():
        np.testing.assert_allclose(net.output(X.numpy()), seq(X).numpy(), rtol=1e-12)


def test_estimator_with_batch_norm_and_dropout(rng):
    pytest.importorskip("sklearn")
    X = rng.normal(size=(120, 4))
    y = np.digitize(X[:, 0] - X[:, 1], [-0.5, 0.5])
    clf = gn.MLPClassifier(hidden_layer_sizes=(7,), batch_norm=True, dropout=0.1, max_iter=20,
                           random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    seq = to_torch(clf)
    assert [type(m).__name__ for m in seq] == ["Linear", "BatchNorm1d", "ReLU", "Dropout",
                                               "Linear", "Softmax"]
    with torch.no_grad():
        np.testing.assert_allclose(seq(torch.from_numpy(X)).numpy(), clf.predict_proba(X),
                                   rtol=1e-10, atol=1e-12)


def test_a_scikit_learn_mlp_converts_through_glassnet(rng):
    """to_torch takes scikit-learn's MLP as the other exporters do (from_sklearn first)."""
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(ConvergenceWarning):
        sk = SkMLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    seq = to_torch(sk)
    with torch.no_grad():  # float64 on both sides: the same products, to rounding
        np.testing.assert_allclose(seq(torch.from_numpy(X)).numpy().ravel(),
                                   sk.predict_proba(X)[:, 1], rtol=1e-10, atol=1e-12)
