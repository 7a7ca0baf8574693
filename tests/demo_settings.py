"""The demo's settings for tests: one database, and Kafka topics private to the test."""

from __future__ import annotations

from services.demo.main import DemoSettings, Secrets
from services.ingest.settings import IngestSettings
from services.notifier.settings import NotifierSettings
from services.projector.api.settings import QueryApiSettings
from services.projector.settings import ProjectorSettings
from shared.web.auth import ADMIN_SCOPE
from shared.web.secrets import hash_secret
from tests.receivers import LOCAL_NETWORKS

KEYS = Secrets(admin_token="demo-admin-token", portal_key="demo-portal-key")
ADMIN = {"Authorization": f"Bearer {KEYS.admin_token}"}


def demo_settings(
    database_url: str, kafka: str | None = None, topic_prefix: str = ""
) -> DemoSettings:
    """Polling and batching tuned for tests; topic names only matter with ``kafka``."""
    common = {"database_url": database_url, "kafka_bootstrap_servers": kafka}
    p = topic_prefix
    tokens = {hash_secret(KEYS.admin_token): ADMIN_SCOPE}
    return DemoSettings(
        ingest=IngestSettings(
            **common,
            api_keys={"demo-portal": hash_secret(KEYS.portal_key)},
            input_topic=f"{p}portal.submissions.v1",
            events_topic=f"{p}initiatives.events.v1",
            consumer_group=f"{p}ingest",
            batch_timeout_ms=50,
        ),
        projector=ProjectorSettings(
            **common,
            tail_interval_seconds=0.05,
            events_topic=f"{p}initiatives.events.v1",
            changes_topic=f"{p}progress.changes.v1",
            consumer_group=f"{p}projector",
            batch_timeout_ms=50,
        ),
        notifier=NotifierSettings(
            **common,
            tokens=tokens,
            webhook_allowed_networks=LOCAL_NETWORKS,
            outbox_interval_seconds=0.05,
            clock_interval_seconds=0.2,
            changes_topic=f"{p}progress.changes.v1",
            consumer_group=f"{p}notifier",
            batch_timeout_ms=50,
        ),
        api=QueryApiSettings(tokens=tokens),
    )


def topics(prefix: str) -> list[str]:
    names = ("portal.submissions.v1", "initiatives.events.v1", "progress.changes.v1")
    return [f"{prefix}{name}{suffix}" for name in names for suffix in ("", ".dlq")]
