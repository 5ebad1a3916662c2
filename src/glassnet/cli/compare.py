"""``glassnet compare``: glassnet against scikit-learn's MLP, PyTorch and a linear
model under one cross-validation; ``--lockstep`` trains glassnet and the
libraries step for step and measures how far apart they are."""

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
    data_options,
    early_stopping_for,
    parse_hidden,
)
from .outputs import OutDir, follow_symlinks_option

MODELS = ("glassnet", "sklearn", "torch", "linear")


def parse_models(text):
    """``--models glassnet,torch`` -> the chosen rows, in the table's order."""
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in MODELS]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {','.join(MODELS)}, got {text!r}",
                                 param_hint="'--models'")
    return [name for name in MODELS if name in chosen]


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@click.command("compare")
@click.argument("data")
@data_options()
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True,
              help="Cross-validation folds (stratified for classification).")
@click.option("--hidden", default="100", show_default=True,
              help="Hidden layer sizes (every network).")
@click.option("--max-iter", type=click.IntRange(min=1), default=200, show_default=True,
              help="Maximum epochs (every network).")
@click.option("--alpha", type=click.FloatRange(min=0), default=0.0001, show_default=True,
              help="L2 penalty (every network).")
@click.option("--scale", type=click.Choice(SCALE_CHOICES), default="standard", show_default=True,
              help="Feature scaling, fitted inside each fold (on all rows for --lockstep).")
@click.option("--scale-target/--no-scale-target", default=True, help=SCALE_TARGET_HELP)
@click.option("--early-stopping/--no-early-stopping", default=None, help=EARLY_STOPPING_HELP)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the folds and the networks' initial weights (and of the "
              "--lockstep batch order).")
@click.option("--models", default=",".join(MODELS), show_default=True,
              help="The rows of the table, comma-separated.")
@click.option("--lockstep", is_flag=True,
              help="Train glassnet, PyTorch and scikit-learn's MLP from the same initial weights "
                   "on the same batches in float64 and report how far apart they are.")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True,
              help="Epochs of the --lockstep run.")
@click.option("--solver", type=click.Choice(["sgd", "adam"]), default="sgd", show_default=True,
              help="Optimiser of the --lockstep run.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.01,
              show_default=True, help="Learning rate of the --lockstep run.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Mini-batch rows of the --lockstep run.")
@click.option("--out", "out_dir", type=OutDir(),
              help="Where --lockstep writes lockstep.png (default runs/lockstep-<data>-<time>).")
