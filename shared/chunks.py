"""Slices of a collection: batches of work, and values for one ``IN (…)`` on any database."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

IN_LIST = 500
"""Values per ``IN (…)`` that every supported database takes in one statement (SQLite limits
a statement's parameters)."""


def chunks(items: Iterable[T], size: int = IN_LIST) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items, the last one shorter; none for no items."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
