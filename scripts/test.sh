#!/usr/bin/env bash
# The whole test suite, as CI runs it: install peers, then format, lint, API docs, unit, differential and end-to-end tests.
# Usage: scripts/test.sh [extra cargo test args, e.g. a test name filter]
set -euo pipefail
cd "$(dirname "$0")/.."

# /dev/null must be the null device. On a machine where something replaced it with a regular file (a root
# process renaming a file over it: yardstick before it learnt to write devices in place did), whatever is
# "discarded" piles up in it and is read back: cargo's rustc probe then compiles that text and fails. Put the
# device back (as root) or stop with that reason.
if [ ! -c /dev/null ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== /dev/null is not a character device here; recreating it" >&2
    rm -f /dev/null && mknod -m 666 /dev/null c 1 3
  else
    echo "error: /dev/null is not a character device on this machine (ls -l /dev/null); fix it as root" >&2
    exit 2
  fi
fi

# No test reads standard input.
exec </dev/null

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -E"
$sudo scripts/setup.sh

export YARDSTICK_TOOLS="${YARDSTICK_TOOLS:-$PWD/.tools}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo doc -D warnings (library API docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked "$@"
echo "== fuzz (every cargo-fuzz target, 10 s each)"
scripts/fuzz.sh 10
