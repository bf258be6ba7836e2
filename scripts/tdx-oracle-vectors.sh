#!/usr/bin/env bash
# Regenerates crates/tdx/tests/data/oracle-vectors.json: MRTD, RTMR1 and RTMR2 for Debian's TDVF firmware and
# kernels, computed by two independent calculators built locally (neither is on a package registry, so CI
# cannot build them; the fixture keeps their outputs with provenance):
#
#   DSTACK_MR_ORACLE  a binary driving dstack-mr's library (Dstack-TEE/dstack, dstack/dstack-mr) through its
#                     public tdx::tdx_measurements_for_image_dir_without_rtmr0 (RTMR0 there needs a patched
#                     QEMU). Build: copy dstack/{Cargo.toml,Cargo.lock,dstack-mr,dstack-types,size-parser} out of
#                     the repository, trim the workspace members to those, add a member crate whose main() is
#                       let vm: dstack_types::VmConfig = serde_json::from_str(&args[2])?;
#                       let m = dstack_mr::tdx::tdx_measurements_for_image_dir_without_rtmr0(Path::new(&args[1]), &vm)?;
#                       println!("{{\"mrtd\":\"{}\",\"rtmr1\":\"{}\",\"rtmr2\":\"{}\"}}", hex(m.mrtd), hex(m.rtmr1), hex(m.rtmr2));
#                     and `cargo build --release -p <that crate>`.
#   TDX_MEASURE       fortanix/tdx-measure's CLI (`cd cli && cargo build --release --locked`).
#   TD_SHIM_MRTD      confidential-containers/td-shim's td-shim-tools/src/bin/td-shim-tee-info-hash/
#                     td_shim_tee_info_hash.py (Python, standard library only): MRTD, single-pass, an independent
#                     lineage (dstack-mr and tdx-measure share one).
# DSTACK_COMMIT, TDX_MEASURE_COMMIT and TD_SHIM_COMMIT name the commits built (recorded in the fixture).
#
# Inputs come from scripts/setup.sh: /usr/share/ovmf/OVMF.fd (Debian 12 ovmf), $YARDSTICK_TOOLS/ovmf-trixie/OVMF.fd,
# $YARDSTICK_TOOLS/kernel/vmlinuz (Debian 12) and $YARDSTICK_TOOLS/kernel-trixie/vmlinuz (Debian 13); the initrds
# are generated (their rule is in the fixture). Usage:
#   DSTACK_MR_ORACLE=... TDX_MEASURE=... YARDSTICK_TOOLS=.tools scripts/tdx-oracle-vectors.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="${YARDSTICK_TOOLS:-$root/.tools}"
: "${DSTACK_MR_ORACLE:?set DSTACK_MR_ORACLE to the dstack-mr driver binary (see the comment at the top)}"
: "${TDX_MEASURE:?set TDX_MEASURE to fortanix tdx-measure\'s CLI binary}"
: "${TD_SHIM_MRTD:?set TD_SHIM_MRTD to td-shim\'s td_shim_tee_info_hash.py}"
export DSTACK_MR_ORACLE TDX_MEASURE TD_SHIM_MRTD tools
exec python3 - "$root/crates/tdx/tests/data/oracle-vectors.json" <<'PY'
import hashlib, json, os, subprocess, sys, tempfile

tools = os.environ["tools"]
out_path = sys.argv[1]
FIRMWARE = {"bookworm": "/usr/share/ovmf/OVMF.fd", "trixie": f"{tools}/ovmf-trixie/OVMF.fd"}
KERNEL = {"bookworm": f"{tools}/kernel/vmlinuz", "trixie": f"{tools}/kernel-trixie/vmlinuz"}
# Generated initrds: byte i is (MUL * i + ADD) % MOD.
INITRD = {"a": dict(size=3000001, mul=1, add=0, mod=251), "b": dict(size=41943057, mul=7, add=3, mod=256)}
CMDLINES = ["console=ttyS0", "root=/dev/vda1 ro quiet console=hvc0 systemd.verity_root_hash=0123abcd"]

tmp = tempfile.mkdtemp()
def initrd_path(name):
    p = os.path.join(tmp, "initrd-" + name)
    if not os.path.exists(p):
        r = INITRD[name]
        with open(p, "wb") as f:
            f.write(bytes((r["mul"] * i + r["add"]) % r["mod"] for i in range(r["size"])))
    return p

