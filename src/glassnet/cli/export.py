"""``glassnet export``: a saved model in a format other tools run (ONNX)."""

from __future__ import annotations

import json
import os

import click

from ..io import load_model, write_bytes
from .errors import CLIError, debug_option
from .outputs import OutFile, check_out_file, follow_symlinks_option

FORMATS = {"onnx": ".onnx"}


@click.command("export")
@click.argument("model_path", metavar="MODEL")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="onnx",
              show_default=True, help="onnx: one graph with the preprocessing (imputation, "
              "one-hot encoding, scaling) and the network, for onnxruntime and other ONNX "
              "runtimes (needs the onnx extra).")
@click.option("--out", "out_file", type=OutFile(),
              help="The file to write; default: MODEL with the format's extension.")
@follow_symlinks_option
@debug_option
def export(model_path, fmt, out_file, debug):
    """Write MODEL (a .glassnet file) for another runtime.

    The ONNX graph takes the raw columns glassnet predict reads (numeric ones
    as the float32 input X, NaN where missing; text ones as the string input
    X_text) and outputs label and probabilities (regressors: value). It
    prints which columns go in each input.

    \b
    Example:
      glassnet export runs/heart-20260101-120000/model.glassnet --format onnx --out model.onnx
    """
    from ..interop.onnx import ML_OPSET, OPSET, to_onnx

    model = load_model(model_path)
    out_file = out_file or check_out_file(os.path.splitext(model_path)[0] + FORMATS[fmt])
    if os.path.abspath(out_file) == os.path.abspath(model_path):
        raise CLIError(f"--out {out_file} would overwrite the model itself")
    try:
        proto = to_onnx(model)
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    write_bytes(out_file, proto.SerializeToString())
    props = {entry.key: entry.value for entry in proto.metadata_props}
    click.echo(f"wrote {out_file}: ONNX opset {OPSET} with ai.onnx.ml {ML_OPSET}, float32")
    for name, columns in json.loads(props["glassnet.inputs"]).items():
        kind = "float32" if name == "X" else "string"
        click.echo(f"input  {name} ({kind}, {len(columns)} columns): {', '.join(columns)}")
    outputs = [output.name for output in proto.graph.output]
    classes = json.loads(props["glassnet.classes"]) if "glassnet.classes" in props else None
    click.echo(f"output {', '.join(outputs)}"
               + (f" (classes: {', '.join(map(str, classes))})" if classes else ""))


command = export
