"""deploy/kafka: the topics to create are exactly the channels the services use, and
create-topics.sh creates each with its partitions and retention."""

from __future__ import annotations

import itertools
import json
import os
import shlex
from pathlib import Path

from services.ingest.settings import IngestSettings
from services.notifier.settings import NotifierSettings
from services.projector.settings import ProjectorSettings
from tests.deploy.artifacts import DEPLOY, REPO, TOPICS_FILE, compose_config, run, topics

DAY_MS = 24 * 3600 * 1000


def test_the_topics_are_the_channels_of_the_asyncapi_document() -> None:
    document = json.loads((REPO / "docs" / "asyncapi.json").read_text())
    channels = {channel["address"] for channel in document["channels"].values()}
    assert {topic.name for topic in topics()} == channels


def test_the_topics_are_those_the_services_use_by_default() -> None:
    ingest, projector, notifier = IngestSettings(), ProjectorSettings(), NotifierSettings()
    used = {
        ingest.input_topic,
        ingest.dead_letters,
        ingest.events_topic,
        projector.events_topic,
        f"{projector.events_topic}.dlq",
        projector.changes_topic,
        notifier.changes_topic,
        f"{notifier.changes_topic}.dlq",
    }
    assert {topic.name for topic in topics()} == used


def test_retention_is_finite_and_committed_offsets_outlive_it() -> None:
    """The event store, not Kafka, keeps events for ever (docs/operations.md, "Topics"). A
    consumer group's offsets must outlive the records it has not read yet, or a group that
    comes back after a long stop would start over from the earliest record; dead letters are
    kept at least as long as what they came from, for people to read."""
    kafka = compose_config()["services"]["kafka"]["environment"]
    offsets_ms = int(kafka["KAFKA_OFFSETS_RETENTION_MINUTES"]) * 60_000
    for topic in topics():
        retention = int(topic.configs["retention.ms"])
        assert topic.configs["cleanup.policy"] == "delete", "compaction would drop facts"
        if topic.name.endswith(".dlq"):
            source = next(t for t in topics() if t.name == topic.name.removesuffix(".dlq"))
            assert retention >= int(source.configs["retention.ms"]), topic.name
        else:
            assert 7 * DAY_MS <= retention <= offsets_ms, topic.name


def after(arguments: list[str], flag: str) -> str:
    return arguments[arguments.index(flag) + 1]


def test_create_topics_creates_each_topic_with_its_partitions_and_configs(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    for command in ("kafka-topics.sh", "kafka-configs.sh"):
        stub = tmp_path / command
        stub.write_text(f'#!/bin/sh\necho "{command} $*" >> {shlex.quote(str(calls))}\n')
        stub.chmod(0o755)
    env = {
        **os.environ,
        "KAFKA_BIN": str(tmp_path),
        "BOOTSTRAP_SERVERS": "kafka-0:9092",
        "REPLICATION_FACTOR": "3",
        "MIN_INSYNC_REPLICAS": "2",
    }
    run(["bash", str(DEPLOY / "kafka" / "create-topics.sh"), str(TOPICS_FILE)], env=env)

    lines = calls.read_text().splitlines()
    creates = [line.split() for line in lines if line.startswith("kafka-topics.sh")]
    assert len(creates) == len(topics())
    for topic, create in zip(topics(), creates, strict=True):
        assert {"--create", "--if-not-exists"} <= set(create)
        assert after(create, "--topic") == topic.name
        assert after(create, "--partitions") == str(topic.partitions)
        assert after(create, "--replication-factor") == "3"
        assert after(create, "--bootstrap-server") == "kafka-0:9092"
        configs = {value for flag, value in itertools.pairwise(create) if flag == "--config"}
        expected = {f"{key}={value}" for key, value in topic.configs.items()}
        assert configs == expected | {"min.insync.replicas=2"}
    altered = [line for line in lines if line.startswith("kafka-configs.sh")]
    assert len(altered) == len(topics())
