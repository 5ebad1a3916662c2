"""``glassnet predict``: apply a saved model to new rows."""

from __future__ import annotations

import csv
import io

import click

from ..io import load_model, write_text
from ..tables import read_for_model
from .errors import debug_option
from .outputs import OutFile, follow_symlinks_option
from .report import batched
from .text import csv_cell


@click.command("predict")
@click.argument("model_path", metavar="MODEL")
@click.argument("data")
@click.option("--out", "out_file", type=OutFile(),
              help="Write the predictions CSV here (default: standard output).")
@click.option("--sep", help="CSV separator; detected by default.")
@follow_symlinks_option
@debug_option
def predict(model_path, data, out_file, sep, debug):
    """Apply a saved model to the rows of DATA (a CSV or bundled name).

    The saved scaler and encoding are applied to the raw columns; a target
    column, if present, is ignored. The output keeps the input's row order:
    the row number, the predicted label (or value) and each class's probability.

    \b
    Example:
      glassnet predict runs/wisconsin-20260101-120000/model.glassnet wisconsin --out p.csv
    """
    model = load_model(model_path)
    _, X = read_for_model(model.metadata, data, sep)
    prediction = batched(model.predict, X)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    target = model.metadata["target"]
    if model.task == "classification":
        proba = batched(model.predict_proba, X)
        # class names and the target come from the model file: shown, never obeyed
        writer.writerow(["row", csv_cell(f"predicted_{target}"),
                         *[csv_cell(f"probability_{c}") for c in model.classes]])
        for i, (label, row) in enumerate(zip(prediction, proba), start=1):
            writer.writerow([i, csv_cell(_plain(label)), *[f"{p:.6f}" for p in row]])
    else:
        writer.writerow(["row", csv_cell(f"predicted_{target}")])
        for i, value in enumerate(prediction, start=1):
            writer.writerow([i, f"{value:.10g}"])
    if out_file:
        write_text(out_file, buffer.getvalue())
        click.echo(f"wrote {len(prediction)} predictions to {out_file}", err=True)
    else:
        click.echo(buffer.getvalue(), nl=False)

def _plain(label):
    return label.item() if hasattr(label, "item") else label


command = predict
