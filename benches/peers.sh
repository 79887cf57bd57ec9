#!/usr/bin/env bash
# Peers: each pubduel lane against the best-known bare client benchmark on the same broker, in the
# same run, and the ratio pubduel / peer per mode (throughput, and sync ack p50).
#   NATS:  `nats bench js pub {async,sync,atomic,fast}` from natscli v0.5.0 (fast needs
#          nats-server 2.14+)
#   Kafka: Apache Kafka's own org.apache.kafka.tools.ProducerPerformance (kafka-producer-perf-test),
#          the Java client, from org.apache.kafka:kafka-tools $KAFKA_VERSION
# Each round runs peer, pubduel, pubduel, peer; every run has a topic or stream of its own, deleted
# after it. Brokers: one Apache Kafka KRaft node and nats-server -js on free loopback ports, from
# scripts/throwaway-brokers.sh (stopped at the end). The peers are installed into the cache when
# missing: natscli with `go install` (GOBIN=~/.cache/pubduel/natscli-v0.5.0), kafka-tools with mvn
# (~/.cache/pubduel/kafka-tools-$KAFKA_VERSION/libs). Needs python3 (tomllib), java 17+, go, mvn.
#
#   benches/peers.sh                               # ~10 min: every mode, 2 rounds of 10 s runs
#   PEERS_SECS=5 PEERS_ROUNDS=1 benches/peers.sh   # a quick look, ~3 min
#   PEERS_MODES="nats-async kafka-async" benches/peers.sh
#
# Knobs (environment):
#   PEERS_BIN          pubduel binary (default target/release/pubduel; copied at the start, so a
#                      rebuild meanwhile does not change what runs)
#   PEERS_MODES        nats-async nats-sync nats-atomic nats-fast kafka-async kafka-sync (all by
#                      default)
#   PEERS_SECS=10      seconds per run (pubduel: --duration; peers: message count from a calibration)
#   PEERS_WARMUP=2     pubduel --warmup, and ProducerPerformance --warmup-records of as many seconds
#   PEERS_ROUNDS=2     peer-pubduel-pubduel-peer rounds per mode
#   PEERS_SIZE=256     message size in bytes
#   PEERS_CLIENTS=4    publishers (nats bench --clients, pubduel --concurrency) in async and atomic
#   PEERS_NATS_BATCH=500        nats bench async window per client; pubduel --max-pending is
#                               PEERS_CLIENTS x this, the most the peer has un-acked
#   PEERS_ATOMIC_BATCH=100      messages per atomic batch, on both sides
#   PEERS_FAST_FLOW=500         nats bench fast --batch (the flow it asks for; the server caps it at
#                               500 over the stream's open batches); pubduel runs one fast batch per
#                               publisher for the whole run, as nats bench does, and the server sets
#                               its flow the same way
#   PEERS_NATS_MAXBYTES=4GB     stream size limit on both sides (nats bench's streams discard new)
#   PEERS_KAFKA_MAX_PENDING=4096  pubduel --max-pending in kafka-async
#   PEERS_PARTITIONS=3          partitions of every Kafka topic (pubduel's default)
#   PEERS_KAFKA_PROPS="batch.size=1000000"  producer properties added to ProducerPerformance's
#                      `acks=all linger.ms=5` (1000000 is librdkafka's batch.size, the client under
#                      pubduel's Kafka lane; empty for the Java default of 16384)
#   PEERS_KAFKA_SYNC_RATE=200   ProducerPerformance --throughput in kafka-sync (it has no sync mode:
#                      one record at a time is approximated by a low fixed rate, max.in.flight 1)
#   PEERS_LOGS         a folder to keep every run's command line and output in (default: a
#                      scratch folder, removed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${PEERS_SECS:-10}
WARMUP=${PEERS_WARMUP:-2}
ROUNDS=${PEERS_ROUNDS:-2}
SIZE=${PEERS_SIZE:-256}
CLIENTS=${PEERS_CLIENTS:-4}
NATS_BATCH=${PEERS_NATS_BATCH:-500}
ATOMIC_BATCH=${PEERS_ATOMIC_BATCH:-100}
FAST_FLOW=${PEERS_FAST_FLOW:-500}
NATS_MAXBYTES=${PEERS_NATS_MAXBYTES:-4GB}
KAFKA_MAX_PENDING=${PEERS_KAFKA_MAX_PENDING:-4096}
PARTITIONS=${PEERS_PARTITIONS:-3}
KAFKA_PROPS=${PEERS_KAFKA_PROPS-batch.size=1000000}
KAFKA_SYNC_RATE=${PEERS_KAFKA_SYNC_RATE:-200}
MODES=${PEERS_MODES:-nats-async nats-sync nats-atomic nats-fast kafka-async kafka-sync}
BIN=${PEERS_BIN:-target/release/pubduel}
NATSCLI_VERSION=v0.5.0

