#!/usr/bin/env bash
# Peers: each pubduel lane against bare client benchmarks on the same broker, in the same run, and
# the ratio pubduel / peer per mode: throughput, sync ack p50, and CPU per acked message.
#   NATS:  `nats bench js pub {async,sync,atomic,fast}` from natscli v0.5.0 (the Go client; fast
#          needs nats-server 2.14+)
#   Kafka: librdkafka's own rdkafka_performance (C), built from the very librdkafka pubduel links
#          (the rdkafka-sys build of pubduel's release build); Apache Kafka's own
#          org.apache.kafka.tools.ProducerPerformance (kafka-producer-perf-test, the Java client,
#          from org.apache.kafka:kafka-tools $KAFKA_VERSION); and a bare franz-go producer
#          (benches/peers/franz, the franz-go release its go.mod names)
# Each round runs peer, pubduel, pubduel, peer; every run has a topic or stream of its own, deleted
# after it. Brokers: one Apache Kafka KRaft node and nats-server -js on free loopback ports, from
# scripts/throwaway-brokers.sh (stopped at the end). The peers are installed into the cache
# (~/.cache/pubduel) when missing: natscli with `go install` (natscli-v0.5.0/), kafka-tools with mvn
# (kafka-tools-$KAFKA_VERSION/libs), rdkafka_performance with gcc against the release build's
# librdkafka.a (rdkafka_performance-<librdkafka version>/; `cargo build --release` first), the
# franz-go producer with `go build` (franz-peer-<franz-go version>-<hash of its sources>/).
# Needs python3 (tomllib), java 17+, mvn, go, and gcc for kafka-async.
#
# CPU: every run, on both sides, runs under a small wrapper that waits for the process with wait4
# and takes its user + sys CPU (all threads, start-up and shutdown included); the `cpu us/msg`
# column is that over the messages it had acked: for pubduel the `acked` of its lane summed over
# the report's phases (warm-up included), for a peer every message of its run.
#
#   benches/peers.sh                               # ~20 min: every mode, 2 rounds of 10 s runs
#   PEERS_SECS=5 PEERS_ROUNDS=1 benches/peers.sh   # a quick look, ~8 min
#   PEERS_MODES="nats-async kafka-async" benches/peers.sh
#
# Modes (peer in brackets):
#   nats-async nats-sync nats-atomic nats-fast   [nats bench js pub async, sync, atomic, fast]
#   kafka-async        [rdkafka_performance -P, unthrottled; goals: msg/s >= 0.95, CPU <= 1.2]
#   kafka-async-java   [ProducerPerformance --throughput -1]
#   kafka-async-franz  [the franz-go producer; information only: another client library]
#   kafka-sync         [ProducerPerformance at PEERS_KAFKA_SYNC_RATE records/s, one in flight]
# pubduel runs the same command in the three kafka-async modes; each mode has runs of its own.
#
# Knobs (environment):
#   PEERS_BIN          pubduel binary (default target/release/pubduel; copied at the start, so a
#                      rebuild meanwhile does not change what runs)
#   PEERS_MODES        the modes above (all by default)
#   PEERS_SECS=10      seconds per run (pubduel: --duration; peers: message count from a calibration)
#   PEERS_WARMUP=2     pubduel --warmup; ProducerPerformance --warmup-records and the franz-go
#                      producer's -warmup of as many seconds' worth; rdkafka_performance's first as
#                      many seconds left out of msg/s and p50 (from its once-a-second lines); nats
#                      bench none. CPU per message always counts the whole run.
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
#   PEERS_KAFKA_MAX_PENDING=4096  pubduel --max-pending in the kafka-async modes, and the most
#                               rdkafka_performance (queue.buffering.max.messages) and the franz-go
#                               producer (MaxBufferedRecords) have un-acked
#   PEERS_PARTITIONS=3          partitions of every Kafka topic (pubduel's default)
#   PEERS_RDKAFKA_OUT  the out/ folder of the rdkafka-sys build to take librdkafka.a, its headers
#                      and rdkafka_performance.c from (default: the newest of PEERS_BIN's
#                      build/rdkafka-sys-*/out with the librdkafka version of Cargo.lock); only
#                      read when rdkafka_performance is not in the cache yet
#   PEERS_RDKAFKA_PROPS         librdkafka properties added (last, so they win) to
#                      rdkafka_performance's `acks=all linger.ms=5 batch.size=1000000
#                      max.in.flight.requests.per.connection=5` (pubduel's Kafka lane: its
#                      KafkaSettings defaults, batch.size librdkafka's) and
#                      `queue.buffering.max.messages=PEERS_KAFKA_MAX_PENDING
#                      sticky.partitioning.linger.ms=0` (each message to a partition of its own
#                      choosing, as pubduel's rotating keys spread them); e.g. "compression.type=lz4"
#   PEERS_RDKAFKA_LATENCY=1     rdkafka_performance -l -A FILE: each message's produce-to-delivery
#                      time into a file, read for the ack p50; it also makes the tool copy each
#                      payload, as pubduel's client does (0: neither, and no p50)
#   PEERS_KAFKA_PROPS="batch.size=1000000"  producer properties added to ProducerPerformance's
#                      `acks=all linger.ms=5` (1000000 is librdkafka's batch.size, the client under
#                      pubduel's Kafka lane; empty for the Java default of 16384)
#   PEERS_KAFKA_SYNC_RATE=200   ProducerPerformance --throughput in kafka-sync (it has no sync mode:
#                      one record at a time is approximated by a low fixed rate, max.in.flight 1)
#   PEERS_LOGS         a folder to keep every run's command line and output in, and results.tsv
#                      (mode, side, run, msg/s, ack p50 us, CPU us per acked message); default: a
#                      scratch folder, removed at the end
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
RDKAFKA_PROPS=${PEERS_RDKAFKA_PROPS:-}
RDKAFKA_LATENCY=${PEERS_RDKAFKA_LATENCY:-1}
ALL_MODES="nats-async nats-sync nats-atomic nats-fast kafka-async kafka-async-java kafka-async-franz kafka-sync"
MODES=${PEERS_MODES:-$ALL_MODES}
BIN=${PEERS_BIN:-target/release/pubduel}
NATSCLI_VERSION=v0.5.0
FRANZ_SRC=benches/peers/franz
# librdkafka's version: the part after `+` of rdkafka-sys's version in Cargo.lock (4.10.0+2.12.1)
LIBRDKAFKA_VERSION=$(awk -F'"' '$0 == "name = \"rdkafka-sys\"" { f = 1; next } f && /^version = / { sub(/.*[+]/, "", $2); print $2; exit }' Cargo.lock)
FRANZ_VERSION=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/twmb/franz-go") { print $(i + 1); exit } }' "$FRANZ_SRC/go.mod")

