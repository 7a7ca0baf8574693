"""Which tables each part of the system owns: it alone writes them, and only through a
published view (:mod:`shared.persistence.published`) does another part read them.

The migrations build every owner's tables in one linear history; a test compares what they
build with these declarations. Each service's schema module may be imported by that service
only (an import contract holds it).
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from services.ingest import schema as ingest
from services.notifier import schema as notifier
from services.projector import schema as projector
from shared import dead_letters
from shared.eventstore import schema as event_store
from shared.persistence import progress_outbox

OWNERS: Mapping[str, sa.MetaData] = {
    "event store (ingest appends, the projector reads through its port)": event_store.metadata,
    "ingest": ingest.metadata,
    "dead letters (every service's embedded dead-letter queue)": dead_letters.metadata,
    "projector": projector.metadata,
    "projector's progress outbox (the notifier's input in embedded mode)": (
        progress_outbox.metadata
    ),
    "notifier": notifier.metadata,
}
