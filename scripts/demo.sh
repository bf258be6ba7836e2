#!/usr/bin/env bash
# Quick start #1, the main job end to end on the built-in example guest (examples/coco-guest):
#
#   1. build the example trees (a busybox initrd with Debian's dm-verity modules and dmsetup; a busybox rootfs
#      whose init prints /etc/yardstick-marker, then the vTPM's PCRs and event log)
#   2. yardstick image build --layout uki: GPT disk with the UKI on its ESP, root and root-verity partitions
#   3. print the image's reference-value manifest (yardstick refvals show)
#   4. boot the disk under QEMU (TCG) + OVMF + swtpm: the guest reads the marker through dm-verity, and the
#      PCRs it reads equal the manifest's and, firmware PCRs 0-7 too, `pcr predict --firmware`'s (pcr compare
#      exits 1 on any difference, which stops the demo)
#   5. flip one byte of the marker inside the root partition ("CoCo" -> "DoCo"): yardstick verity verify names
#      the bad block offline, and booting again the guest gets an I/O error for that same block
#
# Runs on a fresh Debian 12 machine as root (or with sudo): installs what it needs (scripts/setup.sh, a Rust
# toolchain if there is none), builds yardstick with cargo, takes a few minutes (two emulated boots of about
# 20-40 s each). Outputs go to target/demo/. Exit status 0 when everything shown checked out.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -E"
$sudo scripts/setup.sh
export YARDSTICK_TOOLS="${YARDSTICK_TOOLS:-$root/.tools}"

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
yardstick() { "$root/target/release/yardstick" "$@"; }

out=target/demo
rm -rf "$out"
mkdir -p "$out"
step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

# A JSON field of the manifest, by a Python expression on `m`.
manifest=$out/disk.img.manifest.json
mq() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$manifest" "$1"; }

# Boots DISK under QEMU (TCG) + Debian's OVMF (no Secure Boot keys) + a fresh swtpm, the disk first in the boot
# order and opened as a read-only snapshot; the serial console goes to LOG. Only the processes started here are
# stopped, by their process id.
boot() {
  local disk=$1 log=$2 w t0 swtpm_pid rc
  w=$(mktemp -d "$out/boot.XXXXXX")
  cp /usr/share/OVMF/OVMF_VARS_4M.fd "$w/vars.fd"
  mkdir "$w/tpm"
  swtpm socket --tpm2 --tpmstate dir="$w/tpm" --ctrl type=unixio,path="$w/swtpm.sock" --terminate &
  swtpm_pid=$!
  for _ in $(seq 200); do [ -S "$w/swtpm.sock" ] && break; sleep 0.05; done
  t0=$(date +%s.%N)
  rc=0
  timeout 900 qemu-system-x86_64 -accel tcg -machine q35,smm=off -m 1024 \
    -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,unit=1,file="$w/vars.fd" \
    -chardev socket,id=chrtpm,path="$w/swtpm.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
    -device tpm-tis,tpmdev=tpm0 \
    -drive if=none,id=disk,format=raw,snapshot=on,file="$disk" -device virtio-blk-pci,drive=disk,bootindex=0 \
    -nic none -display none -monitor none -no-reboot -serial file:"$log" </dev/null || rc=$?
  kill "$swtpm_pid" 2>/dev/null || true
  wait "$swtpm_pid" 2>/dev/null || true
  rm -rf "$w"
  [ "$rc" = 0 ] || { echo "demo: qemu failed ($rc); serial console in $log" >&2; exit 1; }
  printf '   (booted and powered off in %.0f s)\n' "$(echo "$(date +%s.%N) - $t0" | bc -l)"
}

# What the guest said: early userspace, the marker, verity errors.
guest_said() {
  grep -a -E '^(yardstick-initrd: (verity|mounted)|MARKER)|device-mapper: verity' "$1" | tr -d '\r' | sed 's/^/   guest| /'
}

# The PCRs the guest printed (YS-PCR <bank> <n> <hex>) as JSON {"<bank>": {"<n>": "<hex>"}}.
guest_pcrs() {
  python3 - "$1" <<'PY'
import json, re, sys
banks = {}
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"YS-PCR (\w+) (\d+) ([0-9A-Fa-f]+)\s*$", line)
    if m:
        banks.setdefault(m[1], {})[m[2]] = m[3].lower()
json.dump(banks, sys.stdout)
PY
}

step "1. The example guest (scripts/example-guest.sh): busybox initrd with dm-verity modules + dmsetup, busybox rootfs"
scripts/example-guest.sh "$out/eg"
show yardstick image build "$out/eg/initrd" --layout initrd --output "$out/initrd.cpio"

