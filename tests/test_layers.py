"""The dense layer; dropout, batch normalisation, the Activation layer, L1, modes,
summary and model files.

Each layer is checked against PyTorch (forward, autograd, running statistics)
and against finite differences, inside a network as well as alone.
"""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import numerical_gradient
from glassnet.io import Scaler, load_model, save_model


def stored_arrays(path):
    """The arrays in a model file's ``weights.npz``."""
    with zipfile.ZipFile(path) as zf:
        weights = zf.read("weights.npz")
    with np.load(io.BytesIO(weights), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def bn_network(seed=0, dropout=0.3, out="softmax", k=3, n_in=4, hidden=(6, 5), **kw):
    net = gn.Network.from_sizes([n_in, *hidden, k], activation="tanh", output_activation=out,
                                dropout=dropout, batch_norm=True, seed=seed, **kw)
    rng = np.random.default_rng(seed + 100)
    for layer in net.layers:  # move γ, β and the output bias away from their initial values
        for p in layer.parameters():
            if p is not getattr(layer, "W", None):
                p[:] = rng.normal(size=p.shape)
    return net


# -- Dropout -------------------------------------------------------------------------
def test_dropout_replays_torch_mask_forward_and_backward(rng):
    torch = pytest.importorskip("torch")
    X = rng.normal(size=(40, 7))
    dY = rng.normal(size=(40, 7))
    torch.manual_seed(0)
    drop = torch.nn.Dropout(p=0.3)
    x = torch.tensor(X, requires_grad=True)
    y = drop(x)
    y.backward(torch.tensor(dY))
    keep = (y != 0).numpy()
    assert 0.5 < keep.mean() < 0.9  # a real mask, not all kept

    layer = gn.Dropout(0.3)
    out = layer.forward(X, keep=keep)
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(layer.backward(dY), x.grad.numpy(), rtol=1e-15, atol=0)

    drop.eval()
    layer.training = False
    assert layer.forward(X) is X and np.array_equal(drop(torch.tensor(X)).numpy(), X)
    assert layer.backward(dY) is dY
    assert layer.apply(X) is X


def test_dropout_mask_comes_from_the_network_generator():
    X = np.ones((2000, 50))

    def masks(seed):
        net = gn.Network([gn.Dense(50, 50, activation="identity", rng=0), gn.Dropout(0.25),
                          gn.Dense(50, 1, activation="sigmoid", rng=1)], seed=seed)
        net.forward(X)
        first = net.layers[1].mask.copy()
        net.forward(X)
        return first, net.layers[1].mask.copy()

    a1, a2 = masks(3)
    b1, _ = masks(3)
    c1, _ = masks(4)
    assert np.array_equal(a1, b1)  # same seed, same masks
    assert not np.array_equal(a1, a2)  # a fresh mask every step
    assert not np.array_equal(a1, c1)
    assert set(np.unique(a1)) == {0.0, 1 / 0.75}  # kept units scaled by 1/(1 − p)
    assert abs((a1 == 0).mean() - 0.25) < 0.01
    assert abs(a1.mean() - 1.0) < 0.01  # E[M] = 1: inverted dropout keeps the expectation


def test_dropout_validation():
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
            gn.Dropout(p)
    layer = gn.Dropout(0.0)
    X = np.ones((3, 2))
    assert layer.forward(X) is X


# -- BatchNorm ----------------------------------------------------------------------
def torch_bn(torch, layer):
    bn = torch.nn.BatchNorm1d(layer.n_inputs, eps=layer.eps, momentum=layer.momentum,
                              dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(layer.gamma))
        bn.bias.copy_(torch.tensor(layer.beta))
        bn.running_mean.copy_(torch.tensor(layer.running_mean))
        bn.running_var.copy_(torch.tensor(layer.running_var))
    return bn


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_matches_torch_autograd(rng, training):
    torch = pytest.importorskip("torch")
    m, n = 17, 6
    X = rng.normal(2.0, 3.0, size=(m, n))
    dY = rng.normal(size=(m, n))
    layer = gn.BatchNorm(n, eps=1e-3, momentum=0.2)
    layer.gamma[:] = rng.normal(size=n)
    layer.beta[:] = rng.normal(size=n)
    layer.running_mean[:] = rng.normal(size=n)
    layer.running_var[:] = rng.uniform(0.5, 2.0, size=n)
    bn = torch_bn(torch, layer)
    bn.train(training)
    layer.training = training
    x = torch.tensor(X, requires_grad=True)
    y = bn(x)
    y.backward(torch.tensor(dY))
    Y = layer.forward(X)
    dX = layer.backward(dY)
    for ours, theirs in [(Y, y.detach()), (dX, x.grad), (layer.dgamma, bn.weight.grad),
                         (layer.dbeta, bn.bias.grad), (layer.running_mean, bn.running_mean),
                         (layer.running_var, bn.running_var)]:
        theirs = theirs.numpy()
        assert np.abs(ours - theirs).max() <= 1e-10 * max(np.abs(theirs).max(), 1.0)
    np.testing.assert_allclose(layer.apply(X), bn.eval()(torch.tensor(X)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


def test_batchnorm_backward_matches_finite_differences(rng):
    m, n = 9, 4
    X = rng.normal(size=(m, n))
    G = rng.normal(size=(m, n))  # L = Σ G ⊙ Y, so dY = G
    layer = gn.BatchNorm(n)
    layer.gamma[:] = rng.normal(size=n)
    layer.beta[:] = rng.normal(size=n)
    for training in (True, False):
        layer.training = training

        def loss(X=X):
            return float(np.sum(G * layer.forward(X)))

        layer.forward(X)
        dX = layer.backward(G).copy()
        analytic = [dX, layer.dgamma.copy(), layer.dbeta.copy()]
        for a, array in zip(analytic, [X, layer.gamma, layer.beta]):
            numeric = numerical_gradient(loss, array)
            np.testing.assert_allclose(a, numeric, rtol=1e-6, atol=1e-8)
    # the training-mode input gradient sums to zero over the batch (μ is subtracted)
    layer.training = True
    layer.forward(X)
    np.testing.assert_allclose(layer.backward(G).sum(axis=0), 0.0, atol=1e-12)


def test_running_statistics_after_n_steps_equal_torch(rng):
    torch = pytest.importorskip("torch")
    sizes = [16, 16, 7, 2, 16, 5]  # mini-batches of several sizes, a last small one
    net = gn.Network([gn.Dense(3, 5, activation="identity", rng=0), gn.BatchNorm(5, momentum=0.3),
                      gn.Activation("relu"), gn.Dense(5, 1, activation="sigmoid", rng=1)])
    layer = net.layers[1]
    bn = torch_bn(torch, layer)
    for m in sizes:
        X = rng.normal(1.0, 2.0, size=(m, 3))
        net.forward(X)
        with torch.no_grad():
            bn(torch.tensor(X @ net.layers[0].W))
    np.testing.assert_allclose(layer.running_mean, bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, bn.running_var.numpy(), rtol=1e-12)
    assert not np.allclose(layer.running_var, 1.0)


def test_batch_of_one_in_training_raises_and_inference_works():
    net = bn_network(dropout=0.0)
    x = np.ones((1, 4))
    with pytest.raises(ValueError, match="at least 2 rows per batch, got 1 sample"):
        net.forward(x)
    assert net.predict_proba(x).shape == (1, 3)  # inference uses the running statistics
    net.eval()
    assert net.forward(x).shape == (1, 3)


def test_training_never_makes_a_one_row_batch(rng):
    X = rng.normal(size=(11, 4))
    y = rng.integers(0, 3, 11)
    net = bn_network(dropout=0.0)
    history = gn.train(net, X, y, batch_size=5, epochs=3, seed=0)
    assert history.n_steps == 6  # batches of 5 and 6 rows, not 5, 5 and 1
    with pytest.raises(ValueError, match="at least 2 rows"):
        gn.train(bn_network(dropout=0.0), X, y, batch_size=1, epochs=1)


def test_batchnorm_validation():
    with pytest.raises(ValueError, match="n_features"):
        gn.BatchNorm(0)
    with pytest.raises(ValueError, match="momentum"):
        gn.BatchNorm(3, momentum=0.0)
    with pytest.raises(ValueError, match="eps"):
        gn.BatchNorm(3, eps=0.0)


# -- the whole network --------------------------------------------------------------
def test_network_with_every_layer_matches_torch_autograd(rng):
    """Dense → BatchNorm → ReLU → Dropout (torch's mask) → Dense → softmax cross-entropy,
    with L2 and L1: loss and every gradient equal PyTorch's to 1e-10."""
    torch = pytest.importorskip("torch")
    m, alpha, l1 = 24, 0.3, 0.05
    X = rng.normal(size=(m, 4))
    labels = rng.integers(0, 3, m)
    net = gn.Network([gn.Dense(4, 6, activation="identity", rng=1), gn.BatchNorm(6),
                      gn.Activation("relu"), gn.Dropout(0.4), gn.Dense(6, 3, activation="softmax",
                                                                   rng=2)],
                     alpha=alpha, l1=l1)
    net.layers[1].gamma[:] = rng.normal(size=6)
    net.layers[1].beta[:] = rng.normal(size=6)
    net.layers[0].b[:] = rng.normal(size=6)
    params = [torch.tensor(p, requires_grad=True) for p in net.parameters()]
    W1, b1, gamma, beta, W2, b2 = params
    bn = torch.nn.functional.batch_norm
    torch.manual_seed(0)
    h = torch.relu(bn(torch.tensor(X) @ W1 + b1, None, None, gamma, beta, training=True))
    dropped = torch.nn.functional.dropout(h, 0.4, training=True)
    keep = ((dropped != 0) | (h == 0)).numpy()  # where h == 0 the mask is invisible: keep
    z = dropped @ W2 + b2
    total = torch.nn.functional.cross_entropy(z, torch.tensor(labels))
    total = total + sum(0.5 * alpha / m * (W ** 2).sum() + l1 / m * W.abs().sum()
                        for W in (W1, W2))
    total.backward()

    net.layers[3].forward = lambda A, _f=net.layers[3].forward: _f(A, keep=keep)
    ours = net.loss_and_gradients(*net.check_data(X, labels)[:2])
    assert ours == pytest.approx(total.item(), rel=1e-10)
    for name, g, p in zip(net.parameter_names(), net.gradients(), params):
        expected = p.grad.numpy()
        assert np.abs(g - expected).max() <= 1e-10 * max(np.abs(expected).max(), 1.0), name


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradient_check_with_batchnorm_dropout_and_l1(rng, mode):
    X = rng.normal(size=(20, 4))
    y = rng.integers(0, 3, 20)
    net = bn_network(alpha=0.1, l1=0.05)
    getattr(net, mode)()
    gn.train(net, X, y, epochs=2, batch_size=10, seed=0)  # running statistics away from 0 and 1
    before = net.state_dict()
    state = net.rng.bit_generator.state
    result = gn.gradient_check(net, X, y)
    assert result.names == ["W1", "gamma2", "beta2", "W5", "gamma6", "beta6", "W9", "b9"]
    assert result.max_relative_error < 1e-6, str(result)
    # the check changed nothing: weights, running statistics and the Generator
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())
    assert net.rng.bit_generator.state == state
    assert net.training == (mode == "train")


def test_gradient_check_catches_a_wrong_batchnorm_gradient(rng):
    X = rng.normal(size=(12, 4))
    y = rng.integers(0, 3, 12)
    net = bn_network(dropout=0.0)
    layer = net.layers[1]
    original = layer.backward

    def broken(dY, need_input_gradient=True):
        dX = original(dY, need_input_gradient)
        layer.dgamma *= 1.01
        return dX

    layer.backward = broken
    result = gn.gradient_check(net, X, y).as_dict()
    assert result["gamma2"] > 1e-3 and result["beta2"] < 1e-6


def test_l1_penalty_and_subgradient(rng):
    X = rng.normal(size=(10, 3))
    y = rng.integers(0, 2, 10).astype(float)
    plain = gn.Network.from_sizes([3, 4, 1], seed=0)
    net = gn.Network.from_sizes([3, 4, 1], seed=0, l1=0.2)
    net.layers[0].W[0, 0] = 0.0  # sign(0) = 0: no pull at zero
    plain.set_weights(net.get_weights())
    loss0 = plain.loss_and_gradients(X, y[:, None])
    loss1 = net.loss_and_gradients(X, y[:, None])
    l1_term = 0.2 / 10 * sum(np.abs(layer.W).sum() for layer in net.layers)
    assert loss1 == pytest.approx(loss0 + l1_term, rel=1e-12)
    for a, b, layer in zip(net.layers, plain.layers, net.layers):
        np.testing.assert_allclose(a.dW - b.dW, 0.2 / 10 * np.sign(layer.W), atol=1e-15)
        np.testing.assert_array_equal(a.db, b.db)  # biases are not penalised
    assert net.layers[0].dW[0, 0] == plain.layers[0].dW[0, 0]
    with pytest.raises(ValueError, match="l1 must be >= 0"):
        gn.Network.from_sizes([3, 1], l1=-1)


def test_l1_zeroes_small_weights_where_l2_shrinks_them(rng):
    X = rng.normal(size=(200, 10))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(float)  # only the first two features matter

    def weights(**penalty):
        net = gn.Network.from_sizes([10, 1], seed=0, **penalty)
        gn.train(net, X, y, optimizer="sgd", lr=0.1, epochs=500)
        return np.abs(net.layers[0].W.ravel())

    l1, l2 = weights(l1=2.0), weights(alpha=2.0)
    assert l1[0] > l2[0]  # L1 shrank the weight that matters less than L2 did...
    assert (l1[2:] < 0.01).sum() >= 3 and (l2[2:] < 0.01).sum() == 0  # ...but zeroed others


def test_modes_forward_and_prediction(rng):
    X = rng.normal(size=(30, 4))
    net = bn_network()
    assert net.training and all(layer.training for layer in net.layers)
    a = net.forward(X).copy()
    b = net.forward(X).copy()
    assert not np.allclose(a, b)  # training: fresh dropout masks
    proba = net.predict_proba(X)
    net.eval()
    assert not any(layer.training for layer in net.layers)
    np.testing.assert_allclose(net.forward(X), proba, rtol=1e-12)  # eval forward == inference
    np.testing.assert_allclose(net.forward(X), net.forward(X))
    assert net.train() is net and net.training
    np.testing.assert_allclose(net.predict_proba(X), proba)  # prediction ignores the mode


def test_trainer_steps_in_training_mode_and_evaluates_in_eval_mode(rng):
    X = rng.normal(size=(40, 4))
    y = rng.integers(0, 3, 40)
    Xv, yv = rng.normal(size=(15, 4)), rng.integers(0, 3, 15)
    seen = []

    class Spy(gn.Callback):
        def on_step_end(self, trainer, step, loss):
            seen.append(trainer.network.training)

    net = bn_network()
    net.eval()
    history = gn.train(net, X, y, epochs=3, batch_size=16, validation_data=(Xv, yv),
                       callbacks=[Spy()], seed=0)
    assert seen and all(seen)
    assert not net.training  # the mode it had before
    assert history.val_loss[-1] == pytest.approx(net.compute_loss(Xv, yv), rel=1e-12)


def test_early_stopping_restores_running_statistics(rng):
    X = rng.normal(size=(60, 4))
    y = rng.integers(0, 3, 60)
    net = bn_network()
    stopper = gn.EarlyStopping(monitor="loss", patience=1000)
    snapshots = []

    class Snap(gn.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots.append(trainer.network.state_dict())

    gn.train(net, X, y, epochs=15, batch_size=20, callbacks=[Snap(), stopper], seed=0)
    best = snapshots[stopper.best_epoch]
    for name, array in net.state_dict().items():
        np.testing.assert_array_equal(array, best[name], err_msg=name)
    assert "running_var2" in best


def test_divergence_restores_running_statistics(rng):
    X = rng.normal(size=(30, 4)) * 1e3
    y = rng.normal(size=(30, 1)) * 1e6
    net = gn.Network([gn.Dense(4, 8, activation="identity", rng=0), gn.BatchNorm(8),
                      gn.Activation("relu"), gn.Dense(8, 1, activation="identity", rng=1)])
    with pytest.raises(gn.TrainingDivergedError):
        gn.train(net, X, y, optimizer="sgd", lr=1e3, epochs=50)
    assert all(np.isfinite(a).all() for a in net.state_dict().values())


# -- composition, summary ------------------------------------------------------------
def test_from_sizes_builds_the_stack():
    net = gn.Network.from_sizes([4, 6, 5, 2], dropout=[0.1, 0.2], batch_norm=True,
                                output_activation="softmax", seed=0)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "BatchNorm", "Activation", "Dropout"] * 2 + ["Dense"]
    assert [layer.p for layer in net.layers if isinstance(layer, gn.Dropout)] == [0.1, 0.2]
    assert net.layers[0].b is None and net.layers[0].activation.name == "identity"
    assert net.layers[2].activation.name == "relu" and net.layers[-1].b is not None
    assert all(layer.rng is net.rng for layer in net.layers if isinstance(layer, gn.Dropout))
    assert net.sizes == [4, 6, 5, 2]
    plain = gn.Network.from_sizes([4, 6, 2], dropout=0.5, seed=0)
    assert [type(layer).__name__ for layer in plain.layers] == ["Dense", "Dropout", "Dense"]
    assert plain.layers[0].activation.name == "relu"  # activation inside Dense still works


def test_construction_errors():
    with pytest.raises(ValueError, match="layer 1 has 5 units but layer 2 expects 4"):
        gn.Network([gn.Dense(3, 5), gn.BatchNorm(5), gn.BatchNorm(4), gn.Dense(4, 1)])
    with pytest.raises(ValueError, match="layer 0 has 5 units but layer 3 expects 6"):
        gn.Network([gn.Dense(3, 5), gn.Dropout(0.1), gn.Activation("tanh"), gn.Dense(6, 1)])
    with pytest.raises(ValueError, match="last layer must be a Dense or Activation"):
        gn.Network([gn.Dense(3, 5), gn.Dropout(0.1)])
    with pytest.raises(ValueError, match="fixes the input width"):
        gn.Network([gn.Dropout(0.1), gn.Activation("sigmoid")])
    with pytest.raises(ValueError, match="dropout has 1 entries but the network needs 2"):
        gn.Network.from_sizes([3, 4, 4, 1], dropout=[0.1])


def test_activation_layer_as_output_and_input_dropout(rng):
    X = rng.normal(size=(16, 3))
    y = rng.integers(0, 2, 16)
    # the bias before BatchNorm has a gradient of exactly 0 (rounding noise, ~1e-18)
    net = gn.Network([gn.Dropout(0.2), gn.Dense(3, 4, activation="identity", rng=0),
                      gn.BatchNorm(4), gn.Activation("tanh"),
                      gn.Dense(4, 1, activation="identity", rng=1), gn.Activation("sigmoid")],
                     seed=0)
    assert net.loss.name == "binary_cross_entropy" and net.fused
    result = gn.gradient_check(net, X, y)
    assert np.abs(result.analytic[1]).max() < 1e-15
    assert result.passed(1e-6), str(result)


def test_summary_and_repr(capsys):
    net = gn.Network.from_sizes([9, 32, 16, 3], output_activation="softmax", dropout=0.2,
                                batch_norm=True, alpha=1e-4, l1=1e-3, seed=0)
    net.summary()
    text = capsys.readouterr().out
    assert repr(net) == text.rstrip("\n")
    lines = text.splitlines()
    assert lines[0] == ("Network: 9 inputs -> 3 outputs, loss categorical_cross_entropy, "
                        "L2 alpha 0.0001, L1 0.001, training mode")
    assert len(lines) == 2 + 9 + 1
    assert "BatchNorm(32, eps=1e-05, momentum=0.1)" in lines[3] and "(m, 32)" in lines[3]
    assert "64 + 64 state" in lines[3] and "running_var2" in lines[3]
    assert "Dropout(p=0.2)" in lines[5] and lines[10].split()[-2:] == ["W9,", "b9"]
    n_params = sum(p.size for p in net.parameters())
    assert n_params == 9 * 32 + 64 + 32 * 16 + 32 + 16 * 3 + 3
    assert lines[-1] == (f"trainable parameters: {n_params:,}; state: 96 running statistics "
                         f"(not trained)")
    assert "evaluation mode" in repr(net.eval())


# -- state and model files ------------------------------------------------------------
def test_state_dict_round_trip_and_errors(rng):
    a, b = bn_network(seed=0), bn_network(seed=1)
    gn.train(a, rng.normal(size=(20, 4)), rng.integers(0, 3, 20), epochs=2, batch_size=8)
    b.load_state_dict(a.state_dict())
    X = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    with pytest.raises(ValueError, match=r"missing \['running_var6'\]"):
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "running_var6"})
    with pytest.raises(ValueError, match="gamma2: expected shape"):
        b.load_state_dict({**a.state_dict(), "gamma2": np.ones(3)})


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_model_file_round_trip_with_every_layer(rng, tmp_path, dtype):
    X = rng.normal(size=(50, 4))
    y = rng.integers(0, 3, 50)
    net = bn_network(l1=0.01, alpha=0.001).astype(dtype)
    gn.train(net, X.astype(dtype), y, epochs=3, batch_size=16, seed=0)
    scaler = Scaler("none").fit(X)
    path = tmp_path / "bn.glassnet"
    meta = save_model(path, net, scaler, {"task": "classification", "classes": [0, 1, 2],
                                          "feature_names": list("abcd")})
    assert meta["format_version"] == 2
    assert [c["type"] for c in meta["architecture"]["layers"]] == [
        "dense", "batch_norm", "activation", "dropout"] * 2 + ["dense"]
    model = load_model(path)
    loaded = model.network
    assert loaded.dtype == dtype and loaded.l1 == 0.01 and loaded.alpha == 0.001
    for name, array in net.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], array, err_msg=name)
    np.testing.assert_array_equal(model.predict_proba(X), net.predict_proba(X.astype(dtype)))
    assert repr(loaded) == repr(net)
    assert {"running_mean2", "running_var6", "gamma6", "W9"} <= set(stored_arrays(path))


