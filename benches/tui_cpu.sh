#!/usr/bin/env bash
# The dashboard's own CPU cost: runs the same fixed load twice against the same local brokers,
# once headless and once with the dashboard (in a 160x48 tmux terminal), and prints the CPU time
# (user + system) of the pubduel process in each run and their ratio.
#
#   benches/tui_cpu.sh                  # 20 s per run at 2000 msg/s per lane, concurrency 4
#   DUR=30 RATE=5000 benches/tui_cpu.sh
#
# Needs tmux and python3; the brokers (Apache Kafka, one KRaft node, and nats-server) come from
# scripts/throwaway-brokers.sh, which installs them into the cache when missing (java 17+, mvn, go).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-20}
RATE=${RATE:-2000}
CONC=${CONC:-4}
BIN=${BIN:-target/release/pubduel}
for tool in tmux python3; do
  command -v "$tool" >/dev/null || { echo "tui_cpu: $tool is not installed" >&2; exit 1; }
done
if [ ! -x "$BIN" ]; then cargo build --release --quiet; fi
BIN=$(realpath "$BIN")

SESSION="pubduel-cpu-$$"
# shellcheck source-path=SCRIPTDIR source=../scripts/throwaway-brokers.sh
source scripts/throwaway-brokers.sh
start_throwaway_brokers || { echo "tui_cpu: the brokers did not start" >&2; exit 1; }
ARGS=(--duration "${DUR}s" --rate "$RATE" --concurrency "$CONC" --warmup 1s)

# CPU seconds of the children of the subshell that wrote `times` output into file $1.
cpu_seconds() {
  sed -n 2p "$1" | awk '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
    printf "%.2f", t
  }'
}

echo "load: $RATE msg/s per lane, concurrency $CONC, ${DUR}s, lanes kafka + nats"
( cd "$TMP" && "$BIN" --headless "${ARGS[@]}" --report "$TMP/headless.toml" >"$TMP/headless.out" 2>&1; times >"$TMP/headless.times" )
tmux new-session -d -s "$SESSION" -x 160 -y 48 \
  "cd '$TMP' && ( '$BIN' ${ARGS[*]} --report '$TMP/tui.toml' --log-file '$TMP/tui.log'; times >'$TMP/tui.times' ); touch '$TMP/tui.done'; sleep 5"
for _ in $(seq $(( (DUR + 30) * 10 ))); do [ -f "$TMP/tui.done" ] && break; sleep 0.1; done
[ -f "$TMP/tui.done" ] || { echo "tui_cpu: the dashboard run did not finish" >&2; exit 1; }

acked() { python3 -c 'import sys,tomllib; r=tomllib.load(open(sys.argv[1],"rb")); print(sum(l["acked"] for p in r["phases"] for l in p["lanes"]))' "$1" 2>/dev/null || echo "?"; }
H=$(cpu_seconds "$TMP/headless.times")
T=$(cpu_seconds "$TMP/tui.times")
echo "headless:  ${H}s CPU  ($(acked "$TMP/headless.toml") messages acked)"
echo "dashboard: ${T}s CPU  ($(acked "$TMP/tui.toml") messages acked)"
awk -v h="$H" -v t="$T" -v d="$DUR" 'BEGIN { printf "ratio dashboard/headless: %.2f  (dashboard overhead %+.2fs CPU, %.1f%% of one core)\n", t / h, t - h, (t - h) * 100 / d }'
