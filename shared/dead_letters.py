"""Where input goes that can never be accepted: the DLQ topic, or a table in embedded mode.

A dead letter keeps the original bytes untouched, so a portal developer can replay it after
a fix, plus the reason and where it came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore.port import Clock, utc_now
from shared.persistence.schema import dead_letters


class KafkaPosition(Protocol):
    """What a consumed record says of where it was (aiokafka's ``ConsumerRecord``)."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Origin:
    """Where an input came from: a Kafka record, an HTTP request or a line of a file."""

    channel: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Origin:
        return cls(**data)

    @classmethod
    def of_record(cls, record: KafkaPosition) -> Origin:
        """A consumed Kafka record's origin: its topic, partition and offset."""
        return cls("kafka", record.topic, record.partition, record.offset)


@dataclass(frozen=True)
class DeadLetter:
    raw: bytes
    code: str
    message: str
    origin: Origin


class DeadLetterSink(Protocol):
    async def send(self, letters: Sequence[DeadLetter]) -> None: ...


class KafkaDeadLetters:
    """Publishes each letter's original bytes with the reason and the source in headers."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, clock: Clock = utc_now) -> None:
        self._producer = producer
        self._topic = topic
        self._clock = clock

    async def send(self, letters: Sequence[DeadLetter]) -> None:
        now = self._clock().isoformat().encode()
        acks = [
            await self._producer.send(self._topic, value=letter.raw, headers=_headers(letter, now))
            for letter in letters
        ]
        for ack in acks:
            await ack


def _headers(letter: DeadLetter, now: bytes) -> list[tuple[str, bytes]]:
    origin = letter.origin
    headers = [
        ("x-error-code", letter.code.encode()),
        ("x-error-message", letter.message.encode()),
        ("x-source-channel", origin.channel.encode()),
        ("x-dead-lettered-at", now),
    ]
    for name, value in (
        ("x-source-topic", origin.topic),
        ("x-source-partition", origin.partition),
        ("x-source-offset", origin.offset),
        ("x-source-detail", origin.detail),
    ):
        if value is not None:
            headers.append((name, str(value).encode()))
    return headers


class SqlDeadLetters:
    """The embedded default's DLQ: a table an operator can query."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    async def send(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        now = self._clock()
        async with self._engine.begin() as connection:
            await connection.execute(
                dead_letters.insert(),
                [
                    {
                        "raw": letter.raw,
                        "code": letter.code,
                        "message": letter.message,
                        "origin": letter.origin.as_dict(),
                        "dead_lettered_at": now,
                    }
                    for letter in letters
                ],
            )

    async def recent(self, limit: int = 100) -> list[tuple[DeadLetter, dt.datetime]]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                sa.select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
            )
            return [
                (
                    DeadLetter(row.raw, row.code, row.message, Origin.from_dict(row.origin)),
                    row.dead_lettered_at,
                )
                for row in rows
            ]
