#!/usr/bin/env bash
# Idempotent installer for everything yardstick's tests, benchmarks and demos need on a fresh Debian 12 machine.
# Run as root. Safe to run again: every step checks before it acts.
#
# Installs:
#   apt:  debootstrap (the mkosi chroot), peer tools (veritysetup, QEMU, OVMF, swtpm, tpm2-tools, sbsigntool, mkfs tools, busybox) and systemd-stub 252
#   .tools/ (in the checkout, git-ignored):
#         venv/            Python venv with sev-snp-measure 0.0.13 (the SNP oracle) and pefile (for ukify)
#         systemd-254/     bookworm-backports systemd + systemd-boot-efi 254 unpacked (systemd-measure, ukify, stub)
#         systemd-257/     trixie systemd-boot-efi + systemd-ukify 257 unpacked (stub, ukify)
#         kernel/          Debian's linux-image (bzImage + modules) for guest boots
#         qemu-7.2/        Debian 12's QEMU 7.2 (bookworm) unpacked, with its ROMs, beside the installed QEMU 10
#         mkosi-chroot/    debootstrap'd bookworm with mkosi 24.3 + systemd 254 from backports (scripts/mkosi-image.sh)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="${YARDSTICK_TOOLS:-$root/.tools}"
mkdir -p "$tools"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'setup: %s\n' "$*" >&2; }

apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -q >/dev/null
    apt_updated=1
  fi
}

# --- apt sources: bookworm-backports gives QEMU 10 and systemd 254 ---------------------------------------------
# The mirror is the one this machine already uses for bookworm (deb822 .sources or one-line sources.list), so a
# local mirror or proxy keeps working; no host is named here.
# shellcheck source=scripts/debian-mirror.sh
. "$root/scripts/debian-mirror.sh"
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  mirror=$(debian_mirror | head -n 1)
  if [ -z "$mirror" ]; then
    log "error: no apt source for bookworm found in /etc/apt (needed to add bookworm-backports from the same mirror)"
    exit 2
  fi
  log "adding bookworm-backports from $mirror"
  echo "deb $mirror bookworm-backports main" >/etc/apt/sources.list.d/yardstick-backports.list
fi

