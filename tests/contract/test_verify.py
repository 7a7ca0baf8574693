"""``verify`` tells whether the read models agree with the event store: after events were lost
from the store (a failover to a replica that lacked them), it names the streams applied beyond
the store and the tables that differ from a rebuild, leaves the live tables untouched, and a
rebuild repairs them."""

from __future__ import annotations

import sqlalchemy as sa

from services.projector.rebuild import rebuild
from services.projector.verify import verify
from shared.eventstore.schema import events
from shared.persistence.engine import create_engine
from tests.contract.test_rebuild import project_live
from tests.read_models import dump


async def test_lost_events_are_reported_and_a_rebuild_repairs_them(database_url: str) -> None:
    await project_live(database_url)
    await rebuild(database_url, batch_size=50)
    assert (await verify(database_url)).agrees

    engine = create_engine(database_url)
    async with engine.begin() as connection:
        lost = await connection.scalar(
            sa.select(sa.func.max(events.c.position)).where(events.c.stream_id.like("initiative-%"))
        )
        stream_id = await connection.scalar(
            sa.select(events.c.stream_id).where(events.c.position == lost)
        )
        await connection.execute(sa.delete(events).where(events.c.position == lost))
    before = await dump(engine)

    verdict = await verify(database_url, batch_size=7)

    assert [a.stream_id for a in verdict.ahead] == [stream_id]
    assert verdict.ahead[0].applied == verdict.ahead[0].stored + 1
    assert "rm_stream_versions" in verdict.tables
    assert "rm_initiative_history" in verdict.tables
    assert not verdict.agrees
    assert "repair: initiatives projector rebuild --restart" in verdict.render()
    assert await dump(engine) == before, "verify leaves the live tables as they were"
    await engine.dispose()

    await rebuild(database_url, batch_size=50, restart=True)
    assert (await verify(database_url)).agrees