def rewrite(path, target, edit_meta=None, edit_arrays=None):
    """A copy of a model file with its metadata and arrays edited."""
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("metadata.json"))
    arrays = stored_arrays(path)
    (edit_meta or (lambda m: None))(meta)
    (edit_arrays or (lambda a: None))(arrays)
    weights = io.BytesIO()
    np.savez(weights, **arrays)
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        zf.writestr("weights.npz", weights.getvalue())
    return target


@pytest.mark.parametrize("edit_meta,edit_arrays,field", [
    (None, lambda a: a["running_var2"].__setitem__(0, -1.0), "weights.npz:running_var2"),
    (None, lambda a: a.pop("gamma6"), "weights.npz:gamma6"),
    (lambda m: m["architecture"]["layers"][1].update(eps=0), None,
     "architecture.layers[1].eps"),
    (lambda m: m["architecture"]["layers"][3].update(p=1.0), None, "architecture.layers[3].p"),
    (lambda m: m["architecture"]["layers"][5].update(n_features=4), None,
     "architecture.layers[5].n_features"),
    (lambda m: m["architecture"]["layers"].pop(), None, "architecture.layers"),
    (lambda m: m["architecture"]["layers"][2].update(type="pooling"), None,
     "architecture.layers[2].type"),
    (lambda m: m.update(format_version=1), None, "format_version"),
    (lambda m: m["architecture"].update(activations=[{"name": "relu"}]), None,
     "architecture.activations"),
])
def test_format_2_files_are_checked_field_by_field(rng, tmp_path, edit_meta, edit_arrays,
                                                   field):
    from glassnet.io import ModelFileError

    net = bn_network()
    path = tmp_path / "bn.glassnet"
    save_model(path, net, Scaler("none").fit(np.zeros((2, 4))),
               {"task": "classification", "classes": [0, 1, 2], "feature_names": list("abcd")})
    load_model(path)
    with pytest.raises(ModelFileError) as info:
        load_model(rewrite(path, tmp_path / "edited.glassnet", edit_meta, edit_arrays))
    assert info.value.field == field, str(info.value)


