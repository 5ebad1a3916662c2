"""The stack (glassnet.stack): K networks trained by one loop equal K runs of
glassnet.Trainer, member by member.

Tolerance. Every element-wise operation of a stacked step is the one-network
operation on the same numbers, so it rounds the same way; what may differ is
a matrix product (a stacked ``np.matmul`` may call another BLAS kernel, or
sum the terms in another order, than the one-network product): about 1e-16
relative per product. Over the few dozen steps of these tests, on data
scaled to unit variance and rates that converge, that stays far below the
1e-10 the tests allow (observed: below 1e-13), on any BLAS.
"""

import copy
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import glassnet as gn
from glassnet.datasets import load_wisconsin
from glassnet.stack import NetworkStack, Run, fit_together, stack_key, train_together

TOL = 1e-10


@pytest.fixture(scope="module")
def data():
    X, y = load_wisconsin(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X[:150], y[:150]


def networks(K, sizes=(9, 12, 1), **options):
    return [gn.Network.from_sizes(list(sizes), seed=10 + k, **options) for k in range(K)]


def trainers(nets, optimizer, lrs, batch_size=None, callbacks=None, **options):
    return [gn.Trainer(net, gn.get_optimizer(optimizer, lr=lr, **options), batch_size=batch_size,
                       rng=100 + k, callbacks=[] if callbacks is None else callbacks(k))
            for k, (net, lr) in enumerate(zip(nets, lrs))]


def alone_and_together(make_trainers, X, Y, epochs, *, schedule=None, validation=None,
                       rows=None):
    """Each trainer's fit alone, then copies of the same trainers in one stack;
    returns (alone, together) as lists of (network, history or exception)."""
    alone_trainers = make_trainers()
    together_trainers = make_trainers()
    results = []
    for k, trainer in enumerate(alone_trainers):
        Xk, Yk = (X, Y) if rows is None else rows[k]
        sched = schedule(k) if callable(schedule) else schedule
        try:
            results.append(trainer.fit(Xk, Yk, epochs, schedule=sched, validation_data=validation))
        except gn.TrainingDivergedError as exc:
            results.append(exc)
    runs = [Run(t, *((X, Y) if rows is None else rows[k]), epochs,
                schedule=schedule(k) if callable(schedule) else schedule,
                validation_data=validation) for k, t in enumerate(together_trainers)]
    stacked = fit_together(runs)
    return ([(t.network, r) for t, r in zip(alone_trainers, results)],
            [(t.network, r) for t, r in zip(together_trainers, stacked)])


def assert_same(alone, together, tol=TOL):
    for k, ((net1, h1), (net2, h2)) in enumerate(zip(alone, together)):
        if isinstance(h1, Exception):
            assert type(h2) is type(h1), f"member {k}: {h2!r} instead of {h1!r}"
            assert str(h2) == str(h1)
            h1, h2 = h1.history, h2.history
        else:
            assert isinstance(h2, gn.History), f"member {k}: {h2!r}"
        assert len(h2.loss) == len(h1.loss), f"member {k} stopped at another epoch"
        assert h2.n_steps == h1.n_steps and h2.samples_seen == h1.samples_seen
        assert h2.stopped_early == h1.stopped_early and h2.best_epoch == h1.best_epoch
        np.testing.assert_allclose(h2.loss, h1.loss, rtol=tol, atol=tol)
        np.testing.assert_allclose(h2.lr, h1.lr, rtol=1e-15, atol=0)
        np.testing.assert_allclose(h2.val_loss, h1.val_loss, rtol=tol, atol=tol)
        for name, p, q in zip(net1.parameter_names() + net1.buffer_names(),
                              net1.parameters() + net1.buffers(),
                              net2.parameters() + net2.buffers()):
            np.testing.assert_allclose(q, p, rtol=tol, atol=tol, err_msg=f"member {k} {name}")


@pytest.mark.parametrize("optimizer, options, lrs", [
    ("sgd", {}, [0.01, 0.1, 0.3]),
    ("sgd", {"momentum": 0.9}, [0.01, 0.05, 0.1]),
    ("sgd", {"momentum": 0.9, "nesterov": True}, [0.01, 0.05, 0.1]),
    ("sgd", {"weight_decay": 0.01}, [0.01, 0.05, 0.1]),
    ("rmsprop", {}, [0.001, 0.003, 0.01]),
    ("rmsprop", {"weight_decay": 0.01}, [0.001, 0.003, 0.01]),
    ("adam", {}, [0.001, 0.01, 0.03]),
    ("adam", {"weight_decay": 0.01}, [0.001, 0.01, 0.03]),
    ("adamw", {}, [0.001, 0.01, 0.03]),
])
def test_every_optimiser_full_batch(data, optimizer, options, lrs):
    X, y = data
    nets = networks(3)
    X, Y, _ = nets[0].check_data(X, y)
    alone, together = alone_and_together(
        lambda: trainers(networks(3), optimizer, lrs, **options), X, Y, 40)
    assert_same(alone, together)
    # the members really differ (each its own rate and seed)
    assert len({round(h.loss[-1], 8) for _, h in alone}) == 3


def test_each_member_its_own_settings_in_one_stack(data):
    """Momentum 0 and 0.9, Nesterov or not, L2 and L1 per member: one stack."""
    X, y = data
    specs = [{"momentum": 0.0}, {"momentum": 0.9}, {"momentum": 0.5, "nesterov": True},
             {"momentum": 0.9, "weight_decay": 0.001}]
    penalties = [(0.0, 0.0), (0.01, 0.0), (0.0, 0.01), (0.1, 0.001)]

    def make():
        nets = networks(4)
        for net, (alpha, l1) in zip(nets, penalties):
            net.alpha, net.l1 = alpha, l1
        return [gn.Trainer(net, gn.SGD(lr=0.05, **spec), rng=k)
                for k, (net, spec) in enumerate(zip(nets, specs))]

    X, Y, _ = networks(1)[0].check_data(X, y)
    assert_same(*alone_and_together(make, X, Y, 40))


@pytest.mark.parametrize("schedule", ["step", "exponential", "cosine", "plateau", "annealing",
                                      "adaptive"])
def test_schedules(data, schedule):
    X, y = data
    X, Y, _ = networks(1)[0].check_data(X, y)
    options = {"step": {"step_size": 5}, "plateau": {"patience": 1, "threshold": 0.05, "monitor": "loss"},
               "adaptive": {"patience": 2, "threshold": 0.5}}.get(schedule, {})
    alone, together = alone_and_together(
        lambda: trainers(networks(3), "sgd", [0.05, 0.1, 0.2], momentum=0.9), X, Y, 30,
        schedule=lambda k: gn.get_schedule(schedule, **options))
    assert_same(alone, together)
    assert any(len(set(h.lr)) > 1 for _, h in alone)  # the rate did change


def test_invscaling_counts_samples_with_mini_batches(data):
    X, y = data
    X, Y, _ = networks(1)[0].check_data(X, y)
    schedule = lambda k: gn.get_schedule("invscaling", unit="sample")
    assert_same(*alone_and_together(
        lambda: trainers(networks(2), "sgd", [0.1, 0.3], batch_size=32), X, Y, 5,
        schedule=schedule))


def test_mini_batches_with_each_members_shuffles(data):
    X, y = data
    X, Y, _ = networks(1)[0].check_data(X, y)
    alone, together = alone_and_together(
        lambda: trainers(networks(3), "adam", [0.001, 0.003, 0.01], batch_size=32), X, Y, 8)
    assert_same(alone, together)
    # 150 rows in batches of 32: 5 steps an epoch, from each member's own permutations
    assert all(h.n_steps == 40 for _, h in together)


def test_early_stopping_each_member_stops_at_its_own_epoch(data):
    X, y = data
    net = networks(1)[0]
    X_train, Y_train, _ = net.check_data(X[:100], y[:100])
    validation = net.check_data(X[100:], y[100:])[:2]
    alone, together = alone_and_together(
        lambda: trainers(networks(4), "sgd", [0.3, 1.0, 2.0, 0.05], momentum=0.9,
                         callbacks=lambda k: [gn.EarlyStopping(patience=3)]),
        X_train, Y_train, 200, validation=validation)
    assert_same(alone, together)
    stops = [len(h.loss) for _, h in alone]
    assert len(set(stops)) > 1 and min(stops) < 200  # members left at different epochs


def test_max_epochs_per_member_and_dropout_masks_per_member(data):
    X, y = data
    X, Y, _ = networks(1)[0].check_data(X, y)
    make = lambda: trainers(networks(3, dropout=[0.3]), "sgd", [0.05, 0.1, 0.2],
                            batch_size=50)
    alone_trainers, together_trainers = make(), make()
    epochs = [5, 12, 8]
    alone = [(t.network, t.fit(X, Y, e)) for t, e in zip(alone_trainers, epochs)]
    stacked = fit_together([Run(t, X, Y, e) for t, e in zip(together_trainers, epochs)])
    assert_same(alone, [(t.network, h) for t, h in zip(together_trainers, stacked)])
    assert [len(h.loss) for h in stacked] == epochs
    # each member's Generator has made the draws of its solo run, no more
    for a, b in zip(alone_trainers, together_trainers):
        assert a.rng.integers(1 << 30) == b.rng.integers(1 << 30)


def test_dropout_rates_differ_by_member_and_p0_draws_nothing(data):
    X, y = data
    X, Y, _ = networks(1)[0].check_data(X, y)

    def make():
        nets = [gn.Network.from_sizes([9, 12, 1], dropout=p, seed=k)
                for k, p in enumerate([0.0, 0.2, 0.5])]
        if not any(isinstance(layer, gn.Dropout) for layer in nets[0].layers):
            nets[0] = gn.Network([copy.deepcopy(layer) for layer in nets[0].layers[:1]]
                                 + [gn.Dropout(0.0)] + [copy.deepcopy(nets[0].layers[1])],
                                 seed=0).pack()
        return trainers(nets, "sgd", [0.1, 0.1, 0.1], batch_size=40)

    assert_same(*alone_and_together(make, X, Y, 6))


def test_batch_norm_running_statistics_per_member(data):
    X, y = data
    X, Y, _ = networks(1)[0].check_data(X, y)
    alone, together = alone_and_together(
        lambda: trainers(networks(3, sizes=(9, 8, 6, 1), batch_norm=True), "momentum",
                         [0.01, 0.05, 0.1], batch_size=37), X, Y, 6)
    assert_same(alone, together)
    stats = [net.buffers()[0] for net, _ in together]
    assert not np.allclose(stats[0], stats[1])  # each member its own statistics


def test_softmax_and_regression_losses(data, rng):
    X, y = data
    y3 = (y + (X[:, 0] > 0)).astype(int)  # three classes
    nets = lambda: networks(3, sizes=(9, 6, 3), output_activation="softmax")
    X3, Y3, _ = nets()[0].check_data(X, y3)
    assert_same(*alone_and_together(lambda: trainers(nets(), "adam", [0.001, 0.01, 0.02]),
                                    X3, Y3, 20))
    target = np.column_stack([X[:, 0] - X[:, 1], X[:, 2]])
    for loss in ("mse", "half_squared_error", "sse"):
        lr = 0.001 if loss == "sse" else 0.05

        def make(loss=loss, lr=lr):
            return trainers(networks(2, sizes=(9, 5, 2), output_activation="identity",
                                     loss=loss), "sgd", [lr, lr / 2])

        Xr, Yr, _ = make()[0].network.check_data(X, target)
        assert_same(*alone_and_together(make, Xr, Yr, 20))


def test_sample_weights_and_rows_of_their_own(data):
    """Folds: each member its own rows (the same number), with sample weights."""
    X, y = data
    net = networks(1)[0]
    rng = np.random.default_rng(0)
    rows = []
    for k in range(3):
        pick = rng.permutation(len(X))[:100]
        rows.append(net.check_data(X[pick], y[pick])[:2])
    alone, together = alone_and_together(
        lambda: trainers(networks(3), "sgd", [0.05, 0.1, 0.2], batch_size=30), None, None, 5,
        rows=rows)
    assert_same(alone, together)
    weights = rng.uniform(0.5, 2.0, size=len(X))
    Xw, Yw, w = net.check_data(X, y, weights)
    make = lambda: trainers(networks(2), "sgd", [0.05, 0.2])
    alone_trainers, together_trainers = make(), make()
    alone = [(t.network, t.fit(Xw, Yw, 15, sample_weight=w)) for t in alone_trainers]
    stacked = fit_together([Run(t, Xw, Yw, 15, w) for t in together_trainers])
    assert_same(alone, [(t.network, h) for t, h in zip(together_trainers, stacked)])


def test_a_diverging_member_stops_alone(data):
    """A regression whose rate is far too large overflows to an infinite loss:
    that member keeps its last finite weights and raises what its own run
    raises; the others go on to the end."""
    X, _ = data
    target = X[:, :1] * 3.0
    regs = lambda: networks(3, sizes=(9, 8, 1), output_activation="identity")
    Xr, Yr, _ = regs()[0].check_data(X, target)
    alone, together = alone_and_together(lambda: trainers(regs(), "sgd", [0.01, 50.0, 0.05]),
                                         Xr, Yr, 60)
    assert isinstance(alone[1][1], gn.TrainingDivergedError)
    assert isinstance(together[1][1], gn.TrainingDivergedError)
    assert all(np.isfinite(p).all() for p in together[1][0].parameters())
    assert len(together[0][1].loss) == len(together[2][1].loss) == 60
    assert_same(alone, together)


def test_a_step_callback_that_stops_mid_epoch(data):
    X, y = data
    X, Y, _ = networks(1)[0].check_data(X, y)

    class StopAt(gn.Callback):
        def __init__(self, step):
            self.step = step

        def on_step_end(self, trainer, step, loss):
            if step == self.step:
                trainer.stop = True

    alone, together = alone_and_together(
        lambda: trainers(networks(3), "sgd", [0.05, 0.1, 0.2], batch_size=40,
                         callbacks=lambda k: [StopAt(5 + 3 * k)]), X, Y, 10)
    assert_same(alone, together)
    assert [h.n_steps for _, h in together] == [6, 9, 12]


def test_members_come_back_to_their_own_arrays(data):
    X, y = data
    nets = networks(2)
    homes = [net.parameters() for net in nets]
    train_together(nets, X, y, lr=[0.1, 0.2], epochs=3)
    for net, home in zip(nets, homes):
        assert all(a is b for a, b in zip(net.parameters(), home))
    stack = NetworkStack(nets)
    assert stack.parameters()[0].shape == (2, 9, 12)
    stack.parameters()[0][1] += 1.0
    stack.release()
    np.testing.assert_array_equal(homes[1][0], nets[1].parameters()[0])


def test_train_together_is_train_for_each(data):
    X, y = data
    a, b = networks(3), networks(3)
    lrs = [0.01, 0.1, 0.5]
    alone = [gn.train(net, X, y, optimizer=gn.SGD(lr, momentum=0.9), epochs=25, batch_size=64,
                      seed=k) for k, (net, lr) in enumerate(zip(a, lrs))]
    together = train_together(b, X, y, lr=lrs, momentum=0.9, epochs=25, batch_size=64,
                              seeds=[0, 1, 2])
    assert_same(list(zip(a, alone)), list(zip(b, together)))


def test_refuses_what_cannot_share_a_stack(data):
    X, y = data
    with pytest.raises(ValueError, match="one shape"):
        NetworkStack([gn.Network.from_sizes([9, 4, 1]), gn.Network.from_sizes([9, 5, 1])])
    nets = networks(2)
    X, Y, _ = nets[0].check_data(X, y)
    a = gn.Trainer(nets[0], gn.SGD(0.1))
    b = gn.Trainer(nets[1], gn.Adam(0.1))
    assert stack_key(a, X) != stack_key(b, X)
    with pytest.raises(ValueError, match="stack_key"):
        fit_together([Run(a, X, Y, 2), Run(b, X, Y, 2)])


# -- the estimators and the search -------------------------------------------------------------
def test_fit_many_equals_each_fit(data):
    """glassnet.estimators.fit_many: each estimator's fitted attributes are its own
    fit's (scikit-learn's stopping rule, early stopping on a validation split,
    adaptive and invscaling rates, mini-batches), a diverging one raises what
    its fit raises and keeps its state, an lbfgs one runs alone."""
    import warnings

    from sklearn.base import clone

    from glassnet.estimators import fit_many

    X, y = data
    base = gn.MLPClassifier((6,), solver="sgd", max_iter=40, random_state=3)
    settings = [{"learning_rate_init": 0.05}, {"learning_rate_init": 0.2, "alpha": 0.01},
                {"learning_rate_init": 0.1, "momentum": 0.0},
                {"early_stopping": True, "learning_rate_init": 0.1},
                {"learning_rate": "adaptive", "learning_rate_init": 0.3},
                {"learning_rate": "invscaling", "learning_rate_init": 0.5},
                {"batch_size": 32, "learning_rate_init": 0.1},
                {"learning_rate_init": 1e6, "momentum": 0.9},
                {"solver": "lbfgs"}]
    estimators = [clone(base).set_params(**s) for s in settings]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = []
        for estimator in estimators:
            try:
                alone.append(clone(estimator).fit(X, y))
            except ValueError as exc:
                alone.append(exc)
        together = fit_many([(e, X, y) for e in estimators])
    for s, a, b, e in zip(settings, alone, together, estimators):
        if isinstance(a, Exception):
            assert type(b) is type(a) and str(b) == str(a), s
            assert not hasattr(e, "coefs_")  # the failed fit left it unfitted
            continue
        assert b.n_iter_ == a.n_iter_, s
        if s.get("solver") != "lbfgs":
            assert b.t_ == a.t_
            np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=TOL, atol=TOL)
        for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            np.testing.assert_allclose(q, p, rtol=TOL, atol=TOL, err_msg=str(s))
        np.testing.assert_array_equal(b.predict(X), a.predict(X))
    # a regression whose rate is far too large: its loss overflows, as alone
    reg = gn.MLPRegressor((6,), solver="sgd", learning_rate_init=1e3, max_iter=20,
                          random_state=0)
    target = X[:, 0] * 5
    with pytest.raises(ValueError) as alone_error:
        clone(reg).fit(X, target)
    [outcome] = fit_many([(reg, X, target)])
    assert isinstance(outcome, ValueError) and str(outcome) == str(alone_error.value)
    assert not hasattr(reg, "coefs_")  # the failed fit left it unfitted


