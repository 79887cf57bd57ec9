#!/usr/bin/env bash
# Starts, stops or shows local brokers for pubduel, without Docker, on 127.0.0.1:
#   start [--nodes 1]  one Apache Kafka KRaft node (broker and controller) and one nats-server -js
#   start --nodes 3    a 3-node Kafka cluster (three KRaft voters, each broker and controller; internal
#                      topics replicated 3, min ISR 2) and a 3-node NATS JetStream cluster (n1..n3)
#   stop               stops what start started (TERM, KILL after 15 s) and removes its data
#   status             each node's state; exit 0 when everything start started runs
# start waits until every node is ready, then prints the addresses as lines for your shell:
#   eval "$(scripts/brokers.sh start)"     sets PUBDUEL_KAFKA and PUBDUEL_NATS
# Ports: Kafka KAFKA_PORT=9092 (nodes 2, 3: +100, +200), controllers KAFKA_CONTROLLER_PORT=9093 (+100,
# +200); NATS NATS_PORT=4222 (+1, +2), routes NATS_CLUSTER_PORT=6222 (+1, +2), monitoring
# NATS_MONITOR_PORT=8222 (+1, +2). A port already in use stops start; nothing else is touched.
# State, data and logs: BROKERS_DIR (default .brokers/ in the project). Heap: KAFKA_HEAP (512m for
# one node, 384m each for three). Installs the brokers first when missing (scripts/install-brokers.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib-brokers.sh
source "$HERE/lib-brokers.sh"

usage() { echo "usage: $0 start|stop|status [--nodes 1|3]   ($0 --help explains)" >&2; exit 2; }

