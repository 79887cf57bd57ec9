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
  # $PD_CACHE/bin/nats-server is the default version's, whatever an older install left there.
  if [ "$NATS_VERSION" = "$PD_NATS_DEFAULT" ] && [ -x "$PD_NATS_CACHE" ] \
    && [ "$(readlink "$PD_NATS_LEGACY" 2>/dev/null)" != "$PD_NATS_CACHE" ]; then
    mkdir -p "${PD_NATS_LEGACY%/*}"
    if [ -f "$PD_NATS_LEGACY" ] && [ ! -L "$PD_NATS_LEGACY" ]; then # an older install's copy: kept
      old=$PD_CACHE/nats-server-$(nats_version_of "$PD_NATS_LEGACY")/nats-server
      [ -x "$old" ] || { mkdir -p "${old%/*}" && mv -f "$PD_NATS_LEGACY" "$old" && pd_say "moved $PD_NATS_LEGACY to $old"; }
    fi
    ln -sfn "$PD_NATS_CACHE" "$PD_NATS_LEGACY"
    pd_say "linked $PD_NATS_LEGACY to $PD_NATS_CACHE"
  fi
fi

nats=$(nats_server_bin) || { echo "no nats-server found after the install" >&2; exit 1; }
nats_check_version "$nats"
if [ -z "${PD_QUIET:-}" ]; then
  echo "Apache Kafka $(kafka_version_of "$(kafka_home)"): $(kafka_home)"
  echo "nats-server $(nats_version_of "$nats"): $nats"
fi
