"""Outcomes are judged only on current figures: the notifier knows when its input has heard
every change published so far, and wakes its clock the moment it catches up."""

from __future__ import annotations

from services.notifier.freshness import Freshness


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_figures_are_current_once_nothing_waits_behind_any_input() -> None:
    ticks = Ticks()
    freshness = Freshness(quiet_seconds=30, monotonic=ticks)
    assert not freshness.current()

    freshness.heard("changes/0", 120)
    freshness.heard("changes/1", 0)
    assert not freshness.current()
    assert not freshness.caught_up.is_set()

    freshness.heard("changes/0", 0)
    assert freshness.current()
    assert freshness.caught_up.is_set()


def test_an_input_that_heard_nothing_for_a_while_counts_as_caught_up() -> None:
    """A Kafka consumer with no lag receives no batch that could report it."""
    ticks = Ticks()
    freshness = Freshness(quiet_seconds=30, monotonic=ticks)
    freshness.heard("changes/0", 5)

    ticks.now = 29.0
    assert not freshness.current()
    ticks.now = 30.0
    assert freshness.current()


def test_the_clock_is_woken_on_each_catch_up_not_on_every_report() -> None:
    freshness = Freshness(monotonic=Ticks())
    freshness.heard("outbox", 0)
    freshness.caught_up.clear()

    freshness.heard("outbox", 0)
    assert not freshness.caught_up.is_set()
    freshness.heard("outbox", 3)
    freshness.heard("outbox", 0)
    assert freshness.caught_up.is_set()
