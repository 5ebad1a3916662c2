"""Read a user's table into numbers, safely, with errors that say where.

The work is split in two so that a saved model can apply exactly the same
preprocessing to new files later:

- :func:`read_table` reads a file into named columns (separator and header
  detected, each row's line remembered for error messages);
- :func:`infer_schema` decides, from the training file, each feature column's
  kind (numeric or categorical), its categories and its fill value; and
  :func:`encode` turns any table into a float matrix with that schema.

Parsing is pandas' C reader when pandas is installed (the ``cli`` extra): CSV,
gzip/bzip2/xz/zip-compressed CSV, and Parquet (with pyarrow). Without pandas a
plain-Python reader handles uncompressed and compressed CSV. Either way the
checks and their messages are glassnet's: they name the column and the line.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import os
import warnings
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ._bunch import Bunch
from .._files import regular_file_problem

__all__ = [
    "MISSING_TOKENS",
    "DataError",
    "Table",
    "encode",
    "encode_table",
    "infer_schema",
    "load_csv",
    "read_table",
]

MISSING_TOKENS = frozenset({"", "?", "na", "n/a", "nan", "null", "none", "-"})
SEPARATORS = (",", ";", "\t", " ")
PARQUET = (".parquet", ".pq")
try:
    import lzma
except ImportError:  # Pyodide (the docs' in-browser playground) ships lzma separately
    lzma = None


def _no_lzma(path, mode):
    raise DataError(f"{path}: reading .xz files needs Python's lzma module, which this Python "
                    f"(probably Pyodide, in the browser) does not have; decompress it first")


COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open if lzma else _no_lzma}
COMPRESSION_ERRORS = (OSError, EOFError, zipfile.BadZipFile) + ((lzma.LZMAError,) if lzma else ())


class DataError(ValueError):
    """Input data that glassnet cannot use; the message says what and where."""


def _limit(name, default):
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise DataError(f"{name} must be a whole number of bytes or cells, got "
                        f"{value!r}") from None


#: The budget of one table (see docs/bad-input.md): at most this many bytes of text
#: once decompressed (environment variable ``GLASSNET_MAX_TABLE_BYTES``) ...
MAX_TABLE_BYTES = 1 << 30
#: ... and at most this many cells, rows times columns (``GLASSNET_MAX_TABLE_CELLS``;
#: 100 million float64 cells are 800 MB). Checked while reading, before the memory
#: is taken: a 5 MB ``.csv.gz`` that inflates to gigabytes is refused, not read.
MAX_TABLE_CELLS = 100_000_000
#: The longest cell, in characters: the limit of Python's csv module.
MAX_CELL_CHARS = csv.field_size_limit()


def table_budget():
    """``(bytes, cells)``: the table budget, the environment's if it sets one."""
    return (_limit("GLASSNET_MAX_TABLE_BYTES", MAX_TABLE_BYTES),
            _limit("GLASSNET_MAX_TABLE_CELLS", MAX_TABLE_CELLS))


class _Bounded(io.RawIOBase):
    """A binary stream that raises :class:`DataError` once more than ``limit`` bytes
    (after decompression) have been read from it."""

    def __init__(self, raw, path, limit):
        self.raw, self.path, self.limit, self.count = raw, path, limit, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self.raw.readinto(buffer)
        self.count += n or 0
        if self.count > self.limit:
            raise DataError(
                f"{self.path} holds more than {self.limit} bytes of text once decompressed "
                f"({os.path.getsize(self.path)} bytes on disk); glassnet reads tables up to "
                f"{self.limit} bytes (set GLASSNET_MAX_TABLE_BYTES to allow more)")
        return n

    def close(self):
        self.raw.close()
        super().close()


def _too_wide_cell(path, where):
    return DataError(f"{path}{where}: a cell longer than {MAX_CELL_CHARS} characters "
                     f"({MAX_CELL_CHARS // 1024} KiB), the longest glassnet reads")


