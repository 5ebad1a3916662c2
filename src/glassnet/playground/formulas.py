"""The formulas the step inspector prints beside each number.

They are quoted from the docstrings of the code that computes them (a test
checks that every one appears there verbatim), so the page and the source
never tell two stories.
"""

from __future__ import annotations

__all__ = ["ACTIVATION", "BATCH_NORM", "DROPOUT", "L1", "L2", "LAYER", "LOSS", "OPTIMIZER",
           "for_network", "sources"]

# activation -> (value, derivative), from glassnet.activations
ACTIVATION = {
    "identity": ("f(z) = z", "f'(z) = 1"),
    "sigmoid": ("s = sigmoid(z) = 1 / (1 + exp(-z))", "d/dz = s·(1 − s)"),
    "tanh": ("a = tanh(z)", "d/dz = 1 − a²"),
    "relu": ("relu(z) = max(0, z)", "d/dz = 1 if z > 0 else 0"),
    "leaky_relu": ("f(z) = z if z > 0 else slope·z", "d/dz = 1 if z > 0 else slope"),
    "softmax": ("softmax(z)_k = exp(z_k) / Σ_j exp(z_j)", "dZ = A ⊙ (dA − Σ_j dA_j·A_j)"),
}

# loss -> (value, gradient fused with the output activation), from glassnet.losses
LOSS = {
    "binary_cross_entropy": ("L = −(1/m) Σ_i Σ_k [y log ŷ + (1 − y) log(1 − ŷ)]",
                             "dL/dz = dL/dŷ · ŷ(1 − ŷ) = (ŷ − y)/m"),
    "categorical_cross_entropy": ("L = −(1/m) Σ_i Σ_k y_ik log ŷ_ik", "dL/dz = (ŷ − y)/m"),
    "mse": ("L = (1/(m·k)) Σ_i Σ_k (ŷ − y)²", "dL/dŷ = 2(ŷ − y)/(m·k)"),
}

# one dense layer, from glassnet.layers
LAYER = {
    "Z": "Z = X·W + b",
    "A": "A = f(Z)",
    "dZ": "dZ = dA ⊙ f'(Z)",
    "dW": "dW = Xᵀ·dZ",
    "db": "db = Σ_rows dZ",
    "dX": "dX = dZ·Wᵀ",
}

# inverted dropout in training, from glassnet.layers.Dropout
DROPOUT = {
    "M": "M_ij = [u_ij >= p] / (1 − p)",
    "Y": "Y = X ⊙ M",
    "dX": "dX = dY ⊙ M",
}

# batch normalisation in evaluation mode, from glassnet.layers.BatchNorm
BATCH_NORM = {
    "stats": "μ = running_mean",
    "var": "σ² = running_var",
    "s": "s  = √(σ² + eps)",
    "x_hat": "x̂_i = (x_i − μ) / s",
    "y": "y_i = γ·x̂_i + β",
    "dbeta": "dβ = Σ_i dy_i",
    "dgamma": "dγ = Σ_i dy_i·x̂_i",
    "dX": "dX = dY·γ/s",
}

# the penalties and their gradients, from glassnet.network (N: the rows in the batch)
L2 = ("L += α/(2N)·Σ_l ‖W_l‖²", "dW_l += (α/N)·W_l")
L1 = ("L += (λ/N)·Σ_l Σ_ij |W_l,ij|", "dW_l += (λ/N)·sign(W_l)")

# optimiser -> its update rules, from glassnet.optimizers
OPTIMIZER = {
    "sgd": ["θ ← θ − lr·g"],
    "momentum": ["v ← μ·v + g", "θ ← θ − lr·v"],
    "nesterov": ["v ← μ·v + g", "θ ← θ − lr·(g + μ·v)"],
    "rmsprop": ["s ← ρ·s + (1 − ρ)·g²", "θ ← θ − lr·g / (√s + ε)"],
    "adam": ["m ← β1·m + (1 − β1)·g", "v ← β2·v + (1 − β2)·g²",
             "m̂ = m/(1 − β1^t),  v̂ = v/(1 − β2^t)", "θ ← θ − lr·m̂ / (√v̂ + ε)"],
    "adamw": ["θ ← θ·(1 − lr·λ)", "m ← β1·m + (1 − β1)·g", "v ← β2·v + (1 − β2)·g²",
              "m̂ = m/(1 − β1^t),  v̂ = v/(1 − β2^t)", "θ ← θ − lr·m̂ / (√v̂ + ε)"],
}


def for_network(network, optimizer_name):
    """The formulas that apply to ``network`` trained by ``optimizer_name`` (JSON-ready)."""
    from ..layers import BatchNorm, Dropout

    names = sorted({layer.activation.name for layer in network.layers
                    if hasattr(layer, "activation")})
    return {
        "layer": LAYER,
        "activation": {name: list(ACTIVATION[name]) for name in names if name in ACTIVATION},
        "loss": list(LOSS.get(network.loss.name, (network.loss.name, "dL/dŷ"))),
        "l2": list(L2) if network.alpha else None,
        "l1": list(L1) if network.l1 else None,
        "optimizer": OPTIMIZER[optimizer_name],
        "dropout": DROPOUT if any(isinstance(layer, Dropout) for layer in network.layers)
        else None,
        "batch_norm": BATCH_NORM if any(isinstance(layer, BatchNorm)
                                        for layer in network.layers) else None,
    }


def sources():
    """``(formula, object whose docstring states it)`` for every formula above."""
    from .. import activations, layers, losses, network, optimizers

    classes = {
        "identity": activations.Identity, "sigmoid": activations.Sigmoid,
        "tanh": activations.Tanh, "relu": activations.ReLU,
        "leaky_relu": activations.LeakyReLU, "softmax": activations.Softmax,
        "binary_cross_entropy": losses.BinaryCrossEntropy,
        "categorical_cross_entropy": losses.CategoricalCrossEntropy,
        "mse": losses.MeanSquaredError,
        "sgd": optimizers.SGD, "momentum": optimizers.SGD, "nesterov": optimizers.SGD,
        "rmsprop": optimizers.RMSProp, "adam": optimizers.Adam,
    }
    pairs = []
    for table in (ACTIVATION, LOSS):
        for name, formulas in table.items():
            pairs += [(formula, classes[name]) for formula in formulas]
    for name, formulas in OPTIMIZER.items():
        for formula in formulas:
            owner = optimizers.AdamW if formula.startswith("θ ← θ·") else \
                classes.get(name, optimizers.Adam)
            pairs.append((formula, owner))
    pairs += [(formula, layers) for formula in LAYER.values()]
    pairs += [(formula, layers.Dropout) for formula in DROPOUT.values()]
    pairs += [(formula, layers.BatchNorm) for formula in BATCH_NORM.values()]
    pairs += [(formula, network) for formula in L2 + L1]
    return pairs
