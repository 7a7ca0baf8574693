#!/usr/bin/env bash
# Create the topics of topics.tsv (idempotent), then set their retention and cleanup policy,
# so a re-run also corrects a topic someone created by hand with the broker's defaults.
# Partition counts are never changed here: adding partitions remaps keys, see
# docs/operations.md ("Adding partitions") for how to do it safely.
#
# Usage: create-topics.sh [topics.tsv]     (default: the topics.tsv beside this script)
# Environment:
#   BOOTSTRAP_SERVERS    the cluster                                 (default: kafka:9092)
#   REPLICATION_FACTOR   copies of each partition                    (default: 1)
#   MIN_INSYNC_REPLICAS  acknowledged copies needed for acks=all     (default: 1)
#   KAFKA_BIN            folder of kafka-topics.sh, kafka-configs.sh (default: /opt/kafka/bin)
set -euo pipefail

TOPICS_FILE="${1:-$(dirname -- "${BASH_SOURCE[0]}")/topics.tsv}"
BOOTSTRAP="${BOOTSTRAP_SERVERS:-kafka:9092}"
REPLICAS="${REPLICATION_FACTOR:-1}"
MIN_ISR="${MIN_INSYNC_REPLICAS:-1}"
BIN="${KAFKA_BIN:-/opt/kafka/bin}"

while IFS=$'\t' read -r topic partitions retention_ms cleanup_policy; do
    [[ -z "$topic" || "$topic" == \#* ]] && continue
    configs="retention.ms=$retention_ms,cleanup.policy=$cleanup_policy,min.insync.replicas=$MIN_ISR"
    "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "$topic" --partitions "$partitions" --replication-factor "$REPLICAS" \
        --config "retention.ms=$retention_ms" --config "cleanup.policy=$cleanup_policy" \
        --config "min.insync.replicas=$MIN_ISR"
    "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --alter --entity-type topics \
        --entity-name "$topic" --add-config "$configs"
    echo "topic $topic: $partitions partitions, $configs"
done <"$TOPICS_FILE"
