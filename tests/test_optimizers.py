"""Optimisers on their own (hand-computed steps) and the registry that names them.

Every update rule is also checked step by step against ``torch.optim`` in
``test_torch_crosscheck.py``; here the first steps are worked out by hand.
"""

import numpy as np
import pytest

from glassnet import optimizers
from glassnet.optimizers import SGD, Adam, AdamW, RMSProp, get_optimizer


def run(optimizer, theta, grads):
    theta = np.array(theta, dtype=float)
    for g in grads:
        optimizer.step([theta], [np.array(g, dtype=float)])
    return theta


def test_sgd_plain_momentum_nesterov_by_hand():
    g1, g2 = [1.0, -2.0], [0.5, 0.5]
    np.testing.assert_allclose(run(SGD(0.1), [1.0, 1.0], [g1]), [0.9, 1.2])
    # momentum μ = 0.5: v1 = g1, v2 = μ·v1 + g2 = [1, -0.5]
    np.testing.assert_allclose(run(SGD(0.1, momentum=0.5), [1.0, 1.0], [g1, g2]),
                               [1 - 0.1 * 1 - 0.1 * 1.0, 1 + 0.2 + 0.05])
    # Nesterov steps by g + μ·v: first [1.5, -3], then [0.5 + 0.5·1, 0.5 − 0.25]
    np.testing.assert_allclose(run(SGD(0.1, momentum=0.5, nesterov=True), [1.0, 1.0], [g1, g2]),
                               [1 - 0.15 - 0.1, 1 + 0.3 - 0.025])


def test_adam_first_step_is_lr_times_the_sign():
    """m̂ = g and v̂ = g² after one step, so θ moves by lr·g/(|g| + ε)."""
    theta = run(Adam(0.01, eps=0.0), [1.0, 1.0, 1.0], [[3.0, -0.2, 1e-3]])
    np.testing.assert_allclose(theta, [0.99, 1.01, 0.99], rtol=1e-12)


def test_adamw_decays_the_weights_before_the_adam_step():
    adam, adamw = run(Adam(0.01), [2.0], [[0.0]]), run(AdamW(0.01, weight_decay=0.5), [2.0], [[0.0]])
    assert adam[0] == 2.0 and adamw[0] == pytest.approx(2.0 * (1 - 0.01 * 0.5))


def test_rmsprop_first_step():
    """s = (1 − ρ)·g², so the first step is lr·g/(√(1 − ρ)·|g| + ε)."""
    theta = run(RMSProp(0.01, rho=0.9, eps=0.0), [0.0], [[4.0]])
    assert theta[0] == pytest.approx(-0.01 / np.sqrt(0.1))


def test_state_follows_the_parameters_and_lr_keeps_its_initial_value():
    optimizer = Adam(0.01)
    params = [np.zeros((2, 3)), np.zeros(3)]
    optimizer.step(params, [np.ones((2, 3)), np.ones(3)])
    assert optimizer.t == 1 and [s["m"].shape for s in optimizer.state] == [(2, 3), (3,)]
    optimizer.lr = 0.5  # a schedule moves lr; initial_lr stays what it was built with
    assert optimizer.initial_lr == 0.01 and optimizer.learning_rate == 0.5
    assert repr(optimizer) == "Adam(lr=0.5, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0)"


