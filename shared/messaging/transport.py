"""The transport between the services, chosen once: embedded (in process) or Kafka.

Every service is wired the same way whichever it is: it opens a :class:`Link` (its connection
to the transport, and its long-running parts), asks it for its dead letters, subscribes its
handler to its input topic and hands it the relays of what it publishes. The transport
decides what that means:

- :class:`EmbeddedTransport` (``KAFKA_BOOTSTRAP_SERVERS`` unset): nothing leaves the
  process. A consumer reads the table its producer writes instead of a topic (the projector
  follows the event store, the notifier drains ``progress_outbox``), so a subscription runs
  its in-process input, a relay is not needed, and dead letters go to the ``dead_letters``
  table.
- :class:`KafkaTransport`: one durable producer per service, batch subscribers that
  acknowledge only what was handled (``shared.messaging.batches``), relays that publish the
  outboxes, dead letters to ``<topic>.dlq``, and Kafka among the dependencies a service
  waits for and reports in ``/readyz``.

:func:`transport_for` is the one place that reads the setting.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock, utc_now
from shared.config import KafkaSettings
from shared.dead_letters import DeadLetterSink, KafkaDeadLetters, SqlDeadLetters
from shared.dependencies import Dependency, dependencies, kafka_dependency
from shared.lifecycle import BackgroundTasks, Loop, drain
from shared.messaging.batches import LagObserver, Records, SendLetters, subscribe_batches
from shared.messaging.health import kafka_ready
from shared.web.ops import ReadinessCheck, database_ready

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 512 * 1024
"""A relay pass of 1,000 events fits one record batch per partition (aiokafka's 16 KiB
default would make it a round trip per 16 KiB); below the broker's 1 MiB message limit."""


def kafka_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    """Durable publishing: every in-sync replica acknowledges, retries never duplicate."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=MAX_BATCH_BYTES,
    )


class ConsumerSettings(Protocol):
    """What every consuming service's settings say about how it reads its topic."""

    @property
    def consumer_group(self) -> str: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def batch_timeout_ms(self) -> int: ...


Handle = Callable[[Records], Awaitable[None]]
InProcess = tuple[str, Loop]
"""A named loop that stands in for a subscription when delivery is in process."""


@dataclass(frozen=True)
class Subscription:
    """A service's input: its topic read in batches as its consumer group and handed to
    ``handle`` (``dead_letters`` takes what cannot even be read); in process,
    ``in_process`` (when there is one) reads the producer's table instead."""

    topic: str
    handle: Handle
    dead_letters: SendLetters
    group_id: str
    max_records: int
    batch_timeout_ms: int
    title: str
    description: str
    observe_lag: LagObserver | None = None
    in_process: InProcess | None = None

    @classmethod
    def of(
        cls,
        settings: ConsumerSettings,
        topic: str,
        handle: Handle,
        dead_letters: SendLetters,
        *,
        title: str,
        description: str,
        observe_lag: LagObserver | None = None,
        in_process: InProcess | None = None,
    ) -> Subscription:
        """``topic`` read as ``settings`` say (their group, batch size and timeout)."""
        group, size, timeout = (
            settings.consumer_group,
            settings.batch_size,
            settings.batch_timeout_ms,
        )
        return cls(
            topic,
            handle,
            dead_letters,
            group,
            size,
            timeout,
            title,
            description,
            observe_lag,
            in_process,
        )


def lag_gauge(gauge: Gauge) -> LagObserver:
    """Set a ``(topic, partition)``-labelled gauge to each partition's lag."""

    def observe(topic: str, partition: int, lag: int) -> None:
        gauge.labels(topic, str(partition)).set(lag)

    return observe


class Relay(Protocol):
    """Publishes what waits in an outbox table; drained once more before a graceful stop."""

    async def run(self) -> None: ...

    async def relay_once(self) -> int: ...


class Link(ABC):
    """One service's connection to the transport, and its long-running parts: its own loops,
    its input and its relays. ``start`` starts them all; ``stop`` stops the input first, then
    the loops, and drains each relay once more."""

    producer: AIOKafkaProducer | None = None
    """The service's Kafka producer, or ``None`` in process."""
    keeps_outbox = False
    """Whether appended events wait in the event store's outbox for a relay."""

    def __init__(self, restarts: Counter | None = None) -> None:
        self._tasks = BackgroundTasks(restarts)
        self._loops: list[InProcess] = []
        self._relays: list[Relay] = []

    def loop(self, name: str, run: Loop) -> None:
        """Run ``run`` from ``start`` to ``stop``, restarted when it dies."""
        self._loops.append((name, run))

    @abstractmethod
    def dead_letters(
        self, engine: AsyncEngine, topic: str, clock: Clock = utc_now
    ) -> DeadLetterSink:
        """Where this service's input that can never be accepted goes (``topic``: its DLQ)."""

    @abstractmethod
    def subscribe(self, subscription: Subscription) -> None:
        """Start reading the subscription's input with the link (see :class:`Subscription`)."""

    @abstractmethod
    def publish(self, name: str, relay: Callable[[AIOKafkaProducer], Relay]) -> None:
        """Run the relay of an outbox table through the producer; in process there is none:
        the consumers read the table."""

    async def start(self) -> None:
        for name, run in self._loops:
            self._tasks.start(run, name=name)

    async def stop(self) -> None:
        await self._tasks.stop()
        for relay in self._relays:
            await drain(relay.relay_once)


