"""The garbage collector is set for batch work: young objects are collected less often, and
what a service loaded at start is no longer scanned (``shared.heap``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.heap import YOUNG_COLLECTION_ALLOCATIONS, freeze_loaded, tune_collector


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
