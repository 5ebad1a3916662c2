"""The training loop: epochs of (mini-)batches, callbacks and a history.

One setting, ``batch_size``, covers the three flavours the first tutorial
explains:

- ``batch_size=None`` (or >= the number of samples): full-batch gradient
  descent, one step per epoch on every sample (the tutorials' loop);
- ``batch_size=b``: mini-batch gradient descent, ``⌈m/b⌉`` steps per epoch on
  batches drawn from a fresh shuffle of the rows;
- ``batch_size=1``: stochastic gradient descent, one step per sample.

A *step* (the tutorials' "iteration") is one forward pass, one backward pass
and one optimiser update. Every random choice (the shuffles) comes from one
seeded ``numpy.random.Generator``.

This is glassnet's one training loop: :func:`train`, the scikit-learn
estimators (``fit`` and ``partial_fit``, every solver), the command line and
the landscape all run a :class:`Trainer`, and every callback is called from
it. An epoch is :meth:`Trainer.begin_epoch` (the schedule sets the rate),
:meth:`Trainer.run_epoch` (the steps) and :meth:`Trainer.end_epoch` (history,
validation, schedule, callbacks); :meth:`Trainer.session` brackets a run
(``on_train_begin``/``on_train_end``, Ctrl-C, timing). ``lbfgs`` lets SciPy
take the steps and reports each of its iterations with ``end_epoch``.
"""

from __future__ import annotations

import itertools
import math
import operator
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np

from .flat import SpanCache
from .losses import sample_normaliser
from .optimizers import get_optimizer
from .schedules import Plateau, check_monitor, get_schedule

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "LossLogger",
    "Trainer",
    "TrainingDivergedError",
    "evaluate",
    "score",
    "train",
]


class TrainingDivergedError(ArithmeticError):
    """The loss became NaN or infinite. The network keeps the last weights whose
    loss was finite; ``history`` holds what was recorded up to then."""

    def __init__(self, message, iteration, history):
        super().__init__(message)
        self.iteration = iteration
        self.history = history


@dataclass
class History:
    """What training recorded; each list has one entry per epoch unless noted.

    ``loss`` is the mean training loss over the epoch's batches (penalty
    included); ``val_loss`` and ``val_score`` (accuracy for classifiers, R²
    otherwise) appear when validation data is given; ``lr`` is the rate each
    epoch ran at. ``iteration`` and ``iteration_loss`` hold every
    ``record_every``-th step's batch loss. ``n_steps`` counts the optimiser's
    steps and ``samples_seen`` the training rows they used (scikit-learn's
    ``t_``).
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_score: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    iteration: list = field(default_factory=list)
    iteration_loss: list = field(default_factory=list)
    n_steps: int = 0
    samples_seen: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    interrupted: bool = False
    best_epoch: int | None = None

    def __getitem__(self, key):
        """``history["val_loss"]`` is ``history.val_loss`` (a dict-like view, as in Keras)."""
        if not isinstance(key, str) or key.startswith("_") or not hasattr(self, key):
            raise KeyError(key)
        return getattr(self, key)

    def as_dict(self):
        return {k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items()}


class Callback:
    """Hooks the loop calls; override any. Set ``trainer.stop = True`` to stop
    after the current epoch.

    ``epoch`` counts from 0 over the trainer's whole history; ``logs`` holds
    the epoch's ``loss``, ``lr`` and, with validation data, ``val_loss`` and
    ``val_score``.
    """

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_step_end(self, trainer, step, loss):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_end(self, trainer):
        pass


class LossLogger(Callback):
    """Print the loss every ``every`` steps, the tutorials' way::

        iteration 0: loss 0.693147
        iteration 500: loss 0.118374
    """

    def __init__(self, every=500, fmt="iteration {iteration}: loss {loss:.6f}", print_fn=print):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = int(every)
        self.fmt = fmt
        self.print_fn = print_fn

    def on_step_end(self, trainer, step, loss):
        if step % self.every == 0:
            self.print_fn(self.fmt.format(iteration=step, loss=loss))


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience``
    epochs, and (by default) put back the weights (and running statistics) of the
    best epoch.

    ``monitor`` is ``'val_loss'`` (the default; falls back to ``'loss'`` when
    there is no validation data), ``'loss'`` or ``'val_score'`` (higher is
    better). What counts as an improvement is :class:`~glassnet.schedules.Plateau`'s
    rule, scikit-learn's: the value beats the best so far by at least
    ``min_delta``. The scikit-learn estimators use this callback for both
    their rules, the validation score with ``early_stopping=True`` and the
    training loss otherwise (``min_delta = tol``, ``patience =
    n_iter_no_change + 1``).

    The count and the best weights carry over from one ``fit`` to the next
    (a trainer stepped one epoch at a time keeps its patience); :meth:`reset`
    starts afresh.
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, restore_best_weights=True):
        self.monitor = check_monitor(monitor)
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.reset()

    def reset(self):
        """Forget the best value, the count and the saved weights."""
        self.plateau = Plateau(self.min_delta, higher_is_better=self.monitor == "val_score")
        self.best_weights = None
        self.best_epoch = None

    @property
    def best(self):
        """The best monitored value so far."""
        return self.plateau.best

    @property
    def wait(self):
        """Epochs since the last improvement."""
        return self.plateau.bad_epochs

    def on_epoch_end(self, trainer, epoch, logs):
        if self.plateau.update(_monitored(logs, self.monitor)):
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = trainer.network.state_dict()
        if self.plateau.bad_epochs >= self.patience:
            trainer.stop = True
            trainer.history.stopped_early = True

    def on_train_end(self, trainer):
        trainer.history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.best_weights is not None:
            trainer.network.load_state_dict(self.best_weights)


def _monitored(logs, monitor):
    """The value ``monitor`` names in an epoch's ``logs`` (``'val_loss'`` falls back to ``'loss'``)."""
    if monitor == "val_loss" and monitor not in logs:
        return logs["loss"]
    return logs[monitor]


