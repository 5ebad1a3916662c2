"""Tutorial 1: a 2-layer network on the Wisconsin breast cancer data.

9 inputs → 15 ReLU units → 1 sigmoid output, binary cross-entropy, full-batch
gradient descent; features min-max scaled to [0, 1]; the first 500 rows train
and the other 183 test; weights randn/sqrt(fan_in), seed 1.

    python examples/wisconsin_tutorial.py                # lr 0.07, 15,000 iterations
    python examples/wisconsin_tutorial.py --lr 0.003     # the tutorial text's rate
"""

import argparse

from sklearn.metrics import confusion_matrix

import glassnet as gn
from glassnet.datasets import load_wisconsin


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.07)
    parser.add_argument("--iterations", type=int, default=15000)
    parser.add_argument("--log-every", type=int, default=500)
    args = parser.parse_args(argv)

    X, y = load_wisconsin(return_X_y=True)
    X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))  # min-max to [0, 1]
    X_train, y_train, X_test, y_test = X[:500], y[:500], X[500:], y[500:]

    net = gn.Network.from_sizes([9, 15, 1], activation="relu", output_activation="sigmoid",
                                loss="binary_cross_entropy", init="scaled_normal", seed=1)
    logger = gn.LossLogger(every=args.log_every, fmt="Cost after iteration {iteration}: {loss:f}")
    history = gn.train(net, X_train, y_train, optimizer="sgd", lr=args.lr,
                       epochs=args.iterations, callbacks=[logger])

    train_acc = (net.predict(X_train) == y_train).mean()
    test_acc = (net.predict(X_test) == y_test).mean()
    print(f"\nTrain accuracy: {train_acc:.4f}")
    print(f"Test accuracy:  {test_acc:.4f}")
    print("Confusion matrix (test; rows true benign/malignant, columns predicted):")
    print(confusion_matrix(y_test, net.predict(X_test)))
    print(f"Trained {history.n_steps} iterations in {history.seconds:.2f} s")
    return {"train_accuracy": train_acc, "test_accuracy": test_acc, "history": history}


if __name__ == "__main__":
    main()
