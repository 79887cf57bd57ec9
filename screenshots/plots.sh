#!/usr/bin/env bash
# Makes the comparison and plots in docs/compare-and-ci.md from real runs against local brokers
# (Apache Kafka + nats-server, started on free ports and stopped again): two 12 s runs at 2000
# msg/s, max-pending 4096 (BASE) and 16 (NEW); then `compare --format markdown` and `plot` of both.
#
#   screenshots/plots.sh [path/to/pubduel]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/pubduel}")
OUT=$PWD/screenshots
# shellcheck source-path=SCRIPTDIR source=../scripts/throwaway-brokers.sh
source scripts/throwaway-brokers.sh
start_throwaway_brokers
common=(--headless --duration 12s --warmup 2s --rate 2000 --concurrency 4)
"$BIN" "${common[@]}" --max-pending 4096 --report "$OUT/base.toml" >/dev/null
"$BIN" "${common[@]}" --max-pending 16 --report "$OUT/new.toml" --hlog "$OUT/new.hlog" >/dev/null
(cd "$OUT" && "$BIN" compare --format markdown --stages submit,permit,ack base.toml new.toml) >"$OUT/compare.md" || true
"$BIN" plot "$OUT/base.toml" "$OUT/new.toml" -o "$OUT/plot.png"
"$BIN" plot "$OUT/base.toml" "$OUT/new.toml" -o "$OUT/plot.svg"
echo "wrote $OUT/compare.md, plot.png, plot.svg (from base.toml, new.toml)"
