"""Failures on the command line: one ``error: …`` line, a non-zero exit, no traceback.

Every command raises; :func:`run` is the one place that turns an exception into
the ``error:`` line and an exit status (``--debug`` re-raises it instead).
"""

from __future__ import annotations

import re

import click

from ..datasets import DataError
from ..io import ModelFileError

__all__ = ["CLIError", "debug_option", "run"]


class CLIError(Exception):
    """A user-facing failure: printed as ``error: <message>``."""


def debug_option(function):
    """The ``--debug`` flag every command takes (read by :func:`run` from argv)."""
    return click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")(function)


def run(group, argv):
    """Run ``group`` on ``argv`` and return the exit status."""
    debug = "--debug" in argv
    try:
        status = group.main(args=argv, prog_name="glassnet", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        _error("interrupted")
        return 130
    except click.ClickException as exc:
        if debug:
            raise
        _error(exc.format_message())
        return exc.exit_code or 2
    except (CLIError, DataError, ModelFileError, ValueError, OSError, ArithmeticError) as exc:
        if debug:
            raise
        _error(str(exc) or type(exc).__name__)
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    # a command may end with click.exceptions.Exit(status), which click returns here
    return status if isinstance(status, int) and not isinstance(status, bool) else 0


# NumPy 2 writes a scalar's repr with its type (np.str_('medium'), np.float64(1.5)):
# the user wrote 'medium' and 1.5
_NUMPY_SCALAR = re.compile(r"\bnp\.(?:str_|bytes_|bool_?|u?int\d*|float\d*|complex\d*)"
                           r"\(((?:'[^']*'|\"[^\"]*\"|[^()])*)\)")


def user_terms(message):
    """``message`` on one line, NumPy scalars written as the user wrote them."""
    return _NUMPY_SCALAR.sub(r"\1", " ".join(str(message).split()))


def _error(message):
    from .text import printable  # names from files (a model's classes) are shown, not obeyed

    click.echo(f"error: {printable(user_terms(message))}", err=True)
