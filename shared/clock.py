"""What time it is: passed in as a function, so tests and benchmarks can set it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]
"""Returns an aware instant; :func:`utc_now` in production, a frozen or moving one in tests."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
