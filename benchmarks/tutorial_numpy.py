"""Peer (a) of the benchmark: the first tutorial's network written the tutorial's way.

Samples are columns (``Z1 = W1·X + b1``), parameters and caches live in dicts,
and backward follows the tutorial's chain rule literally:
``dL/dŶ = −(Y/Ŷ − (1−Y)/(1−Ŷ))``, ``dL/dZ2 = dL/dŶ·σ'(Z2)`` (σ recomputed
from Z2), ``dL/dA1 = W2ᵀ·dL/dZ2``, ``dL/dZ1 = dL/dA1·ReLU'(Z1)``,
``dL/dW1 = (1/m)·dL/dZ1·Xᵀ``, ``db = (1/m)·dL/dZ·1``, then ``W ← W − lr·dL/dW``.
The loss is computed every iteration, as the tutorial does to print and plot it.
"""

import numpy as np


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def relu(Z):
    return np.maximum(0, Z)


def d_relu(Z):
    Z = Z.copy()
    Z[Z <= 0] = 0
    Z[Z > 0] = 1
    return Z


def d_sigmoid(Z):
    s = sigmoid(Z)
    return s * (1 - s)


class TutorialNet:
    def __init__(self, X, Y, hidden=15, lr=0.07, seed=1):
        self.X, self.Y = X, Y  # X: (n_features, m), Y: (1, m)
        rng = np.random.default_rng(seed)
        n = X.shape[0]
        self.param = {
            "W1": rng.standard_normal((hidden, n)) / np.sqrt(n),
            "b1": np.zeros((hidden, 1)),
            "W2": rng.standard_normal((1, hidden)) / np.sqrt(hidden),
            "b2": np.zeros((1, 1)),
        }
        self.ch = {}
        self.lr = lr
        self.loss = []

    def nloss(self, Yh):
        m = self.Y.shape[1]
        return (1.0 / m) * (-np.dot(self.Y, np.log(Yh).T) - np.dot(1 - self.Y, np.log(1 - Yh).T))

    def forward(self):
        Z1 = self.param["W1"].dot(self.X) + self.param["b1"]
        A1 = relu(Z1)
        self.ch["Z1"], self.ch["A1"] = Z1, A1
        Z2 = self.param["W2"].dot(A1) + self.param["b2"]
        A2 = sigmoid(Z2)
        self.ch["Z2"], self.ch["A2"] = Z2, A2
        return A2, self.nloss(A2)

    def backward(self, Yh):
        m = self.X.shape[1]
        dLoss_Yh = -(np.divide(self.Y, Yh) - np.divide(1 - self.Y, 1 - Yh))
        dLoss_Z2 = dLoss_Yh * d_sigmoid(self.ch["Z2"])
        dLoss_A1 = np.dot(self.param["W2"].T, dLoss_Z2)
        dLoss_W2 = 1.0 / self.ch["A1"].shape[1] * np.dot(dLoss_Z2, self.ch["A1"].T)
        dLoss_b2 = 1.0 / self.ch["A1"].shape[1] * np.dot(dLoss_Z2, np.ones([dLoss_Z2.shape[1], 1]))
        dLoss_Z1 = dLoss_A1 * d_relu(self.ch["Z1"])
        dLoss_W1 = 1.0 / m * np.dot(dLoss_Z1, self.X.T)
        dLoss_b1 = 1.0 / m * np.dot(dLoss_Z1, np.ones([dLoss_Z1.shape[1], 1]))
        self.param["W1"] = self.param["W1"] - self.lr * dLoss_W1
        self.param["b1"] = self.param["b1"] - self.lr * dLoss_b1
        self.param["W2"] = self.param["W2"] - self.lr * dLoss_W2
        self.param["b2"] = self.param["b2"] - self.lr * dLoss_b2

    def gd(self, iterations):
        for _ in range(iterations):
            Yh, loss = self.forward()
            self.backward(Yh)
            self.loss.append(float(loss[0, 0]))
