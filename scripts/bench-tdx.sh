#!/usr/bin/env bash
# Benchmark: `yardstick tdx measure` vs dstack-mr (Dstack-TEE/dstack), whole process, side by side in the same run.
#
# dstack-mr is not on any package registry and its workspace has git dependencies, so it cannot be installed by
# scripts/setup.sh: build it locally as scripts/tdx-oracle-vectors.sh describes (a trimmed workspace and a
# 10-line driver over its library) and point DSTACK_MR_ORACLE at the driver binary. Without it this script
# fails (exit 2); it never skips.
#
# Inputs: Debian 13's OVMF.fd and 6.12 kernel from scripts/setup.sh ($YARDSTICK_TOOLS/ovmf-trixie,
# kernel-trixie) and a 50 MiB pseudo-random initrd (fixed seed). Configuration: QEMU 9.1 (dstack-mr's
# single-pass MRTD, QEMU-patched kernel), 2048 MiB. Both tools must print the same MRTD, RTMR1 and RTMR2 first;
# then hyperfine times both (warm page cache) and /usr/bin/time -v reports peak RSS; the time ratio is printed
# (target: yardstick's time <= 1/3 of dstack-mr's), with the floor: `openssl dgst -sha384` of the initrd alone.
# SHA-384 is sequential and the initrd is the largest input, so no implementation goes below that floor; the
# firmware, kernel and initrd are hashed in parallel and the initrd is streamed (never held in memory).
#
# Usage: DSTACK_MR_ORACLE=/path/to/driver scripts/bench-tdx.sh [runs]   (env: YARDSTICK_TOOLS, YARDSTICK_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-20}"
tools="${YARDSTICK_TOOLS:-$PWD/.tools}"
oracle="${DSTACK_MR_ORACLE:-}"
if [ -z "$oracle" ] || [ ! -x "$oracle" ]; then
  echo "bench-tdx: set DSTACK_MR_ORACLE to a locally built dstack-mr driver (see scripts/tdx-oracle-vectors.sh)" >&2
  exit 2
fi
fw="$tools/ovmf-trixie/OVMF.fd"
kernel="$tools/kernel-trixie/vmlinuz"
for need in hyperfine /usr/bin/time python3 "$fw" "$kernel"; do
  command -v "$need" >/dev/null 2>&1 || [ -e "$need" ] || { echo "bench-tdx: missing $need (run scripts/setup.sh)" >&2; exit 2; }
done

if [ -z "${YARDSTICK_BIN:-}" ]; then
  cargo build --release -q -p yardstick
  YARDSTICK_BIN="$PWD/target/release/yardstick"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmdline="console=ttyS0 root=/dev/vda1"
python3 - "$work" "$fw" "$kernel" "$cmdline" <<'PY'
import json, random, sys
work, fw, kernel, cmdline = sys.argv[1:]
open(f'{work}/initrd.img', 'wb').write(random.Random(20261206).randbytes(50 * 2**20))
json.dump({'bios': fw, 'kernel': kernel, 'initrd': f'{work}/initrd.img', 'cmdline': cmdline},
          open(f'{work}/metadata.json', 'w'))
PY
vm='{"cpu_count":2,"memory_size":2147483648,"qemu_version":"9.1.0"}'
ours=(tdx measure --firmware "$fw" --kernel "$kernel" --initrd "$work/initrd.img" --append "$cmdline"
      --memory 2048 --vcpus 2 --qemu-version 9.1 --json)
a=$("$YARDSTICK_BIN" "${ours[@]}")
b=$("$oracle" "$work" "$vm")
python3 - "$a" "$b" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for reg in ("mrtd", "rtmr1", "rtmr2"):
    if a[reg] != b[reg]:
        sys.exit(f"bench-tdx: {reg} differs: yardstick {a[reg]}, dstack-mr {b[reg]}")
    print(f"{reg} (both): {a[reg]}")
PY
echo "load before: $(uptime)"

q() { printf '%q ' "$@"; }
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/times.json" \
  -n yardstick "$(q "$YARDSTICK_BIN" "${ours[@]}")" \
  -n dstack-mr "$(q "$oracle" "$work" "$vm")" \
  -n "floor: openssl sha384 of the initrd" "$(q openssl dgst -sha384 "$work/initrd.img")" >&2

peak_rss() {  # the median of 5 runs' maximum resident set size, in KiB
  for _ in 1 2 3 4 5; do
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'
  done | sort -n | sed -n 3p
}
rss_ours=$(peak_rss "$YARDSTICK_BIN" "${ours[@]}")
rss_theirs=$(peak_rss "$oracle" "$work" "$vm")

python3 - "$work/times.json" "$rss_ours" "$rss_theirs" <<'PY'
import json, sys
r = {x['command']: x for x in json.load(open(sys.argv[1]))['results']}
y, d, f = r['yardstick'], r['dstack-mr'], r['floor: openssl sha384 of the initrd']
ro, rt = int(sys.argv[2]), int(sys.argv[3])
print(f"{'':12}{'mean':>10}{'median':>10}{'min':>10}{'peak RSS':>12}")
for name, x, rss in (('yardstick', y, ro), ('dstack-mr', d, rt)):
    print(f"{name:12}{x['mean']*1e3:>8.1f}ms{x['median']*1e3:>8.1f}ms{x['min']*1e3:>8.1f}ms{rss/1024:>9.1f}MiB")
print(f"speed-up dstack-mr/yardstick: mean {d['mean']/y['mean']:.2f}x, median {d['median']/y['median']:.2f}x "
      f"(target >= 3x)")
print(f"memory ratio yardstick/dstack-mr: {ro/rt:.3f}")
print(f"floor (SHA-384 of the initrd alone, openssl): median {f['median']*1e3:.1f}ms = "
      f"{f['median']/d['median']:.3f} of dstack-mr; yardstick is {y['median']/f['median']:.2f}x the floor")
PY
echo "load after: $(uptime)"