def score(network, X, Y, sample_weight=None, Yhat=None):
    """Accuracy for sigmoid/softmax outputs, R² otherwise (``Y`` as the loss sees it).

    Pass ``Yhat`` when the network's output on ``X`` is already at hand, to
    skip a second forward pass.
    """
    if Yhat is None:
        Yhat = _forward_eval(network, X)
    name = network.output_activation.name
    w = None if sample_weight is None else sample_weight / sample_normaliser(len(Y), sample_weight)
    if name in ("sigmoid", "softmax"):
        if name == "softmax":
            correct = Yhat.argmax(axis=1) == Y.argmax(axis=1)
        else:
            correct = ((Yhat > 0.5) == (Y > 0.5)).all(axis=1)
        return float(correct.mean() if w is None else w @ correct)
    weights = None if w is None else w[:, None]
    residual = np.average((Y - Yhat) ** 2, axis=0, weights=weights)
    variance = np.average((Y - np.average(Y, axis=0, weights=weights)) ** 2, axis=0,
                          weights=weights)
    r2 = np.where(variance > 0, 1 - residual / np.where(variance > 0, variance, 1), 0.0)
    return float(r2.mean())


def evaluate(network, X, Y, sample_weight=None, weights=None, with_score=True,
             max_elements=2_000_000):
    """The loss (L2 penalty included) and the score (see :func:`score`) of ``network``.

    ``X``, ``Y`` and ``sample_weight`` are as the loss sees them
    (:meth:`Network.check_data` makes them so). At the network's own weights
    this is one forward pass in evaluation mode and returns ``(loss, score)``.

    ``weights`` evaluates ``P`` other weight settings at once (the loss
    landscape's grid): a list aligned with ``network.parameters()`` whose
    arrays have a leading axis of length ``P``. Their outputs come from
    :meth:`Network.forward_many` in chunks of at most ``max_elements``
    activations, and the result is two arrays of ``P`` losses and scores; the
    network's weights are not touched. ``with_score=False`` skips the score
    (returned as None).
    """
    if weights is None:
        Yhat = _forward_eval(network, X)
        loss = network.objective(Y, Yhat, sample_weight)
        return loss, (score(network, X, Y, sample_weight, Yhat=Yhat) if with_score else None)
    n_settings = len(weights[0])
    widest = max(network.sizes)
    chunk = max(1, int(max_elements // max(1, len(X) * widest)))
    normaliser = sample_normaliser(len(X), sample_weight)
    losses = np.empty(n_settings)
    scores = np.empty(n_settings) if with_score else None
    for start in range(0, n_settings, chunk):
        block = [w[start:start + chunk] for w in weights]
        for j, Yhat in enumerate(network.forward_many(X, block), start=start):
            losses[j] = network.loss.value(Y, Yhat, sample_weight)
            if with_score:
                scores[j] = score(network, X, Y, sample_weight, Yhat=Yhat)
        losses[start:start + chunk] += network.penalty(normaliser, block)
    return losses, scores


def _forward_eval(network, X):
    """``network.forward(X)`` in evaluation mode, leaving the network's mode as it was."""
    previous = network.training
    network.eval()
    try:
        return network.forward(X)
    finally:
        network.train(previous)


class _TwoBuffers:
    """A network's parameters in two buffers of one layout that take turns.

    ``views[0]`` are the arrays the network had (its "home", what an
    estimator's ``coefs_`` are), ``views[1]`` the same layout in a second
    buffer; ``live`` says which the layers use. A step reads the live
    arrays, has the optimiser write the new weights into the other ones and
    :meth:`swap` points the layers at them, so the buffer not in use holds
    the weights of the step before. See :meth:`Trainer.step`.
    """

    def __init__(self, network, params, whole):
        self.network = network
        other = np.empty_like(whole)
        views, start = [], 0
        for p in params:
            views.append(other[start:start + p.size].reshape(p.shape))
            start += p.size
        self.buffers = (whole, other)
        self.views = (list(params), views)
        self.live = 0

    def is_live(self, params):
        return len(params) == len(self.views[self.live]) and all(
            map(operator.is_, params, self.views[self.live]))

    def is_home(self, params):
        return self.live == 0 and self.is_live(params)

    def other(self):
        """The arrays not in use, for the new weights."""
        return self.views[1 - self.live]

    def swap(self):
        """Point the layers at the other buffer."""
        self.live = 1 - self.live
        self.network.point_parameters_at(self.views[self.live])

    def restore(self):
        """Copy the weights of the step before into the arrays in use."""
        np.copyto(self.buffers[self.live], self.buffers[1 - self.live])

    def settle(self):
        """Leave the weights in the home arrays, and the step before's in the other buffer."""
        if self.live == 1:
            home, other = self.buffers
            latest = other.copy()
            np.copyto(other, home)
            np.copyto(home, latest)
            self.live = 0
            self.network.point_parameters_at(self.views[0])


class Trainer:
    """Runs epochs of steps on a network with an optimiser: glassnet's one training loop.

    :func:`train` is the convenient front end; the scikit-learn estimators
    configure a ``Trainer`` (optimiser, schedule, callbacks) and call
    :meth:`fit`, for ``max_iter`` epochs or, in ``partial_fit``, for one.
    ``history`` continues an existing :class:`History` (its epochs, steps and
    samples seen are the schedules' clock); by default a new one.
    ``alternate_buffers`` lets an epoch keep the weights of the step before
    by alternating two parameter buffers instead of copying them at every
    step (see :meth:`step`).
    """

    def __init__(self, network, optimizer, batch_size=None, shuffle=True, rng=None,
                 callbacks=(), record_every=None, history=None, alternate_buffers=True):
        self.network = network
        self.alternate_buffers = alternate_buffers
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(rng)
        self.callbacks = list(callbacks)
        self.record_every = record_every
        self.history = History() if history is None else history
        self.schedule = None
        self.stop = False
        self._interrupted = False
        self.aborted = False  # the current run's block raised (see session)
        self._backup = None  # copies kept against a non-finite loss (see step)
        self._have_backup = False
        self._backup_in_turns = False  # the weights' copy is the other of _turns' buffers
        self._turns = None  # _TwoBuffers while an epoch alternates between them
        self._last_turns = None  # kept from epoch to epoch, with the copy it holds
        self._params_span = SpanCache()
        self._batch_buffers = None

    @property
    def interrupted(self):
        """True once Ctrl-C asked the current run to stop."""
        return self._interrupted

    def _notify(self, event, *args):
        """Call ``event`` (``'on_epoch_end'``, …) on every callback: the only place callbacks run."""
        for callback in self.callbacks:
            getattr(callback, event)(self, *args)

    # -- one step ---------------------------------------------------------------
    def step(self, X, Y, sample_weight=None):
        """One forward/backward/update on a batch; returns its loss.

        The weights of the step before are kept, so that a non-finite loss
        at the next step can put back the last finite ones. Called on its
        own, a step copies the weights (and running statistics) aside before
        updating them in place. Within :meth:`run_epoch`, when the
        parameters are laid out in one buffer, no copy is made: the
        optimiser writes the new weights into a second buffer of the same
        layout and the layers are pointed at it, so the buffers take turns
        and the one not in use holds the weights of the step before. A
        callback that runs during an epoch should read the weights through
        the network (``network.parameters()``, a layer's ``W``): an array
        taken before the epoch holds the latest weights only every other
        step, and again at the end of the epoch, when they are back in the
        arrays they started in. ``alternate_buffers=False`` copies at every
        step instead (the scikit-learn estimators do so when given callbacks,
        so that ``coefs_`` is current at every step).
        """
        network = self.network
        loss = network.loss_and_gradients(X, Y, sample_weight)
        params = network.parameters()
        turns = self._turns
        if turns is not None and not turns.is_live(params):
            turns = self._turns = None  # the network was given other arrays: copy from here on
        if self._backup_in_turns and not self._last_turns.is_live(params):
            # the weights of the step before were in the buffers the network left
            self._have_backup = self._backup_in_turns = False
            self._last_turns = None
        saved = self._copied(params) if turns is None else network.buffers()
        if not math.isfinite(loss):
            self._restore_backup()
            raise self.diverged(loss)
        if self._backup is None or [b.shape for b in self._backup] != [p.shape for p in saved]:
            self._backup = [np.empty_like(p) for p in saved]
        for backup, p in zip(self._backup, saved):
            np.copyto(backup, p)
        self._have_backup = True
        self._backup_in_turns = turns is not None
        if turns is None:
            self.optimizer.step(params, network.gradients())
        else:
            self.optimizer.step(params, network.gradients(), out=turns.other())
            turns.swap()
        return loss

    def diverged(self, loss):
        """The :class:`TrainingDivergedError` for a non-finite ``loss`` at the next step."""
        step = self.history.n_steps
        return TrainingDivergedError(
            f"the loss became {loss} at iteration {step}: the learning rate "
            f"{self.optimizer.lr:g} is probably too large; try a smaller one "
            f"(e.g. {self.optimizer.lr / 10:g}). The network keeps the weights of "
            f"iteration {max(step - 1, 0)}, the last with a finite loss.",
            iteration=step, history=self.history)

    def _copied(self, params):
        """What a step that copies keeps: the parameters (one array when they
        share a buffer) and the running statistics."""
        whole = self._params_span(params)
        return ([whole] if whole is not None else params) + self.network.buffers()

    def _restore_backup(self):
        """Put back the weights and running statistics of the step before."""
        if not self._have_backup:
            return
        network = self.network
        if self._backup_in_turns:  # the weights are in the buffer not in use
            self._last_turns.restore()
            targets = network.buffers()
        else:
            targets = self._copied(network.parameters())
        for p, saved in zip(targets, self._backup):
            np.copyto(p, saved)

    # -- one epoch --------------------------------------------------------------
    def run_epoch(self, X, Y, sample_weight=None):
        """One pass over the data; returns the epoch's mean loss.

        The epoch loss is each batch's loss weighted by its number of rows
        (scikit-learn's convention). Mini-batches are gathered with
        ``np.take`` into a buffer allocated once, so an epoch allocates no
        batch-sized arrays. The steps run in training mode (dropout on, batch
        statistics); the network's mode is put back afterwards. A network with
        batch normalisation never gets a one-row batch: a lone last row joins
        the batch before it.
        """
        # Overflow on the way to a non-finite loss is reported by step() as a
        # TrainingDivergedError, which says more than NumPy's warnings would.
        previous = self.network.training
        self.network.train()
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                return self._run_epoch(X, Y, sample_weight)
        finally:
            self.network.train(previous)

    def _run_epoch(self, X, Y, sample_weight):
        n = X.shape[0]
        batch_size = n if self.batch_size is None else min(int(self.batch_size), n)
        if batch_size >= n:
            return self._step_and_log(X, Y, sample_weight)
        order = self.rng.permutation(n) if self.shuffle else None
        bounds = [*range(0, n, batch_size), n]
        if bounds[-1] - bounds[-2] < self.network.min_batch_rows:
            del bounds[-2]  # a lone last row joins the batch before it
        widest = max(b - a for a, b in itertools.pairwise(bounds))
        buffers = self._gather_buffers(X, Y, widest) if order is not None else None
        self._turns = self._two_buffers(len(bounds) - 1)
        try:
            return self._steps(X, Y, sample_weight, order, bounds, buffers)
        finally:
            if self._turns is not None:
                self._turns.settle()
                self._turns = None

    def _two_buffers(self, n_steps):
        """The :class:`_TwoBuffers` for an epoch of ``n_steps`` steps, or None
        to copy the weights at every step instead: when the parameters are
        not laid out in one buffer, or when the epoch is too short to repay
        the copies made at its end."""
        if n_steps < 4 or not self.alternate_buffers:
            return None
        params = self.network.parameters()
        last = self._last_turns
        if last is not None and last.network is self.network and last.is_home(params):
            return last
        whole = self._params_span(params)
        if whole is None:
            return None
        if self._backup_in_turns:  # the copy kept is in the old pair: gone with it
            self._have_backup = self._backup_in_turns = False
        self._last_turns = _TwoBuffers(self.network, params, whole)
        return self._last_turns

    def _steps(self, X, Y, sample_weight, order, bounds, buffers):
        n = X.shape[0]
        total = 0.0
        is_array = isinstance(X, np.ndarray)
        for start, stop in itertools.pairwise(bounds):
            rows = stop - start
            if order is None:
                Xb, Yb = X[start:stop], Y[start:stop]
                wb = None if sample_weight is None else sample_weight[start:stop]
            else:
                idx = order[start:stop]
                # mode="clip": the indices come from a permutation of range(n), so
                # none is out of range; with the default mode="raise" NumPy gathers
                # into a temporary and copies it into `out` (several times slower)
                if is_array:
                    Xb = np.take(X, idx, axis=0, out=buffers[0][:rows], mode="clip")
                else:
                    Xb = X[idx]
                Yb = np.take(Y, idx, axis=0, out=buffers[1][:rows], mode="clip")
                wb = None if sample_weight is None else sample_weight[idx]
            total += self._step_and_log(Xb, Yb, wb) * rows
            if self.stop or self._interrupted:
                # the loss of the rows seen so far stands for the epoch
                return total / stop
        return total / n

    def _gather_buffers(self, X, Y, batch_size):
        key = (batch_size, X.shape[1], Y.shape[1], X.dtype)
        if self._batch_buffers is None or self._batch_buffers[0] != key:
            xbuf = np.empty((batch_size, X.shape[1]), X.dtype) if isinstance(X, np.ndarray) else None
            self._batch_buffers = (key, (xbuf, np.empty((batch_size, Y.shape[1]), Y.dtype)))
        return self._batch_buffers[1]

    def _step_and_log(self, X, Y, sample_weight):
        loss = self.step(X, Y, sample_weight)
        history = self.history
        step = history.n_steps
        if self.record_every and step % self.record_every == 0:
            history.iteration.append(step)
            history.iteration_loss.append(loss)
        self._notify("on_step_end", step, loss)
        history.n_steps += 1
        history.samples_seen += X.shape[0]
        return loss

    # -- many epochs ------------------------------------------------------------
    def fit(self, X, Y, epochs, sample_weight=None, schedule=None, validation_data=None,
            catch_interrupt=True):
        """Run up to ``epochs`` epochs; returns the :class:`History`.

        ``schedule`` (a name or a :class:`~glassnet.schedules.Schedule`) sets
        the rate at the start of each epoch from ``optimizer.initial_lr``;
        without one the rate is left as it is. ``validation_data`` is
        ``(X_val, Y_val)`` or ``(X_val, Y_val, w_val)``, already checked.
        """
        self.schedule = None if schedule is None else get_schedule(schedule)
        with self.session(catch_interrupt):
            for _ in range(epochs):
                self.begin_epoch()
                loss = self.run_epoch(X, Y, sample_weight)
                self.end_epoch(loss, validation_data)
                if self.stop or self._interrupted:
                    break
        return self.history

    @contextmanager
    def session(self, catch_interrupt=True):
        """Bracket a run: ``on_train_begin`` and, however it ends, ``on_train_end``.

        A run starts with ``stop`` and ``history.stopped_early`` cleared.
        When the block raises (a callback's exception, a second Ctrl-C),
        ``aborted`` is True while ``on_train_end`` runs. Inside, Ctrl-C sets
        :attr:`interrupted` instead of raising (with ``catch_interrupt``),
        overflow warnings are silenced (a non-finite loss is reported by
        :meth:`step` instead) and the time is added to ``history.seconds``.
        """
        started = time.perf_counter()
        self.stop = self.history.stopped_early = self.aborted = False
        self._notify("on_train_begin")
        with _InterruptFlag(self) if catch_interrupt else nullcontext(), \
                np.errstate(over="ignore", invalid="ignore"):
            try:
                yield self
            except BaseException:
                self.aborted = True
                raise
            finally:
                if self._interrupted:
                    self.history.interrupted = True
                self.history.seconds += time.perf_counter() - started
                self._notify("on_train_end")

    def begin_epoch(self):
        """Set the rate for the coming epoch from the schedule, then ``on_epoch_begin``."""
        self._apply_schedule()
        self._notify("on_epoch_begin", len(self.history.epoch))

    def _apply_schedule(self):
        """``lr = schedule(initial_lr, t)``, ``t`` the epochs done or the samples seen."""
        if self.schedule is not None:
            history = self.history
            t = history.samples_seen if self.schedule.unit == "sample" else len(history.epoch)
            self.optimizer.lr = self.schedule(self.optimizer.initial_lr, t)

    def end_epoch(self, loss, validation_data=None):
        """Record a finished epoch, evaluate the validation data, feed the schedule,
        then ``on_epoch_end``; returns the epoch's logs.

        The solvers that take their own steps (``lbfgs``) call this once per
        iteration, so their callbacks and history come from here too.
        """
        history = self.history
        epoch = len(history.epoch)
        logs = {"loss": loss}
        if self.optimizer is not None:
            logs["lr"] = self.optimizer.lr
            history.lr.append(self.optimizer.lr)
        if validation_data is not None:
            logs["val_loss"], logs["val_score"] = evaluate(self.network, *validation_data)
            history.val_loss.append(logs["val_loss"])
            history.val_score.append(logs["val_score"])
        history.epoch.append(epoch)
        history.loss.append(loss)
        if self.schedule is not None:
            self.schedule.observe(_monitored(logs, self.schedule.monitor))
            if self.schedule.finished:
                self.stop = True
                history.stopped_early = True
            self._apply_schedule()  # optimizer.lr now shows the next epoch's rate
        self._notify("on_epoch_end", epoch, logs)
        return logs


class _InterruptFlag:
    """While active, Ctrl-C sets ``trainer._interrupted`` instead of raising, so the
    loop finishes the step in progress and stops with consistent weights. A
    second Ctrl-C raises as usual. Only the main thread can own SIGINT; elsewhere
    this does nothing."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.previous = None

    def __enter__(self):
        self.trainer._interrupted = False
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.trainer._interrupted:
            raise KeyboardInterrupt
        self.trainer._interrupted = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def train(network, X, y, *, optimizer="sgd", lr=0.01, epochs=100, batch_size=None,
          shuffle=True, seed=None, schedule=None, sample_weight=None, validation_data=None,
          callbacks=(), log_every=None, record_every=None, early_stopping=None,
          catch_interrupt=True):
    """Train ``network`` on ``(X, y)`` in place and return its :class:`History`.

    Parameters
    ----------
    network : Network
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,) or (n_samples, n_outputs)
        For a softmax output, 1-D class indices are one-hot encoded.
    optimizer : str or Optimizer, default 'sgd'
        A name from :data:`glassnet.optimizers.PRESETS` (``sgd``, ``momentum``,
        ``nesterov``, ``rmsprop``, ``adam``, ``adamw``) built with ``lr``, or a
        ready :class:`~glassnet.optimizers.Optimizer`.
    lr : float, default 0.01
        The initial learning rate (ignored when ``optimizer`` is an instance).
    epochs : int, default 100
        Passes over the data. With full batches an epoch is one step.
    batch_size : int or None
        ``None``: full batch; ``1``: stochastic gradient descent.
    shuffle : bool, default True
        Reshuffle the rows every epoch (mini-batches only).
    seed : int or numpy.random.Generator, optional
        Source of the shuffles.
    schedule : str or Schedule, optional
        Learning-rate schedule (see :mod:`glassnet.schedules`).
    sample_weight : array of shape (n_samples,), optional
    validation_data : (X_val, y_val) or (X_val, y_val, w_val), optional
        Adds ``val_loss`` and ``val_score`` to the history.
    callbacks : list of Callback
    log_every : int, optional
        Print ``iteration i: loss L`` every ``log_every`` steps.
    record_every : int, optional
        Record the batch loss every ``record_every`` steps in
        ``history.iteration_loss``.
    early_stopping : int, optional
        Patience: stop when the validation loss (training loss without
        validation data) has not improved for this many epochs, and restore
        the best weights.
    catch_interrupt : bool, default True
        Ctrl-C stops after the current step instead of raising.

    Raises
    ------
    ValueError
        Bad data (shape, non-finite values, labels) or settings; nothing is
        modified.
    TrainingDivergedError
        The loss became non-finite; the network keeps its last finite weights.

    Examples
    --------
    Full-batch gradient descent on XOR, the minimal tutorial's network:

    >>> import glassnet as gn
    >>> from glassnet.datasets import load_xor
    >>> X, y = load_xor(return_X_y=True)
    >>> net = gn.Network.from_sizes([3, 4, 1], activation="sigmoid", loss="sse",
    ...                             init="uniform", bias=False, seed=1)
    >>> history = gn.train(net, X, y, lr=1.0, epochs=1500)
    >>> round(history.loss[0], 4), history.loss[-1] < 0.01
    (1.3285, True)
    >>> net.output(X).ravel().round(2)
    array([0.01, 0.97, 0.97, 0.03])
    """
    X, Y, sample_weight = network.check_data(X, y, sample_weight)
    if validation_data is not None:
        if len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (X_val, y_val) or (X_val, y_val, w_val)")
        validation_data = network.check_data(*validation_data)
        if validation_data[2] is None:
            validation_data = validation_data[:2]
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    optimizer = get_optimizer(optimizer, lr=lr)
    schedule = None if schedule is None else get_schedule(schedule)
    callbacks = list(callbacks)
    if log_every:
        callbacks.append(LossLogger(every=log_every))
    if early_stopping:
        callbacks.append(EarlyStopping(patience=early_stopping))
    trainer = Trainer(network, optimizer, batch_size=batch_size, shuffle=shuffle, rng=seed,
                      callbacks=callbacks, record_every=record_every)
    return trainer.fit(X, Y, int(epochs), sample_weight=sample_weight, schedule=schedule,
                       validation_data=validation_data, catch_interrupt=catch_interrupt)
