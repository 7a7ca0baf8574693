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

from shared.clock import Clock, utc_now
from shared.persistence.types import Json, Position, UtcDateTime

metadata = sa.MetaData()

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", Position, primary_key=True, autoincrement=True),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("origin", Json, nullable=False),
    sa.Column("dead_lettered_at", UtcDateTime, nullable=False),
)
"""The embedded default's dead-letter queue, one table for every service's input (with
Kafka, each input's ``.dlq`` topic stands in its place)."""


class KafkaPosition(Protocol):
    """What a consumed record says of where it was (aiokafka's ``ConsumerRecord``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass(frozen=True)
class Origin:
    """Where an input came from: a Kafka record, an HTTP request or a line of a file."""

    channel: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    detail: str | None = None
    key: str | None = None
    """A Kafka record's key (an initiative or unit id), kept with a parked fact and on its
    dead letter, so a replay lands on the same partition as the rest of its stream."""

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Origin:
        return cls(**data)

    @classmethod
    def of_record(cls, record: KafkaPosition) -> Origin:
        """A consumed Kafka record's origin: its topic, partition and offset."""
        key = None if record.key is None else record.key.decode(errors="backslashreplace")
        return cls("kafka", record.topic, record.partition, record.offset, key=key)

    def describe(self) -> str:
        """Where to look, as an operator writes it: ``FILE:LINE``, ``topic/partition/offset``,
        or the channel and its detail (the portal of an HTTP request)."""
        if self.topic is not None and self.partition is not None:
            return f"{self.topic}/{self.partition}/{self.offset}"
        if self.channel == "file" and self.detail:
            return self.detail
        return " ".join(part for part in (self.channel, self.topic, self.detail) if part)


@dataclass(frozen=True)
class DeadLetter:
    raw: bytes
    code: str
    message: str
    origin: Origin


@dataclass(frozen=True)
class StoredLetter:
    """A dead letter kept in the ``dead_letters`` table, with its row id."""

    id: int
    letter: DeadLetter
    dead_lettered_at: dt.datetime


@dataclass(frozen=True)
class Selection:
    """Which letters (or parked facts) an operator asks for: any of ``codes`` (all when
    empty), at or after ``since`` and before ``until`` (aware instants), at most ``limit``."""

    codes: tuple[str, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int | None = None

    def admits(self, code: str, at: dt.datetime) -> bool:
        """The same test in Python, for letters read from a Kafka topic."""
        return (
            (not self.codes or code in self.codes)
            and (self.since is None or at >= self.since)
            and (self.until is None or at < self.until)
        )

    def where(self, code: sa.ColumnElement[str], at: sa.ColumnElement[dt.datetime]) -> list[Any]:
        """The same test as SQL conditions on a table's code and time columns."""
        conditions: list[Any] = []
        if self.codes:
            conditions.append(code.in_(self.codes))
        if self.since is not None:
            conditions.append(at >= self.since)
        if self.until is not None:
            conditions.append(at < self.until)
        return conditions


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
            await self._producer.send(
                self._topic,
                value=letter.raw,
                key=None if letter.origin.key is None else letter.origin.key.encode(),
                headers=_headers(letter, now),
            )
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

    async def find(self, selection: Selection) -> list[StoredLetter]:
        """The selected letters, oldest first."""
        conditions = selection.where(dead_letters.c.code, dead_letters.c.dead_lettered_at)
        query = sa.select(dead_letters).where(*conditions).order_by(dead_letters.c.id)
        async with self._engine.connect() as connection:
            rows = await connection.execute(query.limit(selection.limit))
            return [_stored(row) for row in rows]

    async def count(self, selection: Selection) -> int:
        conditions = selection.where(dead_letters.c.code, dead_letters.c.dead_lettered_at)
        async with self._engine.connect() as connection:
            total = await connection.scalar(
                sa.select(sa.func.count()).select_from(dead_letters).where(*conditions)
            )
        return int(total or 0)

    async def get(self, letter_id: int) -> StoredLetter | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(dead_letters).where(dead_letters.c.id == letter_id)
                )
            ).one_or_none()
        return None if row is None else _stored(row)

    async def settle(self, removed: Sequence[int], refreshed: Sequence[StoredLetter]) -> None:
        """After a replay, in one transaction: drop the letters that went in, and give those
        still refused their new code and reason (keeping their id and first date)."""
        async with self._engine.begin() as connection:
            if removed:
                await connection.execute(
                    dead_letters.delete().where(dead_letters.c.id.in_(removed))
                )
            for stored in refreshed:
                await connection.execute(
                    dead_letters.update()
                    .where(dead_letters.c.id == stored.id)
                    .values(code=stored.letter.code, message=stored.letter.message)
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


def _stored(row: sa.Row[Any]) -> StoredLetter:
    letter = DeadLetter(row.raw, row.code, row.message, Origin.from_dict(row.origin))
    return StoredLetter(row.id, letter, row.dead_lettered_at)