# The usual spellings of MISSING_TOKENS, for pandas (which matches them exactly, and
# where a longer list slows the C parser). A rarer spelling ("nUlL") makes its column
# text, where _parse still finds it, ignoring case.
NA_STRINGS = ["", "?", "-", "NA", "na", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "Null",
              "None", "none", "NONE"]


@dataclass
class Parsed:
    """One column read as numbers, once: ``values`` (NaN where not a number),
    ``missing`` (a missing-value token: empty, ``?``, ``NA``, ``nan``, …) and
    ``numeric`` (parsed as a number and not missing). ``text`` is True when some
    cell is neither (a column read as numbers by the parser never has any)."""

    values: np.ndarray
    missing: np.ndarray
    numeric: np.ndarray
    text: bool = True

    def take(self, index):
        missing, numeric = self.missing[index], self.numeric[index]
        return Parsed(self.values[index], missing, numeric,
                      self.text and bool((~missing & ~numeric).any()))

    def text_mask(self):
        """Cells that are neither numbers nor missing."""
        return ~self.missing & ~self.numeric


def _parse(column):
    """A column (float64 array, or object array of text with None where missing) as numbers."""
    if column.dtype.kind == "f":
        missing = np.isnan(column)
        return Parsed(column, missing, ~missing, text=False)
    try:
        import pandas as pd
    except ImportError:
        values = np.full(len(column), np.nan)
        missing = np.zeros(len(column), dtype=bool)
        for i, cell in enumerate(column):
            if cell is None or cell.lower() in MISSING_TOKENS:
                missing[i] = True
                continue
            try:
                values[i] = float(cell)
            except ValueError:
                pass
    else:
        series = pd.Series(column, dtype=object)
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        missing = series.isna().to_numpy(dtype=bool, copy=True)
        missing[~missing] = series[~missing].str.lower().isin(MISSING_TOKENS).to_numpy(bool)
    numeric = ~missing & ~np.isnan(values)
    return Parsed(values, missing, numeric, text=bool((~missing & ~numeric).any()))


@dataclass
class Table:
    """A file read into named columns.

    ``columns[j]`` is column ``names[j]``: a float64 array (NaN where missing) or
    an object array of text (None where missing). ``rows`` are the rows' positions
    in the file's data (0 for the first data row); ``locate`` maps those positions
    to where a reader finds them (``"line 7"``, or ``"row 7"`` for Parquet).
    """

    path: str
    names: list
    columns: list
    separator: str | None
    header: bool
    rows: np.ndarray | None = None
    locate: object = None
    _parsed: dict = field(default_factory=dict, repr=False)
    _positions: dict = field(default=None, repr=False)

    def __post_init__(self):
        if self.rows is None:
            self.rows = np.arange(len(self.columns[0]) if self.columns else 0)
        if self.locate is None:
            self.locate = _row_numbers

    @property
    def n_rows(self):
        return len(self.rows)

    def column(self, name):
        if self._positions is None:  # name -> index, once: a table may be wide
            self._positions = {n: j for j, n in enumerate(self.names)}
        return self.columns[self._positions[name]]

    def cell(self, name, i):
        """Row ``i`` of column ``name`` as text (for messages)."""
        value = self.column(name)[i]
        return repr(float(value)) if isinstance(value, float | np.floating) else value

    def where(self, i):
        """Where row ``i`` is in the file: ``'line 12'`` (or ``'row 12'`` for Parquet)."""
        return self.locate(self, int(self.rows[i]))

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
        return Table(self.path, self.names, [col[index] for col in self.columns],
                     self.separator, self.header, self.rows[index], self.locate,
                     {name: p.take(index) for name, p in self._parsed.items()})


def _row_numbers(table, position):
    return f"row {position + 1}"


