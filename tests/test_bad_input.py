"""Bounded work and clear errors on hostile tables and model files (docs/bad-input.md):
linear header and metadata checks, a byte and cell budget, regular files only, long
cells, huge networks, overflowing weights, huge whole numbers, non-finite options,
damaged arrays and class names that carry escapes or spreadsheet formulas."""

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")
pytest.importorskip("matplotlib")

from _tables import write_csv

from glassnet.cli import main
from glassnet.datasets import DataError, read_table
from glassnet.io import ModelFileError, load_model
from glassnet.tables import prepare

QUICK = ["--epochs", "5", "--quiet", "--plots", "none"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def one_error(capsys, *args):
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# -- linear checks -----------------------------------------------------------------------
def test_duplicate_column_check_is_linear(tmp_path):
    # 200,000 names: the old check (names.count per name) made 2e10 comparisons
    names = [f"c{j}" for j in range(200_000)] + ["c7"]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" * len(names)) + "\n")
    started = time.perf_counter()
    with pytest.raises(DataError, match="duplicate column names in the header: 'c7'"):
        read_table(path)
    assert time.perf_counter() - started < 30  # seconds on a loaded 2-core machine


def test_wide_table_reads_and_encodes_in_linear_time(tmp_path):
    # 20,000 columns took 8.6 s in the header check alone, and the encoder looked each
    # column up in a list; both are dictionary look-ups now.
    n = 20_000
    path = tmp_path / "wide.csv"
    rows = [[*(str((i + j) % 7) for j in range(n)), str(i % 2)] for i in range(12)]
    write_csv(path, [*(f"c{j}" for j in range(n)), "y"], rows)
    started = time.perf_counter()
    prepared = prepare(str(path))
    assert prepared.X.shape == (12, n) and prepared.X[3, 5] == (3 + 5) % 7
    assert time.perf_counter() - started < 60


def model_zip(source, path, meta=None, arrays=None, raw_members=None):
    """A copy of the model file ``source`` with its metadata or arrays replaced."""
    with zipfile.ZipFile(source) as zf:
        old_meta = json.loads(zf.read("metadata.json"))
        weights = zf.read("weights.npz")
    if arrays is not None or raw_members is not None:
        with zipfile.ZipFile(io.BytesIO(weights)) as zf:
            members = {name: zf.read(name) for name in zf.namelist()}
        for name, array in (arrays or {}).items():
            buffer = io.BytesIO()
            np.save(buffer, array)
            members[f"{name}.npy"] = buffer.getvalue()
        members.update(raw_members or {})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        weights = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta if meta is not None else old_meta))
        zf.writestr("weights.npz", weights)
    return path


@pytest.fixture(scope="module")
def relu_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("relu")
    assert main(["train", "xor", "--hidden", "4", "--activation", "relu", "--out", str(out),
                 *QUICK]) == 0
    return out / "model.glassnet"


def test_metadata_with_200000_keys_is_checked_in_linear_time(tmp_path, relu_model):
    with zipfile.ZipFile(relu_model) as zf:
        meta = json.loads(zf.read("metadata.json"))
    meta["params"].update({f"k{i}": i for i in range(200_000)})
    text = json.dumps(meta)
    last = '"k199999": 199999'
    text = text.replace(last, last + ', "k5": 5')  # one key twice, found in one pass
    path = tmp_path / "keys.glassnet"
    with zipfile.ZipFile(relu_model) as zf, zipfile.ZipFile(path, "w") as out:
        out.writestr("metadata.json", text)
        out.writestr("weights.npz", zf.read("weights.npz"))
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match="k5: expected each key once"):
        load_model(path)
    assert time.perf_counter() - started < 30


# -- the table budget --------------------------------------------------------------------
def test_compressed_table_past_the_byte_budget_is_refused_with_sizes(tmp_path, monkeypatch,
                                                                       capsys):
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"a,b,y\n" + b"1,2,0\n3,4,1\n" * 500_000)  # 6 MB of text
    monkeypatch.setenv("GLASSNET_MAX_TABLE_BYTES", "1000000")
    line = one_error(capsys, "train", path, *QUICK)
    assert "more than 1000000 bytes of text once decompressed" in line
    assert f"({path.stat().st_size} bytes on disk)" in line
    assert "GLASSNET_MAX_TABLE_BYTES" in line


def test_plain_table_past_the_byte_budget_is_refused_before_reading(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "t.csv", ["a", "y"], [[i, i % 2] for i in range(1000)])
    monkeypatch.setenv("GLASSNET_MAX_TABLE_BYTES", "100")
    with pytest.raises(DataError, match=f"holds {path.stat().st_size} bytes; glassnet reads "
                                        f"tables up to 100 bytes"):
        read_table(path)


