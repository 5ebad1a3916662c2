"""Many arrays as one: parameters and gradients laid end to end in one buffer.

A network's parameters are a handful of arrays (``W1, b1, W2, b2, …``). When
they are consecutive pieces of one 1-D buffer, everything that treats them
element by element (an optimiser's update, the copy kept against a diverging
step) can run once over the whole buffer instead of once per array. The
arithmetic is the same, element for element; what goes is the per-array
Python and NumPy call overhead, which dominates for small networks (the idea
behind the "multi-tensor" optimiser steps of PyTorch and others). A second
buffer of the same layout lets the training loop keep the weights of the
step before without copying them: the optimiser writes the new weights
there and the two buffers take turns (see :meth:`glassnet.Trainer.step`).

:func:`pack` lays arrays out this way; :func:`span` recognises such a layout
and returns the 1-D view over it. Nothing depends on the layout for its
result: code that finds no span falls back to one call per array.
"""

from __future__ import annotations

import operator

import numpy as np

__all__ = ["SpanCache", "pack", "span"]


def pack(arrays):
    """``(buffer, views)``: one new 1-D buffer holding copies of ``arrays`` end
    to end, and views of it with the arrays' shapes. All arrays must share a dtype."""
    arrays = [np.asarray(a) for a in arrays]
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) != 1:
        raise ValueError(f"pack needs arrays of one dtype, got {sorted(map(str, dtypes))}")
    buffer = np.empty(sum(a.size for a in arrays), dtype=dtypes.pop())
    views, start = [], 0
    for a in arrays:
        view = buffer[start:start + a.size].reshape(a.shape)
        np.copyto(view, a)
        views.append(view)
        start += a.size
    return buffer, views


def _address(a):
    return a.__array_interface__["data"][0]


def span(arrays):
    """The 1-D view of the buffer that ``arrays`` tile, in order, with no gap,
    or None when they do not (different owners or dtypes, gaps, a
    non-contiguous array, or fewer than one array)."""
    if not arrays:
        return None
    first = arrays[0]
    base = first.base
    if not isinstance(base, np.ndarray) or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    itemsize = base.itemsize
    start = (_address(first) - _address(base)) // itemsize
    position = start
    for a in arrays:
        if (a.base is not base or a.dtype != base.dtype or not a.flags.c_contiguous
                or _address(a) != _address(base) + position * itemsize):
            return None
        position += a.size
    return base[start:position]


class SpanCache:
    """:func:`span` of the last two lists of arrays asked about, recomputed only
    for a list holding other array objects (a step asks about the same list
    every time, or alternates between two when the loop keeps two buffers)."""

    def __init__(self):
        self._known = []  # [(arrays, span)], the most recent last

    def __call__(self, arrays):
        for known, found in self._known:
            if len(arrays) == len(known) and all(map(operator.is_, arrays, known)):
                return found
        found = span(arrays)
        self._known = [*self._known[-1:], (tuple(arrays), found)]
        return found