def test_stacked_search_results_equal_one_at_a_time():
    """make_search's stacked grid: cv_results_ (every fold's score, the ranks,
    the best) equal to the same search fitting one candidate and fold at a
    time, to 1e-9; a random search too."""
    import warnings

    from scipy.stats import loguniform

    from glassnet.search import make_pipeline, make_search
    from glassnet.tables import prepare

    prepared = prepare("heart")
    X, y = prepared.X, prepared.y
    model = gn.MLPClassifier((8,), solver="sgd", max_iter=60, random_state=0)
    spaces = [({"learning_rate_init": [0.01, 0.1], "alpha": [1e-4, 1e-2],
                "momentum": [0.0, 0.9], "hidden_layer_sizes": [(4,), (8,)]}, 0),
              ({"learning_rate_init": loguniform(1e-3, 1e-1)}, 6)]
    for space, n_iter in spaces:
        found = {}
        for stack in (True, False):
            search = make_search(make_pipeline(model), space, cv=3, n_iter=n_iter, stack=stack)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found[stack] = search.fit(X, y)
        assert type(found[True]).__name__.startswith("Stacked")
        a, b = found[True].cv_results_, found[False].cv_results_
        for key in ("mean_test_score", "std_test_score", *(f"split{k}_test_score"
                                                           for k in range(3))):
            np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-9)
        assert list(a["rank_test_score"]) == list(b["rank_test_score"])
        assert a["params"] == b["params"]
        assert found[True].best_params_ == found[False].best_params_
        np.testing.assert_array_equal(found[True].predict(X), found[False].predict(X))


