# shellcheck shell=bash
# shellcheck disable=SC2034  # PD_PID, PD_STARTED and the like are read by the scripts sourcing this
# The one place that knows how pubduel's local brokers are installed, started and waited for.
# Sourced (never run) by install-brokers.sh, brokers.sh, throwaway-brokers.sh, run.sh, test.sh and
# seed-study.sh; it defines variables and functions and runs nothing by itself.
#
# Versions: Apache Kafka $KAFKA_VERSION (default 4.4.0) and nats-server $NATS_VERSION (default
# v2.15.3); set either beforehand to pick another release (the previous pair: 4.1.1 and v2.12.3).
# Cache (the contract the Rust tests rely on too), one folder per version, so several coexist:
#   root         ${PUBDUEL_CACHE:-$HOME/.cache/pubduel}
#   Apache Kafka $root/kafka-$KAFKA_VERSION/{libs/*.jar,log4j2.properties,.done}  (from Maven Central)
#   nats-server  $root/nats-server-$NATS_VERSION/nats-server                     (go install)
#   $root/bin/nats-server: a link to the default version's, for PATH (the user-level checks put
#   $root/bin first); installs before the versioned folders kept a copy there, which is taken
#   instead of building the same version again.
# Which binaries run: Kafka from $PUBDUEL_KAFKA_HOME, else the cache of $KAFKA_VERSION; nats-server
# from $PUBDUEL_NATS_SERVER, else the cache of $NATS_VERSION, else PATH.

PD_CACHE=${PUBDUEL_CACHE:-$HOME/.cache/pubduel}
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
PD_NATS_DEFAULT=v2.15.3
NATS_VERSION=${NATS_VERSION:-$PD_NATS_DEFAULT}
case "$NATS_VERSION" in v*) ;; *) NATS_VERSION=v$NATS_VERSION ;; esac # 2.12.3 means v2.12.3
PD_LOG4J_VERSION=2.24.3
PD_KAFKA_CACHE=$PD_CACHE/kafka-$KAFKA_VERSION
PD_NATS_CACHE=$PD_CACHE/nats-server-$NATS_VERSION/nats-server
PD_NATS_LEGACY=$PD_CACHE/bin/nats-server
# Set by the functions below for their callers: PD_PID (the last process started), PD_STARTED.
PD_PID=
PD_STARTED=no
PD_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Kafka's own JVM settings (kafka-run-class.sh), minus the heap, which each caller picks.
PD_KAFKA_JVM=(-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true)

pd_say() { [ -n "${PD_QUIET:-}" ] || echo "$*" >&2; }
pd_note() { echo "$*" >&2; } # progress of a long step: shown even when quiet
pd_warn() { echo "WARNING: $*" >&2; }

# ---- where things are ------------------------------------------------------------------------

kafka_home() { echo "${PUBDUEL_KAFKA_HOME:-$PD_KAFKA_CACHE}"; }
kafka_installed() { local h; h=$(kafka_home); compgen -G "$h/libs/kafka_2.13-*.jar" >/dev/null && [ -f "$h/log4j2.properties" ]; }
# kafka_version_of HOME: the version in the name of its kafka_2.13 jar.
kafka_version_of() {
  local jar
  for jar in "$1"/libs/kafka_2.13-*.jar; do
    [ -f "$jar" ] || continue
    jar=${jar##*/kafka_2.13-}
    echo "${jar%.jar}"
    return 0
  done
  return 1
}

nats_server_bin() {
  if [ -n "${PUBDUEL_NATS_SERVER:-}" ]; then echo "$PUBDUEL_NATS_SERVER"
  elif [ -x "$PD_NATS_CACHE" ]; then echo "$PD_NATS_CACHE"
  else command -v nats-server
  fi
}
# nats_version_of BIN: v2.12.3 or the like.
nats_version_of() { "$1" --version 2>/dev/null | awk '{ print $NF }'; }
# nats_check_version BIN: warns when BIN is older than 2.12 (Debian's 2.9 differs a lot).
nats_check_version() {
  local v
  v=$(nats_version_of "$1")
  case "$v" in
    v2.1[2-9]* | v2.[2-9][0-9]* | v[3-9]*) ;;
    *) pd_warn "$1 is nats-server ${v:-of unknown version}, older than 2.12: JetStream behaves and performs" \
      "differently from a current nats-server (scripts/install-brokers.sh builds $NATS_VERSION with go)." ;;
  esac
}

