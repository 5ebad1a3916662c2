"""``glassnet landscape``: several optimisers' paths on one loss landscape."""

from __future__ import annotations

import time

import click

from ..tables import prepare
from .engine import engine_network
from .errors import debug_option
from .options import SCALE_CHOICES, data_options, parse_batch_size
from .outputs import OutDir, Outputs, follow_symlinks_option, run_directory


@click.command("landscape")
@click.argument("data")
@click.option("--optimizers", default="sgd,momentum,annealing,large-lr", show_default=True,
              help="Comma-separated: sgd, momentum, nesterov, annealing, large-lr, adam, rmsprop.")
@click.option("--hidden", default="15", show_default=True, help="Hidden layer sizes.")
@click.option("--activation", default="relu", show_default=True, help="Hidden activation(s).")
@click.option("--lr", type=float, default=0.1, show_default=True,
              help="Base learning rate (adam and rmsprop use a tenth; large-lr and annealing "
              "a large rate measured from the loss's sharpness).")
@click.option("--epochs", type=click.IntRange(min=1), default=200, show_default=True,
              help="Epochs each optimiser trains for.")
@click.option("--batch-size", default="full", show_default=True,
              help="Rows per step, or 'full' (smooth full-batch paths).")
@click.option("--resolution", type=click.IntRange(min=3), default=51, show_default=True,
              help="Grid points per axis.")
@click.option("--directions", type=click.Choice(["pca", "random", "hessian"]), default="pca",
              show_default=True, help="pca: a plane through the shared start that follows the "
              "paths; random: two filter-normalised random directions through the first "
              "optimiser's final weights, on ±1 (no paths drawn); hessian: the Hessian's two "
              "top eigenvectors there, scaled to the weights' norm (no paths drawn).")
@click.option("--surface", type=click.Choice(["train", "test", "accuracy"]), default="train",
              show_default=True, help="What the figures show on the plane: the training loss, "
              "or the loss or the accuracy of held-out rows (--test-size of them; the paths "
              "train on the rest).")
@click.option("--line", type=click.Choice(["interpolation", "random", "hessian"]),
              help="Also draw a 1-D cut (line.png): the straight line from the initial to the "
              "final weights (Goodfellow et al. 2015), or a random or the top Hessian "
              "direction through the final weights.")
@click.option("--test-size", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.2, show_default=True,
              help="Held-out fraction for --surface test or accuracy.")
@click.option("--record-every", type=click.IntRange(min=1),
              help="Record the weights every N steps (default: about 100 points per path).")
@click.option("--scale", type=click.Choice(SCALE_CHOICES), default="minmax", show_default=True,
              help="Feature scaling.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed (the shared initial weights, the directions).")
@data_options()
@click.option("--out", "out_dir", type=OutDir(),
              help="Output directory; default runs/landscape-<data>-<timestamp>.")
