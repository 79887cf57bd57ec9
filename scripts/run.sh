#!/usr/bin/env bash
# One command from a fresh checkout to a running pubduel: installs the local brokers when missing
# (nats-server, tansu), starts them unless something already listens on 4222/9092, builds pubduel
# and runs it with your arguments. Brokers started here are stopped again when pubduel exits.
#   scripts/run.sh                      # dashboard, default profile
#   scripts/run.sh --profile profiles/seed-high.toml --headless --report seed-high.toml
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started=no
if ! up 4222 || ! up 9092; then
  scripts/install-brokers.sh
  scripts/brokers.sh start
  started=yes
fi
cargo build --release --quiet
status=0
./target/release/pubduel "$@" || status=$?
if [ "$started" = yes ]; then scripts/brokers.sh stop >/dev/null; fi
exit "$status"
