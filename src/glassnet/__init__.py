"""glassnet: neural networks from scratch in NumPy, every gradient by hand.

Shape convention
----------------
Samples are rows. ``X`` is ``(n_samples, n_features)`` and a dense layer
computes ``Z = X·W + b`` with ``W`` of shape ``(fan_in, fan_out)`` and ``b``
of shape ``(fan_out,)``, the convention of scikit-learn (``coefs_``) and of
PyTorch's inputs. The first tutorial puts samples in columns and writes
``Z = W·X + b``; its ``W`` is our ``Wᵀ`` and its ``X`` our ``Xᵀ``, so every
formula there transposes into the one here (its ``dW = (1/m)·dZ·Xᵀ`` is our
``dW = Xᵀ·dZ``, with the ``1/m`` inside ``dZ``).

Modules: ``activations``, ``losses``, ``initializers`` → ``layers`` →
``network`` → ``optimizers``, ``schedules``, ``training``, ``gradcheck`` →
``estimators`` (scikit-learn) → ``io``, ``plots``, ``landscape`` → ``cli``.
"""

from ._version import __version__
from .activations import get_activation
from .gradcheck import gradient_check
from .layers import Activation, BatchNorm, Dense, Dropout
from .losses import get_loss
from .network import Network
from .optimizers import SGD, Adam, AdamW, RMSProp, get_optimizer
from .schedules import get_schedule
from .training import (
    Callback,
    EarlyStopping,
    History,
    LossLogger,
    Trainer,
    TrainingDivergedError,
    train,
)

__all__ = [
    "SGD",
    "Activation",
    "Adam",
    "AdamW",
    "BatchNorm",
    "Callback",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "History",
    "LossLogger",
    "MLPClassifier",
    "MLPRegressor",
    "Network",
    "RMSProp",
    "Trainer",
    "TrainingDivergedError",
    "__version__",
    "get_activation",
    "get_loss",
    "get_optimizer",
    "get_schedule",
    "gradient_check",
    "train",
]


def __getattr__(name):
    # The estimators need scikit-learn (an extra); import them only when asked.
    if name in ("MLPClassifier", "MLPRegressor"):
        try:
            from . import estimators
        except ImportError as exc:
            raise ImportError(f"glassnet.{name} needs scikit-learn ({exc.name} is missing): "
                              f"pip install 'glassnet[sklearn]'") from exc
        return getattr(estimators, name)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
