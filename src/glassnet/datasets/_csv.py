"""Read a user's CSV into numbers, safely, with errors that say where.

The work is split in two so that a saved model can apply exactly the same
preprocessing to new files later:

- :func:`read_table` splits a file into named text columns (separator and
  header detected, line numbers kept for error messages);
- :func:`infer_schema` decides, from the training file, each feature column's
  kind (numeric or categorical), its categories and its fill value; and
  :func:`encode` turns any table into a float matrix with that schema.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MISSING_TOKENS",
    "DataError",
    "Table",
    "encode",
    "infer_schema",
    "load_csv",
    "read_table",
]

MISSING_TOKENS = frozenset({"", "?", "na", "n/a", "nan", "null", "none", "-"})
SEPARATORS = (",", ";", "\t", " ")


class DataError(ValueError):
    """Input data that glassnet cannot use; the message says what and where."""


@dataclass
class Table:
    """A file split into text cells: ``columns[j][i]`` is row ``i`` of column ``names[j]``,
    which came from line ``lines[i]`` of the file."""

    path: str
    names: list
    columns: list
    lines: list
    separator: str
    header: bool

    @property
    def n_rows(self):
        return len(self.lines)

    def column(self, name):
        return self.columns[self.names.index(name)]


def _is_missing(cell):
    return cell.strip().lower() in MISSING_TOKENS


def _to_float(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def _split(text, separator):
    if separator == " ":
        return [line.split() for line in text.splitlines()]
    return list(csv.reader(io.StringIO(text), delimiter=separator))


def _detect_separator(text):
    sample = [line for line in text.splitlines()[:50] if line.strip()]
    for separator in SEPARATORS:
        rows = _split("\n".join(sample), separator)
        widths = {len(row) for row in rows if row}
        if len(widths) == 1 and widths.pop() > 1:
            return separator
    return ","


def read_table(path, sep=None, header="auto"):
    """Split a delimited text file into named columns of strings.

    Parameters
    ----------
    path : str or path-like
    sep : str, optional
        ``','``, ``';'``, ``'\\t'`` or ``' '`` (any run of blanks). Detected
        when omitted: the first that splits every line into the same number (> 1)
        of fields.
    header : 'auto', True or False
        ``'auto'``: the first row is a header when none of its cells is a number.
        Without a header the columns are named ``x0, x1, …``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"no such file: {path}")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, not a CSV file")
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not a UTF-8 text file ({exc.reason} at byte "
                        f"{exc.start})") from None
    if not text.strip():
        raise DataError(f"{path} is empty")
    separator = sep or _detect_separator(text)
    if separator not in SEPARATORS:
        raise DataError(f"separator must be one of {SEPARATORS!r}, got {separator!r}")
    physical = _split(text, separator)
    numbered = [(i + 1, [c.strip() for c in row]) for i, row in enumerate(physical)
                if row and any(c.strip() for c in row)]
    first = numbered[0][1]
    if header == "auto":
        header = all(_to_float(c) is None for c in first)
    if header:
        names, numbered = first, numbered[1:]
        if not numbered:
            raise DataError(f"{path} has a header but no data rows")
        blank = [j for j, n in enumerate(names) if not n]
        for j in blank:
            names[j] = f"x{j}"
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DataError(f"{path}: duplicate column names in the header: "
                            f"{', '.join(map(repr, duplicates))}")
    else:
        names = [f"x{j}" for j in range(len(first))]
    width = len(names)
    for line, row in numbered:
        if len(row) != width:
            raise DataError(f"{path}, line {line}: expected {width} fields (like the "
                            f"{'header' if header else 'first row'}), got {len(row)}")
    columns = [[row[j] for _, row in numbered] for j in range(width)]
    return Table(path, list(names), columns, [line for line, _ in numbered], separator,
                 bool(header))


def _column_kind(table, name):
    """'numeric' or 'categorical', raising on a column that mixes the two."""
    cells = table.column(name)
    present = [(i, c) for i, c in enumerate(cells) if not _is_missing(c)]
    numeric = [(i, c) for i, c in present if _to_float(c) is not None]
    if not present or len(numeric) == len(present):
        return "numeric"
    if not numeric:
        return "categorical"
    i, cell = next((i, c) for i, c in present if _to_float(c) is None)
    raise DataError(f"{table.path}: non-numeric value {cell!r} in numeric column {name!r} "
                    f"at line {table.lines[i]}")


