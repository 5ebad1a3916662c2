"""PyTorch: a glassnet network as a ``torch.nn.Sequential``, and back.

glassnet's dense layer computes ``Z = X·W + b`` with ``W`` of shape
``(fan_in, fan_out)``; ``torch.nn.Linear`` computes ``Z = X·Wᵀ + b`` and stores
``weight`` with shape ``(fan_out, fan_in)``. So ``linear.weight = Wᵀ`` and
``W = linear.weight.T``; the bias is the same vector. Each glassnet layer
becomes a ``Linear`` followed by its activation module (none for the
identity): ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU(slope)``,
``Softmax(dim=1)``, and :func:`exp_module` for the exp output of a Poisson
regressor. The weights are copied exactly, in the network's dtype (float64
stays float64), so both compute the same function.

Training in PyTorch with glassnet's loss: the network's output is already
the probability (sigmoid/softmax are modules of the Sequential), so
glassnet's binary cross-entropy is ``torch.nn.BCELoss()`` on the output and its
categorical cross-entropy is ``torch.nn.NLLLoss()`` on ``log(output)``; the
L2 penalty ``α/(2m)·Σ‖W‖²`` is not a PyTorch loss term and must be added by
hand (``weight_decay`` scales differently).

The converters for layers and modules are small functions in
:data:`TO_TORCH` and :data:`FROM_TORCH`, so a new kind of layer needs one
entry in each.
"""

from __future__ import annotations

import numpy as np

from ..layers import Dense
from ..network import Network
from ._source import describe_network, missing_extra

__all__ = ["FROM_TORCH", "TO_TORCH", "exp_module", "from_torch", "to_torch"]


def _import_torch(what):
    try:
        import torch
    except ImportError as exc:
        raise missing_extra(what, "torch", exc) from None
    return torch


_EXP = None


def exp_module():
    """The class of a module computing ``exp(z)``, which ``torch.nn`` lacks."""
    global _EXP
    if _EXP is None:
        torch = _import_torch("glassnet.io.to_torch")

        class Exp(torch.nn.Module):
            """``f(z) = exp(z)``: the output of a Poisson regression."""

            def forward(self, z):
                return torch.exp(z)

        Exp.__module__ = __name__
        Exp.__qualname__ = "Exp"
        _EXP = Exp
    return _EXP


def __getattr__(name):
    # ``Exp`` is made on first use (it subclasses torch.nn.Module); looking it up
    # here lets pickle, and so torch.save, find it
    if name == "Exp":
        return exp_module()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- glassnet -> torch ----------------------------------------------------------------
def _activation_module(torch, activation):
    name = activation.name
    if name == "identity":
        return None
    if name == "leaky_relu":
        return torch.nn.LeakyReLU(negative_slope=activation.slope)
    if name == "softmax":
        return torch.nn.Softmax(dim=1)
    if name == "exp":
        return exp_module()()
    modules = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    if name not in modules:
        raise ValueError(f"no PyTorch module for the activation {name!r}")
    return modules[name]()


def _dense_to_torch(torch, layer, dtype):
    """``Linear(n_in, n_out)`` with ``weight = Wᵀ`` and ``bias = b``, then ``f``."""
    linear = torch.nn.Linear(layer.n_inputs, layer.n_units, bias=layer.b is not None,
                             dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.W.T)))
        if layer.b is not None:
            linear.bias.copy_(torch.from_numpy(np.array(layer.b)))
    activation = _activation_module(torch, layer.activation)
    return [linear] if activation is None else [linear, activation]


#: glassnet layer class -> function(torch, layer, torch dtype) -> list of modules
TO_TORCH = {Dense: _dense_to_torch}


def to_torch(network, dtype=None):
    """A ``torch.nn.Sequential`` computing the same function as ``network``.

    Parameters
    ----------
    network : Network or fitted estimator
        For a saved model pass ``model.network`` (the encoding and scaling are
        not part of the Sequential).
    dtype : torch dtype, optional
        Default: the network's own (``torch.float64`` for a float64 network),
        so the initial weights carry over bit for bit.

    Notes
    -----
    The parameters are copies: training one does not change the other.
    Needs PyTorch (the ``torch`` extra).
    """
    torch = _import_torch("glassnet.io.to_torch")
    net = describe_network(network, "to_torch", "a torch Sequential").network
    if dtype is None:
        dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules = []
    for i, layer in enumerate(net.layers, start=1):
        converter = TO_TORCH.get(type(layer))
        if converter is None:
            raise ValueError(f"cannot convert layer {i} ({type(layer).__name__}) to PyTorch")
        modules.extend(converter(torch, layer, dtype))
    return torch.nn.Sequential(*modules)


