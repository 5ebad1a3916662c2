"""The playground's engine side, without a browser or a server: settings and their
URL form, data, the training loop, snapshots, the step inspector, the landscape
and the exports."""

import base64
import json

import numpy as np
import pytest

import glassnet as gn
from glassnet.datasets import DataError, make_spirals
from glassnet.io import load_model
from glassnet.playground import formulas
from glassnet.playground.config import Config, ConfigError
from glassnet.playground.data import build_data, toy_features
from glassnet.playground.export import data_csv, model_bytes, snippet
from glassnet.playground.session import RESOLUTION, Session


def session(query="", **kwargs):
    return Session(Config.from_query(query), **kwargs)


def weights_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


# -- settings and the URL --------------------------------------------------------------------
def test_config_round_trips_through_the_url():
    config = Config.from_query("data=spirals&noise=0.2&points=300&train=70&dseed=4&"
                               "features=sinx1,x1,x2&hidden=8,5,3&act=relu,tanh,sigmoid&"
                               "opt=adam&lr=0.001&sched=cosine&batch=full&l2=0.01&seed=7&"
                               "speed=5&showtest=1&discrete=true&scale=minmax&init=he_normal")
    assert config.features == ("x1", "x2", "sinx1")  # canonical order
    assert config.batch == 0 and config.showtest and config.discrete
    assert Config.from_query(config.to_query()) == config
    assert Config.from_query("#" + Config().to_query()) == Config()


@pytest.mark.parametrize("query, fragment", [
    ("lr=abc", "lr must be a number"),
    ("lr=0", "lr must be between"),
    ("hidden=4,0", "hidden: each layer needs 1 to 16 units, got 0"),
    ("hidden=1,2,3,4,5,6,7", "hidden layers must be between 0 and 6"),
    ("act=tanh,softsign", "act must be one of"),
    ("hidden=4&act=tanh,relu", "act: 2 activation(s) for 1 hidden layer(s)"),
    ("data=mnist", "data must be one of"),
    ("features=x3", "features must be one of"),
    ("bogus=1", "unknown setting 'bogus'"),
    ("lr=0.1&lr=0.2", "lr is given twice"),
    ("view=1", "view must be 'pca' or two different input numbers"),
    ("data=csv", "data=csv needs an uploaded file"),
])
def test_config_errors_name_the_setting(query, fragment):
    with pytest.raises(ConfigError) as info:
        Config.from_query(query)
    assert fragment in str(info.value)


def test_picking_data_sets_its_noise_and_new_layers_repeat_the_last_activation():
    config = Config()
    assert config.with_changes({"data": "xor"}).noise == 0.3
    assert config.with_changes({"data": "xor", "noise": "0"}).noise == 0.0
    relu_tanh = config.with_changes({"act": "relu,tanh"})
    assert relu_tanh.with_changes({"hidden": "4,4,4"}).act == ("relu", "tanh", "tanh")
    assert relu_tanh.with_changes({"hidden": "3"}).act == ("relu",)
    assert config.with_changes({"act": "relu"}).act == ("relu", "relu")


