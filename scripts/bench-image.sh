#!/usr/bin/env bash
# Benchmark of `yardstick image build` (issue 5's target): for a 1 GiB rootfs tree, the whole build must take at
# most 1.3 x (the mkfs tool alone + hashing the filesystem image at the 2-core SHA-256 limit). Runs the pieces
# side by side in one run and prints the breakdown and the ratio; also times `veritysetup format` on the same
# filesystem image as the dm-verity peer.
#
# Usage: scripts/bench-image.sh [SIZE_MIB] [FS]     (default 1024 erofs; FS: erofs | ext4 | squashfs)
# Env:   BENCH_DIR (default /var/tmp/yardstick-bench-image; the generated tree is kept there and reused)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
fs=${2:-erofs}
dir=${BENCH_DIR:-/var/tmp/yardstick-bench-image}
tree="$dir/tree-$size_mib"
export YARDSTICK_TOOLS="${YARDSTICK_TOOLS:-$PWD/.tools}"
cargo build --release -q -p yardstick
ys="$PWD/target/release/yardstick"
mkdir -p "$dir"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }

if [ ! -d "$tree" ]; then
  echo "bench-image: generating a ${size_mib} MiB tree in $tree" >&2
  rm -rf "$tree.tmp"
  mkdir -p "$tree.tmp"
  # Incompressible files from 1 KiB to 8 MiB, in 64 directories: a rootfs-like spread of sizes.
  python3 - "$tree.tmp" "$size_mib" <<'PY'
import os, random, sys
root, mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(5)
left = mib << 20
n = 0
sizes = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 8 << 20]
while left > 0:
    s = min(left, rng.choice(sizes))
    d = os.path.join(root, "d%02d" % (n % 64))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d" % n), "wb") as f:
        f.write(os.urandom(s))
    left -= s
    n += 1
PY
  mv "$tree.tmp" "$tree"
fi
sync

work=$(mktemp -d "$dir/run.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. The mkfs tool alone, with the flags yardstick uses.
t0=$(now)
case "$fs" in
  erofs) mkfs.erofs --quiet -E noinline_data -T0 -U 00000000-0000-4000-8000-000000000000 "$work/fs.img" "$tree" ;;
  squashfs) mksquashfs "$tree" "$work/fs.img" -noappend -no-progress -quiet -mkfs-time 0 -all-time 0 >/dev/null ;;
  ext4) size=$(( (size_mib * 105 / 100 + 64) ))M
        MKE2FS_CONFIG=/dev/null mkfs.ext4 -q -F -t ext4 -O ^has_journal -d "$tree" "$work/fs.img" "$size" 2>/dev/null ;;
esac
t1=$(now)
t_mkfs=$(secs "$t0" "$t1")
fs_bytes=$(stat -c %s "$work/fs.img")

# 2. The 2-core SHA-256 limit on this machine (4 KiB blocks, both cores), applied to the filesystem image.
rate=$(openssl speed -evp sha256 -bytes 4096 -seconds 2 -multi 2 2>/dev/null | awk '/^sha256/ {v=$NF} END {sub(/k$/, "", v); print v * 1000}')
t_hash=$(echo "$fs_bytes / $rate" | bc -l)

# 3. The dm-verity peer on the same image.
t0=$(now)
veritysetup format "$work/fs.img" "$work/fs.hash" >/dev/null
t1=$(now)
t_veritysetup=$(secs "$t0" "$t1")

# 4. yardstick image build (kata layout: mkfs + verity + disk, no UKI).
rm -f "$work/disk.img"
t0=$(now)
"$ys" image build "$tree" --layout kata --fs "$fs" --output "$work/disk.img" --json >"$work/summary.json"
t1=$(now)
t_total=$(secs "$t0" "$t1")

target=$(echo "1.3 * ($t_mkfs + $t_hash)" | bc -l)
ratio=$(echo "$t_total / ($t_mkfs + $t_hash)" | bc -l)
printf 'tree              %s MiB, %s, filesystem image %s bytes\n' "$size_mib" "$fs" "$fs_bytes"
printf 'mkfs alone        %8.2f s\n' "$t_mkfs"
printf 'sha256 2-core     %8.2f s  (%.0f MB/s)\n' "$t_hash" "$(echo "$rate / 1000000" | bc -l)"
printf 'veritysetup       %8.2f s  (format, peer)\n' "$t_veritysetup"
printf 'yardstick total   %8.2f s  breakdown: %s\n' "$t_total" \
  "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["seconds"]; print(", ".join("%s %.2fs" % kv for kv in s.items()))' "$work/summary.json")"
printf 'ratio             %8.2f  (target <= 1.30: total <= %.2f s)\n' "$ratio" "$target"
printf 'load              %s\n' "$(uptime)"
