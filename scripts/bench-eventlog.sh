#!/usr/bin/env bash
# Event-log replay speed: yardstick vs tpm2_eventlog (tpm2-tools), side by side, same run.
# Replays every fixture log once per run (startup dominates: the logs are 10-75 KB), then the largest log alone.
# Usage: scripts/bench-eventlog.sh   (needs hyperfine and tpm2-tools: scripts/setup.sh installs both)
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures="${YARDSTICK_FIXTURES:-$PWD/tests/fixtures}"
cargo build --release -q -p yardstick
y="$PWD/target/release/yardstick"
logs=$(ls "$fixtures"/eventlogs/*/* | grep -v -e option_rom_eventlog -e short_no_action_eventlog)
# tpm2_eventlog 5.4 crashes on option_rom_eventlog and rejects short_no_action_eventlog: both are left out.
echo "load: $(uptime)"
hyperfine -N --warmup 3 --min-runs 20 \
  -n yardstick "bash -c 'for f in $(echo $logs); do $y eventlog replay \$f >/dev/null; done'" \
  -n tpm2_eventlog "bash -c 'for f in $(echo $logs); do tpm2_eventlog \$f >/dev/null 2>&1; done'"
big="$fixtures/eventlogs/go-tpm-tools/gdc-host.bin"
hyperfine -N --warmup 5 --min-runs 50 \
  -n "yardstick replay $(basename "$big")" "$y eventlog replay $big" \
  -n "tpm2_eventlog $(basename "$big")" "tpm2_eventlog $big"
# A large log: the events of gdc-host.bin repeated to about 16 MiB (its Spec ID header once), so that the tools'
# work, not process start-up (about 1 ms here even for /bin/true), decides the ratio.
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 - "$big" "$work/large.bin" <<'PY'
import struct, sys
log = open(sys.argv[1], "rb").read()
# TCG_PCR_EVENT header: PCR index, type, SHA-1 digest, event size, event.
head = 32 + struct.unpack_from("<I", log, 28)[0]
events = log[head:]
open(sys.argv[2], "wb").write(log[:head] + events * max(1, (16 << 20) // len(events)))
PY
echo "large log: $(stat -c %s "$work/large.bin") bytes"
hyperfine -N --warmup 2 --min-runs 10 \
  -n "yardstick replay large.bin" "$y eventlog replay $work/large.bin" \
  -n "tpm2_eventlog large.bin" "tpm2_eventlog $work/large.bin"
echo "load: $(uptime)"
