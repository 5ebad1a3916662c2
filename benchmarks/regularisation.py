"""Test accuracy with and without dropout and batch normalisation, at the same settings.

Two data sets: the bundled Statlog heart data (270 patients, 13 features) and
a 2-D two-spiral problem (400 points, noise 0.15, 1.5 turns). For each seed
0..19: a fresh stratified 70/30 split (and, for the spiral, a fresh sample),
features standardised on the training rows, then glassnet's MLPClassifier
with two hidden layers of 64 ReLU units, Adam at 0.005, mini-batches of 32,
alpha 1e-4, exactly 200 epochs (no early stop), ``random_state=seed``. Only
``dropout`` and ``batch_norm`` change between rows.

    python benchmarks/regularisation.py            # the README table
    python benchmarks/regularisation.py --quick    # 2 seeds, 20 epochs (CI smoke run)
"""

import argparse
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from glassnet import MLPClassifier
from glassnet.datasets import load_heart, make_spirals

CONFIGS = [
    ("plain", {}),
    ("dropout 0.2", {"dropout": 0.2}),
    ("dropout 0.5", {"dropout": 0.5}),
    ("batch norm", {"batch_norm": True}),
    ("batch norm + dropout 0.2", {"batch_norm": True, "dropout": 0.2}),
]


def data(name, seed):
    if name == "heart":
        return load_heart(return_X_y=True)
    return make_spirals(400, noise=0.15, turns=1.5, seed=seed)


def accuracies(name, extras, seeds, epochs):
    train, test = [], []
    for seed in seeds:
        X, y = data(name, seed)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, random_state=seed, stratify=y)
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
        clf = MLPClassifier((64, 64), learning_rate_init=0.005, batch_size=32, max_iter=epochs,
                            n_iter_no_change=epochs, random_state=seed, **extras)
        clf.fit(X_train, y_train)
        train.append(clf.score(X_train, y_train))
        test.append(clf.score(X_test, y_test))
    return 100 * np.array(train), 100 * np.array(test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    seeds, epochs = (range(2), 20) if args.quick else (range(20), 200)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{len(seeds)} seeds, {epochs} epochs; accuracy in %, mean ± standard deviation "
          f"over the seeds\n")
    print("| data | layers | train accuracy | test accuracy | test vs plain (pp) |")
    print("|---|---|---|---|---|")
    results = {}
    for name in ("heart", "spiral"):
        baseline = None
        for label, extras in CONFIGS:
            train, test = accuracies(name, extras, seeds, epochs)
            baseline = test if baseline is None else baseline
            results[name, label] = test
            print(f"| {name} | {label} | {train.mean():.1f} ± {train.std():.1f} "
                  f"| {test.mean():.1f} ± {test.std():.1f} "
                  f"| {test.mean() - baseline.mean():+.1f} |")
    return results


if __name__ == "__main__":
    main()
