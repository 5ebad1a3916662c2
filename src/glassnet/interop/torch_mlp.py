"""The MLP a PyTorch user would write, as a scikit-learn estimator.

``glassnet compare`` puts it beside glassnet's and scikit-learn's MLPs: the
same architecture, activations, loss, initial-weight scheme, optimiser,
learning rate, batch size, L2 penalty and stopping rule as
:class:`glassnet.MLPClassifier`/:class:`glassnet.MLPRegressor` at the same
settings, written with plain ``torch.nn`` and ``torch.optim``:

- ``nn.Sequential`` of ``nn.Linear`` and the activation, the last layer
  producing logits (``BCEWithLogitsLoss`` / ``CrossEntropyLoss``) or values
  (½·mean squared error, the estimators' ``squared_error``);
- weights and biases drawn uniformly in ±sqrt(6 / (fan_in + fan_out))
  (±sqrt(2 / …) before a sigmoid), the estimators' Glorot scheme, from a
  ``torch.Generator`` seeded with ``random_state``;
- ``torch.optim.Adam`` or ``torch.optim.SGD`` (momentum, Nesterov) at
  ``learning_rate_init``, mini-batches of ``min(200, n)`` rows by default,
  shuffled every epoch;
- the L2 term ``alpha/(2m)·Σ‖W‖²`` added to each batch's loss (weights only);
- stopping as the estimators do: when the training loss (or, with
  ``early_stopping``, the held-out score) has not improved by ``tol`` for
  ``n_iter_no_change`` epochs, or after ``max_iter`` epochs.

It runs in float32, as a PyTorch user's model does by default, on one thread
(``torch.set_num_threads(1)`` during ``fit``, restored after): for networks
this small PyTorch's thread pool costs more than it gives, and on a busy
2-core machine it made a 200-epoch fit on the heart data 37 times slower.
Needs PyTorch (the ``torch`` extra) and scikit-learn.
"""

from __future__ import annotations

import itertools

import numpy as np

from .torch import _import_torch

__all__ = ["TorchMLPClassifier", "TorchMLPRegressor"]

_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "logistic": "Sigmoid", "identity": "Identity"}


def _base():
    from sklearn.base import BaseEstimator

    return BaseEstimator


