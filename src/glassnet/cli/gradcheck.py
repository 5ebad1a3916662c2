"""``glassnet gradcheck``: backpropagation against finite differences on real data."""

from __future__ import annotations

import click

from ..datasets import BUNDLED
from ..tables import prepare
from .engine import engine_network
from .errors import CLIError, debug_option


@click.command("gradcheck")
@click.argument("data", default="wisconsin")
@click.option("--hidden", default="8", show_default=True, help="Hidden layer sizes.")
@click.option("--activation", default="tanh", show_default=True,
              help="Hidden activation(s) (smooth ones give the cleanest check).")
@click.option("--rows", type=click.IntRange(min=1), default=32, show_default=True,
              help="Rows of DATA to check on.")
@click.option("--alpha", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="L2 penalty, included in the check.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--target", help="Target column for a CSV.")
@debug_option
def gradcheck(data, hidden, activation, rows, alpha, seed, target, debug):
    """Check backpropagation against central finite differences, layer by layer.

    Builds a float64 network for DATA (default wisconsin) and prints, for each
    weight matrix and bias, the largest difference and the relative error
    between the analytic and numeric gradients. Exits 1 if any relative error
    is 1e-6 or more.

    \b
    Example:
      glassnet gradcheck heart --hidden 16,8 --activation relu,tanh
    """
    from rich.console import Console
    from rich.table import Table as RichTable

    from ..gradcheck import gradient_check

    prepared = prepare(data, target=target, missing="drop" if data in BUNDLED else "error")
    net, X, Y = engine_network(prepared, hidden, activation, "standard", seed,
                               init="glorot_normal", alpha=alpha)
    X, Y = X[:rows], Y[:rows]
    if prepared.task == "regression":
        Y = (Y - Y.mean()) / (Y.std() or 1.0)
    result = gradient_check(net, X, Y)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"gradient check: {net} on {len(X)} rows of {data}")
    table = RichTable()
    for column in ("parameter", "shape", "max |analytic - numeric|", "relative error", "ok"):
        table.add_column(column, justify="right" if column != "parameter" else "left")
    for name, shape, diff, rel in zip(result.names, result.shapes, result.max_abs_differences,
                                      result.relative_errors):
        table.add_row(name, "x".join(map(str, shape)), f"{diff:.2e}", f"{rel:.2e}",
                      "yes" if rel < 1e-6 else "NO")
    console.print(table)
    if not result.passed(1e-6):
        raise CLIError(f"gradient check failed: largest relative error "
                       f"{result.max_relative_error:.2e} >= 1e-6")
    click.echo(f"all {len(result.names)} gradients agree (largest relative error "
               f"{result.max_relative_error:.2e})")

command = gradcheck