[ "$WARMUP" -lt "$SECS" ] || { echo "peers: PEERS_WARMUP ($WARMUP) must be below PEERS_SECS ($SECS)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "peers: no pubduel at $BIN: build first (cargo build --release) or set PEERS_BIN" >&2; exit 2; }
for tool in python3 java mvn; do
  command -v "$tool" >/dev/null || { echo "peers: $tool is not installed" >&2; exit 1; }
done

# shellcheck source-path=SCRIPTDIR source=../scripts/throwaway-brokers.sh
source scripts/throwaway-brokers.sh
trap 'exit 130' INT TERM # the EXIT trap of throwaway-brokers.sh stops the brokers
cp "$BIN" "$TMP/pubduel"
BIN=$TMP/pubduel

NATSCLI_DIR=$PD_CACHE/natscli-$NATSCLI_VERSION
NATSCLI=$NATSCLI_DIR/nats
KTOOLS_DIR=$PD_CACHE/kafka-tools-$KAFKA_VERSION

# install_natscli: natscli $NATSCLI_VERSION into $NATSCLI_DIR with go install, once.
install_natscli() {
  local go tmp
  [ -x "$NATSCLI" ] && return 0
  go=$(pd_go) || { echo "peers: go is needed to build natscli (https://go.dev/dl)" >&2; return 1; }
  pd_note "building natscli $NATSCLI_VERSION with go install into $NATSCLI_DIR (1-2 minutes)..."
  mkdir -p "$PD_CACHE"
  tmp=$(mktemp -d "$NATSCLI_DIR.partial.XXXXXX")
  if ! GOBIN="$tmp" "$go" install "github.com/nats-io/natscli/nats@$NATSCLI_VERSION" >"$tmp/go.log" 2>&1; then
    tail -20 "$tmp/go.log" >&2
    echo "peers: go install of natscli $NATSCLI_VERSION failed (log: $tmp/go.log)" >&2
    return 1
  fi
  [ -x "$NATSCLI" ] && { rm -rf "$tmp"; return 0; } # another install finished first
  rm -rf "$NATSCLI_DIR"
  mv "$tmp" "$NATSCLI_DIR"
}

# install_kafka_tools: org.apache.kafka:kafka-tools $KAFKA_VERSION and its runtime dependencies from
# Maven Central into $KTOOLS_DIR/libs, once.
install_kafka_tools() {
  local tmp
  [ -f "$KTOOLS_DIR/.done" ] && return 0
  pd_note "fetching kafka-tools $KAFKA_VERSION from Maven Central into $KTOOLS_DIR (about 45 MB)..."
  mkdir -p "$PD_CACHE"
  tmp=$(mktemp -d "$KTOOLS_DIR.partial.XXXXXX")
  local deps="<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>"
  mvn_copy_jars "$tmp" kafka-tools "$deps" "kafka-tools $KAFKA_VERSION" || return 1
  [ -f "$KTOOLS_DIR/.done" ] && { rm -rf "$tmp"; return 0; }
  chmod 755 "$tmp"
  rm -rf "$KTOOLS_DIR"
  mv "$tmp" "$KTOOLS_DIR"
  touch "$KTOOLS_DIR/.done"
}

want() { [[ " $MODES " == *" $1 "* ]]; }
want_nats() { [[ " $MODES " == *" nats-"* ]]; }
want_kafka() { [[ " $MODES " == *" kafka-"* ]]; }
want_nats && { install_natscli || exit 1; }
want_kafka && { install_kafka_tools || exit 1; }
start_throwaway_brokers || { echo "peers: the brokers did not start" >&2; exit 1; }
NATS_URL=$PUBDUEL_NATS
KAFKA_ADDR=$PUBDUEL_KAFKA

# NATS_MAXBYTES in bytes, for pubduel's profile (nats bench takes "4GB" as it is).
maxbytes=$(python3 -c '
import re, sys
m = re.fullmatch(r"(\d+)\s*([KMGT]?)B?", sys.argv[1].strip(), re.I)
if not m: sys.exit("peers: PEERS_NATS_MAXBYTES: give bytes or a size like 4GB")
print(int(m[1]) * 1024 ** "_KMGT".index((m[2] or "_").upper()))' "$NATS_MAXBYTES")

RESULTS=$TMP/results.tsv # mode side run msgs_per_s p50_us
: >"$RESULTS"
RUN=0
LOGS=${PEERS_LOGS:-$TMP/logs}
mkdir -p "$LOGS"

say() { printf '%s\n' "$*"; }
show_cmd() { say "  \$ $*"; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# ---- peers -----------------------------------------------------------------------------------

natscli() { "$NATSCLI" --no-context -s "$NATS_URL" "$@"; }
drop_stream() { natscli stream rm "$1" -f >/dev/null 2>&1 || true; }

# nats_bench_parse FILE: "msgs/s p50_us" from nats bench's summary (aggregated when several clients).
nats_bench_parse() {
  python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
num = lambda s: float(s.replace(",", ""))
rate = re.findall(r"stats: ([\d,.]+) msgs/sec", text)
p50 = re.findall(r"P50:? ([\d,.]+)(us|ms|s)\b", text.split("stats:")[-1] if "aggregated" not in text else text.split("aggregated")[-1])
if not rate:
    sys.exit(1)
scale = {"us": 1, "ms": 1e3, "s": 1e6}
print(num(rate[-1]), num(p50[0][0]) * scale[p50[0][1]] if p50 else "nan")
PY
}

# nats_bench MODE STREAM SUBJECT MSGS CLIENTS [ARGS...]: one `nats bench js pub MODE` run on a new
# stream; prints "msgs/s p50_us" (p50 is per publish in sync, per window or batch otherwise).
nats_bench() {
  local mode=$1 stream=$2 subject=$3 msgs=$4 clients=$5 log
  shift 5
  log=$LOGS/$stream.log
  local cmd=("$NATSCLI" --no-context -s "$NATS_URL" bench js pub "$mode" "$subject" --stream "$stream"
    --create --maxbytes "$NATS_MAXBYTES" --msgs "$msgs" --size "$SIZE" --clients "$clients" --no-progress "$@")
  echo "${cmd[*]}" >"$log"
  if ! timeout $((SECS * 4 + 60)) "${cmd[@]}" >>"$log" 2>&1; then
    drop_stream "$stream"
    tail -5 "$log" >&2
    return 1
  fi
  drop_stream "$stream"
  nats_bench_parse "$log"
}

KTOOLS_CP="$KTOOLS_DIR/libs/*"
ktool() { timeout 120 java -Xmx256m -cp "$KTOOLS_CP" "$@" 2>&1 | { grep -v '^SLF4J' || true; }; }
create_topic() { ktool org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_ADDR" --create \
  --topic "$1" --partitions "$PARTITIONS" --replication-factor 1 >/dev/null; }
drop_topic() { ktool org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_ADDR" --delete \
  --topic "$1" >/dev/null || true; }

# prodperf_parse FILE: "records/s p50_us" from ProducerPerformance's steady-state line (after its
# warm-up records) or else its summary; its percentiles are whole milliseconds.
prodperf_parse() {
  python3 - "$1" <<'PY'
import re, sys
lines = [l for l in open(sys.argv[1]) if re.search(r"records sent, .* 50th", l)]
if not lines:
    sys.exit(1)
line = lines[-1]
rate = float(re.search(r"([\d.]+) records/sec", line)[1])
p50 = float(re.search(r"([\d.]+) ms 50th", line)[1]) * 1000
print(rate, p50)
PY
}

# prodperf TOPIC RECORDS WARMUP_RECORDS THROUGHPUT [PROPS...]: one ProducerPerformance run on a new
# topic of PARTITIONS partitions; prints "records/s p50_us".
prodperf() {
  local topic=$1 n=$2 warm=$3 tput=$4 log
  shift 4
  log=$LOGS/$topic.log
  create_topic "$topic" || { echo "peers: could not create topic $topic" >&2; return 1; }
  local cmd=(java -cp "$KTOOLS_CP" org.apache.kafka.tools.ProducerPerformance --bootstrap-server "$KAFKA_ADDR"
    --topic "$topic" --num-records "$n" --record-size "$SIZE" --throughput "$tput" --command-property "$@")
  [ "$warm" -gt 0 ] && cmd+=(--warmup-records "$warm")
  echo "${cmd[*]}" >"$log"
  if ! timeout $((SECS * 4 + 60)) "${cmd[@]}" >>"$log" 2>&1; then
    drop_topic "$topic"
    tail -5 "$log" >&2
    return 1
  fi
  drop_topic "$topic"
  prodperf_parse "$log"
}

# ---- pubduel ---------------------------------------------------------------------------------

# pubduel LANE NAME ARGS...: one headless run on its own topic or stream (NAME), dropped after;
# prints "msgs/s ack_p50_us" from its report.
pubduel() {
  local lane=$1 name=$2 prof report log
  shift 2
  prof=$TMP/$name.toml
  report=$TMP/$name.report.toml
  log=$LOGS/$name.log
  cat >"$prof" <<TOML
name = "peers"
[kafka]
topic = "$name"
partitions = $PARTITIONS
[nats]
stream = "$name"
subject = "${name//_/.}"
max_bytes = $maxbytes
TOML
  local cmd=("$BIN" --headless --profile "$prof" --kafka "$KAFKA_ADDR" --nats "$NATS_URL" --lanes "$lane"
    --message-size "$SIZE" --duration "${SECS}s" --warmup "${WARMUP}s" --report "$report" "$@")
  echo "${cmd[*]}" >"$log"
  local ok=1
  timeout $((SECS + 90)) "${cmd[@]}" >>"$log" 2>&1 || ok=0
  if [ "$lane" = nats ]; then drop_stream "$name"; else drop_topic "$name"; fi
  [ $ok = 1 ] || { tail -5 "$log" >&2; return 1; }
  python3 - "$report" "$lane" <<'PY'
import sys, tomllib
r = tomllib.load(open(sys.argv[1], "rb"))
ls = [l for p in r["phases"] for l in p["lanes"] if l["name"] == sys.argv[2] and not l.get("warmup_only")]
l = ls[0]
print(l["throughput"], l["stages"]["ack"]["p50_us"])
PY
}

# ---- the rounds ------------------------------------------------------------------------------

# run_side MODE SIDE: one run of MODE by SIDE (peer or pubduel), recorded.
run_side() {
  local mode=$1 side=$2 out name
  RUN=$((RUN + 1))
  name="peers_${mode//-/_}_${side}_$RUN"
  if [ "$side" = peer ]; then out=$(peer_"${mode//-/_}" "$name") || out=
  else out=$(pubduel_"${mode//-/_}" "$name") || out=; fi
  if [ -z "$out" ]; then
    printf '  %-12s %-8s run %2d: failed (log: %s)\n' "$mode" "$side" "$RUN" "$LOGS/$name.log"
    return 0
  fi
  read -r tput p50 <<<"$out"
  record "$mode" "$side" "$RUN" "$tput" "$p50"
  local note=
  if [ "$side" = peer ] && [ "$mode" != kafka-sync ]; then
    note=$(awk -v n="$PEER_MSGS" -v r="$tput" 'BEGIN { printf "  (%d messages, ~%.1f s)", n, n / r }')
    # the next peer run of this mode sized on this one's rate: a busy machine moves it a lot
    PEER_MSGS=$(count_for "$tput" "$PEER_MULTIPLE" "$SECS")
  fi
  printf '  %-12s %-8s run %2d: %12.0f msg/s   p50 %10.0f us%s\n' "$mode" "$side" "$RUN" "$tput" "$p50" "$note"
}

# peer messages for about SECS seconds at RATE msg/s, rounded up to a multiple of $2.
count_for() { python3 -c 'import math, sys; r, m, s = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]); print(max(m, math.ceil(r * s / m) * m))' "$1" "$2" "$3"; }

# calibrate MODE: a short peer run, not recorded, that warms up broker and client and sets PEER_MSGS
# so that the peer's next run lasts about SECS seconds (each peer run then sizes the next one);
# kafka-sync runs at a fixed rate, so there it is a warm-up only.
calibrate() {
  local mode=$1 out rate
  RUN=$((RUN + 1))
  out=$(peer_"${mode//-/_}" "peers_${mode//-/_}_calibrate_$RUN" calibrate) || return 1
  rate=${out%% *}
  if [ "$mode" = kafka-sync ]; then # a fixed rate: only a warm-up
    printf '  %-12s %-8s warm-up run: %.0f msg/s\n' "$mode" peer "$rate"
    return 0
  fi
  PEER_MSGS=$(count_for "$rate" "$PEER_MULTIPLE" "$SECS")
  printf '  %-12s %-8s calibration: %.0f msg/s, so %s messages a run\n' "$mode" peer "$rate" "$PEER_MSGS"
}

PEER_MSGS=0
PEER_MULTIPLE=1
# NATS: async, CLIENTS publishers, each with a window of NATS_BATCH un-acked publishes.
peer_nats_async() {
  local n=$PEER_MSGS
  [ "${2:-}" = calibrate ] && n=$((CLIENTS * NATS_BATCH * 40))
  nats_bench async "$1" "${1//_/.}" "$n" "$CLIENTS" --batch "$NATS_BATCH"
}
pubduel_nats_async() { pubduel nats "$1" --ack async --rate 0 --concurrency "$CLIENTS" --max-pending $((CLIENTS * NATS_BATCH)); }
# NATS: sync, one publisher.
peer_nats_sync() {
  local n=$PEER_MSGS
  [ "${2:-}" = calibrate ] && n=3000
  nats_bench sync "$1" "${1//_/.}" "$n" 1
}
pubduel_nats_sync() { pubduel nats "$1" --ack sync --rate 0 --concurrency 1; }
# NATS: atomic batches of ATOMIC_BATCH, CLIENTS publishers.
peer_nats_atomic() {
  local n=$PEER_MSGS
  [ "${2:-}" = calibrate ] && n=$((CLIENTS * ATOMIC_BATCH * 40))
  nats_bench atomic "$1" "${1//_/.}" "$n" "$CLIENTS" --batch "$ATOMIC_BATCH"
}
pubduel_nats_atomic() {
  pubduel nats "$1" --ack atomic --batch "$ATOMIC_BATCH" --rate 0 --concurrency "$CLIENTS" \
    --max-pending $((CLIENTS * ATOMIC_BATCH))
}
# NATS: fast-ingest batches, CLIENTS publishers, 2 flow acks outstanding (nats bench's default is
# 1), one batch per publisher for the run; pubduel's max-pending well above the flow's window.
peer_nats_fast() {
  local n=$PEER_MSGS
  [ "${2:-}" = calibrate ] && n=$((CLIENTS * FAST_FLOW * 40))
  nats_bench fast "$1" "${1//_/.}" "$n" "$CLIENTS" --batch "$FAST_FLOW" --max-outstanding-acks 2
}
pubduel_nats_fast() {
  pubduel nats "$1" --ack fast --batch 100000 --max-outstanding-acks 2 --rate 0 \
    --concurrency "$CLIENTS" --max-pending $((CLIENTS * FAST_FLOW * 4))
}
# Kafka: unthrottled ProducerPerformance (one thread, asynchronous sends), warm-up records left out.
KPROPS=(acks=all linger.ms=5)
read -r -a extra <<<"$KAFKA_PROPS"
KPROPS+=("${extra[@]}")
peer_kafka_async() {
  local n=$PEER_MSGS warm=$((PEER_MSGS * WARMUP / SECS))
  # calibration: the rate of the second half, once the JVM has warmed up
  [ "${2:-}" = calibrate ] && { n=1000000; warm=500000; }
  prodperf "${1//_/-}" "$n" "$warm" -1 "${KPROPS[@]}"
}
pubduel_kafka_async() { pubduel kafka "${1//_/-}" --ack async --rate 0 --concurrency "$CLIENTS" --max-pending "$KAFKA_MAX_PENDING"; }
# Kafka "sync": ProducerPerformance at KAFKA_SYNC_RATE records/s, one request in flight.
peer_kafka_sync() {
  local n=$((KAFKA_SYNC_RATE * SECS)) warm=$((KAFKA_SYNC_RATE * WARMUP))
  [ "${2:-}" = calibrate ] && { n=$((KAFKA_SYNC_RATE * 2)); warm=0; }
  prodperf "${1//_/-}" "$n" "$warm" "$KAFKA_SYNC_RATE" "${KPROPS[@]}" max.in.flight.requests.per.connection=1
}
pubduel_kafka_sync() { pubduel kafka "${1//_/-}" --ack sync --rate 0 --concurrency 1; }

kversion=$(kafka_version_of "$(kafka_home)")
nversion=$(nats_version_of "$(nats_server_bin)")
say "peers: pubduel $("$BIN" --version | awk '{ print $NF }') against natscli $NATSCLI_VERSION and kafka-tools $kversion ProducerPerformance"
say "brokers: Apache Kafka $kversion (one KRaft node) at $KAFKA_ADDR, nats-server $nversion -js at $NATS_URL"
say "settings: ${SECS}s runs (pubduel: first ${WARMUP}s warm-up), $ROUNDS round(s) of peer-pubduel-pubduel-peer, ${SIZE} B, clients $CLIENTS"
say "commands (NAME = a new topic or stream per run; full lines in each run's log):"
want nats-async && show_cmd "$NATSCLI -s $NATS_URL bench js pub async NAME --stream NAME --create --maxbytes $NATS_MAXBYTES --msgs N --size $SIZE --clients $CLIENTS --no-progress --batch $NATS_BATCH"
want nats-async && show_cmd "pubduel --headless --profile NAME.toml --lanes nats --message-size $SIZE --duration ${SECS}s --warmup ${WARMUP}s --ack async --rate 0 --concurrency $CLIENTS --max-pending $((CLIENTS * NATS_BATCH))"
want nats-sync && show_cmd "$NATSCLI -s $NATS_URL bench js pub sync NAME --stream NAME --create --maxbytes $NATS_MAXBYTES --msgs N --size $SIZE --clients 1 --no-progress"
want nats-sync && show_cmd "pubduel --headless --profile NAME.toml --lanes nats --message-size $SIZE --duration ${SECS}s --warmup ${WARMUP}s --ack sync --rate 0 --concurrency 1"
want nats-atomic && show_cmd "$NATSCLI -s $NATS_URL bench js pub atomic NAME --stream NAME --create --maxbytes $NATS_MAXBYTES --msgs N --size $SIZE --clients $CLIENTS --no-progress --batch $ATOMIC_BATCH"
want nats-atomic && show_cmd "pubduel --headless --profile NAME.toml --lanes nats --message-size $SIZE --duration ${SECS}s --warmup ${WARMUP}s --ack atomic --batch $ATOMIC_BATCH --rate 0 --concurrency $CLIENTS --max-pending $((CLIENTS * ATOMIC_BATCH))"
want nats-fast && show_cmd "$NATSCLI -s $NATS_URL bench js pub fast NAME --stream NAME --create --maxbytes $NATS_MAXBYTES --msgs N --size $SIZE --clients $CLIENTS --no-progress --batch $FAST_FLOW --max-outstanding-acks 2"
want nats-fast && show_cmd "pubduel --headless --profile NAME.toml --lanes nats --message-size $SIZE --duration ${SECS}s --warmup ${WARMUP}s --ack fast --batch 100000 --max-outstanding-acks 2 --rate 0 --concurrency $CLIENTS --max-pending $((CLIENTS * FAST_FLOW * 4))"
want kafka-async && show_cmd "java -cp '$KTOOLS_CP' org.apache.kafka.tools.ProducerPerformance --bootstrap-server $KAFKA_ADDR --topic NAME --num-records N --record-size $SIZE --throughput -1 --command-property ${KPROPS[*]} --warmup-records N*$WARMUP/$SECS"
want kafka-async && show_cmd "pubduel --headless --profile NAME.toml --lanes kafka --message-size $SIZE --duration ${SECS}s --warmup ${WARMUP}s --ack async --rate 0 --concurrency $CLIENTS --max-pending $KAFKA_MAX_PENDING"
want kafka-sync && show_cmd "java -cp '$KTOOLS_CP' org.apache.kafka.tools.ProducerPerformance --bootstrap-server $KAFKA_ADDR --topic NAME --num-records $((KAFKA_SYNC_RATE * SECS)) --record-size $SIZE --throughput $KAFKA_SYNC_RATE --command-property ${KPROPS[*]} max.in.flight.requests.per.connection=1 --warmup-records $((KAFKA_SYNC_RATE * WARMUP))"
want kafka-sync && show_cmd "pubduel --headless --profile NAME.toml --lanes kafka --message-size $SIZE --duration ${SECS}s --warmup ${WARMUP}s --ack sync --rate 0 --concurrency 1"
say "  (NAME.toml: [kafka] topic = NAME, partitions = $PARTITIONS; [nats] stream = NAME, subject = NAME, max_bytes = $maxbytes)"
say ""

for mode in $MODES; do
  case "$mode" in
    nats-async) PEER_MULTIPLE=$((CLIENTS * NATS_BATCH)) ;;
    nats-sync) PEER_MULTIPLE=1 ;;
    nats-atomic) PEER_MULTIPLE=$((CLIENTS * ATOMIC_BATCH)) ;;
    nats-fast) PEER_MULTIPLE=$((CLIENTS * FAST_FLOW)) ;;
    kafka-async) PEER_MULTIPLE=1000 ;;
    kafka-sync) PEER_MULTIPLE=1 ;;
    *) echo "peers: unknown mode $mode (nats-async nats-sync nats-atomic nats-fast kafka-async kafka-sync)" >&2; exit 2 ;;
  esac
  calibrate "$mode" || { say "  $mode: the peer's calibration run failed: skipped"; continue; }
  for ((r = 0; r < ROUNDS; r++)); do
    run_side "$mode" peer
    run_side "$mode" pubduel
    run_side "$mode" pubduel
    run_side "$mode" peer
  done
