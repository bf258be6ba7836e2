#!/usr/bin/env bash
# Benchmark: `yardstick snp measure` vs sev-snp-measure 0.0.13, whole process, side by side in the same run.
#
# Inputs (made fresh in a temp dir, deterministic content from a fixed seed):
#   firmware  4 MiB: 4 MiB - 4 KiB of pseudo-random bytes followed by the last 4 KiB of a real edk2 AmdSevX64 build
#             (tests/fixtures/snp/ovmf_AmdSev_suffix.bin). Its GUIDed footer table and SEV metadata are
#             addressed from the end of the file, so the result is a valid 4 MiB firmware with SEV metadata and a
#             kernel-hashes section; every one of its 1024 pages is measured.
#   kernel    12 MiB, initrd 50 MiB of pseudo-random bytes (contents do not matter to SHA-256's speed).
# Both tools must print the same digest first; then hyperfine times both (warm page cache) and /usr/bin/time -v
# reports peak RSS. Prints the time and memory ratios (target: time <= 1/3 of sev-snp-measure's, less memory).
#
# For reference it also times `openssl dgst -sha256` of the initrd alone: SHA-256 is sequential, so hashing the
# largest input is a floor no implementation can go below (kernel, initrd and firmware are hashed in parallel).
# Without SHA-NI (pre-Zen/pre-Ice Lake CPUs, some VMs) that floor is ~140 ms for 50 MiB, which by itself is more
# than 1/3 of sev-snp-measure's time; with SHA-NI it is ~25 ms.
#
# Usage: scripts/bench-snp.sh [runs]      (env: YARDSTICK_TOOLS, YARDSTICK_FIXTURES, YARDSTICK_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-20}"
tools="${YARDSTICK_TOOLS:-$PWD/.tools}"
fixtures="${YARDSTICK_FIXTURES:-$PWD/tests/fixtures}"
upstream="$tools/venv/bin/sev-snp-measure"
for need in hyperfine /usr/bin/time python3 "$upstream" "$fixtures/snp/ovmf_AmdSev_suffix.bin"; do
  command -v "$need" >/dev/null 2>&1 || [ -e "$need" ] || { echo "bench-snp: missing $need (run scripts/setup.sh)" >&2; exit 2; }
done

if [ -z "${YARDSTICK_BIN:-}" ]; then
  cargo build --release -q -p yardstick
  YARDSTICK_BIN="$PWD/target/release/yardstick"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" "$fixtures/snp/ovmf_AmdSev_suffix.bin" <<'EOF'
import random, sys
work, suffix = sys.argv[1], open(sys.argv[2], 'rb').read()
rng = random.Random(20240501)
def blob(n):
    return rng.randbytes(n)
open(f'{work}/OVMF.fd', 'wb').write(blob(4 * 2**20 - len(suffix)) + suffix)
open(f'{work}/vmlinuz', 'wb').write(blob(12 * 2**20))
open(f'{work}/initrd.img', 'wb').write(blob(50 * 2**20))
EOF

args=(--mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf "$work/OVMF.fd" --kernel "$work/vmlinuz"
      --initrd "$work/initrd.img" --append "console=ttyS0 root=/dev/vda1")
ours=$("$YARDSTICK_BIN" snp measure "${args[@]}")
theirs=$("$upstream" "${args[@]}")
if [ "$ours" != "$theirs" ]; then
  echo "bench-snp: digests differ: yardstick $ours, sev-snp-measure $theirs" >&2
  exit 1
fi
echo "digest (both): $ours"
echo "load before: $(uptime)"

q() { printf '%q ' "$@"; }
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/times.json" \
  -n yardstick "$(q "$YARDSTICK_BIN" snp measure "${args[@]}")" \
  -n sev-snp-measure "$(q "$upstream" "${args[@]}")" \
  -n "floor: openssl sha256 of the initrd" "$(q openssl dgst -sha256 "$work/initrd.img")" >&2

peak_rss() {  # the median of 5 runs' maximum resident set size, in KiB
  for _ in 1 2 3 4 5; do
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'
  done | sort -n | sed -n 3p
}
rss_ours=$(peak_rss "$YARDSTICK_BIN" snp measure "${args[@]}")
rss_theirs=$(peak_rss "$upstream" "${args[@]}")

python3 - "$work/times.json" "$rss_ours" "$rss_theirs" <<'EOF'
import json, sys
r = {x['command']: x for x in json.load(open(sys.argv[1]))['results']}
y, s, f = r['yardstick'], r['sev-snp-measure'], r['floor: openssl sha256 of the initrd']
ro, rt = int(sys.argv[2]), int(sys.argv[3])
print(f"{'':18}{'mean':>10}{'median':>10}{'min':>10}{'peak RSS':>12}")
for name, x, rss in (('yardstick', y, ro), ('sev-snp-measure', s, rt)):
    print(f"{name:18}{x['mean']*1e3:>8.1f}ms{x['median']*1e3:>8.1f}ms{x['min']*1e3:>8.1f}ms{rss/1024:>9.1f}MiB")
print(f"time ratio yardstick/sev-snp-measure: mean {y['mean']/s['mean']:.3f}, median {y['median']/s['median']:.3f}, "
      f"min {y['min']/s['min']:.3f} (target <= 0.333)")
print(f"memory ratio: {ro/rt:.3f} (target < 1)")
print(f"floor (SHA-256 of the initrd alone, openssl): median {f['median']*1e3:.1f}ms = "
      f"{f['median']/s['median']:.3f} of sev-snp-measure; yardstick is {y['median']/f['median']:.2f}x the floor")
grep = open('/proc/cpuinfo').read()
print("CPU has SHA-NI:", "yes" if " sha_ni" in grep else "no")
EOF
echo "load after: $(uptime)"
