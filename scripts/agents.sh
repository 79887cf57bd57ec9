#!/usr/bin/env bash
# Starts, stops or shows a trial of agents on this machine: a control nats-server (apart from the
# brokers under test; no JetStream) and N `pubduel agent` processes named a1..aN on it.
#   start N    the control server on CONTROL_PORT (default 4300) and N agents; prints the line
#              for your shell:  eval "$(scripts/agents.sh start 3)"  sets PUBDUEL_CONTROL
#   stop       stops the agents and the control server (TERM, KILL after 10 s)
#   status     each process's state; exit 0 when everything start started runs
# Then:  pubduel run --agents 3 --profile profiles/steady.toml   (brokers: scripts/brokers.sh)
# State and logs: AGENTS_DIR (default .agents/ in the project). The pubduel binary: PUBDUEL_BIN
# (default target/release/pubduel, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib-brokers.sh
source scripts/lib-brokers.sh
DIR=${AGENTS_DIR:-$PWD/.agents}
PORT=${CONTROL_PORT:-4300}
BIN=${PUBDUEL_BIN:-target/release/pubduel}
# shellcheck disable=SC2034 # read by pd_spawn (lib-brokers.sh): the agents outlive this shell
PD_DETACH=1

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }

start() {
  local n=$1 i
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "agents.sh: start takes a number of agents, 1 or more (got '$n')" >&2; exit 2; }
  [ -f "$DIR/pids" ] && { echo "agents.sh: already started (scripts/agents.sh stop first); $DIR/pids" >&2; exit 1; }
  port_open "$PORT" && { echo "agents.sh: port $PORT is in use: set CONTROL_PORT" >&2; exit 1; }
  if [ ! -x "$BIN" ]; then
    pd_note "building $BIN (cargo build --release)..."
    cargo build --release --quiet
  fi
  local nats
  nats=$(nats_server_bin) || { echo "agents.sh: nats-server is not installed: run scripts/install-brokers.sh" >&2; exit 1; }
  mkdir -p "$DIR"
  : >"$DIR/pids"
  pd_spawn "$DIR/control.log" "$nats" -a 127.0.0.1 -p "$PORT" -n pubduel-control
  echo "control $PD_PID" >>"$DIR/pids"
  wait_port "$PORT" 10 || { echo "agents.sh: the control server did not start (log: $DIR/control.log)" >&2; stop; exit 1; }
  for ((i = 1; i <= n; i++)); do
    pd_spawn "$DIR/a$i.log" "$BIN" agent --control "nats://127.0.0.1:$PORT" --name "a$i"
    echo "a$i $PD_PID" >>"$DIR/pids"
  done
  sleep 1
  status >&2 || { echo "agents.sh: not everything started (logs in $DIR)" >&2; exit 1; }
  echo "export PUBDUEL_CONTROL=nats://127.0.0.1:$PORT"
}

status() {
  [ -f "$DIR/pids" ] || { echo "nothing started (no $DIR/pids)" >&2; return 1; }
  local ok=0 name pid
  while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "$name: running, pid $pid, log $DIR/$name.log"
    else
      echo "$name: NOT running (log $DIR/$name.log)"
      ok=1
    fi
  done <"$DIR/pids"
  return $ok
}

stop() {
  [ -f "$DIR/pids" ] || { echo "nothing to stop" >&2; return 0; }
  local mine=() name pid
  while read -r name pid; do
    if [ "$name" = control ]; then pid_is "$pid" nats-server && mine+=("$pid")
    else pid_is "$pid" pubduel agent && mine+=("$pid"); fi
  done <"$DIR/pids"
  stop_pids 10 "${mine[@]}"
  rm -f "$DIR/pids"
  echo "stopped the agents and the control server (logs kept in $DIR)" >&2
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
