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
# # 7. From scikit-learn to glassnet
#
# **In the browser**: [open this lesson in the playground](../playground/index.html#data=wisconsin&hidden=15&act=relu&opt=adam&lr=0.001&batch=200&seed=0&train=80): MLPClassifier's defaults: 15 ReLU units, Adam at 0.001, batches of 200.
#
# **Reproduces** an ordinary scikit-learn workflow: the Wisconsin data (683
# rows), a stratified 80/20 split with `random_state=0`, a pipeline of
# `StandardScaler` and `MLPClassifier(hidden_layer_sizes=(15,),
# max_iter=1000, random_state=0)` (**seed 0**), Adam and the other defaults.
#
# **Adds**: the same pipeline with one import changed; the check that one
# gradient-descent step from the same weights gives both libraries the same
# new weights; a model already fitted by scikit-learn converted without
# refitting; and then what only a glass box offers: the fitted model opened
# as an engine `Network`, its gradients checked against finite differences at
# the fitted weights, and the loss landscape around the solution it found.

# %%
import warnings

import numpy as np
from matplotlib.figure import Figure
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from glassnet.datasets import load_wisconsin

X, y = load_wisconsin(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)

sk_pipe = make_pipeline(
    StandardScaler(),
    SklearnMLP(hidden_layer_sizes=(15,), max_iter=1000, random_state=0),
)
sk_pipe.fit(X_train, y_train)
sk = sk_pipe[-1]
print(
    f"scikit-learn: test accuracy {sk_pipe.score(X_test, y_test):.4f}, "
    f"{sk.n_iter_} epochs, final loss {sk.loss_:.4f}"
)

# %% [markdown]
# ## Change one import
#
# `from glassnet import MLPClassifier` instead of
# `from sklearn.neural_network import MLPClassifier`, and nothing else:

# %%
from glassnet import MLPClassifier  # the one changed line

gn_pipe = make_pipeline(
    StandardScaler(),
    MLPClassifier(hidden_layer_sizes=(15,), max_iter=1000, random_state=0),
)
gn_pipe.fit(X_train, y_train)
clf = gn_pipe[-1]
print(
    f"glassnet:     test accuracy {gn_pipe.score(X_test, y_test):.4f}, "
    f"{clf.n_iter_} epochs, final loss {clf.loss_:.4f}"
)
print(
    "same fitted attributes:",
    [
        a
        for a in (
            "coefs_",
            "intercepts_",
            "loss_curve_",
            "n_iter_",
            "classes_",
            "out_activation_",
        )
        if hasattr(clf, a) and hasattr(sk, a)
    ],
)
print(
    "coefs_ shapes:", [w.shape for w in clf.coefs_], "and", [w.shape for w in sk.coefs_]
)

# %% [markdown]
# The numbers differ a little because the two libraries draw different
# initial weights from the same `random_state` (glassnet uses a
# `numpy.random.Generator`, scikit-learn NumPy's legacy `RandomState`), and
# Adam then follows a different path. From the *same* weights they take the
# same step. With `warm_start=True` both estimators keep the `coefs_` they
# are given; one epoch of full-batch gradient descent without momentum is one
# step $W \leftarrow W - \eta\,(dW + \tfrac{\alpha}{m} W)$:

# %%
Xs = StandardScaler().fit_transform(X_train)
rng = np.random.default_rng(0)
start_W = [rng.normal(0, 0.3, (9, 15)), rng.normal(0, 0.3, (15, 1))]
start_b = [np.zeros(15), np.zeros(1)]