@follow_symlinks_option
@debug_option
def landscape(data, optimizers, hidden, activation, lr, epochs, batch_size, resolution,
              directions, surface, line, test_size, record_every, scale, seed, target, missing,
              one_hot, task, sep, out_dir, debug):
    """Train one network with several optimisers from the same initial weights and
    draw every path on its loss landscape (Li et al., NeurIPS 2018).

    The plane passes through the start the paths share and follows them, so
    the loss drawn under each recorded point stays close to its true loss
    (the worst gap is printed and written on the figures). large-lr runs at
    1.35 x 2/λ_max, past the edge of stability, where λ_max is the largest
    eigenvalue of the loss's Hessian at plain SGD's final weights (power
    iteration on exact Hessian-vector products); annealing holds that rate for
    half the run, then decays to a tenth of the base rate.

    Writes landscape.png (contours with the paths), landscape_3d.png (the
    surface, paths at their true loss), descent.gif (balls rolling along the
    paths; PCA plane only) and landscape.npz (x, y, loss[i, j] at (x[j],
    y[i]), center_loss; per path path_, steps_, path_loss_ (true),
    plane_loss_ (drawn), off_plane_, rate_<name>; lambda_max, large_lr).
    With --surface test or accuracy the figures show that quantity on the same
    plane (landscape_<surface>.npz holds it); with --line, line.png.

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
    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot, sep=sep, task=task)
    network, X, Y = engine_network(prepared, hidden, activation, scale, seed,
                                   init="scaled_normal")
    X_eval, Y_eval = X, Y
    if surface != "train":
        if surface == "accuracy" and prepared.task != "classification":
            raise click.BadParameter("accuracy needs a classification target",
                                     param_hint="'--surface'")
        X, Y, X_eval, Y_eval = held_out(prepared, test_size, seed, scale)
    batch = None if batch_size == "full" else parse_batch_size(batch_size, len(X))
    started = time.perf_counter()
    result = ls.compare_optimizers(network, X, Y, optimizers=names, lr=lr, epochs=epochs,
                                   batch_size=batch, record_every=record_every,
                                   resolution=resolution, directions=directions, seed=seed)
    shown = result
    if surface != "train":
        quantity = "accuracy" if surface == "accuracy" else "loss"
        shown = ls.resurface(result, network, X_eval, Y_eval, quantity)
    cut = None
    if line is not None:
        cut = ls.landscape_line(network, X_eval, Y_eval, result, line,
                                quantity="accuracy" if surface == "accuracy" else "loss",
                                label=None if surface == "train" else shown.quantity, seed=seed)
    out_dir = out_dir or run_directory(data, prefix="landscape-")
    with Outputs(out_dir) as outputs:
        figures.save_figure(figures.landscape_figure(shown), outputs.path("landscape.png"))
        figures.save_figure(figures.landscape_surface_figure(shown),
                            outputs.path("landscape_3d.png"))
        if result.drawn:
            figures.save_descent_animation(result, outputs.path("descent.gif"))
        result.save_npz(outputs.path("landscape.npz"))
        if shown is not result:
            shown.save_npz(outputs.path(f"landscape_{surface}.npz"))
        if cut is not None:
            figures.save_figure(figures.landscape_line_figure(cut), outputs.path("line.png"))
        written = list(outputs.written)
    console = Console(highlight=False, soft_wrap=True)
    plane = (f"plane through the shared start: {result.explained[0]:.1%} + "
             f"{result.explained[1]:.1%} of the paths' squared displacement"
             if result.explained is not None else
             f"the top Hessian eigenvectors (λ = {result.eigenvalues[0]:.4g}, "
             f"{result.eigenvalues[1]:.4g}) through {result.center}"
             if result.eigenvalues is not None else
             f"two filter-normalised random directions through {result.center}")
    console.print(f"{network} on {len(X)} rows of {data}; {plane}; "
                  f"{resolution}x{resolution} grid; {time.perf_counter() - started:.1f} s")
    if result.sharpness is not None:
        console.print(f"sharpness at plain SGD's final weights: λ_max = {result.sharpness:.4g}, "
                      f"2/λ_max = {2 / result.sharpness:.4g}; large rate = "
                      f"{result.large_lr:.4g} ({ls.OVERSHOOT:g} x 2/λ_max)")
    steps = next(iter(result.steps.values()))
    every = int(steps[1] - steps[0]) if len(steps) > 1 else 1
    console.print(f"recorded every {every} step(s): "
                  f"{', '.join(str(len(p)) for p in result.paths.values())} points per path")
    if shown is not result:
        console.print(f"figures show the {shown.quantity} of {len(X_eval)} held-out rows on "
                      f"the plane the training loss chose ({len(X)} training rows)")
    table = RichTable()
    gap_column = "max gap" if shown is result else f"max gap ({shown.quantity})"
    for column in ("optimizer", "rate", "final loss", "rises", gap_column, "off plane"):
        table.add_column(column, justify="left" if column in ("optimizer", "rate") else "right")
    for name in names:
        final = f"{result.final_loss[name]:.4f}" + (" diverged" if result.diverged[name] else "")
        table.add_row(name, result.rates[name], final,
                      str(ls.count_rises(result.path_loss[name])),
                      f"{shown.gap(name):.4f}" if result.drawn else "not drawn",
                      f"{result.off_plane[name].mean():.0%}")
    console.print(table)
    worst = shown.worst_gap
    if worst is not None:
        console.print(f"worst gap between the true and the drawn {shown.quantity}: "
                      f"{worst[0]:.4f} ({worst[1]}, step {worst[2]})")
    else:
        console.print(f"{directions} plane: paths not drawn (see off plane), descent.gif not "
                      f"written")
    if cut is not None:
        gaps = ", ".join(f"{name} {cut.gap(name):.4f}" for name in cut.drawn)
        console.print(f"line ({line}): {cut.quantity} from {cut.values.min():.4g} to "
                      f"{cut.values.max():.4g}" + (f"; worst gap along the paths: {gaps}"
                                                   if gaps else "; paths not drawn"))
    console.print("wrote:")
    for path in written:
        console.print(f"  {path}")

def held_out(prepared, test_size, seed, scale):
    """Training and held-out rows, features scaled on the training rows, targets
    encoded for the network: ``(X, Y, X_test, Y_test)``."""
    from ..tables import encode_targets, split

    rows = split(prepared, test_size, seed, scale=scale)
    return (rows.X_train, encode_targets(prepared, rows.y_train), rows.X_test,
            encode_targets(prepared, rows.y_test))


command = landscape
