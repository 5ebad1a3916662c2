"""Every way of training runs glassnet's one loop.

The engine's ``train``, the estimators' ``fit`` (each solver, early stopping)
and ``partial_fit``, the landscape and the command line all call their
callbacks from :meth:`Trainer._notify`, inside :meth:`Trainer.fit` (the
stochastic ways; :func:`glassnet.stack.fit_together` for networks trained
together, which drives each member's Trainer the same way) or
:meth:`Trainer.end_epoch` (each of lbfgs's iterations).
A spy on ``_notify`` records who called it; a recording callback checks that
nothing else calls it.
"""

import os
import re
import sys
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import schedules
from glassnet.stack import fit_together
from glassnet.training import Trainer

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning

NOTIFY = Trainer._notify.__code__
FIT = Trainer.fit.__code__
FIT_TOGETHER = fit_together.__code__
END_EPOCH = Trainer.end_epoch.__code__
SESSION = Trainer.session.__wrapped__.__code__
HOOKS = ("on_train_begin", "on_epoch_begin", "on_step_end", "on_epoch_end", "on_train_end")


def stack_codes(frame):
    codes = set()
    while frame is not None:
        codes.add(frame.f_code)
        frame = frame.f_back
    return codes


@pytest.fixture
def spy(monkeypatch):
    """Every ``Trainer._notify`` call: ``(event, trainer, code objects on the stack)``."""
    calls = []

    def notify(self, event, *args):
        calls.append((event, self, stack_codes(sys._getframe(1))))
        return original(self, event, *args)

    original = Trainer._notify
    monkeypatch.setattr(Trainer, "_notify", notify)
    return calls


class Recorder(gn.Callback):
    """Counts each hook and asserts it was called by ``Trainer._notify``."""

    def __init__(self):
        self.counts = dict.fromkeys(HOOKS, 0)

    def _seen(self, hook):
        assert sys._getframe(2).f_code is NOTIFY, hook
        self.counts[hook] += 1

    def on_train_begin(self, trainer):
        self._seen("on_train_begin")

    def on_epoch_begin(self, trainer, epoch):
        self._seen("on_epoch_begin")

    def on_step_end(self, trainer, step, loss):
        self._seen("on_step_end")

    def on_epoch_end(self, trainer, epoch, logs):
        self._seen("on_epoch_end")

    def on_train_end(self, trainer):
        self._seen("on_train_end")


def assert_from_the_loop(calls, stochastic=True):
    assert calls
    for event, _, codes in calls:
        if event in ("on_train_begin", "on_train_end"):
            assert SESSION in codes, event
        elif event == "on_epoch_end":
            assert END_EPOCH in codes
        if stochastic:
            assert FIT in codes or FIT_TOGETHER in codes, event


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def test_engine_train(spy):
    X, y = data()
    recorder = Recorder()
    history = gn.train(gn.Network.from_sizes([3, 4, 1], seed=0), X, y, epochs=3, batch_size=25,
                       callbacks=[recorder])
    assert recorder.counts == {"on_train_begin": 1, "on_epoch_begin": 3, "on_step_end": 9,
                               "on_epoch_end": 3, "on_train_end": 1}
    assert history.n_steps == 9 and history.samples_seen == 180
    assert_from_the_loop(spy)


@pytest.mark.parametrize("params,schedule", [
    ({"solver": "sgd", "learning_rate": "invscaling"}, schedules.InverseScaling),
    ({"solver": "sgd", "learning_rate": "adaptive"}, schedules.Adaptive),
    ({"solver": "adam"}, type(None)),
    ({"solver": "adam", "early_stopping": True}, type(None)),
])
def test_estimator_fit(spy, params, schedule):
    X, y = data()
    recorder = Recorder()
    clf = quiet(lambda: gn.MLPClassifier((4,), max_iter=4, batch_size=20, random_state=0,
                                         callbacks=[recorder], **params).fit(X, y))
    assert recorder.counts["on_epoch_end"] == clf.n_iter_ == 4
    assert recorder.counts["on_step_end"] == clf.history_.n_steps
    assert recorder.counts["on_train_begin"] == recorder.counts["on_train_end"] == 1
    assert_from_the_loop(spy)
    trainer = spy[0][1]
    assert isinstance(trainer.schedule, schedule)
    # the tol / n_iter_no_change / early_stopping rule is the one EarlyStopping callback
    stoppers = [c for c in trainer.callbacks if isinstance(c, gn.EarlyStopping)]
    assert len(stoppers) == 1
    assert stoppers[0].monitor == ("val_score" if params.get("early_stopping") else "loss")