@pytest.mark.parametrize("build,match", [
    (lambda: SGD(0.0), "learning rate must be > 0"),
    (lambda: SGD(0.1, momentum=1.0), r"momentum must be in \[0, 1\)"),
    (lambda: SGD(0.1, nesterov=True), "Nesterov momentum needs momentum > 0"),
    (lambda: Adam(0.1, beta2=1.0), r"beta2 must be in \[0, 1\)"),
    (lambda: RMSProp(0.1, rho=-0.1), r"rho must be in \[0, 1\)"),
])
def test_bad_settings(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_registry_names_build_their_optimisers():
    assert type(get_optimizer("adam", lr=0.02)) is Adam and get_optimizer("adam").lr == 0.001
    momentum = get_optimizer("momentum", lr=0.1)
    assert (momentum.momentum, momentum.nesterov, momentum.lr) == (0.9, False, 0.1)
    nesterov = get_optimizer("nesterov", lr=0.1, momentum=0.5)  # options override the preset
    assert (nesterov.momentum, nesterov.nesterov) == (0.5, True)
    ready = SGD(0.3)
    assert get_optimizer(ready, lr=1.0) is ready
    for name, preset in optimizers.PRESETS.items():
        assert isinstance(get_optimizer(name, lr=0.1), preset.optimizer), name
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'; valid names: adam, adamw"):
        get_optimizer("adagrad")


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "momentum", "rmsprop"])
def test_a_rate_of_zero_moves_the_state_but_not_the_parameters(name):
    """A schedule may take lr to exactly 0 (cosine's default floor)."""
    optimizer = get_optimizer(name, lr=0.1)
    params = [np.ones((2, 2)), np.ones(2)]
    optimizer.step(params, [np.ones((2, 2)), np.ones(2)])
    before = [p.copy() for p in params]
    state = [{k: v.copy() for k, v in s.items()} for s in optimizer.state]
    optimizer.lr = 0.0
    optimizer.step(params, [np.full((2, 2), 2.0), np.full(2, 2.0)])
    assert all(np.array_equal(a, b) for a, b in zip(params, before))
    moments = [k for k in state[0] if k != "scratch"]
    for k in moments:
        assert not np.array_equal(optimizer.state[0][k], state[0][k])


@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam"])
def test_a_numpy_scalar_rate_steps_like_the_same_python_float(name):
    # np.float64 is not a "weak" scalar: kept as is, it would do the float32
    # update in float64 (slower, and rounded differently); the step stores a float
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((5, 3)).astype(np.float32)
    grads = [rng.standard_normal((5, 3)).astype(np.float32) for _ in range(3)]
    results = []
    for rate in (0.01, np.float64(0.01)):
        opt, p = get_optimizer(name, lr=0.01), theta.copy()
        for g in grads:
            opt.lr = rate
            opt.step([p], [g])
        assert type(opt.lr) is float and p.dtype == np.float32
        results.append(p)
    np.testing.assert_array_equal(results[0], results[1])


def test_a_step_into_fresh_out_arrays_writes_each_of_them():
    # the whole-buffer step caches its pieces per (params, grads, out): the
    # cache must hold those arrays themselves, so that arrays made after others
    # were dropped are never mistaken for them
    from glassnet.flat import pack, span
    shapes = [(3, 4), (4,)]

    def filled(value):
        return pack([np.full(s, float(value)) for s in shapes])[1]

    grads = filled(1.0)
    for _ in range(100):
        opt = SGD(lr=1.0)
        P, Q = filled(10), filled(20)
        first, X, Y = filled(0), filled(0), filled(0)
        opt.step(P, grads, out=first)
        opt.step(P, grads, out=X)
        opt.step(Q, grads, out=first)
        opt.step(Q, grads, out=Y)  # `first` leaves the optimiser's caches
        del first
        Z = filled(0)
        opt.step(Q, grads, out=Z)
        assert all((z == 19.0).all() for z in Z)
        assert any(key[2] is opt._out_span(Z) for key, _ in opt._pieces_cache)
        assert span(Z) is not None


@pytest.mark.parametrize("lr", [0.0, 1e-45, 1e-300])
def test_adam_at_a_rate_too_small_for_the_dtype_leaves_the_parameters(lr):
    theta = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    grads = np.array([[0.0, 1.0], [0.0, -2.0]], np.float32)  # zero gradients too
    opt, p = Adam(lr=0.1), theta.copy()
    opt.lr = lr
    opt.step([p], [grads])
    np.testing.assert_array_equal(p, theta)
    assert np.isfinite(opt.state[0]["v"]).all()


def test_copies_of_an_optimiser_with_no_parameters_and_of_mixed_dtypes():
    import pickle
    empty = Adam(0.1)
    empty.step([], [])
    assert pickle.loads(pickle.dumps(empty)).state == []
    mixed = Adam(0.1)
    params = [np.ones((2, 2), np.float32), np.ones(2)]
    for _ in range(2):
        mixed.step(params, [np.ones((2, 2), np.float32), np.ones(2)])
    assert params[0].dtype == np.float32 and params[1].dtype == np.float64
    np.testing.assert_allclose(params[0], params[1][0], rtol=1e-6)
    assert sorted(str(d) for d in mixed._scratch_buffer) == ["float32", "float64"]
