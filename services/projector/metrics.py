"""Projector metrics, including consumer lag per partition, which FastStream does not export."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.projector.projection import BatchOutcome


class ProjectorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.task_restarts = Counter(
            "projector_task_restarts",
            "Background loops that died (logged with their name) and were started again",
            ["task"],
            registry=self.registry,
        )
        self.applied = Counter(
            "projector_events_applied", "Events applied to the read models", registry=self.registry
        )
        self.duplicates = Counter(
            "projector_events_duplicate",
            "Redelivered events skipped (stream version already applied)",
            registry=self.registry,
        )
        self.unknown = Counter(
            "projector_events_unknown_type",
            "Events of types this projector does not know, skipped",
            registry=self.registry,
        )
        self.undecodable = Counter(
            "projector_events_undecodable",
            "Records that were not a recorded event, sent to the dead-letter topic",
            registry=self.registry,
        )
        self.quarantined = Counter(
            "projector_events_quarantined",
            "Events that could not be applied; each stopped its stream (see rm_quarantine)",
            registry=self.registry,
        )
        self.held = Counter(
            "projector_events_held",
            "Events of quarantined streams left waiting in the event store",
            registry=self.registry,
        )
        self.quarantined_streams = Gauge(
            "projector_quarantined_streams",
            "Streams stopped at an event that cannot be applied, waiting for a retry",
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "projector_batch_size",
            "Events per applied batch",
            buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000),
            registry=self.registry,
        )
        self.apply_seconds = Histogram(
            "projector_apply_seconds",
            "Time to apply one batch in one transaction",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.lag = Gauge(
            "projector_consumer_lag",
            "Records on the partition not yet applied (high watermark − next offset)",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.freshness = Gauge(
            "projector_read_model_age_seconds",
            "Age of the newest event applied (recorded_at to now) at the last batch",
            registry=self.registry,
        )
        self.changes = Counter(
            "projector_progress_changes_published",
            "Progress changes published to the notifier",
            registry=self.registry,
        )
        self.changes_backlog = Gauge(
            "projector_progress_outbox_backlog",
            "Progress changes committed but not yet published",
            registry=self.registry,
        )

    def observe(self, outcome: BatchOutcome, size: int, seconds: float) -> None:
        self.applied.inc(outcome.applied)
        self.duplicates.inc(outcome.duplicates)
        self.unknown.inc(outcome.unknown_types)
        self.quarantined.inc(len(outcome.quarantined))
        self.quarantined_streams.inc(len(outcome.quarantined))  # readiness sets it exactly
        self.held.inc(outcome.held)
        self.batch_size.observe(size)
        self.apply_seconds.observe(seconds)
