"""Take a playground run home: the model file, the rows it was trained on, and
a Python snippet that trains the same network with :func:`glassnet.train`.

The model file is the one ``glassnet train`` writes (``glassnet.io.save_model``):
it loads with :func:`glassnet.io.load_model` and predicts with
``glassnet predict``. For a bundled data set or an uploaded CSV it keeps that
file's encoding, so ``glassnet predict model.glassnet wisconsin`` works
directly; for a 2-D toy its inputs are the derived feature columns
(``x1``, ``x1^2``, ``sin(x1)``, …), which :func:`data_csv` writes.
"""

from __future__ import annotations

import io
import os
import tempfile
from datetime import datetime

import numpy as np

from .._version import __version__
from ..io import save_model
from .config import schedule_options
from .data import TOYS

__all__ = ["data_csv", "model_bytes", "model_metadata", "snippet"]


def model_metadata(session):
    """The model file's metadata, with the keys ``glassnet train`` writes."""
    data, c = session.data, session.config
    if data.prepared is not None:
        schema, missing, one_hot = data.prepared.schema, data.prepared.missing, \
            data.prepared.one_hot
    else:
        train = data.X[data.train]
        schema = [{"name": name, "kind": "numeric", "fill": float(np.median(train[:, j]))}
                  for j, name in enumerate(data.feature_names)]
        missing, one_hot = "error", False
    return {
        "task": data.task,
        "target": data.target_name,
        "classes": data.classes,
        "feature_names": list(data.feature_names),
        "schema": schema,
        "missing": missing,
        "one_hot": one_hot,
        "estimator": "playground",
        # the settings that fix the network use the estimators' names, which
        # load_model checks against the architecture; the rest are the page's
        "params": {"hidden_layer_sizes": list(c.hidden), "activation": list(c.act),
                   "alpha": c.l2, "l1": c.l1, "dropout": c.dropout, "batch_norm": c.batchnorm,
                   "init": c.init, "optimizer": c.opt, "lr": c.lr,
                   "schedule": c.sched, "batch_size": c.batch or "full", "seed": c.seed,
                   "scale": c.scale, "steps": session.steps, "playground": c.to_query(),
                   **({"scale_target": data.target_scaler is not None}
                      if data.task == "regression" else {})},
        "training": {"data": data.name, "rows": len(data.train), "epochs": session.epoch,
                     "interrupted": False,
                     "created": datetime.now().isoformat(timespec="seconds")},
    }


def model_bytes(session):
    """The ``model.glassnet`` file of the current weights, as bytes."""
    with tempfile.TemporaryDirectory(prefix="glassnet-export-") as directory:
        path = os.path.join(directory, "model.glassnet")
        save_model(path, session.network, session.data.scaler, model_metadata(session),
                   target_scaler=session.data.target_scaler)
        with open(path, "rb") as handle:
            return handle.read()


def data_csv(session):
    """Every row as the model reads it: its input columns, the target, and whether
    the row trained or tested. ``glassnet predict model.glassnet data.csv`` reads it."""
    data = session.data
    buffer = io.StringIO()
    target = data.target_name
    header = [*data.feature_names, target, "split"]
    buffer.write(",".join(_csv_cell(h) for h in header) + "\n")
    test = np.zeros(len(data.X), dtype=bool)
    test[data.test] = True
    for row, label, is_test in zip(data.X, data.y, test):
        cells = [repr(float(v)) for v in row] + [_csv_cell(label), "test" if is_test else "train"]
        buffer.write(",".join(cells) + "\n")
    return buffer.getvalue()


