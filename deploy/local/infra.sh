#!/usr/bin/env bash
# Local, throwaway real infrastructure for integration tests and manual runs:
#   * a single-node Apache Kafka broker (KRaft, broker+controller in one JVM), jars from Maven
#   * a PostgreSQL cluster made with initdb (Debian's postgresql package)
#
# Usage: deploy/local/infra.sh up|down|status|env
#   up      start what is not running (idempotent), then print the two export lines
#           below on stdout, so that  eval "$(deploy/local/infra.sh up)"  works;
#           progress and timings go to stderr
#   down    stop exactly the processes `up` started, wait until their ports are free,
#           and delete the state directory (all data is throwaway)
#   status  one line per component; exit 0 when both run, 3 otherwise
#   env     print the export lines only
#
# Environment (all optional):
#   INFRA_STATE_DIR   state: data, logs, pid files    (default: deploy/local/state)
#   INFRA_CACHE_DIR   downloaded Kafka jars in jars/  (default: deploy/local/cache)
#   INFRA_PG_PORT     PostgreSQL port                  (default: 55432)
#   INFRA_KAFKA_PORT  Kafka PLAINTEXT listener port    (default: 59092)
#   INFRA_KAFKA_CONTROLLER_PORT  KRaft controller port (default: 59093)
#   INFRA_PG_FSYNC    "on" to keep fsync; default off (see start_postgres)
#   INFRA_PYTHON      Python with aiokafka for the readiness probe (default: <repo>/.venv/bin/python;
#                     without one, a small Java probe against the Kafka client jars is used)
#   INFRA_START_TIMEOUT  seconds to wait for each component to become ready (default: 90)
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/../.." && pwd)"
POM="$SCRIPT_DIR/pom.xml"

STATE="${INFRA_STATE_DIR:-$SCRIPT_DIR/state}"
CACHE="${INFRA_CACHE_DIR:-$SCRIPT_DIR/cache}"
JARS="$CACHE/jars"
PGPORT="${INFRA_PG_PORT:-55432}"
KPORT="${INFRA_KAFKA_PORT:-59092}"
CTRLPORT="${INFRA_KAFKA_CONTROLLER_PORT:-59093}"
PYTHON="${INFRA_PYTHON:-$REPO_DIR/.venv/bin/python}"
START_TIMEOUT="${INFRA_START_TIMEOUT:-90}"
HOST=127.0.0.1

# PostgreSQL's data and log normally live in $STATE; see choose_pg_home for the exception.
PG_HOME_FILE="$STATE/pg.home"
PG_HOME="$STATE"
if [[ -f "$PG_HOME_FILE" ]]; then
    PG_HOME="$(cat "$PG_HOME_FILE")"
    # Only ever a directory choose_pg_home made (down deletes it).
    [[ "$PG_HOME" == */infra-pg.* && -d "$PG_HOME" ]] || PG_HOME="$STATE"
fi
PGDATA_DIR="$PG_HOME/pg"
PG_LOG="$PG_HOME/pg.log"
KAFKA_DATA="$STATE/kafka-data"
KAFKA_PID="$STATE/kafka.pid"
KAFKA_LOG="$STATE/kafka.log"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
[[ -n "$KAFKA_VERSION" ]] || {
    echo "infra: cannot read kafka.version from $POM" >&2
    exit 2
}

log() { echo "infra: $*" >&2; }
die() {
    echo "infra: ERROR: $*" >&2
    exit 1
}
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

print_env() {
    echo "export KAFKA_BOOTSTRAP_SERVERS=$HOST:$KPORT"
    echo "export DATABASE_URL=postgresql://postgres@$HOST:$PGPORT/postgres"
}