def infer_schema(table, features, one_hot=False, missing="error"):
    """Decide how each feature column becomes numbers.

    Returns a list of plain dicts, one per column: ``{"name", "kind": "numeric",
    "fill"}`` or ``{"name", "kind": "categorical", "categories", "fill"}``; the
    fill value (median or most frequent value) is used when ``missing='median'``.
    """
    schema = []
    for name in features:
        kind = _column_kind(table, name)
        cells = [c for c in table.column(name) if not _is_missing(c)]
        if kind == "numeric":
            values = np.array([float(c) for c in cells]) if cells else np.array([np.nan])
            finite = values[np.isfinite(values)]
            fill = float(np.median(finite)) if finite.size else 0.0
            schema.append({"name": name, "kind": "numeric", "fill": fill})
        else:
            if not one_hot:
                raise DataError(
                    f"{table.path}: column {name!r} holds text (e.g. {cells[0]!r}), not "
                    f"numbers; ask for one-hot encoding (one_hot=True, --one-hot) to turn it "
                    f"into indicator columns, or drop it")
            categories = sorted(set(cells))
            fill = max(categories, key=cells.count)
            schema.append({"name": name, "kind": "categorical", "categories": categories,
                           "fill": fill})
    return schema


def feature_names(schema):
    """The encoded column names: numeric columns keep theirs, categories become ``name=value``."""
    names = []
    for column in schema:
        if column["kind"] == "numeric":
            names.append(column["name"])
        else:
            names.extend(f"{column['name']}={c}" for c in column["categories"])
    return names


def missing_mask(table, names):
    """Boolean (n_rows,) mask of rows with a missing value in any of ``names``."""
    mask = np.zeros(table.n_rows, dtype=bool)
    for name in names:
        mask |= np.array([_is_missing(c) for c in table.column(name)], dtype=bool)
    return mask


def check_missing(table, names, missing):
    """Raise for missing values when ``missing='error'``, counting them per column."""
    counts = {}
    first_line = None
    for name in names:
        flags = [_is_missing(c) for c in table.column(name)]
        if any(flags):
            counts[name] = sum(flags)
            line = table.lines[flags.index(True)]
            first_line = line if first_line is None else min(first_line, line)
    if counts and missing == "error":
        listing = ", ".join(f"{name!r}: {n}" for name, n in counts.items())
        raise DataError(
            f"{table.path}: missing values (count per column: {listing}; first at line "
            f"{first_line}); choose missing='drop' to drop those rows or missing='median' to "
            f"fill them (--missing drop|median)")
    return counts


def encode(table, schema, missing="error", rows=None):
    """Turn a table's feature columns into a float64 matrix following ``schema``.

    ``missing='median'`` fills gaps with each column's fill value; otherwise
    missing cells must already be gone (see :func:`check_missing`). A value
    of a categorical column not seen in training encodes as all zeros.
    ``rows`` selects rows (a boolean mask or indices).
    """
    index = np.arange(table.n_rows) if rows is None else np.arange(table.n_rows)[rows]
    parts = []
    for column in schema:
        name = column["name"]
        if name not in table.names:
            raise DataError(f"{table.path}: feature column {name!r} is missing")
        cells = [table.column(name)[i] for i in index]
        lines = [table.lines[i] for i in index]
        if column["kind"] == "numeric":
            values = np.empty(len(cells))
            for k, cell in enumerate(cells):
                if _is_missing(cell):
                    if missing != "median":
                        raise DataError(f"{table.path}: missing value in column {name!r} at "
                                        f"line {lines[k]}")
                    values[k] = column["fill"]
                    continue
                value = _to_float(cell)
                if value is None:
                    raise DataError(f"{table.path}: non-numeric value {cell!r} in numeric "
                                    f"column {name!r} at line {lines[k]}")
                if not math.isfinite(value):
                    raise DataError(f"{table.path}: {'NaN' if math.isnan(value) else 'infinite'}"
                                    f" value {cell!r} in column {name!r} at line {lines[k]}")
                values[k] = value
            parts.append(values[:, None])
        else:
            categories = column["categories"]
            block = np.zeros((len(cells), len(categories)))
            position = {c: j for j, c in enumerate(categories)}
            for k, cell in enumerate(cells):
                if _is_missing(cell):
                    if missing != "median":
                        raise DataError(f"{table.path}: missing value in column {name!r} at "
                                        f"line {lines[k]}")
                    cell = column["fill"]
                j = position.get(cell)
                if j is not None:
                    block[k, j] = 1.0
            parts.append(block)
    if not parts:
        return np.empty((len(index), 0))
    return np.hstack(parts)