# -- data ------------------------------------------------------------------------------------
def test_toy_features_are_the_named_functions(rng):
    P = rng.normal(size=(7, 2))
    F = toy_features(P, ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"])
    x1, x2 = P[:, 0], P[:, 1]
    expected = np.column_stack([x1, x2, x1 ** 2, x2 ** 2, x1 * x2, np.sin(x1), np.sin(x2)])
    assert np.array_equal(F, expected)


def test_toy_data_are_seeded_split_and_scaled_on_the_training_rows():
    config = Config.from_query("data=spirals&points=400&train=30&dseed=3&features=x1,x2,x1x2")
    data = build_data(config)
    P, y = make_spirals(400, noise=config.noise, seed=np.random.default_rng(3))
    assert np.array_equal(data.points, 5.0 * P) and np.array_equal(data.y, y)
    assert len(data.train) == 120 and len(data.test) == 280
    assert not set(data.train) & set(data.test)
    assert np.allclose(data.Xs[data.train].mean(axis=0), 0, atol=1e-12)
    assert np.allclose(data.Xs[data.train].std(axis=0), 1)
    assert not np.allclose(data.Xs[data.test].mean(axis=0), 0, atol=1e-3)
    x0, x1, y0, y1 = data.plane.domain
    assert x0 <= data.points[:, 0].min() and data.points[:, 0].max() <= x1
    assert y0 <= data.points[:, 1].min() and data.points[:, 1].max() <= y1
    # the plane feeds the network the same features as the rows themselves
    assert np.allclose(data.plane.to_inputs(data.points), data.Xs)
    assert build_data(config).X.tobytes() == data.X.tobytes()  # same seed, same rows


def test_planes_for_more_than_two_inputs_say_what_they_show():
    pair = build_data(Config.from_query("data=wisconsin&view=0,5"))
    means = pair.X[pair.train].mean(axis=0)
    Q = np.array([[1.0, 10.0], [4.0, 2.0]])
    rows = np.tile(means, (2, 1))
    rows[:, 0], rows[:, 5] = Q[:, 0], Q[:, 1]
    assert np.allclose(pair.plane.to_inputs(Q), pair.scaler.transform(rows))
    assert "held at their training means" in pair.plane.note
    assert np.array_equal(pair.points, pair.X[:, [0, 5]])

    pca = build_data(Config.from_query("data=wisconsin"))
    assert pca.plane.note.startswith("PCA projection of the 9 scaled inputs")
    assert pca.plane.xlabel.startswith("PC1 (") and pca.plane.ylabel.startswith("PC2 (")
    # each row sits at its projection: the plane point is the row minus its off-plane part
    on_plane = pca.plane.to_inputs(pca.points)
    center = pca.Xs[pca.train].mean(axis=0)
    residual = (pca.Xs - center) - (on_plane - center)
    assert np.allclose(np.einsum("ij,ij->i", residual, on_plane - center), 0, atol=1e-9)
    with pytest.raises(ValueError, match="the data have 9 inputs"):
        build_data(Config.from_query("data=wisconsin&view=0,12"))


def test_an_uploaded_csv_is_checked_as_glassnet_train_checks_it(tmp_path):
    from glassnet.tables import prepare

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n5,6,x\n")
    with pytest.raises(DataError) as expected:
        prepare(str(bad))
    config = Config.from_query("data=csv&upload=abc")
    with pytest.raises(DataError) as got:
        build_data(config, str(bad), "bad.csv")
    assert str(got.value) == str(expected.value)
    assert "non-numeric value 'oops' in numeric column 'b' at line 3" in str(got.value)
    # the page's error names the user's file, not the server's copy
    with pytest.raises(DataError, match=r"^bad\.csv: non-numeric"):
        Session(config, resolve_upload=lambda _: (str(bad), "bad.csv"))

    good = tmp_path / "three.csv"
    rows = ["u,v,w,kind"] + [f"{i % 7},{(i * 3) % 5},{i % 2},{'abc'[i % 3]}" for i in range(60)]
    good.write_text("\n".join(rows) + "\n")
    s = Session(config, resolve_upload=lambda _: (str(good), "three.csv"))
    assert s.data.classes == ["a", "b", "c"] and s.network.sizes == [3, 4, 2, 3]
    assert s.network.output_activation.name == "softmax"
    assert s.data.plane.note.startswith("PCA projection of the 3 scaled inputs")


# -- the training loop -----------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "data=spirals&hidden=6,6&features=x1,x2,sinx1,x1x2&opt=adam&lr=0.01&sched=step",
    "data=moons&batch=7&opt=nesterov&sched=plateau",
    "data=heart&batch=16&onehot=1&opt=rmsprop&lr=0.001&l2=0.01&l1=0.003",
    "data=bumps&batch=full&act=relu,relu&opt=momentum&lr=0.05&sched=exponential",
    # 250 training rows in batches of 3: the lone last row joins the batch before it
    "data=moons&hidden=5,4&dropout=0.3&batchnorm=1&batch=3&opt=adam&lr=0.01",
])
def test_the_snippet_reproduces_the_page_with_glassnet_train(query):
    s = session(query)
    for _ in range(7):  # steps first, then whole epochs through Trainer.run_epoch
        s.step()
    for _ in range(5):
        s.run_epoch()
    code = snippet(s)
    assert "gn.train(" in code and f"epochs={s.epoch}," in code
    namespace = {}
    exec(compile(code, "playground_run.py", "exec"), namespace)  # noqa: S102 - the point
    assert weights_equal(namespace["net"], s.network)
    assert all(np.array_equal(a, b) for a, b in zip(namespace["net"].buffers(),
                                                     s.network.buffers()))
    assert np.array_equal(namespace["X_train"], s.X_train)


