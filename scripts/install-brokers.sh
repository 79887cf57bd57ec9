#!/usr/bin/env bash
# Installs the local brokers pubduel runs against without Docker:
#   nats-server (Debian's package, with JetStream) and tansu (a Kafka-protocol broker, from crates.io).
# Skips what is already installed. tansu builds from source: about 15-20 minutes on 2 cores.
set -euo pipefail
sudo_if() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v nats-server >/dev/null; then
  echo "installing nats-server (apt)..."
  sudo_if apt-get update -qq
  sudo_if apt-get install -y -qq nats-server
fi
if ! command -v tansu >/dev/null; then
  echo "installing tansu (cargo install, takes a while)..."
  cargo install tansu --locked --features dynostore
fi
echo "nats-server: $(command -v nats-server)"
echo "tansu:       $(command -v tansu || echo "$HOME/.cargo/bin/tansu (add ~/.cargo/bin to PATH)")"
