#!/usr/bin/env python3
"""Capture OVMF's PEIFV as Tcg2Pei measured it (issue 15 research aid, not used by the tests).

Boots OVMF_CODE under QEMU (TCG, q35, smm=off, no disk) with swtpm logging every TPM command, waits for the
second TPM2_PCR_Extend of PCR 0 (EV_EFI_PLATFORM_FIRMWARE_BLOB of PEIFV; the first is EV_S_CRTM_VERSION), then
stops the guest through QMP and saves guest memory 0x820000+0xe0000 (PEIFV) and 0x900000+0xc00000 (DXEFV).
The guest is blocked on the TPM while the extend is being answered, so the saved bytes are within a few
instructions of the measured ones; the script also prints the SHA-256 of the saved PEIFV next to the digest the
guest extended, so a capture that came too late shows.

usage: capture-peifv.py [--no-reserve] [--smm] OVMF_CODE.fd OVMF_VARS.fd MEMORY_MIB VCPUS OUTDIR

--no-reserve backs guest RAM with a memory-backend-ram object with reserve=off (MAP_NORESERVE), so a guest larger
than the host's RAM + swap can be started (PEI touches little of it); the guest sees the same memory map.
--smm turns SMM on and the flash secure, as a Secure Boot build (OVMF_CODE_4M.secboot.fd) needs.
"""
import json, os, socket, subprocess, sys, time, hashlib, shutil

args = sys.argv[1:]
no_reserve = "--no-reserve" in args
smm = "--smm" in args
args = [a for a in args if a not in ("--no-reserve", "--smm")]
code, vars_, mem, vcpus, out = args[:5]
ram = ["-object", f"memory-backend-ram,id=ram0,size={mem}M,reserve=off"] if no_reserve else []
machine = ["-machine", ("q35,smm=on" if smm else "q35,smm=off") + (",memory-backend=ram0" if no_reserve else "")]
if smm:
    machine += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
os.makedirs(out, exist_ok=True)
tpmdir = os.path.join(out, "tpm")
shutil.rmtree(tpmdir, ignore_errors=True)
os.makedirs(tpmdir)
shutil.copy(vars_, os.path.join(out, "vars.fd"))
sock, qmp, log = (os.path.join(out, n) for n in ("swtpm.sock", "qmp.sock", "swtpm.log"))
for p in (sock, qmp, log):
    if os.path.exists(p):
        os.unlink(p)
swtpm = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={tpmdir}", "--ctrl",
                          f"type=unixio,path={sock}", "--log", f"file={log},level=20", "--terminate"])
while not os.path.exists(sock):
    time.sleep(0.05)
qemu = subprocess.Popen(["qemu-system-x86_64", "-accel", "tcg", *ram, *machine, "-m", mem,
                         "-smp", vcpus, "-nodefaults", "-display", "none", "-serial", "null",
                         "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}",
                         "-drive", f"if=pflash,format=raw,unit=1,file={os.path.join(out, 'vars.fd')}",
                         "-chardev", f"socket,id=chrtpm,path={sock}", "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                         "-device", "tpm-tis,tpmdev=tpm0", "-qmp", f"unix:{qmp},server=on,wait=off"])
while not os.path.exists(qmp):
    time.sleep(0.05)
q = socket.socket(socket.AF_UNIX)
q.connect(qmp)
f = q.makefile("rw")
f.readline()


def cmd(name, **args):
    f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r


cmd("qmp_capabilities")
digests = []
t0 = time.time()
while len(digests) < 2 and time.time() - t0 < 120:
    text = open(log).read()
    digests = []
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if l.startswith(" SWTPM_IO_Read") and i + 1 < len(lines) and \
                lines[i + 1].split()[6:14] == ["00", "00", "01", "82", "00", "00", "00", "00"]:
            raw = "".join("".join(x.split()) for x in lines[i + 1:i + 14])
            digests.append(raw)
    time.sleep(0.005)
cmd("stop")
cmd("pmemsave", val=0x820000, size=0xE0000, filename=os.path.join(out, "peifv-measured.bin"))
cmd("pmemsave", val=0x900000, size=0xC00000, filename=os.path.join(out, "dxefv-measured.bin"))
cmd("quit")
qemu.wait()
swtpm.kill()
swtpm.wait()
# TPML_DIGEST_VALUES after the auth area: count(4) then (alg(2) digest)*; sha256 follows sha1.
raw = bytes.fromhex(digests[1]) if len(digests) > 1 else b""
i = raw.find(bytes.fromhex("000b"), 50)
print("extended sha256:", raw[i + 2:i + 34].hex() if i > 0 else "?")
print("saved    sha256:", hashlib.sha256(open(os.path.join(out, "peifv-measured.bin"), "rb").read()).hexdigest())
