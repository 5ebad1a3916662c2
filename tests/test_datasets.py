import gzip
import hashlib
import sys
import zipfile
from importlib import resources

import numpy as np
import pytest

from glassnet import datasets
from glassnet.datasets import (
    DataError,
    load_csv,
    load_heart,
    load_wisconsin,
    load_xor,
    make_circles,
    make_gaussian_xor,
    make_moons,
    make_spirals,
)

SHARED = {
    "breast-cancer-wisconsin.data":
        "402c585309c399237740f635ef9919dc512cca12cbeb20de5e563a4593f22b64",
    "heart.dat": "f5f3b4204c285bafadd85cb735f38b47689f2be7047feb172dcbeab648110bf9",
}


@pytest.mark.parametrize("name,digest", SHARED.items())
def test_bundled_files_have_published_checksums(name, digest):
    data = (resources.files("glassnet.datasets") / "data" / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest


def test_damaged_file_gives_clear_error(monkeypatch):
    monkeypatch.setitem(datasets.SHA256, "heart.dat", "0" * 64)
    with pytest.raises(DataError, match="heart.dat is damaged.*reinstall"):
        load_heart()


def test_wisconsin():
    bunch = load_wisconsin()
    assert bunch.data.shape == (683, 9)
    assert np.bincount(bunch.target).tolist() == [444, 239]
    assert bunch.data.min() == 1 and bunch.data.max() == 10
    assert list(bunch.target_names) == ["benign", "malignant"]
    assert "CC BY 4.0" in bunch.DESCR and "Wolberg" in bunch.DESCR
    assert bunch.frame.shape == (683, 10)
    full = load_wisconsin(missing="median")
    assert full.data.shape == (699, 9) and np.bincount(full.target).tolist() == [458, 241]
    assert not np.isnan(full.data).any()
    X, y = load_wisconsin(return_X_y=True)
    assert X.shape == (683, 9) and y.shape == (683,)


def test_heart_and_one_hot():
    bunch = load_heart()
    assert bunch.data.shape == (270, 13)
    assert np.bincount(bunch.target).tolist() == [150, 120]
    hot = load_heart(one_hot=True)
    assert hot.data.shape == (270, 13 - 4 + 4 + 3 + 3 + 3)
    thal = [i for i, n in enumerate(hot.feature_names) if n.startswith("thal=")]
    assert [hot.feature_names[i] for i in thal] == ["thal=3", "thal=6", "thal=7"]
    np.testing.assert_array_equal(hot.data[:, thal].sum(axis=1), 1)
    assert "age" in hot.feature_names and "chest_pain_type" not in hot.feature_names


def test_xor():
    X, y = load_xor(return_X_y=True)
    assert X.tolist() == [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert y.tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals, make_gaussian_xor])
def test_generators_are_seeded_and_balanced(make):
    X, y = make(n_samples=101, seed=3)
    X2, y2 = make(n_samples=101, seed=3)
    X3, _ = make(n_samples=101, seed=4)
    assert X.shape == (101, 2) and np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, X3)
    assert abs(int(y.sum()) - 50) <= 1


def test_gaussian_xor_labels_follow_quadrants():
    X, y = make_gaussian_xor(n_samples=400, noise=0.1, seed=0)
    assert ((np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int) == y).mean() > 0.98


@pytest.fixture(params=["pandas", "python"])
def reader(request, monkeypatch):
    """Each CSV test runs with pandas' reader and with the NumPy-only fallback."""
    if request.param == "python":
        monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    else:
        pytest.importorskip("pandas")
    return request.param


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("sep", [",", ";", "\t", " "])
def test_csv_separators_and_header(reader, tmp_path, sep):
    path = write(tmp_path, sep.join(["a", "b", "label"]) + "\n" +
                 "\n".join(sep.join(r) for r in [["1", "2.5", "0"], ["3", "4", "1"]]) + "\n")
    bunch = load_csv(path, target="label")
    assert bunch.feature_names == ["a", "b"]
    np.testing.assert_array_equal(bunch.data, [[1, 2.5], [3, 4]])
    assert bunch.target.tolist() == [0, 1]


