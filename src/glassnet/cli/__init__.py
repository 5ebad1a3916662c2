"""The ``glassnet`` command: train on a CSV or a bundled data set, predict, evaluate.

Every failure prints one line ``error: …`` on stderr and exits non-zero, with
no traceback unless ``--debug`` is given, and leaves no half-written file.

Layout: :mod:`.app` holds the command group and the registry of commands, one
module per command (:mod:`.train`, :mod:`.predict`, :mod:`.evaluate`,
:mod:`.datasets`, :mod:`.gradcheck`, :mod:`.compare`, :mod:`.landscape`,
:mod:`.export`, :mod:`.playground`, :mod:`.search`);
shared pieces live once each: :mod:`.errors` (the ``error:`` line, ``--debug``),
:mod:`.options` (option parsers), :mod:`.outputs` (run directory, atomic files),
:mod:`.report` (metrics, printed report, plots), :mod:`.progress` (training
callbacks) and :mod:`.engine` (engine networks). Reading, encoding and scaling
the data is :mod:`glassnet.tables`.
"""

from .app import COMMANDS, cli, main
from .errors import CLIError

__all__ = ["COMMANDS", "CLIError", "cli", "main"]
