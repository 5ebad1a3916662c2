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
# # 3. Optimisers on the loss landscape
#
# **In the browser**: [open this lesson in the playground](../playground/index.html#data=wisconsin&scale=minmax&hidden=15&act=relu&init=scaled_normal&seed=1&opt=momentum&lr=0.1&batch=full): the network with momentum at a base rate of 0.1; train, then draw the loss landscape of the run.
#
# **Reproduces** the picture the first tutorial is known for, a ball rolling
# down the loss surface for plain SGD, momentum, learning-rate annealing and a
# too-large learning rate, with the settings of `glassnet landscape
# wisconsin`: the 9-15-1 ReLU network of [Tutorial 1](01_backprop_by_hand.md)
# on all 683 rows (min-max scaled), weights $\mathcal N(0,1)/\sqrt{n_\text{in}}$
# with **seed 1**, every optimiser starting from those same weights, full-batch
# steps at a base rate of 0.1 for 200 epochs.
#
# **Adds**: how a plane is cut through a space of 166 weights (principal
# components of the paths, filter-normalised random directions, after Li, Xu,
# Taylor, Studer and Goldstein, "Visualizing the Loss Landscape of Neural
# Nets", NeurIPS 2018); how far each path lies off that plane, as the true
# loss along the path against the loss the surface shows under it; and why
# the large rate bounces, measured with the sharpness $\lambda_\text{max}$.

# %%
import numpy as np
from matplotlib.figure import Figure

import glassnet as gn
from glassnet import landscape as ls
from glassnet.curvature import sharpness
from glassnet.datasets import load_wisconsin
from glassnet.plots import landscape_figure

X, y = load_wisconsin(return_X_y=True)
X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))


def tutorial_network():
    return gn.Network.from_sizes(
        [9, 15, 1],
        activation="relu",
        output_activation="sigmoid",
        init="scaled_normal",
        seed=1,
    )


result = ls.compare_optimizers(
    tutorial_network(),
    X,
    y,
    optimizers=("sgd", "momentum", "annealing", "large-lr"),
    lr=0.1,
    epochs=200,
    seed=1,
)
print(
    f"sharpness at plain SGD's final weights: λ_max = {result.sharpness:.4f}, "
    f"2/λ_max = {2 / result.sharpness:.3f}; large rate = {result.large_lr:.3f}"
)
print(f"{'optimizer':<10} {'rate':<22} {'final loss':>10} {'rises':>6} {'max gap':>8}")
for name in result.paths:
    print(
        f"{name:<10} {result.rates[name]:<22} {result.final_loss[name]:>10.4f} "
        f"{ls.count_rises(result.path_loss[name]):>6} {result.gap(name):>8.4f}"
    )

# %% [markdown]
# The four optimisers, from the same start:
#
# - **sgd**: $\theta \leftarrow \theta - \eta\, \nabla L(\theta)$ at
#   $\eta = 0.1$: it descends steadily, and slowly.
# - **momentum**: a velocity $v \leftarrow \mu v + \nabla L$,
#   $\theta \leftarrow \theta - \eta v$ with $\mu = 0.9$, so consistent
#   gradients add up to steps up to ten times longer.
# - **large-lr**: plain SGD at a rate past the valley's stability limit (next
#   section), reached by a short warm-up: its loss rises and falls several
#   times (the "rises" column) yet ends lowest.
# - **annealing**: the large rate for half the run, then decayed to a tenth
#   of the base rate: it bounces first, then settles into the valley it
#   found, and ends below plain SGD.
#
# ## One plane through 166 dimensions
#
# The loss $L(\theta)$ is a function of all 166 weights. A picture needs two
# coordinates, so we cut the space with a plane through a centre
# $\theta_c$ spanned by two directions $\delta, \eta$ and draw
# $f(a, b) = L(\theta_c + a\delta + b\eta)$ on a grid of $(a, b)$: one
# vectorised forward pass per block of grid points. Which plane?
#
# - **Along the paths** (Li et al., section 7): the principal components of
#   the recorded weights' displacements from the centre, the two directions in
#   which the paths spread most. glassnet puts the centre at the start that
#   every path shares and chooses, among such components, the pair that keeps
#   the drawn loss closest to the true loss.
# - **Random, filter-normalised** (Li et al., section 4), below: the best
#   view of the basin around one set of weights.
#
# The figure: contours of $f$, each path drawn at its projection onto the
# plane, and underneath the true loss along each path (solid) beside the loss
# the surface shows under it (dotted).

