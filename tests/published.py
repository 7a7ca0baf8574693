"""What one service publishes for another, written for tests of the reader.

A notifier test needs units and a closure; a dashboard test needs decisions. The published
views cannot be written, so these helpers write the owners' tables under them: the one place
in the tests of a reader that knows what lies beneath a published view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.schema import nt_decisions
from services.projector.schema import rm_closure, rm_units
from shared.text import fold_diacritics


async def publish_units(
    connection: AsyncConnection,
    units: Iterable[tuple[str, str, str | None]],
    *,
    level: str = "grassroots",
    state: str = "open",
) -> None:
    """Units as (id, name, parent id), with their closure as the projector publishes it."""
    units = list(units)
    parents = {unit_id: parent for unit_id, _, parent in units}
    closure = []
    for unit_id in parents:
        ancestor, depth = unit_id, 0
        while ancestor is not None:
            closure.append({"ancestor_id": ancestor, "descendant_id": unit_id, "depth": depth})
            ancestor, depth = parents.get(ancestor), depth + 1
    await connection.execute(
        rm_units.insert(),
        [
            {
                "unit_id": unit_id,
                "name": name,
                "name_folded": fold_diacritics(name),
                "level": level,
                "parent_id": parent,
                "state": state,
            }
            for unit_id, name, parent in units
        ],
    )
    await connection.execute(rm_closure.insert(), closure)


async def publish_decisions(
    connection: AsyncConnection, decisions: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Decisions as the notifier publishes them; their ids, in order."""
    ids = []
    for decision in decisions:
        result = await connection.execute(sa.insert(nt_decisions).values(dict(decision)))
        ids.append(int(result.inserted_primary_key[0]))
    return ids