def test_plain_network_still_written_as_format_1(tmp_path):
    net = gn.Network.from_sizes([3, 4, 1], seed=0, l1=0.5)
    path = tmp_path / "plain.glassnet"
    save_model(path, net, Scaler("none").fit(np.eye(3)), {"task": "classification",
                                                          "classes": [0, 1],
                                                          "feature_names": list("abc")})
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert meta["format_version"] == 1 and "layers" not in meta["architecture"]
    assert meta["architecture"]["activations"] == [{"name": "relu"}, {"name": "sigmoid"}]
    assert load_model(path).network.l1 == 0.5


# -- landscape and dynamics -----------------------------------------------------------
def test_landscape_in_eval_mode_with_batchnorm_and_dropout(rng):
    from glassnet import landscape as ls

    X = rng.normal(size=(40, 4))
    y = rng.integers(0, 3, 40)
    net = bn_network(alpha=0.01, l1=0.01)
    gn.train(net, X, y, epochs=3, batch_size=16, seed=0)
    stacked = [p[None] for p in net.parameters()]
    assert ls.batched_loss(net, X, y, stacked)[0] == pytest.approx(net.compute_loss(X, y),
                                                                     rel=1e-12)
    direction = ls.random_direction(net, 0, include_bias=True)
    names = net.parameter_names()
    for name, d in zip(names, direction):
        assert (np.abs(d).sum() == 0) == name.startswith(("gamma", "beta")), name
    line = ls.line_loss(net, X, y, direction, [0.0, 0.5])
    weights = net.get_weights()
    net.set_weights([w + 0.5 * d for w, d in zip(weights, direction)])
    assert line[1] == pytest.approx(net.compute_loss(X, y), rel=1e-12)
    net.set_weights(weights)
    result = ls.compare_optimizers(net, X, y, optimizers=("sgd", "momentum"), lr=0.05, epochs=5,
                                   resolution=5)
    assert np.isfinite(result.loss).all()