# -- opening files ------------------------------------------------------------------
def _open_binary(path):
    """The bytes of a file, decompressed for ``.gz``, ``.bz2``, ``.xz`` and one-file
    ``.zip``, and never more than the table budget's bytes (:func:`table_budget`)."""
    suffix = os.path.splitext(path)[1].lower()
    limit = table_budget()[0]
    if suffix in COMPRESSED:
        raw = COMPRESSED[suffix](path, "rb")
    elif suffix == ".zip":
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if len(members) != 1:
            archive.close()
            raise DataError(f"{path} holds {len(members)} files; a zipped table must hold "
                            f"exactly one")
        raw = archive.open(members[0])
    else:
        size = os.path.getsize(path)
        if size > limit:
            raise DataError(f"{path} holds {size} bytes; glassnet reads tables up to {limit} "
                            f"bytes (set GLASSNET_MAX_TABLE_BYTES to allow more)")
        return open(path, "rb")
    return io.BufferedReader(_Bounded(raw, path, limit))


def _open_text(path):
    return io.TextIOWrapper(_open_binary(path), encoding="utf-8-sig", newline="")


def _not_utf8(path):
    """The error for a file that is not UTF-8, saying where the first bad byte is."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    with _open_binary(path) as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                position = offset + exc.start
                line = lines + chunk.count(b"\n", 0, exc.start) + 1
                return DataError(f"{path} is not a UTF-8 text file ({exc.reason} at byte "
                                 f"{position}, line {line})")
            offset += len(chunk)
            lines += chunk.count(b"\n")
    return DataError(f"{path} is not a UTF-8 text file")


def _split(text, separator, path=""):
    if separator == " ":
        return [line.split() for line in text.splitlines()]
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    try:
        return list(reader)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _too_wide_cell(path, f", line {reader.line_num}") from None
        raise DataError(f"{path}, line {reader.line_num}: {exc}") from None


def _detect_separator(lines, path=""):
    for separator in SEPARATORS:
        rows = _split("\n".join(lines), separator, path)
        widths = {len(row) for row in rows if row}
        if len(widths) == 1 and widths.pop() > 1:
            return separator
    return ","


def _head(path, n_lines=50):
    """The first ``n_lines`` non-blank lines (for detecting the separator and header)."""
    lines, longest = [], 64 << 20  # characters: a header of a million columns fits
    try:
        with _open_text(path) as handle:
            number = 0
            while line := handle.readline(longest + 1):
                number += 1
                if len(line) > longest:
                    raise DataError(f"{path}, line {number}: longer than {longest} characters "
                                    f"before its end; not a table glassnet reads")
                if line.strip():
                    lines.append(line.rstrip("\r\n"))
                    if len(lines) == n_lines:
                        break
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except COMPRESSION_ERRORS as exc:
        raise DataError(f"{path} cannot be read as a compressed file: {exc}") from None
    return lines


def _records(path, separator):
    """``(first line, number of fields)`` of every non-blank record, at Python speed:
    used to say where a row is, only when a message needs it."""
    found = []
    with _open_text(path) as handle:
        if separator == " ":
            for number, line in enumerate(handle, start=1):
                fields = line.split()
                if fields:
                    found.append((number, len(fields)))
            return found
        reader = csv.reader(handle, delimiter=separator)
        end = 0
        try:
            for row in reader:
                start, end = end + 1, reader.line_num
                if row and not (len(row) == 1 and not row[0].strip()):
                    found.append((start, len(row)))
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise _too_wide_cell(path, f", line {reader.line_num}") from None
            raise DataError(f"{path}, line {reader.line_num}: {exc}") from None
    return found


class _Lines:
    """Maps a data row to its line, scanning the file the first time it is asked."""

    def __init__(self, path, separator, header):
        self.path, self.separator, self.header = path, separator, header
        self.lines = None

    def __call__(self, table, position):
        if self.lines is None:
            records = _records(self.path, self.separator)
            self.lines = [line for line, _ in records[1 if self.header else 0:]]
        return f"line {self.lines[position]}"


def _check_widths(path, separator, header, width):
    """Raise for the first record whose number of fields differs from the first's."""
    for line, n in _records(path, separator)[1:]:
        if n != width:
            raise DataError(f"{path}, line {line}: expected {width} fields (like the "
                            f"{'header' if header else 'first row'}), got {n}")


