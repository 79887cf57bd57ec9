#!/usr/bin/env bash
# Reproduces the README's seed case study: runs the four seed profiles, then variations of the
# extreme one, headless against the brokers at PUBDUEL_KAFKA / PUBDUEL_NATS (or local defaults),
# and prints a Markdown table of submit and ack percentiles per lane from the reports.
# Usage: scripts/seed-study.sh [SECONDS per run, default 15] [OUT dir, default reports/seed-study]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-15}
OUT=${2:-reports/seed-study}
mkdir -p "$OUT"
cargo build --release --quiet
BIN=./target/release/pubduel

run() { # name, profile, extra flags...
  local name=$1 profile=$2; shift 2
  echo "running $name ..." >&2
  "$BIN" --headless --profile "$profile" --duration "${SECS}s" --report "$OUT/$name.toml" "$@" >"$OUT/$name.txt" 2>&1
}

for lvl in low medium high extreme; do run "seed-$lvl" "profiles/seed-$lvl.toml"; done
# The seed's settings once the cap is reached: max-pending small enough that rate x ack latency
# exceeds it (on loopback acks take well under a millisecond, so 4000 is never reached).
run extreme-cap-4 profiles/seed-extreme.toml --max-pending 4
# The same strategy on both lanes, then one ack at a time, then as fast as each lane goes.
run extreme-both-async profiles/seed-extreme.toml --ack async
run extreme-sync profiles/seed-extreme.toml --ack sync
run extreme-closed profiles/seed-extreme.toml --rate 0

python3 - "$OUT" <<'PY'
import sys, tomllib, pathlib
out = pathlib.Path(sys.argv[1])
def fmt(us):
    if us < 1000: return f"{us} us"
    if us < 1_000_000: return f"{us/1000:.2f} ms"
    return f"{us/1e6:.2f} s"
print("| run | lane | knobs | sent/s | acked/s | stalls | submit p50 | submit p99 | ack p50 | ack p99 |")
print("|---|---|---|---|---|---|---|---|---|---|")
for f in sorted(out.glob("*.toml"), key=lambda p: p.stat().st_mtime):
    r = tomllib.load(open(f, "rb"))
    for l in r["phases"][-1]["lanes"]:
        k, s = l["knobs"], l["stages"]
        rate = "max" if k["rate"] == 0 else k["rate"]
        sub, ack = s.get("submit", {}), s.get("ack", {})
        print(f"| {f.stem} | {l['name']} | {k['ack']}, c{k['concurrency']}, mp {k['max_pending']}, rate {rate} | "
              f"{l['sent_rate']:.0f} | {l['throughput']:.0f} | {l['stalls']} | "
              f"{fmt(sub.get('p50_us', 0))} | {fmt(sub.get('p99_us', 0))} | {fmt(ack.get('p50_us', 0))} | {fmt(ack.get('p99_us', 0))} |")
PY
