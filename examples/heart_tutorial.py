"""Tutorial 2: a [13, 8, 1] network on the Statlog heart data, then the libraries.

The tutorial's network: standardised features (training mean and deviation),
an 80/20 split with random_state 2, ReLU then sigmoid, weights and biases from
a standard normal, full-batch gradient descent at lr 0.001 for 100 iterations.
Then, on the same split: scikit-learn's MLPClassifier and LogisticRegression,
and glassnet with better settings (He initialisation, Adam, 300 epochs).

    python examples/heart_tutorial.py
"""

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from glassnet.datasets import load_heart


def accuracy(model_predict, X, y):
    return float((np.asarray(model_predict(X)).ravel() == y).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--better-epochs", type=int, default=300)
    args = parser.parse_args(argv)

    X, y = load_heart(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=2)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    # the tutorial's network: standard-normal weights *and* biases
    net = gn.Network.from_sizes([13, 8, 1], activation="relu", output_activation="sigmoid",
                                init="standard_normal", seed=2)
    rng = np.random.default_rng(2)
    for layer in net.layers:
        layer.b[:] = rng.standard_normal(layer.b.shape)
    history = gn.train(net, X_train, y_train, lr=0.001, epochs=args.iterations)
    print(f"tutorial network: loss {history.loss[0]:.4f} -> {history.loss[-1]:.4f} "
          f"after {args.iterations} iterations")

    better = gn.Network.from_sizes([13, 8, 1], activation="relu", output_activation="sigmoid",
                                   init="he_normal", alpha=1.0, seed=2)
    gn.train(better, X_train, y_train, optimizer="adam", lr=0.01, epochs=args.better_epochs)

    sk_mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2000, random_state=2)
    sk_mlp.fit(X_train, y_train)
    logistic = LogisticRegression(max_iter=1000).fit(X_train, y_train)

    rows = [
        ("glassnet, tutorial settings (GD, lr 0.001, 100 it.)", net.predict),
        (f"glassnet, He init + Adam + L2 ({args.better_epochs} epochs)", better.predict),
        ("scikit-learn MLPClassifier(8,)", sk_mlp.predict),
        ("scikit-learn LogisticRegression", logistic.predict),
    ]
    results = {}
    print(f"\n{'model':<56} {'train acc':>9} {'test acc':>9}")
    for name, predict in rows:
        results[name] = (accuracy(predict, X_train, y_train), accuracy(predict, X_test, y_test))
        print(f"{name:<56} {results[name][0]:>9.3f} {results[name][1]:>9.3f}")
    return results


if __name__ == "__main__":
    main()
