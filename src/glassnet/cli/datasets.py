"""``glassnet datasets``: the bundled data sets."""

from __future__ import annotations

import click
import numpy as np

from ..datasets import BUNDLED, load
from .errors import debug_option


@click.command("datasets")
@debug_option
def datasets(debug):
    """List the bundled data sets with their shapes.

    \b
    Example:
      glassnet datasets
    """
    for name in BUNDLED:
        bunch = load(name)
        classes = ", ".join(f"{label} {count}" for label, count in zip(
            bunch.target_names, np.bincount(bunch.target)))
        click.echo(f"{name:<10} {bunch.data.shape[0]:>4} rows x {bunch.data.shape[1]:>2} "
                   f"features   classes: {classes}")
        click.echo(f"{'':<10} {bunch.DESCR.splitlines()[0]}")

command = datasets
