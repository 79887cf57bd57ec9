#!/usr/bin/env bash
# What the coordinator of a run of agents costs per agent: CPU (user + sys, as a share of one core)
# and the control traffic each agent causes (bytes a second through the control server), with
# 1, 2 and 4 agents, each agent at the same load: 2 lanes (Kafka, NATS), AGENT_RATE msg/s per lane
# per agent, async, which records 7 stages per lane. Printed beside a baseline measured in the
# same run: one agent's own CPU, and the bytes its lanes publish.
#
#   benches/agents.sh                    # ~2 min: 1, 2, 4 agents, 15 s runs
#   AGENTS_COUNTS="1 2" AGENTS_SECS=10 benches/agents.sh
#
# Knobs (environment): AGENTS_COUNTS (1 2 4), AGENTS_SECS (15), AGENT_RATE (1000), AGENTS_BIN
# (target/release/pubduel). Brokers: scripts/throwaway-brokers.sh (stopped at the end); the
# control server: one more nats-server with monitoring, on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${AGENTS_COUNTS:-1 2 4}
SECS=${AGENTS_SECS:-15}
RATE=${AGENT_RATE:-1000}
BIN=${AGENTS_BIN:-target/release/pubduel}
[ -x "$BIN" ] || { echo "agents bench: no pubduel at $BIN: cargo build --release first" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=../scripts/throwaway-brokers.sh
source scripts/throwaway-brokers.sh
trap 'exit 130' INT TERM
start_throwaway_brokers || { echo "agents bench: the brokers did not start" >&2; exit 1; }
CPORT=$(free_port)
CMON=$(free_port)
pd_spawn "$TMP/control.out" "$(nats_server_bin)" -a 127.0.0.1 -p "$CPORT" -m "$CMON" -l "$TMP/control.log" # its folder in the command line: the cleanup stops it
PIDS+=("$PD_PID")
wait_port "$CPORT" 10
CONTROL="nats://127.0.0.1:$CPORT"

# cpu_s PID: user + sys seconds the process has used.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# control_bytes: bytes in and out of the control server so far.
control_bytes() { http_get "$CMON" /varz | python3 -c 'import json, sys; t = sys.stdin.read(); v = json.loads(t[t.index("{"):]); print(v["in_bytes"] + v["out_bytes"])'; }

echo "agents bench: pubduel $("$BIN" --version | awk '{ print $NF }'), ${SECS}s runs, ${RATE} msg/s per lane per agent, 2 lanes, 256 B"
printf '%-7s %14s %14s %14s %18s %16s\n' agents "coord cpu" "agent cpu" "coord/agent" "control B/s/agent" "control/payload"
for n in $COUNTS; do
  agents=()
  for ((i = 1; i <= n; i++)); do
    pd_spawn "$TMP/agent-$n-$i.log" "$BIN" agent --control "$CONTROL" --name "b$n-$i"
    agents+=("$PD_PID")
    PIDS+=("$PD_PID")
  done
  sleep 1
  a0=(); for p in "${agents[@]}"; do a0+=("$(cpu_s "$p")"); done
  b0=$(control_bytes)
  names=$(for ((i = 1; i <= n; i++)); do printf 'b%s-%s,' "$n" "$i"; done)
  # The coordinator's own CPU: its rusage, read by python once it has exited.
  coord=$(python3 - "$BIN" "$CONTROL" "${names%,}" "$SECS" "$((RATE * n))" "$((2 * n))" <<'PY'
import resource, subprocess, sys
b, control, names, secs, rate, conc = sys.argv[1:]
r = subprocess.run([b, "run", "--headless", "--agents", names, "--control", control,
                    "--duration", f"{secs}s", "--warmup", "1s", "--rate", rate,
                    "--concurrency", conc], capture_output=True, text=True)
if r.returncode != 0:
    sys.exit("the coordinator failed: " + r.stdout[-800:] + r.stderr[-800:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(u.ru_utime + u.ru_stime)
PY
)
  b1=$(control_bytes)
  a1=(); for p in "${agents[@]}"; do a1+=("$(cpu_s "$p")"); done
  stop_pids 10 "${agents[@]}"
  python3 - "$n" "$SECS" "$RATE" "$coord" "$b0" "$b1" "${a0[*]}" "${a1[*]}" <<'PY'
import sys
n, secs, rate = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
coord, b0, b1 = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
a0 = [float(x) for x in sys.argv[7].split()]
a1 = [float(x) for x in sys.argv[8].split()]
# the coordinator also spends its start and wait; the run is about secs + 3 s
wall = secs + 3
coord_share = coord / wall
agent_share = sum(b - a for a, b in zip(a0, a1)) / n / wall
per_agent_bps = (b1 - b0) / wall / n
payload_bps = rate * 2 * 256
print(f"{n:<7} {coord_share:13.3f}c {agent_share:13.3f}c {coord_share / n / agent_share:14.3f} "
      f"{per_agent_bps:18.0f} {per_agent_bps / payload_bps:16.4f}")
PY
done
echo "coord cpu, agent cpu: cores used (user + sys over the run); coord/agent: the coordinator's CPU per agent over one agent's own;"
echo "control B/s/agent: bytes in and out of the control server per agent a second; control/payload: over the bytes each agent publishes"
