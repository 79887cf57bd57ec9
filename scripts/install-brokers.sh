#!/usr/bin/env bash
# Installs the brokers pubduel runs against without Docker, into ${PUBDUEL_CACHE:-~/.cache/pubduel}:
#   Apache Kafka $KAFKA_VERSION (default 4.4.0), assembled from Maven Central with mvn (needs java 17+),
#   nats-server $NATS_VERSION (default v2.15.3), built with `go install` (without go, or when the build
#   fails: Debian's old nats-server 2.9, with a warning). Each version has a cache folder of its own
#   (kafka-4.4.0, nats-server-v2.15.3), so older ones stay: KAFKA_VERSION=4.1.1 NATS_VERSION=v2.12.3.
# Skips what is already there, so a second run takes a second. Prints where each is and its version.
# Usage: scripts/install-brokers.sh [--quiet]   (--quiet: only progress of real work and warnings)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib-brokers.sh
source "$(dirname "$0")/lib-brokers.sh"

case "${1:-}" in
  -q | --quiet) PD_QUIET=1 ;;
  "") ;;
  -h | --help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--quiet]" >&2; exit 2 ;;
esac

if [ -n "${PUBDUEL_KAFKA_HOME:-}" ]; then
  kafka_installed || { echo "PUBDUEL_KAFKA_HOME=$PUBDUEL_KAFKA_HOME has no libs/kafka_2.13-*.jar and log4j2.properties" >&2; exit 1; }
else
  install_kafka
fi
if [ -n "${PUBDUEL_NATS_SERVER:-}" ]; then
  [ -x "$PUBDUEL_NATS_SERVER" ] || { echo "PUBDUEL_NATS_SERVER=$PUBDUEL_NATS_SERVER is not an executable" >&2; exit 1; }
else
  install_nats
fi

nats=$(nats_server_bin) || { echo "no nats-server found after the install" >&2; exit 1; }
nats_check_version "$nats"
if [ -z "${PD_QUIET:-}" ]; then
  echo "Apache Kafka $(kafka_version_of "$(kafka_home)"): $(kafka_home)"
  echo "nats-server $(nats_version_of "$nats"): $nats"
fi
