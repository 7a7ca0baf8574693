"""The one path every portal event takes into the event store, whatever door it came by.

Per batch: decode, drop what was stored before, catch up with other writers, check each
fact against the state it finds (earlier facts of the same batch included), then append all
accepted facts in one transaction with the stream versions they were checked against.
A concurrent writer that got there first costs a retry, never a wrong decision.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from services.ingest.checks import CHECKERS, InitiativeStates, may_become_valid
from services.ingest.plausibility import OccurredWithin
from services.ingest.verdicts import Verdict, VerdictStatus
from shared.contracts.base import REFERENCE_STREAM, initiative_stream
from shared.contracts.portal import (
    MAX_EVENT_BYTES,
    ContractViolation,
    PortalEvent,
    decode_portal_event,
)
from shared.contracts.recorded import NewEvent
from shared.domain import initiative
from shared.domain.errors import DomainError
from shared.eventstore.port import ConcurrencyConflict, EventStore
from shared.reference import ReferenceView

RawEvent = bytes | str | Mapping[str, Any]

MAX_ID_ECHO = 200

log = logging.getLogger(__name__)


class _Decoded(NamedTuple):
    slot: int
    """Where in the input it came."""
    event: PortalEvent


class ConflictsPersisted(RuntimeError):
    """Other writers kept winning every retry; the batch is left for redelivery."""


class IngestPipeline:
    def __init__(
        self,
        store: EventStore,
        reference: ReferenceView | None = None,
        *,
        max_event_bytes: int = MAX_EVENT_BYTES,
        conflict_retries: int = 8,
        occurred: OccurredWithin | None = None,
    ) -> None:
        self._store = store
        self._occurred = occurred or OccurredWithin()
        self._reference = reference or ReferenceView(store)
        self._max_event_bytes = max_event_bytes
        self._conflict_retries = conflict_retries
        self._lock = asyncio.Lock()

    async def submit(self, raws: Sequence[RawEvent]) -> list[Verdict]:
        """One verdict per input, in input order."""
        verdicts: dict[int, Verdict] = {}
        decoded: list[_Decoded] = []
        for index, raw in enumerate(raws):
            try:
                event = decode_portal_event(raw, max_bytes=self._max_event_bytes)
                self._occurred.check(event.occurred_at)
                decoded.append(_Decoded(index, event))
            except ContractViolation as error:
                verdicts[index] = Verdict(
                    VerdictStatus.REJECTED,
                    event_id=_event_id_of(raw),
                    code=error.code,
                    message=error.message,
                )
        async with self._lock:
            verdicts |= await self._with_retries(decoded)
        return [verdicts[index] for index in range(len(raws))]

    async def _with_retries(self, decoded: list[_Decoded]) -> dict[int, Verdict]:
        for attempt in range(1, self._conflict_retries + 1):
            try:
                return await self._decide_and_append(decoded)
            except ConcurrencyConflict as conflict:
                log.info(
                    "append conflict, retrying", extra={"attempt": attempt, "detail": str(conflict)}
                )
                await asyncio.sleep(0.005 * attempt)
        raise ConflictsPersisted(f"still conflicting after {self._conflict_retries} attempts")

    async def _decide_and_append(self, decoded: list[_Decoded]) -> dict[int, Verdict]:
        verdicts: dict[int, Verdict] = {}
        known = await self._store.known_event_ids([d.event.event_id for d in decoded])
        fresh: list[_Decoded] = []
        seen: set[str] = set()
        for item in decoded:
            if item.event.event_id in known or item.event.event_id in seen:
                verdicts[item.slot] = _verdict(VerdictStatus.DUPLICATE, item.event)
            else:
                seen.add(item.event.event_id)
                fresh.append(item)
        if not fresh:
            return verdicts
        reference = self._reference
        await reference.catch_up()
        states, expected = await self._initiative_states(fresh)
        if any(item.event.data.stream_id() == REFERENCE_STREAM for item in fresh):
            expected[REFERENCE_STREAM] = reference.version
        accepted: list[_Decoded] = []
        for item in fresh:
            fact = item.event.data
            try:
                CHECKERS[fact.type](fact, item.event.occurred_at, reference, states)
            except DomainError as error:
                status = VerdictStatus.PARKED if may_become_valid(error) else VerdictStatus.REJECTED
                verdicts[item.slot] = _verdict(status, item.event, error.code, error.reason)
                continue
            accepted.append(item)
        try:
            outcomes = await self._store.append(
                [NewEvent.from_portal(item.event) for item in accepted], expected
            )
        except BaseException:
            await reference.reload()
            raise
        for item, outcome in zip(accepted, outcomes, strict=True):
            status = VerdictStatus.DUPLICATE if outcome.duplicate else VerdictStatus.ACCEPTED
            verdicts[item.slot] = _verdict(status, item.event, position=outcome.position)
        return verdicts

    async def _initiative_states(
        self, fresh: list[_Decoded]
    ) -> tuple[InitiativeStates, dict[str, int]]:
        """The current state and stream version of every initiative the batch touches."""
        ids = {
            item.event.data.initiative_id
            for item in fresh
            if isinstance(item.event.data, initiative.InitiativeFact)
        }
        histories = await self._store.read_streams([initiative_stream(i) for i in ids])
        states: InitiativeStates = {}
        expected: dict[str, int] = {}
        for initiative_id in ids:
            history = histories.get(initiative_stream(initiative_id), [])
            states[initiative_id] = initiative.replay((r.fact(), r.occurred_at) for r in history)
            expected[initiative_stream(initiative_id)] = len(history)
        return states, expected


def _verdict(
    status: VerdictStatus,
    event: PortalEvent,
    code: str | None = None,
    message: str | None = None,
    position: int | None = None,
) -> Verdict:
    correlation = event.correlation_id or event.event_id
    return Verdict(status, event.event_id, event.type, code, message, position, correlation)


def _event_id_of(raw: RawEvent) -> str | None:
    """Best effort, so a rejection of a malformed event can still name it: a readable id of
    at most ``MAX_ID_ECHO`` characters, as text any answer or log line can carry."""
    try:
        document = json.loads(raw) if isinstance(raw, bytes | str) else raw
    except (ValueError, RecursionError):
        return None
    event_id = document.get("event_id") if isinstance(document, Mapping) else None
    if not isinstance(event_id, str):
        return None
    return event_id[:MAX_ID_ECHO].encode(errors="backslashreplace").decode()
