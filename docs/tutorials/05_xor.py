# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. XOR with a 3-4-1 sigmoid network, and why a hidden layer
#
# **In the browser**: [open this lesson in the playground](../playground/index.html#data=xor&features=x1,x2&hidden=4&act=sigmoid&opt=sgd&lr=1&batch=full&seed=1): an XOR-like toy with 4 sigmoid hidden units and a sigmoid output (the tutorial's third input, always 1, is the playground's bias, so this is its 3-4-1 network); remove the hidden layer to see it fail.
#
# **Reproduces** the minimal tutorial: four samples of three inputs
# `[[0,0,1], [0,1,1], [1,0,1], [1,1,1]]` with targets `[0, 1, 1, 0]` (the XOR
# of the first two inputs; the third is always 1 and plays the part of a
# bias), a network of 3 inputs, 4 sigmoid hidden units and 1 sigmoid output
# **without biases**, weights uniform in $[0, 1)$ (glassnet draws them with
# **seed 1**), the sum of squared errors, and 1,500 iterations of gradient
# descent with learning rate 1 (the tutorial's `weights += d_weights`).
#
# **Adds**: the proof that no network without a hidden layer can do this, a
# single-unit network failing at it, and the two decision boundaries side by
# side, with the hidden units' own lines.

# %%
import numpy as np
from matplotlib.figure import Figure

import glassnet as gn
from glassnet.datasets import load_xor

X, y = load_xor(return_X_y=True)
print(X)
print("targets:", y)

net = gn.Network.from_sizes(
    [3, 4, 1],
    activation="sigmoid",
    output_activation="sigmoid",
    loss="sse",
    init="uniform",
    bias=False,
    seed=1,
)
history = gn.train(net, X, y, lr=1.0, epochs=1500)
print(f"loss: {history.loss[0]:.4f} at iteration 0,", end=" ")
print(f"{history.loss[-1]:.6f} at iteration 1499")
print("predictions:", net.output(X).ravel().round(4))

# %% [markdown]
# The loss is the sum (not the mean) of the squared errors,
# $L = \sum_i (y_i - \hat y_i)^2$, so its gradient with respect to the output
# is $2(\hat y - y)$ and, through the output sigmoid,
# $dZ_2 = 2(\hat Y - Y) \odot \hat Y (1 - \hat Y)$: the tutorial's
# `2*(y - output) * sigmoid_derivative(output)` with the sign folded into the
# update.
#
# ## Why not a single layer?
#
# Without a hidden layer the network is one sigmoid unit,
# $\hat y = \sigma(w_1 x_1 + w_2 x_2 + w_3)$, and it predicts 1 on one side of
# the line $w_1 x_1 + w_2 x_2 + w_3 = 0$ and 0 on the other. XOR needs
#
# $$
# w_3 < 0, \qquad w_2 + w_3 > 0, \qquad w_1 + w_3 > 0, \qquad w_1 + w_2 + w_3 < 0 .
# $$
#
# Adding the middle two gives $w_1 + w_2 + w_3 > -w_3 > 0$, which contradicts
# the last: no line separates the two classes, whatever the training. Here is
# that single unit, trained exactly like the network above:

# %%
linear = gn.Network.from_sizes(
    [3, 1], output_activation="sigmoid", loss="sse", init="uniform", bias=False, seed=1
)
history_linear = gn.train(linear, X, y, lr=1.0, epochs=1500)
print(f"loss: {history_linear.loss[0]:.4f} -> {history_linear.loss[-1]:.4f}")
print("predictions:", linear.output(X).ravel().round(4))
print("weights w1, w2, w3:", linear.layers[0].W.ravel().round(4))

# %% [markdown]
# Its weights shrink to zero, every prediction becomes exactly 0.5 and the
# loss $4 \times 0.5^2 = 1$: the best a line can do on XOR under squared error
# is to say "don't know" everywhere.
#
# ## What the hidden layer does
#
# Each hidden unit draws its own line $w_{1j} x_1 + w_{2j} x_2 + w_{3j} = 0$
# and outputs a soft "which side". The output unit then combines four such
# soft features, and in that four-dimensional space the two classes *are*
# separable by one line. The hidden activations of the four samples:

# %%
hidden = net.layers[0].apply(X)
print("hidden unit:     1      2      3      4")
for x, h, target in zip(X, hidden, y):
    print(
        f"x = {x[:2]}  ->",
        np.array2string(h, precision=3, floatmode="fixed"),
        f"  target {target}",
    )

# %% [markdown]
# The decision boundaries over the $(x_1, x_2)$ plane (the third input held at
# 1). Left, the single unit: 0.5 everywhere, no boundary at all. Right,
# the 3-4-1 network, with the four hidden units' lines dashed: the 0.5
# contour (black) bends around the two corners of class 1.


# %%
def proba_2d(network):
    def predict_proba(points):
        p = network.output(np.column_stack([points, np.ones(len(points))]))[:, 0]
        return np.column_stack([1 - p, p])

    return predict_proba


figure = Figure(figsize=(11, 4.6))
for k, (model, title) in enumerate(
    [(linear, "no hidden layer (one sigmoid unit)"), (net, "3-4-1 network")]
):
    ax = figure.add_subplot(1, 2, k + 1)
    gx = np.linspace(-0.1, 1.1, 200)
    grid = np.array(np.meshgrid(gx, gx)).reshape(2, -1).T
    p = proba_2d(model)(grid)[:, 1].reshape(200, 200)
    surface = ax.contourf(
        gx, gx, p, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.7
    )
    if np.ptp(p) > 1e-3:  # the single unit is 0.5 everywhere: no boundary to draw
        ax.contour(gx, gx, p, levels=[0.5], colors="black")
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=["#2166ac" if t == 0 else "#b2182b" for t in y],
        s=80,
        edgecolor="black",
    )
    if model is net:
        W = net.layers[0].W  # (3, 4): column j is hidden unit j's line
        for j in range(W.shape[1]):
            w1, w2, w3 = W[:, j]
            if abs(w2) > 1e-9:
                ax.plot(gx, -(w1 * gx + w3) / w2, "--", color="0.25", linewidth=1)
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
figure.colorbar(surface, ax=figure.axes, label="P(class 1)")
figure

# %% [markdown]
# The same argument explains why deep networks need non-linear activations:
# without them, a stack of layers is a product of matrices, still one linear
# map, and still one line. **Next**: [Tutorial 6](06_vanishing_gradients.md)
# shows the price of the sigmoid's non-linearity once the network gets deep.
