#!/usr/bin/env bash
# Starts, stops or shows local brokers for pubduel, without Docker:
#   nats-server -js on 127.0.0.1:4222 and tansu (Kafka protocol, in-memory storage) on 127.0.0.1:9092.
# Usage: scripts/brokers.sh start|stop|status
# Ports: NATS_PORT and KAFKA_PORT override the defaults. State lives in .brokers/ (pids, logs, data).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.brokers
NATS_PORT=${NATS_PORT:-4222}
KAFKA_PORT=${KAFKA_PORT:-9092}
mkdir -p "$DIR"

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() {
  for _ in $(seq 1 100); do up "$1" && return 0; sleep 0.1; done
  echo "$2 did not start on port $1; see $DIR/$2.log" >&2
  return 1
}
running() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

start() {
  command -v nats-server >/dev/null && command -v tansu >/dev/null || {
    echo "nats-server or tansu is missing: run scripts/install-brokers.sh first" >&2; exit 1; }
  if running nats; then echo "nats-server already running"; else
    if up "$NATS_PORT"; then echo "something already listens on 127.0.0.1:$NATS_PORT: using it as NATS"; else
    nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DIR/nats-data" >"$DIR/nats.log" 2>&1 &
    echo $! >"$DIR/nats.pid"
    wait_up "$NATS_PORT" nats
    echo "nats-server (JetStream) on nats://127.0.0.1:$NATS_PORT"
    fi
  fi
  if running tansu; then echo "tansu already running"; else
    if up "$KAFKA_PORT"; then echo "something already listens on 127.0.0.1:$KAFKA_PORT: using it as Kafka"; else
    tansu broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      --storage-engine memory://tansu/ >"$DIR/tansu.log" 2>&1 &
    echo $! >"$DIR/tansu.pid"
    wait_up "$KAFKA_PORT" tansu
    echo "tansu (Kafka protocol) on 127.0.0.1:$KAFKA_PORT"
    fi
  fi
}

stop() {
  for b in nats tansu; do
    if running "$b"; then kill "$(cat "$DIR/$b.pid")"; echo "stopped $b"; fi
    rm -f "$DIR/$b.pid"
  done
}

status() {
  for b in nats tansu; do
    if running "$b"; then echo "$b: running (pid $(cat "$DIR/$b.pid"))"; else echo "$b: stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
