"""``glassnet evaluate``: a saved model's metrics on labelled rows."""

from __future__ import annotations

import json

import click

from ..io import load_model, write_text
from ..tables import labelled_for_model
from .errors import debug_option
from .outputs import OutFile, follow_symlinks_option
from .report import evaluate_rows, fmt
from .text import printable


@click.command("evaluate")
@click.argument("model_path", metavar="MODEL")
@click.argument("data")
@click.option("--target", help="Target column; default: the one the model was trained on.")
@click.option("--out", "out_file", type=OutFile(),
              help="Also write the metrics as JSON here.")
@click.option("--sep", help="CSV separator; detected by default.")
@follow_symlinks_option
@debug_option
def evaluate(model_path, data, target, out_file, sep, debug):
    """Metrics of a saved model on labelled rows of DATA.

    \b
    Example:
      glassnet evaluate runs/heart-20260101-120000/model.glassnet heart
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table as RichTable

    model = load_model(model_path)
    prepared = labelled_for_model(model, data, target=target, sep=sep)
    y = prepared.y
    metrics = evaluate_rows(model, prepared, prepared.X, y)
    result = Console(highlight=False, soft_wrap=True)
    result.print(f"{model_path} on {data} ({len(y)} rows)")
    out = RichTable()
    out.add_column("metric")
    out.add_column("value", justify="right")
    for key, value in metrics.items():
        if key not in ("confusion_matrix", "labels"):
            out.add_row(key, fmt(value))
    result.print(out)
    if "confusion_matrix" in metrics:
        labels = escape(printable(metrics["labels"]))  # the model's names: shown, not obeyed
        result.print(f"confusion matrix (rows true, columns predicted; labels {labels}):")
        for row in metrics["confusion_matrix"]:
            result.print("  " + " ".join(f"{v:>5}" for v in row))
    if out_file:
        write_text(out_file, json.dumps(metrics, indent=2) + "\n")

command = evaluate
