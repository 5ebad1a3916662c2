"""One playground run: the data, the network, the :class:`~glassnet.training.Trainer`
that trains it, and the snapshots the page draws.

Training goes through glassnet's own loop. A screen update runs whole epochs
with :meth:`Trainer.run_epoch <glassnet.training.Trainer.run_epoch>`, setting
the learning rate from the schedule before each epoch and reporting the
epoch's loss to it afterwards, as :func:`glassnet.train` does; the step
button runs one :meth:`Trainer.step <glassnet.training.Trainer.step>` on the
next batch of the same shuffled epoch. So ``N`` epochs here give the same
weights as ``glassnet.train(..., epochs=N)`` with the same seeds (the
exported snippet does exactly that, and a test checks it).

Snapshots are compact: the network's output over the view plane as one
byte per pixel, each unit's output as a small tile, the weights, the losses
and the per-layer gradient norms. The data set goes to the page once per
scene, never per frame.
"""

from __future__ import annotations

import base64
import copy
import math
import time

import numpy as np

from ..curvature import sharpness
from ..dynamics import inactive_fraction
from ..landscape import flatten, landscape_from_paths
from ..layers import Activation, BatchNorm, Dense, Dropout
from ..network import Network
from ..optimizers import get_optimizer
from ..schedules import get_schedule
from ..training import Trainer, score
from . import formulas
from .config import FEATURES, Config, schedule_options
from .data import build_data, view_plane

__all__ = ["RESOLUTION", "TILE", "Block", "Session", "blocks"]

RESOLUTION = 100  # pixels per side of the output image
TILE = 25  # pixels per side of a unit's tile (every 4th pixel of the output image)
MAX_POINTS_DRAWN = 2000
MAX_TRAJECTORY = 400
# λ_max is measured while playing at most four times a second, and so that measuring
# takes at most 5 % of the time (it costs a few dozen Hessian-vector products)
SHARPNESS_EVERY = 0.25
SHARPNESS_SHARE = 0.05
SHARPNESS_ITERATIONS = 60
MOMENTUM = 0.9  # the μ of get_optimizer("momentum") and ("nesterov")

# which settings rebuild what
DATA_FIELDS = {"data", "noise", "points", "train", "dseed", "features", "target", "upload",
               "onehot", "missing", "scale", "scaletarget"}
NETWORK_FIELDS = {"hidden", "act", "init", "seed", "dropout", "batchnorm"}
LIVE_FIELDS = {"opt", "lr", "sched", "batch", "l2", "l1"}
VIEW_FIELDS = {"view"}


def _b64(values):
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()).decode("ascii")


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _round(array, digits=5):
    """A nested list with ``digits`` significant digits (``None`` where a value is not
    finite): enough to draw and read. ``v → round(v·s)/s`` with ``s = 10^(digits − 1 −
    floor(log10|v|))``, for the whole array at once: for the page's small matrices each
    NumPy call costs more than its arithmetic, several times more under Pyodide."""
    array = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    safe = np.where(finite, array, 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(safe)))
        magnitude[safe == 0] = 0
        scale = 10.0 ** (digits - 1 - magnitude)
        rounded = np.round(safe * scale) / scale
    if finite.all():
        return rounded.tolist()
    return _none_where(rounded.tolist(), finite.tolist())


def _none_where(values, keep):
    """``values`` (nested lists) with ``None`` wherever ``keep`` is False."""
    if isinstance(values, list):
        return [_none_where(v, k) for v, k in zip(values, keep)]
    return values if keep else None


def _sup(n):
    return "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in str(n))


def _confusion(Y, Yhat, k):
    """``k × k`` counts, rows the true class, columns the predicted one (``Y`` as the
    loss sees it: one 0/1 column for two classes, one-hot rows for more)."""
    if Yhat.shape[1] == 1:
        true, predicted = (Y[:, 0] > 0.5).astype(np.intp), (Yhat[:, 0] > 0.5).astype(np.intp)
    else:
        true, predicted = Y.argmax(axis=1), Yhat.argmax(axis=1)
    # np.intp, not int64: bincount takes only the platform's index type (32 bits in Pyodide)
    return np.bincount(true * k + predicted, minlength=k * k).reshape(k, k).tolist()