def test_one_epoch_of_steps_is_one_trainer_epoch():
    stepped, whole = session("batch=32"), session("batch=32")
    n_steps = 0
    while stepped.epoch == 0:
        stepped.step()
        n_steps += 1
    whole.run_epoch()
    assert n_steps == whole.steps == stepped.steps == int(np.ceil(250 / 32))
    assert weights_equal(stepped.network, whole.network)
    # a full batch is one step per epoch
    full = session("batch=full")
    full.step()
    assert full.epoch == 1 and full.steps == 1


def test_reset_starts_again_from_the_seed():
    s = session("seed=5")
    for _ in range(5):
        s.run_epoch()
    s.reset()
    assert s.epoch == s.steps == 0
    assert weights_equal(s.network, session("seed=5").network)
    assert not weights_equal(s.network, session("seed=6").network)


def test_live_settings_apply_at_once_and_structural_ones_start_again():
    s = session()
    for _ in range(3):
        s.run_epoch()
    assert s.apply({"lr": "0.3"}) == "live"
    assert s.epoch == 3 and s.optimizer.lr == 0.3
    assert s.apply({"opt": "adam"}) == "live" and s.optimizer.name == "adam"
    assert s.apply({"l2": "0.1"}) == "live" and s.network.alpha == 0.1
    assert s.apply({"l1": "0.01"}) == "live" and s.network.l1 == 0.01
    assert "lr = 0.3 at epoch 3" in snippet(s)
    assert s.apply({"showtest": "1"}) == "page"
    assert s.apply({"hidden": "3"}) == "network"
    assert s.epoch == 0 and s.network.sizes == [2, 3, 1]
    assert s.apply({"data": "moons"}) == "data" and s.data.name == "Moons"
    # a setting that cannot be used leaves the run as it was
    before = s.config
    with pytest.raises(ValueError, match="the data have 9 inputs"):
        s.apply({"data": "wisconsin", "view": "0,9"})
    assert s.config == before and s.data.name == "Moons"


def test_a_diverging_run_raises_and_keeps_finite_weights():
    s = session("data=bumps&act=relu,relu&hidden=8,8&lr=10&batch=full&opt=sgd")
    with pytest.raises(gn.TrainingDivergedError, match="too large"):
        for _ in range(200):
            s.advance()
    assert all(np.isfinite(p).all() for p in s.network.parameters())
    json.dumps(s.frame(), allow_nan=False)  # the page still gets a frame


# -- snapshots -------------------------------------------------------------------------------
def decode(b64):
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8)


def test_frames_are_compact_and_never_carry_the_data():
    sizes = []
    for points in (100, 2000):
        s = session(f"hidden=6,6&features=x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2&points={points}")
        s.run_epoch()
        sizes.append(len(json.dumps(s.frame(), allow_nan=False)))
    assert max(sizes) < 100_000
    assert abs(sizes[0] - sizes[1]) < 200  # the size does not grow with the data


def test_the_frame_shows_the_network_itself():
    s = session("hidden=6,6&batch=full")
    for _ in range(20):
        s.run_epoch()
    frame = s.frame()
    net = s.network
    assert frame["train_loss"] == pytest.approx(net.compute_loss(s.X_train, s.Y_train), rel=1e-12)
    assert frame["test_loss"] == pytest.approx(net.compute_loss(s.X_test, s.Y_test), rel=1e-12)
    proba = net.output(s.grid_inputs)[:, 0]
    image = decode(frame["output"]["value"])
    assert image.shape == (RESOLUTION * RESOLUTION,)
    assert np.abs(image - proba * 255).max() <= 0.5 + 1e-9
    # pixel (0, 0) is the top-left corner of the plane
    x0, _, _, y1 = s.data.plane.domain
    assert np.allclose(s.grid[0], [x0, y1])
    tile = decode(frame["units"][0][2]["tile"]).reshape(25, 25)
    hidden = net.layers[0].apply(s.grid_inputs)[:, 2].reshape(RESOLUTION, RESOLUTION)[::4, ::4]
    assert np.abs(tile - (hidden + 1) * 127.5).max() <= 0.5 + 1e-9  # tanh: scale 1
    assert np.allclose(frame["weights"][1], net.layers[1].W, rtol=1e-4)
    assert frame["gradient_norms"][0] == pytest.approx(np.linalg.norm(net.layers[0].dW))
    assert frame["epoch"] == 20 and frame["step"] == 20


