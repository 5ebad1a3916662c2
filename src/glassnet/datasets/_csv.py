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
import os
from dataclasses import dataclass, field

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
class Parsed:
    """One column read as numbers, once: ``values`` (NaN where not a number),
    ``missing`` (a missing-value token: empty, ``?``, ``NA``, ``nan``, …) and
    ``numeric`` (parsed as a number and not missing)."""

    values: np.ndarray
    missing: np.ndarray
    numeric: np.ndarray

    def take(self, index):
        return Parsed(self.values[index], self.missing[index], self.numeric[index])


def _parse(cells):
    try:  # the common case, a column of plain numbers: one fast pass
        values = np.array([float(c) for c in cells], dtype=np.float64)
    except ValueError:
        values = np.full(len(cells), np.nan)
        numeric = np.zeros(len(cells), dtype=bool)
        missing = np.zeros(len(cells), dtype=bool)
        for i, cell in enumerate(cells):
            try:
                values[i] = float(cell)
                numeric[i] = True
            except ValueError:
                missing[i] = cell.lower() in MISSING_TOKENS
        nan = numeric & np.isnan(values)  # the text "nan" is a missing-value token
        return Parsed(values, missing | nan, numeric & ~nan)
    missing = np.isnan(values)
    return Parsed(values, missing, ~missing)


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
    _parsed: dict = field(default_factory=dict, repr=False)

    @property
    def n_rows(self):
        return len(self.lines)

    def column(self, name):
        return self.columns[self.names.index(name)]

    def parsed(self, name):
        """The column ``name`` as numbers (computed once, then cached)."""
        if name not in self._parsed:
            self._parsed[name] = _parse(self.column(name))
        return self._parsed[name]

    def take(self, rows):
        """A table of some rows (a boolean mask or indices), keeping parsed columns."""
        index = np.arange(self.n_rows)[rows]
        if len(index) == self.n_rows and np.array_equal(index, np.arange(self.n_rows)):
            return self  # every row, in order: nothing to copy
        return Table(self.path, self.names, [[col[i] for i in index] for col in self.columns],
                     [self.lines[i] for i in index], self.separator, self.header,
                     {name: p.take(index) for name, p in self._parsed.items()})


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
    numbered = []
    for number, row in enumerate(physical, start=1):
        cells = [c.strip() for c in row]
        if any(cells):  # skip blank lines
            numbered.append((number, cells))
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
    columns = [list(column) for column in zip(*(row for _, row in numbered))]
    return Table(path, list(names), columns, [line for line, _ in numbered], separator,
                 bool(header))


def _column_kind(table, name):
    """'numeric' or 'categorical', raising on a column that mixes the two."""
    parsed = table.parsed(name)
    text = ~parsed.missing & ~parsed.numeric
    if not text.any():
        return "numeric"
    if not parsed.numeric.any():
        return "categorical"
    i = int(np.argmax(text))
    raise DataError(f"{table.path}: non-numeric value {table.column(name)[i]!r} in numeric "
                    f"column {name!r} at line {table.lines[i]}")


def infer_schema(table, features, one_hot=False, missing="error"):
    """Decide how each feature column becomes numbers.

    Returns a list of plain dicts, one per column: ``{"name", "kind": "numeric",
    "fill"}`` or ``{"name", "kind": "categorical", "categories", "fill"}``; the
    fill value (median or most frequent value) is used when ``missing='median'``.
    """
    schema = []
    for name in features:
        kind = _column_kind(table, name)
        parsed = table.parsed(name)
        if kind == "numeric":
            finite = parsed.values[np.isfinite(parsed.values)]
            fill = float(np.median(finite)) if finite.size else 0.0
            schema.append({"name": name, "kind": "numeric", "fill": fill})
        else:
            cells = [c for c, gap in zip(table.column(name), parsed.missing) if not gap]
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
        mask |= table.parsed(name).missing
    return mask


def check_missing(table, names, missing):
    """Raise for missing values when ``missing='error'``, counting them per column."""
    counts = {}
    first_line = None
    for name in names:
        flags = table.parsed(name).missing
        if flags.any():
            counts[name] = int(flags.sum())
            line = table.lines[int(np.argmax(flags))]
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
    lines = np.asarray(table.lines)[index]
    parts = []
    for column in schema:
        name = column["name"]
        if name not in table.names:
            raise DataError(f"{table.path}: feature column {name!r} is missing")
        parsed = table.parsed(name).take(index)
        if parsed.missing.any() and missing != "median":
            raise DataError(f"{table.path}: missing value in column {name!r} at line "
                            f"{lines[np.argmax(parsed.missing)]}")
        if column["kind"] == "numeric":
            text = ~parsed.missing & ~parsed.numeric
            if text.any():
                k = int(np.argmax(text))
                raise DataError(f"{table.path}: non-numeric value "
                                f"{table.column(name)[index[k]]!r} in numeric column {name!r} "
                                f"at line {lines[k]}")
            infinite = parsed.numeric & ~np.isfinite(parsed.values)
            if infinite.any():
                k = int(np.argmax(infinite))
                raise DataError(f"{table.path}: infinite value {table.column(name)[index[k]]!r} "
                                f"in column {name!r} at line {lines[k]}")
            parts.append(np.where(parsed.missing, column["fill"], parsed.values)[:, None])
        else:
            categories = column["categories"]
            position = {c: j for j, c in enumerate(categories)}
            cells = table.column(name)
            block = np.zeros((len(index), len(categories)))
            for k, (i, gap) in enumerate(zip(index, parsed.missing)):
                j = position.get(column["fill"] if gap else cells[i])
                if j is not None:  # a category unseen in training encodes as all zeros
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
    index = np.arange(table.n_rows)[rows]
    parsed = table.parsed(name).take(index)
    cells = table.column(name)
    if parsed.numeric.all():
        target = parsed.values
        bad = ~np.isfinite(target)
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(f"{table.path}: non-finite target value {cells[index[k]]!r} in "
                            f"column {name!r} at line {table.lines[index[k]]}")
        if np.all(target == np.round(target)):
            target = target.astype(np.int64)
        return target
    return np.array([cells[i] for i in index], dtype=str)


def load_csv(path, target=None, sep=None, header="auto", one_hot=False, missing="error",
             features=None, return_X_y=False):
    """Load a CSV for training: features as a float matrix, the target as a vector.

    Parameters
    ----------
    path : str or path-like
    target : str or int, optional
        The target column's name or index; the last column by default.
    sep : str, optional
        ``','``, ``';'``, ``'\\t'`` or ``' '``; detected when omitted (see
        :func:`read_table`).
    header : 'auto', True or False
        ``'auto'``: the first row is a header when none of its cells is a number.
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
    Bunch or tuple
        A Bunch with ``data`` (float64), ``target`` (int64 for whole numbers,
        float64, or str), ``feature_names`` (after encoding), ``target_name``,
        ``schema`` (how to encode new files), ``columns`` (the file's column
        names); or ``(data, target)``.

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
    kept = table.take(keep)
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


