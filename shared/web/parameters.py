"""Request parameters bounded to what the database and the calendar can hold.

An unbounded integer reaches the database as a value its bigint cannot hold, and an instant
in year 1 or 9999 cannot be turned into UTC: both were server errors. Bounded here, they are
a 422 that says what is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from shared.contracts.base import EARLIEST_INSTANT, LATEST_INSTANT

ROW_ID_MAX = 2**63 - 1


def within_campaign_years(at: dt.datetime) -> dt.datetime:
    """Refuse an instant no campaign can mean (and that may not convert to UTC at all)."""
    if not EARLIEST_INSTANT <= at < LATEST_INSTANT:
        raise ValueError(
            f"must lie between {EARLIEST_INSTANT:%Y-%m-%d} and {LATEST_INSTANT:%Y-%m-%d}"
        )
    return at


_SPACE_FOR_PLUS = re.compile(r"T[0-9:.]+ [0-9]{2}(:?[0-9]{2})?$")


def plus_encoded(value: object) -> object:
    """A ``+`` in a query string decodes to a space, so ``…T13:30:00+07:00`` sent unencoded
    arrives as ``…T13:30:00 07:00``: say that, not pydantic's "unexpected extra characters"."""
    if isinstance(value, str) and _SPACE_FOR_PLUS.search(value):
        encoded = value.replace(" ", "%2B")
        raise ValueError(
            f"{value!r} looks like an offset whose '+' was not URL-encoded (a '+' in a query"
            f" string means a space); write %2B, as in {encoded}"
        )
    return value


Instant = Annotated[
    AwareDatetime, BeforeValidator(plus_encoded), AfterValidator(within_campaign_years)
]
"""An instant with a UTC offset, between 2000 and 2100."""

RowIdPath = Annotated[int, Path(ge=1, le=ROW_ID_MAX, description="The id the API gave it")]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000, description="From 1")]