step "2. Build the disk image: UKI on the ESP (roothash= on its measured cmdline), root + root-verity partitions"
show yardstick image build "$out/eg/rootfs" --layout uki --fs erofs \
  --kernel "$YARDSTICK_TOOLS/kernel/vmlinuz" --initrd "$out/initrd.cpio" \
  --stub "$YARDSTICK_TOOLS/systemd-254/usr/lib/systemd/boot/efi/linuxx64.efi.stub" \
  --cmdline 'console=ttyS0 quiet panic=-1' --output "$out/disk.img"

step "3. Its reference-value manifest ($manifest)"
show yardstick refvals show "$manifest"

step "4. Boot it: QEMU (TCG emulation) + OVMF + swtpm vTPM; OVMF starts \\EFI\\BOOT\\BOOTX64.EFI from the ESP"
boot "$out/disk.img" "$out/boot1.log"
guest_said "$out/boot1.log"
grep -a -q '^MARKER: CoCo' "$out/boot1.log" || { echo "demo: the guest did not read the marker" >&2; exit 1; }
mq 'json.dumps(m["tpm"]["pcrs"])' >"$out/manifest-pcrs.json"
guest_pcrs "$out/boot1.log" >"$out/guest-pcrs.json"
echo "   The PCRs the guest read from /sys/class/tpm/tpm0 against the manifest's prediction:"
show yardstick pcr compare "$out/manifest-pcrs.json" "$out/guest-pcrs.json"
echo
echo "   The whole PCR set, firmware PCRs too, predicted from the files and this VM's configuration (the UKI is"
echo "   the one on the disk's ESP):"
esp_off=$(mq '[p["offset"] for p in m["image"]["partition_table"]["partitions"] if p["role"] == "esp"][0]')
mcopy -n -i "$out/disk.img@@$esp_off" ::/EFI/BOOT/BOOTX64.EFI "$out/uki.efi"
whole=(yardstick pcr predict --firmware /usr/share/OVMF/OVMF_CODE_4M.fd --uki "$out/uki.efi"
  --platform qemu-q35 --memory 1024 --vcpus 1 --nic none --disk "$out/disk.img")
show "${whole[@]}" --bank sha256
"${whole[@]}" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); json.dump({b: v for b, v in d.items() if b.startswith("sha")}, sys.stdout)' >"$out/whole-pcrs.json"
show yardstick pcr compare "$out/whole-pcrs.json" "$out/guest-pcrs.json"

step "5. Flip one byte of the marker inside the root partition (CoCo -> DoCo)"
read -r roff rsize < <(mq '" ".join(str(p[k]) for p in m["image"]["partition_table"]["partitions"] if p["role"] == "root" for k in ("offset", "size"))')
read -r hoff hsize < <(mq '" ".join(str(p[k]) for p in m["image"]["partition_table"]["partitions"] if p["role"] == "root-verity" for k in ("offset", "size"))')
at=$(python3 - "$out/disk.img" "$roff" "$rsize" <<'PY'
import sys
disk, off, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
marker = b"CoCo: this root filesystem is verified block by block by dm-verity"
with open(disk, "r+b") as f:
    f.seek(off)
    part = f.read(size)
    i = part.find(marker)
    assert i >= 0 and part.find(marker, i + 1) < 0, "marker not found exactly once"
    f.seek(off + i)
    f.write(b"D")
print(i)
PY
)
echo "   byte $at of the root partition (data block $((at / 4096))) is now 'D'"
dd if="$out/disk.img" of="$out/root.part" bs=1M iflag=skip_bytes,count_bytes skip="$roff" count="$rsize" status=none
dd if="$out/disk.img" of="$out/root-verity.part" bs=1M iflag=skip_bytes,count_bytes skip="$hoff" count="$hsize" status=none
echo "   Offline, the tree names the block:"
show yardstick verity verify "$out/root.part" "$out/root-verity.part" "$(mq 'm["verity"]["root_hash"]')" || true
echo
echo "   Booted again, the guest's kernel refuses the block (the measured boot itself is unchanged):"
boot "$out/disk.img" "$out/boot2.log"
guest_said "$out/boot2.log"
grep -a -q '^MARKER-ERROR:.*Input/output error' "$out/boot2.log" || { echo "demo: no I/O error in the guest" >&2; exit 1; }
grep -a -q "data block $((at / 4096)) is corrupted" "$out/boot2.log" || { echo "demo: the guest named another block" >&2; exit 1; }
echo
echo "demo: done. The image, its manifest and both boots' serial logs are in $out/"
