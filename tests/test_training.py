import os
import signal

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import glassnet as gn
from glassnet.datasets import load_wisconsin, load_xor
from glassnet.schedules import get_schedule


def minmax(X):
    return (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))


def test_toy_xor_tutorial():
    X, y = load_xor(return_X_y=True)
    net = gn.Network.from_sizes([3, 4, 1], activation="sigmoid", output_activation="sigmoid",
                                loss="sse", init="uniform", bias=False, seed=1)
    history = gn.train(net, X, y, lr=1.0, epochs=1500)
    np.testing.assert_allclose(net.output(X).ravel(), [0, 1, 1, 0], atol=0.1)
    assert history.loss[-1] < history.loss[0] / 10
    assert len(history.loss) == 1500 and history.n_steps == 1500


def test_wisconsin_two_layer_network_reaches_95_percent():
    X, y = load_wisconsin(return_X_y=True)
    X = minmax(X)
    net = gn.Network.from_sizes([9, 15, 1], activation="relu", output_activation="sigmoid",
                                init="scaled_normal", seed=1)
    gn.train(net, X[:500], y[:500], lr=0.07, epochs=3000)
    assert (net.predict(X[500:]) == y[500:]).mean() >= 0.95


def make_data(rng, m=60):
    X = rng.normal(size=(m, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int)
    return X, y


def test_same_seed_bit_identical_different_seed_differs(rng):
    X, y = make_data(rng)

    def run(seed):
        net = gn.Network.from_sizes([4, 8, 1], seed=seed)
        gn.train(net, X, y, optimizer="adam", lr=0.01, epochs=5, batch_size=7, seed=seed)
        return net.get_weights()

    a, b, c = run(3), run(3), run(4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))


def test_shuffle_seed_changes_minibatch_path(rng):
    X, y = make_data(rng)
    weights = []
    for seed in (0, 1):
        net = gn.Network.from_sizes([4, 8, 1], seed=0)
        gn.train(net, X, y, lr=0.1, epochs=3, batch_size=10, seed=seed)
        weights.append(net.get_weights()[0])
    assert not np.array_equal(*weights)


def test_float32_stays_float32(rng):
    X, y = make_data(rng)
    X = X.astype(np.float32)
    net = gn.Network.from_sizes([4, 8, 3, 1], dtype=np.float32, seed=0)
    optimizer = gn.Adam(lr=0.01)
    gn.train(net, X, y, optimizer=optimizer, epochs=3, batch_size=16, seed=0)
    arrays = net.parameters() + net.gradients()
    arrays += [layer.A for layer in net.layers]
    arrays += [a for state in optimizer.state for a in state.values()]
    for layer in net.layers:
        arrays += [b for bufs in layer._buffers.values() for b in bufs]
    assert arrays and all(a.dtype == np.float32 for a in arrays)
    assert net.output(X).dtype == np.float32


def test_minibatch_step_count_and_sgd(rng):
    X, y = make_data(rng, m=50)
    net = gn.Network.from_sizes([4, 6, 1], seed=0)
    history = gn.train(net, X, y, lr=0.1, epochs=4, batch_size=16, record_every=1)
    assert history.n_steps == 4 * 4  # ceil(50/16) = 4
    assert history.iteration == list(range(16))
    history = gn.train(gn.Network.from_sizes([4, 6, 1], seed=0), X, y, epochs=1, batch_size=1)
    assert history.n_steps == 50


def test_full_batch_step_equals_hand_update(rng):
    X, y = make_data(rng, m=20)
    net = gn.Network.from_sizes([4, 5, 1], seed=0)
    before = net.get_weights()
    net.loss_and_gradients(net.check_X(X), y[:, None].astype(float))
    grads = [g.copy() for g in net.gradients()]
    gn.train(net, X, y, lr=0.3, epochs=1)
    for w0, g, w1 in zip(before, grads, net.get_weights()):
        np.testing.assert_allclose(w1, w0 - 0.3 * g, rtol=1e-12)


def test_log_every_prints_tutorial_lines(rng, capsys):
    X, y = make_data(rng)
    gn.train(gn.Network.from_sizes([4, 3, 1], seed=0), X, y, epochs=1001, log_every=500)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["iteration 0", "iteration 500",
                                                      "iteration 1000"]
    assert float(lines[0].split("loss")[1]) > 0