class _TorchMLP:
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    # -- the model a PyTorch user writes ------------------------------------------------
    def _build(self, torch, n_in, n_out, generator):
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, "
                             f"got {self.activation!r}")
        sizes = [n_in, *np.atleast_1d(self.hidden_layer_sizes).astype(int).tolist(), n_out]
        modules = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            linear = torch.nn.Linear(fan_in, fan_out)
            last = i == len(sizes) - 2
            factor = 2.0 if (last and self._sigmoid_head) or (
                not last and self.activation == "logistic") else 6.0
            bound = (factor / (fan_in + fan_out)) ** 0.5
            with torch.no_grad():
                linear.weight.uniform_(-bound, bound, generator=generator)
                linear.bias.uniform_(-bound, bound, generator=generator)
            modules.append(linear)
            if not last:
                modules.append(getattr(torch.nn, _ACTIVATIONS[self.activation])())
        return torch.nn.Sequential(*modules)

    def _optimizer(self, torch, model):
        if self.solver == "adam":
            return torch.optim.Adam(model.parameters(), lr=self.learning_rate_init)
        if self.solver == "sgd":
            return torch.optim.SGD(model.parameters(), lr=self.learning_rate_init,
                                   momentum=self.momentum,
                                   nesterov=bool(self.nesterovs_momentum and self.momentum))
        raise ValueError(f"solver must be 'adam' or 'sgd', got {self.solver!r}")

    def fit(self, X, y):
        torch = _import_torch(f"glassnet's {type(self).__name__}")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._fit(torch, X, y)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, torch, X, y):
        from sklearn.model_selection import train_test_split

        X = np.asarray(X, dtype=np.float32)
        T = self._targets(y)
        generator = torch.Generator().manual_seed(
            0 if self.random_state is None else int(self.random_state))
        if self.early_stopping:
            stratify = T.argmax(1) if self._stratify else None
            X, X_val, T, T_val = train_test_split(
                X, T, test_size=self.validation_fraction, stratify=stratify,
                random_state=self.random_state)
            X_val = torch.from_numpy(X_val)
        model = self._build(torch, X.shape[1], T.shape[1], generator)
        optimizer = self._optimizer(torch, model)
        weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
        Xt, Tt = torch.from_numpy(X), torch.from_numpy(T)
        n = len(Xt)
        batch = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        best, stall, self.loss_curve_ = np.inf, 0, []
        for epoch in range(self.max_iter):
            model.train()
            order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
            total = 0.0
            for start in range(0, n, batch):
                rows = order[start:start + batch]
                optimizer.zero_grad()
                loss = self._loss(torch, model(Xt[rows]), Tt[rows])
                penalty = sum((W ** 2).sum() for W in weights) * (self.alpha / (2 * len(rows)))
                (loss + penalty).backward()
                optimizer.step()
                total += (loss + penalty).item() * len(rows)
            self.loss_curve_.append(total / n)
            # what the stopping rule minimises: the held-out score's negation or the loss
            if self.early_stopping:
                with torch.no_grad():
                    model.eval()
                    current = -self._score_rows(model(X_val).numpy(), T_val)
            else:
                current = self.loss_curve_[-1]
            stall = 0 if current < best - self.tol else stall + 1
            best = min(best, current)
            if stall >= self.n_iter_no_change:
                break
        self.n_iter_ = epoch + 1
        self.model_ = model.eval()
        return self

    def _forward(self, X):
        torch = _import_torch(f"glassnet's {type(self).__name__}")
        with torch.no_grad():
            return self.model_(torch.from_numpy(np.asarray(X, dtype=np.float32))).numpy()


class TorchMLPClassifier(_TorchMLP, _base()):
    """Binary, multiclass: ``BCEWithLogitsLoss`` / ``CrossEntropyLoss``."""

    _stratify = True

    @property
    def _sigmoid_head(self):
        return len(getattr(self, "classes_", ())) == 2

    def _targets(self, y):
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("TorchMLPClassifier needs at least two classes")
        return np.eye(len(self.classes_), dtype=np.float32)[codes][:, -1:] \
            if len(self.classes_) == 2 else np.eye(len(self.classes_), dtype=np.float32)[codes]

    def _loss(self, torch, logits, T):
        if T.shape[1] == 1:
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, T)
        return torch.nn.functional.cross_entropy(logits, T.argmax(1))

    def _score_rows(self, logits, T):
        predicted = (logits[:, 0] > 0) if T.shape[1] == 1 else logits.argmax(1)
        truth = T[:, 0] > 0.5 if T.shape[1] == 1 else T.argmax(1)
        return float(np.mean(predicted == truth))

    def predict_proba(self, X):
        logits = self._forward(X).astype(np.float64)
        if logits.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-logits))
            return np.hstack([1.0 - p, p])
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]

    def score(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y)))


class TorchMLPRegressor(_TorchMLP, _base()):
    """Values: the estimators' ``squared_error``, ½·mean over rows of the squared error."""

    _stratify = False
    _sigmoid_head = False

    def _targets(self, y):
        y = np.asarray(y, dtype=np.float32)
        self._single_output = y.ndim == 1
        return y.reshape(len(y), -1)

    def _loss(self, torch, values, T):
        return 0.5 * ((values - T) ** 2).sum(1).mean()

    def _score_rows(self, values, T):
        from sklearn.metrics import r2_score

        return float(r2_score(T, values))

    def predict(self, X):
        values = self._forward(X).astype(np.float64)
        return values[:, 0] if self._single_output else values

    def score(self, X, y):
        from sklearn.metrics import r2_score

        return float(r2_score(y, self.predict(X)))
