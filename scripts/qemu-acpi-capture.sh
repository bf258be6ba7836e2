#!/usr/bin/env bash
# Dumps the ACPI fw_cfg files QEMU serves a q35 guest (etc/acpi/tables, etc/acpi/rsdp, etc/table-loader) as
# PREFIX.{tables,rsdp,loader}.bin: boots $YARDSTICK_TOOLS/kernel-trixie/vmlinuz (TCG, no TDX needed) with an initrd
# whose /init is a static program that reads fw_cfg through its I/O ports (selector 0x510, data 0x511, file
# directory 0x19) and prints the three files as hex on the serial console. QEMU builds the same blobs for
# whatever firmware reads them; crates/tdx/tests/data/acpi/qemu-* were made with it (QEMU 10.0.2, Debian
# 1:10.0.2+ds-2+deb13u1~bpo12+1), to check the RSDP and loader yardstick derives from a tables blob.
# Usage: scripts/qemu-acpi-capture.sh PREFIX QEMU-MACHINE-ARGS...   (needs gcc, libc6-dev, busybox)
#   e.g. scripts/qemu-acpi-capture.sh /tmp/c1 -machine q35,smm=off,hpet=off -smp 2 -m 2048
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="${YARDSTICK_TOOLS:-$root/.tools}"
out=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/dump.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <unistd.h>
static unsigned char buf[1 << 20], dir[4096 * 64];
static void sel(unsigned short s) { outw(s, 0x510); }
static void rd(unsigned char *p, unsigned n) { for (unsigned i = 0; i < n; i++) p[i] = inb(0x511); }
static unsigned be32(const unsigned char *p) { return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }
int main(void) {
  if (iopl(3)) { printf("iopl failed\n"); reboot(RB_POWER_OFF); }
  unsigned char h[4]; sel(0x19); rd(h, 4); unsigned count = be32(h);
  if (count > 4096) count = 4096;
  rd(dir, count * 64);
  const char *want[] = {"etc/table-loader", "etc/acpi/rsdp", "etc/acpi/tables"};
  for (int w = 0; w < 3; w++)
    for (unsigned i = 0; i < count; i++) {
      unsigned char *e = dir + i * 64;
      if (strncmp((char *)e + 8, want[w], 56)) continue;
      unsigned size = be32(e); unsigned short s = (e[4] << 8) | e[5];
      if (size > sizeof buf) size = sizeof buf;
      sel(s); rd(buf, size);
      printf("\nFWCFG-BEGIN %s %u\n", want[w], size);
      for (unsigned j = 0; j < size; j++) { printf("%02x", buf[j]); if (j % 64 == 63) printf("\n"); }
      printf("\nFWCFG-END %s\n", want[w]);
    }
  fflush(stdout); sync(); reboot(RB_POWER_OFF); return 0;
}
C
mkdir "$work/rd"
gcc -static -O2 -o "$work/rd/init" "$work/dump.c"
(cd "$work/rd" && echo init | busybox cpio -o -H newc > "$work/initrd.cpio")
timeout 300 qemu-system-x86_64 -accel tcg -nographic -nodefaults -serial "file:$work/serial.log" -no-reboot \
  -kernel "$tools/kernel-trixie/vmlinuz" -initrd "$work/initrd.cpio" -append "console=ttyS0 quiet panic=-1" "$@"
python3 - "$work/serial.log" "$out" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
names = {"etc/table-loader": "loader", "etc/acpi/rsdp": "rsdp", "etc/acpi/tables": "tables"}
for m in re.finditer(r"FWCFG-BEGIN (\S+) (\d+)\n(.*?)\nFWCFG-END", text, re.S):
    b = bytes.fromhex(re.sub(r"\s", "", m.group(3)))
    assert len(b) == int(m.group(2)), m.group(1)
    open(f"{sys.argv[2]}.{names[m.group(1)]}.bin", "wb").write(b)
    print(m.group(1), len(b))
PY