def test_validation_history_and_early_stopping_restores_best(rng):
    X, y = make_data(rng, m=80)
    Xv, yv = make_data(rng, m=40)
    net = gn.Network.from_sizes([4, 32, 1], seed=0)
    history = gn.train(net, X, y, optimizer="adam", lr=0.05, epochs=400,
                       validation_data=(Xv, yv), early_stopping=5)
    assert history.stopped_early and len(history.epoch) < 400
    best = int(np.argmin(history.val_loss))
    assert history.best_epoch == best
    assert net.compute_loss(Xv, yv) == pytest.approx(history.val_loss[best], rel=1e-12)
    assert len(history.val_score) == len(history.loss)


def test_divergence_raises_and_keeps_last_finite_weights(rng):
    X, y = make_data(rng)
    X = X * 1e3
    net = gn.Network.from_sizes([4, 8, 1], output_activation="identity", loss="mse", seed=0)
    with pytest.raises(gn.TrainingDivergedError, match=r"iteration \d+.*smaller") as info:
        gn.train(net, X, y, lr=10.0, epochs=200)
    assert info.value.iteration > 0
    assert all(np.isfinite(p).all() for p in net.parameters())
    assert np.isfinite(net.compute_loss(X, y))


class Poison(gn.Callback):
    """Record the weights after every step; after step ``at`` make one NaN."""

    def __init__(self, at):
        self.at, self.seen, self.seen_buffers = at, [], []

    def on_step_end(self, trainer, step, loss):
        params = trainer.network.parameters()
        self.seen.append([p.copy() for p in params])
        self.seen_buffers.append([b.copy() for b in trainer.network.buffers()])
        if step == self.at:
            params[0][0, 0] = np.nan


# 50 rows in batches of 10: five steps an epoch, so the steps alternate between
# two parameter buffers; the poisoned step is mid-epoch, the last of an epoch (the
# non-finite loss comes first thing in the next), and one in a two-step epoch
@pytest.mark.parametrize("at,batch_size", [(7, 10), (4, 10), (9, 10), (3, 25)])
@pytest.mark.parametrize("optimizer,batch_norm", [("sgd", False), ("adam", False),
                                                  ("adam", True)])
def test_divergence_mid_epoch_keeps_the_weights_of_the_step_before(rng, at, batch_size,
                                                                   optimizer, batch_norm):
    X, y = make_data(rng, m=50)
    net = gn.Network.from_sizes([4, 6, 1], batch_norm=batch_norm, seed=0)
    home = net.parameters()
    poison = Poison(at)
    with pytest.raises(gn.TrainingDivergedError, match=f"nan at iteration {at + 1}:") as info:
        gn.train(net, X, y, optimizer=optimizer, lr=0.1, epochs=10, batch_size=batch_size,
                 callbacks=[poison], seed=0)
    assert info.value.iteration == at + 1
    # the weights that gave the last finite loss: those after step at - 1, in
    # the arrays the network had before training
    assert all(a is b for a, b in zip(net.parameters(), home))
    for kept, expected in zip(home, poison.seen[at - 1]):
        np.testing.assert_array_equal(kept, expected)
    # running statistics: as the step with the last finite loss left them
    assert len(net.buffers()) == (2 if batch_norm else 0)
    for kept, expected in zip(net.buffers(), poison.seen_buffers[at]):
        np.testing.assert_array_equal(kept, expected)


def test_two_buffers_take_the_same_steps_and_end_in_the_first(rng):
    X, y = make_data(rng, m=50)
    runs = []
    for batch_size in (10, 10):  # the second run copies at every step instead
        net = gn.Network.from_sizes([4, 6, 1], seed=0)
        home = net.parameters()
        trainer = gn.Trainer(net, gn.optimizers.get_optimizer("nesterov", lr=0.1),
                             batch_size=batch_size, rng=0)
        if runs:
            trainer._two_buffers = lambda n_steps: None
        seen = []

        class Watch(gn.Callback):
            def __init__(self, seen, home):
                self.seen, self.home = seen, home

            def on_step_end(self, trainer, step, loss):
                self.seen.append(trainer.network.parameters()[0] is self.home[0])

        trainer.callbacks.append(Watch(seen, home))
        trainer.fit(X, y.reshape(-1, 1).astype(float), epochs=3)
        assert all(a is b for a, b in zip(net.parameters(), home))
        runs.append((trainer.history.loss, [p.copy() for p in home], seen))
    (loss, weights, seen), (loss_copy, weights_copy, seen_copy) = runs
    assert loss == loss_copy
    for a, b in zip(weights, weights_copy):
        np.testing.assert_array_equal(a, b)
    assert seen[:5] == [False, True, False, True, False]  # the buffers took turns
    assert all(seen_copy)