def test_csv_without_header_uses_last_column(reader, tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n5,6,1\n")
    X, y = load_csv(path, return_X_y=True)
    assert X.shape == (3, 2) and y.tolist() == [0, 1, 1]


def test_csv_one_hot_and_string_target(reader, tmp_path):
    path = write(tmp_path, "size,colour,kind\n1,red,cat\n2,blue,dog\n3,red,dog\n")
    with pytest.raises(DataError, match="column 'colour' holds text.*one-hot"):
        load_csv(path, target="kind")
    bunch = load_csv(path, target="kind", one_hot=True)
    assert bunch.feature_names == ["size", "colour=blue", "colour=red"]
    np.testing.assert_array_equal(bunch.data, [[1, 0, 1], [2, 1, 0], [3, 0, 1]])
    assert bunch.target.tolist() == ["cat", "dog", "dog"]


@pytest.mark.parametrize("text,kwargs,match", [
    ("", {}, "is empty"),
    ("a,b,y\n", {}, "header but no data rows"),
    ("a,b,y\n1,2,0\n3,4,1\n", {"target": "z"}, "no target column 'z'.*a, b, y"),
    ("a,b,y\n1,2,0\n3,x,1\n5,6,1\n", {}, "non-numeric value 'x' in numeric column 'b' at line 3"),
    ("a,b,y\n1,,0\n3,?,1\nNA,6,1\n", {}, r"missing values \(count per column: 'a': 1, 'b': 2"),
    ("a,b,y\n1,inf,0\n3,4,1\n", {}, "infinite value 'inf' in column 'b' at line 2"),
    ("a,b,y\n1,2,1\n3,4,1\n", {}, "single value"),
    ("a,b,y\n1,2,0\n3,4\n", {}, "line 3: expected 3 fields"),
    ("a,b,y\n1,2,0,9\n3,4,1,9\n", {}, "line 2: expected 3 fields .*got 4"),
    ("a,b,y\n1,2,0\n\n\n3,x,1\n5,6,1\n", {}, "'x' in numeric column 'b' at line 5"),
    ('a,b,y\n1,"two\nlines",0\n3,4,1,1\n', {}, "line 4: expected 3 fields"),
    ("a,a,y\n1,2,0\n", {}, "duplicate column names"),
])
def test_csv_errors(reader, tmp_path, text, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_csv(write(tmp_path, text), **kwargs)


def test_csv_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_csv(tmp_path / "nope.csv")


def test_csv_missing_drop_and_median(reader, tmp_path):
    path = write(tmp_path, "a,b,y\n1,10,0\n?,20,1\n3,,1\n5,40,1\n")
    dropped = load_csv(path, missing="drop")
    np.testing.assert_array_equal(dropped.data, [[1, 10], [5, 40]])
    filled = load_csv(path, missing="median")
    np.testing.assert_array_equal(filled.data, [[1, 10], [3, 20], [3, 20], [5, 40]])
    assert filled.schema[0]["fill"] == 3.0


def test_csv_case_and_padding_of_missing_tokens(reader, tmp_path):
    path = write(tmp_path, "a,b,y\n1, 10 ,0\n nUlL ,20,1\n3,N/A,1\n4,40,1\n")
    bunch = load_csv(path, missing="drop")
    np.testing.assert_array_equal(bunch.data, [[1, 10], [4, 40]])


def test_csv_not_utf8_names_byte_and_line(reader, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b,y\n1,2,0\n3,caf\u00e9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="not a UTF-8 text file .*at byte 17, line 3"):
        load_csv(path)


def test_compressed_csv_reads_like_the_plain_file(reader, tmp_path):
    text = "a;b;label\n1;2.5;x\n3;4;y\n5;6;x\n"
    plain = load_csv(write(tmp_path, text), target="label")
    with gzip.open(tmp_path / "data.csv.gz", "wt") as handle:
        handle.write(text)
    with zipfile.ZipFile(tmp_path / "data.zip", "w") as archive:
        archive.writestr("inner/data.csv", text)
    for name in ("data.csv.gz", "data.zip"):
        bunch = load_csv(tmp_path / name, target="label")
        np.testing.assert_array_equal(bunch.data, plain.data)
        assert bunch.target.tolist() == ["x", "y", "x"] and bunch.feature_names == ["a", "b"]
    with gzip.open(tmp_path / "bad.csv.gz", "wt") as handle:
        handle.write("a,b,y\n1,2,0\n3,oops,1\n")
    with pytest.raises(DataError, match="'oops' in numeric column 'b' at line 3"):
        load_csv(tmp_path / "bad.csv.gz")


def test_zip_with_two_files_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as archive:
        archive.writestr("a.csv", "a,y\n1,0\n")
        archive.writestr("b.csv", "a,y\n1,0\n")
    with pytest.raises(DataError, match="holds 2 files"):
        load_csv(tmp_path / "two.zip")


def test_parquet(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"size": [1.0, 2.0, None, 4.0], "colour": ["red", "blue", "red", None],
                          "kind": ["cat", "dog", "dog", "cat"]})
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"missing values .*'size': 1, 'colour': 1.*first at row 3"):
        load_csv(tmp_path / "t.parquet", target="kind", one_hot=True)
    bunch = load_csv(tmp_path / "t.parquet", target="kind", one_hot=True, missing="median")
    assert bunch.feature_names == ["size", "colour=blue", "colour=red"]
    np.testing.assert_array_equal(bunch.data, [[1, 0, 1], [2, 1, 0], [2, 0, 1], [4, 0, 1]])
    assert bunch.target.tolist() == ["cat", "dog", "dog", "cat"]
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="cannot be read as Parquet"):
        load_csv(tmp_path / "junk.parquet")


def test_parquet_without_pandas_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError, match=r"needs pandas and pyarrow.*glassnet\[cli\]"):
        load_csv(tmp_path / "t.parquet")


def test_parse_benchmark_quick_mode_runs():
    """benchmarks/parse.py keeps working, and checks both readers give the same numbers."""
    import os
    import subprocess

    script = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "parse.py")
    result = subprocess.run([sys.executable, script, "--quick"], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    for fmt in (".csv", ".csv.gz", ".parquet"):
        assert f"| {fmt} |" in result.stdout