def tile_bytes(values):
    """Quantise a unit's outputs to bytes: ``q = 127.5·(v/s + 1)`` with
    ``s = max(1, max|v|)``, so 0 maps to the middle colour; returns ``(b64, s)``."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    top = float(np.max(np.abs(values[finite]))) if finite.any() else 1.0
    s = max(1.0, top)
    q = np.round((np.clip(np.where(finite, values, 0.0) / s, -1, 1) + 1) * 127.5)
    return _b64(q), s


class Block:
    """One dense layer of the page and the engine layers that follow it: ``Dense``,
    or ``Dense → BatchNorm → Activation``, then an optional ``Dropout``.

    Attributes: ``dense``, ``norm`` (``BatchNorm`` or None), ``activation`` (the
    activation function ``f``), ``dropout`` (``Dropout`` or None), ``layers`` (all
    of them, in order).
    """

    def __init__(self, dense):
        self.dense, self.norm, self.dropout = dense, None, None
        self.activation = dense.activation
        self.layers = [dense]

    def add(self, layer):
        self.layers.append(layer)
        if isinstance(layer, BatchNorm):
            self.norm = layer
        elif isinstance(layer, Activation):
            self.activation = layer.activation
        elif isinstance(layer, Dropout):
            self.dropout = layer


def blocks(network):
    """The network's layers grouped into one :class:`Block` per dense layer."""
    groups = []
    for layer in network.layers:
        if isinstance(layer, Dense):
            groups.append(Block(layer))
        else:
            groups[-1].add(layer)
    return groups