def sha256(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()

def dstack(fw, kernel, initrd, cmdline, mem_mib, qemu):
    d = tempfile.mkdtemp(dir=tmp)
    json.dump({"bios": fw, "kernel": kernel, "initrd": initrd, "cmdline": cmdline}, open(f"{d}/metadata.json", "w"))
    vm = json.dumps({"cpu_count": 2, "memory_size": mem_mib << 20, "qemu_version": qemu})
    return json.loads(subprocess.check_output([os.environ["DSTACK_MR_ORACLE"], d, vm]))

def tdxm(fw, kernel, initrd, cmdline, mem_mib, patch):
    d = tempfile.mkdtemp(dir=tmp)
    json.dump({"boot_config": {"cpus": 2, "memory": f"{mem_mib}M", "bios": fw, "acpi_tables": "/dev/null"},
               "direct": {"kernel": kernel, "initrd": initrd, "cmdline": cmdline}}, open(f"{d}/metadata.json", "w"))
    args = [os.environ["TDX_MEASURE"], f"{d}/metadata.json", "--json", "--exclude-acpi-tables-rtmr0"]
    if patch:
        args.append("--patch-kernel")
    return json.loads(subprocess.check_output(args))

vectors = []
def add(v, results):
    """Keeps a value only where every oracle that computes it agrees; records disagreements."""
    expect, disagree = {}, {}
    for reg in ("mrtd", "rtmr1", "rtmr2"):
        vals = {name: r[reg] for name, r in results.items() if reg in r}
        if not vals:
            continue
        if len(set(vals.values())) == 1:
            expect[reg] = next(iter(vals.values()))
        else:
            disagree[reg] = vals
    v["expect"] = expect
    v["oracles"] = sorted(results)
    if disagree:
        v["disagree"] = disagree
    vectors.append(v)

# MRTD: both firmwares, both orders (dstack-mr: QEMU 8.x = two-pass, 9.x = single-pass; tdx-measure: single-pass).
for fw in ("bookworm", "trixie"):
    for order, qemu in (("two-pass", "8.2.0"), ("single-pass", "9.1.0")):
        args = (FIRMWARE[fw], KERNEL["trixie"], initrd_path("a"), CMDLINES[0], 2048)
        res = {"dstack-mr": {"mrtd": dstack(*args, qemu)["mrtd"]}}
        if order == "single-pass":
            res["tdx-measure"] = {"mrtd": tdxm(*args, False)["mrtd"]}
            out = subprocess.check_output(["python3", os.environ["TD_SHIM_MRTD"], "--image", FIRMWARE[fw]],
                                          stderr=subprocess.DEVNULL, text=True)
            res["td-shim"] = {"mrtd": out.split()[-1]}
        add({"firmware": fw, "mrtd_order": order, "memory_mib": 2048, "vcpus": 2}, res)

# RTMR1 with QEMU's patched setup header (QEMU < 10) over memory sizes, and RTMR2, for both kernels and initrds.
for kernel in ("trixie", "bookworm"):
    for initrd in ("a", "b"):
        for mem in (1024, 2048, 2560, 2816, 3072, 16384):
            args = (FIRMWARE["trixie"], KERNEL[kernel], initrd_path(initrd), CMDLINES[0], mem)
            d = dstack(*args, "9.1.0")
            t = tdxm(*args, True)
            add({"firmware": "trixie", "kernel": kernel, "initrd": initrd, "append": CMDLINES[0], "memory_mib": mem,
                 "vcpus": 2, "qemu_version": "9.1.0", "mrtd_order": "single-pass"},
                {"dstack-mr": d, "tdx-measure": t})

# RTMR1 with the unmodified kernel (QEMU >= 10; tdx-measure without --patch-kernel), RTMR2 for both cmdlines.
for kernel in ("trixie", "bookworm"):
    for initrd in ("a", "b"):
        for cmdline in CMDLINES:
            args = (FIRMWARE["trixie"], KERNEL[kernel], initrd_path(initrd), cmdline, 4096)
            t = tdxm(*args, False)
            d = dstack(*args, "9.1.0")
            add({"firmware": "trixie", "kernel": kernel, "initrd": initrd, "append": cmdline, "memory_mib": 4096,
                 "vcpus": 2, "qemu_version": "10.0.0", "mrtd_order": "single-pass"},
                {"tdx-measure": t, "dstack-mr": {"mrtd": d["mrtd"], "rtmr2": d["rtmr2"]}})

doc = {
    "provenance": {
        "dstack-mr": {"repository": "Dstack-TEE/dstack", "commit": os.environ.get("DSTACK_COMMIT", ""),
                      "entry": "dstack_mr::tdx::tdx_measurements_for_image_dir_without_rtmr0",
                      "command": "DSTACK_MR_ORACLE IMAGE_DIR '{\"cpu_count\":2,\"memory_size\":BYTES,\"qemu_version\":V}' "
                                 "with IMAGE_DIR/metadata.json {bios, kernel, initrd, cmdline}"},
        "tdx-measure": {"repository": "fortanix/tdx-measure", "commit": os.environ.get("TDX_MEASURE_COMMIT", ""),
                        "command": "tdx-measure METADATA --json --exclude-acpi-tables-rtmr0 [--patch-kernel] with "
                                   "METADATA {boot_config: {cpus: 2, memory: 'NM', bios, acpi_tables: /dev/null}, "
                                   "direct: {kernel, initrd, cmdline}}"},
        "td-shim": {"repository": "confidential-containers/td-shim", "commit": os.environ.get("TD_SHIM_COMMIT", ""),
                    "command": "python3 td-shim-tools/src/bin/td-shim-tee-info-hash/td_shim_tee_info_hash.py --image FIRMWARE"},
        "generator": "scripts/tdx-oracle-vectors.sh",
    },
    "inputs": {
        "firmware": {k: {"path": p.replace(tools, "$YARDSTICK_TOOLS"), "sha256": sha256(p)} for k, p in FIRMWARE.items()},
        "kernel": {k: {"path": p.replace(tools, "$YARDSTICK_TOOLS"), "sha256": sha256(p)} for k, p in KERNEL.items()},
        "initrd": {k: dict(r, sha256=sha256(initrd_path(k))) for k, r in INITRD.items()},
    },
    "vectors": vectors,
}
with open(out_path, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"{len(vectors)} vectors, {sum('disagree' in v for v in vectors)} with disagreements -> {out_path}", file=sys.stderr)
PY
