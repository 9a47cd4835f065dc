# shellcheck shell=bash
# Idempotent provisioning of the servers ChatFlow's tests run against.
# Sourced by scripts/test.sh. Each `ensure_*` function installs what is
# missing, starts what is not running (recording it in STARTED_PIDS or
# STARTED_SERVICES so the caller can stop it), and probes readiness.

CHATFLOW_CACHE=${CHATFLOW_CACHE:-$HOME/.cache/chatflow}
TOOLS_ROOT=$CHATFLOW_CACHE/tools
STARTED_PIDS=()
STARTED_SERVICES=()
APT_UPDATED=0

log() { printf '==> %s\n' "$*" >&2; }

# True when something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Probes host:port until it answers or the deadline (seconds) passes.
wait_for_port() {
  local host=$1 port=$2 name=$3 deadline=$((SECONDS + ${4:-60}))
  until port_open "$host" "$port"; do
    if ((SECONDS >= deadline)); then
      log "$name did not open $host:$port in time"
      return 1
    fi
    sleep 0.2
  done
  log "$name is ready on $host:$port"
}

# Installs Debian packages that are not installed yet.
apt_ensure() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  if ((APT_UPDATED == 0)); then
    $sudo apt-get update -qq
    APT_UPDATED=1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_build_tools() {
  # rdkafka's bundled librdkafka needs cmake, a C++ compiler and libcurl;
  # clang + mold make linking the many test binaries much faster.
  apt_ensure cmake pkg-config g++ libcurl4-openssl-dev libssl-dev clang mold
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=clang
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold"
  command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
}

ensure_postgres() {
  export CHATFLOW_TEST_POSTGRES_URL=${CHATFLOW_TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/test}
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      apt_ensure postgresql
      # A fresh cluster authenticates TCP clients by password: give the
      # superuser the one the test URL carries.
      local fresh=1
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    STARTED_SERVICES+=("postgres:$version")
    wait_for_port 127.0.0.1 5432 PostgreSQL 60
    if [[ ${fresh:-0} == 1 ]]; then
      su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
    fi
  fi
  if ! psql "${CHATFLOW_TEST_POSTGRES_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    psql "${CHATFLOW_TEST_POSTGRES_URL%/*}/postgres" -qc "CREATE DATABASE test"
  fi
  # Schemas left by earlier runs (each test makes its own `t_<uuid>`).
  PGOPTIONS='-c client_min_messages=warning' psql "$CHATFLOW_TEST_POSTGRES_URL" -qtAc \
    "SELECT 'DROP SCHEMA \"' || nspname || '\" CASCADE;' FROM pg_namespace WHERE nspname LIKE 't\\_%'" \
    | PGOPTIONS='-c client_min_messages=warning' psql "$CHATFLOW_TEST_POSTGRES_URL" -q >/dev/null
}

ensure_redis() {
  export CHATFLOW_TEST_REDIS_URL=${CHATFLOW_TEST_REDIS_URL:-redis://127.0.0.1:6379}
  port_open 127.0.0.1 6379 && return 0
  command -v redis-server >/dev/null || apt_ensure redis-server
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  STARTED_SERVICES+=("redis")
  wait_for_port 127.0.0.1 6379 Redis 30
}

# The Kafka-compatible broker (see shared INFRA notes): built once from
# crates.io into the cache, started in a directory of its own.
ensure_kafka() {
  export CHATFLOW_TEST_KAFKA_URL=${CHATFLOW_TEST_KAFKA_URL:-kafka://127.0.0.1:9092}
  port_open 127.0.0.1 9092 && return 0
  local bin=$TOOLS_ROOT/bin/nisshi
  if [[ ! -x $bin ]]; then
    log "installing the nisshi broker (first run only, ~12 min on 2 cores)"
    cargo install nisshi --version 0.7.0-pre.2 --locked --features dynostore,postgres \
      --root "$TOOLS_ROOT" --target-dir "$CHATFLOW_CACHE/tool-build"
  fi
  local dir
  dir=$(mktemp -d)
  log "starting nisshi in $dir"
  (cd "$dir" && exec "$bin" broker --listener-url tcp://127.0.0.1:9092 \
    --advertised-listener-url tcp://127.0.0.1:9092 --storage-engine memory://nisshi/ \
    >"$dir/nisshi.log" 2>&1) &
  STARTED_PIDS+=($!)
  wait_for_port 127.0.0.1 9092 nisshi 60
}

# Stops everything this run started, newest first.
stop_started() {
  local pid service
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null && { wait "$pid" 2>/dev/null || true; }
  done
  for service in "${STARTED_SERVICES[@]}"; do
    case $service in
      postgres:*) pg_ctlcluster --skip-systemctl-redirect "${service#postgres:}" main stop || true ;;
      redis) redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true ;;
    esac
  done
}

# DynamoDB Local (AWS's own engine) from the npm package that ships it; needs Java 17.
ensure_dynamodb() {
  export CHATFLOW_TEST_DYNAMODB_URL=${CHATFLOW_TEST_DYNAMODB_URL:-dynamodb://127.0.0.1:8000}
  local dir=$TOOLS_ROOT/dynamodb-local
  export CHATFLOW_DYNAMODB_LOCAL_DIR=$dir/package/emulator
  command -v java >/dev/null || apt_ensure openjdk-17-jre-headless
  if [[ ! -f $CHATFLOW_DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar ]]; then
    command -v npm >/dev/null || apt_ensure npm
    log "installing DynamoDB Local (npm amplify-dynamodb-simulator)"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent amplify-dynamodb-simulator >/dev/null && tar xzf amplify-dynamodb-simulator-*.tgz)
  fi
  port_open 127.0.0.1 8000 && return 0
  log "starting DynamoDB Local"
  (cd "$CHATFLOW_DYNAMODB_LOCAL_DIR" && exec java -Djava.library.path=./DynamoDBLocal_lib \
    -jar DynamoDBLocal.jar -inMemory -sharedDb -disableTelemetry -port 8000 \
    >"$CHATFLOW_CACHE/dynamodb-local.log" 2>&1) &
  STARTED_PIDS+=($!)
  wait_for_port 127.0.0.1 8000 "DynamoDB Local" 90
}

# An S3 server on a local directory (s3s-fs, from crates.io), with SigV4 checks.
ensure_s3() {
  export CHATFLOW_S3S_FS_BIN=$TOOLS_ROOT/bin/s3s-fs
  export CHATFLOW_TEST_S3_ENDPOINT=${CHATFLOW_TEST_S3_ENDPOINT:-http://127.0.0.1:8014}
  export CHATFLOW_TEST_S3_ACCESS_KEY=AKIDLOCAL CHATFLOW_TEST_S3_SECRET_KEY=secretlocal123
  if [[ ! -x $CHATFLOW_S3S_FS_BIN ]]; then
    log "installing s3s-fs (first run only, ~4 min)"
    cargo install s3s-fs@0.14.1 --features binary --locked --root "$TOOLS_ROOT" \
      --target-dir "$CHATFLOW_CACHE/tool-build"
  fi
  port_open 127.0.0.1 8014 && return 0
  local data=$CHATFLOW_CACHE/s3-data
  rm -rf "$data" && mkdir -p "$data"
  log "starting s3s-fs"
  "$CHATFLOW_S3S_FS_BIN" --host 127.0.0.1 --port 8014 --access-key AKIDLOCAL \
    --secret-key secretlocal123 "$data" >"$CHATFLOW_CACHE/s3s-fs.log" 2>&1 &
  STARTED_PIDS+=($!)
  wait_for_port 127.0.0.1 8014 s3s-fs 30
}