def resolve_target(table, target):
    """The target column's name from a name, an index, or ``None`` (the last column)."""
    if target is None:
        return table.names[-1]
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not -len(table.names) <= target < len(table.names):
            raise DataError(f"target index {target} is out of range for "
                            f"{len(table.names)} columns")
        return table.names[target]
    if target not in table.names:
        raise DataError(f"{table.path}: no target column {target!r}; the columns are: "
                        f"{', '.join(table.names)}")
    return target


def parse_target(table, name, rows):
    """The target column as floats when every value is numeric, else as strings."""
    cells = [table.column(name)[i] for i in np.arange(table.n_rows)[rows]]
    lines = [table.lines[i] for i in np.arange(table.n_rows)[rows]]
    values = [_to_float(c) for c in cells]
    if all(v is not None for v in values):
        target = np.array(values)
        bad = ~np.isfinite(target)
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(f"{table.path}: non-finite target value {cells[k]!r} in column "
                            f"{name!r} at line {lines[k]}")
        if np.all(target == np.round(target)):
            target = target.astype(np.int64)
    else:
        target = np.array(cells, dtype=object).astype(str)
    return target


def load_csv(path, target=None, sep=None, header="auto", one_hot=False, missing="error",
             features=None, return_X_y=False):
    """Load a CSV for training: features as a float matrix, the target as a vector.

    Parameters
    ----------
    path : str or path-like
    target : str or int, optional
        The target column's name or index; the last column by default.
    sep, header : see :func:`read_table`.
    one_hot : bool, default False
        Encode text (categorical) feature columns as one indicator column per
        value; without it a text column is an error.
    missing : {'error', 'drop', 'median'}, default 'error'
        Missing cells (empty, ``?``, ``NA``, ``nan``, …): an error that counts
        them per column, drop those rows, or fill features with the column's
        median (most frequent value for text). Rows missing the target are
        dropped with ``'median'`` too: a label cannot be made up.
    features : list of str, optional
        Feature columns to use; all but the target by default.

    Returns
    -------
    Bunch with ``data`` (float64), ``target`` (int64 for whole numbers, float64,
    or str), ``feature_names`` (after encoding), ``target_name``, ``schema``
    (how to encode new files), ``columns`` (the file's column names);
    or ``(data, target)``.

    Raises
    ------
    DataError (a ValueError)
        Missing or empty file, header only, unknown target column (the message
        lists the columns), a non-numeric value in a numeric column (column and
        line), missing values (counts per column), infinities, a target with a
        single value.
    """
    from . import Bunch

    if missing not in ("error", "drop", "median"):
        raise ValueError(f"missing must be 'error', 'drop' or 'median', got {missing!r}")
    table = read_table(path, sep=sep, header=header)
    target_name = resolve_target(table, target)
    if features is None:
        features = [n for n in table.names if n != target_name]
    else:
        unknown = [f for f in features if f not in table.names]
        if unknown:
            raise DataError(f"{table.path}: no column(s) {', '.join(map(repr, unknown))}; the "
                            f"columns are: {', '.join(table.names)}")
    if not features:
        raise DataError(f"{table.path}: no feature columns besides the target {target_name!r}")
    check_missing(table, features + [target_name], "drop" if missing != "error" else "error")
    if missing == "drop":
        keep = ~missing_mask(table, features + [target_name])
    else:
        keep = ~missing_mask(table, [target_name])
    if not keep.any():
        raise DataError(f"{table.path}: no rows left after dropping those with missing values")
    kept = _Subset(table, keep)
    schema = infer_schema(kept, features, one_hot=one_hot, missing=missing)
    data = encode(table, schema, missing=missing, rows=keep)
    y = parse_target(table, target_name, keep)
    if np.unique(y).size < 2:
        raise DataError(f"{table.path}: the target column {target_name!r} has a single value "
                        f"({y[0]!r}); a model needs at least two classes or distinct values")
    if return_X_y:
        return data, y
    return Bunch(data=data, target=y, feature_names=feature_names(schema),
                 target_name=target_name, schema=schema, columns=list(table.names),
                 DESCR=f"CSV file {table.path}", filename=table.path)


class _Subset(Table):
    """A view of some rows of a table (for computing medians and categories)."""

    def __init__(self, table, rows):
        index = np.arange(table.n_rows)[rows]
        super().__init__(table.path, table.names,
                         [[col[i] for i in index] for col in table.columns],
                         [table.lines[i] for i in index], table.separator, table.header)
