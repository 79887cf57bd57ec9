#!/usr/bin/env bash
# One command from a fresh checkout to a running pubduel: installs the local brokers when missing
# (Apache Kafka from Maven Central, nats-server with go; see scripts/install-brokers.sh), builds
# pubduel, starts one node of each broker with scripts/brokers.sh unless something already answers on
# 127.0.0.1:9092 and :4222 (or PUBDUEL_KAFKA and PUBDUEL_NATS are both set; then those are used), and
# runs pubduel with your arguments. Brokers started here are stopped again when pubduel exits, also
# on Ctrl-C.
#   scripts/run.sh                      # dashboard, default profile
#   scripts/run.sh --profile profiles/seed-high.toml --headless --report seed-high.toml
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source-path=SCRIPTDIR source=lib-brokers.sh
source scripts/lib-brokers.sh

if ! kafka_installed || ! nats_server_bin >/dev/null || [ ! -x target/release/pubduel ]; then
  echo "first run: installing and building takes a while (librdkafka builds from source: a few minutes;" \
    "Apache Kafka download: about 45 MB; nats-server go build: 1-2 minutes). Later runs start in seconds." >&2
fi
if [ -z "${PUBDUEL_KAFKA:-}" ] || [ -z "${PUBDUEL_NATS:-}" ]; then scripts/install-brokers.sh --quiet; fi
echo "building pubduel (cargo build --release)..." >&2
cargo build --release --quiet

PD_STARTED=no
# shellcheck disable=SC2317 # called by the EXIT trap
stop_started() {
  if [ "$PD_STARTED" = yes ]; then
    scripts/brokers.sh stop >/dev/null 2>&1 || true
    echo "stopped the brokers started for this run" >&2
  fi
}
trap stop_started EXIT
trap 'exit 130' INT TERM
brokers_for_run
status=0
./target/release/pubduel "$@" || status=$?
exit "$status"
