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
# # 8. Curvature: why a learning rate is too large
#
# **In the browser**: [open this lesson in the playground](../playground/index.html#data=wisconsin&scale=minmax&train=90&hidden=15&act=relu&init=he_normal&seed=1&opt=sgd&lr=2&batch=full&sharpness=1): the 9-15-1 ReLU network, full-batch gradient descent at rate 2, with λ_max drawn against 2/η as it trains.
#
# **Reproduces** the first tutorial's network and data with its warning
# about too large a learning rate: the Wisconsin data (all 683 rows, features
# min-max scaled to [0, 1]), 9 inputs, 15 ReLU units, one sigmoid output,
# binary cross-entropy, He-normal initial weights from **seed 1**, full-batch
# gradient descent (one step per epoch, no momentum) for 1,200 epochs, at
# rates 0.5, 2 and 3 instead of the tutorial's 0.07.
#
# **Adds**: the curvature that decides when a rate is too large, measured on
# the network itself: the Hessian's largest eigenvalue $\lambda_{max}$ (the
# *sharpness*) during training beside the threshold $2/\eta$, the "edge of
# stability" that full-batch gradient descent settles on (Cohen et al.,
# 2021), what happens when the rate is raised there, and the Hessian's
# spectrum (top eigenvalues, trace, density) before and after training.
#
# ## Why $2/\eta$
#
# [Tutorial 2](02_training.md) warns that a too-large rate "overshoots the
# valley, bounces across it, and can diverge". Near a minimum $\theta^*$ the
# loss is a bowl, $L(\theta) \approx L^* + \tfrac12\,\delta^\top H\,\delta$
# with $\delta = \theta - \theta^*$ and $H$ the Hessian. A gradient step
# $\theta \leftarrow \theta - \eta\,\nabla L = \theta - \eta H\delta$ maps
#
# $$
# \delta \leftarrow (I - \eta H)\,\delta .
# $$
#
# Along an eigenvector of $H$ with eigenvalue $\lambda$ the distance is
# multiplied by $1 - \eta\lambda$ at every step: it shrinks while
# $|1 - \eta\lambda| < 1$, that is while $\lambda < 2/\eta$, and grows, with
# its sign flipping at each step (the bounce), once $\lambda > 2/\eta$. The
# steepest direction fails first, so the rate is too large exactly when
# $\lambda_{max} > 2/\eta$. The sharpness is measured without ever forming
# $H$ (166 × 166 here, but 269,322² for an MNIST-sized network): Lanczos'
# method needs only products $H v$, which `glassnet.curvature` computes
# exactly by differentiating the backward pass once more (Pearlmutter's
# R-operator, written out line by line in the module's docstring).

# %%
import numpy as np
from matplotlib.figure import Figure

import glassnet as gn
from glassnet.curvature import (
    SharpnessTracker,
    hessian_eigenvalues,
    hessian_trace,
    spectral_density,
)
from glassnet.datasets import load_wisconsin

X, y = load_wisconsin(return_X_y=True)
X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
EPOCHS, EVERY = 1200, 10
RATES = (0.5, 2.0, 3.0)

runs = {}
for lr in RATES:
    net = gn.Network.from_sizes([9, 15, 1], activation="relu", seed=1)
    tracker = SharpnessTracker(X, y, every=EVERY)  # λ_max every 10 epochs
    history = gn.train(net, X, y, lr=lr, epochs=EPOCHS, callbacks=[tracker])
    runs[lr] = net, tracker, np.array(history.loss)

print("λ_max as a fraction of 2/η: after epoch 1, its lowest in epochs 1-200, and its")
print("median and highest in epochs 600-1200; the loss, and the steps that raised it")
print(f"{'rate':>5} {'2/η':>6} {'epoch 1':>8} {'lowest':>7} {'median':>7} {'highest':>8} "
      f"{'loss 1':>7} {'loss 1200':>10} {'steps up':>9}")
for lr, (net, tracker, loss) in runs.items():
    ratio = np.array(tracker.values) / (2 / lr)
    late = ratio[np.array(tracker.epochs) > 600]
    print(f"{lr:>5} {2 / lr:>6.3f} {ratio[0]:>8.2f} {ratio[:20].min():>7.2f} "
          f"{np.median(late):>7.2f} {late.max():>8.2f} {loss[0]:>7.4f} {loss[-1]:>10.4f} "
          f"{np.sum(np.diff(loss) > 0):>9}")