# ---- installing ------------------------------------------------------------------------------

java_major() { java -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p'; }

# mvn_copy_jars DIR NAME DEPENDENCIES WHAT: fetches the <dependency> elements DEPENDENCIES and
# their runtime dependencies from Maven Central into DIR/libs (a throwaway pom named NAME in DIR);
# on failure prints the end of the log, naming WHAT, and returns 1.
mvn_copy_jars() {
  local dir=$1 name=$2 deps=$3 what=$4
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>pubduel</groupId><artifactId>$name</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    $deps
  </dependencies>
</project>
POM
  if ! mvn -B -q -f "$dir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$dir/libs" >"$dir/mvn.log" 2>&1; then
    tail -20 "$dir/mvn.log" >&2
    echo "could not fetch $what from Maven Central (log: $dir/mvn.log)" >&2
    return 1
  fi
}

# install_kafka: assembles Apache Kafka $KAFKA_VERSION from Maven Central into the cache, once.
install_kafka() {
  local dir=$PD_KAFKA_CACHE tmp
  [ -f "$dir/.done" ] && return 0
  if ! command -v java >/dev/null || ! [ "$(java_major)" -ge 17 ] 2>/dev/null; then
    echo "Apache Kafka $KAFKA_VERSION needs java 17 or later (apt-get install openjdk-17-jre-headless)" >&2
    return 1
  fi
  command -v mvn >/dev/null \
    || { echo "fetching Apache Kafka needs mvn (apt-get install maven)" >&2; return 1; }
  pd_note "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $dir (about 45 MB, a minute or so)..."
  mkdir -p "$PD_CACHE"
  tmp=$(mktemp -d "$dir.partial.XXXXXX")
  local deps="<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$PD_LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$PD_LOG4J_VERSION</version></dependency>"
  mvn_copy_jars "$tmp" kafka-broker "$deps" "Apache Kafka $KAFKA_VERSION" || return 1
  # WARN everywhere, but KafkaRaftServer at INFO: its "Kafka Server started" line says it is ready.
  cat >"$tmp/log4j2.properties" <<'LOG'
appender.c.type = Console
appender.c.name = C
appender.c.layout.type = PatternLayout
appender.c.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.c.ref = C
logger.s.name = kafka.server.KafkaRaftServer
logger.s.level = INFO
LOG
  if [ -f "$dir/.done" ]; then rm -rf "$tmp"; return 0; fi # another install finished first
  chmod 755 "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  touch "$dir/.done"
}

pd_go() { command -v go || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; }; }

