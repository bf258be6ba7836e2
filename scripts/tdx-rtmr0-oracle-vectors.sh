#!/usr/bin/env bash
# Regenerates crates/tdx/tests/data/rtmr0-oracle-vectors.json: RTMR0 (and MRTD) of Debian 13's TDVF for each
# ACPI blob set in crates/tdx/tests/data/acpi/ and several memory sizes, computed by two calculators built locally
# (neither is on a package registry; the fixture keeps their outputs with provenance):
#
#   TDX_MEASURE       fortanix/tdx-measure's CLI (`cd cli && cargo build --release --locked`), run as
#                       tdx-measure METADATA --json --platform-only
#                     with METADATA {boot_config: {cpus, memory: "<N>M", bios, acpi_tables[, rsdp, table_loader]},
#                     direct: {kernel, initrd, cmdline}}: once with the tables alone (it derives the RSDP and the
#                     loader) and, where the set has them, once with the RSDP and loader QEMU gave.
#   DSTACK_RTMR0      a driver of dstack-mr's library (Dstack-TEE/dstack): Machine::builder() (cpu_count, memory_size,
#                     firmware, kernel, initrd, kernel_cmdline "console=ttyS0", qemu_version "9.1.0", hugepages false,
#                     num_gpus 0, num_nvswitches 0, hotplug_off false, root_verity false).measure_with_logs(), printing
#                     measurements.rtmr0 and rtmr_logs[0] as hex. dstack-mr gets its ACPI tables by running
#                     `dstack-acpi-tables` (a patched QEMU) from PATH; here that name is a shim that prints
#                     $DSTACK_ACPI_BLOB, so it measures the same tables. Args: FIRMWARE KERNEL INITRD BYTES CPUS QEMU.
# TDX_MEASURE_COMMIT and DSTACK_COMMIT name the commits built (recorded in the fixture).
#
# Usage: TDX_MEASURE=... DSTACK_RTMR0=... DSTACK_SHIM_DIR=<dir holding the shim> YARDSTICK_TOOLS=.tools \
#        scripts/tdx-rtmr0-oracle-vectors.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="${YARDSTICK_TOOLS:-$root/.tools}"
: "${TDX_MEASURE:?set TDX_MEASURE to fortanix tdx-measure\'s CLI binary}"
: "${DSTACK_RTMR0:?set DSTACK_RTMR0 to the dstack-mr RTMR0 driver (see the comment at the top)}"
: "${DSTACK_SHIM_DIR:?set DSTACK_SHIM_DIR to a directory with the dstack-acpi-tables shim}"
export TDX_MEASURE DSTACK_RTMR0 DSTACK_SHIM_DIR tools
exec python3 - "$root/crates/tdx/tests/data" <<'PY'
import gzip, hashlib, json, os, struct, subprocess, sys, tempfile

data = sys.argv[1]
tools = os.environ["tools"]
FIRMWARE = f"{tools}/ovmf-trixie/OVMF.fd"
KERNEL = f"{tools}/kernel-trixie/vmlinuz"
MEMORY_MIB = [2048, 3072, 16384]
tmp = tempfile.mkdtemp()
initrd = os.path.join(tmp, "initrd")
open(initrd, "wb").write(b"\0" * 4096)

def sha256(b):
    return hashlib.sha256(b).hexdigest()

def madt_cpus(tables):
    o = 0
    while o + 8 <= len(tables) and tables[o:o+4].isalnum():
        sig, n = tables[o:o+4], struct.unpack_from("<I", tables, o + 4)[0]
        if sig == b"APIC":
            at, cpus = o + 44, 0
            while at + 2 <= o + n:
                cpus += tables[at] in (0, 9)
                at += tables[at + 1]
            return cpus
        o += n
    return 1

def tdxm(files, mem, cpus):
    meta = {"boot_config": {"cpus": cpus, "memory": f"{mem}M", "bios": FIRMWARE, "acpi_tables": files["tables"]},
            "direct": {"kernel": KERNEL, "initrd": initrd, "cmdline": "console=ttyS0"}}
    if "rsdp" in files:
        meta["boot_config"]["rsdp"] = files["rsdp"]
        meta["boot_config"]["table_loader"] = files["loader"]
    p = os.path.join(tmp, "metadata.json")
    json.dump(meta, open(p, "w"))
    return json.loads(subprocess.check_output([os.environ["TDX_MEASURE"], p, "--json", "--platform-only"]))

def dstack(tables_path, mem, cpus):
    env = dict(os.environ, DSTACK_ACPI_BLOB=tables_path, PATH=os.environ["DSTACK_SHIM_DIR"] + ":" + os.environ["PATH"])
    r = subprocess.run([os.environ["DSTACK_RTMR0"], FIRMWARE, KERNEL, initrd, str(mem << 20), str(cpus), "9.1.0"],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"}
    return json.loads(r.stdout)

sets, vectors = {}, []
acpi_dir = os.path.join(data, "acpi")
for name in sorted(os.listdir(acpi_dir)):
    files, digests = {}, {}
    for kind in ("tables", "rsdp", "loader"):
        gz = os.path.join(acpi_dir, name, kind + ".bin.gz")
        if os.path.exists(gz):
            b = gzip.open(gz).read()
            files[kind] = os.path.join(tmp, f"{name}.{kind}.bin")
            open(files[kind], "wb").write(b)
            digests[kind] = {"sha256": sha256(b), "size": len(b)}
    cpus = madt_cpus(open(files["tables"], "rb").read())
    sets[name] = dict(digests, madt_cpus=cpus)
    for mem in MEMORY_MIB:
        v = {"acpi": name, "memory_mib": mem, "vcpus": cpus, "oracles": {}}
        only_tables = {"tables": files["tables"]}
        v["oracles"]["tdx-measure"] = tdxm(only_tables, mem, cpus)
        if "rsdp" in files:
            v["oracles"]["tdx-measure-given"] = tdxm(files, mem, cpus)
        v["oracles"]["dstack-mr"] = dstack(files["tables"], mem, cpus)
        vectors.append(v)

doc = {
    "provenance": {
        "tdx-measure": {"repository": "fortanix/tdx-measure", "commit": os.environ.get("TDX_MEASURE_COMMIT", "unknown"),
                        "command": "tdx-measure METADATA --json --platform-only (METADATA as in scripts/tdx-rtmr0-oracle-vectors.sh; -given: with rsdp and table_loader)"},
        "dstack-mr": {"repository": "Dstack-TEE/dstack", "commit": os.environ.get("DSTACK_COMMIT", "unknown"),
                      "entry": "dstack_mr::Machine::measure_with_logs, ACPI tables from a dstack-acpi-tables shim printing the set's tables"},
        "generator": "scripts/tdx-rtmr0-oracle-vectors.sh",
    },
    "inputs": {"firmware": {"trixie": {"path": "$YARDSTICK_TOOLS/ovmf-trixie/OVMF.fd", "sha256": sha256(open(FIRMWARE, "rb").read())}},
               "acpi": sets},
    "vectors": vectors,
}
out = os.path.join(data, "rtmr0-oracle-vectors.json")
json.dump(doc, open(out, "w"), indent=1)
print(out, len(vectors), "vectors")
PY
