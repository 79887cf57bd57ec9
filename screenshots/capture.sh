#!/usr/bin/env bash
# Captures the dashboard during real runs against local brokers (Apache Kafka + nats-server), in a
# 160x48 tmux terminal: the plain text (.txt) and an SVG drawn from the coloured capture.
#
#   screenshots/capture.sh [path/to/pubduel] [SHOT...]   (SHOT: dashboard, stalls, story, lanes;
#                                                        all of them when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/pubduel}")
shift || true
SHOTS="${*:-dashboard stalls story lanes}"
wants() { [[ " $SHOTS " == *" $1 "* ]]; }
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
if wants dashboard; then
run --rate 500 --concurrency 8 --max-pending 4000 --ack async --warmup 2s
sleep 25; tmux send-keys -t "$SESSION" R; sleep 20
shot dashboard
tmux send-keys -t "$SESSION" '?'; sleep 1
shot help
tmux send-keys -t "$SESSION" Escape q; sleep 3
fi

# 2. As fast as possible with a small max-pending: stalls, and the findings that explain them.
if wants stalls; then
run --rate 0 --concurrency 16 --max-pending 64 --ack async --warmup 2s
sleep 20; tmux send-keys -t "$SESSION" s; sleep 2
shot closed-loop-stalls
tmux send-keys -t "$SESSION" q; sleep 3
fi

# 3. The seed story (profiles/seed-story.toml): its first step, then the closed loop where NATS
#    sits at its 4000 cap, each with its caption in the footer.
if wants story; then
run --profile "'$PWD/profiles/seed-story.toml'"
sleep 16; shot seed-story-1
sleep 21; shot seed-story-2
tmux send-keys -t "$SESSION" q; sleep 3
fi

# 4. Four named lanes on one Kafka and one nats-server: linger 0 against 5, a file stream against
#    a memory one, one publisher each, sync; the duel compares the two Kafka lanes.
if wants lanes; then
cat >"$TMP/four.toml" <<'TOML'
name = "four-lanes"
lanes = ["k0", "k5", "file", "mem"]
concurrency = 1
ack = "sync"
rate = 100
warmup = "2s"
[lane.k0]
kind = "kafka"
[lane.k0.kafka]
linger_ms = 0
[lane.k5]
kind = "kafka"
[lane.file]
kind = "nats"
[lane.mem]
kind = "nats"
[lane.mem.nats]
storage = "memory"
TOML
run --profile "'$TMP/four.toml'"
sleep 30; shot four-lanes
tmux send-keys -t "$SESSION" q; sleep 3
fi
