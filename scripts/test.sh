#!/usr/bin/env bash
# Runs pubduel's whole test suite: unit tests, and integration tests that start their own Apache
# Kafka and nats-server on free loopback ports. Installs the brokers first when missing
# (scripts/install-brokers.sh) and points the tests at them: PUBDUEL_KAFKA_HOME (Kafka's libs and
# log4j2.properties) and PUBDUEL_NATS_SERVER (the nats-server binary); either may be set beforehand.
# Which releases: scripts/lib-brokers.sh's defaults (Apache Kafka 4.4.0, nats-server v2.15.3), or
# KAFKA_VERSION and NATS_VERSION (e.g. 4.1.1 and v2.12.3, the previous pair, as .ci/run tests it).
# Arguments go to `cargo test --no-fail-fast`. (Not cargo-nextest: it runs every test in a process of
# its own, and each test binary shares one Kafka between its tests, so nextest would start a Kafka
# per test.)
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
cargo test --no-fail-fast "$@"
