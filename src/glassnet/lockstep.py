"""glassnet and the libraries, step for step: the proof that the hand-written
engine computes what PyTorch (and scikit-learn's MLP) compute.

:func:`lockstep` trains one glassnet network and copies of it in PyTorch and
scikit-learn from identical initial weights, on identical mini-batches in
identical order, in float64, and measures after every epoch how far apart
their weights and losses are. Every number in it comes from the libraries'
own training code:

- glassnet: :meth:`glassnet.Trainer.step` (the loop every fit uses);
- PyTorch: ``glassnet.io.to_torch(network)`` for the initial weights, then
  what a PyTorch user writes: ``optimizer.zero_grad(); loss.backward();
  optimizer.step()`` with ``torch.optim.SGD`` or ``torch.optim.Adam`` and
  ``nn.BCELoss`` / ``nn.NLLLoss`` on log-probabilities / ``nn.MSELoss``;
- scikit-learn: ``MLPClassifier.partial_fit`` on each batch (one step per call)
  after its weights are set to the same initial ``coefs_``.

scikit-learn can take part only where its MLP expresses the same run: plain
SGD (momentum 0) or Adam, no L1, one activation for all hidden layers, and its
output activation for the task. Its L2 term ``alpha/(2m)·‖W‖²`` per batch of m
rows is glassnet's (``Network(alpha=...)``), and the PyTorch loop adds the same
term (and glassnet's L1 ``(λ/m)·Σ|W|``) to each batch's loss. Its Adam folds the bias corrections into the rate
(``lr_t = lr·sqrt(1 − β₂ᵗ)/(1 − β₁ᵗ)``, with ε added to ``sqrt(v)`` before
the correction), which differs from PyTorch's and glassnet's placement of ε
by about ε·lr per step: :func:`lockstep` reports it and does not hide it.

Samples are rows throughout (``Z = X @ W + b``); PyTorch's ``Linear`` stores
``Wᵀ``, which ``to_torch`` transposes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .network import Network
from .optimizers import get_optimizer
from .training import Trainer

__all__ = ["Lockstep", "lockstep", "sklearn_can_follow"]

_SKLEARN_ACTIVATIONS = {"identity": "identity", "sigmoid": "logistic", "tanh": "tanh",
                        "relu": "relu"}


@dataclass
class Lockstep:
    """Per-epoch distances between glassnet and each library that followed it.

    ``loss[name]`` is each library's mean training loss per epoch (the mean of
    its batch losses), ``weight_diff[name]`` the largest absolute difference
    between any of its weights and glassnet's after each epoch, and
    ``loss_diff[name]`` the largest absolute difference between its batch
    losses and glassnet's during each epoch. ``skipped`` says why a library
    did not take part.
    """

    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    loss: dict = field(default_factory=dict)
    weight_diff: dict = field(default_factory=dict)
    loss_diff: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)

    def worst(self, name):
        """``(largest weight difference, largest loss difference)`` over the run."""
        return max(self.weight_diff[name]), max(self.loss_diff[name])


def sklearn_can_follow(network, optimizer, momentum=0.0):
    """``None`` when scikit-learn's MLP can run exactly this training, else why not."""
    if any(not hasattr(layer, "W") for layer in network.layers):
        return "its MLP has only dense layers"
    hidden = {layer.activation.name for layer in network.layers[:-1]}
    if len(hidden) > 1:
        return "its MLP has one activation for every hidden layer"
    if hidden and next(iter(hidden)) not in _SKLEARN_ACTIVATIONS:
        return f"its MLP has no {next(iter(hidden))} activation"
    if network.output_activation.name not in ("sigmoid", "softmax", "identity"):
        return f"its MLP has no {network.output_activation.name} output"
    if optimizer not in ("sgd", "adam") or (optimizer == "sgd" and momentum):
        return "its solvers are plain SGD, SGD with momentum from its own state, or Adam"
    if getattr(network, "l1", 0):
        return "its MLP has no L1 penalty"
    return None


def _weights(arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _max_diff(ours, theirs):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))


class _TorchFollower:
    """A plain PyTorch training loop on ``to_torch(network)``."""

    name = "torch"

    def __init__(self, network, optimizer, lr, momentum):
        import torch

        from .interop import to_torch

        self.torch = torch
        self.model = to_torch(network, dtype=torch.float64)
        self.alpha, self.l1 = network.alpha, getattr(network, "l1", 0.0)
        self.weights_ = [m.weight for m in self.model if isinstance(m, torch.nn.Linear)]
        if optimizer == "sgd":
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=momentum)
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        out = network.output_activation.name
        if out == "sigmoid":
            self.loss_fn = torch.nn.BCELoss()
        elif out == "softmax":  # the model ends in Softmax: NLL of its log
            nll = torch.nn.NLLLoss()
            self.loss_fn = lambda p, y: nll(torch.log(p), y.argmax(dim=1))
        else:
            # glassnet's squared error is ½·mean over rows of the summed square
            self.loss_fn = lambda p, y: 0.5 * ((p - y) ** 2).sum(dim=1).mean()

    def step(self, X, Y):
        torch = self.torch
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(torch.from_numpy(X)), torch.from_numpy(Y))
        if self.alpha:  # glassnet's L2: α/(2m)·Σ‖W‖², weights only
            loss = loss + self.alpha / (2 * len(X)) * sum((W ** 2).sum() for W in self.weights_)
        if self.l1:  # and L1: (λ/m)·Σ|W|
            loss = loss + self.l1 / len(X) * sum(W.abs().sum() for W in self.weights_)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def weights(self):
        arrays = []
        for module in self.model:
            if isinstance(module, self.torch.nn.Linear):
                arrays += [module.weight.detach().numpy().T, module.bias.detach().numpy()]
        return arrays


