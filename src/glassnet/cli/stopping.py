"""Why a run ended, said plainly: the ``stopped`` record of metrics.json and its report line.

A run ends for one of these reasons (the ``reason`` field):

- ``max_epochs``: it ran every one of ``--epochs`` (``still_improving``: the
  loss was still falling by more than ``--tol``, and the message names a larger
  ``--epochs`` to try);
- ``tol``: the training loss improved by less than ``--tol`` for ``--patience``
  epochs in a row (with ``--solver lbfgs``: the solver's own ``--tol`` test passed);
- ``early_stopping``: with early stopping (on by default for regression), the
  held-out score did not improve by ``--tol`` for ``--patience`` epochs; the
  model keeps the best epoch;
- ``interrupted``: Ctrl-C;
- ``solver``: L-BFGS ended for another reason, given in ``message``.

A run whose loss becomes infinite or NaN, or grows past
:data:`glassnet.advice.DIVERGENCE_FACTOR` (10⁶) times its first value while
still finite, has diverged and has nothing sound to save: it ends with an
``error:`` line from :func:`diverged_message` or :func:`exploded_message`
instead, naming a smaller ``--lr``.

Whether the epochs ran out too soon is the advisor's to say
(:mod:`glassnet.advice`): a loss still falling on the training rows while the
held-out loss rises calls for fewer epochs, not more.
"""

from __future__ import annotations

from ..advice import smaller_rate
from .errors import CLIError

__all__ = ["DIVERGED", "diverged_message", "exploded_message", "stop_record"]

DIVERGED = "non-finite"  # what the estimators' error says when the loss blew up


def stop_record(estimator, epochs, caught):
    """``{"reason", "epoch", "max_epochs", "flags", "message", ...}`` for a fitted estimator
    asked for ``epochs`` epochs; ``caught`` are the warnings its ``fit`` raised."""
    n = int(estimator.n_iter_)
    history = estimator.history_
    record = {"epoch": n, "max_epochs": int(epochs)}
    tol, patience = estimator.tol, estimator.n_iter_no_change
    convergence = [str(w.message) for w in caught
                   if type(w.message).__name__ == "ConvergenceWarning"]
    lbfgs = estimator.solver == "lbfgs"
    unit = "iteration" if lbfgs else "epoch"
    if history.interrupted:
        record.update(reason="interrupted", flags=[],
                      message=f"interrupted by Ctrl-C after {n} {unit}(s) of --epochs {epochs}; "
                              f"the model and report are of what was trained")
    elif lbfgs and n < epochs and convergence:
        record.update(reason="solver", flags=["--epochs"],
                      message=f"stopped at iteration {n} of --epochs {epochs}: "
                              f"{convergence[0].split(' Increase')[0]}")
    elif lbfgs and n < epochs:
        record.update(reason="tol", tol=tol, flags=["--tol"],
                      message=f"stopped at iteration {n} of --epochs {epochs}: L-BFGS converged "
                              f"(its gradient below --tol {tol:g}, or the loss no longer "
                              f"changing; a smaller --tol runs longer)")
    elif history.stopped_early and estimator.early_stopping:
        best = None if history.best_epoch is None else history.best_epoch + 1
        record.update(reason="early_stopping", tol=tol, patience=patience, best_epoch=best,
                      best_validation_score=estimator.best_validation_score_,
                      flags=["--early-stopping", "--patience", "--tol"],
                      message=f"stopped at epoch {n} of --epochs {epochs}: the score on the "
                              f"held-out 10% of the training rows did not improve by --tol "
                              f"{tol:g} for --patience {patience} epochs; the model keeps epoch "
                              f"{best}'s weights (a larger --patience, or --no-early-stopping, "
                              f"trains longer)")
    elif history.stopped_early:
        adaptive = estimator.solver == "sgd" and estimator.learning_rate == "adaptive"
        why = (f"with --schedule adaptive the learning rate fell below 1e-6, each cut coming "
               f"after the training loss improved by less than --tol {tol:g} for --patience "
               f"{patience} epochs" if adaptive else
               f"the training loss improved by less than --tol {tol:g} for --patience "
               f"{patience} epochs in a row")
        record.update(reason="tol", tol=tol, patience=patience,
                      best_loss=estimator.best_loss_, flags=["--tol", "--patience"],
                      message=f"stopped at epoch {n} of --epochs {epochs}: {why} ("
                              + ("--tol 0 or a larger" if tol else "a larger")
                              + " --patience trains longer)")
    else:
        still = (f"; the training loss was still improving by more than --tol {tol:g}" if tol
                 else "; the training loss was still falling")
        record.update(reason="max_epochs", flags=["--epochs"], still_improving=bool(convergence),
                      message=f"ran all {epochs} {unit}{'s' if epochs != 1 else ''} asked for "
                              f"by --epochs"
                              + (f"{still} (ConvergenceWarning)" if convergence else ""))
    return record


def diverged_message(error, epoch, epochs, lr):
    """The ``error:`` for a run whose loss became infinite or NaN during epoch ``epoch``."""
    if DIVERGED not in str(error):
        return None
    return CLIError(f"training diverged in epoch {epoch} of --epochs {epochs}: the loss became "
                    f"infinite or NaN, so there is no model to save; try --lr "
                    f"{smaller_rate(lr)} (it was {lr:g}) or scale the features "
                    f"(--scale standard)")


def exploded_message(exploded, epochs, lr, stable_rate=None):
    """The ``error:`` for a run whose loss grew past 10⁶ times its first value
    (:class:`~glassnet.cli.advice.LossExploded`); ``stable_rate`` is ``2/λ_max`` at
    the starting weights when it was measured."""
    bound = ("" if stable_rate is None else
             f"; at the starting weights 2/λ_max = {stable_rate:.3g}, the largest stable rate "
             f"for full-batch gradient descent")
    return CLIError(f"training diverged in epoch {exploded.epoch} of --epochs {epochs}: the "
                    f"training loss grew from {exploded.first:.4g} to {exploded.last:.4g} "
                    f"(more than 1e6 times its first value), so there is no model to save; "
                    f"try --lr {smaller_rate(lr, stable_rate)} (it was {lr:g}){bound}")
