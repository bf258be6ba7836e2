#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for a time budget each, starting from its committed seeds in
# fuzz/corpus/<target>/. New inputs the fuzzer finds go to fuzz/target/corpus/<target>/ (git-ignored, kept between
# runs), so the committed seeds stay small; crash reproducers go to fuzz/artifacts/<target>/.
# Exits 1 naming every target that crashed, leaked, ran out of memory or hung; it never skips: without the
# nightly toolchain or cargo-fuzz (installed here if missing) it fails.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
#   Reproduce a crash: cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
case "$secs" in
  '' | *[!0-9]*) echo "fuzz: SECONDS_PER_TARGET must be a whole number, not '$secs'" >&2; exit 2 ;;
esac

log() { printf 'fuzz: %s\n' "$*" >&2; }

# cargo-fuzz needs a nightly compiler (-Zsanitizer); rust-src and llvm-tools are not needed for `build`/`run`.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
log "$(rustup run nightly rustc --version), $(cargo fuzz --version)"

cd fuzz
start=$(date +%s)
cargo +nightly fuzz build
log "built all targets in $(($(date +%s) - start)) s"

mapfile -t targets < <(cargo +nightly fuzz list)
[ "${#targets[@]}" -gt 0 ] || { log "no fuzz targets found"; exit 1; }

failed=()
for t in "${targets[@]}"; do
  [ -d "corpus/$t" ] || { log "$t: no seed corpus in fuzz/corpus/$t"; failed+=("$t"); continue; }
  mkdir -p "target/corpus/$t" "artifacts/$t"
  log "$t: ${secs} s"
  out="target/fuzz-$t.log"
  # The first corpus directory receives new inputs; the committed seeds are only read.
  # -timeout: one input running longer than this counts as a hang (a failure).
  if cargo +nightly fuzz run "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 >"$out" 2>&1; then
    log "$t: ok ($(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$out" | tail -n1 || true))"
  else
    tail -n 60 "$out" >&2
    log "$t: FAILED (log fuzz/$out; reproducer in fuzz/artifacts/$t/)"
    failed+=("$t")
  fi
done

log "total $(($(date +%s) - start)) s"
if [ "${#failed[@]}" -gt 0 ]; then
  log "failing targets: ${failed[*]}"
  exit 1
fi
log "all ${#targets[@]} targets ran without a finding"
