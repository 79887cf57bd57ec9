#!/usr/bin/env bash
# Reproduces the seed case study (docs/seed-case-study.md): runs the four seed profiles, then
# variations of the extreme one, headless, and prints the broker versions followed by a Markdown
# table of submit and ack percentiles per lane from the reports. Brokers: those at PUBDUEL_KAFKA /
# PUBDUEL_NATS when both are set, else whatever answers on 127.0.0.1:9092 and :4222, else one node
# of each that it starts with scripts/brokers.sh (and stops at the end). With brokers of its own it
# then adds a replicated section: 3-node clusters (scripts/brokers.sh start --nodes 3) and
# profiles/replicated.toml (Kafka RF 3, acks=all, min ISR 2; NATS R3, file storage;
# REPLICATED_PROFILE picks another), async and sync.
# Usage: scripts/seed-study.sh [SECONDS per run, default 15] [OUT dir, default reports/seed-study]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib-brokers.sh
source scripts/lib-brokers.sh
SECS=${1:-15}
OUT=${2:-reports/seed-study}
mkdir -p "$OUT"
cargo build --release --quiet
BIN=./target/release/pubduel

# shellcheck disable=SC2317 # called by the traps
stop_started() { if [ "$PD_STARTED" = yes ]; then scripts/brokers.sh stop >/dev/null 2>&1 || true; PD_STARTED=no; fi; }
trap stop_started EXIT
trap 'exit 130' INT TERM
brokers_for_run
own=$PD_STARTED

# versions NODES: one line naming the brokers the runs below use.
versions() {
  local kafka nats nodes=nodes nport=${PUBDUEL_NATS#nats://}
  [ "$1" = 1 ] && nodes=node
  nport=${nport%%,*}
  nport=${nport##*:}
  if [ "$own" = yes ] || { [ "$PUBDUEL_KAFKA" = 127.0.0.1:9092 ] && scripts/brokers.sh status >/dev/null 2>&1; }; then
    kafka="Apache Kafka $(kafka_version_of "$(kafka_home)") (KRaft, $1 $nodes, scripts/brokers.sh)"
  else
    kafka="a Kafka-protocol broker of unknown version at $PUBDUEL_KAFKA"
  fi
  if [ "$own" = yes ]; then nats=$(nats_version_of "$(nats_server_bin)"); else nats=$(nats_version_at "$nport" || true); fi
  [ -n "$nats" ] || nats="of unknown version"
  echo "Brokers: $kafka; nats-server $nats (JetStream, $1 $nodes)"
}
versions 1

failed=()
run() { # name, profile, extra flags...: a failed run is reported at the end, the others go on
  local name=$1 profile=$2 code=0; shift 2
  echo "running $name ..." >&2
  rm -f "$OUT/$name.toml"
  "$BIN" --headless --profile "$profile" --duration "${SECS}s" --report "$OUT/$name.toml" "$@" >"$OUT/$name.txt" 2>&1 || code=$?
  if [ $code != 0 ]; then
    echo "  $name failed (exit $code): $(grep -m1 -i error "$OUT/$name.txt" || tail -n 1 "$OUT/$name.txt")" >&2
    failed+=("$name")
  fi
}

for lvl in low medium high extreme; do run "seed-$lvl" "profiles/seed-$lvl.toml"; done
# The seed's settings once the cap is reached: max-pending small enough that rate x ack latency
# exceeds it (on loopback acks take well under a millisecond, so 4000 is never reached).
run extreme-cap-4 profiles/seed-extreme.toml --max-pending 4
# The same strategy on both lanes, then one ack at a time, then as fast as each lane goes.
run extreme-both-async profiles/seed-extreme.toml --ack async
run extreme-sync profiles/seed-extreme.toml --ack sync
run extreme-closed profiles/seed-extreme.toml --rate 0

# Replicated: both lanes keep every message on 3 nodes before they ack it.
REPLICATED=${REPLICATED_PROFILE:-profiles/replicated.toml}
if [ ! -f "$REPLICATED" ]; then
  echo "$REPLICATED is not there (yet): skipping the replicated section" >&2
elif [ "$own" != yes ]; then
  echo "skipping the replicated section: it needs 3-node clusters this script starts itself" \
    "(leave PUBDUEL_KAFKA/PUBDUEL_NATS unset and 9092/4222 free)" >&2
else
  echo "replicated section: restarting the brokers as 3-node clusters ..." >&2
  scripts/brokers.sh stop >/dev/null 2>&1
  PD_STARTED=yes
  if addresses=$(scripts/brokers.sh start --nodes 3); then
    eval "$(grep '^export PUBDUEL_' <<<"$addresses")"
    versions 3
    # Three fresh JVMs and a new replicated topic need a while before Kafka's acks settle (JIT,
    # leaders, in-sync replicas): a first run, left out of the table, warms them up.
    echo "warming up the 3-node clusters (20 s, not in the table) ..." >&2
    mkdir -p "$OUT/warm-up"
    "$BIN" --headless --profile "$REPLICATED" --duration 20s --report "$OUT/warm-up/replicated.toml" \
      >"$OUT/warm-up/replicated.txt" 2>&1 || echo "  the warm-up run failed: see $OUT/warm-up/replicated.txt" >&2
    run replicated-async "$REPLICATED"
    run replicated-sync "$REPLICATED" --ack sync
  else
    echo "the 3-node clusters did not start (see above)" >&2
    failed+=(replicated-async replicated-sync)
  fi
  stop_started
fi

python3 - "$OUT" <<'PY'
import sys, tomllib, pathlib
out = pathlib.Path(sys.argv[1])
def fmt(us):
    if us < 1000: return f"{us} us"
    if us < 1_000_000: return f"{us/1000:.2f} ms"
    return f"{us/1e6:.2f} s"
print("| run | lane | knobs | sent/s | acked/s | stalls | submit p50 | submit p99 | ack p50 | ack p99 | ack raw p50 |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for f in sorted(out.glob("*.toml"), key=lambda p: p.stat().st_mtime):
    r = tomllib.load(open(f, "rb"))
    for l in r["phases"][-1]["lanes"]:
        k, s = l["knobs"], l["stages"]
        rate = "max" if k["rate"] == 0 else k["rate"]
        sub, ack, raw = s.get("submit", {}), s.get("ack", {}), s.get("ack_raw")
        print(f"| {f.stem} | {l['name']} | {k['ack']}, c{k['concurrency']}, mp {k['max_pending']}, rate {rate} | "
              f"{l['sent_rate']:.0f} | {l['throughput']:.0f} | {l['stalls']} | "
              f"{fmt(sub.get('p50_us', 0))} | {fmt(sub.get('p99_us', 0))} | {fmt(ack.get('p50_us', 0))} | {fmt(ack.get('p99_us', 0))} | "
              f"{fmt(raw['p50_us']) if raw else '-'} |")
PY
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed runs (not in the table): ${failed[*]}; see the messages above and $OUT/<name>.txt" >&2
  exit 1
fi