@pytest.mark.parametrize("pandas", [True, False])
def test_table_past_the_cell_budget_is_refused(tmp_path, monkeypatch, pandas):
    if not pandas:
        monkeypatch.setitem(sys.modules, "pandas", None)  # the NumPy-only reader
    path = write_csv(tmp_path / "t.csv", ["a", "b", "y"], [[i, i, i % 2] for i in range(50)])
    monkeypatch.setenv("GLASSNET_MAX_TABLE_CELLS", "120")
    with pytest.raises(DataError, match="more than 40 rows of 3 columns; glassnet reads "
                                        "tables up to 120 cells"):
        read_table(path)
    monkeypatch.setenv("GLASSNET_MAX_TABLE_CELLS", "153")  # 51 rows x 3 with the header
    assert read_table(path).n_rows == 50


# -- regular files only ------------------------------------------------------------------
def run_cli(*args, shell=None, timeout=60):
    command = shell or [sys.executable, "-m", "glassnet", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=ENV,
                          shell=shell is not None, executable="/bin/bash" if shell else None,
                          check=False)


def test_fifo_as_data_or_model_is_refused_without_blocking(tmp_path, relu_model):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for args, what in [(["train", fifo], "CSV"), (["predict", fifo, "xor"], "model")]:
        proc = run_cli(*args)  # before: blocked forever in open()
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert f"error: {fifo} is a FIFO (named pipe), not a regular file; glassnet reads " \
               f"{what} files only from regular files" in proc.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_are_refused_as_data_and_model():
    with pytest.raises(DataError, match="/dev/zero is a character device, not a regular file"):
        read_table("/dev/zero")
    with pytest.raises(ModelFileError, match="/dev/zero is a character device"):
        load_model("/dev/zero")


@pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="needs bash")
def test_process_substitution_is_refused_with_a_way_out(tmp_path):
    data = write_csv(tmp_path / "t.csv", ["a", "y"], [[i, i % 2] for i in range(20)])
    proc = run_cli(shell=f"{sys.executable} -m glassnet train <(cat {data}) --quiet")
    assert proc.returncode == 1 and "IndexError" not in proc.stderr, proc.stderr
    assert "is a FIFO (named pipe), not a regular file" in proc.stderr
    assert "save it to a file first" in proc.stderr


# -- long cells --------------------------------------------------------------------------
@pytest.mark.parametrize("row", [0, 30])
@pytest.mark.parametrize("pandas", [True, False])
def test_cell_over_128_kib_is_a_clear_error(tmp_path, capsys, monkeypatch, row, pandas):
    if not pandas:
        monkeypatch.setitem(sys.modules, "pandas", None)
    rows = [[i, "x" if i != row else "x" * (200 * 1024), i % 2] for i in range(40)]
    path = write_csv(tmp_path / "t.csv", ["a", "b", "y"], rows)
    line = one_error(capsys, "train", path, "--one-hot", *QUICK)
    assert "a cell longer than 131072 characters (128 KiB)" in line and "_csv" not in line
    assert f"line {row + 2}" in line or f"data row {row + 1}" in line


# -- sizes and numbers -------------------------------------------------------------------
def test_huge_hidden_layer_is_a_clear_error(capsys):
    line = one_error(capsys, "train", "xor", "--hidden", "10000000000", *QUICK)
    assert "50,000,000,001 parameters" in line and "up to 268,435,456" in line
    assert "--hidden" in one_error(capsys, "train", "xor", "--hidden", "1e10", *QUICK)


@pytest.mark.parametrize("flag", ["--alpha", "--lr", "--l1"])
def test_infinite_option_blames_itself(capsys, flag):
    line = one_error(capsys, "train", "xor", flag, "inf", *QUICK)
    assert f"'{flag}'" in line and "finite" in line


def test_whole_numbers_past_2_53_never_wrap(tmp_path, capsys):
    big = 2**63
    path = write_csv(tmp_path / "t.csv", ["a", "y"],
                      [[i, big + (i % 2) * 4096] for i in range(40)])
    prepared = prepare(str(path))  # auto: whole numbers too large for labels -> regression
    assert prepared.task == "regression" and prepared.y.min() == float(big)
    line = one_error(capsys, "train", path, "--task", "classification", *QUICK)
    assert "too large to hold exactly" in line and "2**53" in line
    assert "-9223372036854775808" not in line
    exact = write_csv(tmp_path / "e.csv", ["a", "y"], [[i, 2**53 - 1 - i % 2] for i in range(40)])
    assert prepare(str(exact)).classes == [2**53 - 2, 2**53 - 1]  # still exact integers


# -- overflowing weights -----------------------------------------------------------------
def test_weights_that_overflow_on_probe_rows_are_refused_at_load(tmp_path, relu_model):
    # xor's three features (x1, x2, bias) all at +1 give 3e308: infinite, and relu
    # keeps it; the output unit then adds +inf and -inf (at -1 relu gives 0: finite)
    W2 = np.array([[2.0], [-2.0], [2.0], [-2.0]])
    bad = model_zip(relu_model, tmp_path / "bad.glassnet",
                    arrays={"W1": np.full((3, 4), 1e308), "W2": W2})
    with pytest.raises(ModelFileError, match="weights.npz: expected weights that give finite outputs, found NaN or infinity on 1 of 3 probe rows"):
        load_model(bad)


