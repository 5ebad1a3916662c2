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
# # 1. Backpropagation by hand, for the Wisconsin 9-15-1 network
#
# **In the browser**: [open this lesson in the playground](../playground/index.html#data=wisconsin&scale=minmax&hidden=15&act=relu&init=scaled_normal&seed=1&opt=sgd&lr=0.07&batch=full): the 9-15-1 ReLU network on the Wisconsin data, min-max scaled, seed 1, full-batch SGD; press step and open the step inspector to see this page's forward and backward pass on one row.
#
# **Reproduces** the first tutorial's network: the Breast Cancer Wisconsin
# (Original) data with the 16 rows that contain `?` dropped (683 left), the 9
# features min-max scaled to $[0, 1]$, the first 500 rows for training; a
# network of 9 inputs, 15 ReLU units and 1 sigmoid output; weights drawn from a
# standard normal divided by $\sqrt{n_\text{in}}$ with **seed 1**, biases
# zero; binary cross-entropy.
#
# **Adds**: every step of one forward and one backward pass for a batch of
# three samples, each formula derived, printed with glassnet's own numbers next
# to one line of plain NumPy that computes the same formula; the gradient check
# that confirms them; and the shape conventions (samples as rows here, as
# columns in the original tutorial) with every formula transposed.

# %%
import numpy as np

import glassnet as gn
from glassnet.datasets import load_wisconsin

X, y = load_wisconsin(return_X_y=True)
X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))  # min-max to [0, 1]
X_train, y_train = X[:500], y[:500]
print(
    X.shape,
    "rows and features;",
    int(y.sum()),
    "malignant,",
    int((1 - y).sum()),
    "benign",
)

net = gn.Network.from_sizes(
    [9, 15, 1],
    activation="relu",
    output_activation="sigmoid",
    loss="binary_cross_entropy",
    init="scaled_normal",
    seed=1,
)
print(net)
for name, p in zip(net.parameter_names(), net.parameters()):
    print(f"{name}: shape {p.shape}")

# %% [markdown]
# glassnet puts **samples in rows**: a batch $X$ is $(m, 9)$ and the first
# layer's $W_1$ is $(9, 15)$, one column per hidden unit. (The original
# tutorial puts samples in columns; the last section shows how every formula
# transposes.)
#
# Our batch is three training rows, chosen so that both classes appear
# (rows 4 to 6: benign, malignant, benign).

# %%
X3, y3 = X_train[4:7], y_train[4:7]
Xb, Y, _ = net.check_data(X3, y3)  # the arrays the engine computes with: Y is (3, 1)
m = Xb.shape[0]
W1, b1, W2, b2 = net.parameters()
print("X  =\n", X3.round(3))
print("Y  =", Y.ravel())


def side_by_side(name, engine, numpy_value):
    """Print glassnet's array and the NumPy one-liner's, and how far apart they are."""
    engine, numpy_value = np.asarray(engine), np.asarray(numpy_value)
    diff = np.abs(engine - numpy_value).max()
    print(f"{name}: shape {engine.shape}, max |glassnet - numpy| = {diff:.1e}")
    if engine.size <= 6:
        print("  glassnet:", engine.ravel().round(6))
        print("  numpy:   ", numpy_value.ravel().round(6))
    assert diff < 1e-12, name


# %% [markdown]
# ## The forward pass
#
# Each layer multiplies, adds the bias (broadcast over the rows) and applies
# its activation:
#
# $$
# Z_1 = X W_1 + b_1, \qquad A_1 = \operatorname{ReLU}(Z_1) = \max(0, Z_1), \qquad
# Z_2 = A_1 W_2 + b_2, \qquad \hat Y = A_2 = \sigma(Z_2) = \frac{1}{1 + e^{-Z_2}}.
# $$
#
# Shapes: $(3, 9)\cdot(9, 15) = (3, 15)$ for $Z_1$ and $A_1$, then
# $(3, 15)\cdot(15, 1) = (3, 1)$ for $Z_2$ and $\hat Y$: one probability of
# "malignant" per sample.
#
# Each glassnet layer's `forward` computes its $A = f(XW + b)$ and keeps what
# the backward pass needs (its input and its output); the NumPy lines compute
# the same formulas from the same weights.