[ "$WARMUP" -lt "$SECS" ] || { echo "peers: PEERS_WARMUP ($WARMUP) must be below PEERS_SECS ($SECS)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "peers: no pubduel at $BIN: build first (cargo build --release) or set PEERS_BIN" >&2; exit 2; }
for mode in $MODES; do
  [[ " $ALL_MODES " == *" $mode "* ]] || { echo "peers: unknown mode $mode ($ALL_MODES)" >&2; exit 2; }
done
for tool in python3 java mvn; do
  command -v "$tool" >/dev/null || { echo "peers: $tool is not installed" >&2; exit 1; }
done
[ -n "$LIBRDKAFKA_VERSION" ] || { echo "peers: no rdkafka-sys in Cargo.lock" >&2; exit 1; }
BIN_BUILD=$(dirname "$BIN")/build # the cargo build folder next to the binary

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

RKPERF_DIR=$PD_CACHE/rdkafka_performance-$LIBRDKAFKA_VERSION
RKPERF=$RKPERF_DIR/rdkafka_performance

# rdkafka_out: the rdkafka-sys out/ folder to build rdkafka_performance from: PEERS_RDKAFKA_OUT, or
# the newest $BIN_BUILD/rdkafka-sys-*/out holding a librdkafka.a of $LIBRDKAFKA_VERSION.
rdkafka_out() {
  local d best='' t newest=0
  if [ -n "${PEERS_RDKAFKA_OUT:-}" ]; then
    [ -f "$PEERS_RDKAFKA_OUT/src/librdkafka.a" ] && { echo "$PEERS_RDKAFKA_OUT"; return 0; }
    echo "peers: PEERS_RDKAFKA_OUT=$PEERS_RDKAFKA_OUT has no src/librdkafka.a" >&2
    return 1
  fi
  for d in "$BIN_BUILD"/rdkafka-sys-*/out; do
    if ! [ -f "$d/src/librdkafka.a" ] || ! [ -f "$d/src/rdkafka.h" ] || ! [ -f "$d/Makefile.config" ]; then continue; fi
    grep -Eq "^RDKAFKA_VERSION_STR=[[:space:]]*$LIBRDKAFKA_VERSION\$" "$d/Makefile.config" || continue
    t=$(stat -c %Y "$d/src/librdkafka.a")
    [ "$t" -gt "$newest" ] && { best=$d; newest=$t; }
  done
  [ -n "$best" ] || { echo "peers: no librdkafka $LIBRDKAFKA_VERSION build in $BIN_BUILD/rdkafka-sys-*/out: run cargo build --release first (or set PEERS_RDKAFKA_OUT to an rdkafka-sys out/ folder)" >&2; return 1; }
  echo "$best"
}

# install_rdkafka_performance: librdkafka's examples/rdkafka_performance.c, compiled with gcc and
# linked against the static librdkafka of pubduel's release build, with the system libraries that
# build's configure chose (LIBS in its Makefile.config: -lssl -lcrypto -lz -lm -ldl -lpthread -lrt
# for pubduel's features, ssl and libz), into $RKPERF_DIR, once.
install_rdkafka_performance() {
  local out tmp libs
  [ -x "$RKPERF" ] && return 0
  command -v gcc >/dev/null || { echo "peers: gcc is needed to build rdkafka_performance" >&2; return 1; }
  out=$(rdkafka_out) || return 1
  out=$(cd "$out" && pwd) # the build runs in a scratch folder
  [ -f "$out/examples/rdkafka_performance.c" ] || { echo "peers: no examples/rdkafka_performance.c in $out" >&2; return 1; }
  libs=$(sed -n 's/^LIBS+=[[:space:]]*//p' "$out/Makefile.config" | tr '\n' ' ')
  local cmd=(gcc -O2 -g -o rdkafka_performance "$out/examples/rdkafka_performance.c" -I"$out/src" -I"$out"
    "$out/src/librdkafka.a")
  read -r -a extra <<<"$libs"
  cmd+=("${extra[@]}")
  pd_note "building rdkafka_performance (librdkafka $LIBRDKAFKA_VERSION, from $out) into $RKPERF_DIR..."
  mkdir -p "$PD_CACHE"
  tmp=$(mktemp -d "$RKPERF_DIR.partial.XXXXXX")
  echo "${cmd[*]}" >"$tmp/build.txt"
  if ! (cd "$tmp" && "${cmd[@]}") >"$tmp/gcc.log" 2>&1; then
    tail -20 "$tmp/gcc.log" >&2
    echo "peers: building rdkafka_performance failed (log: $tmp/gcc.log)" >&2
    return 1
  fi
  [ -x "$RKPERF" ] && { rm -rf "$tmp"; return 0; } # another build finished first
  chmod 755 "$tmp"
  rm -rf "$RKPERF_DIR"
  mv "$tmp" "$RKPERF_DIR"
}

FRANZ_HASH=$(cat "$FRANZ_SRC/go.mod" "$FRANZ_SRC/go.sum" "$FRANZ_SRC/main.go" | sha256sum | cut -c1-12)
FRANZ_DIR=$PD_CACHE/franz-peer-$FRANZ_VERSION-$FRANZ_HASH
FRANZ=$FRANZ_DIR/franz-peer

# install_franz: the franz-go producer of $FRANZ_SRC, built with go build into $FRANZ_DIR, once per
# version of its sources.
install_franz() {
  local go tmp src
  [ -x "$FRANZ" ] && return 0
  go=$(pd_go) || { echo "peers: go is needed to build the franz-go producer (https://go.dev/dl)" >&2; return 1; }
  pd_note "building the franz-go $FRANZ_VERSION producer with go build into $FRANZ_DIR (a minute)..."
  mkdir -p "$PD_CACHE"
  tmp=$(mktemp -d "$FRANZ_DIR.partial.XXXXXX")
  src=$(pwd)/$FRANZ_SRC
  if ! (cd "$src" && GOFLAGS="-mod=mod -buildvcs=false" "$go" build -o "$tmp/franz-peer" .) >"$tmp/go.log" 2>&1; then
    tail -20 "$tmp/go.log" >&2
    echo "peers: go build of the franz-go producer failed (log: $tmp/go.log)" >&2
    return 1
  fi
  [ -x "$FRANZ" ] && { rm -rf "$tmp"; return 0; }
  chmod 755 "$tmp"
  rm -rf "$FRANZ_DIR"
  mv "$tmp" "$FRANZ_DIR"
}

want() { [[ " $MODES " == *" $1 "* ]]; }
want_nats() { [[ " $MODES " == *" nats-"* ]]; }
want_kafka() { [[ " $MODES " == *" kafka-"* ]]; }
want_nats && { install_natscli || exit 1; }
want_kafka && { install_kafka_tools || exit 1; } # its TopicCommand makes every Kafka mode's topics
want kafka-async && { install_rdkafka_performance || exit 1; }
want kafka-async-franz && { install_franz || exit 1; }
start_throwaway_brokers || { echo "peers: the brokers did not start" >&2; exit 1; }
NATS_URL=$PUBDUEL_NATS
KAFKA_ADDR=$PUBDUEL_KAFKA

# NATS_MAXBYTES in bytes, for pubduel's profile (nats bench takes "4GB" as it is).
maxbytes=$(python3 -c '
import re, sys
m = re.fullmatch(r"(\d+)\s*([KMGT]?)B?", sys.argv[1].strip(), re.I)
if not m: sys.exit("peers: PEERS_NATS_MAXBYTES: give bytes or a size like 4GB")
print(int(m[1]) * 1024 ** "_KMGT".index((m[2] or "_").upper()))' "$NATS_MAXBYTES")

RUN=0
LOGS=${PEERS_LOGS:-$TMP/logs}
mkdir -p "$LOGS"
RESULTS=$LOGS/results.tsv
printf '# mode\tside\trun\tmsgs_per_s\tack_p50_us\tcpu_us_per_msg\tround\n' >"$RESULTS"

say() { printf '%s\n' "$*"; }
show_cmd() { say "  \$ $*"; }
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# cpu_of FILE CMD...: runs CMD and writes to FILE the user + sys CPU seconds it used, with all its
# threads and the children it waited for (wait4's rusage; `timeout` waits for its command); returns
# CMD's status. Ctrl-C reaches CMD, and the wrapper waits for it.
cpu_of() {
  python3 -c '
import os, signal, subprocess, sys
try:
    p = subprocess.Popen(sys.argv[2:])
except OSError as e:
    sys.exit(f"peers: {sys.argv[2]}: {e}")
signal.signal(signal.SIGINT, signal.SIG_IGN)
_, status, ru = os.wait4(p.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{ru.ru_utime + ru.ru_stime:.6f}\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)' "$@"
}

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
# stream; prints "msgs/s p50_us MSGS" (p50 is per publish in sync, per window or batch otherwise)
# and writes its CPU seconds to $TMP/STREAM.cpu.
nats_bench() {
  local mode=$1 stream=$2 subject=$3 msgs=$4 clients=$5 log
  shift 5
  log=$LOGS/$stream.log
  local cmd=("$NATSCLI" --no-context -s "$NATS_URL" bench js pub "$mode" "$subject" --stream "$stream"
    --create --maxbytes "$NATS_MAXBYTES" --msgs "$msgs" --size "$SIZE" --clients "$clients" --no-progress "$@")
  echo "${cmd[*]}" >"$log"
  if ! cpu_of "$TMP/$stream.cpu" timeout $((SECS * 4 + 60)) "${cmd[@]}" >>"$log" 2>&1; then
    drop_stream "$stream"
    tail -5 "$log" >&2
    return 1
  fi
  drop_stream "$stream"
  echo "$(nats_bench_parse "$log") $msgs"
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
# topic of PARTITIONS partitions; prints "records/s p50_us RECORDS" and writes its CPU seconds to
# $TMP/TOPIC.cpu.
prodperf() {
  local topic=$1 n=$2 warm=$3 tput=$4 log
  shift 4
  log=$LOGS/$topic.log
  create_topic "$topic" || { echo "peers: could not create topic $topic" >&2; return 1; }
  local cmd=(java -cp "$KTOOLS_CP" org.apache.kafka.tools.ProducerPerformance --bootstrap-server "$KAFKA_ADDR"
    --topic "$topic" --num-records "$n" --record-size "$SIZE" --throughput "$tput" --command-property "$@")
  [ "$warm" -gt 0 ] && cmd+=(--warmup-records "$warm")
  echo "${cmd[*]}" >"$log"
  if ! cpu_of "$TMP/$topic.cpu" timeout $((SECS * 4 + 60)) "${cmd[@]}" >>"$log" 2>&1; then
    drop_topic "$topic"
    tail -5 "$log" >&2
    return 1
  fi
  drop_topic "$topic"
  echo "$(prodperf_parse "$log") $n"
}

# rdkperf_parse LOG [LATENCIES]: "msgs/s p50_us delivered" from rdkafka_performance's output. It
# prints a line a second, "% N messages produced (B bytes), D delivered (offset O, F failed) in T ms:
# R msgs/s ...", counted from its start, the last one when every delivery is in. It has no warm-up
# of its own, so, like pubduel, its first WARMUP seconds are left out: msgs/s is the deliveries after
# the first line at WARMUP s or later over the time from there to the last (the last line's R when
# the run was shorter), and p50 the median of the latencies (microseconds, one a line, in delivery
# order) it wrote with -l -A, after as many.
rdkperf_parse() {
  python3 - "$WARMUP" "$@" <<'PY'
import re, sys
warm_ms = float(sys.argv[1]) * 1000
pat = re.compile(r"messages produced .*, (\d+) delivered \(offset -?\d+, (\d+) failed\) in (\d+)ms: (\d+) msgs/s")
lines = [m for m in map(pat.search, open(sys.argv[2])) if m]
if not lines or int(lines[-1][2]) > 0:
    sys.exit(1)
end = lines[-1]
delivered, t_end = int(end[1]), int(end[3])
rate, skip = float(end[4]), 0
w = next((m for m in lines[:-1] if int(m[3]) >= warm_ms), None)
if w and t_end > int(w[3]):
    skip = int(w[1])
    rate = (delivered - skip) * 1000 / (t_end - int(w[3]))
p50 = "nan"
if len(sys.argv) > 3:
    with open(sys.argv[3]) as f:
        lat = sorted(int(x) for i, x in enumerate(f) if i >= skip and x.strip())
    if lat:
        p50 = lat[len(lat) // 2]
print(f"{rate:.1f}", p50, delivered)
PY
}

# rdkperf TOPIC MSGS: one rdkafka_performance producer run of MSGS messages on a new topic of
# PARTITIONS partitions; prints "msgs/s p50_us delivered" and writes its CPU seconds to
# $TMP/TOPIC.cpu.
rdkperf() {
  local topic=$1 n=$2 log lat=()
  log=$LOGS/$topic.log
  [ "$RDKAFKA_LATENCY" = 1 ] && lat=("$TMP/$topic.lat")
  create_topic "$topic" || { echo "peers: could not create topic $topic" >&2; return 1; }
  local cmd=("$RKPERF" -P -t "$topic" -b "$KAFKA_ADDR" -s "$SIZE" -c "$n" "${RKPERF_ARGS[@]}")
  [ "$RDKAFKA_LATENCY" = 1 ] && cmd+=(-l -A "${lat[0]}")
  echo "${cmd[*]}" >"$log"
  if ! cpu_of "$TMP/$topic.cpu" timeout $((SECS * 4 + 60)) "${cmd[@]}" >>"$log" 2>&1; then
    drop_topic "$topic"
    rm -f "${lat[@]}"
    tail -5 "$log" >&2
    return 1
  fi
  drop_topic "$topic"
  local out=0
  rdkperf_parse "$log" "${lat[@]}" || out=1
  rm -f "${lat[@]}"
  return $out
}

# franz_parse LOG: "msgs/s p50_us acked" from the franz-go producer's summary line.
franz_parse() {
  python3 - "$1" <<'PY'
import re, sys
m = None
for l in open(sys.argv[1]):
    m = re.search(r"franz: (\d+) acked, (\d+) errors, ([\d.]+) msgs/s, ack p50 ([\d.]+) us", l) or m
if not m or int(m[2]) > 0:
    sys.exit(1)
print(m[3], m[4], m[1])
PY
}

# franz TOPIC RECORDS WARMUP_RECORDS: one run of the franz-go producer on a new topic of PARTITIONS
# partitions; prints "msgs/s p50_us acked" and writes its CPU seconds to $TMP/TOPIC.cpu.
franz() {
  local topic=$1 n=$2 warm=$3 log
  log=$LOGS/$topic.log
  create_topic "$topic" || { echo "peers: could not create topic $topic" >&2; return 1; }
  local cmd=("$FRANZ" -brokers "$KAFKA_ADDR" -topic "$topic" -n "$n" -warmup "$warm" -size "$SIZE" "${FRANZ_ARGS[@]}")
  echo "${cmd[*]}" >"$log"
  if ! cpu_of "$TMP/$topic.cpu" timeout $((SECS * 4 + 60)) "${cmd[@]}" >>"$log" 2>&1; then
    drop_topic "$topic"
    tail -5 "$log" >&2
    return 1
  fi
  drop_topic "$topic"
  franz_parse "$log"
}

# ---- pubduel ---------------------------------------------------------------------------------

# pubduel LANE NAME ARGS...: one headless run on its own topic or stream (NAME), dropped after;
# prints "msgs/s ack_p50_us acked" from its report (acked: the lane's over every phase, warm-up
# included, as its CPU is the whole process's) and writes its CPU seconds to $TMP/NAME.cpu.
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
  cpu_of "$TMP/$name.cpu" timeout $((SECS + 90)) "${cmd[@]}" >>"$log" 2>&1 || ok=0
  if [ "$lane" = nats ]; then drop_stream "$name"; else drop_topic "$name"; fi
  [ $ok = 1 ] || { tail -5 "$log" >&2; return 1; }
  python3 - "$report" "$lane" <<'PY'
import sys, tomllib
r = tomllib.load(open(sys.argv[1], "rb"))
ls = [l for p in r["phases"] for l in p["lanes"] if l["name"] == sys.argv[2] and not l.get("warmup_only")]
l = ls[0]
acked = sum(x["acked"] for p in r["phases"] for x in p["lanes"] if x["name"] == sys.argv[2])
print(l["throughput"], l["stages"]["ack"]["p50_us"], acked)
PY
}

# ---- the rounds ------------------------------------------------------------------------------

# run_side MODE SIDE: one run of MODE by SIDE (peer or pubduel), recorded.
run_side() {
  local mode=$1 side=$2 out name tput p50 acked cpu_s cpu f
  RUN=$((RUN + 1))
  name="peers_${mode//-/_}_${side}_$RUN"
  if [ "$side" = peer ]; then out=$(peer_"${mode//-/_}" "$name") || out=
  else out=$(pubduel_"${mode//-/_}" "$name") || out=; fi
  # the topic's name (Kafka) has dashes where the stream's (NATS) has underscores
  cpu_s=
  for f in "$TMP/$name.cpu" "$TMP/${name//_/-}.cpu"; do
    [ -f "$f" ] && { read -r cpu_s <"$f"; rm -f "$f"; }
  done
  if [ -z "$out" ]; then
    printf '  %-17s %-8s run %2d: failed (log: %s)\n' "$mode" "$side" "$RUN" "$LOGS/$name.log"
    return 0
  fi
  read -r tput p50 acked <<<"$out"
  cpu=$(awk -v c="${cpu_s:-nan}" -v n="${acked:-0}" 'BEGIN { if (c == "nan" || n <= 0) print "nan"; else printf "%.3f", c * 1e6 / n }')
  record "$mode" "$side" "$RUN" "$tput" "$p50" "$cpu" "$ROUND"
  local note=
  if [ "$side" = peer ] && [ "$mode" != kafka-sync ]; then
    note=$(awk -v n="$PEER_MSGS" -v r="$tput" 'BEGIN { printf "  (%d messages, ~%.1f s)", n, n / r }')
    # the next peer run of this mode sized on this one's rate: a busy machine moves it a lot
    PEER_MSGS=$(count_for "$tput" "$PEER_MULTIPLE" "$SECS")
  fi
  printf '  %-17s %-8s run %2d: %10.0f msg/s   p50 %8.0f us   cpu %7.2f us/msg%s\n' \
    "$mode" "$side" "$RUN" "$tput" "$p50" "$cpu" "$note"
}

# peer messages for about SECS seconds at RATE msg/s, rounded up to a multiple of $2.
count_for() { python3 -c 'import math, sys; r, m, s = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]); print(max(m, math.ceil(r * s / m) * m))' "$1" "$2" "$3"; }

# calibrate MODE: a short peer run, not recorded, that warms up broker and client and sets PEER_MSGS
# so that the peer's next run lasts about SECS seconds (each peer run then sizes the next one);
# kafka-sync runs at a fixed rate, so there it is a warm-up only.
calibrate() {
  local mode=$1 out rate
  RUN=$((RUN + 1))
  local name="peers_${mode//-/_}_calibrate_$RUN"
  out=$(peer_"${mode//-/_}" "$name" calibrate) || out=
  rm -f "$TMP/$name.cpu" "$TMP/${name//_/-}.cpu"
  [ -n "$out" ] || return 1
  rate=${out%% *}
  if [ "$mode" = kafka-sync ]; then # a fixed rate: only a warm-up
    printf '  %-17s %-8s warm-up run: %.0f msg/s\n' "$mode" peer "$rate"
    return 0
  fi
  PEER_MSGS=$(count_for "$rate" "$PEER_MULTIPLE" "$SECS")
  printf '  %-17s %-8s calibration: %.0f msg/s, so %s messages a run\n' "$mode" peer "$rate" "$PEER_MSGS"
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
# Kafka: unthrottled rdkafka_performance (one thread, asynchronous produce calls, polling for
# delivery reports every 1000 messages and while the queue is full); the settings of pubduel's Kafka
# lane, the same most un-acked as pubduel's max-pending, and a partition per message.
RKPERF_ARGS=()
read -r -a extra <<<"$RDKAFKA_PROPS"
for prop in acks=all linger.ms=5 batch.size=1000000 max.in.flight.requests.per.connection=5 \
  "queue.buffering.max.messages=$KAFKA_MAX_PENDING" sticky.partitioning.linger.ms=0 "${extra[@]}"; do
  RKPERF_ARGS+=(-X "$prop")
done
peer_kafka_async() {
  local n=$PEER_MSGS
  [ "${2:-}" = calibrate ] && n=1000000
  rdkperf "${1//_/-}" "$n"
}
pubduel_kafka_async() { pubduel kafka "${1//_/-}" --ack async --rate 0 --concurrency "$CLIENTS" --max-pending "$KAFKA_MAX_PENDING"; }
# Kafka: unthrottled ProducerPerformance (one thread, asynchronous sends), warm-up records left out.
KPROPS=(acks=all linger.ms=5)
read -r -a extra <<<"$KAFKA_PROPS"
KPROPS+=("${extra[@]}")
peer_kafka_async_java() {
  local n=$PEER_MSGS warm=$((PEER_MSGS * WARMUP / SECS))
  # calibration: the rate of the second half, once the JVM has warmed up
  [ "${2:-}" = calibrate ] && { n=1000000; warm=500000; }
  prodperf "${1//_/-}" "$n" "$warm" -1 "${KPROPS[@]}"
}
pubduel_kafka_async_java() { pubduel_kafka_async "$@"; }
# Kafka: the franz-go producer (one goroutine, asynchronous produces), pubduel's settings where
# franz-go has them: acks=all, idempotence off, linger 5 ms, batches up to 1000000 bytes, no
# compression (franz-go's default is snappy), 5 requests in flight, the same most un-acked, 64
# rotating keys.
FRANZ_ARGS=(-linger 5ms -batch-bytes 1000000 -max-inflight 5 -max-buffered "$KAFKA_MAX_PENDING" -keys 64)
peer_kafka_async_franz() {
  local n=$PEER_MSGS warm=$((PEER_MSGS * WARMUP / SECS))
  [ "${2:-}" = calibrate ] && { n=500000; warm=250000; }
  franz "${1//_/-}" "$n" "$warm"
}
pubduel_kafka_async_franz() { pubduel_kafka_async "$@"; }
# Kafka "sync": ProducerPerformance at KAFKA_SYNC_RATE records/s, one request in flight.
peer_kafka_sync() {
  local n=$((KAFKA_SYNC_RATE * SECS)) warm=$((KAFKA_SYNC_RATE * WARMUP))
  [ "${2:-}" = calibrate ] && { n=$((KAFKA_SYNC_RATE * 2)); warm=0; }
  prodperf "${1//_/-}" "$n" "$warm" "$KAFKA_SYNC_RATE" "${KPROPS[@]}" max.in.flight.requests.per.connection=1
}
pubduel_kafka_sync() { pubduel kafka "${1//_/-}" --ack sync --rate 0 --concurrency 1; }

kversion=$(kafka_version_of "$(kafka_home)")
nversion=$(nats_version_of "$(nats_server_bin)")
peer_names=()
want_nats && peer_names+=("natscli $NATSCLI_VERSION")
want kafka-async && peer_names+=("rdkafka_performance (librdkafka $LIBRDKAFKA_VERSION)")
{ want kafka-async-java || want kafka-sync; } && peer_names+=("kafka-tools $kversion ProducerPerformance")
want kafka-async-franz && peer_names+=("franz-go $FRANZ_VERSION")
peer_list=$(printf '%s, ' "${peer_names[@]}")
say "peers: pubduel $("$BIN" --version | awk '{ print $NF }') against ${peer_list%, }"
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
lat_args=
[ "$RDKAFKA_LATENCY" = 1 ] && lat_args=" -l -A NAME.lat"
want kafka-async && show_cmd "$RKPERF -P -t NAME -b $KAFKA_ADDR -s $SIZE -c N ${RKPERF_ARGS[*]}$lat_args"
want kafka-async-java && show_cmd "java -cp '$KTOOLS_CP' org.apache.kafka.tools.ProducerPerformance --bootstrap-server $KAFKA_ADDR --topic NAME --num-records N --record-size $SIZE --throughput -1 --command-property ${KPROPS[*]} --warmup-records N*$WARMUP/$SECS"
want kafka-async-franz && show_cmd "$FRANZ -brokers $KAFKA_ADDR -topic NAME -n N -warmup N*$WARMUP/$SECS -size $SIZE ${FRANZ_ARGS[*]}"
{ want kafka-async || want kafka-async-java || want kafka-async-franz; } && show_cmd "pubduel --headless --profile NAME.toml --lanes kafka --message-size $SIZE --duration ${SECS}s --warmup ${WARMUP}s --ack async --rate 0 --concurrency $CLIENTS --max-pending $KAFKA_MAX_PENDING"
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
    kafka-async | kafka-async-java | kafka-async-franz) PEER_MULTIPLE=1000 ;;
    kafka-sync) PEER_MULTIPLE=1 ;;
  esac
  calibrate "$mode" || { say "  $mode: the peer's calibration run failed: skipped"; continue; }
  for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    run_side "$mode" peer
    run_side "$mode" pubduel
    run_side "$mode" pubduel
    run_side "$mode" peer
  done
done

say ""
python3 - "$RESULTS" "$KAFKA_SYNC_RATE" "$LIBRDKAFKA_VERSION" "$FRANZ_VERSION" <<'PY'
import math, sys
from statistics import mean, median
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
data, rounds = {}, {}
for mode, side, _run, tput, p50, cpu, rnd in rows:
    data.setdefault((mode, side), []).append((float(tput), float(p50), float(cpu)))
    rounds.setdefault((mode, rnd, side), []).append((float(tput), float(p50), float(cpu)))
peers = {
    "nats-async": "nats bench js pub async",
    "nats-sync": "nats bench js pub sync",
    "nats-atomic": "nats bench js pub atomic",
    "nats-fast": "nats bench js pub fast",
    "kafka-async": f"rdkafka_performance {sys.argv[3]}",
    "kafka-async-java": "ProducerPerformance (Java)",
    "kafka-async-franz": f"franz-go {sys.argv[4]}",
    "kafka-sync": f"ProducerPerformance @{sys.argv[2]}/s",
}
OTHER = "info: another client library on this machine"
JAVA = "info: the Java client"
# (mode, metric, goal)
table = [
    ("nats-async", "msg/s", "goal >= 1.0"),
    ("nats-async", "cpu us/msg", "goal <= 1.2"),
    ("nats-sync", "ack p50 us", "lower is better"),
    ("nats-sync", "msg/s", "-"),
    ("nats-sync", "cpu us/msg", "goal <= 1.2"),
    ("nats-atomic", "msg/s", "-"),
    ("nats-atomic", "cpu us/msg", "goal <= 1.2"),
    ("nats-fast", "msg/s", "-"),
    ("nats-fast", "cpu us/msg", "goal <= 1.2"),
    ("kafka-async", "msg/s", "goal >= 0.95"),
    ("kafka-async", "cpu us/msg", "goal <= 1.2"),
    ("kafka-async-java", "msg/s", JAVA),
    ("kafka-async-java", "cpu us/msg", JAVA + "; its JVM's start-up, JIT and GC included"),
    ("kafka-async-franz", "msg/s", OTHER),
    ("kafka-async-franz", "cpu us/msg", OTHER),
    ("kafka-sync", "ack p50 us", "lower is better"),
    ("kafka-sync", "cpu us/msg", "info: a JVM paced at a fixed rate"),
]
METRIC = {"msg/s": 0, "ack p50 us": 1, "cpu us/msg": 2}
def avg(vals):
    vals = [v for v in vals if not math.isnan(v)]
    return mean(vals) if vals else None
def show(v, metric):
    return "n/a" if v is None else f"{v:.2f}" if metric == "cpu us/msg" else f"{v:.0f}"
def per_round(mode, i):
    """Each round's ratio (its pubduel runs against its peer runs, side by side in time)."""
    out = []
    for rnd in sorted({k[1] for k in rounds if k[0] == mode}, key=int):
        p = avg([v[i] for v in rounds.get((mode, rnd, "pubduel"), [])])
        q = avg([v[i] for v in rounds.get((mode, rnd, "peer"), [])])
        if p is not None and q:
            out.append(p / q)
    return out
def spread(ratios):
    if len(ratios) < 2:
        return "-"
    return f"{median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
fmt = "{:<17} {:<10} {:<28} {:>10} {:>10} {:>7} {:>17}  {}"
print(fmt.format("mode", "metric", "peer", "pubduel", "peer value", "ratio", "rounds", "goal"))
for mode, metric, goal in table:
    if mode not in peers or not any(k[0] == mode for k in data):
        continue
    i = METRIC[metric]
    p = avg([v[i] for v in data.get((mode, "pubduel"), [])])
    q = avg([v[i] for v in data.get((mode, "peer"), [])])
    ratio = f"{p / q:.3f}" if p is not None and q else "n/a"
    if mode == "kafka-sync" and metric == "ack p50 us" and p is not None and q is not None:
        # ProducerPerformance times each record with System.currentTimeMillis: +-1 ms
        lo, hi = p / (q + 1000), p / max(q - 1000, 1)
        goal += f"; peer's clock is in whole ms, so {lo:.2f} to {hi:.2f}"
    rs = spread(per_round(mode, i))
    print(fmt.format(mode, metric, peers[mode], show(p, metric), show(q, metric), ratio, rs, goal))
print("\nvalues are means over the runs above; ratio = pubduel / peer (for ack p50 and cpu us/msg,"
      "\nbelow 1 means pubduel acks sooner or spends less); rounds = the ratio of each round alone"
      "\n(its peer-pubduel-pubduel-peer runs, side by side in time): median (lowest-highest);"
      "\ncpu us/msg = the process's user + sys CPU over the messages it had acked, start-up and"
      "\nwarm-up included")
PY
