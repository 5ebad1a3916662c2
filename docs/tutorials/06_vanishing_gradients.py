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
# # 6. Vanishing gradients: deep sigmoid against ReLU
#
# **In the browser**: [open this lesson in the playground](../playground/index.html#data=wisconsin&hidden=16,16,16,16,16&act=sigmoid&init=glorot_normal&seed=0&opt=sgd&lr=2&batch=full): the deep sigmoid network (five hidden layers of 16); watch the gradient norms per layer, then switch the activation to ReLU.
#
# **Reproduces** `examples/vanishing_gradients.py`: two networks of the same
# shape on the Wisconsin data (all 683 rows, features standardised), 9 inputs,
# **five hidden layers of 16 units** and one sigmoid output, weights from
# Glorot's normal initialisation with **seed 0**, trained by full-batch
# gradient descent at learning rate 2 for 300 epochs. The only difference:
# the hidden activation is the sigmoid in one and ReLU in the other.
#
# **Adds**: where the shrinking comes from, formula by formula; the gradient
# norm of every layer over training, and what the small gradients cost in the
# loss.
#
# ## Where the factor comes from
#
# Going down one layer, the backward pass of
# [Tutorial 1](01_backprop_by_hand.md) multiplies by the layer's weights and by
# its activation's derivative:
#
# $$
# dZ_l = \big(dZ_{l+1}\, W_{l+1}^\top\big) \odot f'(Z_l), \qquad
# dW_l = A_{l-1}^\top\, dZ_l .
# $$
#
# The sigmoid's derivative $\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$ is at most
# $1/4$ (at $z = 0$), and smaller wherever a unit is far from 0. Five sigmoid
# layers multiply the gradient by five such factors on its way to the first
# layer: $(1/4)^5 \approx 10^{-3}$ at best, unless the weights happen to be
# large enough to compensate. ReLU's derivative is exactly 1 on every active
# unit, so the product keeps its size.

# %%
import numpy as np
from matplotlib.figure import Figure

import glassnet as gn
from glassnet.datasets import load_wisconsin
from glassnet.dynamics import DynamicsRecorder

X, y = load_wisconsin(return_X_y=True)
X = (X - X.mean(axis=0)) / X.std(axis=0)
sizes = [9] + [16] * 5 + [1]
EARLY_STEPS = 25  # while the sigmoid network sits on its plateau (below)

recorders, histories = {}, {}
for activation in ("sigmoid", "relu"):
    net = gn.Network.from_sizes(
        sizes, activation=activation, init="glorot_normal", seed=0
    )
    recorder = DynamicsRecorder(every=1)  # every layer's ||dW|| after each step
    histories[activation] = gn.train(
        net, X, y, lr=2.0, epochs=300, callbacks=[recorder]
    )
    recorders[activation] = recorder

norms = {
    name: np.mean(rec.gradient_norms[:EARLY_STEPS], axis=0)
    for name, rec in recorders.items()
}
print(f"mean ||dW|| over the first {EARLY_STEPS} steps:")
print(f"{'layer':>5} {'sigmoid':>10} {'relu':>10}")
for layer, (s, r) in enumerate(zip(norms["sigmoid"], norms["relu"]), start=1):
    print(f"{layer:>5} {s:>10.2e} {r:>10.2e}")
for name, values in norms.items():
    ratio = values[0] / values[-1]
    print(f"{name}: first-layer / last-layer gradient norm = {ratio:.2e}")

# %% [markdown]
# The sigmoid network's gradient shrinks by a factor of up to four or five
# per layer on the way down, and its first layer receives about 150 times
# less than its last: the first layers barely move. ReLU's first layer
# receives a gradient as large as its last.
#
# ## Over the whole of training

# %%
figure = Figure(figsize=(12, 4.4), layout="constrained")
for k, name in enumerate(("sigmoid", "relu")):
    ax = figure.add_subplot(1, 2, k + 1, sharey=figure.axes[0] if k else None)
    values = np.array(recorders[name].gradient_norms)
    for layer in range(values.shape[1]):
        ax.plot(
            recorders[name].steps,
            np.maximum(values[:, layer], 1e-12),
            label=f"layer {layer + 1}",
            color=f"C{layer}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("‖dW‖")
    ax.set_title(f"five hidden {name} layers: ‖dW‖ per layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
figure

# %% [markdown]
# What the small gradients cost: the loss of both networks over the same 300
# steps.

# %%
print(f"{'epoch':>5} {'sigmoid loss':>13} {'relu loss':>10}")
for epoch in (0, 50, 100, 150, 200, 250, 299):
    sigmoid_loss = histories["sigmoid"].loss[epoch]
    relu_loss = histories["relu"].loss[epoch]
    print(f"{epoch + 1:>5} {sigmoid_loss:>13.4f} {relu_loss:>10.4f}")

figure = Figure(figsize=(6.4, 4))
ax = figure.add_subplot()
for name, history in histories.items():
    ax.plot(history.epoch, history.loss, label=name)
ax.axhline(0.647, color="0.4", linestyle=":", label="predicting the base rate")
ax.set_yscale("log")
ax.set_xlabel("epoch (one full-batch step)")
ax.set_ylabel("binary cross-entropy")
ax.set_title("Five hidden layers, same initial weights, same learning rate")
ax.grid(alpha=0.3)
ax.legend()
figure

# %% [markdown]
# The ReLU network learns at once. The sigmoid network first learns only the
# base rate, 35 % malignant: its loss drops to the entropy of that rate,
# $-0.35 \ln 0.35 - 0.65 \ln 0.65 \approx 0.647$, and stays there for about
# 150 steps while the gradients reaching its first layers are too small to
# move them. Only once those layers have drifted far enough does the loss fall,
# and it still ends far above ReLU's.
#
# The remedies, all in glassnet: ReLU (or leaky ReLU) in the hidden layers;
# He initialisation for ReLU, Glorot for sigmoid and tanh (`init=`), which
# keep the activations' scale from layer to layer; and adaptive optimisers
# such as Adam, whose per-parameter step sizes partly undo the shrinking.
# `glassnet train DATA --plots all` writes the gradient-norm and
# dead/saturated-unit plots for any run.
#
# **Next**: [Tutorial 7](07_from_sklearn.md) starts from scikit-learn and
# opens a fitted model in the glass box.
