"""Option values shared by several commands: choices and parsers with clear messages."""

from __future__ import annotations

import click

from ..io import Scaler
from ..tables import MISSING_POLICIES

__all__ = [
    "ACTIVATION_CHOICES",
    "MISSING_POLICIES",
    "SCALE_CHOICES",
    "SCHEDULE_CHOICES",
    "SOLVER_CHOICES",
    "parse_activation",
    "parse_batch_size",
    "parse_hidden",
]

ACTIVATION_CHOICES = ("relu", "tanh", "logistic", "sigmoid", "identity", "leaky_relu")
SOLVER_CHOICES = ("sgd", "adam", "lbfgs", "rmsprop", "adamw")
SCHEDULE_CHOICES = ("constant", "invscaling", "adaptive", "step", "exponential", "cosine",
                    "plateau")
SCALE_CHOICES = Scaler.KINDS


def parse_hidden(text):
    """``'64,32'`` -> ``(64, 32)``."""
    try:
        sizes = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"expected layer sizes like 15 or 64,32, got {text!r}",
                                 param_hint="'--hidden'") from None
    if not sizes or any(s < 1 for s in sizes):
        raise click.BadParameter(f"layer sizes must be positive integers, got {text!r}",
                                 param_hint="'--hidden'")
    return tuple(sizes)


def parse_activation(text, n_layers):
    """One activation name for every hidden layer, or a list of one per layer."""
    names = [a.strip() for a in str(text).split(",")]
    names = ["logistic" if a == "sigmoid" else a for a in names]
    for name in names:
        if name not in ACTIVATION_CHOICES:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(ACTIVATION_CHOICES)}",
                                     param_hint="'--activation'")
    if len(names) == 1:
        return names[0]
    if len(names) != n_layers:
        raise click.BadParameter(f"{len(names)} activations for {n_layers} hidden layers",
                                 param_hint="'--activation'")
    return names


def parse_batch_size(text, n_train):
    """``'auto'``, ``'full'`` (every training row) or a positive integer."""
    if text in ("auto", None):
        return "auto"
    if text == "full":
        return n_train
    try:
        value = int(text)
    except ValueError:
        raise click.BadParameter(f"expected a positive integer, 'full' or 'auto', got {text!r}",
                                 param_hint="'--batch-size'") from None
    if value < 1:
        raise click.BadParameter(f"must be >= 1, got {value}", param_hint="'--batch-size'")
    return value