# -- torch -> glassnet ----------------------------------------------------------------
class _Builder:
    """Dense layers assembled from a flat list of modules: a ``Linear`` opens a
    layer, the activation module after it (if any) closes it."""

    def __init__(self):
        self.layers = []  # [W, b, activation or None]
        self.dtype = None

    def linear(self, W, b):
        if self.layers and (W.shape[0] != self.layers[-1][0].shape[1]):
            raise ValueError(f"Linear layer {len(self.layers) + 1} takes {W.shape[0]} inputs "
                             f"but the layer before gives {self.layers[-1][0].shape[1]}")
        self.layers.append([W, b, None])

    def activation(self, spec, position, module):
        if not self.layers or self.layers[-1][2] is not None:
            where = "comes before any Linear" if not self.layers else "follows another activation"
            raise ValueError(f"module {position} ({module}) {where}; glassnet applies one "
                             f"activation after each Linear")
        self.layers[-1][2] = spec


def _linear_from_torch(builder, module, position):
    torch = _torch()
    weight = module.weight.detach().cpu()
    if weight.dtype not in (torch.float64, torch.float32):
        raise ValueError(f"module {position} ({module}) has {weight.dtype} weights; glassnet "
                         f"takes float32 or float64 (convert with .double() or .float())")
    W = np.ascontiguousarray(weight.numpy().T)
    b = None if module.bias is None else module.bias.detach().cpu().numpy().astype(W.dtype)
    builder.linear(W, b)


def _softmax_from_torch(builder, module, position):
    if module.dim not in (1, -1, None):
        raise ValueError(f"module {position} ({module}) normalises over dim {module.dim}; "
                         f"glassnet's softmax is over the features (dim=1)")
    builder.activation("softmax", position, module)


def _simple(spec):
    def convert(builder, module, position):
        builder.activation(spec(module) if callable(spec) else spec, position, module)
    return convert


def _skip(builder, module, position):
    pass


def _torch():
    return _import_torch("glassnet.io.from_torch")


def _from_torch_table():
    nn = _torch().nn
    return {
        nn.Linear: _linear_from_torch,
        nn.Identity: _skip,
        nn.ReLU: _simple("relu"),
        nn.Sigmoid: _simple("sigmoid"),
        nn.Tanh: _simple("tanh"),
        nn.LeakyReLU: _simple(lambda m: {"name": "leaky_relu",
                                         "slope": float(m.negative_slope)}),
        nn.Softmax: _softmax_from_torch,
        exp_module(): _simple("exp"),
    }


#: torch module class -> function(builder, module, position); filled on first use
FROM_TORCH = {}


def _flatten(module, prefix=""):
    torch = _torch()
    for name, child in module.named_children():
        position = f"{prefix}{name}"
        if isinstance(child, torch.nn.Sequential):
            yield from _flatten(child, position + ".")
        else:
            yield position, child


def from_torch(sequential, loss=None, alpha=0.0):
    """A glassnet :class:`~glassnet.Network` from a ``torch.nn.Sequential``.

    The Sequential may hold ``Linear`` layers, each optionally followed by one
    activation: ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``,
    ``Softmax(dim=1)``, :func:`exp_module`; ``Identity`` modules and nested
    Sequentials are fine. Anything else is refused with an error naming the
    first unsupported module. The weights are copied (``W = weight.T``) in
    their dtype (float32 or float64).

    ``loss`` and ``alpha`` are the network's (default: the output
    activation's natural loss, as :class:`~glassnet.Network` chooses).
    """
    torch = _torch()
    if not isinstance(sequential, torch.nn.Sequential):
        raise TypeError(f"from_torch takes a torch.nn.Sequential, got "
                        f"{type(sequential).__name__}")
    if not FROM_TORCH:
        FROM_TORCH.update(_from_torch_table())
    builder = _Builder()
    for position, module in _flatten(sequential):
        converter = FROM_TORCH.get(type(module))
        if converter is None:
            supported = ", ".join(sorted(cls.__name__ for cls in FROM_TORCH))
            raise ValueError(f"module {position} ({module}) is not supported; from_torch "
                             f"takes {supported}")
        converter(builder, module, position)
    if not builder.layers:
        raise ValueError("the Sequential has no Linear layer")
    dtypes = {W.dtype for W, _, _ in builder.layers}
    if len(dtypes) > 1:
        raise ValueError(f"the Linear layers mix dtypes {sorted(map(str, dtypes))}; convert "
                         f"the Sequential with .double() or .float() first")
    layers = [Dense.from_arrays(W, b, activation or "identity")
              for W, b, activation in builder.layers]
    return Network(layers, loss=loss, alpha=alpha)
