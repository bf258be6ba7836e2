#!/usr/bin/env bash
# Builds a real mkosi image: Debian 12 with systemd 254 (bookworm-backports), an erofs root protected by dm-verity
# (systemd-repart, scripts/mkosi/mkosi.repart/), a UKI made by mkosi at \EFI\BOOT\BOOTX64.EFI on the ESP, and units
# that print the guest's PCRs and event logs on the serial console at boot, then power off (scripts/mkosi/).
#
#   scripts/mkosi-image.sh OUTDIR [--secure-boot] [--release bookworm|trixie]
#
# Writes OUTDIR/image.raw (the disk), OUTDIR/image.efi (mkosi's UKI, as it put it on the ESP), OUTDIR/build.log and
# OUTDIR/inputs.sha256. --secure-boot builds with mkosi's SecureBoot=yes, signing with Debian's OVMF snakeoil key
# (the one OVMF_VARS_4M.snakeoil.fd enrolls in db), so the image boots under OVMF with Secure Boot on; mkosi's
# default SignExpectedPcr=auto then adds .pcrsig and .pcrpkey to the UKI. --release trixie builds Debian 13 instead
# (its own systemd 257 and systemd-stub 257, which also write systemd's userspace measurement log).
#
# mkosi 24.3 and its tools run in the debootstrap chroot scripts/setup.sh makes under .tools/mkosi-chroot (root is
# needed: bind mounts, chroot). A second run with the same inputs (this script, scripts/mkosi/, the variant, the
# chroot's package set) reuses OUTDIR's image: inputs.sha256 is the key. The image's packages come from this
# machine's own apt mirror (bookworm, bookworm-updates); systemd 254 from its bookworm-backports, served to mkosi
# as a local repository (mkosi.packages/).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="${YARDSTICK_TOOLS:-$root/.tools}"
mkc="$tools/mkosi-chroot"
log() { printf 'mkosi-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

usage="usage: scripts/mkosi-image.sh OUTDIR [--secure-boot] [--release bookworm|trixie]"
out="" secure_boot=0 release=bookworm
while [ $# -gt 0 ]; do
  case "$1" in
    --secure-boot) secure_boot=1 ;;
    --release) [ $# -ge 2 ] || die "$usage"; release=$2; shift ;;
    --release=*) release=${1#--release=} ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 ($usage)" ;;
    *) [ -z "$out" ] || die "one OUTDIR only"; out="$1" ;;
  esac
  shift
done
[ -n "$out" ] || die "$usage"
case "$release" in bookworm|trixie) ;; *) die "--release: bookworm or trixie, not $release" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (bind mounts and chroot for mkosi)"
[ -f "$mkc/.yardstick-ready" ] && [ -x "$mkc/usr/bin/mkosi" ] \
  || die "no mkosi chroot at $mkc: run scripts/setup.sh first"
mkdir -p "$out"
shown=${out%/}   # messages name OUTDIR as given
out=$(cd "$out" && pwd)

# The cache key: everything that decides the image, except the mirror's contents (a dated snapshot here).
variant=plain
[ "$secure_boot" = 0 ] || variant=secure-boot
variant="$release $variant"
key=$( {
  echo "variant $variant"
  cat "$0" "$root/scripts/debian-mirror.sh" | sha256sum
  (cd "$root/scripts/mkosi" && find . \( -type f -o -type l \) -print | LC_ALL=C sort | while read -r f; do
    if [ -L "$f" ]; then echo "link $f -> $(readlink "$f")"; else sha256sum "$f"; fi
  done)
  cat "$mkc/.yardstick-ready"
  chroot "$mkc" dpkg-query -W mkosi systemd
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/image.raw" ] && [ "$(cat "$out/inputs.sha256" 2>/dev/null)" = "$key" ]; then
  log "$shown/image.raw is up to date ($variant, inputs $key)"
  exit 0
fi
rm -f "$out/inputs.sha256"

# shellcheck source=scripts/debian-mirror.sh
. "$root/scripts/debian-mirror.sh"
mirror=$(debian_mirror | head -n 1)
[ -n "$mirror" ] || die "no apt source for bookworm found in /etc/apt"

# One build at a time in the chroot.
exec 9>"$mkc/.yardstick-lock"
flock 9

work="$mkc/build"
rm -rf "$work"
mkdir -p "$work"
cp -a "$root/scripts/mkosi/." "$work/"
# The image's apt sources: this machine's mirror (mkosi's default list names the debug archive as well).
mkdir -p "$work/mkosi.pkgmngr/etc/apt/sources.list.d"
cat >"$work/mkosi.pkgmngr/etc/apt/sources.list.d/mkosi.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
: >"$out/build.log"
if [ "$release" = bookworm ]; then
  # systemd 254 for the image and its initrd, from bookworm-backports (the chroot's sources have it).
  mkdir -p "$work/mkosi.packages"
  chroot "$mkc" sh -c 'cd /build/mkosi.packages && apt-get download -q -t bookworm-backports \
    systemd systemd-sysv libsystemd0 libsystemd-shared udev libudev1 systemd-boot-efi libnss-systemd \
    libpam-systemd systemd-dev systemd-timesyncd systemd-resolved systemd-container' >>"$out/build.log" 2>&1 \
    || { tail -n 20 "$out/build.log" >&2; die "downloading systemd 254 from bookworm-backports failed"; }
fi

args=(--force --release="$release")
if [ "$secure_boot" = 1 ]; then
  # Named other than mkosi.key/mkosi.crt, which mkosi would pick up for every build.
  openssl rsa -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$work/sb-snakeoil.key" 2>/dev/null \
    || die "cannot decrypt /usr/share/ovmf/PkKek-1-snakeoil.key (package ovmf)"
  cp /usr/share/ovmf/PkKek-1-snakeoil.pem "$work/sb-snakeoil.crt"
  args+=(--secure-boot=yes --secure-boot-key=/build/sb-snakeoil.key --secure-boot-certificate=/build/sb-snakeoil.crt)
fi

# mkosi runs `findmnt --target /`: the chroot must be a mount point. Unmounting takes every mount under it (a busy
# one lazily); mounts left by an interrupted build (none can be running: we hold the lock) go first.
cleanup() {
  local i
  for i in 1 2 3 4; do
    mountpoint -q "$mkc" || return 0
    umount -R "$mkc" 2>/dev/null || umount -R -l "$mkc" 2>/dev/null || true
  done
}
cleanup
trap cleanup EXIT
mount --bind "$mkc" "$mkc"
mount -t proc proc "$mkc/proc"
mount --rbind /sys "$mkc/sys"
mount --bind /dev "$mkc/dev"
mount --bind /dev/pts "$mkc/dev/pts"
mount -t tmpfs tmpfs "$mkc/tmp"
log "building the $variant image with $(chroot "$mkc" mkosi --version) (log: $shown/build.log)"
t0=$(date +%s)
if ! chroot "$mkc" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb SOURCE_DATE_EPOCH=0 \
    sh -c "cd /build && mkosi ${args[*]} build" >>"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log" >&2
  die "mkosi failed (whole log: $shown/build.log)"
fi
cleanup
trap - EXIT
for f in image.raw image.efi; do
  [ -f "$work/out/$f" ] || die "mkosi wrote no out/$f"
  cp --sparse=always "$work/out/$f" "$out/$f.tmp"
  mv "$out/$f.tmp" "$out/$f"
done
rm -rf "$work"
echo "$key" >"$out/inputs.sha256"
log "built $shown/image.raw ($variant) in $(( $(date +%s) - t0 )) s"
