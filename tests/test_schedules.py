"""Learning-rate schedules and the one "no improvement" rule they share with early stopping."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.schedules import Adaptive, InverseScaling, Plateau, ReduceOnPlateau, get_schedule


def test_plateau_rule_for_a_loss_and_a_score():
    def trace(plateau, values):
        return [(plateau.update(v), plateau.bad_epochs) for v in values]

    # each loss is a new best, but only 0.79 is 0.1 below the best before it: steps
    # smaller than min_delta count as a plateau however many there are
    assert trace(Plateau(min_delta=0.1), (1.0, 0.95, 0.9, 0.9, 0.79)) == [
        (True, 0), (True, 1), (True, 2), (False, 3), (True, 0)]
    # a score improves upward; equal to the best plus min_delta counts as improving
    assert trace(Plateau(min_delta=0.25, higher_is_better=True), (0.5, 0.625, 0.875, 0.875)) == [
        (True, 0), (True, 1), (True, 0), (False, 1)]


def test_adaptive_divides_by_five_then_finishes_below_min_lr():
    schedule = Adaptive(patience=1, threshold=0.5, min_lr=1e-3)
    rates = []
    for _ in range(12):
        rates.append(schedule(0.1, 0))
        if schedule.finished:
            break
        schedule.observe(1.0)  # never improves after the first epoch
    # two epochs without improvement (more than patience=1) per division
    assert rates[:7] == [0.1, 0.1, 0.1, 0.1 / 5, 0.1 / 5, 0.1 / 5 / 5, 0.1 / 5 / 5]
    assert schedule.finished and rates[-1] == pytest.approx(0.1 / 5 ** 3)


def test_inverse_scaling_counts_epochs_or_samples():
    assert InverseScaling(0.5)(1.0, 3) == 0.5
    rates = gn.train(gn.Network.from_sizes([2, 1], seed=0), np.ones((10, 2)), np.ones(10),
                     lr=1.0, epochs=3, batch_size=5, schedule=InverseScaling(0.5, unit="sample"))
    assert rates.lr == [1.0, 1 / math.sqrt(11), 1 / math.sqrt(21)]  # 0, 10, 20 rows seen
    with pytest.raises(ValueError, match="unit must be 'epoch' or 'sample'"):
        InverseScaling(0.5, unit="batch")


def test_reduce_on_plateau_monitors_what_it_is_told():
    schedule = ReduceOnPlateau(factor=0.5, patience=0, monitor="val_score")
    for value in (0.5, 0.7, 0.6):  # the score fell once: more than patience=0 bad epochs
        schedule.observe(value)
    assert schedule(1.0, 0) == 0.5
    assert "plateau" in schedule.config()["name"] and "_plateau" not in repr(schedule)
    with pytest.raises(ValueError, match="monitor must be"):
        ReduceOnPlateau(monitor="accuracy")


def test_a_finished_schedule_stops_the_loop():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 2)), rng.integers(0, 2, 20)
    history = gn.train(gn.Network.from_sizes([2, 1], seed=0), X, y, lr=1e-3, epochs=50,
                       schedule=Adaptive(patience=0, threshold=10.0, min_lr=1e-4))
    # after the first epoch every epoch is a plateau (nothing improves by 10): the rate is
    # divided by 5 twice, and the plateau at 4e-5 (<= min_lr) finishes the schedule
    assert len(history.epoch) == 4 and history.stopped_early
    assert history.lr == pytest.approx([1e-3, 1e-3, 2e-4, 4e-5])
    assert get_schedule("adaptive").name == "adaptive"