DIR=${BROKERS_DIR:-$(dirname "$HERE")/.brokers}
[[ $DIR == /* ]] || DIR=$PWD/$DIR
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
NATS_PORT=${NATS_PORT:-4222}
NATS_CLUSTER_PORT=${NATS_CLUSTER_PORT:-6222}
NATS_MONITOR_PORT=${NATS_MONITOR_PORT:-8222}
START_TIMEOUT=${START_TIMEOUT:-120}

# Ports of node I (1-based).
kport() { echo $((KAFKA_PORT + 100 * ($1 - 1))); }
kcport() { echo $((KAFKA_CONTROLLER_PORT + 100 * ($1 - 1))); }
nport() { echo $((NATS_PORT + $1 - 1)); }
ncport() { echo $((NATS_CLUSTER_PORT + $1 - 1)); }
nmport() { echo $((NATS_MONITOR_PORT + $1 - 1)); }

# Recorded per node in DIR/<node>/: pid, port. A pid counts as ours only while its command line
# still names that node's folder.
recorded_nodes() { cat "$DIR/nodes" 2>/dev/null || echo 0; }
node_names() { local i; for ((i = 1; i <= $1; i++)); do echo "kafka-$i"; done; for ((i = 1; i <= $1; i++)); do echo "nats-$i"; done; }
node_sig() { case $1 in kafka-*) echo "$DIR/$1/server.properties" ;; nats-*) echo "$DIR/$1/js" ;; esac; }
node_pid() { cat "$DIR/$1/pid" 2>/dev/null; }
node_port() { cat "$DIR/$1/port" 2>/dev/null; }
node_runs() { pid_is "$(node_pid "$1")" "$(node_sig "$1")"; }
record() { echo "$2" >"$DIR/$1/pid"; echo "$3" >"$DIR/$1/port"; }

addresses() { # N: the two export lines
  local n=$1 i k="" s=""
  for ((i = 1; i <= n; i++)); do
    k+="${k:+,}127.0.0.1:$(node_port "kafka-$i")"
    s+="${s:+,}nats://127.0.0.1:$(node_port "nats-$i")"
  done
  echo "export PUBDUEL_KAFKA=$k"
  echo "export PUBDUEL_NATS=$s"
}

start() {
  local n=$1 i running=0 busy=() node t0=$SECONDS heap voters="" routes="" cid
  local -a kpids=()
  for node in $(node_names "$(recorded_nodes)"); do node_runs "$node" && running=$((running + 1)); done
  if [ "$running" -gt 0 ]; then
    if [ "$(recorded_nodes)" = "$n" ] && [ "$running" = $((2 * n)) ]; then
      echo "the $n-node brokers from $DIR already run" >&2
      addresses "$n"
      return 0
    fi
    echo "brokers from $DIR already run ($running of $((2 * $(recorded_nodes))) nodes): run $0 stop first" >&2
    return 1
  fi
  if ! kafka_installed || ! nats_server_bin >/dev/null; then "$HERE/install-brokers.sh" --quiet; fi
  nats_check_version "$(nats_server_bin)"

  for ((i = 1; i <= n; i++)); do
    for p in "$(kport "$i"):Kafka node $i" "$(kcport "$i"):Kafka controller $i" "$(nport "$i"):NATS node $i" \
      "$(nmport "$i"):NATS monitoring $i"; do
      port_open "${p%%:*}" && busy+=("127.0.0.1:${p%%:*} (${p#*:})")
    done
    if [ "$n" -gt 1 ] && port_open "$(ncport "$i")"; then busy+=("127.0.0.1:$(ncport "$i") (NATS routes $i)"); fi
  done
  if [ ${#busy[@]} -gt 0 ]; then
    printf 'port already in use by something this script did not start: %s\n' "${busy[@]}" >&2
    echo "stop it, or choose other ports (KAFKA_PORT, NATS_PORT, ...; see $0 --help). Nothing was started." >&2
    return 1
  fi

  for node in $(node_names 3); do rm -rf "${DIR:?}/$node"; done
  mkdir -p "$DIR"
  echo "$n" >"$DIR/nodes"
  STARTING=yes
  heap=${KAFKA_HEAP:-$([ "$n" = 1 ] && echo 512m || echo 384m)}
  for ((i = 1; i <= n; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:$(kcport "$i")"
    routes+="${routes:+,}nats://127.0.0.1:$(ncport "$i")"
  done
  cid=$(kafka_cluster_id)
  local nodes=nodes
  [ "$n" = 1 ] && nodes=node
  echo "starting Apache Kafka $(kafka_version_of "$(kafka_home)") ($n KRaft $nodes, heap $heap each) and" \
    "nats-server $(nats_version_of "$(nats_server_bin)") ($n JetStream $nodes); data and logs in $DIR" >&2
  for ((i = 1; i <= n; i++)); do
    kafka_config "$DIR/kafka-$i" "$i" "$(kport "$i")" "$(kcport "$i")" "$voters" "$n"
    kafka_format "$DIR/kafka-$i" "$cid" &
    kpids+=($!)
  done
  for i in "${!kpids[@]}"; do wait "${kpids[$i]}" || return 1; done
  PD_DETACH=1
  for ((i = 1; i <= n; i++)); do
    kafka_launch "$DIR/kafka-$i" "$heap"
    record "kafka-$i" "$PD_PID" "$(kport "$i")"
  done
  for ((i = 1; i <= n; i++)); do
    local cluster=(-n "n$i")
    [ "$n" -gt 1 ] && cluster+=(--cluster_name pubduel --cluster "nats://127.0.0.1:$(ncport "$i")" --routes "$routes")
    nats_launch "$DIR/nats-$i" "$(nport "$i")" "$(nmport "$i")" "${cluster[@]}"
    record "nats-$i" "$PD_PID" "$(nport "$i")"
  done
  for ((i = 1; i <= n; i++)); do
    nats_wait "$DIR/nats-$i" "$(nport "$i")" "$(nmport "$i")" "$(node_pid "nats-$i")" "$START_TIMEOUT" || return 1
  done
  for ((i = 1; i <= n; i++)); do
    kafka_wait "$DIR/kafka-$i" "$(kport "$i")" "$(node_pid "kafka-$i")" "$START_TIMEOUT" || return 1
  done
  STARTING=no
  for ((i = 1; i <= n; i++)); do
    echo "kafka-$i: Apache Kafka on 127.0.0.1:$(kport "$i") (controller 127.0.0.1:$(kcport "$i")), pid" \
      "$(node_pid "kafka-$i"), log $DIR/kafka-$i/kafka.log" >&2
  done
  for ((i = 1; i <= n; i++)); do
    echo "nats-$i:  nats-server n$i on nats://127.0.0.1:$(nport "$i") (monitoring http://127.0.0.1:$(nmport "$i")), pid" \
      "$(node_pid "nats-$i"), log $DIR/nats-$i/nats.log" >&2
  done
  echo "all $((2 * n)) nodes ready after $((SECONDS - t0)) s; stop them with:" \
    "${BROKERS_DIR:+BROKERS_DIR=$DIR }$0 stop" >&2
  addresses "$n"
}

# stop_nodes [quiet]: stops every recorded node that is still ours, then removes the data.
stop_nodes() {
  local n node pid pids=() names=()
  n=$(recorded_nodes)
  if [ "$n" = 0 ]; then
    [ -n "${1:-}" ] || echo "no brokers started by $0 in $DIR" >&2
    return 0
  fi
  for node in $(node_names "$n"); do
    pid=$(node_pid "$node") || continue
    if node_runs "$node"; then
      pids+=("$pid")
      names+=("$node")
    elif kill -0 "$pid" 2>/dev/null; then
      echo "$node: pid $pid is no longer $node (pid reused): leaving it alone" >&2
    fi
  done
  stop_pids 15 "${pids[@]}"
  [ ${#names[@]} = 0 ] || echo "stopped ${names[*]}" >&2
  for node in $(node_names "$n"); do rm -rf "${DIR:?}/$node/data" "${DIR:?}/$node/js" "$DIR/$node/pid"; done
  rm -f "$DIR/nodes"
  echo "removed the brokers' data in $DIR (logs kept): the next start is fresh" >&2
}

status() {
  local n node pid ok=0
  n=$(recorded_nodes)
  if [ "$n" = 0 ]; then echo "no brokers started by $0 in $DIR"; return 1; fi
  for node in $(node_names "$n"); do
    pid=$(node_pid "$node" || true)
    if node_runs "$node"; then
      local how="not answering"
      port_open "$(node_port "$node")" && how=answering
      printf '%-8s running  pid %-8s 127.0.0.1:%s %s\n' "$node" "$pid" "$(node_port "$node")" "$how"
    else
      printf '%-8s stopped  (see %s)\n' "$node" "$DIR/$node/"
      ok=1
    fi
  done
  return $ok
}

on_exit() {
  local code=$?
  if [ "${STARTING:-no}" = yes ]; then
    echo "start did not complete: stopping what it started" >&2
    stop_nodes quiet
  fi
  exit "$code"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
nodes=1
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) [ $# -ge 2 ] || usage; nodes=$2; shift 2 ;;
    --nodes=*) nodes=${1#--nodes=}; shift ;;
    -h | --help) cmd=--help; shift ;;
    *) usage ;;
  esac
done
case $nodes in 1 | 3) ;; *) echo "--nodes must be 1 or 3, not '$nodes'" >&2; usage ;; esac
case $cmd in
  start)
    trap on_exit EXIT
    trap 'exit 130' INT TERM
    start "$nodes"
    ;;
  stop) stop_nodes ;;
  status) status ;;
  -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "$0" ;;
  *) usage ;;
esac
