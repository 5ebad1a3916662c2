"""Vanishing gradients: a deep sigmoid network against the same network with ReLU.

Both are 9 → 6 × 16 hidden → 1 on the Wisconsin data, trained by full-batch
gradient descent from Glorot-initialised weights. Backpropagation multiplies
by f'(Z) once per layer; the sigmoid's f' is at most 1/4, so its gradient
norms shrink layer by layer towards the input, while ReLU's stay of one
order. Prints each layer's mean ‖dW‖ and writes vanishing_gradients.png.

    python examples/vanishing_gradients.py
"""

import argparse

import numpy as np

import glassnet as gn
from glassnet.datasets import load_wisconsin
from glassnet.dynamics import DynamicsRecorder, gradient_norm_figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--out", default="vanishing_gradients.png")
    args = parser.parse_args(argv)

    X, y = load_wisconsin(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    sizes = [9] + [16] * 6 + [1]
    norms = {}
    recorders = {}
    for activation in ("sigmoid", "relu"):
        net = gn.Network.from_sizes(sizes, activation=activation, init="glorot_normal", seed=0)
        recorder = DynamicsRecorder(every=1)
        gn.train(net, X, y, lr=0.1, epochs=args.epochs, callbacks=[recorder])
        norms[activation] = np.mean(recorder.gradient_norms, axis=0)
        recorders[activation] = recorder
    print(f"{'layer':>5} {'sigmoid mean ||dW||':>20} {'relu mean ||dW||':>18}")
    for layer, (s, r) in enumerate(zip(norms["sigmoid"], norms["relu"]), start=1):
        print(f"{layer:>5} {s:>20.3e} {r:>18.3e}")
    for activation, values in norms.items():
        print(f"{activation}: first-layer / last-layer gradient norm = "
              f"{values[0] / values[-1]:.2e}")
    if args.out:
        from matplotlib.figure import Figure

        from glassnet.plots import save_figure

        figure = Figure(figsize=(11, 4.2))
        for k, activation in enumerate(("sigmoid", "relu")):
            single = gradient_norm_figure(recorders[activation])
            ax = figure.add_subplot(1, 2, k + 1)
            for line in single.axes[0].get_lines():
                ax.plot(*line.get_data(), label=line.get_label())
            ax.set_yscale("log")
            ax.set_title(f"6 hidden {activation} layers: ‖dW‖ per layer")
            ax.set_xlabel("step")
            ax.legend(fontsize=7)
        save_figure(figure, args.out)
        print(f"wrote {args.out}")
    return norms


if __name__ == "__main__":
    main()
