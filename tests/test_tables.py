"""The data layer under the command line: a table ready for a run."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from glassnet.datasets import DataError
from glassnet.tables import design, encode_targets, prepare, read_for_model, split


def write(path, text):
    path.write_text(text)
    return str(path)


def test_prepare_csv_with_median_fill_and_one_hot(tmp_path):
    data = write(tmp_path / "d.csv", "size,colour,label\n1,red,a\n,blue,b\n3,red,a\n5,,b\n"
                                      "7,blue,\n")
    prepared = prepare(data, missing="median", one_hot=True)
    assert prepared.task == "classification" and prepared.classes == ["a", "b"]
    assert prepared.feature_names == ["size", "colour=blue", "colour=red"]
    # the row without a label is dropped; the median of size over kept rows fills the gap
    np.testing.assert_array_equal(prepared.X, [[1, 0, 1], [3, 1, 0], [3, 0, 1], [5, 0, 1]])
    assert prepared.notes == [("3 missing value(s); filled with column medians, dropped 1 "
                               "row(s) without a target")]


def test_prepare_infers_regression_and_refuses_text_regression(tmp_path):
    data = write(tmp_path / "r.csv", "x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(30)))
    prepared = prepare(data)
    assert prepared.task == "regression" and prepared.y.dtype == np.float64
    text = write(tmp_path / "t.csv", "x,y\n1,a\n2,b\n")
    with pytest.raises(DataError, match="holds text; use --task classification"):
        prepare(text, task="regression")


def test_split_is_stratified_and_scaled_on_training_rows_only():
    prepared = prepare("wisconsin")
    rows = split(prepared, 0.25, seed=3, scale="minmax")
    assert rows.note is None and len(rows.y_train) + len(rows.y_test) == 683
    assert rows.X_train.min() == 0 and rows.X_train.max() == 1  # fitted on these rows
    share = [np.mean(rows.y_train == "malignant"), np.mean(rows.y_test == "malignant")]
    assert abs(share[0] - share[1]) < 0.01
    X, Y, scaler = design(prepared, "standard")
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaler.offset, prepared.X.mean(axis=0))
    assert Y.shape == (683, 1) and set(np.unique(Y)) == {0.0, 1.0}
    np.testing.assert_array_equal(encode_targets(prepared, ["benign", "malignant"]), [[0], [1]])
    assert split(prepare("xor"), 0.2, seed=0).note.startswith("too few rows to split")


def test_read_for_model_uses_the_saved_schema(tmp_path):
    train = write(tmp_path / "a.csv", "size,colour,y\n1,red,0\n2,blue,1\n3,red,1\n")
    prepared = prepare(train, one_hot=True)
    metadata = {"schema": prepared.schema, "missing": "error", "one_hot": True}
    new = write(tmp_path / "b.csv", "colour,size\ngreen,4\nblue,5\n")
    _, X = read_for_model(metadata, new)
    np.testing.assert_array_equal(X, [[4, 0, 0], [5, 1, 0]])  # unseen 'green': all zeros
    with pytest.raises(DataError, match="missing feature column.*'colour'"):
        read_for_model(metadata, write(tmp_path / "c.csv", "size\n1\n"))
