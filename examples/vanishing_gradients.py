"""Vanishing gradients: a deep sigmoid network against the same network with ReLU.

Both are 9 → 5 × 16 hidden → 1 on the Wisconsin data, trained by full-batch
gradient descent at lr 2 from the same Glorot-initialised weights.
Backpropagation multiplies by f'(Z) once per layer on the way down; the
sigmoid's f' is at most 1/4, so its gradient norms shrink layer by layer
towards the input, while ReLU's f' = 1 on active units keeps them of one
order. The sigmoid network still learns, slowly: it sits on a plateau (the
majority-class loss, 0.647) while the early layers barely move, and only
then descends. Prints each layer's mean ‖dW‖ over the first steps, the loss
of both networks along the way, and writes vanishing_gradients.png.

    python examples/vanishing_gradients.py
"""

import argparse

import numpy as np

import glassnet as gn
from glassnet.datasets import load_wisconsin
from glassnet.dynamics import DynamicsRecorder, gradient_norm_figure

EARLY_STEPS = 25  # the norms while the sigmoid network sits on its plateau


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=2.0)
    parser.add_argument("--out", default="vanishing_gradients.png")
    args = parser.parse_args(argv)

    X, y = load_wisconsin(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    sizes = [9] + [16] * 5 + [1]
    norms, losses, recorders = {}, {}, {}
    for activation in ("sigmoid", "relu"):
        net = gn.Network.from_sizes(sizes, activation=activation, init="glorot_normal", seed=0)
        recorder = DynamicsRecorder(every=1)
        history = gn.train(net, X, y, lr=args.lr, epochs=args.epochs, callbacks=[recorder])
        norms[activation] = np.mean(recorder.gradient_norms[:EARLY_STEPS], axis=0)
        losses[activation] = np.array(history.loss)
        recorders[activation] = recorder
    print(f"mean ||dW|| over the first {EARLY_STEPS} steps:")
    print(f"{'layer':>5} {'sigmoid':>10} {'relu':>10}")
    for layer, (s, r) in enumerate(zip(norms["sigmoid"], norms["relu"]), start=1):
        print(f"{layer:>5} {s:>10.2e} {r:>10.2e}")
    for activation, values in norms.items():
        print(f"{activation}: first-layer / last-layer gradient norm = "
              f"{values[0] / values[-1]:.2e}")
    print(f"\n{'epoch':>5} {'sigmoid loss':>13} {'relu loss':>10}")
    checkpoints = sorted({0, *range(50, args.epochs, 50), args.epochs - 1})
    for epoch in checkpoints:
        print(f"{epoch + 1:>5} {losses['sigmoid'][epoch]:>13.4f} {losses['relu'][epoch]:>10.4f}")
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
            ax.set_title(f"5 hidden {activation} layers: ‖dW‖ per layer")
            ax.set_xlabel("step")
            ax.legend(fontsize=7)
        save_figure(figure, args.out)
        print(f"wrote {args.out}")
    return {"norms": norms, "losses": losses}


if __name__ == "__main__":
    main()