class _SklearnFollower:
    """scikit-learn's MLP, one ``partial_fit`` per batch, from glassnet's weights."""

    name = "sklearn"

    def __init__(self, network, optimizer, lr, X, Y, batch_size):
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        hidden = [layer.n_units for layer in network.layers[:-1]]
        activation = (_SKLEARN_ACTIVATIONS[network.layers[0].activation.name] if hidden
                      else "relu")
        settings = {"hidden_layer_sizes": hidden, "activation": activation, "solver": optimizer,
                    "alpha": network.alpha, "learning_rate_init": lr, "batch_size": batch_size,
                    "shuffle": False}
        if optimizer == "sgd":
            settings.update(momentum=0.0, learning_rate="constant")
        self.classifier = network.output_activation.name != "identity"
        if self.classifier:
            self.mlp = MLPClassifier(**settings)
            self.labels = lambda Yb: (Yb.argmax(axis=1) if Yb.shape[1] > 1
                                      else Yb[:, 0].astype(int))
            classes = np.arange(max(Y.shape[1], 2))
            # one call sets up its fitted state; its weights are then replaced
            self.mlp.partial_fit(X[:batch_size], self.labels(Y[:batch_size]), classes=classes)
        else:
            self.mlp = MLPRegressor(**settings)
            self.labels = lambda Yb: Yb if Yb.shape[1] > 1 else Yb[:, 0]
            self.mlp.partial_fit(X[:batch_size], self.labels(Y[:batch_size]))
        self.mlp.coefs_ = [layer.W.copy() for layer in network.layers]
        self.mlp.intercepts_ = [layer.b.copy() for layer in network.layers]
        del self.mlp._optimizer  # a fresh optimiser state, as glassnet's and PyTorch's
        self.mlp.loss_curve_ = []

    def step(self, X, Y):
        with warnings.catch_warnings():  # a last batch shorter than batch_size
            warnings.filterwarnings("ignore", "Got `batch_size`", UserWarning)
            self.mlp.partial_fit(X, self.labels(Y))
        return float(self.mlp.loss_curve_[-1])

    def weights(self):
        return [a for pair in zip(self.mlp.coefs_, self.mlp.intercepts_) for a in pair]


def lockstep(network, X, Y, *, optimizer="sgd", lr=0.01, momentum=0.0, batch_size=32,
             epochs=10, seed=0, libraries=("torch", "sklearn")):
    """Train ``network`` and its copies in the ``libraries`` in lockstep.

    Parameters
    ----------
    network : Network
        Dense layers, float64 (converted if not); trained in place.
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
        Targets as the network's loss takes them (0/1 columns or one-hot rows).
    optimizer : {"sgd", "adam"}
    lr, momentum, batch_size, epochs, seed
        The run's settings; ``seed`` draws the batch order of every epoch.
    libraries : iterable of {"torch", "sklearn"}
        Which libraries follow; scikit-learn is skipped (with the reason in
        ``Lockstep.skipped``) where its MLP cannot express the run.

    Returns
    -------
    Lockstep
    """
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"lockstep runs sgd or adam, got {optimizer!r}")
    if not isinstance(network, Network):
        raise TypeError(f"lockstep takes a glassnet Network, got {type(network).__name__}")
    network = network.astype(np.float64)
    X = np.ascontiguousarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    network.check_data(X, Y)
    batch_size = min(int(batch_size), len(X))
    options = {"momentum": momentum} if optimizer == "sgd" else {}
    trainer = Trainer(network, get_optimizer(optimizer, lr=lr, **options), shuffle=False)
    result = Lockstep(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr)
    followers = []
    for name in libraries:
        if name == "torch":
            followers.append(_TorchFollower(network, optimizer, lr, momentum))
        elif name == "sklearn":
            why = sklearn_can_follow(network, optimizer, momentum)
            if why:
                result.skipped["sklearn"] = why
            else:
                followers.append(_SklearnFollower(network, optimizer, lr, X, Y, batch_size))
        else:
            raise ValueError(f"unknown library {name!r}: choose torch or sklearn")
    for name in ["glassnet", *(f.name for f in followers)]:
        result.loss[name] = []
    for f in followers:
        result.weight_diff[f.name], result.loss_diff[f.name] = [], []
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        losses = {name: [] for name in result.loss}
        loss_gap = dict.fromkeys(result.weight_diff, 0.0)
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            Xb, Yb = X[rows], Y[rows]
            ours = trainer.step(Xb, Yb)
            losses["glassnet"].append(ours)
            for f in followers:
                theirs = f.step(Xb, Yb)
                losses[f.name].append(theirs)
                loss_gap[f.name] = max(loss_gap[f.name], abs(theirs - ours))
        mine = _weights(network.get_weights())
        for name, batch_losses in losses.items():
            result.loss[name].append(float(np.mean(batch_losses)))
        for f in followers:
            result.weight_diff[f.name].append(_max_diff(mine, _weights(f.weights())))
            result.loss_diff[f.name].append(loss_gap[f.name])
    return result