# -- reading ------------------------------------------------------------------------
def read_table(path, sep=None, header="auto"):
    """Read a table file into named columns.

    Parameters
    ----------
    path : str or path-like
        A delimited text file (``.csv``, ``.tsv``, ``.txt``, …), optionally
        compressed (``.gz``, ``.bz2``, ``.xz``, or a ``.zip`` holding one file),
        or a Parquet file (``.parquet``; needs pandas and pyarrow).
    sep : str, optional
        ``','``, ``';'``, ``'\\t'`` or ``' '`` (any run of blanks). Detected
        when omitted: the first that splits each of the first 50 lines into the
        same number (> 1) of fields.
    header : 'auto', True or False
        ``'auto'``: the first row is a header when none of its cells is a number.
        Without a header the columns are named ``x0, x1, …``.
    """
    path = os.fspath(path)
    problem = regular_file_problem(path, "CSV")
    if problem:
        raise DataError(problem)
    if path.lower().endswith(PARQUET):
        return _read_parquet(path)
    head = _head(path)
    if not head:
        raise DataError(f"{path} is empty")
    separator = sep or _detect_separator(head, path)
    if separator not in SEPARATORS:
        raise DataError(f"separator must be one of {SEPARATORS!r}, got {separator!r}")
    first = [c.strip() for c in _split(head[0], separator, path)[0]]
    if header == "auto":
        header = all(_to_float(c) is None for c in first)
    header = bool(header)
    cells = table_budget()[1]
    if len(first) > cells:
        raise DataError(f"{path} has {len(first)} columns; glassnet reads tables up to "
                        f"{cells} cells (set GLASSNET_MAX_TABLE_CELLS to allow more)")
    if header:
        names = [name or f"x{j}" for j, name in enumerate(first)]
        seen, repeated = set(), set()  # one pass: a header may have a million names
        for name in names:
            (repeated if name in seen else seen).add(name)
        duplicates = sorted(repeated)
        if duplicates:
            raise DataError(f"{path}: duplicate column names in the header: "
                            f"{', '.join(map(repr, duplicates))}")
    else:
        names = [f"x{j}" for j in range(len(first))]
    try:
        import pandas  # noqa: F401
    except ImportError:
        columns = _read_python(path, separator, header, len(names))
    else:
        columns = _read_pandas(path, separator, header, len(names))
    if not len(columns[0]):
        raise DataError(f"{path} has a header but no data rows")
    _check_cells(path, names, columns, cells)
    return Table(path, names, columns, separator, header, locate=_Lines(path, separator, header))


def _check_cells(path, names, columns, cells):
    """The cell budget (the readers stop one row past it) and the longest cell."""
    rows = len(columns[0])
    if rows * len(names) > cells:
        raise DataError(f"{path} has more than {cells // len(names)} rows of {len(names)} "
                        f"columns; glassnet reads tables up to {cells} cells (set "
                        f"GLASSNET_MAX_TABLE_CELLS to allow more)")
    for name, column in zip(names, columns):
        if column.dtype == object and rows:
            lengths = np.fromiter((0 if c is None else len(c) for c in column), np.int64, rows)
            if lengths.max() > MAX_CELL_CHARS:
                i = int(np.argmax(lengths > MAX_CELL_CHARS))
                raise _too_wide_cell(path, f", column {name!r}, data row {i + 1}")


def _max_rows(width):
    """Rows to read: one past the cell budget, so that a longer table is seen and refused."""
    return table_budget()[1] // max(width, 1) + 1