def one_step(estimator_class):
    est = estimator_class(
        hidden_layer_sizes=(15,),
        solver="sgd",
        learning_rate_init=0.1,
        momentum=0.0,
        batch_size=len(Xs),
        shuffle=False,
        max_iter=1,
        warm_start=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 on purpose
        est.fit(Xs, y_train)  # initialises coefs_ (thrown away below)
        est.coefs_ = [w.copy() for w in start_W]
        est.intercepts_ = [b.copy() for b in start_b]
        est.fit(Xs, y_train)  # one step from start_W, start_b
    return est


after_sk, after_gn = one_step(SklearnMLP), one_step(MLPClassifier)
for name, a, b in [
    ("W1", after_sk.coefs_[0], after_gn.coefs_[0]),
    ("b1", after_sk.intercepts_[0], after_gn.intercepts_[0]),
    ("W2", after_sk.coefs_[1], after_gn.coefs_[1]),
    ("b2", after_sk.intercepts_[1], after_gn.intercepts_[1]),
]:
    print(
        f"{name}: max |scikit-learn - glassnet| after one step = "
        f"{np.abs(a - b).max():.1e}"
    )

# %% [markdown]
# ## Already fitted with scikit-learn?
#
# No need to refit: `glassnet.io.from_sklearn` turns a fitted scikit-learn
# MLP into a fitted glassnet estimator with the same weights (copied), and
# `to_sklearn` goes the other way.

# %%
from glassnet.io import from_sklearn

converted = from_sklearn(sk)
print(type(converted).__module__, type(converted).__name__)
same = np.abs(
    converted.predict_proba(sk_pipe[0].transform(X_test))
    - sk_pipe.predict_proba(X_test)
).max()
print(f"max |glassnet - scikit-learn| probability on the test rows: {same:.1e}")

# %% [markdown]
# ## Open the fitted model in the glass box
#
# A fitted estimator holds its weights in `coefs_` and `intercepts_`, with
# glassnet's shape convention (`W` is `(fan_in, fan_out)`). `clf.network_` is
# the engine `Network` built around those very arrays, without copies (its
# layers *are* `coefs_[i]` and `intercepts_[i]`, its loss and L2 penalty the
# estimator's), so whatever the engine computes, it computes for the fitted
# model.

# %%
import glassnet as gn

net = clf.network_
print(net)
print("shares the estimator's arrays:", net.layers[0].W is clf.coefs_[0])

scaler = gn_pipe[0]
Xs_train, Xs_test = scaler.transform(X_train), scaler.transform(X_test)
p_net = net.output(Xs_test).ravel()
p_clf = clf.predict_proba(Xs_test)[:, 1]
print(
    "max |network - estimator| probability on the test rows:",
    f"{np.abs(p_net - p_clf).max():.1e}",
)
print(
    "loss at the fitted weights (L2 penalty included):",
    f"{net.compute_loss(Xs_train, y_train):.5f}",
)

# %% [markdown]
# ### Are its gradients right, here?
#
# The gradient check compares backpropagation with central differences at the
# fitted weights, on the training rows, L2 penalty included:

# %%
check = gn.gradient_check(net, Xs_train, y_train)
print(check)
print("passed:", check.passed(1e-6))

# %% [markdown]
# ### What the gradient says about the fit
#
# At a minimum of the training loss the gradient is zero. Adam stopped when
# the loss improved by less than `tol` for 10 epochs, close to but not at a
# minimum; the gradient at the fitted weights, layer by layer:

# %%
X_checked, Y_checked, _ = net.check_data(
    Xs_train, y_train
)  # the arrays the engine uses
net.loss_and_gradients(X_checked, Y_checked)
for name, p, g in zip(net.parameter_names(), net.parameters(), net.gradients()):
    print(
        f"{name}: ||grad|| = {np.linalg.norm(g):.2e}   "
        f"||param|| = {np.linalg.norm(p):.2f}"
    )

# %% [markdown]
# ### The landscape around the solution
#
# The loss is a function of all 166 weights. To look at it, cut it with a plane
# through the fitted weights $\theta^*$ spanned by two random directions
# $\delta, \eta$: $f(a, b) = L(\theta^* + a\delta + b\eta)$. Each direction is
# *filter-normalised* (Li et al., 2018): every hidden unit's slice of it is
# rescaled to the norm of that unit's own weights, so $a = 1$ moves each unit
# by as much as its own size and the picture does not depend on how the
# weights happen to be scaled.

# %%
from glassnet import landscape as ls

d1 = ls.random_direction(net, rng=1)
d2 = ls.random_direction(net, rng=2)
coords = np.linspace(-1, 1, 41)
grid = ls.grid_loss(net, Xs_train, y_train, d1, d2, coords, coords)
line = ls.line_loss(net, Xs_train, y_train, d1, coords)
print(
    f"loss at the centre {grid[20, 20]:.4f}, lowest on the plane {grid.min():.4f}, "
    f"highest {grid.max():.4f}"
)

figure = Figure(figsize=(11.5, 4.4), layout="constrained")
ax = figure.add_subplot(1, 2, 1)
contours = ax.contourf(coords, coords, np.log10(grid), levels=30, cmap="viridis")
ax.contour(coords, coords, np.log10(grid), levels=15, colors="white", linewidths=0.4)
ax.plot(0, 0, "r*", markersize=12, label="fitted weights")
ax.set_xlabel("a (along δ)")
ax.set_ylabel("b (along η)")
ax.set_title("log10 training loss on a random plane")
ax.legend(loc="upper right")
figure.colorbar(contours, ax=ax)
ax = figure.add_subplot(1, 2, 2)
ax.plot(coords, line)
ax.axvline(0, color="0.5", linestyle=":")
ax.set_yscale("log")
ax.set_xlabel("a")
ax.set_ylabel("training loss")
ax.set_title("the line b = 0")
figure

# %% [markdown]
# The fitted weights sit near the bottom of a basin: the lowest point of the
# plane is barely below them (the gradient above is small, not zero), and the
# loss grows in every direction: about twice its value one filter-normalised
# unit away along $\delta$, ten times in the plane's corners. How wide the basin is, measured in filter-normalised units, is one
# of the "sharpness" measures that Li et al. relate to how well a network
# generalises. The [how-to guide](../how-to/plot-landscape.md) draws
# optimisers' paths on such a landscape.
#
# Anything else the engine does applies to this network too: `gn.train(net,
# ...)` continues training the estimator's own arrays, and
# `glassnet.io.save_model` writes them to a model file.
