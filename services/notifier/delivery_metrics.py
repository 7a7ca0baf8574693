"""The delivery worker's Prometheus metrics, on a registry given by the service or its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.deliveries = Counter(
            "notifier_deliveries",
            "Deliveries finished, by channel and outcome (sent, or dead when given up)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.retries = Counter(
            "notifier_delivery_retries",
            "Failed attempts scheduled to be tried again",
            ["channel"],
            registry=self.registry,
        )
        self.send_seconds = Histogram(
            "notifier_delivery_send_seconds",
            "Time one attempt to send took, whatever its outcome",
            ["channel"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.queue = Gauge(
            "notifier_delivery_queue",
            "Deliveries neither sent nor given up (pending or awaiting a retry)",
            registry=self.registry,
        )
        self.oldest_age = Gauge(
            "notifier_delivery_oldest_age_seconds",
            "Age of the oldest delivery neither sent nor given up (0 when there is none)",
            registry=self.registry,
        )