def _to_float(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def _read_pandas(path, separator, header, width):
    import pandas as pd

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _open_binary(path) as handle:  # decompressed within the byte budget
                frame = pd.read_csv(
                    handle, sep=r"\s+" if separator == " " else separator,
                    header=0 if header else None, index_col=False,
                    na_values=NA_STRINGS, keep_default_na=False, skip_blank_lines=True,
                    encoding="utf-8-sig", nrows=_max_rows(width))
        except pd.errors.ParserError:
            _check_widths(path, separator, header, width)
            raise
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path} is empty") from None
    if frame.shape[1] != width or any(issubclass(w.category, pd.errors.ParserWarning)
                                      for w in caught):
        _check_widths(path, separator, header, width)
    if all(dtype.kind in "fiu" for dtype in frame.dtypes):
        # every column numeric: one conversion, not one per column (a table may be
        # 100,000 columns wide); each column a contiguous view of the Fortran array
        values = np.asfortranarray(frame.to_numpy(dtype=np.float64, na_value=np.nan))
        columns = [values[:, j] for j in range(values.shape[1])]
    else:
        columns = [_from_series(frame.iloc[:, j]) for j in range(frame.shape[1])]
    del frame
    # A record with too few fields reads as missing cells at its end: look closer
    # (at Python speed) only when the last column has missing cells.
    if len(columns[-1]) and _parse(columns[-1]).missing.any():
        _check_widths(path, separator, header, width)
    return columns


def _from_series(series):
    """A pandas column as a float64 array or an object array of stripped text (None missing)."""
    import pandas as pd

    if series.dtype.kind in "fiu":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = series.to_numpy(dtype=object, na_value=None)
    present = ~pd.isna(values)
    text = np.full(len(values), None, dtype=object)
    text[present] = pd.Series(values[present], dtype=object).astype(str).str.strip().to_numpy(
        dtype=object)
    return text


def _read_python(path, separator, header, width):
    """The NumPy-only reader: Python's csv module, one pass."""
    limit = _max_rows(width) + 1  # and the header
    try:
        with _open_text(path) as handle:
            if separator == " ":
                physical = [line.split() for line, _ in zip(handle, range(limit))]
            else:
                reader = csv.reader(handle, delimiter=separator)
                physical = [row for row, _ in zip(reader, range(limit))]
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _too_wide_cell(path, f", line {reader.line_num}") from None
        raise DataError(f"{path}, line {reader.line_num}: {exc}") from None
    rows = [[c.strip() for c in row] for row in physical]
    rows = [row for row in rows if any(c for c in row) or len(row) > 1]
    rows = rows[1:] if header else rows
    if any(len(row) != width for row in rows):
        _check_widths(path, separator, header, width)
    columns = []
    for j in range(width):
        cells = [row[j] for row in rows]
        try:
            columns.append(np.array([float(c) for c in cells], dtype=np.float64))
        except ValueError:
            columns.append(np.array([None if c.lower() in MISSING_TOKENS else c for c in cells],
                                    dtype=object))
    return columns


def _read_parquet(path):
    try:
        import pandas as pd
    except ImportError:
        raise DataError(f"reading Parquet ({path}) needs pandas and pyarrow: "
                        f"pip install 'glassnet[cli]'") from None
    try:
        import pyarrow.parquet as pq

        shape = pq.ParquetFile(path).metadata
        cells = table_budget()[1]
        if shape.num_rows * shape.num_columns > cells:
            raise DataError(f"{path} has {shape.num_rows} rows of {shape.num_columns} columns; "
                            f"glassnet reads tables up to {cells} cells (set "
                            f"GLASSNET_MAX_TABLE_CELLS to allow more)")
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"reading Parquet ({path}) needs pyarrow: pip install "
                        f"'glassnet[cli]' ({exc})") from None
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid / ArrowIOError
        raise DataError(f"{path} cannot be read as Parquet: {exc}") from None
    if frame.shape[0] == 0:
        raise DataError(f"{path} has no rows")
    names = [str(n) for n in frame.columns]
    return Table(path, names, [_from_series(frame[c]) for c in frame.columns], None, True)


# -- schema and encoding --------------------------------------------------------------
def _column_kind(table, name):
    """'numeric' or 'categorical', raising on a column that mixes the two."""
    parsed = table.parsed(name)
    if not parsed.text:
        return "numeric"
    text = parsed.text_mask()
    if not parsed.numeric.any():
        return "categorical"
    i = int(np.argmax(text))
    raise DataError(f"{table.path}: non-numeric value {table.cell(name, i)!r} in numeric "
                    f"column {name!r} at {table.where(i)}")