def test_stack_groups_by_fold_and_shape():
    from glassnet.search import stack_groups

    candidates = [{"model__hidden_layer_sizes": (4,), "model__learning_rate_init": 0.1},
                  {"model__hidden_layer_sizes": (4,), "model__learning_rate_init": 0.01},
                  {"model__hidden_layer_sizes": (8,), "model__learning_rate_init": 0.1}]
    groups = stack_groups(candidates, 2)
    assert sorted(len(members) for members in groups.values()) == [1, 1, 2, 2]
    assert {split for split, _ in groups} == {0, 1}


def test_fit_many_splits_a_stack_at_the_memory_budget(data, monkeypatch):
    from sklearn.base import clone

    import glassnet.stack
    from glassnet.estimators import fit_many

    sizes = []
    real = glassnet.stack.fit_together

    def counting(runs, **kw):
        sizes.append(len(runs))
        return real(runs, **kw)

    monkeypatch.setattr(glassnet.stack, "fit_together", counting)
    X, y = data
    base = gn.MLPClassifier((6,), solver="sgd", max_iter=3, random_state=0)
    estimators = [clone(base).set_params(learning_rate_init=0.01 * (k + 1)) for k in range(5)]
    # one member's arrays: 4 x 150 rows x (9 + 6 + 1) x 8 bytes + its rows, about 90 KiB
    with pytest.warns(ConvergenceWarning):  # 3 epochs: each fit warns, as alone
        fit_many([(e, X, y) for e in estimators], memory_budget=200_000)
    assert sizes == [2, 2, 1]
    with pytest.warns(ConvergenceWarning):
        fit_many([(clone(e), X, y) for e in estimators])
    assert sizes[-1] == 5  # 1 GiB holds them all


