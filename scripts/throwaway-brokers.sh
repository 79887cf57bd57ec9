# Sourced by scripts that need brokers of their own for a while (benches/tui_cpu.sh,
# screenshots/capture.sh): makes a scratch folder TMP, starts nats-server -js and tansu on free
# loopback ports with their data and logs there, sets NATS_PORT, KAFKA_PORT, PUBDUEL_NATS and
# PUBDUEL_KAFKA, and on exit stops them, kills the tmux session $SESSION (if set) and removes TMP.
#   SESSION=name; source scripts/throwaway-brokers.sh; start_throwaway_brokers
TMP=$(mktemp -d)
PIDS=()
throwaway_cleanup() {
  [ -n "${SESSION:-}" ] && tmux kill-session -t "$SESSION" 2>/dev/null
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done
  rm -rf "$TMP"
  return 0
}
trap throwaway_cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on port $1" >&2
  return 1
}

start_throwaway_brokers() {
  local dir=$TMP
  NATS_PORT=$(free_port)
  nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$dir/js" -l "$dir/nats.log" &
  PIDS+=($!)
  KAFKA_PORT=$(free_port)
  (cd "$dir" && exec tansu broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" --storage-engine memory://tansu/ \
    >"$dir/tansu.log" 2>&1) &
  PIDS+=($!)
  wait_port "$NATS_PORT" && wait_port "$KAFKA_PORT" || return 1
  export PUBDUEL_NATS="nats://127.0.0.1:$NATS_PORT" PUBDUEL_KAFKA="127.0.0.1:$KAFKA_PORT"
}
