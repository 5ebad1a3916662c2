"""What a user sees while a network trains: training callbacks for the command line."""

from __future__ import annotations

from ..training import Callback
from ..training import evaluate as evaluate_network

__all__ = ["EpochCount", "HeldOutCurve", "PlainProgress", "PrintSummary", "RichProgress"]


class PrintSummary(Callback):
    """The network's layer table (``Network.summary()``) as training begins."""

    def __init__(self, echo):
        self.echo = echo

    def on_train_begin(self, trainer):
        trainer.network.summary(print_fn=self.echo)


class RichProgress(Callback):
    """A live progress bar with the current loss (terminals only)."""

    def __init__(self, epochs, console):
        self.epochs = epochs
        self.console = console

    def on_train_begin(self, trainer):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("epochs  loss {task.fields[loss]}"),
                                 TimeElapsedColumn(), console=self.console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task("train", total=self.epochs, loss="-")

    def on_epoch_end(self, trainer, epoch, logs):
        self.progress.update(self.task, advance=1, loss=f"{logs['loss']:.6f}")

    def on_train_end(self, trainer):
        self.progress.stop()


class PlainProgress(Callback):
    """Plain ``epoch k/N: loss L`` lines for logs and pipes."""

    def __init__(self, epochs, every, echo):
        self.epochs = epochs
        self.every = max(1, every)
        self.echo = echo

    def on_epoch_end(self, trainer, epoch, logs):
        k = epoch + 1
        if k % self.every == 0 or k == 1 or k == self.epochs:
            extra = "".join(f"  {key} {logs[key]:.6f}" for key in ("val_loss", "val_score")
                            if key in logs)
            self.echo(f"epoch {k}/{self.epochs}: loss {logs['loss']:.6f}{extra}")


class HeldOutCurve(Callback):
    """Record the loss and score on held-out rows after every epoch (reporting only:
    nothing here steers training)."""

    def __init__(self, X, Y):
        self.X, self.Y = X, Y
        self.loss, self.score = [], []

    def on_epoch_end(self, trainer, epoch, logs):
        network = trainer.network
        loss, value = evaluate_network(network, self.X.astype(network.dtype, copy=False),
                                       self.Y.astype(network.dtype, copy=False))
        self.loss.append(float(loss))
        self.score.append(value)


class EpochCount(Callback):
    """Count finished epochs (to say in which one a run diverged)."""

    def __init__(self):
        self.finished = 0

    def on_train_begin(self, trainer):
        self.finished = 0

    def on_epoch_end(self, trainer, epoch, logs):
        self.finished += 1
