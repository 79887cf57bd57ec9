#!/usr/bin/env bash
# Captures the dashboard during real runs against local brokers (Apache Kafka + nats-server), in a
# 160x48 tmux terminal: the plain text (.txt) and an SVG drawn from the coloured capture.
#
#   screenshots/capture.sh [path/to/pubduel]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/pubduel}")
OUT=screenshots
SESSION="pubduel-shot-$$"
# shellcheck source-path=SCRIPTDIR source=../scripts/throwaway-brokers.sh
source scripts/throwaway-brokers.sh
start_throwaway_brokers

# shot NAME: saves the current screen.
shot() {
  tmux capture-pane -p -t "$SESSION" >"$OUT/$1.txt"
  tmux capture-pane -e -p -t "$SESSION" >"$TMP/$1.ansi"
  python3 "$OUT/ansi2svg.py" "$TMP/$1.ansi" >"$OUT/$1.svg"
  echo "captured $OUT/$1"
}
# run ARGS...: starts the dashboard in a fresh 160x48 session.
run() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  tmux new-session -d -s "$SESSION" -x 160 -y 48 \
    "cd '$TMP' && PUBDUEL_NATS=nats://127.0.0.1:$NATS_PORT PUBDUEL_KAFKA=127.0.0.1:$KAFKA_PORT '$BIN' $* --log-file '$TMP/pubduel.log'; sleep 5"
}

# 1. The seed's comparison at 500 msg/s, then the rate doubled (a second phase on the timelines).
run --rate 500 --concurrency 8 --max-pending 4000 --ack async --warmup 2s
sleep 25; tmux send-keys -t "$SESSION" R; sleep 20
shot dashboard
tmux send-keys -t "$SESSION" '?'; sleep 1
shot help
tmux send-keys -t "$SESSION" Escape q; sleep 3

# 2. As fast as possible with a small max-pending: stalls, and the findings that explain them.
run --rate 0 --concurrency 16 --max-pending 64 --ack async --warmup 2s
sleep 20; tmux send-keys -t "$SESSION" s; sleep 2
shot closed-loop-stalls
tmux send-keys -t "$SESSION" q; sleep 3

# 3. The seed story (profiles/seed-story.toml): its first step, then the closed loop where NATS
#    sits at its 4000 cap, each with its caption in the footer.
run --profile "'$PWD/profiles/seed-story.toml'"
sleep 16; shot seed-story-1
sleep 21; shot seed-story-2
tmux send-keys -t "$SESSION" q; sleep 3
