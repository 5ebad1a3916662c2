"""Drop-in replacements for scikit-learn's ``MLPClassifier`` and ``MLPRegressor``.

Change one import line::

    from sklearn.neural_network import MLPClassifier   # before
    from glassnet import MLPClassifier                  # after

The constructor parameters, their defaults and meanings, the fitted attributes
(``coefs_[i]`` of shape ``(fan_in, fan_out)``, ``loss_``, ``loss_curve_``, …)
and the methods are scikit-learn's. Every computation (forward pass,
gradients, optimiser steps) is glassnet's own NumPy code; scikit-learn
provides only input validation, label encoding and the validation split.

What differs, on purpose:

- the loss includes ``alpha/(2n)·Σ‖W‖²`` like scikit-learn's, but for several
  regression outputs the squared error is summed over outputs (the quantity
  whose gradient is ``(Ŷ − Y)/n``) instead of averaged;
- ``solver='adam'`` uses PyTorch's placement of ``ε`` (``√v̂ + ε``); momentum
  SGD keeps PyTorch's velocity, which takes the same steps while the rate is
  constant;
- early stopping stratifies the validation split for multiclass targets too;
- with ``learning_rate='invscaling'`` a warm-started ``fit`` carries on
  decaying from the samples already seen (scikit-learn runs its first epoch at
  ``learning_rate_init`` again);
- every random choice comes from a ``numpy.random.Generator`` seeded by
  ``random_state``, so results are reproducible but not bit-identical to
  scikit-learn's.
- a fit that diverges with ``early_stopping=True`` stops at the epoch whose
  loss is not finite and keeps the best validation weights, with a
  ``ConvergenceWarning`` (scikit-learn runs on to ``max_iter`` first);
  without early stopping the ``ValueError`` starts with scikit-learn's words
  and goes on with glassnet's advice;
- with ``warm_start=True`` and ``learning_rate='adaptive'`` a new ``fit`` goes
  on from the rate reached (scikit-learn starts again at
  ``learning_rate_init``), unless that schedule had finished at 1e-6; ``_optimizer.learning_rate`` is the rate itself for
  every solver (scikit-learn's Adam reports its bias-corrected step size);
- ``validation_scores_`` holds the scores on ``X_val`` when one is given, even
  without early stopping.

Also glassnet's: ``class_weight`` on :class:`MLPClassifier` (``None``,
``'balanced'`` or a dict, as in ``LogisticRegression``: the same as the
matching ``sample_weight``; ``partial_fit`` refuses ``'balanced'``, as
``SGDClassifier`` does); ``fit(..., X_val=, y_val=, sample_weight_val=)``,
a validation set of one's own; ``activations(X)`` and ``transform(X)`` (the
last hidden layer, named by ``get_feature_names_out()`` and returned as a
``DataFrame`` after ``set_output(transform="pandas")``); a
``ConvergenceWarning`` that names what to try.

How a fit runs: the stochastic solvers configure glassnet's one training
loop, :class:`glassnet.Trainer`, and run it for ``max_iter`` epochs (one for
``partial_fit``). ``learning_rate='invscaling'`` and ``'adaptive'`` are the
schedules :class:`~glassnet.schedules.InverseScaling` (counted in samples
seen) and :class:`~glassnet.schedules.Adaptive`; ``tol``,
``n_iter_no_change`` and ``early_stopping`` are one
:class:`glassnet.EarlyStopping` callback; ``verbose`` is a callback too.
``lbfgs`` lets SciPy's minimiser take the steps and ends an epoch of the same
loop after each of its iterations.

glassnet's extras, all off by default: ``activation`` may be a list (one per
hidden layer, ``'leaky_relu'`` allowed); ``solver`` also accepts
``'rmsprop'`` and ``'adamw'``; ``schedule`` takes any
:mod:`glassnet.schedules` schedule, in place of ``learning_rate``; ``init``
picks an initialiser from :mod:`glassnet.initializers` (default:
scikit-learn's Glorot-uniform weights *and* biases); ``dtype`` forces float32
or float64 (default: follow ``X``); ``callbacks`` takes
:class:`glassnet.Callback` objects, called by the loop after every step and
epoch (the command line's progress bar is one; with callbacks, ``coefs_`` is
current at every step, see :class:`glassnet.Trainer`). After fitting, ``history_``
holds per-epoch training loss, learning rate, validation loss and score, and
``network_`` is the fitted model as an engine :class:`glassnet.Network`
sharing ``coefs_`` and ``intercepts_``.

Regularisation and normalisation extras, also off by default: ``dropout=p``
puts a :class:`glassnet.Dropout` after every hidden layer (its masks drawn
from ``random_state``'s Generator; stochastic solvers only), ``batch_norm=True``
a :class:`glassnet.BatchNorm` between each hidden layer's ``X·W + b`` and its
activation (fitted in ``batch_norm_layers_``, whose ``gamma``, ``beta``,
``running_mean`` and ``running_var`` are plain arrays), and ``l1=λ`` adds
``(λ/n)·Σ|W|`` to the loss beside ``alpha``'s L2. Training steps run in
training mode; validation scores and every prediction in evaluation mode.

``MLPRegressor(scale_target=True)``, off by default as in scikit-learn,
standardises the target: it trains on ``(y − target_offset_) / target_scale_``
(each output's mean and standard deviation over the rows ``fit`` is given) and
``predict`` maps the network's output back, ``ŷ = ŷ'·target_scale_ +
target_offset_``. A network starts with outputs near 0 and takes hundreds of
epochs to climb to a target near 150; scaled, it starts where the target is.
It is scikit-learn's ``TransformedTargetRegressor(MLPRegressor(),
transformer=StandardScaler())`` in one estimator: ``loss_``, ``loss_curve_``
and ``network_`` are in the scaled units, ``predict`` and ``score`` in the
target's own.
"""

from __future__ import annotations

import copy
import itertools
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import TransformerTags
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from .flat import pack
from .initializers import get_initializer
from .layers import Activation, BatchNorm, Dense, Dropout
from .network import Network
from .optimizers import get_optimizer
from .schedules import Adaptive, InverseScaling, Schedule, get_schedule
from .training import (
    Callback,
    EarlyStopping,
    History,
    Trainer,
    TrainingDivergedError,
    evaluate,
)

__all__ = ["MLPClassifier", "MLPRegressor"]

_STOCHASTIC = ("sgd", "adam", "rmsprop", "adamw")
_HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
# scikit-learn's words, kept verbatim so that code matching them keeps working
_NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
               "values and need to be preprocessed.")


