"""The garbage collector is set for batch work: young objects are collected less often, and
what a service loaded at start is no longer scanned (``shared.heap``)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator

import pytest

from services.projector.fold import fold_batch
from shared.heap import YOUNG_COLLECTION_ALLOCATIONS, freeze_loaded, tune_collector
from tests.reorganisation import history, reform
from tests.unit.projector.test_columnar_fold import stored


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector as it was before the test, whatever the test set."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_young_objects_are_collected_less_often_and_older_ratios_are_kept() -> None:
    gc.set_threshold(700, 11, 12)
    tune_collector()
    assert gc.get_threshold() == (YOUNG_COLLECTION_ALLOCATIONS, 11, 12)


@pytest.mark.usefixtures("collector")
def test_what_was_loaded_is_kept_out_of_later_collections() -> None:
    loaded = {"reference": ["data"]}
    assert gc.is_tracked(loaded)
    assert any(o is loaded for o in gc.get_objects())
    freeze_loaded()
    assert gc.get_freeze_count() > 0
    assert not any(o is loaded for o in gc.get_objects())


def _garbage_of(modules: tuple[str, ...], build: Callable[[], object]) -> list[object]:
    """Objects of classes from ``modules`` left in reference cycles once what ``build`` made
    is dropped: freed by reference counting, they never reach the collector."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        build()
        gc.collect()
        return [o for o in gc.garbage if type(o).__module__.startswith(modules)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_reference_data_is_freed_without_the_collector() -> None:
    """``freeze_loaded`` keeps what a service loaded out of every later collection, so what
    it drops later must be freed by reference counting, or it stays for good. A projector
    builds a new reference view after a failed batch: the view and its attribution, with a
    reorganisation's moves, merges and replaced plans, must hold no reference cycle."""

    def build() -> object:
        attribution, facts = asyncio.run(stored([*history(), *reform()]))
        fold_batch({}, facts, attribution)
        return attribution.view.version

    reference = ("shared.domain", "shared.reference", "services.projector.attribution")
    assert _garbage_of(reference, build) == []


def test_the_check_finds_a_cycle() -> None:
    class Node:
        pass

    def build() -> object:
        node = Node()
        node.itself = node  # type: ignore[attr-defined]
        return None

    assert len(_garbage_of((__name__,), build)) == 1
