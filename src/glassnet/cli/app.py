"""The ``glassnet`` command group and its registry of commands.

Each command lives in its own module of this package and defines ``command``
(a :func:`click.command`). Adding a command means writing that module and
adding its name to :data:`COMMANDS`.
"""

from __future__ import annotations

import sys
from importlib import import_module

import click

from .._version import __version__
from .errors import run

__all__ = ["COMMANDS", "cli", "main"]

# module names under glassnet.cli, each defining `command`
COMMANDS = ("train", "predict", "evaluate", "datasets", "gradcheck", "compare", "landscape",
            "export", "playground", "search")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="glassnet")
def cli():
    """glassnet: neural networks from scratch in NumPy, every gradient by hand.

    \b
    Examples:
      glassnet train wisconsin
      glassnet train my.csv --target label --hidden 64,32 --epochs 300
      glassnet predict runs/wisconsin-*/model.glassnet new.csv --out predictions.csv
      glassnet datasets
      glassnet playground
    """


for _name in COMMANDS:
    cli.add_command(import_module(f"{__package__}.{_name}").command)


def main(argv=None):
    """Entry point: run the command line and turn failures into one ``error:`` line."""
    return run(cli, list(sys.argv[1:] if argv is None else argv))