done

say ""
python3 - "$RESULTS" "$KAFKA_SYNC_RATE" <<'PY'
import sys
from statistics import mean
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
data = {}
for mode, side, _run, tput, p50 in rows:
    data.setdefault((mode, side), []).append((float(tput), float(p50)))
peers = {
    "nats-async": "nats bench js pub async",
    "nats-sync": "nats bench js pub sync",
    "nats-atomic": "nats bench js pub atomic",
    "nats-fast": "nats bench js pub fast",
    "kafka-async": "ProducerPerformance (Java)",
    "kafka-sync": f"ProducerPerformance @{sys.argv[2]}/s",
}
# (mode, metric, goal)
table = [
    ("nats-async", "msg/s", "goal >= 1.0"),
    ("nats-sync", "ack p50 us", "lower is better"),
    ("nats-sync", "msg/s", "-"),
    ("nats-atomic", "msg/s", "-"),
    ("nats-fast", "msg/s", "-"),
    ("kafka-async", "msg/s", "info: goal >= 0.95 is vs rdkafka_performance"),
    ("kafka-sync", "ack p50 us", "lower is better"),
]
fmt = "{:<12} {:<11} {:<28} {:>12} {:>12} {:>8}  {}"
print(fmt.format("mode", "metric", "peer", "pubduel", "peer value", "ratio", "goal"))
for mode, metric, goal in table:
    if mode not in peers or not any(k[0] == mode for k in data):
        continue
    i = 0 if metric == "msg/s" else 1
    p = [v[i] for v in data.get((mode, "pubduel"), [])]
    q = [v[i] for v in data.get((mode, "peer"), [])]
    pv = f"{mean(p):.0f}" if p else "n/a"
    qv = f"{mean(q):.0f}" if q else "n/a"
    ratio = f"{mean(p) / mean(q):.3f}" if p and q and mean(q) > 0 else "n/a"
    if mode == "kafka-sync" and p and q:
        # ProducerPerformance times each record with System.currentTimeMillis: +-1 ms
        lo, hi = mean(p) / (mean(q) + 1000), mean(p) / max(mean(q) - 1000, 1)
        goal += f"; peer's clock is in whole ms, so {lo:.2f} to {hi:.2f}"
    print(fmt.format(mode, metric, peers[mode], pv, qv, ratio, goal))
print("\nvalues are means over the runs above; ratio = pubduel / peer (for ack p50, below 1 means pubduel acks sooner)")
PY