class EmbeddedLink(Link):
    def dead_letters(
        self, engine: AsyncEngine, topic: str, clock: Clock = utc_now
    ) -> DeadLetterSink:
        return SqlDeadLetters(engine, clock)

    def subscribe(self, subscription: Subscription) -> None:
        if subscription.in_process is not None:
            self.loop(*subscription.in_process)

    def publish(self, name: str, relay: Callable[[AIOKafkaProducer], Relay]) -> None:
        return


class KafkaLink(Link):
    keeps_outbox = True

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        producer: AIOKafkaProducer,
        restarts: Counter | None = None,
    ) -> None:
        super().__init__(restarts)
        self.producer = producer
        self._bootstrap_servers = bootstrap_servers
        self._client_id = client_id
        self._broker: KafkaBroker | None = None

    def dead_letters(
        self, engine: AsyncEngine, topic: str, clock: Clock = utc_now
    ) -> DeadLetterSink:
        return KafkaDeadLetters(self.producer, topic, clock)

    def subscribe(self, subscription: Subscription) -> None:
        if self._broker is None:
            self._broker = KafkaBroker(
                self._bootstrap_servers, client_id=self._client_id, logger=log
            )
        subscribe_batches(
            self._broker,
            subscription.topic,
            subscription.handle,
            group_id=subscription.group_id,
            max_records=subscription.max_records,
            batch_timeout_ms=subscription.batch_timeout_ms,
            observe_lag=subscription.observe_lag,
            dead_letters=subscription.dead_letters,
            title=subscription.title,
            description=subscription.description,
        )

    def publish(self, name: str, relay: Callable[[AIOKafkaProducer], Relay]) -> None:
        made = relay(self.producer)
        self._relays.append(made)
        self.loop(name, made.run)

    async def start(self) -> None:
        await super().start()
        if self._broker is not None:
            await self._broker.start()

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.stop()
        await super().stop()


class Transport(Protocol):
    in_process: bool
    """Whether delivery stays in this process (consumers read their producers' tables)."""

    def __str__(self) -> str:
        """What it is, for people: "in-process (embedded default)", "Kafka at …"."""
        ...

    def dependencies(self, database_url: str) -> list[Dependency]:
        """What a service on this transport waits for before it opens."""
        ...

    def readiness(self, engine: AsyncEngine) -> dict[str, ReadinessCheck]:
        """A service's ``/readyz`` checks: its database, and the brokers when there are any."""
        ...

    def connect(
        self, service: str, restarts: Counter | None = None
    ) -> AbstractAsyncContextManager[Link]:
        """Open ``service``'s link (``restarts`` counts its loops that died)."""
        ...


class EmbeddedTransport:
    in_process = True

    def __str__(self) -> str:
        return "in-process (embedded default)"

    def dependencies(self, database_url: str) -> list[Dependency]:
        return dependencies(database_url)

    def readiness(self, engine: AsyncEngine) -> dict[str, ReadinessCheck]:
        return {"database": database_ready(engine)}

    @asynccontextmanager
    async def connect(self, service: str, restarts: Counter | None = None) -> AsyncIterator[Link]:
        yield EmbeddedLink(restarts)


class KafkaTransport:
    in_process = False

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    def __str__(self) -> str:
        return f"Kafka at {self.bootstrap_servers}"

    def dependencies(self, database_url: str) -> list[Dependency]:
        return [*dependencies(database_url), kafka_dependency(self.bootstrap_servers)]

    def readiness(self, engine: AsyncEngine) -> dict[str, ReadinessCheck]:
        return {"database": database_ready(engine), "kafka": kafka_ready(self.bootstrap_servers)}

    def producer(self, service: str) -> AIOKafkaProducer:
        """``service``'s producer, not started."""
        return kafka_producer(self.bootstrap_servers, f"initiatives-{service}")

    @asynccontextmanager
    async def connect(self, service: str, restarts: Counter | None = None) -> AsyncIterator[Link]:
        producer = self.producer(service)
        try:
            await producer.start()
            yield KafkaLink(self.bootstrap_servers, f"initiatives-{service}", producer, restarts)
        finally:
            await producer.stop()


def transport_for(settings: KafkaSettings) -> Transport:
    """The transport the settings choose: Kafka when brokers are configured, else in process."""
    servers = settings.kafka_bootstrap_servers
    return EmbeddedTransport() if servers is None else KafkaTransport(servers)
