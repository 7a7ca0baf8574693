"""A value that changes at instants: what reference data needs to be effective-dated.

Entries are kept in the order of the instant they take effect, whatever order they were
recorded in, so a fact that arrives late lands where its own time puts it. Two entries at
the same instant keep their recording order (the later one wins from that instant).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Timeline(Generic[T]):
    """Values by the instant they take effect; before the first instant, the first value
    holds (the fact that establishes something describes it from the start)."""

    __slots__ = ("_since", "_values")

    def __init__(self, since: dt.datetime, value: T) -> None:
        self._since = [since]
        self._values = [value]

    def set(self, since: dt.datetime, value: T) -> int:
        """Record ``value`` from ``since`` on; the index it was stored at (for :meth:`undo`)."""
        index = bisect.bisect_right(self._since, since)
        self._since.insert(index, since)
        self._values.insert(index, value)
        return index

    def undo(self, index: int) -> None:
        """Forget the entry :meth:`set` stored at ``index`` (a trial that must not stay)."""
        del self._since[index]
        del self._values[index]

    def at(self, when: dt.datetime) -> T:
        index = bisect.bisect_right(self._since, when)
        return self._values[index - 1 if index else 0]

    def next_change(self, when: dt.datetime) -> dt.datetime | None:
        """The first instant after ``when`` at which an entry takes effect, if any."""
        index = bisect.bisect_right(self._since, when)
        return self._since[index] if index < len(self._since) else None

    @property
    def first(self) -> dt.datetime:
        """The instant of the earliest entry."""
        return self._since[0]

    def changes(self) -> Iterator[dt.datetime]:
        """The instants at which a value after the first takes effect."""
        return iter(self._since[1:])

    def values(self) -> Iterator[T]:
        return iter(self._values)