def test_predict_refuses_non_finite_outputs_naming_the_model(tmp_path, capsys, relu_model):
    # finite on the probe rows (x1 and x2 cancel at 0, +1 and -1; the bias column is
    # constant, scaled by 1), infinite minus infinite on the row x1 = 1.5, x2 = 0
    W1 = np.array([[1e308] * 4, [-1e308] * 4, [0.0] * 4])
    W2 = np.array([[2.0], [-2.0], [2.0], [-2.0]])
    path = model_zip(relu_model, tmp_path / "edge.glassnet",
                     arrays={"W1": W1, "b1": np.zeros(4), "W2": W2})
    load_model(path)  # passes the probe
    data = write_csv(tmp_path / "rows.csv", ["x1", "x2", "bias", "y"],
                      [[0, 0, 1, 0], [1.5, 0, 1, 1], [0, 1, 1, 1]])
    out = tmp_path / "p.csv"
    line = one_error(capsys, "predict", path, data, "--out", out)
    assert f"model {path} gives non-finite outputs" in line and "the first at row 2" in line
    assert not out.exists()


def test_bad_npy_member_names_the_member_and_the_file(tmp_path, relu_model):
    with zipfile.ZipFile(relu_model) as zf, zipfile.ZipFile(io.BytesIO(
            zf.read("weights.npz"))) as weights:
        good = weights.read("W1.npy")
    size = int.from_bytes(good[8:10], "little")
    for header in (b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), ",  # unclosed
                   b"{'descr': '<f8', 'fortran_order': False, 'shape': (-2, 4), }"):
        raw = good[:10] + header.ljust(size - 1) + b"\n" + good[10 + size:]
        path = model_zip(relu_model, tmp_path / "npy.glassnet", raw_members={"W1.npy": raw})
        with pytest.raises(ModelFileError) as info:
            load_model(path)
        assert str(info.value).startswith(f"{path} is damaged: weights.npz:W1: expected ")
        assert info.value.field == "weights.npz:W1"


# -- names from files, shown and never obeyed --------------------------------------------
HOSTILE = ["\x1b[2J\x1b[31mred", "=cmd|' /C calc'!A0", "@SUM(A1)", "+1+1"]


@pytest.fixture(scope="module")
def hostile_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    data = write_csv(root / "t.csv", ["a", "b", "y"],
                      [[i % 5, (i * 3) % 7, HOSTILE[i % 4]] for i in range(80)])
    assert main(["train", str(data), "--out", str(root / "run"), *QUICK]) == 0
    return root / "run" / "model.glassnet", data


def test_class_names_are_neutralised_in_prediction_csvs(tmp_path, capsys, hostile_model):
    model, data = hostile_model
    capsys.readouterr()
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), str(data), "--out", str(out)]) == 0
    text = out.read_text()
    assert "\x1b" not in text and "\\x1b[2J\\x1b[31mred" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "@", "-"))]
    shown = {"\\x1b[2J\\x1b[31mred", "'=cmd|' /C calc'!A0", "'@SUM(A1)", "'+1+1"}
    assert rows[0][2:] == ["probability_" + name.replace("\x1b", "\\x1b")
                           for name in sorted(HOSTILE)]  # the model's order, escaped
    assert {row[1] for row in rows[1:]} <= shown  # every predicted label, neutralised
    assert main(["predict", str(model), str(data)]) == 0  # to the terminal
    assert "\x1b" not in capsys.readouterr().out


def test_class_names_are_neutralised_when_printed(tmp_path, capsys, hostile_model):
    model, data = hostile_model
    capsys.readouterr()
    assert main(["evaluate", str(model), str(data)]) == 0
    assert "\x1b" not in capsys.readouterr().out
    unseen = write_csv(tmp_path / "u.csv", ["a", "b", "y"], [[1, 2, "other"], [2, 3, "x"]])
    line = one_error(capsys, "evaluate", model, unseen)  # lists the classes it knows
    assert "\x1b" not in line and "\\x1b[2J" in line


def test_numbers_as_text_are_not_taken_for_formulas():
    from glassnet.cli.text import csv_cell, printable

    assert [csv_cell(name) for name in HOSTILE] == [
        "\\x1b[2J\\x1b[31mred", "'=cmd|' /C calc'!A0", "'@SUM(A1)", "'+1+1"]
    assert csv_cell("-1") == "-1" and csv_cell("+2.5") == "+2.5" and csv_cell(-3) == -3
    assert csv_cell("-x") == "'-x" and csv_cell("\tx") == "\\tx" and csv_cell("\rx") == "\\rx"
    assert printable("a\u202eb") == "a\\u202eb" and printable("plain é") == "plain é"