class Session:
    """A playground run.

    Parameters
    ----------
    config : Config, optional
    resolve_upload : callable, optional
        ``upload_id -> (path, name)`` for uploaded CSV files (the server's store).

    Attributes
    ----------
    config, data : the settings and the :class:`~glassnet.playground.data.PlaygroundData`.
    network, optimizer, schedule, trainer : the engine objects of this run.
    X_train, Y_train, X_test, Y_test : the scaled rows, as the network sees them.
    epoch, steps : completed epochs and optimiser steps; ``position`` counts the
        rows of the current epoch already stepped over (0 between epochs).
    manual_steps, changes : single-sample steps and settings changed while training.
    edits : weights and biases set by hand, ``(epoch, name, old, new)``.
    curvature : the λ_max measurements of this run (see :meth:`measure_sharpness`).
    grid, grid_inputs : the view plane's pixels (row 0 at the top) and the network's
        inputs there.
    inspected_row : the row the step inspector last showed.
    """

    def __init__(self, config=None, resolve_upload=None):
        self.resolve_upload = resolve_upload or (lambda upload_id: (None, None))
        self.config = config or Config()
        self._build_data()
        self.reset()

    # -- building ---------------------------------------------------------------------
    def _build_data(self):
        path, name = (None, None)
        if self.config.kind == "csv":
            path, name = self.resolve_upload(self.config.upload)
        try:
            data = build_data(self.config, path, name)
        except ValueError as exc:
            if path and name and path in str(exc):  # say the user's file name, not ours
                raise type(exc)(str(exc).replace(path, name)) from None
            raise
        self.data = data
        self._prepare_rows()

    def _prepare_rows(self):
        # the view plane's pixels (row 0 at the top) and the network inputs there
        data = self.data
        self.grid = data.plane.grid(RESOLUTION)
        self.grid_inputs = data.plane.to_inputs(self.grid)

    def _make_network(self):
        c, data = self.config, self.data
        sizes = [data.X.shape[1], *c.hidden, data.n_outputs]
        return Network.from_sizes(sizes, activation=list(c.act),
                                  output_activation=data.output_activation, init=c.init,
                                  alpha=c.l2, l1=c.l1, dropout=c.dropout,
                                  batch_norm=c.batchnorm, seed=c.seed)

    def reset(self):
        """Fresh weights from the seed; the epoch counter, curves and path start again."""
        self.network = self._make_network()
        net, data = self.network, self.data
        self.blocks = blocks(net)
        self.X_train, self.Y_train, _ = net.check_data(data.Xs[data.train], data.Y[data.train])
        if len(data.test):
            self.X_test, self.Y_test, _ = net.check_data(data.Xs[data.test], data.Y[data.test])
        else:
            self.X_test = self.Y_test = None
        self._shuffles = np.random.default_rng(self.config.seed)  # as glassnet.train(seed=...)
        self.optimizer = get_optimizer(self.config.opt, lr=self.config.lr)
        self.schedule = get_schedule(self.config.sched, **schedule_options(self.config.sched))
        self.trainer = self._make_trainer()
        self.epoch = 0  # completed epochs
        self.steps = 0  # optimiser steps, manual ones included
        self.manual_steps = 0  # single-sample steps from the step inspector
        self.changes = []  # (epoch, setting, value) changed while training
        self.edits = []  # (epoch, "W¹[i, j]" or "b¹[j]", old, new) set by hand
        self.curvature = []  # {"epoch", "step", "value", "threshold", "lr"} per measurement
        self._sharpness_due = 0.0  # perf_counter time of the next measurement while playing
        self._order = None
        self.position = 0  # rows of the current epoch already stepped over
        self._epoch_loss = 0.0
        self._epoch_seconds = 0.0
        self._trajectory = [flatten(net.parameters())]
        self._trajectory_steps = [0]
        self._record_every = 1
        self.inspected_row = None

    def _make_trainer(self):
        batch = self.config.batch or None
        return Trainer(self.network, self.optimizer, batch_size=batch, shuffle=True,
                       rng=self._shuffles)

    # -- settings -----------------------------------------------------------------------
    def apply(self, changes):
        """Change settings; returns what was rebuilt: ``'data'``, ``'network'``,
        ``'view'``, ``'live'`` (applied to the running optimisation) or ``'page'``.

        Data and network settings start a new run; the optimiser, learning
        rate, schedule, batch size and the L2 and L1 penalties apply from the
        next step on, as in
        TensorFlow Playground, and are listed in the exported snippet.
        """
        new = self.config.with_changes(changes)
        changed = {f for f in new.to_dict() if getattr(new, f) != getattr(self.config, f)}
        old = self.config
        self.config = new
        kept = (self.data, self.grid, self.grid_inputs)
        try:
            if changed & DATA_FIELDS:
                self._build_data()
                self.reset()
                return "data"
            if changed & NETWORK_FIELDS:
                self.reset()
                return "network"
        except Exception:
            self.config = old
            self.data, self.grid, self.grid_inputs = kept
            raise
        if changed & VIEW_FIELDS:
            try:
                self.data.plane, self.data.points = view_plane(new, self.data)
            except Exception:
                self.config = old
                raise
            self._prepare_rows()
        if changed & LIVE_FIELDS:
            self._apply_live(changed & LIVE_FIELDS)
            return "live"
        return "view" if changed & VIEW_FIELDS else "page"

    def _apply_live(self, changed):
        c = self.config
        if self.steps:
            for name in sorted(changed):
                self.changes.append((self.epoch, name, getattr(c, name)))
        if "opt" in changed:
            self.optimizer = get_optimizer(c.opt, lr=c.lr)
        if "sched" in changed:
            self.schedule = get_schedule(c.sched, **schedule_options(c.sched))
        if "l2" in changed:
            self.network.alpha = c.l2
        if "l1" in changed:
            self.network.l1 = c.l1
        if changed & {"opt", "batch"}:
            self.trainer = self._make_trainer()
        self.optimizer.lr = self.schedule(c.lr, self.epoch)

    def regenerate(self):
        """New data from the next data seed (a new run)."""
        return self.apply({"dseed": (self.config.dseed + 1) % 2**31})

    # -- training -----------------------------------------------------------------------
    @property
    def batch_size(self):
        n = len(self.X_train)
        return n if not self.config.batch else min(self.config.batch, n)

    def _batch_bounds(self):
        """Where the epoch's batches start and stop, as :meth:`Trainer.run_epoch
        <glassnet.training.Trainer.run_epoch>` cuts them: a lone last row joins the
        batch before it when the network needs 2 rows (batch normalisation)."""
        n, b = len(self.X_train), self.batch_size
        bounds = [*range(0, n, b), n]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] < self.network.min_batch_rows:
            del bounds[-2]
        return bounds

    @property
    def steps_per_epoch(self):
        return len(self._batch_bounds()) - 1

    def _start_epoch(self, shuffle=True):
        # what Trainer.fit does before each epoch, and (for steps taken one at
        # a time) the shuffle Trainer.run_epoch draws from the generator it was given
        self.optimizer.lr = self.schedule(self.config.lr, self.epoch)
        n = len(self.X_train)
        self._order = None
        if shuffle and self.batch_size < n:
            self._order = self._shuffles.permutation(n)
        self.position = 0
        self._epoch_loss = 0.0

    def _end_epoch(self, loss):
        self.schedule.observe(loss)  # as Trainer.fit does after each epoch
        self.epoch += 1
        self._order = None
        self.position = 0
        self._record()

    def step(self):
        """One optimiser step on the next batch (a whole epoch with full batches);
        returns the batch's loss."""
        if self.position == 0:
            self._start_epoch()
        n, b = len(self.X_train), self.batch_size
        start, stop = self.position, min(self.position + b, n)
        if 0 < n - stop < self.network.min_batch_rows:
            stop = n  # a lone last row joins this batch, as in Trainer.run_epoch
        if self._order is None:
            Xb, Yb = self.X_train[start:stop], self.Y_train[start:stop]
        else:
            rows = self._order[start:stop]
            Xb, Yb = self.X_train[rows], self.Y_train[rows]
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                loss = self.trainer.step(Xb, Yb)
        except ArithmeticError:
            self._order, self.position = None, 0
            raise
        self.steps += 1
        self.position = stop
        self._epoch_loss += loss * (stop - start)
        if stop >= n:
            self._end_epoch(self._epoch_loss / n)
        else:
            self._record()
        return loss

    def run_epoch(self):
        """Finish the current epoch (or run a whole one) through the Trainer."""
        if self.position:
            while self.position:
                self.step()
            return
        self._start_epoch(shuffle=False)  # run_epoch shuffles
        started = time.perf_counter()
        try:
            loss = self.trainer.run_epoch(self.X_train, self.Y_train)
        except ArithmeticError:
            self._order, self.position = None, 0
            raise
        self._epoch_seconds = time.perf_counter() - started
        self.steps += self.steps_per_epoch
        self._end_epoch(loss)

    def advance(self, time_limit=0.03):
        """Train for one screen update: ``config.speed`` epochs (0: one step),
        stopping early once ``time_limit`` seconds have passed, and never past the
        stop condition. Returns why training stopped (see :meth:`stop_reason`) or
        ``None``; now and then, and where it stops, it also measures λ_max
        (:meth:`measure_sharpness`)."""
        reason = self.stop_reason()
        if reason:
            return reason
        speed = self.config.speed
        started = time.perf_counter()
        if speed == 0:
            self.step()
        for _ in range(speed):
            if self._epoch_seconds > time_limit:  # a long epoch: go step by step
                self.step()
                while self.position and time.perf_counter() - started < time_limit:
                    self.step()
            else:
                self.run_epoch()
            reason = self.stop_reason()
            if reason or time.perf_counter() - started >= time_limit:
                break
        else:
            reason = self.stop_reason()
        now = time.perf_counter()
        if self.config.sharpness and (now >= self._sharpness_due or reason):  # and at the stop
            self.measure_sharpness()
            spent = time.perf_counter() - now
            self._sharpness_due = now + max(SHARPNESS_EVERY, spent / SHARPNESS_SHARE)
        return reason

    # -- when to stop -------------------------------------------------------------------
    def stop_reason(self, train_loss=None):
        """Why play should pause now, or ``None``: the run has finished
        ``config.maxepochs`` epochs, or its training loss (at the current weights,
        penalties included, as the page shows it) is at or below
        ``config.targetloss``. Single steps and the step inspector go on regardless."""
        c = self.config
        if c.maxepochs and self.epoch >= c.maxepochs and not self.position:
            return f"stopped after {self.epoch} epochs (the limit is {c.maxepochs})"
        if c.targetloss:
            if train_loss is None:
                train_loss = self._evaluate(self.X_train, self.Y_train)[0]
            if math.isfinite(train_loss) and train_loss <= c.targetloss:
                return (f"stopped at epoch {self.epoch}: the training loss "
                        f"{train_loss:.4g} reached the target {c.targetloss:g}")
        return None

    # -- curvature ------------------------------------------------------------------------
    def threshold(self):
        """Where plain gradient descent turns unstable at the current rate η:
        ``2/η`` for SGD, ``(2 + 2μ)/η`` with momentum ``μ`` (heavy ball and Nesterov,
        Cohen et al. 2021, appendix); ``None`` for RMSProp and Adam, whose steps are
        divided by a running gradient scale, so no fixed λ_max bound applies."""
        lr = self.optimizer.lr
        if not lr:
            return None
        if self.config.opt == "sgd":
            return 2.0 / lr
        if self.config.opt in ("momentum", "nesterov"):
            return (2.0 + 2.0 * MOMENTUM) / lr
        return None

    def measure_sharpness(self):
        """``λ_max`` of the training loss's Hessian at the current weights, by power
        iteration on exact Hessian-vector products (:func:`glassnet.curvature.sharpness`),
        on all the training rows (the loss full-batch gradient descent sees).
        Appends ``{"epoch", "step", "value", "threshold", "lr"}`` to :attr:`curvature`
        and returns it, or returns ``None`` where no exact product exists (dropout and
        batch normalisation, whose training-mode loss is random or batch-dependent)."""
        if self.config.dropout or self.config.batchnorm:
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            found = sharpness(self.network, self.X_train, self.Y_train, method="exact",
                              iterations=SHARPNESS_ITERATIONS, tol=1e-3, seed=0)
        if not math.isfinite(found.value):
            return None
        x = self.epoch + self.position / max(1, len(self.X_train))
        entry = {"epoch": round(x, 4), "step": self.steps, "value": found.value,
                 "threshold": _finite(self.threshold()) if self.threshold() else None,
                 "lr": self.optimizer.lr}
        if self.curvature and self.curvature[-1]["step"] == self.steps:
            self.curvature[-1] = entry
        else:
            self.curvature.append(entry)
            if len(self.curvature) > MAX_TRAJECTORY:
                self.curvature = self.curvature[::2]
        return entry

    # -- editing by hand --------------------------------------------------------------------
    def edit(self, layer, unit, value, source=None):
        """Set one weight ``W^layer[source, unit]`` (``source``: the input or unit
        below, from 0) or, with ``source=None``, the bias ``b^layer[unit]``, to
        ``value``. ``layer`` counts dense layers from 1 (the first hidden layer).
        The next step, and the step inspector, start from the edited weights;
        the optimiser keeps its state. Returns the old value."""
        try:
            layer, unit = int(layer), int(unit)
            source = None if source is None else int(source)
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"edit: layer, unit and source must be whole numbers and value "
                             f"a number; got layer={layer!r}, unit={unit!r}, "
                             f"source={source!r}, value={value!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"edit: the value must be a finite number, got {value!r}")
        if not 1 <= layer <= len(self.blocks):
            raise ValueError(f"edit: layer must be 1 to {len(self.blocks)}, got {layer}")
        dense = self.blocks[layer - 1].dense
        fan_in, fan_out = dense.W.shape
        if not 0 <= unit < fan_out:
            raise ValueError(f"edit: layer {layer} has units 0 to {fan_out - 1}, got {unit}")
        if source is None:
            if dense.b is None:
                raise ValueError(f"edit: layer {layer} has no bias (batch norm's β shifts "
                                 f"instead)")
            target, index, name = dense.b, (unit,), f"b{_sup(layer)}[{unit}]"
        else:
            if not 0 <= source < fan_in:
                raise ValueError(f"edit: layer {layer} has inputs 0 to {fan_in - 1}, "
                                 f"got source {source}")
            target, index, name = dense.W, (source, unit), f"W{_sup(layer)}[{source}, {unit}]"
        old = float(target[index])
        target[index] = value  # in place: the optimiser and the trainer hold these arrays
        self.edits.append((self.epoch, name, old, value))
        self._trajectory.append(flatten(self.network.parameters()))
        self._trajectory_steps.append(self.steps)
        return old

    def _record(self):
        """Keep the weights every few steps for the loss landscape (at most
        ``MAX_TRAJECTORY`` points: when full, every other point goes and the
        interval doubles)."""
        if self.steps - self._trajectory_steps[-1] < self._record_every:
            return
        self._trajectory.append(flatten(self.network.parameters()))
        self._trajectory_steps.append(self.steps)
        if len(self._trajectory) > MAX_TRAJECTORY:
            self._trajectory = self._trajectory[::2]
            self._trajectory_steps = self._trajectory_steps[::2]
            self._record_every *= 2

    # -- what the page draws ------------------------------------------------------------
    def _forward_all(self, X):
        """Each dense layer's activated output for ``X``, in evaluation mode (dropout
        off, batch normalisation on its running statistics): fresh arrays, the
        training caches and the dropout Generator untouched."""
        outputs, A = [], X
        for block in self.blocks:
            for layer in block.layers:
                A = layer.apply(A)
            outputs.append(A)
        return outputs

    def _evaluate(self, X, Y):
        outputs = self._forward_all(X)
        net = self.network
        with np.errstate(over="ignore", invalid="ignore"):
            loss = net.loss.value(Y, outputs[-1]) + net.penalty(len(X))
        return loss, score(net, X, Y, Yhat=outputs[-1]), outputs

    def metrics(self):
        """Train and test loss (L2 penalty included, as glassnet.train reports it)
        and score (accuracy, or R² for regression) at the current weights."""
        train_loss, train_score, outputs = self._evaluate(self.X_train, self.Y_train)
        result = {"train_loss": _finite(train_loss), "train_score": _finite(train_score),
                  "test_loss": None, "test_score": None,
                  "penalty": _finite(self.network.penalty(len(self.X_train)))}
        if self.X_test is not None:
            test_loss, test_score, _ = self._evaluate(self.X_test, self.Y_test)
            result.update(test_loss=_finite(test_loss), test_score=_finite(test_score))
        return result, outputs

    def output_image(self, output):
        """The output over the plane, one byte per pixel (see the scene's ``output``)."""
        data = self.data
        if data.task == "regression":
            low, high = data.target_range
            q = np.round(np.clip((output[:, 0] - low) / (high - low), 0, 1) * 255)
            return {"kind": "value", "value": _b64(q)}
        if output.shape[1] == 1:
            return {"kind": "probability", "value": _b64(np.round(output[:, 0] * 255))}
        return {"kind": "classes", "value": _b64(output.argmax(axis=1)),
                "confidence": _b64(np.round(output.max(axis=1) * 255))}

    def confusion(self, rows="train"):
        """The confusion matrix of the training (or ``'test'``) rows at the current
        weights: ``counts[i][j]`` rows of true class ``i`` predicted as class ``j``
        (the predicted class is ``P > ½`` for one sigmoid output, the largest
        softmax output otherwise, as the accuracy counts them). ``None`` for
        regression or no test rows."""
        if self.data.task != "classification":
            return None
        X, Y = (self.X_train, self.Y_train) if rows == "train" else (self.X_test, self.Y_test)
        if X is None:
            return None
        return _confusion(Y, self._forward_all(X)[-1], len(self.data.classes))

    def frame(self):
        """A snapshot of the run for the page (JSON-ready, a few tens of KB)."""
        metrics, train_outputs = self.metrics()
        grid_outputs = self._forward_all(self.grid_inputs)
        units = []
        for A in grid_outputs:
            tiles = A.reshape(RESOLUTION, RESOLUTION, -1)[::4, ::4]
            layer = []
            for j in range(A.shape[1]):
                encoded, s = tile_bytes(tiles[:, :, j])
                layer.append({"tile": encoded, "scale": round(s, 4)})
            units.append(layer)
        inactive_units = []
        for block, A in zip(self.blocks[:-1], train_outputs[:-1]):
            inactive_units.append([inactive_fraction(block.activation, A[:, j:j + 1]) == 1.0
                                   for j in range(A.shape[1])])
        return {
            "type": "frame",
            "epoch": self.epoch,
            "step": self.steps,
            "position": int(self.position),
            "lr": self.optimizer.lr,
            **metrics,
            "output": self.output_image(grid_outputs[-1]),
            "units": units,
            "weights": [_round(block.dense.W) for block in self.blocks],
            "biases": [_round(block.dense.b) if block.dense.b is not None else None
                       for block in self.blocks],
            "gradient_norms": [_finite(np.linalg.norm(block.dense.dW)) if self.steps else None
                               for block in self.blocks],
            "inactive": [sum(flags) for flags in inactive_units],
            "inactive_units": inactive_units,
            "confusion": None if self.data.task != "classification" else {
                "train": _confusion(self.Y_train, train_outputs[-1], len(self.data.classes)),
                "test": self.confusion("test")},
            "stop": self.stop_reason(math.inf if metrics["train_loss"] is None
                                     else metrics["train_loss"]),
            "curvature": self.curvature[-1] if self.curvature else None,
            "curvature_count": len(self.curvature),
            "threshold": _finite(self.threshold()) if self.threshold() else None,
            "edits": len(self.edits),
        }

    def scene(self):
        """What changes only with the data or the network: the points, the input
        tiles, the layout. Sent once per run, never per frame."""
        c, data, net = self.config, self.data, self.network
        inputs = []
        if data.kind == "toy":
            raw = data.plane.raw_features(self.grid[::1])
            for key, (label, column) in FEATURES.items():
                tile = raw[key].reshape(RESOLUTION, RESOLUTION)[::4, ::4]
                top = float(np.max(np.abs(tile))) or 1.0
                encoded, _ = tile_bytes(tile / top)
                inputs.append({"key": key, "label": label, "name": column,
                               "active": key in c.features, "tile": encoded})
        else:
            for j, name in enumerate(data.feature_names):
                tile = self.grid_inputs[:, j].reshape(RESOLUTION, RESOLUTION)[::4, ::4]
                top = float(np.max(np.abs(tile))) or 1.0
                encoded, _ = tile_bytes(tile / top)
                inputs.append({"key": str(j), "label": name, "name": name, "active": True,
                               "tile": encoded})
        n = len(data.points)
        drawn = np.arange(n)
        if n > MAX_POINTS_DRAWN:
            drawn = np.sort(np.random.default_rng(0).choice(n, MAX_POINTS_DRAWN, replace=False))
        split = np.zeros(n, dtype=np.int64)
        split[data.test] = 1
        if data.task == "classification":
            labels = np.asarray(data.Y, dtype=np.int64)
        else:
            labels = np.asarray(data.Y, dtype=np.float64)
        notes = list(data.notes)
        if n > MAX_POINTS_DRAWN:
            notes.append(f"{MAX_POINTS_DRAWN} of the {n} rows are drawn")
        return {
            "type": "scene",
            "config": c.to_dict(),
            "query": c.to_query(),
            "data": {"name": data.name, "kind": data.kind, "task": data.task,
                     "classes": None if data.classes is None else [str(v) for v in data.classes],
                     "target": data.target_name, "target_range": list(data.target_range),
                     # [offset, scale] of a standardised target: the legend's own units
                     "target_units": None if data.target_scaler is None else
                     [float(data.target_scaler.offset[0]), float(data.target_scaler.scale[0])],
                     "n_train": len(data.train), "n_test": len(data.test),
                     "feature_names": data.feature_names, "notes": notes},
            "network": {"sizes": net.sizes,
                        "activations": [block.activation.name for block in self.blocks],
                        "dropout": c.dropout, "batch_norm": c.batchnorm,
                        "loss": net.loss.name, "init": c.init},
            "inputs": inputs,
            "plane": {"xlabel": data.plane.xlabel, "ylabel": data.plane.ylabel,
                      "note": data.plane.note, "domain": [float(v) for v in data.plane.domain],
                      "resolution": RESOLUTION, "tile": TILE},
            "points": {"x": _round(data.points[drawn, 0], 4),
                       "y": _round(data.points[drawn, 1], 4),
                       "label": labels[drawn].tolist() if data.task == "classification"
                       else _round(labels[drawn], 4),
                       "split": split[drawn].tolist(), "row": drawn.tolist()},
        }

    # -- the glass box: one step, in numbers --------------------------------------------
    def inspect(self, row):
        """Forward and backward pass of one training step on the training row
        ``row`` (an index into the data set's rows), as numbers.

        The step runs on copies of the network and the optimiser, so it shows
        exactly what the engine would do without doing it; :meth:`apply_inspected`
        then takes that step for real. ``Z``, ``A``, ``dA`` and ``dZ`` are
        computed with the engine's own activation and loss functions; ``dW``,
        ``db`` and the update are read from the engine after its step.

        With dropout the step runs in training mode, and each hidden layer shows
        its mask ``M``: the copy draws it from the same Generator state the real
        step then draws from, so :meth:`apply_inspected` drops the same units.
        With batch normalisation a training step on one row is undefined (one
        row's variance is 0, see :class:`~glassnet.layers.BatchNorm`), so the
        inspector shows the evaluation-mode pass (``μ = running_mean``,
        ``σ² = running_var``, dropout off) and its gradients, and no step
        (``mode`` is ``'eval'``, the updates are ``None``).
        """
        data = self.data
        if row == "worst":
            row = self.worst_row()
        row = int(row)
        if not 0 <= row < len(data.X):
            raise ValueError(f"sample {row} does not exist: the data have rows 0 to "
                             f"{len(data.X) - 1}")
        if row in set(data.test.tolist()):
            raise ValueError(f"sample {row} is a test row, and training never sees those; "
                             f"pick a training row (a filled point)")
        real = self.network
        X, Y, _ = real.check_data(data.Xs[row:row + 1], data.Y[row:row + 1])
        net = copy.deepcopy(real)
        optimizer = copy.deepcopy(self.optimizer)
        training = all(block.norm is None for block in self.blocks)
        # the engine's own step (or, with batch norm, its evaluation-mode gradients), on the copies
        with np.errstate(over="ignore", invalid="ignore"):
            if training:
                loss = Trainer(net, optimizer, batch_size=None, shuffle=False).step(X, Y)
            else:
                net.eval()
                loss = net.loss_and_gradients(X, Y)
        stepped = blocks(net)
        masks = [None if b.dropout is None or b.dropout.mask is None else b.dropout.mask.copy()
                 for b in stepped]
        # forward, layer by layer, at the weights before the step (the real network's)
        forward, A = [], X
        for block, M in zip(self.blocks, masks):
            dense = block.dense
            Z = A @ dense.W + (dense.b if dense.b is not None else 0.0)
            entry = {"A_prev": A, "Z": Z, "M": M, "norm": None}
            pre = Z
            if block.norm is not None:  # evaluation mode: the running statistics
                bn = block.norm
                s = np.sqrt(bn.running_var + bn.eps)
                x_hat = (Z - bn.running_mean) / s
                pre = bn.gamma * x_hat + bn.beta
                entry["norm"] = {"mean": bn.running_mean, "var": bn.running_var, "eps": bn.eps,
                                 "s": s, "gamma": bn.gamma, "beta": bn.beta,
                                 "x_hat": x_hat, "y": pre}
            F = block.activation.forward(pre.copy())
            entry["F"] = F
            A = F if M is None else F * M  # dropout: Y = X ⊙ M
            entry["A"] = A
            forward.append(entry)
        Yhat = A
        with np.errstate(over="ignore", invalid="ignore"):
            data_loss = net.loss.value(Y, Yhat)
        # backward with the engine's functions: dL/dZ at the output, then down
        if net.fused:
            dZ = net.loss.delta(Y, Yhat)
            dA = None
        else:
            dA = net.loss.gradient(Y, Yhat)
            dZ = self.blocks[-1].activation.backward(dA, Yhat)
        backward = [None] * len(self.blocks)
        dF = dY = None  # dL/d(f's output) before dropout, dL/d(batch norm's output)
        for i in range(len(self.blocks) - 1, -1, -1):
            backward[i] = {"dA": dA, "dF": dF, "dY": dY, "dZ": dZ}
            if i:
                below, f = self.blocks[i - 1], forward[i - 1]
                dA = dZ @ self.blocks[i].dense.W.T  # dX = dZ·Wᵀ, the layer below's dA
                dF = dA if f["M"] is None else dA * f["M"]  # dropout: dX = dY ⊙ M
                dZ = below.activation.backward(dF, f["F"])
                dY = None
                if below.norm is not None:  # evaluation mode: dX = dY·γ/s
                    dY = dZ
                    dZ = dY * (below.norm.gamma / f["norm"]["s"])
                if f["M"] is None:
                    dF = None
        loss_after = None
        if training:
            with np.errstate(over="ignore", invalid="ignore"):
                loss_after = net.loss.value(Y, net.output(X)) + net.penalty(1)

        def rounded(array):
            return None if array is None else _round(array[0] if np.ndim(array) == 2 else array)

        layers = []
        for i, (block, after) in enumerate(zip(self.blocks, stepped)):
            dense, f, b = block.dense, forward[i], backward[i]
            norm = f["norm"]
            layers.append({
                "index": i + 1,
                "activation": block.activation.name,
                "A_prev": rounded(f["A_prev"]),
                "W": _round(dense.W),
                "b": rounded(dense.b),
                "Z": rounded(f["Z"]),
                "norm": None if norm is None else {
                    "mean": rounded(norm["mean"]), "var": rounded(norm["var"]),
                    "eps": norm["eps"], "gamma": rounded(norm["gamma"]),
                    "beta": rounded(norm["beta"]), "x_hat": rounded(norm["x_hat"]),
                    "y": rounded(norm["y"]),
                    "dgamma": rounded(after.norm.dgamma), "dbeta": rounded(after.norm.dbeta)},
                "dropout": None if block.dropout is None else block.dropout.p,
                "F": rounded(f["F"]) if f["M"] is not None else None,
                "mask": rounded(f["M"]),
                "A": rounded(f["A"]),
                "dA": rounded(b["dA"]),
                "dF": rounded(b["dF"]),
                "dY": rounded(b["dY"]),
                "dZ": rounded(b["dZ"]),
                "dW": _round(after.dense.dW),
                "db": rounded(after.dense.db),
                "delta_W": _round(after.dense.W - dense.W) if training else None,
                "delta_b": _round(after.dense.b - dense.b)
                if training and dense.b is not None else None,
            })
        self.inspected_row = row if training else None
        return {
            "type": "inspect",
            "row": row,
            "mode": "train" if training else "eval",
            "x_raw": _round(data.X[row]),
            "x": _round(X[0]),
            "feature_names": data.feature_names,
            "y": _round(Y[0]),
            "yhat": _round(Yhat[0]),
            "loss": _finite(loss),
            "data_loss": _finite(data_loss),
            "loss_after": None if loss_after is None else _finite(loss_after),
            "loss_name": net.loss.name,
            "fused": bool(net.fused),
            "alpha": net.alpha,
            "l1": net.l1,
            "optimizer": self.config.opt,
            "lr": optimizer.lr,
            "formulas": formulas.for_network(net, self.config.opt),
            "layers": layers,
        }

    def worst_row(self):
        """The training row with the largest loss at the current weights."""
        net, data = self.network, self.data
        Yhat = net.output(self.X_train)
        with np.errstate(over="ignore", invalid="ignore"):
            losses = [net.loss.value(self.Y_train[i:i + 1], Yhat[i:i + 1])
                      for i in range(len(self.X_train))]
        return int(data.train[int(np.nanargmax(losses))])

    def apply_inspected(self):
        """Take the inspected single-sample step for real: one Trainer step on that row."""
        if self.config.batchnorm:
            raise ValueError("batch norm is on: a training step on one row is undefined (the "
                             "variance of one row is 0), so the inspector shows the "
                             "evaluation-mode pass and takes no step")
        if self.inspected_row is None:
            raise ValueError("pick a sample first")
        row = self.inspected_row
        X, Y, _ = self.network.check_data(self.data.Xs[row:row + 1], self.data.Y[row:row + 1])
        with np.errstate(over="ignore", invalid="ignore"):
            loss = self.trainer.step(X, Y)
        self.steps += 1
        self.manual_steps += 1
        self._record()
        return loss

    # -- the loss landscape of this run -------------------------------------------------
    def landscape(self, resolution=41):
        """The training loss on a plane that follows the path the weights took.

        :func:`glassnet.landscape.landscape_from_paths` anchors the plane at the
        run's starting weights and chooses its two directions from the recorded
        path so that the loss drawn under each recorded point is as close as it
        can be to the true loss there. Each point keeps its true loss, the loss
        the plane shows under it, and the fraction of its displacement from the
        start that the plane cannot show (``off_plane``).
        """
        net = self.network
        points, steps = list(self._trajectory), list(self._trajectory_steps)
        if steps[-1] != self.steps:
            points.append(flatten(net.parameters()))
            steps.append(self.steps)
        if len(points) < 3:
            raise ValueError("train a few steps first: the landscape is drawn around the path "
                             "the weights took")
        with np.errstate(over="ignore", invalid="ignore"):
            land = landscape_from_paths(net, self.X_train, self.Y_train, {"run": np.array(points)},
                                        steps={"run": np.array(steps)}, resolution=resolution)
        coords, off_plane = land.paths["run"], land.off_plane["run"]
        moved = off_plane[1:]  # the start is the plane's centre
        return {
            "type": "landscape",
            "x": _round(land.x), "y": _round(land.y), "loss": _round(land.loss),
            "path": {"x": _round(coords[:, 0]), "y": _round(coords[:, 1]), "step": steps,
                     "true_loss": _round(land.path_loss["run"]),
                     "plane_loss": _round(land.plane_loss["run"]),
                     "off_plane": _round(off_plane, 3)},
            "explained": _round(land.explained, 3),
            "center": land.center,
            "max_off_plane": _finite(moved.max()),
            "mean_off_plane": _finite(moved.mean()),
            "max_gap": _finite(land.gap("run")),
            "epoch": self.epoch,
            "points": len(points),
        }