# %%
landscape_figure(result, title="Wisconsin 9-15-1")

# %% [markdown]
# ## How far each path lies off the plane
#
# A plane shows only part of a path. A recorded point $\theta$ is drawn at its
# projection $\theta_\parallel$ onto the plane, at the height
# $L(\theta_\parallel)$ of the surface there, while the optimiser was really
# at $L(\theta)$. Two numbers say how much this hides: the *gap*
# $|L(\theta) - L(\theta_\parallel)|$, and the *off-plane fraction*
# $\lVert \theta - \theta_\parallel \rVert / \lVert \theta - \theta_c \rVert$,
# the sine of the angle between the displacement and the plane (0: in it;
# 1: perpendicular).

# %%
figure = Figure(figsize=(11, 3.8), layout="constrained")
gaps, offs = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
for name in result.paths:
    epochs = np.asarray(result.steps[name]) / result.steps_per_epoch
    gaps.plot(epochs, result.path_loss[name] - result.plane_loss[name], label=name)
    offs.plot(epochs, result.off_plane[name], label=name)
gaps.axhline(0, color="0.5", lw=0.8)
gaps.set_title("true loss minus drawn loss along each path")
offs.set_title("fraction of the displacement off the plane")
for ax in (gaps, offs):
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
figure

# %%
for name in result.paths:
    print(
        f"{name:<10} worst gap {result.gap(name):.4f}, "
        f"off the plane: mean {result.off_plane[name].mean():.0%}, "
        f"at the end {result.off_plane[name][-1]:.0%}"
    )
print(
    f"the plane's two directions hold {result.explained.sum():.0%} of the paths' spread"
)

# %% [markdown]
# The drawn heights are within a few hundredths of the true ones, although
# 15 to 30 % of each displacement lies off the plane: the loss changes
# little in the directions the plane leaves out. A plane through the paths'
# *end* instead would leave the shared start far off it, drawing it in the
# valley while it truly sits on the hill; that is why glassnet anchors the
# plane at the start, where the loss is highest and changes fastest.
#
# ## Why the large rate bounces
#
# Near the valley floor the loss is close to a quadratic,
# $L(\theta^* + d) \approx L^* + \tfrac12 d^\top H d$ with $H$ the Hessian. A
# gradient step maps the offset $d \leftarrow (I - \eta H)\, d$; along an
# eigenvector of $H$ with eigenvalue $\lambda$ it multiplies the offset by
# $1 - \eta\lambda$. For $\eta < 1/\lambda$ the offset shrinks smoothly, for
# $1/\lambda < \eta < 2/\lambda$ it flips sign and shrinks (a damped zig-zag
# across the valley), and for $\eta > 2/\lambda$ it flips and *grows*: every
# step overshoots the floor by more than it started, and the loss goes up.
# The largest eigenvalue $\lambda_\text{max}$, the *sharpness*, decides:
# `glassnet.curvature.sharpness` finds it by power iteration on exact
# Hessian-vector products (two backward passes each, never the 166 × 166
# Hessian).
#
# Below, plain SGD is trained to its end at the base rate, the sharpness and
# its eigenvector $v$ are measured there, and then three rates are tried from
# a point nudged 0.5 along $v$, ten steps each. Left: the offset along $v$
# after each step. Right: the same steps on a plane through the valley floor
# spanned by $v$ and by the direction $w$ (orthogonal to $v$) in which the
# runs drift, with the loss drawn on it.

# %%
Xc, Yc, _ = tutorial_network().check_data(X, y)
net = tutorial_network()
gn.train(net, X, y, optimizer="sgd", lr=0.1, epochs=200)
measured = sharpness(net, X, y)
v = measured.vector  # unit length, in the order of ls.flatten(net.parameters())
print(
    f"λ_max = {measured.value:.4f} ({measured.iterations} products), "
    f"2/λ_max = {measured.stable_rate:.3f}"
)

valley = ls.flatten(net.parameters())
runs = {}
for factor in (0.5, 1.5, 2.4):
    trial = tutorial_network()
    trial.set_weights(ls.unflatten(valley + 0.5 * v, trial.parameters()))
    optimizer = gn.SGD(lr=factor / measured.value)
    points = []
    for _ in range(10):
        points.append(ls.flatten(trial.parameters()))
        trial.loss_and_gradients(Xc, Yc)
        optimizer.step(trial.parameters(), trial.gradients())
    runs[factor] = np.array(points)