# True when something listens on TCP port $1 (on any address).
port_in_use() {
    if command -v ss >/dev/null; then
        [[ -n "$(ss -ltnH "sport = :$1" 2>/dev/null)" ]]
    else
        (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
    fi
}

wait_port_free() { # port timeout_seconds
    local deadline=$((SECONDS + $2))
    while port_in_use "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# True when process $1 exists and is no zombie (a killed process stays a zombie until
# its parent, often init, reaps it).
alive() {
    [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null &&
        ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}

# True when pid $1 is alive and its command line contains $2 (guards against pid reuse).
pid_is() {
    alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

tail_log() { # file
    if [[ -f "$1" ]]; then
        echo "----- last lines of $1 -----" >&2
        tail -n 40 "$1" >&2
        echo "-----" >&2
    fi
}

# ---------------------------------------------------------------- PostgreSQL

PG_BIN=""
find_pg_bin() {
    local initdb
    # The newest major version when several are installed; the glob stays literal when none is.
    initdb="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
    if [[ -x "$initdb" ]]; then PG_BIN="$(dirname "$initdb")"; fi
}

ensure_pg_installed() {
    find_pg_bin
    [[ -n "$PG_BIN" ]] && return 0
    [[ "$(id -u)" == 0 ]] ||
        die "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); install the 'postgresql' package (as root: apt-get install -y postgresql)"
    log "installing PostgreSQL (apt-get install -y postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y postgresql >&2
    find_pg_bin
    [[ -n "$PG_BIN" ]] || die "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb"
}

# Run a PostgreSQL server binary: as root through the postgres user (initdb and postgres
# refuse to run as root), as anyone else directly.
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_running() {
    [[ -n "$PG_BIN" && -f "$PGDATA_DIR/postmaster.pid" ]] || return 1
    alive "$(pg_pid)" || return 1
    as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA_DIR" >/dev/null 2>&1
}

pg_ready() {
    "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PGPORT" -U postgres -d postgres
}

# As root the server runs as the postgres user, which must reach the data directory. When
# it cannot (a checkout below /root, which is mode 700), the data and log go to a private
# directory in /tmp instead, remembered in $PG_HOME_FILE so that down removes it.
choose_pg_home() {
    PG_HOME="$STATE"
    rm -f "$PG_HOME_FILE"
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 ||
            die "user 'postgres' missing (it comes with Debian's postgresql package)"
        if ! runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
            PG_HOME="$(mktemp -d "${TMPDIR:-/tmp}/infra-pg.XXXXXX")"
            chown postgres: "$PG_HOME"
            echo "$PG_HOME" >"$PG_HOME_FILE"
            log "the postgres user cannot reach $STATE; PostgreSQL data goes to $PG_HOME"
        fi
    fi
    PGDATA_DIR="$PG_HOME/pg"
    PG_LOG="$PG_HOME/pg.log"
}

remove_pg_home() {
    rm -rf "$PGDATA_DIR" "$PG_LOG"
    [[ "$PG_HOME" == "$STATE" ]] || rm -rf "$PG_HOME"
    rm -f "$PG_HOME_FILE"
}

pg_pid() { head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true; }

start_postgres() {
    ensure_pg_installed
    if pg_running; then
        if pg_ready; then
            log "PostgreSQL already running (pid $(pg_pid), port $PGPORT)"
            return 0
        fi
        die "PostgreSQL in $PGDATA_DIR runs (pid $(pg_pid)) but does not answer on $HOST:$PGPORT; run '$0 down' first"
    fi
    port_in_use "$PGPORT" && die "port $PGPORT is already in use by another process (set INFRA_PG_PORT)"

    local t0
    t0="$(now)"
    # Not running: whatever is left in the data directory is from a crashed run. Start fresh.
    remove_pg_home
    choose_pg_home
    mkdir -p "$PGDATA_DIR"
    chmod 700 "$PGDATA_DIR"
    : >"$PG_LOG"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$PGDATA_DIR" "$PG_LOG"
    log "initdb $PGDATA_DIR"
    as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >>"$PG_LOG" 2>&1 || {
        tail_log "$PG_LOG"
        die "initdb failed"
    }

    # A Unix socket in the data directory when its path fits (sun_path is 108 bytes);
    # every client here uses TCP on 127.0.0.1 anyway.
    local socket_dir="$PGDATA_DIR"
    ((${#PGDATA_DIR} + 20 < 100)) || socket_dir=""
    # fsync=off: this cluster is throwaway test data, so crash safety buys nothing and
    # fsync makes every commit slow. INFRA_PG_FSYNC=on keeps the default behaviour.
    local fsync=off
    [[ "${INFRA_PG_FSYNC:-off}" == on ]] && fsync=on
    local opts="-p $PGPORT -k '$socket_dir' -c listen_addresses=$HOST -c fsync=$fsync"
    opts+=" -c max_connections=200"
    [[ "$fsync" == off ]] && opts+=" -c synchronous_commit=off -c full_page_writes=off"

    log "starting PostgreSQL on $HOST:$PGPORT"
    as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA_DIR" -w -t "$START_TIMEOUT" -l "$PG_LOG" -o "$opts" \
        >&2 || {
        tail_log "$PG_LOG"
        die "PostgreSQL did not start"
    }
    local deadline=$((SECONDS + START_TIMEOUT))
    until pg_ready; do
        if ((SECONDS >= deadline)); then
            tail_log "$PG_LOG"
            die "PostgreSQL did not accept connections on $HOST:$PGPORT within ${START_TIMEOUT}s"
        fi
        sleep 0.2
    done
    "$PG_BIN/psql" -h "$HOST" -p "$PGPORT" -U postgres -d postgres -XAtq \
        -c 'show server_version' | awk '{ print $1 }' >"$STATE/postgres.version"
    log "PostgreSQL $(cat "$STATE/postgres.version") ready on $HOST:$PGPORT (pid $(pg_pid)) in $(elapsed "$t0") s"
}

stop_postgres() {
    find_pg_bin
    if pg_running; then
        local pid
        pid="$(pg_pid)"
        log "stopping PostgreSQL (pid $pid)"
        as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 30 >&2 || {
            log "pg_ctl stop failed; sending SIGKILL to $pid"
            kill -KILL "$pid" 2>/dev/null || true
        }
    fi
}

# ---------------------------------------------------------------- Kafka

kafka_jar() { echo "$JARS/kafka_2.13-$KAFKA_VERSION.jar"; }

ensure_kafka_jars() {
    if [[ -f "$(kafka_jar)" ]]; then
        return 0
    fi
    command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka jars"
    command -v java >/dev/null || die "Java (java) is needed to run Kafka"
    local t0
    t0="$(now)"
    log "fetching Apache Kafka $KAFKA_VERSION jars with Maven into $JARS"
    rm -rf "$JARS"
    mkdir -p "$JARS"
    mvn -q -B -f "$POM" dependency:copy-dependencies -DoutputDirectory="$JARS" \
        >"$STATE/maven.log" 2>&1 || {
        tail_log "$STATE/maven.log"
        die "Maven could not fetch the Kafka jars"
    }
    [[ -f "$(kafka_jar)" ]] || die "Maven ran, but $(kafka_jar) is missing"
    log "Kafka jars fetched in $(elapsed "$t0") s"
}

kafka_pid() { cat "$KAFKA_PID" 2>/dev/null || true; }

kafka_running() { pid_is "$(kafka_pid)" kafka.Kafka; }

# One metadata request against the broker: succeeds when it answers with itself as a
# broker and a known controller.
kafka_probe() {
    if [[ -x "$PYTHON" ]] && "$PYTHON" -c 'import aiokafka' 2>/dev/null; then
        "$PYTHON" - "$HOST:$KPORT" <<'PY' 2>/dev/null
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient


async def probe(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(admin.start(), 5)
        cluster = await asyncio.wait_for(admin.describe_cluster(), 5)
        return bool(cluster["brokers"]) and cluster["controller_id"] >= 0
    finally:
        await admin.close()


sys.exit(0 if asyncio.run(probe(sys.argv[1])) else 1)
PY
    else
        java -cp "$JARS/*" "$STATE/KafkaProbe.java" "$HOST:$KPORT" 2>/dev/null
    fi
}

write_kafka_config() {
    cat >"$STATE/server.properties" <<EOF
# Generated by deploy/local/infra.sh: single-node KRaft (static quorum), throwaway data.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CTRLPORT
listeners=PLAINTEXT://$HOST:$KPORT,CONTROLLER://$HOST:$CTRLPORT
advertised.listeners=PLAINTEXT://$HOST:$KPORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
EOF
    cat >"$STATE/log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/local/infra.sh: broker logs go to stdout, i.e. kafka.log. -->
<Configuration status="warn">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="stdout"/></Root>
    <Logger name="kafka.request.logger" level="warn"/>
    <Logger name="state.change.logger" level="warn"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="warn"/>
  </Loggers>
</Configuration>
EOF
    # Fallback readiness probe when no Python with aiokafka is around (java runs the
    # source file directly).
    cat >"$STATE/KafkaProbe.java" <<'EOF'
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;

public class KafkaProbe {
    public static void main(String[] args) throws Exception {
        try (Admin admin = Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0],
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000))) {
            DescribeClusterResult cluster = admin.describeCluster();
            boolean ok = !cluster.nodes().get(5, TimeUnit.SECONDS).isEmpty()
                    && cluster.controller().get(5, TimeUnit.SECONDS) != null;
            System.exit(ok ? 0 : 1);
        }
    }
}
EOF
}

# What `kafka.tools.StorageTool random-uuid` prints (16 random bytes, URL-safe base64 without
# padding, not starting with "-"), without a JVM start.
random_cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ "$id" == -* ]] || break
    done
    echo "$id"
}

JAVA_LOG_OPTS=()
set_java_opts() {
    JAVA_LOG_OPTS=("-Dlog4j2.configurationFile=$STATE/log4j2.xml" -Djava.awt.headless=true)
}

start_kafka() {
    ensure_kafka_jars
    set_java_opts
    if kafka_running; then
        if kafka_probe; then
            log "Kafka already running (pid $(kafka_pid), port $KPORT)"
            return 0
        fi
        die "Kafka runs (pid $(kafka_pid)) but does not answer on $HOST:$KPORT; run '$0 down' first"
    fi
    port_in_use "$KPORT" && die "port $KPORT is already in use by another process (set INFRA_KAFKA_PORT)"
    port_in_use "$CTRLPORT" &&
        die "port $CTRLPORT is already in use by another process (set INFRA_KAFKA_CONTROLLER_PORT)"

    local t0
    t0="$(now)"
    # Not running: a pid file or data left here come from a crashed run. Start fresh.
    rm -rf "$KAFKA_DATA" "$KAFKA_PID" "$KAFKA_LOG" "$STATE/kafka.version"
    write_kafka_config

    # Static quorum (controller.quorum.voters), so no --standalone: Kafka 4.1 allows
    # --standalone only with controller.quorum.bootstrap.servers (dynamic quorum).
    local cluster_id
    cluster_id="$(random_cluster_id)"
    java "${JAVA_LOG_OPTS[@]}" -cp "$JARS/*" kafka.tools.StorageTool format \
        -t "$cluster_id" -c "$STATE/server.properties" >>"$KAFKA_LOG" 2>&1 || {
        tail_log "$KAFKA_LOG"
        die "kafka-storage format failed"
    }

    log "starting Apache Kafka $KAFKA_VERSION on $HOST:$KPORT (controller $HOST:$CTRLPORT)"
    # setsid: own session, so a Ctrl-C or hang-up of the calling terminal does not reach it.
    # Without job control the child is no process group leader, so setsid execs in place
    # and $! is the JVM's pid.
    setsid java -Xms256m -Xmx512m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
        "${JAVA_LOG_OPTS[@]}" -cp "$JARS/*" kafka.Kafka "$STATE/server.properties" \
        >>"$KAFKA_LOG" 2>&1 </dev/null &
    echo $! >"$KAFKA_PID"

    local deadline=$((SECONDS + START_TIMEOUT))
    until kafka_probe; do
        if ! kafka_running; then
            tail_log "$KAFKA_LOG"
            die "Kafka exited during start-up"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$KAFKA_LOG"
            die "Kafka did not answer a metadata request on $HOST:$KPORT within ${START_TIMEOUT}s (still running as pid $(kafka_pid); '$0 down' stops it)"
        fi
        sleep 0.3
    done
    basename "$(kafka_jar)" .jar | sed 's/^kafka_2\.13-//' >"$STATE/kafka.version"
    log "Apache Kafka $(cat "$STATE/kafka.version") ready on $HOST:$KPORT (pid $(kafka_pid)) in $(elapsed "$t0") s"
}

stop_kafka() {
    local pid
    pid="$(kafka_pid)"
    if pid_is "$pid" kafka.Kafka; then
        log "stopping Kafka (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if alive "$pid"; then
            log "Kafka did not stop within 30 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while alive "$pid"; do sleep 0.1; done
        fi
    fi
    rm -f "$KAFKA_PID"
}

# ---------------------------------------------------------------- commands

cmd_up() {
    local t0
    t0="$(now)"
    mkdir -p "$STATE" "$CACHE"
    # Both start-ups are independent; PostgreSQL first as it is quick.
    start_postgres
    start_kafka
    log "infrastructure up in $(elapsed "$t0") s (state: $STATE)"
    print_env
}

cmd_down() {
    # Wait only for the ports of what was ours: a port another program holds is not ours
    # to free (up refuses to start on it anyway).
    local ports=()
    kafka_running && ports+=("$KPORT" "$CTRLPORT")
    find_pg_bin
    pg_running && ports+=("$PGPORT")
    stop_kafka
    stop_postgres
    local port failed=0
    for port in "${ports[@]}"; do
        if ! wait_port_free "$port" 30; then
            log "port $port is still in use:"
            ss -ltnpH "sport = :$port" >&2 2>/dev/null || true
            failed=1
        fi
    done
    remove_pg_home
    rm -rf "$STATE"
    ((failed == 0)) || die "some ports are still in use after stopping"
    log "infrastructure down (state removed)"
}

cmd_status() {
    local rc=0
    find_pg_bin
    if pg_running; then
        echo "postgresql: running (pid $(pg_pid), port $PGPORT)"
    else
        echo "postgresql: stopped (port $PGPORT)"
        rc=3
    fi
    if kafka_running; then
        echo "kafka: running (pid $(kafka_pid), port $KPORT, controller port $CTRLPORT)"
    else
        echo "kafka: stopped (port $KPORT)"
        rc=3
    fi
    return "$rc"
}

main() {
    case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) print_env ;;
    *)
        echo "usage: $0 up|down|status|env" >&2
        exit 2
        ;;
    esac
}

main "$@"
