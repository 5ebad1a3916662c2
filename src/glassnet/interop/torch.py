"""PyTorch: a glassnet network as a ``torch.nn.Sequential``, and back.

glassnet's dense layer computes ``Z = X·W + b`` with ``W`` of shape
``(fan_in, fan_out)``; ``torch.nn.Linear`` computes ``Z = X·Wᵀ + b`` and stores
``weight`` with shape ``(fan_out, fan_in)``. So ``linear.weight = Wᵀ`` and
``W = linear.weight.T``; the bias is the same vector. Each glassnet layer
becomes a ``Linear`` followed by its activation module (none for the
identity): ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU(slope)``,
``Softmax(dim=1)``, and :func:`exp_module` for the exp output of a Poisson
regressor. A batch normalisation layer becomes ``BatchNorm1d`` (``γ``, ``β``,
running statistics, ``eps`` and ``momentum``), dropout ``Dropout(p)`` and an
activation layer its module. The weights are copied exactly, in the network's dtype (float64
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

from ..activations import get_activation
from ..layers import Activation, BatchNorm, Dense, Dropout
from ..network import Network
from ._source import describe_network, missing_extra
from .sklearn import as_glassnet

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


def _batch_norm_to_torch(torch, layer, dtype):
    """``BatchNorm1d`` with ``weight = γ``, ``bias = β`` and the running statistics."""
    norm = torch.nn.BatchNorm1d(layer.n_inputs, eps=layer.eps, momentum=layer.momentum,
                                dtype=dtype)
    with torch.no_grad():
        for name, array in (("weight", layer.gamma), ("bias", layer.beta),
                            ("running_mean", layer.running_mean),
                            ("running_var", layer.running_var)):
            getattr(norm, name).copy_(torch.from_numpy(np.array(array)))
    return [norm]


def _activation_layer_to_torch(torch, layer, dtype):
    activation = _activation_module(torch, layer.activation)
    return [] if activation is None else [activation]


def _dropout_to_torch(torch, layer, dtype):
    return [torch.nn.Dropout(layer.p)]


#: glassnet layer class -> function(torch, layer, torch dtype) -> list of modules
TO_TORCH = {Dense: _dense_to_torch, BatchNorm: _batch_norm_to_torch,
            Activation: _activation_layer_to_torch, Dropout: _dropout_to_torch}


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
    The parameters are copies: training one does not change the other. The
    Sequential comes in evaluation mode, computing what glassnet's ``output``
    and ``predict`` compute (``BatchNorm1d`` on the running statistics,
    ``Dropout`` off); call ``.train()`` before training it. Needs PyTorch (the
    ``torch`` extra).
    """
    torch = _import_torch("glassnet.io.to_torch")
    net = describe_network(as_glassnet(network), "to_torch", "a torch Sequential").network
    if dtype is None:
        dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules = []
    for i, layer in enumerate(net.layers, start=1):
        converter = TO_TORCH.get(type(layer))
        if converter is None:
            raise ValueError(f"cannot convert layer {i} ({type(layer).__name__}) to PyTorch")
        modules.extend(converter(torch, layer, dtype))
    # evaluation mode, as glassnet predicts: running statistics, no dropout
    return torch.nn.Sequential(*modules).eval()


# -- torch -> glassnet ----------------------------------------------------------------
class _Builder:
    """glassnet layers assembled from a flat list of modules. A ``Linear`` becomes a
    :class:`~glassnet.Dense` layer, and the activation right after it becomes that
    layer's activation; any other activation is an :class:`~glassnet.Activation`
    layer."""

    def __init__(self):
        self.layers = []
        self.width = None
        self.open = False  # the last layer is a Dense still waiting for its activation

    def add(self, layer):
        if layer.n_inputs is not None:
            if self.width is not None and layer.n_inputs != self.width:
                raise ValueError(f"{type(layer).__name__} layer {len(self.layers) + 1} takes "
                                 f"{layer.n_inputs} inputs but the layer before gives "
                                 f"{self.width}")
            self.width = layer.n_units
        self.layers.append(layer)
        self.open = isinstance(layer, Dense)

    def activation(self, spec):
        if self.open:
            self.layers[-1].activation = get_activation(spec)
            self.open = False
        else:
            self.add(Activation(spec))


def _linear_from_torch(builder, module, position):
    torch = _torch()
    weight = module.weight.detach().cpu()
    if weight.dtype not in (torch.float64, torch.float32):
        raise ValueError(f"module {position} ({module}) has {weight.dtype} weights; glassnet "
                         f"takes float32 or float64 (convert with .double() or .float())")
    W = np.ascontiguousarray(weight.numpy().T)
    b = None if module.bias is None else module.bias.detach().cpu().numpy().astype(W.dtype)
    builder.add(Dense.from_arrays(W, b, "identity"))


def _batch_norm_from_torch(builder, module, position):
    if not (module.affine and module.track_running_stats) or module.momentum is None:
        raise ValueError(f"module {position} ({module}) is not supported: glassnet's BatchNorm "
                         f"has γ and β (affine=True), running statistics "
                         f"(track_running_stats=True) and a momentum (not None)")
    gamma = module.weight.detach().cpu().numpy()
    norm = BatchNorm(module.num_features, eps=module.eps, momentum=module.momentum,
                     dtype=gamma.dtype)
    norm.gamma[:] = gamma
    norm.beta[:] = module.bias.detach().cpu().numpy()
    norm.running_mean[:] = module.running_mean.cpu().numpy()
    norm.running_var[:] = module.running_var.cpu().numpy()
    builder.add(norm)


def _dropout_from_torch(builder, module, position):
    builder.add(Dropout(module.p))


def _softmax_from_torch(builder, module, position):
    if module.dim not in (1, -1, None):
        raise ValueError(f"module {position} ({module}) normalises over dim {module.dim}; "
                         f"glassnet's softmax is over the features (dim=1)")
    builder.activation("softmax")


def _simple(spec):
    def convert(builder, module, position):
        builder.activation(spec(module) if callable(spec) else spec)
    return convert


def _skip(builder, module, position):
    pass


def _torch():
    return _import_torch("glassnet.io.from_torch")


def _from_torch_table():
    nn = _torch().nn
    return {
        nn.Linear: _linear_from_torch,
        nn.BatchNorm1d: _batch_norm_from_torch,
        nn.Dropout: _dropout_from_torch,
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

    The Sequential may hold ``Linear``, ``BatchNorm1d`` (with ``affine`` and
    running statistics), ``Dropout``, ``Identity`` and the activations
    ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softmax(dim=1)`` and
    :func:`exp_module`, in nested Sequentials too. An activation right after a
    ``Linear`` becomes that :class:`~glassnet.Dense` layer's activation, any
    other an :class:`~glassnet.Activation` layer. Anything else is refused with
    an error naming the first unsupported module. The weights and running
    statistics are copied (``W = weight.T``) in their dtype (float32 or
    float64).

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
    if not any(isinstance(layer, Dense) for layer in builder.layers):
        raise ValueError("the Sequential has no Linear layer")
    dtypes = {layer.dtype for layer in builder.layers if layer.dtype is not None}
    if len(dtypes) > 1:
        raise ValueError(f"the layers mix dtypes {sorted(map(str, dtypes))}; convert the "
                         f"Sequential with .double() or .float() first")
    return Network(builder.layers, loss=loss, alpha=alpha).pack()
