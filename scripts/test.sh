#!/usr/bin/env bash
# The one test command: provisions every backend the tests use (installing
# and starting what is missing, skipping what already runs), then checks
# formatting and lints and runs the whole suite with nextest. Stops what it
# started on exit.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -p chatflow-sql # extra args go to `cargo nextest run`
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/provision.sh
source "$ROOT/scripts/lib/provision.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CHATFLOW_CACHE/target}
trap stop_started EXIT
cd "$ROOT"

started=$SECONDS
ensure_build_tools
ensure_postgres
ensure_redis
ensure_kafka
ensure_dynamodb
ensure_s3
log "backends ready after $((SECONDS - started)) s"

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
log "cargo nextest"
profile=default
[[ ${CI:-} == true ]] && profile=ci
cargo nextest run --workspace --all-features --locked --profile "$profile" "$@"
log "test command finished in $((SECONDS - started)) s"