def test_dead_units_are_counted_from_the_training_rows():
    s = session("act=relu,relu&hidden=5,5&batch=full")
    layer = s.network.layers[0]
    layer.W[:, :2] = 0.0
    layer.b[:2] = -1.0  # two units that output 0 for every row
    frame = s.frame()
    assert frame["inactive"][0] == 2 and frame["inactive_units"][0][:2] == [True, True]


def test_the_scene_holds_each_point_once_with_its_split():
    s = session("points=300&train=40")
    scene = s.scene()
    assert len(scene["points"]["x"]) == 300
    assert sum(scene["points"]["split"]) == len(s.data.test) == 180
    test_rows = [r for r, flag in zip(scene["points"]["row"], scene["points"]["split"]) if flag]
    assert sorted(test_rows) == sorted(s.data.test.tolist())
    assert [i["active"] for i in scene["inputs"]].count(True) == 2
    assert len(json.dumps(scene, allow_nan=False)) < 100_000


# -- the glass box ----------------------------------------------------------------------------
def test_the_step_inspector_shows_the_engine_step_and_takes_it():
    s = session("hidden=3,2&l2=0.05&l1=0.02&lr=0.1")
    s.run_epoch()
    row = int(s.data.train[4])
    before = [p.copy() for p in s.network.parameters()]
    record = s.inspect(row)
    assert all(np.array_equal(a, b) for a, b in zip(s.network.parameters(), before))
    layers = record["layers"]
    for i, layer in enumerate(layers):
        A_prev, dZ, W = np.array(layer["A_prev"]), np.array(layer["dZ"]), np.array(layer["W"])
        # dW = Xᵀ·dZ + (α/N)·W + (λ/N)·sign(W), N = 1, from the numbers the page shows
        assert np.allclose(np.array(layer["dW"]),
                           np.outer(A_prev, dZ) + 0.05 * W + 0.02 * np.sign(W), rtol=1e-3,
                           atol=1e-6)
        assert np.allclose(np.array(layer["delta_W"]), -0.1 * np.array(layer["dW"]), rtol=1e-3,
                           atol=1e-7)
        if i:
            assert np.allclose(layers[i - 1]["A"], A_prev)
    # dA¹ = dZ²·W²ᵀ and dZ¹ = dA¹ ⊙ (1 − A¹²) for tanh
    dA = np.array(layers[1]["dZ"]) @ np.array(layers[1]["W"]).T
    assert np.allclose(layers[0]["dA"], dA, rtol=1e-3)
    assert np.allclose(layers[0]["dZ"], dA * (1 - np.array(layers[0]["A"]) ** 2), rtol=1e-3)
    assert record["formulas"]["l2"] == list(formulas.L2)
    assert record["formulas"]["l1"] == list(formulas.L1)
    assert record["formulas"]["activation"]["tanh"] == ["a = tanh(z)", "d/dz = 1 − a²"]

    steps = s.steps
    s.apply_inspected()  # now for real
    assert s.steps == steps + 1 and s.manual_steps == 1
    for layer, was, now in zip(layers, before[::2], s.network.parameters()[::2]):
        assert np.allclose(now - was, layer["delta_W"], rtol=1e-3, atol=1e-8)
    X, Y, _ = s.network.check_data(s.data.Xs[row:row + 1], s.data.Y[row:row + 1])
    assert record["loss_after"] == pytest.approx(s.network.compute_loss(X, Y), rel=1e-12)
    assert "single-sample step" in snippet(s)
    with pytest.raises(ValueError, match="is a test row"):
        s.inspect(int(s.data.test[0]))


def test_the_formulas_on_the_page_are_the_docstrings():
    pairs = formulas.sources()
    assert len(pairs) > 30
    for formula, owner in pairs:
        assert formula in owner.__doc__, (formula, owner)


def _rng_state(s):
    return s.network.rng.bit_generator.state["state"]["state"]


