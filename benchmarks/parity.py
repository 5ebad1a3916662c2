"""Accuracy parity: glassnet's MLPClassifier vs scikit-learn's, default settings.

Standard-scaled features, stratified 10-fold cross-validation (shuffled,
random_state 0), each library's defaults, averaged over random_state 0..29 so
that one lucky initialisation cannot decide the comparison. Both run in this
one process on the same folds.

    python benchmarks/parity.py            # the README table
    python benchmarks/parity.py --quick    # 3 folds, 1 seed (CI smoke run)
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from glassnet import MLPClassifier as GnMLP
from glassnet.datasets import load_heart, load_wisconsin


def evaluate(cls, X, y, folds, seeds):
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    scores, seconds = [], 0.0
    for seed in seeds:
        started = time.perf_counter()
        scores.append(cross_val_score(make_pipeline(StandardScaler(), cls(random_state=seed)),
                                      X, y, cv=cv).mean())
        seconds += time.perf_counter() - started
    return 100 * float(np.mean(scores)), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    folds, seeds = (3, [0]) if args.quick else (10, range(30))
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = []
    print("| data | scikit-learn accuracy | glassnet accuracy | difference (pp) "
          "| scikit-learn time | glassnet time | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for name, loader in (("wisconsin", load_wisconsin), ("heart", load_heart)):
        X, y = loader(return_X_y=True)
        sk_acc, sk_time = evaluate(SkMLP, X, y, folds, seeds)
        gn_acc, gn_time = evaluate(GnMLP, X, y, folds, seeds)
        rows.append((name, sk_acc, gn_acc))
        print(f"| {name} | {sk_acc:.2f} % | {gn_acc:.2f} % | {gn_acc - sk_acc:+.2f} "
              f"| {sk_time:.2f} s | {gn_time:.2f} s | {sk_time / gn_time:.2f}x |")
    return rows


if __name__ == "__main__":
    main()
