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
# **Reproduces** `examples/vanishing_gradients.py`: two networks of the same
# shape on the Wisconsin data (all 683 rows, features standardised), 9 inputs,
# **six hidden layers of 16 units** and one sigmoid output, weights from
# Glorot's normal initialisation with **seed 0**, trained by full-batch
# gradient descent at learning rate 0.1 for 300 epochs. The only difference:
# the hidden activation is the sigmoid in one and ReLU in the other.
#
# **Adds**: where the shrinking comes from, formula by formula; the gradient
# norm of every layer over training, and the loss curves of both networks.
#
# ## Where the factor comes from
#
# Going down one layer, the backward pass of [Tutorial 1](01_backprop_by_hand.md)
# multiplies by the layer's weights and by its activation's derivative:
#
# $$
# dZ_l = \big(dZ_{l+1}\, W_{l+1}^\top\big) \odot f'(Z_l), \qquad dW_l = A_{l-1}^\top\, dZ_l .
# $$
#
# The sigmoid's derivative $\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$ is at most
# $1/4$ (at $z = 0$), and smaller wherever a unit is far from 0. Six sigmoid
# layers multiply the gradient by six such factors on its way to the first
# layer: $(1/4)^6 \approx 2.4 \times 10^{-4}$ at best, unless the weights
# happen to be large enough to compensate. ReLU's derivative is exactly 1 on
# every active unit, so the product keeps its size.

# %%
import numpy as np
from matplotlib.figure import Figure

import glassnet as gn
from glassnet.datasets import load_wisconsin
from glassnet.dynamics import DynamicsRecorder

X, y = load_wisconsin(return_X_y=True)
X = (X - X.mean(axis=0)) / X.std(axis=0)
sizes = [9] + [16] * 6 + [1]

recorders, histories = {}, {}
for activation in ("sigmoid", "relu"):
    net = gn.Network.from_sizes(
        sizes, activation=activation, init="glorot_normal", seed=0
    )
    recorder = DynamicsRecorder(every=1)  # records every layer's ||dW|| after each step
    histories[activation] = gn.train(
        net, X, y, lr=0.1, epochs=300, callbacks=[recorder]
    )
    recorders[activation] = recorder

norms = {name: np.mean(rec.gradient_norms, axis=0) for name, rec in recorders.items()}
print(f"{'layer':>5} {'sigmoid mean ||dW||':>20} {'relu mean ||dW||':>18}")
for layer, (s, r) in enumerate(zip(norms["sigmoid"], norms["relu"]), start=1):
    print(f"{layer:>5} {s:>20.3e} {r:>18.3e}")
for name, values in norms.items():
    print(
        f"{name}: first-layer / last-layer gradient norm = {values[0] / values[-1]:.2e}"
    )

# %% [markdown]
# The sigmoid network's gradient shrinks by a factor of three to four per
# layer through the top layers, and its first layer receives about 180 times
# less than its last: the first layers barely learn. ReLU's first layer
# receives a gradient as large as its last.
#
# ## Over the whole of training

# %%
figure = Figure(figsize=(12, 4.4))
for k, name in enumerate(("sigmoid", "relu")):
    ax = figure.add_subplot(1, 2, k + 1, sharey=figure.axes[0] if k else None)
    values = np.array(recorders[name].gradient_norms)
    for layer in range(values.shape[1]):
        ax.plot(
            recorders[name].steps,
            values[:, layer],
            label=f"layer {layer + 1}",
            color=f"C{layer}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("‖dW‖")
    ax.set_title(f"six hidden {name} layers: ‖dW‖ per layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
figure

# %% [markdown]
# The plot shows more than the averages: after about 50 steps every layer of
# the sigmoid network sits at a gradient norm near $10^{-4}$. It has learned
# the base rate, 35 % malignant, and nothing else: its loss settles at the
# entropy of that rate, $-0.35 \ln 0.35 - 0.65 \ln 0.65 \approx 0.647$, a
# plateau that gradient descent at this learning rate does not leave. What
# the small gradients cost, in the loss of both networks over the same 300
# steps:

# %%
figure = Figure(figsize=(6.4, 4))
ax = figure.add_subplot()
for name, history in histories.items():
    ax.plot(
        history.epoch, history.loss, label=f"{name}: {history.loss[-1]:.3f} at the end"
    )
ax.set_xlabel("epoch (one full-batch step)")
ax.set_ylabel("binary cross-entropy")
ax.set_title("Six hidden layers, same initial scale, same learning rate")
ax.grid(alpha=0.3)
ax.legend()
figure

# %%
for name, history in histories.items():
    print(f"{name}: loss {history.loss[0]:.4f} -> {history.loss[-1]:.4f}")

# %% [markdown]
# The remedies, all in glassnet: ReLU (or leaky ReLU) in the hidden layers;
# He initialisation for ReLU, Glorot for sigmoid and tanh (`init=`), which
# keep the activations' scale from layer to layer; and adaptive optimisers
# such as Adam, whose per-parameter step sizes partly undo the shrinking.
# `glassnet train DATA --plots all` writes the gradient-norm and
# dead/saturated-unit plots for any run.
#
# **Next**: [Tutorial 7](07_from_sklearn.md) starts from scikit-learn and
# opens a fitted model in the glass box.
