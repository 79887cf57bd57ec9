# shellcheck shell=bash
# Sourced by scripts that need brokers of their own for a while (benches/tui_cpu.sh,
# screenshots/capture.sh): makes a scratch folder TMP, starts one Apache Kafka KRaft node and
# nats-server -js (the cached ones, see scripts/lib-brokers.sh) on free loopback ports with their data
# and logs there, sets NATS_PORT, KAFKA_PORT, PUBDUEL_NATS and PUBDUEL_KAFKA, and on exit stops them,
# kills the tmux session $SESSION (if set) and removes TMP. Installs the brokers first when missing.
#   SESSION=name; source scripts/throwaway-brokers.sh; start_throwaway_brokers
# shellcheck source-path=SCRIPTDIR source=lib-brokers.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-brokers.sh"
TMP=$(mktemp -d)
PIDS=()
throwaway_cleanup() {
  [ -n "${SESSION:-}" ] && tmux kill-session -t "$SESSION" 2>/dev/null
  local mine=() pid
  for pid in "${PIDS[@]:-}"; do pid_is "$pid" "$TMP/" && mine+=("$pid"); done
  stop_pids 10 "${mine[@]}"
  rm -rf "$TMP"
  return 0
}
trap throwaway_cleanup EXIT

start_throwaway_brokers() {
  local kcport nmport
  if ! kafka_installed || ! nats_server_bin >/dev/null; then "$PD_SCRIPTS/install-brokers.sh" --quiet || return 1; fi
  NATS_PORT=$(free_port)
  nmport=$(free_port)
  nats_launch "$TMP/nats" "$NATS_PORT" "$nmport" || return 1
  PIDS+=("$PD_PID")
  KAFKA_PORT=$(free_port)
  kcport=$(free_port)
  kafka_config "$TMP/kafka" 1 "$KAFKA_PORT" "$kcport" "1@127.0.0.1:$kcport" 1
  kafka_format "$TMP/kafka" "$(kafka_cluster_id)" || return 1
  kafka_launch "$TMP/kafka" "${KAFKA_HEAP:-512m}"
  PIDS+=("$PD_PID")
  nats_wait "$TMP/nats" "$NATS_PORT" "$nmport" "${PIDS[0]}" 30 || return 1
  kafka_wait "$TMP/kafka" "$KAFKA_PORT" "$PD_PID" 120 || return 1
  export PUBDUEL_NATS="nats://127.0.0.1:$NATS_PORT" PUBDUEL_KAFKA="127.0.0.1:$KAFKA_PORT"
}
