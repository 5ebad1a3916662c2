"""Data: the tutorials' data sets (bundled), 2-D toy generators and a table loader.

Bundled files (UCI Machine Learning Repository, CC BY 4.0), verified by SHA-256
on every load:

- Breast Cancer Wisconsin (Original), W. H. Wolberg, University of Wisconsin
  Hospitals, 1989–1991, UCI id 15: :func:`load_wisconsin`.
- Statlog (Heart), UCI id 145: :func:`load_heart`.

Loaders follow scikit-learn's: they return a :class:`Bunch` with ``data``,
``target``, ``feature_names``, ``target_names``, ``DESCR`` and, when pandas is
installed, ``frame``; ``return_X_y=True`` returns ``(data, target)``.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np

from ._bunch import Bunch
from ._csv import (
    DataError,
    Table,
    encode,
    encode_table,
    feature_names,
    infer_schema,
    load_csv,
    parse_target,
    read_table,
    resolve_target,
)
from ._generators import (
    make_blobs,
    make_bumps,
    make_circles,
    make_gaussian_xor,
    make_gaussians,
    make_moons,
    make_plane,
    make_spirals,
)

__all__ = [
    "BUNDLED",
    "Bunch",
    "DataError",
    "Table",
    "encode",
    "encode_table",
    "feature_names",
    "infer_schema",
    "load",
    "load_csv",
    "load_heart",
    "load_wisconsin",
    "load_xor",
    "make_blobs",
    "make_bumps",
    "make_circles",
    "make_gaussian_xor",
    "make_gaussians",
    "make_moons",
    "make_plane",
    "make_spirals",
    "parse_target",
    "read_table",
    "resolve_target",
    "verify",
]

SHA256 = {
    "breast-cancer-wisconsin.data":
        "402c585309c399237740f635ef9919dc512cca12cbeb20de5e563a4593f22b64",
    "heart.dat": "f5f3b4204c285bafadd85cb735f38b47689f2be7047feb172dcbeab648110bf9",
}


def _path(name):
    return resources.files(__package__) / "data" / name


def verify(name):
    """Return the bytes of a bundled file after checking its SHA-256."""
    data = _path(name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[name]:
        raise DataError(
            f"bundled data file {name} is damaged: its SHA-256 is {digest}, expected "
            f"{SHA256[name]}; reinstall glassnet")
    return data


def _frame(data, target, feature_names, target_column):
    try:
        import pandas as pd
    except ImportError:
        return None
    frame = pd.DataFrame(data, columns=feature_names)
    frame[target_column] = target
    return frame


def _finish(bunch, return_X_y, target_column="target"):
    if return_X_y:
        return bunch.data, bunch.target
    bunch.frame = _frame(bunch.data, bunch.target, bunch.feature_names, target_column)
    return bunch


WISCONSIN_FEATURES = [
    "clump_thickness", "uniformity_of_cell_size", "uniformity_of_cell_shape",
    "marginal_adhesion", "single_epithelial_cell_size", "bare_nuclei", "bland_chromatin",
    "normal_nucleoli", "mitoses",
]

WISCONSIN_DESCR = """Breast Cancer Wisconsin (Original)
==================================

