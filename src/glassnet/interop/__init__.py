"""Take a glassnet model anywhere, and bring other models into the glass box.

- ``to_onnx(model)``: an ONNX graph with the preprocessing, run anywhere
  ``onnxruntime`` runs (extra ``onnx``);
- ``to_torch(network)``: a ``torch.nn.Sequential`` with the same weights
  (extra ``torch``);
- ``from_torch(sequential)``: a glassnet ``Network`` from ``Linear`` layers and
  activations;
- ``to_sklearn(estimator)``: a fitted scikit-learn ``MLPClassifier``/``MLPRegressor``
  (extra ``sklearn``);
- ``from_sklearn(mlp)``: a fitted glassnet estimator from scikit-learn's.

Each converter lives in its own module and imports its library only when
called; the names are re-exported here and by :mod:`glassnet.io`. Weights
are copied, never shared, and nothing is ever unpickled.
"""

from __future__ import annotations

__all__ = ["from_sklearn", "from_torch", "to_onnx", "to_sklearn", "to_torch"]

_WHERE = {"to_onnx": "onnx", "to_torch": "torch", "from_torch": "torch",
          "to_sklearn": "sklearn", "from_sklearn": "sklearn"}


def __getattr__(name):
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_WHERE])