def test_hessian_vector_products_hold_the_dropout_mask(rng):
    from glassnet.curvature import hessian_vector_product

    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, 30)
    net = bn_network(dropout=0.3)
    gn.train(net, X, y, epochs=2, batch_size=10, seed=0)
    before, state = net.state_dict(), net.rng.bit_generator.state
    u = [rng.normal(size=p.shape) for p in net.parameters()]
    v = [rng.normal(size=p.shape) for p in net.parameters()]
    Hu = hessian_vector_product(net, X, y, u, method="finite_difference")
    Hv = hessian_vector_product(net, X, y, v, method="finite_difference")
    uHv = sum(float(np.sum(a * b)) for a, b in zip(u, Hv))
    vHu = sum(float(np.sum(a * b)) for a, b in zip(v, Hu))
    assert uHv == pytest.approx(vHu, rel=1e-4)  # symmetric: the same mask in every gradient
    assert all(np.array_equal(before[k], a) for k, a in net.state_dict().items())
    assert net.rng.bit_generator.state == state


def test_dynamics_recorder_with_batchnorm():
    from glassnet.dynamics import DynamicsRecorder

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, 30)
    recorder = DynamicsRecorder()
    gn.train(bn_network(), X, y, epochs=2, callbacks=[recorder])
    assert recorder.activations == ["tanh", "tanh"]
    assert len(recorder.gradient_norms[0]) == 3 and len(recorder.inactive[0]) == 2