def test_a_network_given_new_arrays_between_epochs_is_not_restored_from_the_old(rng):
    X, y = make_data(rng, m=50)
    Y = y.reshape(-1, 1).astype(float)
    net = gn.Network.from_sizes([4, 6, 1], seed=0)
    trainer = gn.Trainer(net, gn.optimizers.get_optimizer("sgd", lr=0.1), batch_size=10, rng=0)
    trainer.fit(X, Y, epochs=1)  # five steps: the copy kept is in the second buffer
    old = [p.copy() for p in net.parameters()]
    old_arrays = net.parameters()
    net.astype(np.float32)  # new arrays, laid out anew
    net.parameters()[0][0, 0] = np.nan
    trainer.batch_size = None  # one full-batch step, outside the two buffers
    with pytest.raises(gn.TrainingDivergedError):
        trainer.step(X.astype(np.float32), Y.astype(np.float32))
    for a, b in zip(old_arrays, old):  # the arrays the network left are left alone
        np.testing.assert_array_equal(a, b)
    assert np.isnan(net.parameters()[0][0, 0])  # nothing of the old buffers copied in


def test_estimator_coefs_hold_the_last_steps_weights(rng):
    X, y = make_data(rng, m=50)
    record = Poison(at=None)  # records, poisons nothing
    est = gn.MLPClassifier((6,), solver="adam", batch_size=10, max_iter=3, random_state=0,
                           callbacks=[record])
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert len(record.seen) == 15  # five steps an epoch: each epoch ends in the other buffer
    last = record.seen[-1]
    for coef, intercept, W, b in zip(est.coefs_, est.intercepts_, last[::2], last[1::2]):
        np.testing.assert_array_equal(coef, W)
        np.testing.assert_array_equal(intercept, b)
    assert all(a is b for a, b in zip(est.network_.parameters(),
                                      [a for pair in zip(est.coefs_, est.intercepts_)
                                       for a in pair]))


def test_interrupt_stops_after_current_step(rng):
    X, y = make_data(rng)

    class Interrupt(gn.Callback):
        def on_step_end(self, trainer, step, loss):
            if step == 3:
                os.kill(os.getpid(), signal.SIGINT)

    history = gn.train(gn.Network.from_sizes([4, 3, 1], seed=0), X, y, epochs=100,
                       callbacks=[Interrupt()])
    assert history.interrupted and history.n_steps == 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("bad,match", [
    (lambda X, y: (X[:, :3], y), "3 features.*expects 4"),
    (lambda X, y: (np.where(X == X[2, 1], np.nan, X), y), "NaN at row 2, column 1"),
    (lambda X, y: (X, np.where(np.arange(len(y)) == 5, 2, y)), r"targets in \{0, 1\}.*row 5"),
    (lambda X, y: (X[:0], y[:0]), "empty"),
    (lambda X, y: (X, y[:-1]), "rows but y has"),
    (lambda X, y: (np.where(X == X[0, 0], np.inf, X), y), "infinity at row 0"),
])
def test_bad_input_raises_and_changes_nothing(rng, bad, match):
    X, y = make_data(rng)
    net = gn.Network.from_sizes([4, 3, 1], seed=0)
    before = net.get_weights()
    with pytest.raises(ValueError, match=match):
        gn.train(net, *bad(X, y), epochs=2)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))


@pytest.mark.parametrize("kwargs,match", [
    ({"optimizer": "adagrad"}, "unknown optimizer 'adagrad'.*adam"),
    ({"schedule": "warmup"}, "unknown schedule 'warmup'.*cosine"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"lr": -1.0}, "learning rate"),
])
def test_bad_settings(rng, kwargs, match):
    X, y = make_data(rng)
    with pytest.raises(ValueError, match=match):
        gn.train(gn.Network.from_sizes([4, 3, 1], seed=0), X, y, **kwargs)


