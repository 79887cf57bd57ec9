#!/usr/bin/env bash
# Soak: a long headless run of both lanes with end-to-end consumers against local brokers
# (Apache Kafka + nats-server on free ports, started and stopped here), printing once a minute the
# resident memory, the CPU pubduel used, the CPU per message and what the allocator holds (what
# mimalloc has committed, and its peak: every allocation is mimalloc's, the C libraries' too); at
# the end the report's end-to-end counts. Ratios, not
# timings, are what to compare between versions.
#
#   benches/soak.sh [DURATION=1h] [RATE=5000] [path/to/pubduel]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-1h}
RATE=${2:-5000}
BIN=$(realpath "${3:-target/release/pubduel}")
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=../scripts/throwaway-brokers.sh
source scripts/throwaway-brokers.sh
start_throwaway_brokers
OUT=${SOAK_OUT:-$TMP}
mkdir -p "$OUT"
RUST_LOG=${RUST_LOG:-warn,librdkafka=off,rdkafka=off,pubduel::memory=debug} "$BIN" --headless --duration "$DURATION" --rate "$RATE" --concurrency 4 --e2e --warmup 5s \
  --report "$OUT/soak.toml" --series "$OUT/soak.csv" >"$OUT/soak.txt" 2>&1 &
pid=$!
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{print ($14 + $15) / t}' "/proc/$pid/stat"; }
rss() { awk '/VmRSS/{print $2}' "/proc/$pid/status"; }
acked() { awk -F, 'NR > 1 {s += $6} END {print s + 0}' "$OUT/soak.csv"; }
# The allocator's figures from pubduel's latest `pubduel::memory` line: "committed-kB peak-kB"
# (every allocation is mimalloc's, the C libraries' too).
heap() {
  sed -n 's/.*heap: committed \([0-9]*\) kB (peak \([0-9]*\) kB).*/\1 \2/p' "$OUT/soak.txt" | tail -1
}
echo "soak: $DURATION at 2 x $RATE msg/s, --e2e, pid $pid; a line a minute"
printf '%6s %10s %12s %12s %14s %12s %12s\n' minute "RSS MB" "CPU s/min" "acked/min" "CPU us/msg" \
  "heap MB" "peak MB"
minute=0
last_cpu=$(cpu); last_acked=0
while kill -0 "$pid" 2>/dev/null; do
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$pid" 2>/dev/null || break
  minute=$((minute + 1))
  c=$(cpu); a=$(acked); r=$(rss); h=$(heap)
  awk -v m="$minute" -v r="$r" -v c="$c" -v lc="$last_cpu" -v a="$a" -v la="$last_acked" -v h="${h:-0 0}" 'BEGIN {
    split(h, hf, " "); d = a - la
    printf "%6d %10.1f %12.2f %12d %14.1f %12.1f %12.1f\n", m, r / 1024, c - lc, d,
      (d > 0 ? (c - lc) * 1e6 / d : 0), hf[1] / 1024, hf[2] / 1024 }'
  last_cpu=$c; last_acked=$a
done
wait "$pid" || { tail -20 "$OUT/soak.txt"; echo "the soak run failed" >&2; exit 1; }
python3 - "$OUT/soak.toml" <<'PY'
import sys, tomllib
r = tomllib.load(open(sys.argv[1], "rb"))
for lane in r["meta"]["lanes"]:
    ls = [l for p in r["phases"] for l in p["lanes"] if l["name"] == lane]
    s = lambda k: sum(l.get(k) or 0 for l in ls)
    print(f"{lane}: acked {s('acked')}, received {s('received')}, late {s('late')}, missing {s('missing')}, duplicates {s('duplicates')}, errors {s('errors')}")
PY