def test_dropout_and_batch_norm_train_in_training_mode_and_are_drawn_in_evaluation_mode(
        tmp_path):
    query = "data=moons&hidden=6,4&dropout=0.5&batchnorm=1&batch=3"
    s = session(query)
    assert [type(layer).__name__ for layer in s.network.layers] == [
        "Dense", "BatchNorm", "Activation", "Dropout"] * 2 + ["Dense"]
    assert "dropout=0.5&batchnorm=1" in s.config.to_query()
    assert Config.from_query(s.config.to_query()) == s.config
    assert s.apply({"dropout": "0.2"}) == "network"
    assert [layer.p for layer in s.network.layers if type(layer).__name__ == "Dropout"] == [
        0.2, 0.2]
    assert s.apply({"dropout": "0.5"}) == "network" and s.steps == 0
    # one epoch step by step is one Trainer epoch: 250 rows in 83 batches, the last of 4
    assert s.steps_per_epoch == 83
    whole = session(query)
    while s.epoch == 0:
        s.step()
    whole.run_epoch()
    assert s.steps == whole.steps == 83
    assert s.network.state_dict().keys() == whole.network.state_dict().keys()
    assert all(np.array_equal(a, b) for a, b in zip(s.network.state_dict().values(),
                                                     whole.network.state_dict().values()))
    # the steps ran in training mode: masks drawn, running statistics moved
    assert _rng_state(s) != _rng_state(session(query))
    assert not np.allclose(s.network.layers[1].running_mean, 0.0)
    # what the page shows is evaluation mode, and drawing it draws no masks
    state = _rng_state(s)
    frame = s.frame()
    s.landscape(resolution=9)
    s.inspect("worst")
    assert _rng_state(s) == state
    net, eps = s.network, np.finfo(float).eps
    assert frame["test_loss"] == pytest.approx(net.compute_loss(s.X_test, s.Y_test), rel=1e-12)
    proba = net.output(s.grid_inputs)[:, 0]
    assert np.array_equal(decode(frame["output"]["value"]), np.round(proba * 255))
    hidden = np.tanh(s.network.layers[1].apply(s.grid_inputs @ net.layers[0].W))
    tile = decode(frame["units"][0][1]["tile"]).reshape(25, 25)
    expected = np.round((hidden[:, 1].reshape(100, 100)[::4, ::4] + 1) * 127.5)
    assert np.abs(tile.astype(float) - expected).max() <= 1
    assert frame["biases"][0] is None and frame["biases"][2] is not None  # β replaces b
    # the model file predicts the test loss the page shows
    path = tmp_path / "model.glassnet"
    path.write_bytes(model_bytes(s))
    Y = s.Y_test[:, 0]
    p = np.clip(load_model(path).predict_proba(s.data.X[s.data.test])[:, 1], eps, 1 - eps)
    log_loss = -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))
    assert log_loss == pytest.approx(frame["test_loss"], abs=1e-9)
    # seeded: the same seed gives the same run, another seed another one
    again, other = session(query), session(query + "&seed=1")
    for run in (again, other):
        while run.epoch == 0:
            run.step()
    assert all(np.array_equal(a, b) for a, b in zip(again.network.state_dict().values(),
                                                     s.network.state_dict().values()))
    assert not weights_equal(other.network, s.network)