W. H. Wolberg, University of Wisconsin Hospitals, Madison, 1989-1991.
UCI Machine Learning Repository, id 15 (https://archive.ics.uci.edu/dataset/15),
licensed CC BY 4.0.

699 tumours, 9 cytological features each scored 1-10, target benign (0, class 2
in the file) or malignant (1, class 4). The sample code number is an id, not a
feature, and is left out. 16 rows miss 'bare nuclei': missing='drop' leaves
683 rows (444 benign, 239 malignant); missing='median' fills them with the
column's median.

Past results quoted with the data: multisurface method 93.5 % (Wolberg &
Mangasarian 1990); 1-nearest-neighbour 93.7 % (Zhang 1992).
"""


def load_wisconsin(missing="drop", return_X_y=False):
    """The first tutorial's data: Breast Cancer Wisconsin (Original).

    Parameters
    ----------
    missing : {'drop', 'median'}, default 'drop'
        What to do with the 16 rows whose 'bare nuclei' is ``?``.
    return_X_y : bool, default False

    Returns
    -------
    Bunch or tuple
        A Bunch with ``data`` (float64, 683 × 9 or 699 × 9), ``target`` (0
        benign, 1 malignant), ``feature_names``, ``target_names``, ``DESCR``,
        ``frame``; or ``(data, target)``.

    Examples
    --------
    >>> from glassnet.datasets import load_wisconsin
    >>> data = load_wisconsin()
    >>> data.data.shape, int(data.target.sum()), data.target_names.tolist()
    ((683, 9), 239, ['benign', 'malignant'])
    >>> load_wisconsin(missing="median", return_X_y=True)[0].shape
    (699, 9)
    """
    if missing not in ("drop", "median"):
        raise ValueError(f"missing must be 'drop' or 'median', got {missing!r}")
    text = verify("breast-cancer-wisconsin.data").decode("ascii")
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    raw = np.array([[np.nan if v == "?" else float(v) for v in row[1:10]] for row in rows])
    labels = np.array([int(row[10]) for row in rows])
    incomplete = np.isnan(raw).any(axis=1)
    if missing == "drop":
        raw, labels = raw[~incomplete], labels[~incomplete]
    else:
        medians = np.nanmedian(raw, axis=0)
        raw = np.where(np.isnan(raw), medians, raw)
    bunch = Bunch(data=raw, target=(labels == 4).astype(np.int64),
                  feature_names=list(WISCONSIN_FEATURES),
                  target_names=np.array(["benign", "malignant"]), DESCR=WISCONSIN_DESCR,
                  filename="breast-cancer-wisconsin.data")
    return _finish(bunch, return_X_y)


HEART_FEATURES = [
    "age", "sex", "chest_pain_type", "resting_blood_pressure", "serum_cholesterol",
    "fasting_blood_sugar", "resting_ecg", "max_heart_rate", "exercise_angina", "oldpeak",
    "slope", "major_vessels", "thal",
]

# categorical codes and the values they take
HEART_CATEGORICAL = {
    "chest_pain_type": [1, 2, 3, 4],
    "resting_ecg": [0, 1, 2],
    "slope": [1, 2, 3],
    "thal": [3, 6, 7],
}

HEART_DESCR = """Statlog (Heart)
===============

UCI Machine Learning Repository, id 145 (https://archive.ics.uci.edu/dataset/145),
licensed CC BY 4.0.

270 patients, 13 attributes: age, sex, chest pain type (1-4), resting blood
pressure, serum cholesterol (mg/dl), fasting blood sugar > 120 mg/dl, resting
electrocardiographic results (0-2), maximum heart rate achieved,
exercise-induced angina, oldpeak (ST depression induced by exercise relative to
rest), slope of the peak exercise ST segment, number of major vessels (0-3)
coloured by fluoroscopy, thal (3 normal, 6 fixed defect, 7 reversible defect).
Target: absence (0, class 1 in the file) or presence (1, class 2) of heart
disease; 150 absent, 120 present, no missing values. one_hot=True encodes chest
pain type, resting ECG, slope and thal as indicator columns.
"""


def load_heart(one_hot=False, return_X_y=False):
    """The second tutorial's data: Statlog (Heart).

    Parameters
    ----------
    one_hot : bool, default False
        Replace the four categorical codes (chest pain type, resting ECG, slope,
        thal) by one indicator column per value, named like ``thal=7``.
    return_X_y : bool, default False

    Returns
    -------
    Bunch or tuple
        A Bunch with ``data`` (270 × 13, or 270 × 22 one-hot), ``target`` (0
        absence, 1 presence), ``feature_names``, ``target_names``, ``DESCR``,
        ``frame``; or ``(data, target)``.
    """
    text = verify("heart.dat").decode("ascii")
    table = np.array([[float(v) for v in line.split()] for line in text.splitlines()
                      if line.strip()])
    data, target = table[:, :13], (table[:, 13] == 2).astype(np.int64)
    names = list(HEART_FEATURES)
    if one_hot:
        columns, names_out = [], []
        for j, name in enumerate(names):
            if name in HEART_CATEGORICAL:
                for value in HEART_CATEGORICAL[name]:
                    columns.append((data[:, j] == value).astype(np.float64))
                    names_out.append(f"{name}={value}")
            else:
                columns.append(data[:, j])
                names_out.append(name)
        data, names = np.column_stack(columns), names_out
    bunch = Bunch(data=data, target=target, feature_names=names,
                  target_names=np.array(["absence", "presence"]), DESCR=HEART_DESCR,
                  filename="heart.dat")
    return _finish(bunch, return_X_y)


XOR_DESCR = """Toy XOR problem
===============

The third tutorial's four samples: inputs [[0,0,1],[0,1,1],[1,0,1],[1,1,1]]
(the third input is a constant 1 that plays the role of a bias), target the
XOR of the first two inputs, [0, 1, 1, 0].
"""


def load_xor(return_X_y=False):
    """The toy tutorial's 4 × 3 XOR problem."""
    data = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
    target = np.array([0, 1, 1, 0], dtype=np.int64)
    bunch = Bunch(data=data, target=target, feature_names=["x1", "x2", "bias"],
                  target_names=np.array(["0", "1"]), DESCR=XOR_DESCR, filename=None)
    return _finish(bunch, return_X_y)


BUNDLED = {"wisconsin": load_wisconsin, "heart": load_heart, "xor": load_xor}


def load(name, **options):
    """A bundled data set by name: ``wisconsin``, ``heart`` or ``xor``."""
    try:
        loader = BUNDLED[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; bundled: {', '.join(BUNDLED)}") from None
    return loader(**options)