# --- apt packages --------------------------------------------------------------------------------------------------
pkgs=(
  cryptsetup-bin        # veritysetup 2.6.1: dm-verity oracle
  ovmf                  # OVMF firmware + snakeoil Secure Boot VARS and key
  swtpm swtpm-tools     # software TPM for guest boots and quotes
  ipxe-qemu             # the NICs' option ROMs (efi-virtio.rom, efi-e1000e.rom) measured into PCR 2
  tpm2-tools            # tpm2_eventlog, tpm2_quote, ... (oracles and quote generation)
  sbsigntool            # signs UKIs for the Secure Boot boot test
  openssl               # keys and PKCS#7 for root-hash signatures
  busybox-static        # guest userspace
  mtools dosfstools     # FAT ESP cross-checks
  erofs-utils squashfs-tools e2fsprogs fdisk   # root filesystems, partition table checks
  systemd-boot-efi      # systemd-stub 252 (Debian 12)
  python3-venv python3-pip
  gcc libc6-dev         # linker and C compiler for cargo (ring's assembly, build scripts)
  libssl-dev pkg-config # OpenSSL libcrypto, which computes SHA-384/512 (the openssl crate links it)
  time hyperfine        # benchmarks (peak RSS, timing)
  xxd                   # test scripts
  dmsetup               # copied into the example guest's initrd (scripts/example-guest.sh)
  binutils              # objcopy/objdump: independent PE section extraction (systemd-measure, image tests)
  bc                    # benchmark arithmetic (scripts/bench-image.sh)
  libip4tc2             # linked by systemd 254's libsystemd-shared (systemd-measure, systemd-repart in .tools/)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update
  log "installing ${missing[*]}"
  apt-get install -y -q "${missing[@]}" >/dev/null
fi
# QEMU 10 from backports, after the bookworm packages and without recommends: with `-t bookworm-backports` every
# package apt has to add comes from backports, and QEMU's recommends reach systemd, which on a minimal system
# would bring systemd 254 and replace Debian 12's systemd-stub 252 that the tests boot.
if ! command -v qemu-system-x86_64 >/dev/null; then
  apt_update
  log "installing qemu-system-x86 from bookworm-backports"
  apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null
fi

# --- Debian 12's own QEMU 7.2, unpacked (not installed) beside backports' QEMU 10 ---------------------------------
# The firmware-PCR boots run under both. One tree holds qemu-system-x86 7.2, its modules (qemu-system-common: TCG
# is a module in 7.2), its data files and Debian 12's seabios and ipxe-qemu (the VGA BIOS and NIC option ROMs it
# maps). QEMU 7.2 looks for ROMs and modules relative to its binary (../share/qemu, ../share/seabios,
# ../lib/ipxe/qemu, ../lib/x86_64-linux-gnu/qemu), so it never reads QEMU 10's. Libraries it links that this
# machine lacks are unpacked into the tree too; .tools/qemu-7.2/qemu-system-x86_64 runs it with them.
q72="$tools/qemu-7.2"
if [ ! -x "$q72/qemu-system-x86_64" ] || [ ! -x "$q72/root/usr/bin/qemu-system-x86_64" ]; then
  apt_update
  # The version a Debian 12 machine without backports gets: the newest of bookworm and bookworm-security (apt's
  # candidate here is backports' QEMU 10).
  q72_version='' q72_suite=''
  while read -r v s; do
    if [ -z "$q72_version" ] || dpkg --compare-versions "$v" gt "$q72_version"; then q72_version=$v q72_suite=$s; fi
  done < <(apt-cache madison qemu-system-x86 | awk -F'|' '{ gsub(/ /, "", $2); split($3, a, " "); split(a[2], r, "/");
             if (r[1] == "bookworm" || r[1] == "bookworm-security") print $2, r[1] }')
  if [ -z "$q72_version" ]; then
    log "error: apt knows no qemu-system-x86 in bookworm or bookworm-security"
    exit 2
  fi
  log "unpacking Debian 12's qemu-system-x86 $q72_version ($q72_suite) into $q72"
  tmp=$(mktemp -d); chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -q "qemu-system-x86=$q72_version" "qemu-system-common=$q72_version" \
    "qemu-system-data/$q72_suite" seabios/bookworm ipxe-qemu/bookworm >/dev/null)
  # Its libraries (lib* in Depends) that are not installed here, from Debian 12 too.
  libs=()
  for p in $(dpkg-deb -f "$tmp"/qemu-system-x86_*.deb Depends | tr ',' '\n' | sed 's/^ *//; s/[ (|].*//' | grep '^lib'); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || libs+=("$p")
  done
  if [ ${#libs[@]} -gt 0 ]; then
    log "unpacking libraries QEMU 7.2 needs and this machine lacks: ${libs[*]}"
    (cd "$tmp" && apt-get download -q "${libs[@]}" >/dev/null)
  fi
  rm -rf "$q72"; mkdir -p "$q72/root"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$q72/root"; done
  rm -rf "$q72/root/usr/share/doc" "$q72/root/usr/share/man" "$tmp"
  cat >"$q72/qemu-system-x86_64.tmp" <<'EOF'
#!/bin/sh
# Debian 12's QEMU 7.2, unpacked by scripts/setup.sh: its own ROMs and modules (found next to the binary) and the
# libraries unpacked beside it.
d=$(dirname "$(readlink -f "$0")")/root
LD_LIBRARY_PATH="$d/usr/lib/x86_64-linux-gnu:$d/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
exec "$d/usr/bin/qemu-system-x86_64" "$@"
EOF
  chmod 755 "$q72/qemu-system-x86_64.tmp"
  if ! "$q72/qemu-system-x86_64.tmp" --version >/dev/null; then
    log "error: the unpacked QEMU 7.2 does not run (a library missing?): $q72"
    exit 2
  fi
  echo "$q72_version" >"$q72/version"
  mv "$q72/qemu-system-x86_64.tmp" "$q72/qemu-system-x86_64"
fi

# --- Rust: the test command runs cargo fmt and cargo clippy ---------------------------------------------------------
if ! command -v cargo >/dev/null; then
  log "warning: cargo is not on PATH here; the tests need Rust stable with rustfmt and clippy (rustup)"
elif command -v rustup >/dev/null && { ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; }; then
  log "adding rustup components rustfmt and clippy"
  rustup component add rustfmt clippy
fi

# --- Python venv: sev-snp-measure (SNP oracle), pefile (ukify 254) -----------------------------------------------
venv="$tools/venv"
if [ ! -x "$venv/bin/sev-snp-measure" ] || ! "$venv/bin/python" -c 'import pefile' 2>/dev/null; then
  log "creating $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'sev-snp-measure==0.0.13' 'pefile'
fi

# --- systemd 254 from bookworm-backports, unpacked (not installed) -----------------------------------------------
sd="$tools/systemd-254"
if [ ! -x "$sd/lib/systemd/systemd-measure" ] || ! ls "$sd"/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-254*.so >/dev/null 2>&1 || [ ! -f "$sd/usr/lib/systemd/boot/efi/linuxx64.efi.stub" ]; then
  apt_update
  log "unpacking systemd 254 into $sd"
  tmp=$(mktemp -d); chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -q -t bookworm-backports systemd systemd-boot-efi libsystemd-shared >/dev/null)
  rm -rf "$sd"; mkdir -p "$sd"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$sd"; done
  rm -rf "$tmp"
fi

# --- Debian kernel for guests (bzImage + modules), unpacked --------------------------------------------------------
kdir="$tools/kernel"
if [ ! -f "$kdir/vmlinuz" ]; then
  apt_update
  kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  log "unpacking $kpkg into $kdir"
  tmp=$(mktemp -d); chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -q "$kpkg" >/dev/null)
  rm -rf "$kdir"; mkdir -p "$kdir/root"
  dpkg-deb -x "$tmp"/*.deb "$kdir/root"
  kver=${kpkg#linux-image-}
  cp "$kdir/root/boot/vmlinuz-$kver" "$kdir/vmlinuz.tmp" && mv "$kdir/vmlinuz.tmp" "$kdir/vmlinuz"
  echo "$kver" >"$kdir/version"
  rm -rf "$tmp"
fi

# --- Debian 13 (trixie) TDX inputs: ovmf 2025.02 (TdTcg2Dxe) and the 6.12 kernel, unpacked ------------------------
# Downloaded through a side apt configuration under .tools/apt-trixie (its own sources list, lists and cache), so
# the machine's apt sources stay bookworm-only; the mirror is the one this machine uses for bookworm.
trixie_apt() {
  local d="$tools/apt-trixie" cmd=apt-get
  if [ "$1" = cache ]; then cmd=apt-cache; shift; fi
  "$cmd" -q -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts="$d/parts.d" \
    -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o Dir::State::status="$d/status" \
    -o APT::Default-Release=trixie "$@"
}
trixie_updated=0
trixie_update() {
  local d="$tools/apt-trixie"
  if [ "$trixie_updated" = 0 ]; then
    mkdir -p "$d/parts.d" "$d/lists/partial" "$d/cache/archives/partial"
    touch "$d/status"
    if [ ! -s "$d/sources.list" ]; then
      local m
      m=$(debian_mirror | head -n 1)
      if [ -z "$m" ]; then
        log "error: no apt source for bookworm found in /etc/apt (needed to add trixie from the same mirror)"
        exit 2
      fi
      echo "deb $m trixie main" >"$d/sources.list"
    fi
    trixie_apt update >/dev/null
    trixie_updated=1
  fi
}
ovt="$tools/ovmf-trixie"
if [ ! -f "$ovt/OVMF.fd" ]; then
  trixie_update
  log "unpacking trixie ovmf into $ovt"
  tmp=$(mktemp -d); chmod 755 "$tmp"
  (cd "$tmp" && trixie_apt download ovmf >/dev/null)
  rm -rf "$ovt"; mkdir -p "$ovt/root"
  dpkg-deb -x "$tmp"/ovmf_*.deb "$ovt/root"
  dpkg-deb -f "$tmp"/ovmf_*.deb Version >"$ovt/version"
  cp "$ovt/root/usr/share/ovmf/OVMF.fd" "$ovt/OVMF.fd.tmp" && mv "$ovt/OVMF.fd.tmp" "$ovt/OVMF.fd"
  rm -rf "$tmp"
fi
# systemd 257 (Debian 13): systemd-stub 257 (systemd-boot-efi) and ukify 257 (systemd-ukify, run by the venv's
# Python for pefile), unpacked, for the stub-257 tests. systemd-measure 257 is not taken: it needs trixie's glibc.
sd7="$tools/systemd-257"
if [ ! -f "$sd7/usr/lib/systemd/boot/efi/linuxx64.efi.stub" ] || [ ! -f "$sd7/usr/lib/systemd/ukify" ]; then
  trixie_update
  log "unpacking trixie systemd-boot-efi + systemd-ukify into $sd7"
  tmp=$(mktemp -d); chmod 755 "$tmp"
  (cd "$tmp" && trixie_apt download systemd-boot-efi systemd-ukify >/dev/null)
  rm -rf "$sd7"; mkdir -p "$sd7"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$sd7"; done
  dpkg-deb -f "$tmp"/systemd-boot-efi_*.deb Version >"$sd7/version"
  rm -rf "$tmp"
fi
ktx="$tools/kernel-trixie"
if [ ! -f "$ktx/vmlinuz" ]; then
  trixie_update
  kpkg=$(trixie_apt cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
  log "unpacking trixie $kpkg into $ktx"
  tmp=$(mktemp -d); chmod 755 "$tmp"
  (cd "$tmp" && trixie_apt download "$kpkg" >/dev/null)
  rm -rf "$ktx"; mkdir -p "$ktx/root"
  dpkg-deb -x "$tmp"/*.deb "$ktx/root"
  kver=${kpkg#linux-image-}
  cp "$ktx/root/boot/vmlinuz-$kver" "$ktx/vmlinuz.tmp" && mv "$ktx/vmlinuz.tmp" "$ktx/vmlinuz"
  echo "$kver" >"$ktx/version"
  rm -rf "$ktx/root/lib" "$ktx/root/usr/lib/modules"
  rm -rf "$tmp"
fi

# --- mkosi 24.3 (bookworm-backports) in a debootstrap chroot, for the real mkosi image test -------------------------
# mkosi 24 needs systemd 254 (systemd-repart, ukify, systemd-measure) as its tools; installing those on the host would
# replace Debian 12's systemd and systemd-stub 252 that other tests boot, so they live in a minbase chroot under
# .tools/mkosi-chroot, which scripts/mkosi-image.sh enters. The chroot's apt sources are this machine's mirror.
mkc="$tools/mkosi-chroot"
mkosi_pkgs=(
  mkosi systemd systemd-container systemd-boot systemd-boot-efi bubblewrap fdisk uidmap sbsigntool
  python3-pefile python3-cryptography openssl cryptsetup-bin dosfstools mtools erofs-utils squashfs-tools
  e2fsprogs cpio zstd xz-utils kmod debian-archive-keyring apt-utils dpkg-dev reprepro
  libtss2-esys-3.0.2-0 libtss2-mu0 libtss2-rc0 libtss2-tcti-device0   # systemd-measure (SignExpectedPcr)
)
if [ ! -f "$mkc/.yardstick-ready" ] || [ "$(cat "$mkc/.yardstick-ready")" != "${mkosi_pkgs[*]}" ]; then
  if ! command -v debootstrap >/dev/null; then
    apt_update
    log "installing debootstrap"
    apt-get install -y -q debootstrap >/dev/null
  fi
  m=$(debian_mirror | head -n 1)
  if [ -z "$m" ]; then
    log "error: no apt source for bookworm found in /etc/apt (needed for the mkosi chroot)"
    exit 2
  fi
  if [ ! -x "$mkc/usr/bin/apt-get" ]; then
    log "debootstrap bookworm into $mkc"
    rm -rf "$mkc"
    debootstrap --variant=minbase bookworm "$mkc" "$m" >/dev/null
  fi
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-backports main\n' "$m" "$m" "$m" \
    >"$mkc/etc/apt/sources.list"
  log "installing mkosi 24 (bookworm-backports) and its tools into $mkc"
  mount --bind /proc "$mkc/proc"
  trap 'umount "$mkc/proc" 2>/dev/null || true' EXIT
  chroot "$mkc" apt-get update -q >/dev/null
  chroot "$mkc" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -t bookworm-backports "${mkosi_pkgs[@]}" >/dev/null
  chroot "$mkc" apt-get clean
  umount "$mkc/proc"
  trap - EXIT
  echo "${mkosi_pkgs[*]}" >"$mkc/.yardstick-ready"
fi

log "ok ($tools)"
