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
# # 2. Training it: full-batch gradient descent
#
# **In the browser**: [open this lesson in the playground](../playground/index.html#data=wisconsin&scale=minmax&hidden=15&act=relu&init=scaled_normal&seed=1&opt=sgd&lr=0.07&batch=full&speed=20): the same network training at learning rate 0.07; switch the rate to 0.003 to see the slow curve of this page.
#
# **Reproduces** the first tutorial's training run: the 9-15-1 network of
# [Tutorial 1](01_backprop_by_hand.md) (Wisconsin data min-max scaled, first 500
# rows train and the other 183 test, weights $\mathcal N(0, 1)/\sqrt{n_\text{in}}$
# with **seed 1**, biases zero), plain full-batch gradient descent for **15,000
# iterations**, printing "Cost after iteration i" every 500. The tutorial's text
# uses a learning rate of 0.003 and notes that 0.07 works better on longer
# runs; we train with **0.07** and then show what 0.003 does.
#
# **Adds**: accuracy and the confusion matrix on the held-out rows, the loss
# curves of both learning rates, and the update rule written next to the
# optimiser that applies it.
#
# One iteration is the forward and backward pass of Tutorial 1 on all 500
# training rows at once, followed by the gradient-descent update of every
# parameter:
#
# $$
# W \leftarrow W - \eta \, dW, \qquad b \leftarrow b - \eta \, db .
# $$
#
# `gn.train` with `optimizer="sgd"` and no `batch_size` does exactly that
# (`glassnet.optimizers.SGD` without momentum subtracts `lr * grad` in place).

# %%
from sklearn.metrics import confusion_matrix

import glassnet as gn
from glassnet.datasets import load_wisconsin
from glassnet.plots import confusion_figure, loss_figure

X, y = load_wisconsin(return_X_y=True)
X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))  # min-max to [0, 1]
X_train, y_train, X_test, y_test = X[:500], y[:500], X[500:], y[500:]


def tutorial_network():
    return gn.Network.from_sizes(
        [9, 15, 1],
        activation="relu",
        output_activation="sigmoid",
        loss="binary_cross_entropy",
        init="scaled_normal",
        seed=1,
    )


net = tutorial_network()
logger = gn.LossLogger(every=500, fmt="Cost after iteration {iteration}: {loss:f}")
history = gn.train(
    net, X_train, y_train, optimizer="sgd", lr=0.07, epochs=15000, callbacks=[logger]
)

# %% [markdown]
# The loss falls fast for the first thousand iterations and then slowly: the
# network has found the easy separation (most tumours are clearly benign or
# clearly malignant) and spends the rest refining the few borderline cases.
#
# ## How good is it?
#
# A network that outputs a probability needs a threshold to give a label:
# glassnet predicts "malignant" where $\hat y > 0.5$, as scikit-learn does.

# %%
train_acc = (net.predict(X_train) == y_train).mean()
test_acc = (net.predict(X_test) == y_test).mean()
print(f"Train accuracy: {train_acc:.4f}")
print(f"Test accuracy:  {test_acc:.4f}")
print("Confusion matrix (test; rows true benign/malignant, columns predicted):")
print(confusion_matrix(y_test, net.predict(X_test)))
print(f"{history.n_steps} iterations in {history.seconds:.2f} s")

# %%
confusion_figure(
    y_test,
    net.predict(X_test),
    labels=[0, 1],
    title="Held-out rows 500-682: benign (0), malignant (1)",
)

# %% [markdown]
# The held-out rows are all classified correctly, which says as much about
# those 183 rows as about the network: the file's last rows happen to be
# easy. The README's cross-validated comparison (scikit-learn's default
# settings, stratified 10-fold cross-validation over 30 seeds) measures about
# 97 % on this data, the honest estimate. The training rows, with their borderline tumours, stay at about
# 97.6 %.
#
# ## The loss curve, and the tutorial's learning rate
#
# With full-batch gradient descent every iteration sees the same data, so the
# loss curve is smooth. The tutorial's text uses $\eta = 0.003$; with the same
# initial weights that rate takes 23 times smaller steps:

# %%
slow = tutorial_network()
history_slow = gn.train(slow, X_train, y_train, optimizer="sgd", lr=0.003, epochs=15000)
print(
    f"lr 0.003: loss {history_slow.loss[0]:.4f} -> {history_slow.loss[-1]:.4f}, "
    f"test accuracy {(slow.predict(X_test) == y_test).mean():.4f}"
)
print(
    f"lr 0.07:  loss {history.loss[0]:.4f} -> {history.loss[-1]:.4f}, "
    f"test accuracy {test_acc:.4f}"
)

figure = loss_figure(
    {"loss": history.loss}, title="Training loss, full-batch gradient descent"
)
ax = figure.axes[0]
ax.lines[0].set_label("lr 0.07")
ax.plot(range(1, len(history_slow.loss) + 1), history_slow.loss, label="lr 0.003")
ax.set_xlabel("iteration")
ax.legend()
figure

# %% [markdown]
# At 0.003 the loss is still falling steadily after 15,000 iterations: the
# weights have not finished the journey that 0.07 completes in a few
# thousand. A too-small learning rate is safe but slow
# ([Tutorial 4](04_heart_vs_libraries.md) shows it on the heart data); a
# too-large one overshoots the valley, bounces across it, and can diverge
# ([Tutorial 3](03_optimisers_on_the_landscape.md) measures where that begins).
#
# ## The same run from the command line
#
# ```bash
# glassnet train wisconsin --hidden 15 --solver sgd --momentum 0 --batch-size full \
#     --lr 0.07 --epochs 3000 --scale minmax --log-every 500
# ```
#
# trains the same kind of network (the command line holds out a stratified
# 20 % instead of the last rows) and writes the model, the metrics and the
# plots. **Next**: [Tutorial 3](03_optimisers_on_the_landscape.md) draws this
# descent, and three other optimisers', on the loss landscape.
