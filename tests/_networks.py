"""Networks shared by several test files."""

import glassnet as gn


def give_trained_statistics(net, rng):
    """Give every batch-norm layer of ``net`` trained-looking ``γ``, ``β`` and
    running statistics (drawn from ``rng`` in that order); returns ``net``."""
    for layer in net.layers:
        if isinstance(layer, gn.BatchNorm):
            n = layer.n_inputs
            layer.gamma[:], layer.beta[:] = rng.uniform(0.5, 2, n), rng.normal(size=n)
            layer.running_mean[:] = rng.normal(size=n)
            layer.running_var[:] = rng.uniform(0.2, 3, n)
    return net
