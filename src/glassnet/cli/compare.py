"""``glassnet compare``: glassnet against scikit-learn's MLP and a linear model."""

from __future__ import annotations

import warnings

import click
import numpy as np

from ..tables import prepare
from .errors import CLIError, debug_option
from .options import SCALE_CHOICES, parse_hidden


@click.command("compare")
@click.argument("data")
@click.option("--target", help="Target column for a CSV.")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--hidden", default="100", show_default=True, help="Hidden layer sizes (both MLPs).")
@click.option("--max-iter", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--scale", type=click.Choice(SCALE_CHOICES), default="standard", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--missing", type=click.Choice(["error", "drop", "median"]), default="error")
@click.option("--one-hot", is_flag=True)
@debug_option
def compare(data, target, folds, hidden, max_iter, scale, seed, missing, one_hot, debug):
    """Cross-validate glassnet, scikit-learn's MLP and a linear model on DATA.

    All three see the same folds (stratified for classification) and the same
    scaling, fitted inside each fold.

    \b
    Example:
      glassnet compare heart --folds 10
    """
    from rich.console import Console
    from rich.table import Table as RichTable
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
    settings = {"hidden_layer_sizes": sizes, "max_iter": max_iter, "random_state": seed}
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
        metric, y = "r2", prepared.y
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"{folds}-fold cross-validation on {data} ({len(y)} rows, {scale} scaling)")
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
