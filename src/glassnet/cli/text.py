"""Text from a file (a model's class names, its target, a table's labels) made safe to
show: on a terminal and in a CSV a spreadsheet may open.

A model file is input like any other: a class name may hold ANSI escape sequences
(``\\x1b[2J`` clears the screen), carriage returns that overwrite a line, or a
spreadsheet formula (``=cmd|' /C calc'!A0``) that runs when the CSV is opened.
"""

from __future__ import annotations

__all__ = ["csv_cell", "printable"]

FORMULA_STARTS = ("=", "+", "-", "@")


def printable(text):
    """``text`` with every non-printable character (control characters such as ESC,
    CR, LF and tab; Unicode format characters such as right-to-left overrides) written
    as its Python escape (``\\x1b``, ``\\r``, ``\\u202e``): shown, never obeyed."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def csv_cell(value):
    """A value for a CSV cell: numbers as they are; text :func:`printable`, and text
    that a spreadsheet would read as a formula (starting with ``= + - @``, the OWASP
    list; tab and CR are already escaped) prefixed with ``'``, which spreadsheets show
    as text. Text that is a number (``-1``, ``+2.5``) is left alone."""
    if not isinstance(value, str):
        return value
    text = printable(value)
    if text.startswith(FORMULA_STARTS):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text
