#!/usr/bin/env bash
# Builds the two trees of yardstick's example Confidential Containers guest (used by the guest-boot tests and
# the README demo), from Debian packages installed by scripts/setup.sh:
#
#   OUT/initrd/  busybox-static, /init (examples/coco-guest/initrd-init), the Debian kernel's virtio, dm-verity
#                and filesystem modules, and dmsetup with its shared libraries (Debian's kernel has no
#                CONFIG_DM_INIT, so early userspace creates the verity target)
#   OUT/rootfs/  busybox-static, /sbin/init (examples/coco-guest/rootfs-init) and /etc/yardstick-marker
#
# Pack them with yardstick itself:
#   yardstick image build OUT/initrd --layout initrd --output initrd.cpio
#   yardstick image build OUT/rootfs --kernel .tools/kernel/vmlinuz --initrd initrd.cpio ... --output disk.img
#
# Usage: scripts/example-guest.sh OUT      ($YARDSTICK_TOOLS overrides the .tools directory)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="${YARDSTICK_TOOLS:-$root/.tools}"
out=${1:?usage: scripts/example-guest.sh OUT}
guest="$root/examples/coco-guest"

die() { printf 'example-guest: %s\n' "$*" >&2; exit 2; }
[ -f "$tools/kernel/version" ] || die "$tools/kernel missing: run scripts/setup.sh"
kver=$(cat "$tools/kernel/version")
mods="$tools/kernel/root/lib/modules/$kver/kernel"
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox missing: apt-get install busybox-static"
dmsetup=$(command -v dmsetup || echo /sbin/dmsetup)
[ -x "$dmsetup" ] || die "dmsetup missing: apt-get install dmsetup"

# Module load order: every module after the modules its .modinfo "depends=" names.
modules=(
  drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk
  drivers/md/dm-mod drivers/md/dm-bufio lib/reed_solomon/reed_solomon drivers/md/dm-verity
  crypto/crc32c_generic lib/libcrc32c fs/erofs/erofs
  lib/crc16 fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4 fs/squashfs/squashfs
)

rm -rf "$out/initrd" "$out/rootfs"
mkdir -p "$out/initrd"/{bin,sbin,lib/modules,proc,sys,dev,newroot,run} "$out/rootfs"/{bin,sbin,etc,proc,sys,dev,run,tmp}

# --- initrd ------------------------------------------------------------------------------------------------
i="$out/initrd"
install -m 0755 "$busybox" "$i/bin/busybox"
ln -s busybox "$i/bin/sh"
install -m 0755 "$guest/initrd-init" "$i/init"
: >"$i/lib/modules/load-order"
for m in "${modules[@]}"; do
  src="$mods/$m.ko"
  [ -f "$src" ] || die "$src missing"
  name=$(basename "$m")
  install -m 0644 "$src" "$i/lib/modules/$name.ko"
  echo "$name" >>"$i/lib/modules/load-order"
done
# dmsetup and the shared libraries it loads, at the same paths (the dynamic loader finds them there).
install -D -m 0755 "$dmsetup" "$i/sbin/dmsetup"
ldd "$dmsetup" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | sort -u | while read -r lib; do
  real=$(readlink -f "$lib")
  install -D -m 0755 "$real" "$i$lib"
done

# --- rootfs ------------------------------------------------------------------------------------------------
r="$out/rootfs"
install -m 0755 "$busybox" "$r/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$r/bin/$applet"
done
install -m 0755 "$guest/rootfs-init" "$r/sbin/init"
printf 'CoCo: this root filesystem is verified block by block by dm-verity (yardstick example guest)\n' \
  >"$r/etc/yardstick-marker"
echo "example-guest: $out/initrd and $out/rootfs ready (kernel $kver)" >&2
