"""Ingest's Prometheus metrics, on a registry of its own so several instances can coexist."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.ingest.verdicts import Verdict


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.task_restarts = Counter(
            "ingest_task_restarts",
            "Background loops that died (logged with their name) and were started again",
            ["task"],
            registry=self.registry,
        )
        self.events = Counter(
            "ingest_events",
            "Portal events by verdict, type and reason code",
            ["status", "type", "code"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "ingest_batch_seconds",
            "Time to decide and append one batch",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "ingest_batch_size",
            "Events per batch",
            ["channel"],
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "ingest_dead_letters",
            "Inputs sent to the dead-letter queue",
            ["code"],
            registry=self.registry,
        )
        self.parked = Gauge(
            "ingest_parked_events", "Facts waiting in the parking lot", registry=self.registry
        )
        self.outbox_backlog = Gauge(
            "ingest_outbox_backlog",
            "Appended events not yet published to Kafka",
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "ingest_outbox_oldest_age_seconds",
            "Age of the oldest unpublished event (0 when the outbox is empty)",
            registry=self.registry,
        )
        self.lag = Gauge(
            "ingest_consumer_lag",
            "Portal records on the partition not yet handled (high watermark − next offset)",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.published = Counter(
            "ingest_relay_published_events",
            "Events the relay published to Kafka",
            registry=self.registry,
        )

    def count(self, verdicts: Sequence[Verdict]) -> None:
        """Counted per label set, not per event: a batch has few distinct ones."""
        tally = Tally((v.status.value, v.type or "", v.code or "") for v in verdicts)
        for labels, n in tally.items():
            self.events.labels(*labels).inc(n)
