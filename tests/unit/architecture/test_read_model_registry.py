"""The registry of read models names every projector table once and every query that reads
them: a table left out would be missed by the rebuild's swap and by ``verify``, and a query
left out would have no read model to answer from."""

from __future__ import annotations

import inspect
from collections import Counter

from services.projector.api.queries import ReadModels
from services.projector.read_models import AGGREGATES, REGISTRY, TABLES
from services.projector.schema import metadata

NOT_FROM_A_READ_MODEL = {"campaign_names"}
"""Campaign names come from the reference stream's ``campaign.defined`` facts."""


def test_every_projector_table_belongs_to_exactly_one_read_model() -> None:
    declared = {table.name for table in metadata.tables.values()}
    counted = Counter(table.name for table in TABLES)
    assert set(counted) == declared
    assert [name for name, n in counted.items() if n > 1] == []


def test_every_query_reads_a_registered_read_model() -> None:
    queries = {
        name
        for name, member in inspect.getmembers(ReadModels, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }
    named = Counter(name for model in REGISTRY for name in model.queries)
    assert set(named) == queries - NOT_FROM_A_READ_MODEL
    assert [name for name, n in named.items() if n > 1] == []


def test_every_aggregate_counts_into_its_own_tables_columns() -> None:
    for model in REGISTRY:
        aggregate = model.aggregate
        if aggregate is None:
            continue
        assert aggregate.table in model.tables, model.name
        assert set(aggregate.columns) <= set(aggregate.table.columns.keys()), model.name
    assert len({aggregate.name for aggregate in AGGREGATES}) == len(AGGREGATES)
