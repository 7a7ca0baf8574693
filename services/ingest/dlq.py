"""The ``<input topic>.dlq`` topic for operators: read its letters, produce them back.

A Kafka topic cannot delete what it holds, so a replay produces the original bytes (and key)
to the input topic, where the running ingest judges them like any portal record: what is
valid now is appended (a duplicate stays a duplicate), what is still refused comes back to
the DLQ as a new letter. ``--since`` picks the letters after an earlier replay.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Group, RenderableType
from rich.text import Text

from services.ingest.operations import letter_detail, letter_table
from services.ingest.settings import IngestSettings
from shared.dead_letters import DeadLetter, Origin, Selection
from shared.messaging.transport import KafkaTransport


@dataclass(frozen=True)
class KafkaLetter:
    """A DLQ record read back: its place in the DLQ, the letter (its origin holds the
    record's key) and its date."""

    partition: int
    offset: int
    letter: DeadLetter
    dead_lettered_at: dt.datetime

    @property
    def id(self) -> str:
        return f"{self.partition}/{self.offset}"


def _letter(record: ConsumerRecord[Any, Any]) -> KafkaLetter:
    """The letter ``KafkaDeadLetters`` wrote: bytes as the value, the rest in headers."""
    headers = {name: value.decode(errors="replace") for name, value in record.headers}

    def number(name: str) -> int | None:
        return int(headers[name]) if name in headers else None

    origin = Origin(
        headers.get("x-source-channel", "kafka"),
        headers.get("x-source-topic"),
        number("x-source-partition"),
        number("x-source-offset"),
        headers.get("x-source-detail"),
        None if record.key is None else record.key.decode(errors="backslashreplace"),
    )
    written = headers.get("x-dead-lettered-at")
    at = (
        dt.datetime.fromisoformat(written)
        if written
        else dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC)
    )
    letter = DeadLetter(
        record.value or b"",
        headers.get("x-error-code", "unknown"),
        headers.get("x-error-message", ""),
        origin,
    )
    return KafkaLetter(record.partition, record.offset, letter, at)


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The topic's partitions, none when it does not exist (asked of the admin API, since
    subscribing to a missing topic could create it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="initiatives-dead-letters")
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [TopicPartition(topic, p["partition"]) for p in description["partitions"]]


async def read_letters(
    settings: IngestSettings, kafka: KafkaTransport, selection: Selection
) -> list[KafkaLetter]:
    """The selected letters, oldest first, of what the topic holds now."""
    bootstrap = kafka.bootstrap_servers
    partitions = await _partitions(bootstrap, settings.dead_letters)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="initiatives-dead-letters",
        enable_auto_commit=False,
    )
    found: list[KafkaLetter] = []
    try:
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        waiting = {tp for tp in partitions if ends[tp] > 0}
        while waiting:
            batches = await consumer.getmany(*waiting, timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        letter = _letter(record)
                        if selection.admits(letter.letter.code, letter.dead_lettered_at):
                            found.append(letter)
            waiting = {tp for tp in waiting if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    found.sort(key=lambda x: (x.dead_lettered_at, x.partition, x.offset))
    return found[: selection.limit]


async def list_letters(
    settings: IngestSettings, kafka: KafkaTransport, selection: Selection
) -> RenderableType:
    found = await read_letters(settings, kafka, selection)
    rows = ((x.id, x.dead_lettered_at, x.letter, "") for x in found)
    return Group(
        letter_table(f"dead letters in {settings.dead_letters}", rows),
        Text(f"{len(found):,} shown", style="dim"),
    )


async def show_letter(
    settings: IngestSettings, kafka: KafkaTransport, letter_id: str
) -> RenderableType | None:
    """``PARTITION/OFFSET`` in the DLQ topic."""
    for letter in await read_letters(settings, kafka, Selection()):
        if letter.id == letter_id:
            return letter_detail(letter.id, letter.dead_lettered_at, letter.letter)
    return None


@dataclass(frozen=True)
class KafkaReplay:
    letters: list[KafkaLetter]
    topic: str
    dry_run: bool

    @property
    def complete(self) -> bool:
        return all(x.letter.raw for x in self.letters)

    def render(self) -> RenderableType:
        if not self.letters:
            return Text("no dead letter matches")
        done = "would be produced to" if self.dry_run else "produced to"
        rows = (
            (
                x.id,
                x.dead_lettered_at,
                x.letter,
                f"{done} {self.topic}" if x.letter.raw else "skipped: its bytes were unreadable",
            )
            for x in self.letters
        )
        title = "DLQ records replayed" + (" (dry run: nothing produced)" if self.dry_run else "")
        return letter_table(title, rows)


async def replay_letters(
    settings: IngestSettings, kafka: KafkaTransport, selection: Selection, dry_run: bool
) -> KafkaReplay:
    """Produce the selected letters' original bytes, with their key, to the input topic,
    marked with where they came from (``x-replayed-from``); a letter of an undecodable
    batch has no bytes and is skipped."""
    letters = await read_letters(settings, kafka, selection)
    replay = KafkaReplay(letters, settings.input_topic, dry_run)
    if dry_run or not letters:
        return replay
    producer = kafka.producer("ingest")
    try:
        await producer.start()
        acks = [
            await producer.send(
                settings.input_topic,
                value=x.letter.raw,
                key=None if x.letter.origin.key is None else x.letter.origin.key.encode(),
                headers=[("x-replayed-from", f"{settings.dead_letters}/{x.id}".encode())],
            )
            for x in letters
            if x.letter.raw
        ]
        for ack in acks:
            await ack
    finally:
        await producer.stop()
    return replay
