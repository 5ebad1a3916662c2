"""Model files: what save_model writes, what load_model accepts and what it refuses."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import ModelFileError, Scaler, atomic_write, load_model, save_model


def fitted(rng, output="softmax", k=3):
    net = gn.Network.from_sizes([4, 5, k], output_activation=output, alpha=0.01, seed=0)
    X = rng.normal(loc=3.0, scale=2.0, size=(20, 4))
    return net, Scaler("standard").fit(X), X


def test_round_trip_predicts_the_same(tmp_path, rng):
    net, scaler, X = fitted(rng)
    meta = save_model(tmp_path / "m.glassnet", net, scaler,
                      {"task": "classification", "classes": ["a", "b", "c"],
                       "feature_names": ["f1", "f2", "f3", "f4"], "seed": np.int64(3)})
    model = load_model(tmp_path / "m.glassnet")
    np.testing.assert_allclose(model.output(X), net.output(scaler.transform(X)), rtol=1e-15)
    assert list(model.predict(X)) == [["a", "b", "c"][i]
                                      for i in net.predict(scaler.transform(X))]
    assert model.metadata["seed"] == 3 and meta["architecture"]["layer_sizes"] == [4, 5, 3]
    assert model.network.alpha == 0.01 and model.network.loss.name == net.loss.name
    with zipfile.ZipFile(tmp_path / "m.glassnet") as zf:
        assert sorted(zf.namelist()) == ["metadata.json", "weights.npz"]
        with np.load(io.BytesIO(zf.read("weights.npz")), allow_pickle=False) as npz:
            assert sorted(npz.files) == ["W1", "W2", "b1", "b2", "scaler_offset", "scaler_scale"]


def test_regression_and_binary_models(tmp_path, rng):
    net, scaler, X = fitted(rng, output="identity", k=1)
    save_model(tmp_path / "r.glassnet", net, scaler,
               {"task": "regression", "feature_names": list("abcd")})
    model = load_model(tmp_path / "r.glassnet")
    assert model.predict(X).shape == (20,)
    with pytest.raises(ValueError, match="predict_proba needs a classification model"):
        model.predict_proba(X)
    with pytest.raises(ValueError, match=r"expected 4 encoded features, got shape \(20, 3\)"):
        model.output(X[:, :3])


def test_refuses_pickles_and_foreign_files(tmp_path):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"W1": np.ones(2)}))
    with pytest.raises(ModelFileError, match="looks like a Python pickle"):
        load_model(pickled)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "missing.glassnet")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ModelFileError, match="without metadata.json and weights.npz"):
        load_model(other)


def test_damaged_and_newer_files_get_clear_errors(tmp_path, rng):
    net, scaler, _ = fitted(rng)
    path = tmp_path / "m.glassnet"
    save_model(path, net, scaler, {"task": "classification", "feature_names": list("abcd")})
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("metadata.json"))
        weights = zf.read("weights.npz")

    def rewrite(meta, weights):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("metadata.json", json.dumps(meta))
            zf.writestr("weights.npz", weights)

    rewrite({**meta, "format_version": 99}, weights)
    with pytest.raises(ModelFileError, match="format version 99"):
        load_model(path)
    wrong = {**meta, "architecture": {**meta["architecture"], "layer_sizes": [4, 6, 3]}}
    rewrite(wrong, weights)
    with pytest.raises(ModelFileError, match=r"W1 has shape \(4, 5\), expected \(4, 6\)"):
        load_model(path)
    objects = io.BytesIO()
    np.savez(objects, W1=np.array([{"x": 1}], dtype=object))
    rewrite(meta, objects.getvalue())
    with pytest.raises(ModelFileError, match="is damaged"):
        load_model(path)  # object arrays would need pickle: refused


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_scaler_kinds(rng):
    X = rng.normal(loc=5.0, size=(30, 3))
    X[:, 2] = 1.0  # a constant column keeps scale 1
    minmax = Scaler("minmax").fit_transform(X)
    assert minmax[:, :2].min() == 0.0 and minmax[:, :2].max() == pytest.approx(1.0)
    standard = Scaler("standard").fit_transform(X)
    np.testing.assert_allclose(standard[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(standard[:, 2], 0.0)
    np.testing.assert_array_equal(Scaler("none").fit_transform(X), X)
    with pytest.raises(ValueError, match="scaler must be one of minmax, standard, none"):
        Scaler("robust")
