"""``glassnet landscape``: several optimisers' paths on one loss landscape."""

from __future__ import annotations

import time

import click

from ..tables import prepare
from .engine import engine_network
from .errors import debug_option
from .options import SCALE_CHOICES, parse_batch_size
from .outputs import Outputs, run_directory


@click.command("landscape")
@click.argument("data")
@click.option("--optimizers", default="sgd,momentum,annealing,large-lr", show_default=True,
              help="Comma-separated: sgd, momentum, nesterov, annealing, large-lr, adam, rmsprop.")
@click.option("--hidden", default="15", show_default=True, help="Hidden layer sizes.")
@click.option("--activation", default="relu", show_default=True, help="Hidden activation(s).")
@click.option("--lr", type=float, default=0.1, show_default=True,
              help="Base learning rate (large-lr uses 10x, adam and rmsprop a tenth).")
@click.option("--epochs", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--batch-size", default="full", show_default=True,
              help="Rows per step, or 'full' (smooth full-batch paths).")
@click.option("--resolution", type=click.IntRange(min=3), default=51, show_default=True,
              help="Grid points per axis.")
@click.option("--directions", type=click.Choice(["pca", "random"]), default="pca",
              show_default=True, help="Plane through the centre: the trajectories' principal "
              "components, or two filter-normalised random directions.")
@click.option("--record-every", type=click.IntRange(min=1),
              help="Record the weights every N steps (default: about 100 points per path).")
@click.option("--scale", type=click.Choice(SCALE_CHOICES), default="minmax", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--target", help="Target column for a CSV.")
@click.option("--missing", type=click.Choice(["error", "drop", "median"]), default="error")
@click.option("--one-hot", is_flag=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Output directory; default runs/landscape-<data>-<timestamp>.")
@debug_option
def landscape(data, optimizers, hidden, activation, lr, epochs, batch_size, resolution,
              directions, record_every, scale, seed, target, missing, one_hot, out_dir, debug):
    """Train one network with several optimisers from the same initial weights and
    draw every path on its loss landscape (Li et al., NeurIPS 2018).

    Writes landscape.png (contours with the paths), landscape_3d.png (the
    surface), descent.gif (balls rolling along the paths) and landscape.npz
    (x, y, loss[i, j] at (x[j], y[i]), center_loss, path_<name>,
    path_loss_<name>). The plane is centred on the first optimiser's final
    weights.

    \b
    Example:
      glassnet landscape wisconsin --optimizers sgd,momentum,annealing,large-lr
    """
    from rich.console import Console
    from rich.table import Table as RichTable

    from .. import landscape as ls
    from .. import plots as figures

    names = [n.strip() for n in optimizers.split(",") if n.strip()]
    unknown = [n for n in names if n not in ls.OPTIMIZER_PRESETS]
    if unknown or not names:
        raise click.BadParameter(f"unknown optimizer(s) {', '.join(unknown) or '(none)'}; "
                                 f"choose from {', '.join(ls.OPTIMIZER_PRESETS)}",
                                 param_hint="'--optimizers'")
    if len(set(names)) != len(names):
        raise click.BadParameter("each optimizer may appear once", param_hint="'--optimizers'")
    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot)
    network, X, Y = engine_network(prepared, hidden, activation, scale, seed,
                                   init="scaled_normal")
    batch = None if batch_size == "full" else parse_batch_size(batch_size, len(X))
    started = time.perf_counter()
    result = ls.compare_optimizers(network, X, Y, optimizers=names, lr=lr, epochs=epochs,
                                   batch_size=batch, record_every=record_every,
                                   resolution=resolution, directions=directions, seed=seed)
    out_dir = out_dir or run_directory(data, prefix="landscape-")
    with Outputs(out_dir) as outputs:
        figures.save_figure(figures.landscape_figure(result), outputs.path("landscape.png"))
        figures.save_figure(figures.landscape_surface_figure(result),
                            outputs.path("landscape_3d.png"))
        figures.save_descent_animation(result, outputs.path("descent.gif"))
        result.save_npz(outputs.path("landscape.npz"))
        written = list(outputs.written)
    console = Console(highlight=False, soft_wrap=True)
    plane = (f"PCA plane: PC1 {result.explained[0]:.1%}, PC2 {result.explained[1]:.1%} of the "
             f"path variance" if result.explained is not None else
             "two filter-normalised random directions")
    console.print(f"{network} on {len(X)} rows of {data}; {plane}; "
                  f"{resolution}x{resolution} grid; {time.perf_counter() - started:.1f} s")
    table = RichTable()
    for column in ("optimizer", "what", "final loss", "recorded points", "diverged"):
        table.add_column(column, justify="left" if column in ("optimizer", "what") else "right")
    for name in names:
        table.add_row(name, ls.OPTIMIZER_PRESETS[name], f"{result.final_loss[name]:.6f}",
                      str(len(result.paths[name])), "yes" if result.diverged[name] else "no")
    console.print(table)
    console.print("wrote:")
    for path in written:
        console.print(f"  {path}")

command = landscape
