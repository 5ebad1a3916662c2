"""What to try next, with the flag and the value: the report's advice lines.

A note that says only "training stopped early" or "the network did badly"
leaves a new user guessing. Each line here names the flag to change and a
value to try, chosen from what the run shows: a loss still falling when the
epochs ran out, a network that fits its training rows worse than a linear
model (too little training) or better while doing worse on the test rows (too
much capacity), features or target left unscaled.
"""

from __future__ import annotations

import math

__all__ = ["more_epochs", "worse_than_linear"]


def more_epochs(epochs):
    """A value to try for ``--epochs`` when the loss was still falling: five times as
    many, rounded up to 1, 2 or 5 times a power of ten (200 -> 1000, 3000 -> 20000)."""
    wanted = 5 * int(epochs)
    power = 10 ** math.floor(math.log10(wanted))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= wanted)


def worse_than_linear(metrics, baselines, metric, settings):
    """One line when the network's ``metric`` on the test rows is below the linear
    baseline's, with what to try; None otherwise.

    ``metrics`` holds the network's ``train`` and ``test`` metrics; ``baselines``
    maps each baseline's name to ``{"kind", "train", "test"}``; ``settings`` has the
    run's ``task``, ``epochs``, ``still_improving`` (the epochs ran out while the loss
    fell), ``lr``, ``hidden``, ``alpha``, ``scale``, ``scale_target``,
    ``early_stopping`` and ``rows`` (``"test"``, or ``"training"`` when every row
    was used for both).
    """
    linear = next(((name, b) for name, b in baselines.items() if b["kind"] == "linear"), None)
    if linear is None:
        return None
    name, baseline = linear
    ours, theirs = metrics["test"].get(metric), baseline["test"].get(metric)
    if ours is None or theirs is None or ours >= theirs:
        return None
    tries, why = [], ""
    if settings["task"] == "regression" and not settings["scale_target"]:
        tries.append("--scale-target")
    if settings["scale"] == "none":
        tries.append("--scale standard")
    fits_train = metrics["train"].get(metric)
    linear_train = baseline["train"].get(metric)
    underfits = fits_train is not None and linear_train is not None and fits_train < linear_train
    if settings["still_improving"]:
        tries.append(f"--epochs {more_epochs(settings['epochs'])}")
    if underfits:
        why = (f" and on its training rows ({metric} {fits_train:.4f} vs {linear_train:.4f}): "
               f"it has not learnt enough yet")
        tries.append(f"--lr {settings['lr'] * 10:g}")
    elif fits_train is not None and linear_train is not None and settings["rows"] == "test":
        why = (f" although it fits its training rows better ({metric} {fits_train:.4f} vs "
               f"{linear_train:.4f}): it learns their noise")
        smaller = max(1, settings["hidden"][0] // 10)
        tries.append(f"--alpha {max(1.0, settings['alpha'] * 10):g}")
        tries.append(f"--hidden {smaller}")
        if not settings["early_stopping"]:
            tries.append("--early-stopping")
    if not tries:
        tries.append(f"--epochs {more_epochs(settings['epochs'])}")
    return (f"the network does worse than {name} on the {settings['rows']} rows ({metric} "
            f"{ours:.4f} vs {theirs:.4f}){why}; try {', '.join(tries)}")