def _check_weights(weights, n_samples, dtype, name):
    """``weights`` as a checked 1-D array of ``dtype`` (None stays None)."""
    if weights is None:
        return None
    weights = np.asarray(weights, dtype=dtype)
    if weights.shape != (n_samples,):
        raise ValueError(f"{name}.shape == {weights.shape}, expected ({n_samples},)!")
    if not np.isfinite(weights).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if (weights < 0).any():
        raise ValueError(f"Negative values in data passed to {name}")
    if not weights.any():
        raise ValueError(f"{name}: Sample weights must contain at least one non-zero number.")
    return weights


def _unscaled_columns(X, limit=10.0, rows=5_000):
    """Indices of the columns whose values reach beyond ``±limit``: neither
    standardised nor min-max scaled features get there.

    A hint for a warning, so it looks at up to ``rows`` rows spread evenly
    over ``X`` (all of them when there are fewer): on 60,000 x 784 float32
    rows, scanning everything took a sixth of a one-epoch fit; 5,000 rows take 5 ms."""
    if X.shape[0] > rows:
        X = X[::-(-X.shape[0] // rows)]
    top, bottom = X.max(axis=0), X.min(axis=0)
    if hasattr(top, "todense"):  # scipy.sparse
        top, bottom = top.todense(), bottom.todense()
    top, bottom = np.asarray(top).ravel(), np.asarray(bottom).ravel()
    return np.flatnonzero((top > limit) | (bottom < -limit))


def _scaling_advice(X, names=None):
    """``"; scale the features …"`` when some columns look unscaled, else ``""``."""
    columns = _unscaled_columns(X)
    if not len(columns):
        return ""
    shown = [str(names[i]) if names is not None else str(i) for i in columns[:5]]
    more = f" and {len(columns) - 5} more" if len(columns) > 5 else ""
    return (f"; scale the features (e.g. StandardScaler in a Pipeline): column(s) "
            f"{', '.join(shown)}{more} reach beyond ±10")


def _laid_out(coefs, intercepts):
    """Copies of ``coefs`` and ``intercepts`` laid end to end in one buffer, in the
    network's parameter order ``W1, b1, W2, b2, …`` (see :mod:`glassnet.flat`):
    the optimiser then updates them all with a few operations per step."""
    _, views = pack([a for pair in zip(coefs, intercepts) for a in pair])
    return views[0::2], views[1::2]


def _rng_from(random_state):
    """A ``numpy.random.Generator`` from ``random_state`` (None, int, Generator or RandomState)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


#: The most parameters (weights and biases) a network may have: 2**28, 2 GiB per
#: float64 copy, and training holds several (parameters, gradients, optimiser state).
MAX_PARAMETERS = 1 << 28


def _check_size(layer_units, dtype):
    """Refuse a network too large to build, before any memory is taken: a clear
    ValueError instead of a MemoryError (``--hidden 10000000000``)."""
    n = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(layer_units))
    if n > MAX_PARAMETERS:
        gib = n * np.dtype(dtype).itemsize / 2**30
        raise ValueError(f"hidden_layer_sizes {list(layer_units[1:-1])} on {layer_units[0]} "
                         f"features make a network of {n:,} parameters ({gib:,.1f} GiB of "
                         f"{np.dtype(dtype).name} per copy); glassnet builds networks of up to "
                         f"{MAX_PARAMETERS:,} parameters (MAX_PARAMETERS)")


class _BaseMLP(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared fitting machinery; use :class:`MLPClassifier` or :class:`MLPRegressor`."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 schedule=None, init=None, dtype=None, callbacks=None, dropout=0.0,
                 batch_norm=False, l1=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.schedule = schedule
        self.init = init
        self.dtype = dtype
        self.callbacks = callbacks
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.l1 = l1

    # -- parameter validation ---------------------------------------------------
    def _check_params(self):
        name = type(self).__name__

        def fail(param, expected):
            value = getattr(self, param)
            raise ValueError(f"The {param!r} parameter of {name} must be {expected}. "
                             f"Got {value!r} instead.")

        def real(param, low, high=np.inf, low_closed=True, high_closed=True):
            value = getattr(self, param)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                fail(param, f"a float in the range {_interval(low, high, low_closed, high_closed)}")
            ok = (value >= low if low_closed else value > low) and (
                value <= high if high_closed else value < high)
            if not ok:
                fail(param, f"a float in the range {_interval(low, high, low_closed, high_closed)}")

        def integer(param, low):
            value = getattr(self, param)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                fail(param, f"an int in the range [{low}, inf)")

        def choice(param, options):
            if not isinstance(getattr(self, param), str) or getattr(self, param) not in options:
                fail(param, f"a str among {sorted(options)}")

        def boolean(param):
            if not isinstance(getattr(self, param), (bool, np.bool_)):
                fail(param, "an instance of 'bool'")

        hidden = self.hidden_layer_sizes
        sizes = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in sizes):
            fail("hidden_layer_sizes", "an int or an array-like of ints")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        activations = self.activation if isinstance(self.activation, (list, tuple)) else [
            self.activation]
        for act in activations:
            if act not in _HIDDEN_ACTIVATIONS:
                fail("activation", f"a str among {sorted(_HIDDEN_ACTIVATIONS)} (or a list of "
                     f"them, one per hidden layer)")
        if isinstance(self.activation, (list, tuple)) and len(self.activation) != len(sizes):
            raise ValueError(f"activation lists {len(self.activation)} functions but there are "
                             f"{len(sizes)} hidden layers")
        choice("solver", ("lbfgs", *_STOCHASTIC))
        real("alpha", 0)
        if self.batch_size != "auto":
            integer("batch_size", 1)
        choice("learning_rate", ("constant", "invscaling", "adaptive"))
        real("learning_rate_init", 0, low_closed=False)
        real("power_t", 0)
        integer("max_iter", 1)
        boolean("shuffle")
        real("tol", 0)
        boolean("warm_start")
        real("momentum", 0, 1)
        boolean("nesterovs_momentum")
        boolean("early_stopping")
        real("validation_fraction", 0, 1, high_closed=False)
        real("beta_1", 0, 1, high_closed=False)
        real("beta_2", 0, 1, high_closed=False)
        real("epsilon", 0, low_closed=False)
        if self.n_iter_no_change != np.inf:
            integer("n_iter_no_change", 1)
        integer("max_fun", 1)
        if self.schedule is not None and not isinstance(self.schedule, Schedule):
            get_schedule(self.schedule)
        if self.init is not None:
            get_initializer(self.init)
        if self.dtype is not None and np.dtype(self.dtype) not in (np.float32, np.float64):
            fail("dtype", "None, 'float32' or 'float64'")
        real("dropout", 0, 1, high_closed=False)
        boolean("batch_norm")
        real("l1", 0)
        if self.dropout and self.solver == "lbfgs":
            raise ValueError(f"dropout={self.dropout} needs a stochastic solver (sgd, adam, "
                             f"rmsprop, adamw): L-BFGS needs the same loss at every "
                             f"evaluation, and dropout draws a new mask each time")
        return sizes, activations * (len(sizes) if len(activations) == 1 else 1)

    # -- building the network ---------------------------------------------------
    def _network(self, coefs, intercepts, hidden_activations, gradients=True, rng=None):
        """A :class:`Network` whose layers *are* ``coefs`` and ``intercepts`` (no copies),
        with the fitted ``batch_norm_layers_`` and the dropout layers between them
        (without ``gradients``, for prediction only, the dropout layers are left out:
        they are the identity at inference)."""
        acts = [*hidden_activations, self.out_activation_]
        norms = getattr(self, "batch_norm_layers_", None) or [None] * len(hidden_activations)
        layers = []
        for i, (W, b, act, norm) in enumerate(zip(coefs, intercepts, acts, [*norms, None])):
            layers.append(Dense.from_arrays(W, b, "identity" if norm else act,
                                            gradients=gradients))
            if norm is not None:
                layers += [norm, Activation(act)]
            if self.dropout and gradients and i < len(hidden_activations):
                layers.append(Dropout(self.dropout))
        network = Network(layers, loss=self._loss_name(), alpha=self.alpha, l1=self.l1, seed=rng)
        return network.pack(parameters=False) if gradients else network

    def _hidden_activations(self):
        n = len(self.coefs_) - 1
        acts = self.activation if isinstance(self.activation, (list, tuple)) else [
            self.activation] * n
        return list(acts)

    def _init_weights(self, layer_units, activations, dtype, rng):
        coefs, intercepts = [], []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layer_units)):
            if self.init is None:
                # scikit-learn's scheme: Glorot-uniform for weights and biases,
                # with the bound for the logistic scaled as Glorot suggests
                act = activations[min(i, len(activations) - 1)] if activations else "relu"
                factor = 2.0 if act == "logistic" else 6.0
                bound = np.sqrt(factor / (fan_in + fan_out))
                W = rng.uniform(-bound, bound, (fan_in, fan_out))
                b = rng.uniform(-bound, bound, fan_out)
            else:
                W = get_initializer(self.init)(fan_in, fan_out, rng)
                b = np.zeros(fan_out)
            coefs.append(np.ascontiguousarray(W, dtype=dtype))
            intercepts.append(b.astype(dtype))
        return _laid_out(coefs, intercepts)

    @property
    def network_(self):
        """The fitted model as an engine :class:`glassnet.Network`.

        Its layers share ``coefs_``, ``intercepts_`` and ``batch_norm_layers_``
        (no copies): what the engine does to it (``glassnet.train``,
        ``gradient_check``, ``glassnet.io.save_model``) it does to this
        estimator. Activations, dropout, loss, ``alpha`` and ``l1`` are the
        estimator's. A new ``Network`` object on each access.
        """
        check_is_fitted(self)
        return self._network(self.coefs_, self.intercepts_, self._hidden_activations())

    def _make_optimizer(self):
        """The solver as an optimiser from the registry, with scikit-learn's options."""
        options = {
            "sgd": {"momentum": self.momentum,
                    "nesterov": bool(self.nesterovs_momentum and self.momentum > 0)},
            "adam": {"beta1": self.beta_1, "beta2": self.beta_2, "eps": self.epsilon},
            "adamw": {"beta1": self.beta_1, "beta2": self.beta_2, "eps": self.epsilon},
            "rmsprop": {"eps": self.epsilon},
        }[self.solver]
        return get_optimizer(self.solver, lr=self.learning_rate_init, **options)

    def _make_schedule(self):
        """glassnet's ``schedule`` when given, else scikit-learn's ``learning_rate`` (sgd only)."""
        if self.schedule is not None:
            return get_schedule(self.schedule)
        if self.solver != "sgd" or self.learning_rate == "constant":
            return None
        if self.learning_rate == "invscaling":
            return InverseScaling(self.power_t, unit="sample")
        return Adaptive(patience=self.n_iter_no_change, threshold=self.tol,
                        monitor="val_score" if self.early_stopping else "loss")

    def _early_stopping(self, schedule):
        """scikit-learn's ``tol``/``n_iter_no_change`` rule as the one early-stopping
        callback, carrying on from the count and best of the previous call
        (``warm_start``, ``partial_fit``), as scikit-learn does.

        With ``early_stopping=True`` it watches the validation score and puts
        back the best weights at the end; otherwise the training loss. It stops
        after ``n_iter_no_change + 1`` epochs without improvement, except with
        ``learning_rate='adaptive'``, whose schedule decides (it lowers the rate
        first).
        """
        adaptive = isinstance(schedule, Adaptive)
        patience = np.inf if adaptive else self.n_iter_no_change + 1
        if self.early_stopping:
            stopper = EarlyStopping("val_score", patience, self.tol, restore_best_weights=True)
            stopper.plateau.best = self.best_validation_score_
            stopper.best_weights = getattr(self, "_best_weights", None)  # None: imported
        else:
            stopper = EarlyStopping("loss", patience, self.tol, restore_best_weights=False)
            stopper.plateau.best = self.best_loss_
        stopper.plateau.bad_epochs = self._no_improvement_count
        stopper.best_epoch = self.history_.best_epoch
        if adaptive:
            schedule.plateau.best = stopper.plateau.best
            schedule.plateau.bad_epochs = self._no_improvement_count
        return stopper

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                          "to be clipped", stacklevel=6)
        return int(np.clip(self.batch_size, 1, n_samples))

    # -- fitting ----------------------------------------------------------------
    def _fit_target_scaler(self, Y, sample_weight, reset):
        """Fit what maps the targets to the network's units (the regressor's
        ``scale_target``); nothing here."""

    def _scaled_targets(self, Y):
        """The targets in the units the network trains in (unchanged here)."""
        return Y

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the model to ``X`` and ``y``; returns self.

        ``X_val``, ``y_val`` (and optionally ``sample_weight_val``) are a
        validation set of your own (stochastic solvers): with
        ``early_stopping=True`` it is monitored instead of a random
        ``validation_fraction`` of ``X``; either way ``validation_scores_``,
        ``history_["val_loss"]`` and ``history_["val_score"]`` are computed on
        it after every epoch.

        A failed fit (bad input, a diverging solver) leaves the estimator as
        it was before the call.
        """
        validation = None
        if X_val is not None or y_val is not None or sample_weight_val is not None:
            validation = (X_val, y_val, sample_weight_val)
        return self._guarded_fit(X, y, sample_weight, incremental=False, validation=validation)

    def _guarded_fit(self, X, y, sample_weight, incremental, classes=None, validation=None):
        saved = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, incremental, classes, validation)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _fit(self, X, y, sample_weight, incremental, classes=None, validation=None):
        network, X, Y, sample_weight, rng, validation = self._begin_fit(
            X, y, sample_weight, incremental, classes, validation)
        try:
            if self.solver == "lbfgs":
                self._fit_lbfgs(network, X, Y, sample_weight)
            else:
                self._fit_stochastic(network, X, Y, sample_weight, incremental, rng, validation)
        except TrainingDivergedError as exc:
            raise ValueError(f"{_NON_FINITE} glassnet: {exc}") from None
        return self._end_fit(network)

    def _end_fit(self, network):
        if not all(np.isfinite(p).all() for p in network.parameters()):
            raise ValueError(_NON_FINITE)
        return self

    def _begin_fit(self, X, y, sample_weight, incremental, classes=None, validation=None):
        """Everything a fit does before the solver runs: checks, encoding, the
        initial weights (or the warm start's copies), the network; returns
        ``(network, X, Y, sample_weight, rng, validation)``."""
        sizes, hidden_acts = self._check_params()
        if incremental and self.solver not in _STOCHASTIC:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass, classes=classes)
        dtype = np.dtype(self.dtype) if self.dtype is not None else X.dtype
        X = X.astype(dtype, copy=False)
        Y = np.ascontiguousarray(Y, dtype=dtype)
        n_samples, n_features = X.shape
        sample_weight = _check_weights(sample_weight, n_samples, dtype, "sample_weight")
        sample_weight = self._weigh_classes(Y, sample_weight, dtype)
        self._fit_target_scaler(Y, sample_weight, reset=first_pass)
        Y = self._scaled_targets(Y)
        if validation is not None:
            X_val, Y_val, w_val = self._check_validation(*validation, dtype, Y.shape[1])
            validation = (X_val, self._scaled_targets(Y_val), w_val)
        rng = _rng_from(self.random_state)
        layer_units = [n_features, *sizes, Y.shape[1]]
        if first_pass:
            self._initialize(Y, layer_units, hidden_acts, dtype, rng)
        else:
            if not hasattr(self, "history_"):
                # coefs_ and intercepts_ set by hand (scikit-learn allows it, and
                # partial_fit then trains them): the rest of the state starts afresh
                coefs, intercepts = self.coefs_, self.intercepts_
                self._initialize(Y, layer_units, hidden_acts, dtype, rng)
                self.coefs_, self.intercepts_ = list(coefs), list(intercepts)
            expected = [np.shape(W)[0] for W in self.coefs_] + [np.shape(self.coefs_[-1])[1]]
            if expected != layer_units:
                raise ValueError(f"warm_start/partial_fit needs the same layer sizes as before: "
                                 f"{expected}, got {layer_units}")
            if self.batch_norm != bool(getattr(self, "batch_norm_layers_", None)):
                raise ValueError(f"warm_start/partial_fit needs the same batch_norm as before "
                                 f"({not self.batch_norm}), got {self.batch_norm}")
            # train on copies, so a failure leaves the fitted weights untouched
            self.coefs_, self.intercepts_ = _laid_out(
                [np.asarray(W, dtype) for W in self.coefs_],
                [np.asarray(b, dtype) for b in self.intercepts_])
            self.batch_norm_layers_ = [copy.deepcopy(norm).astype(dtype)
                                       for norm in self.batch_norm_layers_]
        network = self._network(self.coefs_, self.intercepts_, hidden_acts, rng=rng)
        return network, X, Y, sample_weight, rng, validation

    def _weigh_classes(self, Y, sample_weight, dtype):
        return sample_weight

    def _check_validation(self, X_val, y_val, sample_weight_val, dtype, n_outputs):
        """``(X_val, Y_val, w_val)`` checked and encoded like the training data."""
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be passed together (sample_weight_val only "
                             "with them)")
        if self.solver == "lbfgs":
            raise ValueError("X_val/y_val are monitored after every epoch of a stochastic "
                             "solver; solver='lbfgs' has no epochs. Use solver='adam' or 'sgd'.")
        X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"], reset=False,
                              dtype=(np.float64, np.float32))
        y_val = check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val")
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(f"X_val has {X_val.shape[0]} rows but y_val has {y_val.shape[0]}")
        Y_val = np.ascontiguousarray(self._encode_validation_target(y_val, n_outputs),
                                     dtype=dtype)
        w_val = _check_weights(sample_weight_val, X_val.shape[0], dtype, "sample_weight_val")
        w_val = self._weigh_classes(Y_val, w_val, dtype)
        return X_val.astype(dtype, copy=False), Y_val, w_val

    def _initialize(self, Y, layer_units, hidden_acts, dtype, rng):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        _check_size(layer_units, dtype)
        self.coefs_, self.intercepts_ = self._init_weights(layer_units, hidden_acts, dtype, rng)
        self.batch_norm_layers_ = [BatchNorm(n, dtype=dtype) for n in layer_units[1:-1]
                                   ] if self.batch_norm else []
        self.history_ = History()
        if self.solver in _STOCHASTIC:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None
            self._best_weights = None
            self._optimizer = self._schedule = None

    def _fit_lbfgs(self, network, X, Y, sample_weight):
        """SciPy's L-BFGS takes the steps; each of its iterations ends an epoch of the loop."""
        params, grads = network.parameters(), network.gradients()
        shapes = [p.shape for p in params]
        bounds = np.cumsum([0] + [p.size for p in params])

        def unpack(x):
            for p, start, stop, shape in zip(params, bounds, bounds[1:], shapes):
                p[...] = x[start:stop].reshape(shape)

        def loss_and_grad(x):
            if trainer.interrupted:  # Ctrl-C: stop between evaluations, weights intact
                raise KeyboardInterrupt
            unpack(x)
            loss = network.loss_and_gradients(X, Y, sample_weight)
            return loss, np.concatenate([g.ravel() for g in grads]).astype(np.float64)

        def end_iteration(intermediate_result):
            trainer.end_epoch(float(intermediate_result.fun))
            if trainer.stop:
                raise StopIteration

        history = copy.deepcopy(self.history_)
        done = len(history.epoch)
        trainer = Trainer(network, None, callbacks=self._callbacks(None), history=history)
        x0 = np.concatenate([p.ravel() for p in params]).astype(np.float64)
        with trainer.session():
            try:
                result = scipy.optimize.minimize(
                    loss_and_grad, x0, method="L-BFGS-B", jac=True, callback=end_iteration,
                    options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
            except KeyboardInterrupt:
                result = None
        self.history_ = history
        if result is None:
            warnings.warn("Training interrupted by user.", stacklevel=5)
            self.n_iter_ = len(history.epoch) - done
            self.loss_ = evaluate(network, X, Y, sample_weight, with_score=False)[0]
            return
        unpack(result.x)
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        if result.status != 0:
            message = result.message.decode() if isinstance(result.message, bytes) else str(
                result.message)
            if "EVALUATIONS" in message:
                advice = (f"Try more function evaluations (max_fun={self.max_fun} now, e.g. "
                          f"{2 * self.max_fun})"
                          + _scaling_advice(X, getattr(self, "feature_names_in_", None)) + ".")
            else:
                advice = self._convergence_advice(X)
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status="
                f"{result.status}): {message}. {advice}", ConvergenceWarning, stacklevel=5)

    def _fit_stochastic(self, network, X, Y, sample_weight, incremental, rng, validation=None):
        """Configure the loop (optimiser, schedule, early stopping, verbose output, the
        user's callbacks) and run it for ``max_iter`` epochs, or one for ``partial_fit``.

        ``validation`` is the user's ``(X_val, Y_val, w_val)``, checked: early
        stopping monitors it instead of a split of ``X``. A divergence with
        early stopping ends the run with the best validation weights and a
        ``ConvergenceWarning``; without, it raises. :meth:`_plan_stochastic`
        and :meth:`_finish_stochastic` are the two halves around the loop, so
        that :func:`glassnet.stack.fit_estimators` can run the loops of many
        estimators as one."""
        plan = self._plan_stochastic(network, X, Y, sample_weight, incremental, rng, validation)
        result = None
        try:
            plan.trainer.fit(plan.X, plan.Y, plan.epochs, sample_weight=plan.sample_weight,
                             schedule=plan.schedule, validation_data=plan.validation)
        except TrainingDivergedError as exc:
            result = exc
        self._finish_stochastic(plan, result, stacklevel=6)

    def _plan_stochastic(self, network, X, Y, sample_weight, incremental, rng, validation=None):
        """The loop's :class:`glassnet.Trainer` and the arguments of its ``fit``."""
        if incremental and self._optimizer is not None:
            optimizer, schedule = self._optimizer, self._schedule  # partial_fit carries on
        else:
            optimizer, schedule = self._make_optimizer(), self._make_schedule()
            if (isinstance(schedule, Adaptive) and isinstance(self._schedule, Adaptive)
                    and not self._schedule.finished):
                schedule = self._schedule  # warm_start: the rate goes on from where it fell to
        if validation is None and self.early_stopping:
            X, Y, sample_weight, *validation = self._validation_split(X, Y, sample_weight, rng)
        stopper = self._early_stopping(schedule)
        history = copy.deepcopy(self.history_)
        history.samples_seen = self.t_  # the schedules' sample clock is scikit-learn's t_
        # with callbacks of the user's, coefs_ stays current at every step
        # (a callback may call predict); otherwise the loop may alternate two
        # parameter buffers within an epoch (see Trainer.step)
        trainer = Trainer(network, optimizer, batch_size=self._batch_size(X.shape[0]),
                          shuffle=self.shuffle, rng=rng, callbacks=self._callbacks(stopper),
                          history=history, alternate_buffers=not self.callbacks)
        if validation is not None:
            validation = tuple(validation)
        return _StochasticFit(trainer, X, Y, 1 if incremental else self.max_iter, sample_weight,
                              schedule, validation, stopper, len(history.epoch), incremental)

    def _finish_stochastic(self, plan, result=None, stacklevel=5):
        """scikit-learn's fitted attributes from what the loop recorded; ``result``
        is the loop's :class:`~glassnet.TrainingDivergedError`, if any (raised
        again unless early stopping kept the best validation weights)."""
        trainer, stopper, schedule, X = plan.trainer, plan.stopper, plan.schedule, plan.X
        history, done, incremental = trainer.history, plan.done, plan.incremental
        diverged = None
        if isinstance(result, TrainingDivergedError):
            # the loop has put back the best validation weights (on_train_end)
            if not self.early_stopping or stopper.best_weights is None:
                raise result
            diverged = result
            history.stopped_early = True
        self.history_ = history
        self.n_iter_ = len(history.epoch) - done
        self.t_ = history.samples_seen
        self.loss_ = history.loss[-1]
        self.loss_curve_ = self.loss_curve_ + history.loss[done:]
        if plan.validation is not None:
            self.validation_scores_ = (self.validation_scores_ or []) + history.val_score[done:]
        if self.early_stopping:
            self.best_validation_score_ = stopper.best
            self._best_weights = stopper.best_weights
        else:
            self.best_loss_ = stopper.best
        counter = schedule.plateau if isinstance(schedule, Adaptive) else stopper.plateau
        self._no_improvement_count = counter.bad_epochs
        self._optimizer, self._schedule = trainer.optimizer, schedule
        if diverged is not None:
            warnings.warn(
                f"{_NON_FINITE} Training stopped in epoch {self.n_iter_ + 1} ({diverged}) and the "
                f"estimator keeps the weights of the best validation score "
                f"({self.best_validation_score_:.6g}, epoch {(history.best_epoch or 0) + 1}). "
                f"Try a smaller learning_rate_init (now {self.learning_rate_init:g})"
                f"{_scaling_advice(X, getattr(self, 'feature_names_in_', None))}.",
                ConvergenceWarning, stacklevel=stacklevel)
        elif trainer.interrupted:
            warnings.warn("Training interrupted by user.", stacklevel=stacklevel)
        elif not incremental and not trainer.stop and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          f"and the optimization hasn't converged yet. "
                          f"{self._convergence_advice(X, self.learning_rate_init)}",
                          ConvergenceWarning, stacklevel=stacklevel)

    def _callbacks(self, stopper):
        """The loop's callbacks: early stopping, verbose output, then the user's."""
        callbacks = [] if stopper is None else [stopper]
        if self.verbose:
            what = "Validation score" if self.early_stopping else "Training loss"
            callbacks.append(_Verbose(f"{what} did not improve more than tol={self.tol:f} for "
                                      f"{self.n_iter_no_change} consecutive epochs."))
        return callbacks + list(self.callbacks or ())

    def _validation_split(self, X, Y, sample_weight, rng):
        stratify = None
        if is_classifier(self) and self._label_binarizer.y_type_ != "multilabel-indicator":
            stratify = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0]
        seed = int(rng.integers(np.iinfo(np.int32).max))
        arrays = [X, Y] if sample_weight is None else [X, Y, sample_weight]
        try:
            parts = train_test_split(*arrays, random_state=seed, test_size=self.validation_fraction,
                                     stratify=stratify)
        except ValueError:
            if stratify is not None and Y.shape[1] == 1:
                self._refuse_small_classes(Y)
            # too few members of some class to stratify: fall back to a plain split
            parts = train_test_split(*arrays, random_state=seed,
                                     test_size=self.validation_fraction)
        X_train, X_val, Y_train, Y_val = parts[:4]
        w_train, w_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        return X_train, Y_train, w_train, X_val, Y_val, w_val

    def _refuse_small_classes(self, Y):
        """scikit-learn's error, with the labels themselves, for a binary target with a
        one-member class (its stratified split cannot hold it out)."""
        labels = self._label_binarizer.inverse_transform(Y[:, 0])
        present, counts = np.unique(labels, return_counts=True)
        few = present[counts < 2]
        if not len(few):
            return
        detail = ", ".join(f"{label!r}: {count} member" for label, count in
                           zip(present.tolist(), counts) if count < 2)
        raise ValueError(
            f"The least populated classes in y have only {counts.min()} member, which is too "
            f"few. The minimum number of groups for any class cannot be less than 2. Classes "
            f"with too few members are: {few.tolist()} ({detail}). early_stopping=True holds out "
            f"a stratified validation_fraction of the rows, which needs 2 members of each "
            f"class: add rows of these classes, pass your own X_val/y_val, or set "
            f"early_stopping=False.")

    def _convergence_advice(self, X, lr=None):
        """What to try when the solver stopped before converging."""
        tips = [f"more iterations (max_iter={self.max_iter} now, e.g. {2 * self.max_iter})"]
        if lr is not None:
            tips.append(f"a larger learning_rate_init (now {lr:g}, e.g. {lr * 10:g})")
        advice = "Try " + " or ".join(tips)
        return advice + _scaling_advice(X, getattr(self, "feature_names_in_", None)) + "."

    # -- prediction -------------------------------------------------------------
    def _forward(self, X, keep=False):
        check_is_fitted(self)
        if not self._plain_input(X):
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                              dtype=(np.float64, np.float32))
        network = self._network(self.coefs_, self.intercepts_, self._hidden_activations(),
                                gradients=False)
        A = X
        outputs = [X]
        layers = network.layers
        for i, layer in enumerate(layers):
            A = layer.apply(A)
            if keep and (i + 1 == len(layers) or isinstance(layers[i + 1], Dense)):
                outputs.append(A)
        return outputs if keep else A

    def activations(self, X):
        """Every layer's output for ``X``: ``[A0, A1, …, AL]``, input to output.

        ``A0`` is ``X`` itself (as validated), ``Al = g_l(A(l−1) @ W_l + b_l)``
        the ``l``-th layer's output (after batch normalisation when
        ``batch_norm=True``; dropout is off, as in prediction), and ``AL`` what
        ``predict_proba`` / ``predict`` read. ``len(activations(X)) == n_layers_``;
        ``Al`` has shape ``(n_samples, coefs_[l-1].shape[1])``.
        """
        return self._forward(X, keep=True)

    def transform(self, X):
        """The last hidden layer's output, ``(n_samples, hidden_layer_sizes[-1])``: the
        features the output layer sees, so a fitted estimator can sit in a
        ``Pipeline`` as a feature extractor."""
        return self._forward(X, keep=True)[-2]

    def fit_transform(self, X, y, **fit_params):
        """``fit(X, y, **fit_params).transform(X)``."""
        return self.fit(X, y, **fit_params).transform(X)

    @property
    def _n_features_out(self):
        """Width of ``transform``'s output: the fan-in of the output layer (the
        last hidden layer's width; ``n_features_in_`` without hidden layers)."""
        return self.coefs_[-1].shape[0]

    def get_feature_names_out(self, input_features=None):
        """Names of ``transform``'s output columns, scikit-learn's convention for
        new features (as ``PCA``'s): the lowercased class name and the unit's
        index, ``['mlpclassifier0', …, 'mlpclassifier{k-1}']`` for a last hidden
        layer of ``k`` units.

        ``input_features`` is only checked against the ``feature_names_in_`` /
        ``n_features_in_`` seen in ``fit`` (scikit-learn's error when they
        differ). With these names, ``set_output(transform="pandas")`` makes
        ``transform`` and ``fit_transform`` return a ``DataFrame`` (the input's
        index kept), in a ``ColumnTransformer`` or ``FeatureUnion`` too;
        ``predict`` and ``predict_proba`` are unaffected.
        """
        return super().get_feature_names_out(input_features)

    def _plain_input(self, X):
        """True when ``X`` needs none of ``validate_data``'s conversions: a finite 2-D
        float array of the fitted width, and no column names were seen in ``fit``.

        The checks are the same; doing them directly takes a few microseconds
        instead of ~50, which is most of a one-row prediction. Anything else
        (lists, frames, sparse, NaN, a wrong width) goes through
        ``validate_data`` and gets scikit-learn's own error.
        """
        return (type(X) is np.ndarray and X.ndim == 2 and X.dtype in (np.float64, np.float32)
                and X.shape[0] > 0 and X.shape[1] == self.n_features_in_
                and not hasattr(self, "feature_names_in_") and bool(np.isfinite(X).all()))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags = TransformerTags()  # transform(): the last hidden layer
        return tags


