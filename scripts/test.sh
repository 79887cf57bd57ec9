#!/usr/bin/env bash
# Runs pubduel's whole test suite: unit tests, and integration tests that start their own Apache
# Kafka and nats-server on free loopback ports. Installs the brokers first when missing
# (scripts/install-brokers.sh) and points the tests at them: PUBDUEL_KAFKA_HOME (Kafka's libs and
# log4j2.properties) and PUBDUEL_NATS_SERVER (the nats-server binary); either may be set beforehand.
# Arguments go to `cargo nextest run` (when installed) or `cargo test --no-fail-fast`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source-path=SCRIPTDIR source=lib-brokers.sh
source scripts/lib-brokers.sh
scripts/install-brokers.sh --quiet
PUBDUEL_KAFKA_HOME=$(kafka_home)
PUBDUEL_NATS_SERVER=$(nats_server_bin)
export PUBDUEL_KAFKA_HOME PUBDUEL_NATS_SERVER
command -v tmux >/dev/null || echo "note: tmux is missing: the dashboard test in tmux will fail (apt-get install tmux)" >&2
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
