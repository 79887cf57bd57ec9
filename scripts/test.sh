#!/usr/bin/env bash
# Runs pubduel's whole test suite: unit tests, and integration tests that start their own
# nats-server and tansu on free loopback ports (installed first when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/install-brokers.sh >/dev/null
command -v tmux >/dev/null || echo "note: tmux is missing: the dashboard test in tmux will fail (apt-get install tmux)" >&2
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