@dataclass
class _StochasticFit:
    """A stochastic fit between :meth:`_BaseMLP._plan_stochastic` and
    :meth:`_BaseMLP._finish_stochastic`: the trainer and its ``fit`` arguments."""

    trainer: Trainer
    X: object
    Y: np.ndarray
    epochs: int
    sample_weight: np.ndarray | None
    schedule: object
    validation: tuple | None
    stopper: EarlyStopping
    done: int
    incremental: bool


def _shared_params(values):
    """The constructor arguments that :class:`_BaseMLP` takes, out of a subclass's ``locals()``
    (scikit-learn needs each estimator to spell out its own signature)."""
    return {name: values[name] for name in _BaseMLP._get_param_names()}


class _Verbose(Callback):
    """``verbose=True``: scikit-learn's line per epoch, and why the rate fell or training stopped."""

    def __init__(self, plateau_message):
        self.plateau_message = plateau_message

    def on_train_begin(self, trainer):
        self.iterations = 0
        self.lr = None

    def on_epoch_begin(self, trainer, epoch):
        lr = trainer.optimizer.lr
        if self.lr is not None and lr < self.lr and isinstance(trainer.schedule, Adaptive):
            print(f"{self.plateau_message} Setting learning rate to {lr:f}")
        self.lr = lr

    def on_epoch_end(self, trainer, epoch, logs):
        self.iterations += 1
        print(f"Iteration {self.iterations}, loss = {logs['loss']:.8f}")
        if "val_score" in logs:
            print(f"Validation score: {logs['val_score']:f}")
        if trainer.history.stopped_early and trainer.optimizer is not None:
            finished = trainer.schedule is not None and trainer.schedule.finished
            print(self.plateau_message + (" Learning rate too small." if finished else "")
                  + " Stopping.")


