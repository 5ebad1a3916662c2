"""Tutorial 3: the minimal network on the toy XOR problem.

3 inputs → 4 sigmoid units → 1 sigmoid output, no biases, weights uniform in
[0, 1), sum of squared errors, plain gradient descent (learning rate 1, as in
the tutorial's ``weights += d_weights``) for 1,500 iterations.

    python examples/xor_tutorial.py
"""

import argparse

import numpy as np

import glassnet as gn
from glassnet.datasets import load_xor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    X, y = load_xor(return_X_y=True)
    net = gn.Network.from_sizes([3, 4, 1], activation="sigmoid", output_activation="sigmoid",
                                loss="sse", init="uniform", bias=False, seed=args.seed)
    history = gn.train(net, X, y, lr=1.0, epochs=args.iterations)
    predictions = net.output(X).ravel()
    print(f"loss: {history.loss[0]:.4f} at iteration 0, {history.loss[-1]:.6f} at iteration "
          f"{args.iterations - 1}")
    print("predictions:", np.array2string(predictions, precision=4))
    print("targets:    ", y)
    return predictions


if __name__ == "__main__":
    main()
