"""``glassnet gradcheck``: backpropagation against finite differences on real data."""

from __future__ import annotations

import click

from ..tables import prepare
from .engine import engine_network
from .errors import CLIError, debug_option
from .options import SCALE_CHOICES, data_options


@click.command("gradcheck")
@click.argument("data", default="wisconsin")
@data_options()
@click.option("--scale", type=click.Choice(SCALE_CHOICES), default="standard",
              show_default=True, help="Feature scaling, as train's.")
@click.option("--hidden", default="8", show_default=True, help="Hidden layer sizes.")
@click.option("--activation", default="tanh", show_default=True,
              help="Hidden activation(s) (relu and leaky_relu have kinks, counted apart).")
@click.option("--rows", type=click.IntRange(min=1), default=32, show_default=True,
              help="Rows of DATA to check on.")
@click.option("--alpha", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="L2 penalty, included in the check.")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=1e-6,
              show_default=True, help="Largest relative error that passes.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the initial weights.")
@debug_option
def gradcheck(data, target, missing, one_hot, task, sep, scale, hidden, activation, rows, alpha,
              tolerance, seed, debug):
    """Check backpropagation against central finite differences, layer by layer.

    Builds a float64 network for DATA (default wisconsin) and prints, for each
    weight matrix and bias, the largest difference and the relative error
    |a - n| / max(|a| + |n|, floor) between the analytic gradient a and the
    numeric one n (norms over the entries). The floor is where finite
    differences stop resolving a gradient: their rounding noise, about
    4·eps·|loss|/h per entry with h = 1e-6 (√k times that over k entries),
    divided by --tolerance; a gradient that is
    exactly 0 then does not fail on 1e-10 of rounding in its numeric value.
    Entries whose step ±h moves a ReLU or leaky-ReLU input across 0 (a kink,
    where the finite difference averages two slopes) are counted as kinks and
    left out. Exits 1 if any relative error is --tolerance or more. DATA is
    read as train reads it (the same data options).

    \b
    Example:
      glassnet gradcheck heart --hidden 16,8 --activation relu,tanh
    """
    from rich.console import Console
    from rich.table import Table as RichTable

    from ..gradcheck import gradient_check

    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot, sep=sep, task=task)
    net, X, Y = engine_network(prepared, hidden, activation, scale, seed,
                               init="glorot_normal", alpha=alpha)
    X, Y = X[:rows], Y[:rows]
    if prepared.task == "regression":
        Y = (Y - Y.mean()) / (Y.std() or 1.0)
    result = gradient_check(net, X, Y, tolerance=tolerance)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"gradient check: {net} on {len(X)} rows of {data}")
    table = RichTable()
    for column in ("parameter", "shape", "max |analytic - numeric|", "relative error", "kinks",
                   "ok"):
        table.add_column(column, justify="right" if column != "parameter" else "left")
    for name, shape, diff, rel, kinks in zip(result.names, result.shapes,
                                             result.max_abs_differences,
                                             result.relative_errors, result.kinks):
        table.add_row(name, "x".join(map(str, shape)), f"{diff:.2e}", f"{rel:.2e}", str(kinks),
                      "yes" if rel < tolerance else "NO")
    console.print(table)
    kinks = (f"; {result.n_kinks} entr{'y' if result.n_kinks == 1 else 'ies'} left out, "
             f"their step crossing a ReLU kink" if result.n_kinks else "")
    if not result.passed():
        raise CLIError(f"gradient check failed: largest relative error "
                       f"{result.max_relative_error:.2e} >= --tolerance {tolerance:g}{kinks}")
    click.echo(f"all {len(result.names)} gradients agree (largest relative error "
               f"{result.max_relative_error:.2e} < {tolerance:g}{kinks})")


command = gradcheck
