"""``glassnet compare``: glassnet against scikit-learn's MLP and a linear model."""

from __future__ import annotations

import warnings

import click
import numpy as np

from ..tables import prepare
from .errors import CLIError, debug_option
from .options import (
    EARLY_STOPPING_HELP,
    SCALE_CHOICES,
    SCALE_TARGET_HELP,
    early_stopping_for,
    parse_hidden,
)


@click.command("compare")
@click.argument("data")
@click.option("--target", help="Target column for a CSV.")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--hidden", default="100", show_default=True, help="Hidden layer sizes (both MLPs).")
@click.option("--max-iter", type=click.IntRange(min=1), default=200, show_default=True,
              help="Maximum epochs (both MLPs).")
@click.option("--alpha", type=click.FloatRange(min=0), default=0.0001, show_default=True,
              help="L2 penalty (both MLPs).")
@click.option("--scale", type=click.Choice(SCALE_CHOICES), default="standard", show_default=True)
@click.option("--scale-target/--no-scale-target", default=True, help=SCALE_TARGET_HELP)
@click.option("--early-stopping/--no-early-stopping", default=None, help=EARLY_STOPPING_HELP)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--missing", type=click.Choice(["error", "drop", "median"]), default="error")
@click.option("--one-hot", is_flag=True)
@debug_option
def compare(data, target, folds, hidden, max_iter, alpha, scale, scale_target, early_stopping,
            seed, missing, one_hot, debug):
    """Cross-validate glassnet, scikit-learn's MLP and a linear model on DATA.

    All three see the same folds (stratified for classification) and the same
    scaling, fitted inside each fold; both MLPs get the same settings, which
    default to those of glassnet train (a regression target standardised,
    early stopping for regression).

    \b
    Examples:
      glassnet compare heart --folds 10
      glassnet compare diabetes.csv --no-scale-target --no-early-stopping
    """
    from rich.console import Console
    from rich.table import Table as RichTable
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

    from ..estimators import MLPClassifier, MLPRegressor

    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot)
    sizes = parse_hidden(hidden)
    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler,
              "none": FunctionTransformer}[scale]
    early_stopping = early_stopping_for(prepared.task, early_stopping)
    settings = {"hidden_layer_sizes": sizes, "max_iter": max_iter, "alpha": alpha,
                "early_stopping": early_stopping, "random_state": seed}
    if prepared.task == "classification":
        _, counts = np.unique(prepared.y, return_counts=True)
        if counts.min() < folds:
            raise CLIError(f"--folds {folds} is more than the smallest class has rows "
                           f"({counts.min()})")
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        models = [("glassnet MLPClassifier", MLPClassifier(**settings)),
                  ("scikit-learn MLPClassifier", SkClassifier(**settings)),
                  ("scikit-learn LogisticRegression", LogisticRegression(max_iter=1000))]
        metric, y = "accuracy", np.asarray(prepared.y).astype(str)
    else:
        cv = KFold(folds, shuffle=True, random_state=seed)
        models = [("glassnet MLPRegressor", MLPRegressor(**settings)),
                  ("scikit-learn MLPRegressor", SkRegressor(**settings)),
                  ("scikit-learn Ridge", Ridge())]
        if scale_target:  # both networks learn the standardised target, fitted per fold
            models[:2] = [(name, TransformedTargetRegressor(model, transformer=StandardScaler()))
                          for name, model in models[:2]]
        metric, y = "r2", prepared.y
    console = Console(highlight=False, soft_wrap=True)
    target_note = (", target standardised" if scale_target else ", target unscaled") \
        if prepared.task == "regression" else ""
    console.print(f"{folds}-fold cross-validation on {data} ({len(y)} rows, {scale} scaling"
                  f"{target_note}; MLPs: hidden {','.join(map(str, sizes))}, up to {max_iter} "
                  f"epochs, alpha {alpha:g}"
                  f"{', early stopping' if early_stopping else ''})")
    table = RichTable()
    for column in ("model", f"{metric} mean", "std", "fit time (s)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models:
            result = cross_validate(make_pipeline(scaler(), model), prepared.X, y, cv=cv,
                                    scoring=metric)
            scores = result["test_score"]
            table.add_row(name, f"{scores.mean():.4f}", f"{scores.std():.4f}",
                          f"{result['fit_time'].sum():.2f}")
    console.print(table)

command = compare