def test_partial_fit_is_one_epoch_of_the_loop(spy):
    X, y = data()
    recorder = Recorder()
    reg = gn.MLPRegressor(hidden_layer_sizes=(4,), batch_size=20, random_state=0, callbacks=[recorder])
    for _ in range(3):
        reg.partial_fit(X, y.astype(float))
    assert recorder.counts["on_train_begin"] == recorder.counts["on_epoch_end"] == 3
    assert reg.t_ == 3 * len(X) == reg.history_.samples_seen
    assert_from_the_loop(spy)


def test_lbfgs_iterations_end_epochs_of_the_loop(spy):
    X, y = data()
    recorder = Recorder()
    clf = quiet(lambda: gn.MLPClassifier((4,), solver="lbfgs", max_iter=5, random_state=0,
                                         callbacks=[recorder]).fit(X, y))
    assert recorder.counts["on_epoch_end"] == len(clf.history_.loss) == clf.n_iter_
    assert recorder.counts["on_step_end"] == 0  # SciPy takes the steps
    assert_from_the_loop(spy, stochastic=False)


def test_landscape(spy):
    from glassnet import landscape as ls

    X, y = data()
    net = gn.Network.from_sizes([3, 4, 1], seed=0)
    ls.compare_optimizers(net, X, y, optimizers=("momentum", "large-lr"), lr=0.1, epochs=5,
                          resolution=5, large_lr=0.5)
    steps = [call for call in spy if call[0] == "on_step_end"]
    assert len(steps) == 2 * 5  # full batch: one step per epoch, two optimisers
    assert_from_the_loop(spy)
    trainers = list({id(call[1]): call[1] for call in spy}.values())
    assert [type(t.optimizer) for t in trainers] == [gn.SGD, gn.SGD]
    assert [type(t.schedule) for t in trainers] == [type(None), schedules.Warmup]


def test_command_line(spy, tmp_path, capsys):
    pytest.importorskip("click")
    from glassnet.cli import main

    code = main(["train", "xor", "--epochs", "3", "--plots", "none", "--quiet",
                 "--out", os.fspath(tmp_path / "run")])
    capsys.readouterr()
    assert code == 0
    assert sum(call[0] == "on_epoch_end" for call in spy) == 3
    assert_from_the_loop(spy)


def test_map_of_a_fit_points_at_the_code():
    """Each step of the docs' "How a fit flows" names a function of the module whose
    reference page it links."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "docs", "explanation", "how-a-fit-flows.md")
    with open(path, encoding="utf-8") as handle:
        section = handle.read().split("\n## ", 1)[0]
    step = re.compile(r"^\d\. \[`(\w+)\.(\w+)`\]\(\.\./reference/glassnet\.(\w+)\.md\)",
                      re.MULTILINE)
    steps = step.findall(section)
    assert [(cls, name) for cls, name, _ in steps] == [
        ("_BaseMLP", "fit"), ("_BaseMLP", "_fit_stochastic"), ("Trainer", "fit"),
        ("Trainer", "step"), ("Network", "backward"), ("Dense", "backward_from_dZ")]
    for cls, name, module in steps:
        with open(os.path.join(root, "src", "glassnet", f"{module}.py"), encoding="utf-8") as handle:
            code = handle.read()
        body = code.split(f"\nclass {cls}", 1)[1].split("\nclass ", 1)[0]
        assert f"    def {name}(" in body, (cls, name, module)
    dW_line = re.search(r"in `(np\.matmul\(X\.T, dZ, out=self\.dW\))`", section).group(1)
    assert dW_line in body  # the last step's class holds the line that computes dW