def test_float32_network_with_every_layer_stays_float32(rng):
    net = bn_network().astype(np.float32)
    X = rng.normal(size=(20, 4)).astype(np.float32)
    gn.train(net, X, rng.integers(0, 3, 20), epochs=2, batch_size=8, seed=0)
    assert all(a.dtype == np.float32 for a in net.state_dict().values())
    assert net.forward(X).dtype == np.float32 and net.predict_proba(X).dtype == np.float32


# -- the scikit-learn estimators -------------------------------------------------------
def heart_split():
    from glassnet.datasets import load_heart

    X, y = load_heart(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X[:200], y[:200], X[200:], y[200:]


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_check_estimator_with_the_extras_on(name):
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.estimator_checks import check_estimator

    why = ("dropout masks and batch statistics depend on which rows are in a batch, so a "
           "weight of 2 is not the same as a repeated row")
    estimator = getattr(gn, name)(max_iter=50, dropout=0.1, batch_norm=True, l1=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_estimator(estimator, expected_failed_checks={
            "check_sample_weight_equivalence_on_dense_data": why,
            "check_sample_weight_equivalence_on_sparse_data": why})


def test_estimator_extras_off_by_default_and_cloned():
    pytest.importorskip("sklearn")
    from sklearn.base import clone

    params = gn.MLPClassifier().get_params()
    assert (params["dropout"], params["batch_norm"], params["l1"]) == (0.0, False, 0.0)
    clf = gn.MLPRegressor(dropout=0.3, batch_norm=True, l1=0.5)
    assert {k: v for k, v in clone(clf).get_params().items()
            if k in ("dropout", "batch_norm", "l1")} == {"dropout": 0.3, "batch_norm": True,
                                                         "l1": 0.5}
    X, y, _, _ = heart_split()
    for bad, match in [({"dropout": 1.0}, "'dropout' parameter"),
                       ({"batch_norm": 1}, "'batch_norm' parameter"),
                       ({"l1": -0.1}, "'l1' parameter"),
                       ({"dropout": 0.2, "solver": "lbfgs"}, "needs a stochastic solver")]:
        with pytest.raises(ValueError, match=match):
            gn.MLPClassifier(**bad).fit(X, y)


def test_estimator_with_batchnorm_and_dropout(rng):
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X, y, X_test, y_test = heart_split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        settings = {"dropout": 0.2, "batch_norm": True, "l1": 0.01, "max_iter": 30,
                    "batch_size": 32, "learning_rate_init": 0.01, "random_state": 0}
        clf = gn.MLPClassifier((16, 8), **settings).fit(X, y)
        again = gn.MLPClassifier((16, 8), **settings).fit(X, y)
    assert clf.score(X_test, y_test) > 0.8
    np.testing.assert_array_equal(clf.predict_proba(X_test), again.predict_proba(X_test))
    np.testing.assert_array_equal(clf.predict_proba(X_test), clf.predict_proba(X_test))
    norms = clf.batch_norm_layers_
    assert [norm.n_inputs for norm in norms] == [16, 8]
    assert not np.allclose(norms[0].running_var, 1.0) and not np.allclose(norms[0].gamma, 1.0)
    net = clf._network(clf.coefs_, clf.intercepts_, clf._hidden_activations())
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "BatchNorm", "Activation", "Dropout"] * 2 + ["Dense"]
    assert net.layers[1] is norms[0] and net.layers[0].W is clf.coefs_[0]
    assert net.l1 == 0.01
    # predictions are the engine's, in evaluation mode (running statistics, no dropout)
    np.testing.assert_allclose(clf.predict_proba(X_test)[:, 1], net.predict_proba(X_test)[:, 0],
                               rtol=1e-12)
    with pytest.raises(ValueError, match="same batch_norm as before"):
        clf.set_params(warm_start=True, batch_norm=False).fit(X, y)


def test_estimator_l1_sparsifies_the_first_layer():
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X, y, _, _ = heart_split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = gn.MLPClassifier((8,), solver="sgd", max_iter=300, learning_rate_init=0.05,
                                 random_state=0).fit(X, y)
        sparse = gn.MLPClassifier((8,), solver="sgd", max_iter=300, learning_rate_init=0.05,
                                  l1=1.0, random_state=0).fit(X, y)
    small = [(np.abs(c.coefs_[0]) < 0.01).mean() for c in (plain, sparse)]
    assert small[1] > small[0] + 0.3


# -- Dense ---------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu", "leaky_relu",
                                        "softmax"])
