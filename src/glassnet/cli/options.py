"""Option values shared by several commands: choices and parsers with clear messages."""

from __future__ import annotations

import click

from ..io import Scaler
from ..tables import MISSING_POLICIES

__all__ = [
    "ACTIVATION_CHOICES",
    "EARLY_STOPPING_HELP",
    "EARLY_STOPPING_ROWS",
    "MISSING_POLICIES",
    "SCALE_CHOICES",
    "SCALE_TARGET_HELP",
    "SCHEDULE_CHOICES",
    "SOLVER_CHOICES",
    "TASK_CHOICES",
    "data_options",
    "early_stopping_for",
    "parse_activation",
    "parse_batch_size",
    "parse_hidden",
]

ACTIVATION_CHOICES = ("relu", "tanh", "logistic", "sigmoid", "identity", "leaky_relu")
SOLVER_CHOICES = ("sgd", "adam", "lbfgs", "rmsprop", "adamw")
SCHEDULE_CHOICES = ("constant", "invscaling", "adaptive", "step", "exponential", "cosine",
                    "plateau")
SCALE_CHOICES = Scaler.KINDS
TASK_CHOICES = ("auto", "classification", "regression")

MISSING_HELP = ("Missing values: fail, drop those rows, or fill with column medians (bundled "
                "Wisconsin drops its 16 incomplete rows by default).")


def data_options(missing_help=MISSING_HELP):
    """The options that say how to read DATA, the same for every command that reads a
    table (train, search, compare, gradcheck, landscape): ``--target``, ``--missing``,
    ``--one-hot``, ``--task`` and ``--sep``, passed on as the keyword arguments of
    :func:`glassnet.tables.prepare`. ``missing_help`` lets a command say where its
    medians are learnt."""
    options = [
        click.option("--target", help="Target column (name or 0-based index); default: the "
                     "last column."),
        click.option("--missing", type=click.Choice(MISSING_POLICIES), default="error",
                     show_default=True, help=missing_help),
        click.option("--one-hot", is_flag=True, help="One-hot encode text (categorical) "
                     "columns."),
        click.option("--task", type=click.Choice(TASK_CHOICES), default="auto",
                     show_default=True,
                     help="auto: text or up to 20 whole-number values is classification."),
        click.option("--sep", help="CSV separator (',', ';', 'tab' or 'space'); detected by "
                     "default."),
    ]

    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function

    return decorate

SCALE_TARGET_HELP = (
    "Standardise a regression target (mean 0, standard deviation 1 over the training rows), "
    "train on it, and report and predict in the target's own units; the model file keeps the "
    "scaling. A network starts with outputs near 0: on a target near 150 it would spend its "
    "epochs climbing there. Classification ignores it.  [default: on]")
EARLY_STOPPING_HELP = (
    "Hold out 10% of the training rows; stop when their score stops improving by --tol for "
    "--patience epochs and keep the best epoch's weights.  [default: on for regression with "
    "100 training rows or more, where a network trained for all --epochs on a few hundred "
    "noisy rows learns their noise; off for classification, where the accuracy of a tenth of "
    "a small table moves in steps of one row and would stop training too soon]")

#: The fewest training rows on which regression stops early by default (10 validation rows).
EARLY_STOPPING_ROWS = 100


def early_stopping_for(task, flag, n_train):
    """``--early-stopping/--no-early-stopping`` as given, or the default (``flag`` None):
    on for regression on :data:`EARLY_STOPPING_ROWS` training rows or more, else off
    (see :data:`EARLY_STOPPING_HELP`)."""
    if flag is not None:
        return flag
    return task == "regression" and n_train >= EARLY_STOPPING_ROWS


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
