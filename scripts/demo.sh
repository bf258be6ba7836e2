#!/usr/bin/env bash
# Quick start #1: build yardstick, build a small example root filesystem, protect it with dm-verity and print
# the reference values a relying party pins (root hash, salt, kernel command-line forms).
# For now this covers trust path 2 (dm-verity); the full image pipeline replaces it later.
# Run on Debian 12 as root (or with sudo). Idempotent; outputs go to target/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -E"
$sudo scripts/setup.sh

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "demo: installing a Rust toolchain with rustup (https://rustup.rs)" >&2
    command -v curl >/dev/null || $sudo apt-get install -y -q curl >/dev/null
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
echo "demo: building yardstick (cargo build --release)" >&2
cargo build --release --locked --quiet -p yardstick
y=$PWD/target/release/yardstick

out=target/demo
rm -rf "$out"
mkdir -p "$out/rootfs/etc" "$out/rootfs/usr/bin" "$out/rootfs/usr/share/coco"
printf 'CoCo\n' >"$out/rootfs/etc/coco-marker"
printf 'NAME="yardstick demo rootfs"\nID=yardstick-demo\n' >"$out/rootfs/etc/os-release"
printf '#!/bin/sh\necho "hello from a dm-verity protected root filesystem"\n' >"$out/rootfs/usr/bin/hello"
chmod 755 "$out/rootfs/usr/bin/hello"
seq 1 20000 >"$out/rootfs/usr/share/coco/numbers.txt"

# Reproducible EROFS: fixed timestamps, UUID and ownership, no xattrs; so the root hash below is the same on
# every machine with erofs-utils 1.5 (Debian 12).
mkfs.erofs --quiet -T0 --all-root -x-1 -U 6b5f1a2e-4c3d-4e8f-9a0b-1c2d3e4f5a6b \
  "$out/rootfs.erofs" "$out/rootfs"

# A fixed salt keeps the demo reproducible; without --salt, yardstick (like veritysetup) uses 32 random bytes.
salt=$(printf 'yardstick demo' | sha256sum | cut -c1-64)
echo
echo "== Example root filesystem: $out/rootfs.erofs ($(stat -c %s "$out/rootfs.erofs") bytes, EROFS, marker /etc/coco-marker = CoCo)"
echo "== yardstick verity format --no-superblock (Kata's layout: rootfs on partition 1, hash tree on partition 2)"
"$y" verity format --no-superblock --salt "$salt" --root-hash-file "$out/roothash.txt" \
  "$out/rootfs.erofs" "$out/rootfs.verity"
blocks=$(($(stat -c %s "$out/rootfs.erofs") / 4096))
echo
echo "== Reference values (kernel command line that carries the root hash into the launch measurement)"
"$y" verity kernel-params --no-superblock --salt "$salt" --data-blocks "$blocks" \
  --root-hash-file "$out/roothash.txt"
echo
echo "== Check: yardstick verity verify"
"$y" verity verify --no-superblock --salt "$salt" "$out/rootfs.erofs" "$out/rootfs.verity" \
  --root-hash-file "$out/roothash.txt"