def _csv_cell(value):
    value = value.item() if isinstance(value, np.generic) else value
    text = repr(value) if isinstance(value, float) else str(value)
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def snippet(session):
    """Python that trains the same network on the same rows with :func:`glassnet.train`.

    Run as is (with the uploaded file next to it, for a CSV), it ends with the
    weights the page shows after the same number of epochs; settings changed
    while training and single-sample steps are listed in a comment, since a
    single ``glassnet.train`` call cannot repeat them.
    """
    c, data, net = session.config, session.data, session.network
    epochs = session.epoch
    lines = [
        (f"# The glassnet playground run: {data.name}, a "
         f"{'-'.join(str(s) for s in net.sizes)} network, {epochs} epoch(s)."),
        f"# Written by glassnet {__version__}; the playground link: #{c.to_query()}",
    ]
    notes = []
    if session.changes:
        listed = "; ".join(f"{name} = {value!r} at epoch {epoch}"
                           for epoch, name, value in session.changes)
        notes.append(f"settings changed while training ({listed}); this code uses the "
                     f"latest settings from the start")
    if session.manual_steps:
        notes.append(f"{session.manual_steps} single-sample step(s) from the step inspector "
                     f"are not repeated here")
    if session.edits:
        listed = "; ".join(f"{name} = {new!r} at epoch {epoch}"
                           for epoch, name, _, new in session.edits[:5])
        more = f" and {len(session.edits) - 5} more" if len(session.edits) > 5 else ""
        notes.append(f"weights set by hand on the page ({listed}{more}) are not repeated "
                     f"here; the model file carries them")
    if session.position:
        notes.append(f"the page is {session.position} rows into epoch {epochs + 1}; this code "
                     f"stops at the end of epoch {epochs}")
    if epochs == 0:
        notes.append("the page has not finished an epoch yet; choose how many to run")
    lines += [f"# Note: {note}." for note in notes]
    lines += ["import numpy as np", "", "import glassnet as gn"]
    if data.kind == "toy":
        generator, shift, factor = TOYS[c.data]
        lines += [f"from glassnet.datasets import {generator.__name__}",
                  "from glassnet.io import Scaler", "",
                  f"rng = np.random.default_rng({c.dseed})  # the data seed: points and split",
                  f"P, y = {generator.__name__}({c.points}, noise={c.noise!r}, seed=rng)"]
        if shift != (0.0, 0.0):
            lines.append(f"P = (P - np.array({list(shift)!r})) * {factor!r}  "
                         f"# the playground's coordinates")
        else:
            lines.append(f"P = P * {factor!r}  # the playground's coordinates")
        columns = {"x1": "x1", "x2": "x2", "x1sq": "x1 ** 2", "x2sq": "x2 ** 2",
                   "x1x2": "x1 * x2", "sinx1": "np.sin(x1)", "sinx2": "np.sin(x2)"}
        lines += ["x1, x2 = P[:, 0], P[:, 1]",
                  (f"X = np.column_stack([{', '.join(columns[f] for f in c.features)}])"
                   f"  # {', '.join(data.feature_names)}"),
                  "Y = y"]
    elif data.kind == "bundled":
        loader = {"wisconsin": "load_wisconsin", "heart": "load_heart"}[c.data]
        options = ""
        if c.data == "wisconsin" and c.missing == "median":
            options = ", missing='median'"
        if c.data == "heart" and c.onehot:
            options = ", one_hot=True"
        lines += [f"from glassnet.datasets import {loader}", "from glassnet.io import Scaler", "",
                  (f"X, y = {loader}(return_X_y=True{options})  # y: "
                   f"0 = {data.classes[0]}, 1 = {data.classes[1]}"),
                  "Y = y",
                  f"rng = np.random.default_rng({c.dseed})  # the data seed: the split"]
    else:
        target = data.target_name
        lines += ["from glassnet.datasets import load_csv", "from glassnet.io import Scaler", "",
                  (f"table = load_csv({data.name!r}, target={target!r}, "
                   f"one_hot={c.onehot!r}, missing={c.missing!r})"),
                  "X, y = table.data, table.target"]
        if data.task == "classification":
            lines.append("classes, Y = np.unique(y, return_inverse=True)  # "
                         f"{', '.join(map(str, data.classes))}")
        else:
            lines.append("Y = y.astype(float)")
        lines.append(f"rng = np.random.default_rng({c.dseed})  # the data seed: the split")
    n_train = len(data.train)
    lines += ["",
              "order = rng.permutation(len(X))",
              (f"train, test = np.sort(order[:{n_train}]), np.sort(order[{n_train}:])"
               f"  # {c.train}% to train"),
              f"scaler = Scaler({c.scale!r}).fit(X[train])",
              "X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])"]
    if data.target_scaler is not None:
        lines += ["# the network learns the standardised target; predictions * scale + offset",
                  "target_scaler = Scaler('standard').fit(Y[train].reshape(-1, 1))",
                  "Y = target_scaler.transform(Y.reshape(-1, 1))[:, 0]"]
    lines += ["",
              f"net = gn.Network.from_sizes({net.sizes!r}, activation={list(c.act)!r},",
              (f"                            output_activation={data.output_activation!r}, "
               f"init={c.init!r},"),
              (f"                            alpha={c.l2!r}, l1={c.l1!r}, "
               + (f"dropout={c.dropout!r}, " if c.dropout else "")
               + ("batch_norm=True, " if c.batchnorm else "") + f"seed={c.seed})")]
    options = schedule_options(c.sched)
    schedule = "None" if c.sched == "constant" else \
        f"gn.get_schedule({c.sched!r}{''.join(f', {k}={v!r}' for k, v in options.items())})"
    batch = "None" if not c.batch else str(c.batch)
    lines += [(f"history = gn.train(net, X_train, Y[train], optimizer={c.opt!r}, "
               f"lr={c.lr!r}, epochs={max(epochs, 1)},"),
              f"                   batch_size={batch}, seed={c.seed}, schedule={schedule})",
              "",
              "print('train loss', round(net.compute_loss(X_train, Y[train]), 6))"]
    if len(data.test):
        lines.append("print('test loss', round(net.compute_loss(X_test, Y[test]), 6))")
    if epochs:
        shown = session.metrics()[0]
        losses = ", ".join(f"{name} loss {shown[key]:.6f}" for name, key in
                           (("train", "train_loss"), ("test", "test_loss"))
                           if shown[key] is not None)
        lines.append(f"# the page showed: {losses}")
    return "\n".join(lines) + "\n"
