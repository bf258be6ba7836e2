#!/usr/bin/env bash
# The whole test suite, as CI runs it: install peers, then format, lint, API docs, unit, differential and end-to-end tests.
# Usage: scripts/test.sh [extra cargo test args, e.g. a test name filter]
set -euo pipefail
cd "$(dirname "$0")/.."
# No test reads standard input; cargo's rustc probes must not either (a stray stdin once poisoned the probe cache).
exec </dev/null

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -E"
$sudo scripts/setup.sh

export YARDSTICK_TOOLS="${YARDSTICK_TOOLS:-$PWD/.tools}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# cargo 1.95 here sometimes fails its own rustc target probe at the start of a command ("failed to run `rustc`
# to learn about target-specific information": the probe rustc read another concurrent probe's output as its
# input; it passes when slowed down, e.g. under strace) and caches the failure in target/.rustc_info.json. Retry
# a command that failed that way, and only that way, after dropping the cache; any other failure fails the run.
cargo_step() {
  local log attempt
  log=$(mktemp)
  for attempt in 1 2 3 4 5; do
    if "$@" 2>&1 | tee "$log"; then
      rm -f "$log"
      return 0
    fi
    if ! grep -q 'failed to run `rustc` to learn about target-specific information' "$log"; then
      rm -f "$log"
      return 1
    fi
    echo "== cargo's own rustc probe failed (attempt $attempt); running the step again"
    rm -f target/.rustc_info.json
    sleep 3
  done
  rm -f "$log"
  return 1
}

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo doc -D warnings (library API docs)"
cargo_step env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
echo "== cargo clippy -D warnings"
cargo_step cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo_step cargo test --workspace --locked "$@"
echo "== fuzz (every cargo-fuzz target, 10 s each)"
scripts/fuzz.sh 10