def test_train_seeds_reports_mean_and_std_over_seeds_trained_together(tmp_path, capsys):
    """`glassnet train --seeds 3`: metrics.json's per-seed table holds the run's own
    seed and two more, each equal to that seed trained alone; the report shows the
    mean ± std of the test metrics; without --seeds there is no such block."""
    import json
    import warnings

    from sklearn.base import clone

    from glassnet.cli import main
    from glassnet.cli.report import evaluate_rows
    from glassnet.cli.train import make_estimator
    from glassnet.tables import prepare, split

    args = ["train", "heart", "--hidden", "6", "--epochs", "30", "--quiet", "--plots", "none",
            "--seed", "4"]
    assert main([*args, "--seeds", "3", "--out", str(tmp_path / "three")]) == 0
    out = capsys.readouterr().out
    assert "over 3 seeds (trained together" in out and "test accuracy:" in out
    seeds = json.loads((tmp_path / "three" / "metrics.json").read_text())["seeds"]
    assert [row["seed"] for row in seeds["per_seed"]] == [4, 5, 6]
    accuracies = [row["test"]["accuracy"] for row in seeds["per_seed"]]
    assert seeds["test"]["accuracy"]["mean"] == pytest.approx(np.mean(accuracies), abs=1e-12)
    assert seeds["test"]["accuracy"]["std"] == pytest.approx(np.std(accuracies), abs=1e-12)
    # seed 6 alone, as train builds it, gives the table's row
    prepared = prepare("heart")
    rows = split(prepared, 0.2, 4, scale="standard")
    alone = make_estimator(prepared.task, (6,), "relu", "adam", 0.001, 0.9, True, "auto", 30,
                           "constant", 0.0001, 6, False, 10, 1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = clone(alone).fit(rows.X_train, rows.y_train)
    expected = evaluate_rows(fitted, prepared, rows.X_test, rows.y_test)
    assert seeds["per_seed"][2]["test"]["log_loss"] == pytest.approx(expected["log_loss"],
                                                                     abs=1e-9)
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert "over " not in capsys.readouterr().out
    assert "seeds" not in json.loads((tmp_path / "one" / "metrics.json").read_text())


def test_landscape_paths_trained_together_equal_one_after_another(data):
    """compare_optimizers trains its paths from one start as stacks (one per
    optimiser class, the large-rate ones once the rate is measured): the paths,
    the measured rate and the divergence marks are those of one run after another."""
    from glassnet.landscape import compare_optimizers

    X, y = data
    found = {}
    for stack in (True, False):
        net = gn.Network.from_sizes([9, 5, 1], seed=3)
        found[stack] = compare_optimizers(
            net, X, y, optimizers=("sgd", "momentum", "adam", "annealing", "large-lr"), lr=0.1,
            epochs=30, batch_size=50, resolution=5, stack=stack)
    a, b = found[True], found[False]
    assert a.large_lr == pytest.approx(b.large_lr, rel=1e-9)
    for name in ("sgd", "momentum", "adam", "annealing", "large-lr"):
        assert a.diverged[name] == b.diverged[name]
        np.testing.assert_allclose(a.paths[name], b.paths[name], rtol=1e-9, atol=1e-9)


def test_compare_folds_trained_together_score_as_cross_validate():
    """glassnet compare's glassnet row: the folds' networks trained as stacks score
    what scikit-learn's cross_validate scores, fold by fold."""
    import warnings

    from sklearn.model_selection import StratifiedKFold, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from glassnet.cli.compare import folds_together
    from glassnet.tables import prepare

    prepared = prepare("heart")
    y = np.asarray(prepared.y).astype(str)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)  # 270 rows: every fold trains on 216
    pipeline = make_pipeline(StandardScaler(), gn.MLPClassifier((8,), max_iter=40,
                                                                random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = folds_together(pipeline, prepared.X, y, cv, "accuracy")
        theirs = cross_validate(pipeline, prepared.X, y, cv=cv, scoring="accuracy")
    np.testing.assert_array_equal(ours["test_score"], theirs["test_score"])
    assert len(ours["fit_time"]) == 5


def test_stack_benchmark_quick_mode_runs():
    """benchmarks/stack.py keeps working (its timings are not asserted)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("torch")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(root / "benchmarks" / "stack.py"), "--quick",
                           "--only", "tutorial"], check=False, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(root / "src")})
    assert done.returncode == 0, done.stderr
    assert "64 tutorial networks" in done.stdout and "glassnet, 64 stacked" in done.stdout


def test_seed_table_does_not_copy_the_runs_callbacks():
    """The other seeds are made from the run's parameters without its callbacks: a
    callback that cannot be copied (a progress bar's console holds a lock) does not
    stop ``--seeds``."""
    import threading
    import warnings

    from glassnet import MLPClassifier
    from glassnet.cli.seeds import seed_table
    from glassnet.tables import prepare, split
    from glassnet.training import Callback

    class Locked(Callback):
        def __init__(self):
            self.lock = threading.RLock()

    prepared = prepare("heart")
    rows = split(prepared, 0.2, 0, scale="standard")
    model = MLPClassifier((4,), max_iter=5, random_state=0, callbacks=[Locked()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(rows.X_train, rows.y_train)
        table = seed_table(model, 3, prepared, rows.X_train, rows.y_train, rows.X_test,
                           rows.y_test, {"accuracy": 0.5})
    assert [row["seed"] for row in table["per_seed"]] == [0, 1, 2] and table["trained"] == 3


def test_a_member_whose_scoring_fails_scores_nan_and_leaves_the_others_alone(data):
    """fit_stack_group: one member's scorer raising gives that member NaN and a
    UserWarning, fit_error None (scikit-learn's _fit_and_score with error_score=nan),
    and the other members the scores of a group without it."""
    from sklearn.metrics import log_loss

    from glassnet.search import fit_stack_group

    X, y = data
    train, test = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    model = gn.MLPClassifier((6,), solver="sgd", max_iter=20, random_state=0)

    def scorer(member, X_test, y_test):
        if member.learning_rate_init == 0.05:
            raise ZeroDivisionError("a scorer that fails on this member")
        return -log_loss(y_test, member.predict_proba(X_test))

    rates = [0.01, 0.05, 0.1]
    with warnings.catch_warnings():
        # 20 epochs: each member warns that it has not converged, as it would alone
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="(?s)Scoring failed.*ZeroDivisionError"):
            out = fit_stack_group(model, X, y, train, test,
                                  [{"learning_rate_init": r} for r in rates], scorer)
    with pytest.warns(ConvergenceWarning):
        alone = fit_stack_group(model, X, y, train, test,
                                [{"learning_rate_init": r} for r in (0.01, 0.1)], scorer)
    assert np.isnan(out[1]["test_scores"]) and out[1]["fit_error"] is None
    assert all(o["fit_error"] is None for o in out)
    # each member of a stack is trained as if alone: its weights and so its loss
    # agree to the rounding of the stacked matrix products, far inside 1e-9
    np.testing.assert_allclose([out[0]["test_scores"], out[2]["test_scores"]],
                               [a["test_scores"] for a in alone], rtol=0, atol=1e-9)
    assert np.all(np.isfinite([a["test_scores"] for a in alone]))