# %%
hidden, output = net.layers
A1_engine = hidden.forward(Xb).copy()
Yhat = output.forward(A1_engine).copy()

Z1 = Xb @ W1 + b1
A1 = np.maximum(0, Z1)
Z2 = A1 @ W2 + b2
Yhat_numpy = 1 / (1 + np.exp(-Z2))

side_by_side("A1 = relu(X W1 + b1)", A1_engine, A1)
side_by_side("Yhat = sigmoid(A1 W2 + b2)", Yhat, Yhat_numpy)
print("Z2 =", Z2.ravel().round(6))

# %% [markdown]
# ## The loss
#
# Binary cross-entropy averaged over the $m$ samples:
#
# $$
# L = -\frac{1}{m} \sum_{i=1}^{m} \Big[ y_i \log \hat y_i + (1 - y_i) \log (1 - \hat y_i) \Big].
# $$
#
# It is the negative log-likelihood of the labels when $\hat y_i$ is the
# probability of class 1: confident right answers cost almost nothing,
# confident wrong ones cost a lot.

# %%
L_engine = net.loss.value(Y, Yhat)
L_numpy = -np.mean(Y * np.log(Yhat_numpy) + (1 - Y) * np.log(1 - Yhat_numpy))
side_by_side("L", L_engine, L_numpy)

# %% [markdown]
# ## The backward pass, one gradient at a time
#
# Notation: $dZ$ means $\partial L / \partial Z$, an array of the same shape as
# $Z$; likewise $dW$, $db$, $dA$. The chain rule runs from the loss back to
# the input, one factor per line.
#
# ### The output layer: dZ2 = (Ŷ − Y)/m
#
# The loss's derivative with respect to each prediction, and the sigmoid's
# derivative, are
#
# $$
# \frac{\partial L}{\partial \hat y_i} = -\frac{1}{m}\left(\frac{y_i}{\hat y_i} - \frac{1 - y_i}{1 - \hat y_i}\right),
# \qquad
# \frac{\partial \hat y_i}{\partial z_i} = \sigma(z_i)\big(1 - \sigma(z_i)\big) = \hat y_i (1 - \hat y_i).
# $$
#
# Their product simplifies, because the denominators cancel:
#
# $$
# dZ_2 = -\frac{1}{m}\Big(y_i (1 - \hat y_i) - (1 - y_i)\hat y_i\Big) = \frac{\hat Y - Y}{m}.
# $$
#
# glassnet computes this fused form directly (`loss.delta`), with no division
# by $\hat y (1 - \hat y)$, which would blow up when a probability saturates.
# Below: the two factors multiplied (the loss's `gradient` and the sigmoid's
# `backward`), the fused formula, and the engine's `delta`.

# %%
dYhat_engine = net.loss.gradient(Y, Yhat)  # dL/dŶ
dZ2_chain = output.activation.backward(dYhat_engine, Yhat)  # times σ'(Z2)
dZ2_engine = net.loss.delta(Y, Yhat)  # fused
dZ2 = (Yhat_numpy - Y) / m
side_by_side(
    "dL/dYhat", dYhat_engine, -(Y / Yhat_numpy - (1 - Y) / (1 - Yhat_numpy)) / m
)
side_by_side("dZ2 = dL/dYhat * sigmoid'(Z2)", dZ2_chain, dZ2)
side_by_side("dZ2 = (Yhat - Y)/m", dZ2_engine, dZ2)