@follow_symlinks_option
@debug_option
@click.pass_context
def compare(ctx, data, target, missing, one_hot, task, sep, folds, hidden, max_iter, alpha,
            scale, scale_target, early_stopping, seed, models, lockstep, epochs, solver, lr,
            batch_size, out_dir, debug):
    """Cross-validate glassnet, scikit-learn's MLP, PyTorch and a linear model on DATA.

    All see the same folds (stratified for classification) and the same
    scaling, fitted inside each fold. The PyTorch row is the MLP a PyTorch
    user would write with torch.nn and torch.optim, at the same settings as
    both MLPs (architecture, activation, loss, initial-weight scheme, Adam at
    lr 0.001, batches of up to 200 rows, L2 --alpha, the same stopping
    rule); it is skipped, with a note, when PyTorch is not installed. The
    networks' settings default to those of glassnet train: a regression
    target standardised (fitted inside each fold), early stopping for
    regression.

    With --lockstep, glassnet, PyTorch and (where its MLP can express the run:
    SGD without momentum or Adam, no L1) scikit-learn's MLP train from
    identical initial weights on identical mini-batches in float64, with the
    L2 penalty --alpha and (for regression) the target standardised unless
    --no-scale-target; the largest weight and loss differences after each
    epoch are printed and drawn in lockstep.png. --epochs, --solver, --lr,
    --batch-size and --out belong to --lockstep, --folds, --max-iter and
    --early-stopping to the cross-validation: given to the other, they end
    the command with an error.

    \b
    Examples:
      glassnet compare heart --folds 10
      glassnet compare diabetes.csv --no-scale-target --no-early-stopping
      glassnet compare heart --models glassnet,torch
      glassnet compare heart --lockstep --hidden 8 --epochs 20
    """
    rows = parse_models(models)
    _refuse_options_of_the_other_mode(ctx, lockstep)
    read = {"target": target, "missing": missing, "one_hot": one_hot, "task": task, "sep": sep}
    if lockstep:
        return _lockstep(data, read, hidden, alpha, scale, scale_target, seed, epochs, solver,
                         lr, batch_size, out_dir, rows)
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

    console = Console(highlight=False, soft_wrap=True)
    with_torch = "torch" in rows and torch_available()
    if "torch" in rows and not with_torch:
        console.print("skipping the PyTorch row: PyTorch is not installed "
                      "(pip install \"glassnet[torch]\")", markup=False)
    if with_torch:
        from ..interop.torch_mlp import TorchMLPClassifier, TorchMLPRegressor
    prepared = prepare(data, **read)
    sizes = parse_hidden(hidden)
    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler,
              "none": FunctionTransformer}[scale]
    early_stopping = early_stopping_for(prepared.task, early_stopping,
                                        len(prepared.y) * (folds - 1) // folds)
    settings = {"hidden_layer_sizes": sizes, "max_iter": max_iter, "alpha": alpha,
                "early_stopping": early_stopping, "random_state": seed}
    if prepared.task == "classification":
        _, counts = np.unique(prepared.y, return_counts=True)
        if counts.min() < folds:
            raise CLIError(f"--folds {folds} is more than the smallest class has rows "
                           f"({counts.min()})")
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        models = [("glassnet", "glassnet MLPClassifier", lambda: MLPClassifier(**settings)),
                  ("sklearn", "scikit-learn MLPClassifier", lambda: SkClassifier(**settings)),
                  ("torch", "PyTorch (torch.nn, torch.optim)",
                   lambda: TorchMLPClassifier(**settings)),
                  ("linear", "scikit-learn LogisticRegression",
                   lambda: LogisticRegression(max_iter=1000))]
        metric, y = "accuracy", np.asarray(prepared.y).astype(str)
    else:
        cv = KFold(folds, shuffle=True, random_state=seed)
        models = [("glassnet", "glassnet MLPRegressor", lambda: MLPRegressor(**settings)),
                  ("sklearn", "scikit-learn MLPRegressor", lambda: SkRegressor(**settings)),
                  ("torch", "PyTorch (torch.nn, torch.optim)",
                   lambda: TorchMLPRegressor(**settings)),
                  ("linear", "scikit-learn Ridge", Ridge)]
        if scale_target:  # the networks learn the standardised target, fitted per fold
            models = [(key, name, make if key == "linear" else _scaled_target(make))
                      for key, name, make in models]
        metric, y = "r2", prepared.y
    models = [(name, make) for key, name, make in models
              if key in rows and (key != "torch" or with_torch)]
    target_note = (", target standardised" if scale_target else ", target unscaled") \
        if prepared.task == "regression" else ""
    console.print(f"{folds}-fold cross-validation on {data} ({len(y)} rows, {scale} scaling"
                  f"{target_note}; networks: hidden {','.join(map(str, sizes))}, up to "
                  f"{max_iter} epochs, alpha {alpha:g}"
                  f"{', early stopping' if early_stopping else ''})")
    table = RichTable()
    for column in ("model", f"{metric} mean", "std", "fit time (s)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, make in models:
            pipeline = make_pipeline(scaler(), make())
            if isinstance(pipeline.steps[-1][1], (MLPClassifier, MLPRegressor)):
                result = folds_together(pipeline, prepared.X, y, cv, metric)
            else:
                result = cross_validate(pipeline, prepared.X, y, cv=cv, scoring=metric)
            scores = result["test_score"]
            table.add_row(name, f"{scores.mean():.4f}", f"{scores.std():.4f}",
                          f"{result['fit_time'].sum():.2f}")
    console.print(table)


def folds_together(pipeline, X, y, cv, metric):
    """``cross_validate(pipeline, X, y, cv=cv, scoring=metric)``'s ``test_score`` and
    ``fit_time`` for a pipeline ending in a glassnet estimator, its folds' networks
    trained together (:func:`glassnet.estimators.fit_many`: folds with the same
    number of training rows share a stack). ``fit_time`` is the stacks' time
    shared equally among the folds."""
    import time

    from sklearn.base import clone
    from sklearn.metrics import get_scorer

    from ..estimators import fit_many

    pipelines, jobs, tests = [], [], []
    started = time.perf_counter()
    for train, test in cv.split(X, y):
        fold = clone(pipeline)
        features = fold[:-1].fit_transform(X[train], y[train])
        pipelines.append(fold)
        jobs.append((fold.steps[-1][1], features, y[train]))
        tests.append(test)
    outcomes = fit_many(jobs)
    seconds = (time.perf_counter() - started) / len(jobs)
    scorer = get_scorer(metric)
    scores = [np.nan if isinstance(outcome, BaseException) else scorer(fold, X[test], y[test])
              for fold, test, outcome in zip(pipelines, tests, outcomes)]
    return {"test_score": np.array(scores), "fit_time": np.full(len(jobs), seconds)}


def _scaled_target(make):
    """A maker of ``make()`` wrapped to learn a standardised target (scikit-learn's
    ``TransformedTargetRegressor``, the same for every library's network)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return lambda: TransformedTargetRegressor(make(), transformer=StandardScaler())


#: The options of each mode (the other mode refuses them when given).
LOCKSTEP_ONLY = ("epochs", "solver", "lr", "batch_size", "out_dir")
CROSS_VALIDATION_ONLY = ("folds", "max_iter", "early_stopping")


def _refuse_options_of_the_other_mode(ctx, lockstep):
    """One ``error:`` for an option that the chosen mode would ignore."""
    from click.core import ParameterSource

    foreign = CROSS_VALIDATION_ONLY if lockstep else LOCKSTEP_ONLY
    given = [p for p in ctx.command.params if p.name in foreign
             and ctx.get_parameter_source(p.name) == ParameterSource.COMMANDLINE]
    if given:
        flag = given[0].opts[0]
        raise click.UsageError(
            f"{flag} does not apply to --lockstep (it trains for --epochs epochs on all the "
            f"rows, without early stopping)" if lockstep else
            f"{flag} applies to --lockstep only (the cross-validation runs --max-iter epochs "
            f"of Adam at lr 0.001, batches of up to 200 rows, and writes no files)")


def _lockstep(data, read, hidden, alpha, scale, scale_target, seed, epochs, solver, lr,
              batch_size, out_dir, rows):
    """``compare --lockstep``: glassnet, PyTorch and scikit-learn step for step."""
    from rich.console import Console
    from rich.table import Table as RichTable

    from ..lockstep import lockstep
    from ..network import Network
    from ..plots import lockstep_figure, save_figure
    from ..tables import design
    from .outputs import Outputs, run_directory

    libraries = [name for name in ("torch", "sklearn") if name in rows]
    if "torch" in libraries and not torch_available():
        raise CLIError("--lockstep compares against PyTorch, which is not installed: "
                       "pip install \"glassnet[torch]\" (or leave torch out of --models)")
    prepared = prepare(data, **read)
    X, Y, _ = design(prepared, scale)
    target_note = ""
    if prepared.task == "regression" and scale_target:
        Y = (Y - Y.mean(axis=0)) / np.where(Y.std(axis=0) > 0, Y.std(axis=0), 1.0)
        target_note = ", target standardised"
    sizes = [X.shape[1], *parse_hidden(hidden), Y.shape[1]]
    output = ("identity" if prepared.task == "regression"
              else "softmax" if Y.shape[1] > 1 else "sigmoid")
    # scikit-learn's initial-weight scheme, so its MLP could have drawn them too
    network = Network.from_sizes(sizes, activation="relu", output_activation=output,
                                 init="glorot_uniform", alpha=alpha, seed=seed)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"lockstep on {data}: a {'-'.join(map(str, sizes))} relu network, {solver} "
                  f"at lr {lr:g}, alpha {alpha:g}, batches of {min(batch_size, len(X))} rows, "
                  f"{epochs} epochs, float64{target_note}, the same initial weights and batch "
                  f"order for every library")
    result = lockstep(network, X, Y, optimizer=solver, lr=lr, batch_size=batch_size,
                      epochs=epochs, seed=seed, libraries=libraries)
    table = RichTable()
    for column in ("against glassnet", "worst |ΔW|", "worst |Δloss|", "final loss"):
        table.add_column(column, justify="left" if column == "against glassnet" else "right")
    table.add_row("glassnet", "", "", f"{result.loss['glassnet'][-1]:.10f}")
    for name in result.weight_diff:
        dw, dloss = result.worst(name)
        table.add_row({"torch": "PyTorch", "sklearn": "scikit-learn MLP"}[name], f"{dw:.3e}",
                      f"{dloss:.3e}", f"{result.loss[name][-1]:.10f}")
    console.print(table)
    for name, why in result.skipped.items():
        console.print(f"scikit-learn's MLP did not take part: {why}")
    if "sklearn" in result.weight_diff and solver == "adam":
        console.print("note: scikit-learn's Adam folds its bias corrections into the rate and "
                      "adds eps before correcting, so it drifts from glassnet and PyTorch by "
                      "about eps·lr per step")
    directory = out_dir or run_directory(data, prefix="lockstep-")
    with Outputs(directory) as outputs:
        path = save_figure(lockstep_figure(result), outputs.path("lockstep.png"))
    console.print(f"wrote: {outputs.final(path)}")


command = compare
