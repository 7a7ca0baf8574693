"""Notifier metrics, on a registry of its own so several instances (and tests) can coexist."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.task_restarts = Counter(
            "notifier_task_restarts",
            "Background loops that died (logged with their name) and were started again",
            ["task"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "notifier_decisions",
            "New decisions recorded (notifications decided), by rule",
            ["rule"],
            registry=self.registry,
        )
        self.decisions_skipped = Counter(
            "notifier_decisions_skipped",
            "Threshold crossings not decided because their phase was not running at the "
            "notifier's now (one per change, redeliveries included), by reason",
            ["reason"],
            registry=self.registry,
        )
        self.deliveries_queued = Counter(
            "notifier_deliveries_queued",
            "Deliveries queued for subscribers with a new decision, by channel",
            ["channel"],
            registry=self.registry,
        )
        self.changes = Counter(
            "notifier_progress_changes",
            "Progress changes judged (redeliveries included)",
            registry=self.registry,
        )
        self.undecodable = Counter(
            "notifier_progress_changes_undecodable",
            "Progress changes that were not a valid message, dead-lettered",
            registry=self.registry,
        )
        self.unapplicable = Counter(
            "notifier_progress_changes_unapplicable",
            "Valid progress changes that could not be judged, dead-lettered with the reason",
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "notifier_batch_seconds",
            "Time to judge one batch of progress changes in one transaction",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.lag = Gauge(
            "notifier_consumer_lag",
            "Records on the partition not yet judged (high watermark − next offset)",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "notifier_progress_outbox_backlog",
            "Embedded mode: progress changes waiting in progress_outbox",
            registry=self.registry,
        )
        self.clock_checked_until = Gauge(
            "notifier_clock_checked_until_seconds",
            "Unix time up to which deadlines and digests have been checked",
            registry=self.registry,
        )
        self.clock_seconds = Histogram(
            "notifier_clock_check_seconds",
            "Time of one clock check (deadlines, pace, digests)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