# install_nats: builds nats-server $NATS_VERSION into the cache with go install; without go, or
# when that fails, falls back to Debian's (old) package, loudly.
install_nats() {
  local go log dir=${PD_NATS_CACHE%/*} tmp
  if [ -x "$PD_NATS_CACHE" ] && [ "$(nats_version_of "$PD_NATS_CACHE")" = "$NATS_VERSION" ]; then return 0; fi
  mkdir -p "$PD_CACHE"
  # An install from before the versioned folders: copied over when it is the version wanted (and
  # left where it is, for whatever still looks there).
  if [ -x "$PD_NATS_LEGACY" ] && [ "$(nats_version_of "$PD_NATS_LEGACY")" = "$NATS_VERSION" ]; then
    mkdir -p "$dir"
    cp -f "$PD_NATS_LEGACY" "$PD_NATS_CACHE.partial"
    mv -f "$PD_NATS_CACHE.partial" "$PD_NATS_CACHE"
    pd_say "copied $PD_NATS_LEGACY ($NATS_VERSION) to $PD_NATS_CACHE"
    return 0
  fi
  if go=$(pd_go); then
    pd_note "building nats-server $NATS_VERSION with go install into $dir (1-2 minutes)..."
    tmp=$(mktemp -d "$dir.partial.XXXXXX")
    log=$tmp/go.log
    if GOBIN="$tmp" "$go" install "github.com/nats-io/nats-server/v2@$NATS_VERSION" >"$log" 2>&1 \
      && [ "$(nats_version_of "$tmp/nats-server")" = "$NATS_VERSION" ]; then
      mkdir -p "$dir"
      mv -f "$tmp/nats-server" "$PD_NATS_CACHE"
      rm -rf "$tmp"
      return 0
    fi
    tail -20 "$log" >&2
    pd_warn "go install of nats-server $NATS_VERSION failed (log: $log)."
  else
    pd_warn "go is not installed, so nats-server $NATS_VERSION cannot be built."
  fi
  local other
  for other in "$PD_CACHE"/nats-server-v*/nats-server "$PD_NATS_LEGACY"; do
    [ -x "$other" ] && pd_warn "a cached nats-server of another version is there: $other" \
      "($(nats_version_of "$other")); PUBDUEL_NATS_SERVER=$other or NATS_VERSION=$(nats_version_of "$other") picks it."
  done
  pd_warn "falling back to Debian's nats-server package, which is OLD (2.9): JetStream numbers and" \
    "clustering differ from a current nats-server. Install go (https://go.dev/dl) and rerun" \
    "scripts/install-brokers.sh to get $NATS_VERSION."
  command -v nats-server >/dev/null && return 0
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq nats-server
}

# ---- processes and ports ---------------------------------------------------------------------

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # PORT [SECONDS=10]
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do port_open "$1" && return 0; sleep 0.1; done
  echo "nothing listens on port $1" >&2
  return 1
}
# http_get PORT PATH: the HTTP response (status line, headers, body) of 127.0.0.1:PORT.
http_get() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
    timeout 5 cat <&3
  ) 2>/dev/null
}
# pid_is PID TEXT...: PID is alive and its command line contains every TEXT (a pid may be reused).
pid_is() {
  local pid=$1 cmd t
  shift
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  for t in "$@"; do [[ $cmd == *"$t"* ]] || return 1; done
}
# pd_spawn LOG CMD...: starts CMD in the background, output appended to LOG; PD_PID is its pid.
# With PD_DETACH set it runs in a session of its own (setsid), so it outlives the terminal.
pd_spawn() {
  local log=$1
  shift
  if [ -n "${PD_DETACH:-}" ] && command -v setsid >/dev/null; then
    setsid "$@" >>"$log" 2>&1 </dev/null &
  else
    "$@" >>"$log" 2>&1 </dev/null &
  fi
  PD_PID=$!
}
# stop_pids SECONDS PID...: TERM, then KILL whatever still runs after SECONDS. Callers pass only
# pids they checked are theirs.
stop_pids() {
  local secs=$1 pid i left
  shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    left=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      pd_warn "pid $pid did not stop within ${secs}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

# ---- Apache Kafka ----------------------------------------------------------------------------

# kafka_cluster_id: a fresh cluster id (16 random bytes, base64url, as kafka-storage random-uuid,
# which also never starts one with "-": a command line would take it for an option).
kafka_cluster_id() {
  local id=-
  while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22); done
  echo "$id"
}

# kafka_config DIR NODE_ID PORT CONTROLLER_PORT VOTERS REPLICATION: writes DIR/server.properties for
# one KRaft node that is broker and controller, on 127.0.0.1, with the internal topics replicated
# REPLICATION times (min ISR 2 when replicated). VOTERS: 1@127.0.0.1:9093,2@... (static quorum).
kafka_config() {
  local d=$1 id=$2 port=$3 cport=$4 voters=$5 rf=$6 isr=1
  [ "$rf" -gt 1 ] && isr=2
  mkdir -p "$d"
  cat >"$d/server.properties" <<PROPS
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data
num.partitions=1
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
# A node killed and restarted is taken back once its old session lapses: 3 s, not the default 9 s.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=1000
PROPS
}

# kafka_format DIR CLUSTER_ID: formats the node's storage (every node of a cluster: the same id).
kafka_format() {
  local home
  home=$(kafka_home)
  java -Xmx256m "-Dlog4j2.configurationFile=$home/log4j2.properties" -Djava.awt.headless=true \
    -cp "$home/libs/*" kafka.tools.StorageTool format -t "$2" -c "$1/server.properties" \
    >"$1/format.log" 2>&1 && return 0
  tail -5 "$1/format.log" >&2
  echo "could not format Kafka's storage in $1" >&2
  return 1
}

# kafka_launch DIR HEAP: starts the formatted node in DIR in the background (log: DIR/kafka.log);
# PD_PID is its pid. Its command line holds kafka.Kafka and DIR/server.properties.
kafka_launch() {
  local home
  home=$(kafka_home)
  : >"$1/kafka.log"
  pd_spawn "$1/kafka.log" java "-Xms$2" "-Xmx$2" "${PD_KAFKA_JVM[@]}" \
    "-Dlog4j2.configurationFile=$home/log4j2.properties" -cp "$home/libs/*" \
    kafka.Kafka "$1/server.properties"
}