# %% [markdown]
# ### Its weights: dW2 = A1ᵀ·dZ2 and db2 = Σ rows of dZ2
#
# $Z_2 = A_1 W_2 + b_2$, so entry $(j, k)$ of $W_2$ touches every sample's
# $z_{ik}$ through $a_{ij}$: $\partial L / \partial w_{jk} = \sum_i a_{ij}\, dz_{ik}$,
# which is the matrix product $A_1^\top dZ_2$, shape $(15, 3)\cdot(3, 1) = (15, 1)$,
# the shape of $W_2$. The bias is added to every row, so its gradient sums the
# rows: $db_2 = \mathbf{1}^\top dZ_2$. The $1/m$ of the average is already
# inside $dZ_2$.

#
# The output layer's `backward_from_dZ` stores both and returns $dA_1$ (next
# section) for the layer below.

# %%
dA1_engine = output.backward_from_dZ(dZ2_engine).copy()
dW2 = A1.T @ dZ2
db2 = dZ2.sum(axis=0)
side_by_side("dW2 = A1.T @ dZ2", output.dW, dW2)
side_by_side("db2 = dZ2.sum(axis=0)", output.db, db2)

# %% [markdown]
# ### Down to the hidden layer: dA1 = dZ2·W2ᵀ
#
# Each hidden output $a_{ij}$ feeds every output unit through $w_{jk}$:
# $\partial L / \partial a_{ij} = \sum_k dz_{ik} w_{jk}$, the product
# $dZ_2 W_2^\top$, shape $(3, 1)\cdot(1, 15) = (3, 15)$, the shape of $A_1$.
#
# ### The ReLU mask: dZ1 = dA1 ⊙ [Z1 > 0]
#
# $\operatorname{ReLU}'(z)$ is 1 where $z > 0$ and 0 elsewhere, so the
# gradient passes through the units that were active for that sample and
# stops at the others. The mask can be read from $A_1$ alone ($a > 0$ exactly
# when $z > 0$), which is why a glassnet layer keeps $A$ and not $Z$.

# %%
dA1 = dZ2 @ W2.T
mask = Z1 > 0
dZ1 = dA1 * mask
dZ1_engine = hidden.activation.backward(dA1_engine, hidden.A)  # ReLU's backward
print("active hidden units per sample:", mask.sum(axis=1), "of 15")
print("mask of sample 0:", mask[0].astype(int))
side_by_side("dA1 = dZ2 @ W2.T", dA1_engine, dA1)
side_by_side("dZ1 = dA1 * (Z1 > 0)", dZ1_engine, dZ1)

# %% [markdown]
# ### The first layer's weights: dW1 = Xᵀ·dZ1 and db1 = Σ rows of dZ1
#
# The same two formulas as for the output layer, one layer down: shape
# $(9, 3)\cdot(3, 15) = (9, 15)$, the shape of $W_1$. There is no $dX$ to
# compute: nothing below the first layer has weights.

# %%
hidden.backward_from_dZ(dZ1_engine, need_input_gradient=False)
dW1 = Xb.T @ dZ1
db1 = dZ1.sum(axis=0)
side_by_side("dW1 = X.T @ dZ1", hidden.dW, dW1)
side_by_side("db1 = dZ1.sum(axis=0)", hidden.db, db1)
print("dW1[:3, :5] =\n", dW1[:3, :5].round(6))

# %% [markdown]
# `net.loss_and_gradients(X, Y)` runs exactly these calls in this order
# (forward through the layers, the loss, `delta`, each layer's backward from
# the top) and leaves the same numbers in every layer's `dW` and `db`:

# %%
L = net.loss_and_gradients(Xb, Y)
side_by_side("L", L, L_numpy)
for name, grad, ours in zip(
    net.parameter_names(), net.gradients(), [dW1, db1, dW2, db2]
):
    side_by_side(name.replace("W", "dW").replace("b", "db"), grad, ours)

# %% [markdown]
# ## The gradient check
#
# The tutorial introduces the derivative as $(f(x + h) - f(x))/h$ with
# $h = 0.001$. That one-sided difference is off by about $\tfrac{h}{2} f''(x)$;
# the central difference $(f(x + h) - f(x - h))/(2h)$ cancels that term and
# is off by $O(h^2)$. For one weight:


# %%
def loss_now():
    return net.loss.value(Y, net.forward(Xb))


j, k = 0, int(np.argmax(mask.sum(axis=0)))  # a weight into a unit that is active
original = W1[j, k]
for h in (1e-3, 1e-6):
    W1[j, k] = original + h
    plus = loss_now()
    W1[j, k] = original - h
    minus = loss_now()
    W1[j, k] = original
    base = loss_now()
    print(
        f"h = {h:.0e}: one-sided {(plus - base) / h:+.12f}   "
        f"central {(plus - minus) / (2 * h):+.12f}"
    )
print(f"backpropagation:     {dW1[j, k]:+.12f}")

# %% [markdown]
# `gn.gradient_check` does this for every parameter with central differences
# and reports the relative error
# $\lVert g_\text{backprop} - g_\text{numeric} \rVert / (\lVert g_\text{backprop} \rVert + \lVert g_\text{numeric} \rVert)$
# per array. Around $10^{-10}$ in float64 means the formulas above are right; a
# wrong formula gives errors near 1.

# %%
check = gn.gradient_check(net, X3, y3)
print(check)
print("passed:", check.passed(1e-6))

# %% [markdown]
# ## Samples as rows, samples as columns
#
# The original tutorial stores one sample per **column**: its $X$ is
# $(9, m)$, its $W_1$ is $(15, 9)$ and it writes $Z_1 = W_1 X + b_1$. Its
# arrays are the transposes of ours, and transposing a product reverses it,
# $(AB)^\top = B^\top A^\top$, so each formula carries over:
#
# | step | samples as rows (glassnet) | samples as columns (the tutorial) |
# | --- | --- | --- |
# | layer | $Z = X W + b$, $W$ is $(n_\text{in}, n_\text{out})$ | $Z = W X + b$, $W$ is $(n_\text{out}, n_\text{in})$ |
# | output delta | $dZ_2 = (\hat Y - Y)/m$ | $dZ_2 = \hat Y - Y$ (the $1/m$ comes later) |
# | weights | $dW = X^\top dZ$ | $dW = \tfrac{1}{m}\, dZ\, X^\top$ |
# | bias | $db = \mathbf{1}^\top dZ$ (sum over rows) | $db = \tfrac{1}{m} dZ\, \mathbf{1}$ (sum over columns) |
# | downward | $dA_1 = dZ_2 W_2^\top$ | $dA_1 = W_2^\top dZ_2$ |
#
# The same computation in the tutorial's layout, from the same weights:

# %%
Xc = Xb.T  # (9, 3): one sample per column
W1c, W2c = W1.T, W2.T  # (15, 9) and (1, 15)
b1c, b2c = b1[:, None], b2[:, None]  # column vectors
Z1c = W1c @ Xc + b1c
A1c = np.maximum(0, Z1c)
Yhat_c = 1 / (1 + np.exp(-(W2c @ A1c + b2c)))  # (1, 3)
dZ2c = Yhat_c - Y.T  # no 1/m here ...
dW2c = dZ2c @ A1c.T / m  # ... it comes in here
dA1c = W2c.T @ dZ2c
dZ1c = dA1c * (Z1c > 0)
dW1c = dZ1c @ Xc.T / m
db1c = dZ1c.sum(axis=1, keepdims=True) / m
side_by_side("Yhat (columns).T", Yhat_c.T, Yhat)
side_by_side("dW2 (columns).T", dW2c.T, dW2)
side_by_side("dW1 (columns).T", dW1c.T, dW1)
side_by_side("db1 (columns)", db1c.ravel(), db1)

# %% [markdown]
# Nothing but the layout differs. glassnet chose rows because scikit-learn's
# `coefs_` and PyTorch's inputs do, so arrays pass between the three without a
# transpose. In memory glassnet's per-layer buffers are column-major, which is
# the tutorial's layout again: each unit's $m$ values lie next to each other.
#
# **Next**: [Tutorial 2](02_training.md) repeats this step 15,000 times and
# watches the loss fall.