@pytest.mark.parametrize("query, message", [
    ("batchnorm=1&batch=1", "batch norm needs at least 2 rows per batch"),
    ("dropout=0.25", "dropout must be one of"),
])
def test_dropout_and_batch_norm_settings_are_checked(query, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_query(query)


def test_the_step_inspector_shows_the_dropout_masks_it_then_applies():
    s = session("hidden=5,4&dropout=0.5&lr=0.1")
    s.run_epoch()
    row = int(s.data.train[7])
    record = s.inspect(row)
    assert record["mode"] == "train" and record["formulas"]["dropout"] == formulas.DROPOUT
    layers = record["layers"]
    for layer in layers[:-1]:
        mask, F, A = (np.array(layer[k]) for k in ("mask", "F", "A"))
        assert set(np.unique(mask)) <= {0.0, 2.0} and layer["dropout"] == 0.5
        assert np.allclose(A, F * mask, rtol=1e-3)  # Y = X ⊙ M
        assert np.allclose(layer["dF"], np.array(layer["dA"]) * mask, rtol=1e-3)  # dX = dY ⊙ M
        assert np.allclose(layer["dZ"], np.array(layer["dF"]) * (1 - F ** 2), rtol=1e-3,
                           atol=1e-9)
    for i, layer in enumerate(layers):
        A_prev = np.array(layer["A_prev"])
        assert np.allclose(layer["dW"], np.outer(A_prev, layer["dZ"]), rtol=1e-3, atol=1e-8)
        if i:
            assert np.allclose(layers[i - 1]["A"], A_prev)
    masks = [np.array(layer["mask"]) for layer in layers[:-1]]
    before = [layer.W.copy() for layer in s.network.layers[::2]]
    s.apply_inspected()  # the real step draws the same masks
    drops = [layer for layer in s.network.layers if type(layer).__name__ == "Dropout"]
    assert all(np.array_equal(d.mask[0], m) for d, m in zip(drops, masks))
    for layer, was, now in zip(layers, before, s.network.layers[::2]):
        assert np.allclose(now.W - was, layer["delta_W"], rtol=1e-3, atol=1e-8)


def test_with_batch_norm_the_step_inspector_shows_the_evaluation_pass():
    s = session("hidden=4&batchnorm=1&dropout=0.1")
    for _ in range(2):
        s.run_epoch()
    row = int(s.data.train[3])
    record = s.inspect(row)
    assert record["mode"] == "eval" and record["loss_after"] is None
    assert record["formulas"]["batch_norm"] == formulas.BATCH_NORM
    hidden, out = record["layers"]
    norm = hidden["norm"]
    assert hidden["mask"] is None and hidden["delta_W"] is None and hidden["b"] is None
    s_ = np.sqrt(np.array(norm["var"]) + norm["eps"])
    x_hat = (np.array(hidden["Z"]) - norm["mean"]) / s_  # x̂ = (x − μ)/s, running statistics
    assert np.allclose(norm["x_hat"], x_hat, rtol=1e-3)
    assert np.allclose(norm["y"], np.array(norm["gamma"]) * x_hat + norm["beta"], rtol=1e-3)
    assert np.allclose(hidden["A"], np.tanh(norm["y"]), rtol=1e-3)
    X = s.data.Xs[row:row + 1]
    assert np.allclose(record["yhat"], s.network.output(X)[0], rtol=1e-4)
    # dX = dY·γ/s, and dW read from the engine matches Xᵀ·dZ
    assert np.allclose(hidden["dZ"], np.array(hidden["dY"]) * norm["gamma"] / s_, rtol=1e-3)
    assert np.allclose(hidden["dW"], np.outer(hidden["A_prev"], hidden["dZ"]), rtol=1e-3,
                       atol=1e-9)
    assert np.allclose(norm["dbeta"], hidden["dY"], rtol=1e-3)
    assert out["delta_W"] is None
    with pytest.raises(ValueError, match="batch norm is on"):
        s.apply_inspected()


def test_the_landscape_of_the_run():
    s = session("batch=full&lr=0.3")
    with pytest.raises(ValueError, match="train a few steps first"):
        s.landscape()
    for _ in range(60):
        s.run_epoch()
    land = s.landscape(resolution=21)
    assert np.array(land["loss"]).shape == (21, 21)
    path = land["path"]
    assert len(path["x"]) == land["points"] == 61  # the start and every epoch
    assert path["x"][0] == 0 and path["y"][0] == 0  # the plane passes through the start
    assert land["center"] == "the shared start"
    off = np.array(path["off_plane"])
    assert ((off >= 0) & (off <= 1)).all() and 0 <= land["mean_off_plane"] <= land["max_off_plane"]
    current = s.network.compute_loss(s.X_train, s.Y_train)
    assert path["true_loss"][-1] == pytest.approx(current, rel=1e-4)
    start = session("batch=full&lr=0.3")
    assert path["true_loss"][0] == pytest.approx(
        start.network.compute_loss(start.X_train, start.Y_train), rel=1e-4)
    assert path["plane_loss"][0] == pytest.approx(path["true_loss"][0], rel=1e-4)
    assert path["true_loss"][0] > path["true_loss"][-1]  # it went downhill
    gaps = np.abs(np.array(path["true_loss"]) - np.array(path["plane_loss"]))
    assert land["max_gap"] == pytest.approx(gaps.max(), abs=1e-4)
    assert s.network.compute_loss(s.X_train, s.Y_train) == current  # weights untouched


# -- exports ---------------------------------------------------------------------------------
def test_the_model_file_loads_and_predicts_what_the_page_shows(tmp_path, capsys):
    from glassnet.cli import main

    s = session("data=xor&features=x1,x2,x1x2")
    for _ in range(20):
        s.run_epoch()
    path = tmp_path / "model.glassnet"
    path.write_bytes(model_bytes(s))
    model = load_model(path)
    data = s.data
    assert model.feature_names == ["x1", "x2", "x1*x2"]
    proba = model.predict_proba(data.X[data.test])[:, 1]
    y = data.Y[data.test]
    eps = np.finfo(float).eps
    p = np.clip(proba, eps, 1 - eps)
    log_loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert log_loss == pytest.approx(s.frame()["test_loss"], rel=1e-12)

    csv_path = tmp_path / "data.csv"
    csv_path.write_text(data_csv(s))
    assert main(["predict", str(path), str(csv_path), "--out", str(tmp_path / "p.csv")]) == 0
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "row,predicted_label,probability_0,probability_1"
    cli_proba = np.array([float(r.split(",")[3]) for r in rows[1:]])
    assert np.allclose(cli_proba, model.predict_proba(data.X)[:, 1], atol=1e-6)

    bundled = session("data=wisconsin&hidden=5")
    bundled.run_epoch()
    path.write_bytes(model_bytes(bundled))
    capsys.readouterr()
    assert main(["predict", str(path), "wisconsin"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "row,predicted_class,probability_benign,probability_malignant"
    assert len(out) == 1 + 683


@pytest.mark.parametrize("query", ["hidden=&data=moons", "data=bumps&hidden=5,5&batchnorm=1",
                                   "data=moons&dropout=0.3&batchnorm=1",
                                   "data=heart&onehot=1&hidden=4", "data=wisconsin&missing=median"])
def test_every_kind_of_run_exports_a_model_that_loads(tmp_path, query):
    s = session(query)
    s.run_epoch()
    path = tmp_path / "model.glassnet"
    path.write_bytes(model_bytes(s))
    model = load_model(path)
    data = s.data
    assert model.task == data.task and model.feature_names == data.feature_names
    assert np.allclose(model.output(data.X), s.network.output(data.Xs), rtol=1e-12, atol=1e-15)
    assert model.metadata["params"]["playground"] == s.config.to_query()


# -- a regression target in its own units ----------------------------------------------------
def test_a_regression_target_is_standardised_and_the_export_predicts_in_its_units(tmp_path,
                                                                                  monkeypatch):
    from glassnet.cli import main

    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    y = 150 + 60 * np.tanh(X[:, 0]) + 20 * X[:, 1]
    path = tmp_path / "prices.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,price",
               comments="", fmt="%.6f")
    upload = {"resolve_upload": lambda _: (str(path), "prices.csv")}
    s = Session(Config.from_query("data=csv&upload=abc&hidden=8&opt=adam&lr=0.03"), **upload)
    scaler = s.data.target_scaler
    train = np.loadtxt(path, delimiter=",", skiprows=1)[s.data.train, 3]
    np.testing.assert_allclose([scaler.offset[0], scaler.scale[0]], [train.mean(), train.std()])
    assert abs(s.data.Y[s.data.train].mean()) < 1e-12 and s.data.Y.std() == pytest.approx(1, 0.2)
    assert any("standardised target" in note for note in s.data.notes)
    assert s.scene()["data"]["target_units"] == [scaler.offset[0], scaler.scale[0]]
    for _ in range(30):
        s.run_epoch()
    model_path = tmp_path / "model.glassnet"
    model_path.write_bytes(model_bytes(s))
    model = load_model(model_path)
    assert model.metadata["target_scaler"] == "standard"
    expected = s.network.output(s.data.Xs)[:, 0] * scaler.scale[0] + scaler.offset[0]
    np.testing.assert_allclose(model.predict(s.data.X), expected, rtol=0, atol=1e-10)
    assert np.corrcoef(model.predict(s.data.X), y)[0, 1] > 0.9  # the target's units
    assert main(["predict", str(model_path), str(path), "--out", str(tmp_path / "p.csv")]) == 0
    namespace = {}
    monkeypatch.chdir(tmp_path)  # the snippet reads the uploaded file next to it
    exec(compile(snippet(s), "playground_run.py", "exec"), namespace)  # noqa: S102 - the point
    assert weights_equal(namespace["net"], s.network)
    off = Session(Config.from_query("data=csv&upload=abc&scaletarget=0"), **upload)
    assert off.data.target_scaler is None and off.data.Y.max() > 100
    assert s.apply({"scaletarget": "0"}) == "data" and s.data.target_scaler is None