# w: the main direction of the runs' displacement once the part along v is removed
M = np.vstack(list(runs.values())) - valley
w = np.linalg.svd(M - np.outer(M @ v, v), full_matrices=False)[2][0]
like = net.parameters()
a_axis, b_axis = np.linspace(-2.5, 2.5, 41), np.linspace(-4, 1, 41)
surface = ls.grid_loss(
    net,
    X,
    y,
    ls.unflatten(v, like),
    ls.unflatten(w, like),
    a_axis,
    b_axis,
    center=ls.unflatten(valley, like),
)

figure = Figure(figsize=(12, 4.6), layout="constrained")
offsets, plane = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
filled = plane.contourf(
    a_axis,
    b_axis,
    surface,
    levels=np.geomspace(surface.min(), surface.max(), 25),
    cmap="Blues_r",
)
figure.colorbar(filled, ax=plane, label="loss", format="%.2g")
for factor, points in runs.items():
    label = f"η = {factor:g}/λ_max = {factor / measured.value:.2f}"
    coords = ls.project(points, valley, v, w)
    offsets.plot(coords[:, 0], "o-", ms=3, label=label)
    plane.plot(coords[:, 0], coords[:, 1], "o-", ms=3, label=label)
    worst = ls.off_plane_fraction(points, valley, v, w).max()
    print(f"{label}: at most {worst:.0%} of a displacement off this plane")
offsets.axhline(0, color="0.5", lw=0.8)
offsets.set_xlabel("step")
offsets.set_ylabel("offset along v")
offsets.set_title("the offset along the sharpest direction v")
plane.plot(0, 0, "*", color="white", ms=14, mec="black", label="plain SGD's end")
plane.set_xlabel("a (along v, the sharpest direction)")
plane.set_ylabel("b (along w)")
plane.set_title("the same steps on the plane (v, w) through the valley floor")
for ax in (offsets, plane):
    ax.legend(fontsize=8)
figure

# %% [markdown]
# The valley is a narrow trough: steep along $v$, nearly flat along $w$. At
# $0.5/\lambda_\text{max}$ the offset decays without changing sign and the
# run slides to the floor; at $1.5/\lambda_\text{max}$ it zig-zags across the
# floor and dies out; at $2.4/\lambda_\text{max}$ each step overshoots the
# floor by more than the last, the run bounces from wall to wall, and it
# settles only after it has been thrown along the trough to where the valley
# is flatter (a smaller $\lambda_\text{max}$). That is where the `large-lr`
# run ends: gradient descent "at the edge of stability" (Cohen et al., ICLR
# 2021). The `large-lr` preset runs at $1.35 \times 2/\lambda_\text{max}$,
# enough to bounce and still end low. (The bouncing run stays close to this
# plane; the two gentler runs also slide along other shallow directions, so
# most of their small displacement lies off it, as printed above.)
#
# ## A random plane: the basin
#
# Two random directions in 166 dimensions are almost orthogonal to any path,
# so a random plane shows the *basin* around one set of weights rather than
# a journey. Li et al. make such planes comparable by **filter
# normalisation**: for every hidden unit $j$, the slice of the direction that
# moves its incoming weights $W_{:,j}$ is rescaled to the norm of those
# weights, $d_j \leftarrow d_j \lVert W_{:,j} \rVert / \lVert d_j \rVert$.
# A step of 1 then moves every unit by as much as its own size, and a ReLU
# network, which does not change when a unit's incoming weights are scaled up
# and its outgoing ones down, cannot look sharper or flatter just by such a
# rescaling. glassnet draws the plane through plain SGD's final weights on
# $\pm 1$ and draws no paths on it:

# %%
basin = ls.compare_optimizers(
    tutorial_network(),
    X,
    y,
    optimizers=("sgd",),
    lr=0.1,
    epochs=200,
    seed=1,
    directions="random",
    resolution=41,
)
print(f"sgd's path lies {basin.off_plane['sgd'].mean():.0%} off the random plane")
landscape_figure(basin, title="Wisconsin 9-15-1")

# %% [markdown]
# The same pictures from the command line, with a GIF of the balls rolling at
# their true heights:
#
# ```bash
# glassnet landscape wisconsin
# glassnet landscape wisconsin --directions random
# ```
#
# **Next**: [Tutorial 4](04_heart_vs_libraries.md) trains the second
# tutorial's network and compares it with scikit-learn.