def infer_schema(table, features, one_hot=False, missing="error"):
    """Decide how each feature column becomes numbers.

    Returns a list of plain dicts, one per column: ``{"name", "kind": "numeric",
    "fill"}`` or ``{"name", "kind": "categorical", "categories", "fill"}``; the
    fill value (median, or most frequent value) is used when ``missing='median'``.
    A numeric column's median is computed only then: under ``'error'`` and
    ``'drop'`` new files are encoded with ``missing='error'`` and nothing is
    filled, so its fill is 0.0.
    """
    schema = []
    for name in features:
        kind = _column_kind(table, name)
        parsed = table.parsed(name)
        if kind == "numeric":
            fill = 0.0  # the format's value for "nothing to fill"
            if missing == "median":
                finite = parsed.values[np.isfinite(parsed.values)]
                fill = float(np.median(finite, overwrite_input=True)) if finite.size else 0.0
            schema.append({"name": name, "kind": "numeric", "fill": fill})
        else:
            cells = table.column(name)[~parsed.missing].astype(str)
            if not one_hot:
                raise DataError(
                    f"{table.path}: column {name!r} holds text (e.g. {cells[0]!r}), not "
                    f"numbers; ask for one-hot encoding (one_hot=True, --one-hot) to turn it "
                    f"into indicator columns, or drop it")
            categories, counts = np.unique(cells, return_counts=True)
            schema.append({"name": name, "kind": "categorical",
                           "categories": categories.tolist(),
                           "fill": str(categories[np.argmax(counts)])})
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
    first = None
    for name in names:
        flags = table.parsed(name).missing
        if flags.any():
            counts[name] = int(flags.sum())
            i = int(np.argmax(flags))
            first = i if first is None else min(first, i)
    if counts and missing == "error":
        listing = ", ".join(f"{name!r}: {n}" for name, n in counts.items())
        raise DataError(
            f"{table.path}: missing values (count per column: {listing}; first at "
            f"{table.where(first)}); choose missing='drop' to drop those rows or "
            f"missing='median' to fill them (--missing drop|median)")
    return counts


def encode(table, schema, missing="error", rows=None):
    """Turn a table's feature columns into a float64 matrix following ``schema``.

    ``missing='median'`` fills gaps with each column's fill value; otherwise
    missing cells must already be gone (see :func:`check_missing`). A value
    of a categorical column not seen in training encodes as all zeros.
    ``rows`` selects rows (a boolean mask or indices).
    """
    if rows is not None:
        table = table.take(rows)
    present = set(table.names)
    for column in schema:
        if column["name"] not in present:
            raise DataError(f"{table.path}: feature column {column['name']!r} is missing")
    parts = []  # (numeric values) or (category codes, -1 for unseen, and their number)
    for column in schema:
        name = column["name"]
        parsed = table.parsed(name)
        gaps = parsed.missing.any()
        if gaps and missing != "median":
            raise DataError(f"{table.path}: missing value in column {name!r} at "
                            f"{table.where(int(np.argmax(parsed.missing)))}")
        if column["kind"] == "numeric":
            if parsed.text:
                k = int(np.argmax(parsed.text_mask()))
                raise DataError(f"{table.path}: non-numeric value {table.cell(name, k)!r} in "
                                f"numeric column {name!r} at {table.where(k)}")
            infinite = np.isinf(parsed.values)
            if infinite.any():
                k = int(np.argmax(infinite))
                raise DataError(f"{table.path}: infinite value {table.cell(name, k)!r} in "
                                f"column {name!r} at {table.where(k)}")
            values = np.where(parsed.missing, column["fill"], parsed.values) if gaps \
                else parsed.values
            parts.append((values, None))
        else:
            categories = np.asarray(column["categories"], dtype=str)
            cells = table.column(name)
            if gaps:
                cells = np.where(parsed.missing, column["fill"], cells)
            cells = cells.astype(str)
            codes = np.searchsorted(categories, cells)
            known = codes < len(categories)
            known[known] = categories[codes[known]] == cells[known]
            parts.append((np.where(known, codes, -1), len(categories)))
    width = sum(1 if m is None else m for _, m in parts)
    X = np.empty((table.n_rows, width))
    # Filled a few thousand rows at a time: writing whole columns of a row-major
    # matrix touches a new cache line per value and is several times slower.
    for start in range(0, table.n_rows, 4096):
        rows = slice(start, start + 4096)
        j = 0
        for values, n_categories in parts:
            if n_categories is None:
                X[rows, j] = values[rows]
                j += 1
                continue
            # one indicator per category; a value unseen in training is all zeros
            block = X[rows, j:j + n_categories]
            block[...] = 0.0
            codes = values[rows]
            hit = np.flatnonzero(codes >= 0)
            block[hit, codes[hit]] = 1.0
            j += n_categories
    return X