def _check_solver(estimator):
    """``partial_fit`` exists only for the stochastic solvers (as in scikit-learn)."""
    if estimator.solver not in _STOCHASTIC:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{estimator.solver} is not stochastic.")
    return True


def _interval(low, high, low_closed, high_closed):
    return f"{'[' if low_closed else '('}{low}, {high}{']' if high_closed else ')'}"


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier, trained by glassnet's hand-written backprop.

    Parameters and attributes are those of
    ``sklearn.neural_network.MLPClassifier`` (see the module docstring for
    the few documented differences and glassnet's extras). The output layer is
    a sigmoid with binary cross-entropy for binary and multilabel targets and
    a softmax with categorical cross-entropy for multiclass targets; both fuse
    to the output gradient ``dL/dZ = (Ŷ − Y)/n``.

    Examples
    --------
    >>> from glassnet import MLPClassifier
    >>> from glassnet.datasets import load_wisconsin
    >>> X, y = load_wisconsin(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(15,), tol=1e-3, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 schedule=None, init=None, dtype=None, callbacks=None, dropout=0.0,
                 batch_norm=False, l1=0.0, class_weight=None):
        super().__init__(**_shared_params(locals()))
        self.class_weight = class_weight

    def _check_params(self):
        cw = self.class_weight
        if not (cw is None or (isinstance(cw, str) and cw == "balanced") or isinstance(cw, dict)):
            raise ValueError(f"The 'class_weight' parameter of MLPClassifier must be None, "
                             f"'balanced' or a dict mapping classes to weights. Got {cw!r} "
                             f"instead.")
        return super()._check_params()

    def _weigh_classes(self, Y, sample_weight, dtype):
        """``sample_weight`` times each row's class weight (``class_weight``), as
        ``LogisticRegression`` does: ``'balanced'`` gives class ``c`` the weight
        ``n_samples / (n_classes · n_c)`` (counted in the rows ``fit`` is given;
        ``partial_fit`` refuses it), a dict its own weight to each class it
        names and 1 to the others."""
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets; pass "
                             "sample_weight instead")
        labels = self._label_binarizer.inverse_transform(Y if Y.shape[1] > 1 else Y[:, 0])
        # a dict is checked against every class (a partial_fit batch may lack some);
        # 'balanced' counts the classes present in the rows fitted
        classes = np.unique(labels) if self.class_weight == "balanced" else self.classes_
        weights = compute_class_weight(self.class_weight, classes=classes, y=labels)
        rows = weights[np.searchsorted(classes, labels)]
        if sample_weight is not None:
            rows = rows * sample_weight
        return rows.astype(dtype)

    def _encode_validation_target(self, y_val, n_outputs):
        labels = unique_labels(y_val)
        if self._label_binarizer.y_type_ != "multilabel-indicator" and len(
                np.setdiff1d(labels, self.classes_)):
            raise ValueError(f"y_val has classes not in the training y: "
                             f"{list(np.setdiff1d(labels, self.classes_))}; the classes are "
                             f"{list(self.classes_)}")
        return self._label_binarizer.transform(y_val)

    def _loss_name(self):
        return ("categorical_cross_entropy" if self.out_activation_ == "softmax"
                else "binary_cross_entropy")

    def _output_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset, classes=None):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if classes is not None and (not hasattr(self, "classes_") or reset):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            if self._label_binarizer.y_type_ != "multilabel-indicator" and len(unseen):
                raise ValueError(f"`y` has classes not in `classes`: {unseen.tolist()}; "
                                 f"`classes` is {self.classes_.tolist()}")
        elif not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            labels = unique_labels(y)
            if self.warm_start and not incremental:
                if set(labels) != set(self.classes_):
                    raise ValueError(
                        f"warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {labels}")
            elif len(np.setdiff1d(labels, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {labels}.")
        # a single class fits too (as in scikit-learn): one sigmoid unit trained
        # towards 0, which the label binarizer reads back as that class
        Y = self._label_binarizer.transform(y)
        return X, Y

    @available_if(_check_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``; ``classes`` (all labels) is required on the first call.

        ``class_weight='balanced'`` is refused, as in ``SGDClassifier``: one
        batch's class counts are not the data's. Compute the weights once over
        the whole target and pass them as a dict::

            weights = compute_class_weight("balanced", classes=classes, y=y_all)
            clf.set_params(class_weight=dict(zip(classes, weights)))
        """
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: it would weigh "
                "each class by its count in one batch, not in the whole data. Compute the "
                "weights once over the whole target (or a large sample of it) with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', classes=classes, "
                "y=y) and pass them as a dict: class_weight=dict(zip(classes, weights)).")
        first_call = not hasattr(self, "classes_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first_call and classes is not None and not np.array_equal(
                unique_labels(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                             f"partial_fit, was: {self.classes_!r}")
        return self._guarded_fit(X, y, sample_weight, incremental=True,
                                 classes=classes if first_call else None)

    def predict(self, X):
        """Predicted class labels (one row of 0/1 labels per sample for multilabel)."""
        Yhat = self._forward(X)
        if self.n_outputs_ == 1:
            Yhat = Yhat.ravel()
        return self._label_binarizer.inverse_transform(Yhat)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        Yhat = self._forward(X)
        if self.n_outputs_ == 1:
            p = Yhat.ravel()
            return np.column_stack([1 - p, p])
        return Yhat

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor, trained by glassnet's hand-written backprop.

    ``loss='squared_error'`` optimises half the squared error with an identity
    output; ``loss='poisson'`` half the Poisson deviance with an exp output.
    Both fuse to ``dL/dZ = (Ŷ − Y)/n``. Parameters and attributes are those of
    ``sklearn.neural_network.MLPRegressor``.

    glassnet's extra ``scale_target=False``: when True, train on the
    standardised target and predict in its units (see the module docstring);
    the fitted ``target_offset_`` and ``target_scale_`` (one per output, None
    when off) are the means and standard deviations used.

    Examples
    --------
    >>> import numpy as np
    >>> from glassnet import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> y = 150 + 40 * np.sin(3 * X[:, 0])
    >>> settings = {"hidden_layer_sizes": (20,), "max_iter": 300, "random_state": 0}
    >>> MLPRegressor(scale_target=True, **settings).fit(X, y).score(X, y) > 0.7
    True
    >>> MLPRegressor(**settings).fit(X, y).score(X, y) < 0    # still climbing towards 150
    True
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 schedule=None, init=None, dtype=None, callbacks=None, dropout=0.0,
                 batch_norm=False, l1=0.0, scale_target=False):
        super().__init__(**_shared_params(locals()))
        self.loss = loss
        self.scale_target = scale_target

    def _check_params(self):
        if not isinstance(self.loss, str) or self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"The 'loss' parameter of MLPRegressor must be a str among "
                             f"['poisson', 'squared_error']. Got {self.loss!r} instead.")
        if not isinstance(self.scale_target, (bool, np.bool_)):
            # a ValueError, as scikit-learn raises for every invalid parameter
            raise ValueError(f"The 'scale_target' parameter of MLPRegressor must be an "  # noqa: TRY004
                             f"instance of 'bool'. Got {self.scale_target!r} instead.")
        if self.scale_target and self.loss == "poisson":
            raise ValueError("scale_target=True needs loss='squared_error': a standardised "
                             "target is negative on half its rows, which a Poisson loss refuses")
        return super()._check_params()

    def _loss_name(self):
        return "poisson" if self.loss == "poisson" else "half_squared_error"

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _encode_validation_target(self, y_val, n_outputs):
        y_val = check_array(y_val, ensure_2d=False, dtype=np.float64, input_name="y_val")
        if y_val.ndim == 1:
            y_val = y_val.reshape(-1, 1)
        if y_val.shape[1] != n_outputs:
            raise ValueError(f"y_val has {y_val.shape[1]} output(s), y has {n_outputs}")
        return y_val

    def _validate_input(self, X, y, incremental, reset, classes=None):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("loss='poisson' needs non-negative targets")
        return X, (y.reshape(-1, 1) if y.ndim == 1 else y)

    def _fit_target_scaler(self, Y, sample_weight, reset):
        """With ``scale_target=True``, each output's (weighted) mean and standard
        deviation as ``target_offset_`` and ``target_scale_``: fitted when ``reset`` (a
        new fit; ``partial_fit``'s first call), kept by ``warm_start`` and ``partial_fit``."""
        fitted = getattr(self, "target_offset_", None) is not None
        if not reset and fitted != bool(self.scale_target):
            raise ValueError(f"warm_start/partial_fit needs the same scale_target as before "
                             f"({fitted}), got {self.scale_target}")
        if reset:
            self.target_offset_ = self.target_scale_ = None
            if self.scale_target:
                Y64 = np.asarray(Y, dtype=np.float64)
                mean = np.average(Y64, axis=0, weights=sample_weight)
                std = np.sqrt(np.average((Y64 - mean) ** 2, axis=0, weights=sample_weight))
                self.target_offset_ = mean
                self.target_scale_ = np.where(std > 0, std, 1.0)  # a constant target: 1

    def _scaled_targets(self, Y):
        """``(Y − target_offset_) / target_scale_`` with ``scale_target=True``, else ``Y``."""
        if getattr(self, "target_offset_", None) is None:
            return Y
        return ((Y - self.target_offset_) / self.target_scale_).astype(Y.dtype)

    @available_if(_check_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``."""
        return self._guarded_fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted values, ``(n_samples,)`` or ``(n_samples, n_outputs)``, in the
        target's units (with ``scale_target=True``, ``ŷ'·target_scale_ + target_offset_``)."""
        Yhat = self._forward(X)
        if getattr(self, "target_offset_", None) is not None:
            Yhat = (Yhat * self.target_scale_ + self.target_offset_).astype(Yhat.dtype,
                                                                            copy=False)
        return Yhat.ravel() if Yhat.shape[1] == 1 else Yhat


def fit_many(jobs, memory_budget=None):
    """Fit many estimators, each as its own ``fit`` would, with the stochastic
    fits that can share a loop trained together (:mod:`glassnet.stack`).

    ``jobs`` is a list of ``(estimator, X, y)`` or ``(estimator, X, y,
    sample_weight)``; the estimators are glassnet's. Returns one entry per job:
    the fitted estimator, or the exception its ``fit`` raised (the estimator
    then left as it was). Fits whose networks have one shape, one solver, the
    same number of training rows and the same batch size form a stack (see
    :func:`glassnet.stack.stack_key`); a stack whose arrays would pass
    ``memory_budget`` bytes (:data:`glassnet.stack.MEMORY_BUDGET`, 1 GiB, by
    default) is split into several. ``lbfgs`` fits run one at a time.
    Every estimator's fitted attributes, warnings and errors are those of its
    own ``fit`` (the weights to within the rounding of the matrix products,
    see :mod:`glassnet.stack`).
    """
    from .stack import MEMORY_BUDGET, Run, fit_together, stack_key

    budget = MEMORY_BUDGET if memory_budget is None else int(memory_budget)
    results = [None] * len(jobs)
    pending = []  # (index, estimator, saved state, network, plan)
    for i, job in enumerate(jobs):
        estimator, X, y, *rest = job
        sample_weight = rest[0] if rest else None
        saved = dict(estimator.__dict__)
        try:
            if estimator.solver not in _STOCHASTIC:
                results[i] = estimator.fit(X, y, sample_weight)
                continue
            network, Xc, Y, w, rng, validation = estimator._begin_fit(X, y, sample_weight, False)
            if not isinstance(Xc, np.ndarray):  # sparse rows: one at a time
                estimator.__dict__.clear()
                estimator.__dict__.update(saved)
                results[i] = estimator.fit(X, y, sample_weight)
                continue
            plan = estimator._plan_stochastic(network, Xc, Y, w, False, rng, validation)
        except Exception as exc:  # noqa: BLE001 - handed back, as fit would raise it
            estimator.__dict__.clear()
            estimator.__dict__.update(saved)
            results[i] = exc
            continue
        pending.append((i, estimator, saved, network, plan))
    groups = {}
    for entry in pending:
        plan = entry[4]
        groups.setdefault(stack_key(plan.trainer, plan.X), []).append(entry)
    for entries in groups.values():
        for chunk in _within_budget(entries, budget):
            runs = [Run(p.trainer, p.X, p.Y, p.epochs, p.sample_weight, p.schedule, p.validation)
                    for *_, p in chunk]
            outcomes = fit_together(runs)
            for (i, estimator, saved, network, plan), outcome in zip(chunk, outcomes):
                try:
                    try:
                        estimator._finish_stochastic(
                            plan, outcome if isinstance(outcome, BaseException) else None,
                            stacklevel=3)
                    except TrainingDivergedError as exc:
                        raise ValueError(f"{_NON_FINITE} glassnet: {exc}") from None
                    results[i] = estimator._end_fit(network)
                except Exception as exc:  # noqa: BLE001
                    estimator.__dict__.clear()
                    estimator.__dict__.update(saved)
                    results[i] = exc
    return results


def _within_budget(entries, budget):
    """``entries`` in chunks whose stacked arrays stay within ``budget`` bytes."""
    plan = entries[0][4]
    network = plan.trainer.network
    rows = plan.X.shape[0]
    batch = rows if plan.trainer.batch_size is None else min(int(plan.trainer.batch_size), rows)
    widths = network.n_inputs + sum(layer.n_units or 0 for layer in network.layers)
    itemsize = np.dtype(network.dtype).itemsize
    # every layer's activations, its cached input, dZ and dX for one batch, and the
    # member's own rows when the members do not share them
    per_member = 4 * batch * widths * itemsize + rows * (plan.X.shape[1] + plan.Y.shape[1]) * itemsize
    size = max(1, budget // max(1, per_member))
    return [entries[start:start + size] for start in range(0, len(entries), size)]