# %% [markdown]
# At 0.5 the threshold $2/\eta = 4$ is far above anything the network
# reaches: every step lowers the loss, as the bowl picture promises. At 2
# and 3 the sharpness first drops (the first steps leave the sharp region
# around the initial weights), then *rises* during training ("progressive
# sharpening"): at rate 2 it climbs to about two thirds of $2/\eta = 1$ in
# 1,200 epochs; at rate 3 it meets $2/\eta = 0.67$ and stays there, never far
# above it. There the loss goes up at hundreds of steps, yet falls overall,
# and ends lower than at either smaller rate.

# %%
figure = Figure(figsize=(11, 6.4), layout="constrained")
axes = figure.subplots(2, len(RATES), sharex=True, height_ratios=[3, 2])
for k, (lr, (net, tracker, loss)) in enumerate(runs.items()):
    top, bottom = axes[0, k], axes[1, k]
    top.axhline(2 / lr, color="black", linestyle="--", linewidth=1.2, label="2/η")
    top.plot(tracker.epochs, tracker.values, color="C3", linewidth=1.2, label="λ_max")
    top.set_ylim(0, max(2 / lr, max(tracker.values)) * 1.2)
    top.set_title(f"rate η = {lr}")
    top.grid(alpha=0.3)
    top.legend(fontsize=8, loc="lower right")
    bottom.plot(np.arange(1, EPOCHS + 1), loss, color="C0", linewidth=0.8)
    bottom.set_yscale("log")
    bottom.set_xlabel("epoch (one full-batch step)")
    bottom.grid(alpha=0.3)
axes[0, 0].set_ylabel("sharpness λ_max")
axes[1, 0].set_ylabel("training loss")
figure

# %% [markdown]
# This is the *edge of stability* (Cohen, Kaur, Li, Kolter & Talwalkar,
# "Gradient Descent on Neural Networks Typically Occurs at the Edge of
# Stability", ICLR 2021). The bowl picture says a rate is either stable or
# not; a network is not a fixed bowl. Gradient descent keeps moving to
# sharper regions until the sharpness reaches $2/\eta$; there each overshoot
# along the top eigenvector pushes the weights somewhere a little flatter,
# and the sharpness hovers at the threshold while the loss keeps falling,
# non-monotonically. The rate did not make training fail: it chose how sharp
# a region training may end in.
#
# ## Raising the rate at the edge
#
# Take the network trained at rate 3, sitting at its edge, and go on at a
# larger rate. Its sharpness is now above the new $2/\eta$ at once.

# %%
edge_net = runs[3.0][0]
at_edge = edge_net.get_weights()
lam = hessian_eigenvalues(edge_net, X, y, k=1).values[0]
print(f"at the edge: λ_max = {lam:.3f}, 2/3 = {2 / 3:.3f}")
raised = {}
for lr in (4.0, 6.0, 10.0, 20.0):
    edge_net.set_weights(at_edge)
    history = gn.train(edge_net, X, y, lr=lr, epochs=150)
    after = hessian_eigenvalues(edge_net, X, y, k=1).values[0]
    raised[lr] = np.array(history.loss)
    print(f"rate {lr:>4}: 2/η = {2 / lr:.3f}, ηλ_max = {lr * lam:.2f}; loss "
          f"{raised[lr][0]:.4f} -> peak {raised[lr].max():.3f} -> {raised[lr][-1]:.4f}; "
          f"λ_max afterwards {after:.3f}")
edge_net.set_weights(at_edge)

figure = Figure(figsize=(6.4, 4), layout="constrained")
ax = figure.add_subplot()
for lr, loss in raised.items():
    ax.plot(np.arange(1, len(loss) + 1), loss, label=f"η = {lr:g}")
ax.axhline(0.647, color="0.4", linestyle=":", label="predicting the base rate")
ax.set_yscale("log")
ax.set_xlabel("epoch after raising the rate")
ax.set_ylabel("training loss")
ax.set_title("From the edge at η = 3, a larger rate")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
figure

