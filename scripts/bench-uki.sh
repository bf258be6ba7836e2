#!/usr/bin/env bash
# Benchmark trust path 3 against its peers, side by side in the same run:
#   uki build      vs  ukify 254 build                      (same inputs, byte-identical outputs)
#   pcr predict    vs  systemd-measure 254 calculate         (PCR 11 of the same sections, 3 banks)
# Usage: scripts/bench-uki.sh [INITRD_MIB]   (default 64: a realistic initrd size)
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${YARDSTICK_TOOLS:-$PWD/.tools}"
mib="${1:-64}"
cargo build --release -q -p yardstick
y="$PWD/target/release/yardstick"
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
stub="$tools/systemd-254/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
kernel="$tools/kernel/vmlinuz"
head -c "$((mib << 20))" /dev/urandom >"$w/initrd"
printf 'ID=bench\n' >"$w/osrel"
printf 'console=ttyS0 quiet\n' >"$w/cmdline"
common=(--linux "$kernel" --initrd "$w/initrd" "--cmdline=@$w/cmdline" "--os-release=@$w/osrel" --uname=6.1.0-bench)
"$y" uki build --stub "$stub" "${common[@]}" --output "$w/y.efi"
"$tools/venv/bin/python" "$tools/systemd-254/lib/systemd/ukify" build --stub "$stub" "${common[@]}" --output "$w/u.efi" >/dev/null
cmp "$w/y.efi" "$w/u.efi" && echo "outputs identical ($(stat -c %s "$w/y.efi") bytes)"
for s in .linux .osrel .cmdline .initrd .uname .sbat; do objcopy -O binary --only-section=$s "$w/y.efi" "$w/sec$s"; done
export LD_LIBRARY_PATH="$tools/systemd-254/usr/lib/x86_64-linux-gnu/systemd"
measure="$tools/systemd-254/lib/systemd/systemd-measure calculate --linux=$w/sec.linux --osrel=$w/sec.osrel --cmdline=$w/sec.cmdline --initrd=$w/sec.initrd --uname=$w/sec.uname --sbat=$w/sec.sbat --bank=sha1 --bank=sha256 --bank=sha384 --phase="
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { case " $flags " in *" $1 "*) echo yes ;; *) echo no ;; esac; }
echo "== cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); SHA-NI $(has sha_ni), AVX2 $(has avx2), AVX-512F $(has avx512f) AVX-512VL $(has avx512vl)"
echo "== how pcr predict hashes its long streams (measured at start-up; YARDSTICK_HASH_STREAMS=pair|single forces):"
"$y" pcr predict --uki "$w/y.efi" --verbose 2>&1 >/dev/null | sed 's/^yardstick: note: /   /'
echo "== load: $(uptime)"
hyperfine -N -w 1 -r 5 --export-markdown "$w/build.md" \
  -n "yardstick uki build" "$y uki build --stub $stub ${common[*]} --output $w/y2.efi" \
  -n "ukify 254 build" "$tools/venv/bin/python $tools/systemd-254/lib/systemd/ukify build --stub $stub ${common[*]} --output $w/u2.efi"
hyperfine -N -w 2 -r 10 \
  -n "yardstick pcr predict (PCRs 4,7,9,11,12,13; 3 banks)" "$y pcr predict --uki $w/y.efi" \
  -n "systemd-measure calculate (PCR 11 only; 3 banks)" "$measure"
echo "== load: $(uptime)"