def test_forward_is_f_of_XW_plus_b(rng, activation):
    layer = gn.Dense(4, 3, activation=activation, rng=0)
    layer.b[:] = rng.normal(size=3)
    X = rng.normal(size=(5, 4))
    Z = X @ layer.W + layer.b
    expected = {"identity": Z, "sigmoid": 1 / (1 + np.exp(-Z)), "tanh": np.tanh(Z),
                "relu": np.maximum(Z, 0), "leaky_relu": np.where(Z > 0, Z, 0.01 * Z),
                "softmax": np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)}[activation]
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.apply(X), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softmax"])
def test_backward_matches_finite_differences(rng, activation):
    """For L = Σ G ⊙ A, dA = G: backward must give ∂L/∂W, ∂L/∂b and ∂L/∂X."""
    layer = gn.Dense(3, 4, activation=activation, rng=1)
    layer.b[:] = rng.normal(size=4)
    X = rng.normal(size=(6, 3))
    G = rng.normal(size=(6, 4))

    def loss():
        return float(np.sum(G * layer.apply(X)))

    layer.forward(X)
    dX = layer.backward(G.copy())
    np.testing.assert_allclose(layer.dW, numerical_gradient(loss, layer.W), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(layer.db, numerical_gradient(loss, layer.b), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)


def test_backward_from_dZ_is_the_three_formulas(rng):
    layer = gn.Dense(5, 1, activation="identity", rng=0)  # one unit: the outer-product path
    X = rng.normal(size=(7, 5))
    dZ = rng.normal(size=(7, 1))
    layer.forward(X)
    dX = layer.backward_from_dZ(dZ)
    np.testing.assert_allclose(layer.dW, X.T @ dZ, rtol=1e-12)
    np.testing.assert_allclose(layer.db, dZ.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(dX, dZ @ layer.W.T, rtol=1e-12)
    assert layer.backward_from_dZ(dZ, need_input_gradient=False) is None


def test_forward_reuses_its_buffer_apply_does_not(rng):
    layer = gn.Dense(2, 3, rng=0)
    X = rng.normal(size=(4, 2))
    first = layer.forward(X)
    again = layer.forward(X + 1.0)
    assert first is again  # the documented reuse: valid until the next forward
    assert layer.apply(X) is not layer.apply(X)


def test_from_arrays_shares_memory_and_skips_gradients():
    W, b = np.ones((2, 3)), np.zeros(3)
    layer = gn.Dense.from_arrays(W, b, "relu")
    layer.W += 1.0
    assert W[0, 0] == 2.0 and layer.parameters()[0] is W
    assert gn.Dense.from_arrays(W, b, gradients=False).dW is None


def test_no_bias_layer_has_only_W():
    layer = gn.Dense(3, 2, bias=False, rng=0)
    assert layer.b is None and len(layer.parameters()) == len(layer.gradients()) == 1
    assert "bias=False" in repr(layer)


def test_sparse_input_gives_the_dense_results(rng):
    sp = pytest.importorskip("scipy.sparse")
    X = rng.normal(size=(6, 4)) * (rng.random((6, 4)) > 0.5)
    dense, sparse = gn.Dense(4, 3, rng=0), gn.Dense(4, 3, rng=0)
    np.testing.assert_allclose(sparse.forward(sp.csr_matrix(X)), dense.forward(X), rtol=1e-12)
    dA = rng.normal(size=(6, 3))
    dense.backward(dA.copy())
    sparse.backward(dA.copy())
    np.testing.assert_allclose(sparse.dW, dense.dW, rtol=1e-12)


def test_astype_float32_and_pickle_drops_scratch(rng):
    layer = gn.Dense(3, 2, rng=0).astype(np.float32)
    assert layer.W.dtype == layer.dW.dtype == layer.b.dtype == np.float32
    layer.forward(rng.normal(size=(4, 3)).astype(np.float32))
    restored = pickle.loads(pickle.dumps(layer))
    assert restored.A is None and restored._buffers == {}
    np.testing.assert_array_equal(restored.W, layer.W)


@pytest.mark.parametrize("kwargs,match", [
    ({"n_inputs": 0, "n_units": 2}, "n_inputs must be a positive integer"),
    ({"n_inputs": 2, "n_units": 1.5}, "n_units must be a positive integer"),
    ({"n_inputs": 2, "n_units": 2, "dtype": np.int64}, "dtype must be float32 or float64"),
    ({"n_inputs": 2, "n_units": 2, "activation": "swish"}, "unknown activation"),
])
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gn.Dense(**kwargs)