def test_network_construction_errors():
    with pytest.raises(ValueError, match="unknown activation"):
        gn.Network.from_sizes([2, 3, 1], activation="swish")
    with pytest.raises(ValueError, match="layer 0 has 3 units but layer 1 expects 4"):
        gn.Network([gn.Dense(2, 3), gn.Dense(4, 1, activation="sigmoid")])


def test_softmax_labels_are_one_hot_encoded(rng):
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    net = gn.Network.from_sizes([2, 8, 3], output_activation="softmax", seed=0)
    gn.train(net, X, y, optimizer="adam", lr=0.05, epochs=300)
    assert (net.predict(X) == y).mean() > 0.9
    np.testing.assert_allclose(net.predict_proba(X).sum(axis=1), 1.0)


def test_schedules():
    assert get_schedule("step", step_size=10, gamma=0.5)(1.0, 25) == 0.25
    assert get_schedule("exponential", gamma=0.9)(2.0, 2) == pytest.approx(2 * 0.81)
    assert get_schedule("invscaling", power=0.5)(1.0, 3) == pytest.approx(0.5)
    cosine = get_schedule("cosine", period=10, min_lr=0.1)
    assert cosine(1.0, 0) == 1.0 and cosine(1.0, 10) == pytest.approx(0.1)
    assert cosine(1.0, 5) == pytest.approx(0.55)
    plateau = get_schedule("plateau", factor=0.5, patience=2)
    for loss in [1.0, 0.9, 0.9, 0.9, 0.9]:
        plateau.observe(loss)
    assert plateau(1.0, 5) == 0.5


def test_schedule_sets_learning_rate_each_epoch(rng):
    X, y = make_data(rng)
    history = gn.train(gn.Network.from_sizes([4, 3, 1], seed=0), X, y, lr=0.8, epochs=4,
                       schedule=get_schedule("exponential", gamma=0.5))
    assert history.lr == [0.8, 0.4, 0.2, 0.1]


def test_predict_threshold_is_strict_like_scikit_learn():
    net = gn.Network.from_sizes([1, 1], output_activation="sigmoid", seed=0)
    net.layers[0].W[:] = 0.0
    net.layers[0].b[:] = 0.0  # every output is exactly 0.5
    assert net.predict(np.ones((3, 1))).tolist() == [0, 0, 0]
    net.layers[0].b[:] = 1e-9
    assert net.predict(np.ones((1, 1))).tolist() == [1]
    assert net.predict(np.ones((1, 1)), threshold=0.9).tolist() == [0]


def test_an_estimators_callbacks_see_current_coefs_at_every_step(rng):
    X, y = make_data(rng, m=50)
    mismatches = []

    class Check(gn.Callback):
        def __init__(self, est):
            self.est = est

        def on_step_end(self, trainer, step, loss):
            live = trainer.network.parameters()
            mismatches.extend(step for a, b in zip(self.est.coefs_, live[::2])
                              if not np.array_equal(a, b))

    est = gn.MLPClassifier((6,), solver="sgd", batch_size=10, max_iter=2, random_state=0)
    est.set_params(callbacks=[Check(est)])
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert mismatches == []


def test_a_trainer_given_another_network_over_the_same_arrays_points_that_one(rng):
    X, y = make_data(rng, m=50)
    Y = y.reshape(-1, 1).astype(float)
    net = gn.Network.from_sizes([4, 6, 1], seed=0)
    twin = gn.Network.from_sizes([4, 6, 1], seed=0)
    for layer, other in zip(twin.layers, net.layers):  # other layers, the same arrays
        layer.W, layer.b = other.W, other.b
    trainer = gn.Trainer(net, gn.optimizers.get_optimizer("sgd", lr=0.1), batch_size=10, rng=0)
    trainer.fit(X, Y, epochs=1)
    reference = gn.Trainer(gn.Network.from_sizes([4, 6, 1], seed=0),
                           gn.optimizers.get_optimizer("sgd", lr=0.1), batch_size=10, rng=0)
    reference.fit(X, Y, epochs=2)
    trainer.network = twin
    trainer.fit(X, Y, epochs=1)
    assert trainer.history.loss == reference.history.loss
    for a, b in zip(twin.parameters(), reference.network.parameters()):
        np.testing.assert_array_equal(a, b)