def resolve_target(table, target):
    """The target column's name from a name, an index, or ``None`` (the last column)."""
    if target is None:
        return table.names[-1]
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
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
    if parsed.numeric.all():
        target = parsed.values
        bad = ~np.isfinite(target)
        if bad.any():
            k = int(index[np.argmax(bad)])
            raise DataError(f"{table.path}: non-finite target value {table.cell(name, k)!r} in "
                            f"column {name!r} at {table.where(k)}")
        # Above 2**53 float64 skips integers (2**63 + 1 reads as 2**63) and int64 would
        # wrap 2**63 round to -2**63: such whole numbers stay float64 values (a
        # regression target); as class labels tables.prepare() refuses them.
        if np.all(target == np.round(target)) and np.abs(target).max() < 2.0**53:
            return target.astype(np.int64)
        return target
    return table.column(name)[index].astype(str)


def encode_table(table, target=None, features=None, one_hot=False, missing="error"):
    """A table's features as a float matrix and its target as a vector, with the
    missing-value policy applied (see :func:`load_csv` for the parameters).

    Returns ``(X, y, target_name, schema, missing_counts, dropped_rows)``.
    """
    target_name = resolve_target(table, target)
    if features is None:
        features = [n for n in table.names if n != target_name]
    else:
        present = set(table.names)
        unknown = [f for f in features if f not in present]
        if unknown:
            raise DataError(f"{table.path}: no column(s) {', '.join(map(repr, unknown))}; the "
                            f"columns are: {', '.join(table.names)}")
    if not features:
        raise DataError(f"{table.path}: no feature columns besides the target {target_name!r}")
    counts = check_missing(table, features + [target_name], missing)
    keep = ~missing_mask(table, features + [target_name] if missing == "drop" else [target_name])
    if not keep.any():
        raise DataError(f"{table.path}: no rows left after dropping those with missing values")
    kept = table.take(keep)
    schema = infer_schema(kept, features, one_hot=one_hot, missing=missing)
    X = encode(kept, schema, missing=missing)
    y = parse_target(kept, target_name, slice(None))
    return X, y, target_name, schema, counts, int((~keep).sum())


def load_csv(path, target=None, sep=None, header="auto", one_hot=False, missing="error",
             features=None, return_X_y=False):
    """Load a CSV (or compressed CSV, or Parquet) for training: features as a float
    matrix, the target as a vector.

    Parameters
    ----------
    path : str or path-like
        See :func:`read_table` for the formats.
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
    if missing not in ("error", "drop", "median"):
        raise ValueError(f"missing must be 'error', 'drop' or 'median', got {missing!r}")
    table = read_table(path, sep=sep, header=header)
    data, y, target_name, schema, _, _ = encode_table(table, target, features, one_hot, missing)
    if not (y != y[0]).any():
        raise DataError(f"{table.path}: the target column {target_name!r} has a single value "
                        f"({y[0].item()!r}); a model needs at least two classes or distinct values")
    if return_X_y:
        return data, y
    return Bunch(data=data, target=y, feature_names=feature_names(schema),
                 target_name=target_name, schema=schema, columns=list(table.names),
                 DESCR=f"CSV file {table.path}", filename=table.path)