# %% [markdown]
# With $\eta\lambda_{max}$ just above 2 (rate 4) the overshoot is mild: the
# loss jumps sixfold, the weights slide to a region flat enough for the new
# rate ($\lambda_{max}$ 0.43 against $2/\eta = 0.5$) and the loss falls
# below where it was. Past that the loss jumps by a factor of 600 to 1,200
# within a few steps: the growth by $|1 - \eta\lambda|$ per step of the bowl
# picture. At rate 6 the jump throws the weights into a
# region flat enough for the new rate (the "catapult"), and training
# recovers, though to a loss four times the one it left; at 10 and 20 the
# network ends worse than predicting the base rate, bouncing between two
# bad points or with its ReLU units pushed where they no longer learn. With a cross-entropy
# loss the explosion is bounded (the sigmoid saturates), so "diverge" here
# means training destroyed, not a loss of infinity; with squared error it can
# be infinite, which is when `glassnet train` stops and says so.
#
# ## The spectrum before and after training
#
# Not only the top eigenvalue. `hessian_eigenvalues` runs Lanczos for a few
# at either end, `hessian_trace` estimates $\operatorname{tr} H = \sum_i
# \lambda_i$ by Hutchinson's method ($E[z^\top H z]$ for random $\pm 1$
# vectors $z$) with its standard error, and `spectral_density` gives the
# density of all 166 eigenvalues by stochastic Lanczos quadrature (the
# method of PyHessian).

# %%
initial = gn.Network.from_sizes([9, 15, 1], activation="relu", seed=1)
trained = runs[0.5][0]  # the calm run: at a minimum, not at the edge
densities = {}
for name, network in (("initial", initial), ("trained (η = 0.5)", trained)):
    top = hessian_eigenvalues(network, X, y, k=5)
    bottom = hessian_eigenvalues(network, X, y, k=3, which="smallest")
    trace = hessian_trace(network, X, y, samples=200, seed=0)
    densities[name] = spectral_density(network, X, y, vectors=10, steps=60, sigma=0.01,
                                       seed=0)
    print(f"{name}:")
    print("  top 5     ", np.round(top.values, 4))
    print("  smallest 3", np.round(bottom.values, 5))
    print(f"  trace {trace.value:.3f} ± {trace.standard_error:.3f} (Hutchinson, 200 probes)")

figure = Figure(figsize=(6.4, 4), layout="constrained")
ax = figure.add_subplot()
for name, result in densities.items():
    ax.plot(result.grid, result.density, label=name)
ax.set_yscale("log")
ax.set_ylim(1e-3, 2 * max(result.density.max() for result in densities.values()))
ax.set_xlabel("eigenvalue of the Hessian (each broadened by a Gaussian, σ = 0.01)")
ax.set_ylabel("density (integrates to 1)")
ax.set_title("Eigenvalue density, stochastic Lanczos quadrature")
ax.grid(alpha=0.3)
ax.legend()
figure

# %% [markdown]
# Most of the 166 eigenvalues sit near zero: most directions of weight space
# barely change the loss. A handful of outliers carry the curvature, and the
# largest sets the usable rate. Negative eigenvalues (directions in which the
# loss curves *down*) are there at the start and nearly gone after training,
# the sign of a minimum rather than a saddle. After training the sharpness
# is lower than at the start, and the safe rate $2/\lambda_{max}$ higher.
#
# ## From the command line
#
# ```bash
# glassnet train wisconsin --hidden 15 --solver sgd --momentum 0 --batch-size full \
#     --lr 3 --epochs 1200 --scale minmax --track-sharpness
# ```
#
# measures $\lambda_{max}$ about 100 times per run (`--track-sharpness 5`:
# every 5 epochs) and writes it to `history.csv` (column `sharpness`),
# `metrics.json` and `sharpness.png`, beside the threshold for the run's
# optimiser ($(2 + 2\beta)/\eta$ with heavy-ball momentum $\beta$; none for
# Adam, whose step adapts per weight). `glassnet landscape --directions
# hessian` draws the loss on the plane of the top two eigenvectors.
#
# **Next**: back to the [tutorials](index.md).