# kafka_wait DIR PORT PID SECONDS: the node says "Kafka Server started" and answers on PORT.
kafka_wait() {
  local d=$1 port=$2 pid=$3 i
  for ((i = 0; i < $4 * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$d/kafka.log" >&2
      echo "Apache Kafka in $d exited during start-up (log: $d/kafka.log)" >&2
      return 1
    fi
    grep -q "Kafka Server started" "$d/kafka.log" 2>/dev/null && port_open "$port" && return 0
    sleep 0.1
  done
  tail -20 "$d/kafka.log" >&2
  echo "Apache Kafka in $d was not ready on 127.0.0.1:$port after $4 s (log: $d/kafka.log)" >&2
  return 1
}

# ---- nats-server -----------------------------------------------------------------------------

# nats_launch DIR PORT MONITOR_PORT [ARGS...]: starts nats-server -js on 127.0.0.1:PORT, its store in
# DIR/js, monitoring on MONITOR_PORT, ARGS added (cluster settings); log DIR/nats.log; PD_PID.
nats_launch() {
  local d=$1 port=$2 mport=$3 bin
  shift 3
  bin=$(nats_server_bin) || { echo "nats-server is not installed: run scripts/install-brokers.sh" >&2; return 1; }
  mkdir -p "$d"
  : >"$d/nats.log"
  pd_spawn "$d/nats.log" "$bin" -a 127.0.0.1 -p "$port" -m "$mport" -js -sd "$d/js" "$@"
}

# nats_wait DIR PORT MONITOR_PORT PID SECONDS: answers on PORT and /healthz says ok, which in a
# cluster means JetStream has a meta leader.
nats_wait() {
  local d=$1 port=$2 mport=$3 pid=$4 i
  for ((i = 0; i < $5 * 4; i++)); do # 4 a second: each failed /healthz is a line in its log
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$d/nats.log" >&2
      echo "nats-server in $d exited during start-up (log: $d/nats.log)" >&2
      return 1
    fi
    if port_open "$port" && http_get "$mport" /healthz | head -1 | grep -q ' 200 '; then return 0; fi
    sleep 0.25
  done
  tail -20 "$d/nats.log" >&2
  http_get "$mport" /healthz | tail -1 >&2
  echo "nats-server in $d was not ready on 127.0.0.1:$port after $5 s (log: $d/nats.log)" >&2
  return 1
}

# nats_version_at PORT: the version a running NATS server announces in its INFO line.
nats_version_at() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    timeout 3 head -n 1 <&3 | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
  ) 2>/dev/null
}

# ---- brokers for a run -----------------------------------------------------------------------

# brokers_for_run: makes PUBDUEL_KAFKA and PUBDUEL_NATS point at brokers: yours when both are set,
# else whatever answers on 127.0.0.1:9092 and :4222, else one node of each from brokers.sh (then
# PD_STARTED=yes and the caller stops them with `scripts/brokers.sh stop`).
brokers_for_run() {
  PD_STARTED=no
  if [ -n "${PUBDUEL_KAFKA:-}" ] && [ -n "${PUBDUEL_NATS:-}" ]; then
    pd_say "using your brokers: PUBDUEL_KAFKA=$PUBDUEL_KAFKA PUBDUEL_NATS=$PUBDUEL_NATS"
    return 0
  fi
  local k=0 n=0
  port_open 9092 && k=1
  port_open 4222 && n=1
  if [ $k = 1 ] && [ $n = 1 ]; then
    pd_say "something already answers on 127.0.0.1:9092 and 127.0.0.1:4222: using it as Kafka and NATS"
    export PUBDUEL_KAFKA=127.0.0.1:9092 PUBDUEL_NATS=nats://127.0.0.1:4222
    return 0
  fi
  if [ $k = 1 ] || [ $n = 1 ]; then
    echo "only one of 127.0.0.1:9092 (Kafka) and 127.0.0.1:4222 (NATS) answers: stop what runs there" \
      "(scripts/brokers.sh stop, docker compose down) or set both PUBDUEL_KAFKA and PUBDUEL_NATS" >&2
    return 1
  fi
  "$PD_SCRIPTS/install-brokers.sh" --quiet || return 1
  local out
  PD_STARTED=yes # set first: an interrupted start is stopped by the caller too
  out=$("$PD_SCRIPTS/brokers.sh" start) || return 1
  eval "$(grep '^export PUBDUEL_' <<<"$out")"
}
