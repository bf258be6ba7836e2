//! Boot harness: boots a UKI under QEMU (TCG) + OVMF + swtpm and reads back what the guest measured.
//!
//! Reusable by any test that needs a real boot (UKI PCRs, dm-verity images, TPM quotes):
//!
//! ```ignore
//! mod support;
//! #[path = "support/boot.rs"]
//! mod boot;
//!
//! let initrd = boot::busybox_initrd(&boot::GuestScript::default());
//! // ... build a UKI around it with `yardstick uki build`, then:
//! let out = boot::boot_uki(&boot::BootConfig::new(&uki_path)).unwrap();
//! println!("PCR 11 = {}", out.pcrs.get(Algorithm::Sha256, 11).unwrap());
//! std::fs::write("eventlog.bin", &out.event_log).unwrap();
//! ```
//!
//! A whole disk image (`yardstick image build --layout uki`) boots the same way with
//! [`BootConfig::disk_image`]; its own init then prints the report.
//!
//! The guest's busybox `/init` prints every PCR 0-15 of the sha1, sha256 and sha384 banks from
//! `/sys/class/tpm/tpm0/pcr-<bank>/N` (lines `YS-PCR <bank> <n> <HEX>`), the base64 of
//! `/sys/kernel/security/tpm0/binary_bios_measurements` between `YS-LOG-BEGIN` and `YS-LOG-END`, runs the
//! caller's extra shell commands, and powers off. swtpm and QEMU are children of the test and are killed
//! when the boot ends, fails or times out; all files live in a temporary directory.
//!
//! [`boot_uki_keep_tpm`] keeps the guest's TPM instead: a relying party can then quote the PCRs the guest
//! left (tpm2-tools on the host, through the returned [`TpmServer`]).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_image::cpio::CpioWriter;
use yardstick_tpm::PcrBanks;

use super::support::{peer, qemu_headless};

/// A swtpm holding the TPM state a guest left behind (PCRs as the guest saw them, not reset), serving the
/// TPM command protocol on loopback TCP for tpm2-tools (`TPM2TOOLS_TCTI=swtpm:...`). Killed on drop.
pub use super::support::swtpm::Swtpm as TpmServer;

/// One boot at a time per test binary: TCG emulation is CPU bound and the machine has two cores.
static BOOT_LOCK: Mutex<()> = Mutex::new(());

/// The banks the guest prints.
pub const GUEST_BANKS: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha384];

/// What the guest's `/init` does besides reporting PCRs and the event log.
#[derive(Debug, Clone, Default)]
pub struct GuestScript {
    /// Shell commands (busybox sh) run after the report, before `poweroff -f`. `/bin` has busybox applets.
    pub extra: String,
    /// Stay up after the report instead of powering off, for [`boot_uki_keep_tpm`], which stops QEMU
    /// itself: a guest that powers off makes QEMU send swtpm `CMD_SHUTDOWN`, which ends the TPM.
    pub hold: bool,
}

/// The guest's `/init`.
pub fn init_script(script: &GuestScript) -> String {
    format!(
        r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security
# Only emergency kernel messages on the console from here: the report is parsed line by line.
echo 1 > /proc/sys/kernel/printk
# Report on the serial port whatever the kernel console is (the UKI may carry no console= at all).
[ -c /dev/ttyS0 ] && exec >/dev/ttyS0 2>&1
echo YS-BEGIN
for b in sha1 sha256 sha384; do
  for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    echo "YS-PCR $b $i $(cat /sys/class/tpm/tpm0/pcr-$b/$i)"
  done
done
echo YS-LOG-BEGIN
base64 /sys/kernel/security/tpm0/binary_bios_measurements
echo YS-LOG-END
{extra}
echo YS-END
{end}
"#,
        extra = script.extra,
        end = if script.hold {
            "while true; do sleep 3600; done"
        } else {
            "poweroff -f"
        }
    )
}

/// A newc initrd with static busybox as `/bin/busybox` and the reporting `/init` (built with yardstick's own
/// reproducible cpio writer).
pub fn busybox_initrd(script: &GuestScript) -> Vec<u8> {
    busybox_initrd_with(script, &[])
}

/// Like [`busybox_initrd`], plus extra files `(path in the archive, contents, mode)`; parent directories of
/// extra files must be listed as entries with empty contents and mode `0o040755`.
pub fn busybox_initrd_with(script: &GuestScript, extra: &[(&str, Vec<u8>, u32)]) -> Vec<u8> {
    let busybox = std::fs::read(peer("busybox")).expect("read busybox");
    let mut w = CpioWriter::new(Vec::new());
    for d in ["bin", "dev", "proc", "sys", "tmp"] {
        w.dir(d, 0o755).unwrap();
    }
    w.char_device("dev/console", 0o600, 5, 1).unwrap();
    w.file("bin/busybox", 0o755, &busybox).unwrap();
    w.file("init", 0o755, init_script(script).as_bytes())
        .unwrap();
    for (path, data, mode) in extra {
        if mode & 0o170000 == 0o040000 {
            w.dir(path, mode & 0o7777).unwrap();
        } else {
            w.file(path, mode & 0o7777, data).unwrap();
        }
    }
    w.finish().unwrap()
}

/// Firmware and machine settings for one boot.
#[derive(Debug, Clone)]
pub struct BootConfig {
    /// The UKI, installed as `\EFI\BOOT\BOOTX64.EFI` on a FAT ESP (a whole-disk FAT image, first in boot order).
    /// Ignored when [`BootConfig::disk`] is set.
    pub uki: PathBuf,
    /// A whole disk image to boot instead (e.g. `yardstick image build --layout uki`: GPT with the UKI on its
    /// ESP), attached in place of the generated ESP (virtio-blk, read-only snapshot, `bootindex=0` with
    /// [`BootConfig::boot_index`]). Its initrd and root filesystem must print the report
    /// [`init_script`] prints (the `YS-PCR`, `YS-LOG-*` and `YS-END` lines).
    pub disk: Option<PathBuf>,
    /// OVMF code (read-only pflash).
    pub ovmf_code: PathBuf,
    /// OVMF VARS template (copied fresh for every boot).
    pub ovmf_vars: PathBuf,
    /// Secure-Boot-capable firmware: SMM on and the pflash secure (needed by `OVMF_CODE_4M.secboot.fd`).
    pub smm: bool,
    /// Extra raw disks (virtio-blk, read-only snapshot), e.g. a dm-verity image: `/dev/vdb`, `/dev/vdc`, ...
    pub extra_disks: Vec<PathBuf>,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// vCPUs (`-smp`; QEMU's default, 1, is not passed).
    pub vcpus: u32,
    /// Put the ESP first in the boot order (`bootindex=0`). Without it q35 OVMF tries other boot options
    /// first and logs "Returning from EFI Application from Boot Option" + another "Calling ..." in PCR 4.
    pub boot_index: bool,
    /// A NIC after the disks, by QEMU device name (`virtio-net-pci`, `e1000e`; QEMU's first MAC
    /// 52:54:00:12:34:56, user networking restricted to the host): QEMU maps its iPXE option ROM
    /// (`efi-virtio.rom`, `efi-e1000e.rom`), which OVMF loads and measures into PCR 2.
    pub nic: Option<&'static str>,
    /// The QEMU that boots the guest.
    pub qemu: Qemu,
    /// Give up after this long.
    pub timeout: Duration,
}

/// Which QEMU boots the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Qemu {
    /// The installed `qemu-system-x86_64` (QEMU 10.0 from bookworm-backports, scripts/setup.sh).
    #[default]
    Installed,
    /// Debian 12's own QEMU 7.2, unpacked by scripts/setup.sh into `.tools/qemu-7.2` beside the installed one;
    /// its wrapper script runs it with the libraries unpacked there, and it maps its own ROMs (Debian 12's
    /// seabios VGA BIOS, ipxe-qemu), found next to its binary.
    Debian12,
}

impl Qemu {
    /// The program to run (a missing one fails the test, naming scripts/setup.sh).
    pub fn program(self) -> PathBuf {
        match self {
            Qemu::Installed => peer("qemu-system-x86_64"),
            Qemu::Debian12 => peer("qemu-7.2/qemu-system-x86_64"),
        }
    }

    /// The version QEMU reports, e.g. `7.2.22` (from the first line of `--version`).
    pub fn version(self) -> String {
        let out = Command::new(self.program())
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program().display()));
        assert!(out.status.success(), "{:?} --version failed", self);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .next()
            .and_then(|l| l.strip_prefix("QEMU emulator version "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected `qemu --version` output: {text}"))
            .to_string()
    }

    /// The versioned machine type `-machine q35` stands for, `pc-q35-MAJOR.MINOR`: what the guest reads as
    /// the SMBIOS system version (`/sys/class/dmi/id/product_version`), which tells which QEMU booted it.
    pub fn q35_machine(self) -> String {
        let v = self.version();
        let mut parts = v.split('.');
        let (major, minor) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        format!("pc-q35-{major}.{minor}")
    }
}

impl BootConfig {
    /// Debian's OVMF without Secure Boot (`OVMF_CODE_4M.fd` + `OVMF_VARS_4M.fd`), 1 GiB, 10 minutes.
    pub fn new(uki: &Path) -> BootConfig {
        BootConfig {
            uki: uki.to_path_buf(),
            disk: None,
            ovmf_code: "/usr/share/OVMF/OVMF_CODE_4M.fd".into(),
            ovmf_vars: "/usr/share/OVMF/OVMF_VARS_4M.fd".into(),
            smm: false,
            extra_disks: Vec::new(),
            memory_mib: 1024,
            vcpus: 1,
            boot_index: true,
            nic: None,
            qemu: Qemu::Installed,
            timeout: Duration::from_secs(600),
        }
    }

    /// Boots the whole disk image `disk` (its ESP's `\EFI\BOOT\BOOTX64.EFI`) with Debian's OVMF without
    /// Secure Boot, the disk first in the boot order.
    pub fn disk_image(disk: &Path) -> BootConfig {
        BootConfig {
            disk: Some(disk.to_path_buf()),
            ..BootConfig::new(disk)
        }
    }

    /// Debian's Secure Boot firmware with the snakeoil keys enrolled (Secure Boot on).
    pub fn snakeoil_secure_boot(uki: &Path) -> BootConfig {
        BootConfig {
            ovmf_code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd".into(),
            ovmf_vars: SNAKEOIL_VARS.into(),
            smm: true,
            ..BootConfig::new(uki)
        }
    }
}

/// What a boot produced.
#[derive(Debug, Clone)]
pub struct BootOutput {
    /// PCRs 0-15 of sha1, sha256, sha384 as read in the guest.
    pub pcrs: PcrBanks,
    /// The guest's `binary_bios_measurements`.
    pub event_log: Vec<u8>,
    /// The whole serial console output.
    pub serial: String,
    /// Wall time from QEMU start to exit.
    pub duration: Duration,
}

/// Kills and reaps a child process when dropped.
struct Reaper(Option<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn run_tool(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Debian's snakeoil Secure Boot key pair (package ovmf; the PEM key is encrypted with "snakeoil") and the VARS
/// file with it enrolled.
pub const SNAKEOIL_KEY: &str = "/usr/share/ovmf/PkKek-1-snakeoil.key";
/// The snakeoil certificate (in db of [`SNAKEOIL_VARS`]).
pub const SNAKEOIL_CERT: &str = "/usr/share/ovmf/PkKek-1-snakeoil.pem";
/// OVMF's VARS with the snakeoil keys enrolled (Secure Boot on).
pub const SNAKEOIL_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd";

/// Signs `input` (a UKI or an addon) with Debian's snakeoil key by sbsign, to `out`; `work` holds the
/// decrypted key.
pub fn sign_snakeoil(input: &Path, out: &Path, work: &Path) {
    sign_snakeoil_with(input, out, work, SNAKEOIL_CERT);
}

/// [`sign_snakeoil`] with another certificate of the same key (Debian 13's ovmf re-issued it: its
/// `PkKek-1-snakeoil.pem`, which its snakeoil VARS enrolls).
pub fn sign_snakeoil_with(input: &Path, out: &Path, work: &Path, cert: &str) {
    let key = work.join("snakeoil.key");
    let ok = |cmd: &mut Command| {
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    ok(Command::new(peer("openssl"))
        .args([
            "pkey",
            "-passin",
            "pass:snakeoil",
            "-in",
            SNAKEOIL_KEY,
            "-out",
        ])
        .arg(&key));
    ok(Command::new(peer("sbsign"))
        .arg("--key")
        .arg(&key)
        .args(["--cert", cert, "--output"])
        .arg(out)
        .arg(input));
}

/// Makes a whole-disk FAT image holding `uki` as `\EFI\BOOT\BOOTX64.EFI` (mkfs.vfat + mtools).
pub fn make_esp(uki: &Path, esp: &Path) -> Result<(), String> {
    let len = std::fs::metadata(uki)
        .map_err(|e| format!("{}: {e}", uki.display()))?
        .len();
    let kib = (len / 1024) * 5 / 4 + 4096;
    run_tool(
        Command::new(peer("mkfs.vfat"))
            .arg("-C")
            .arg(esp)
            .arg(kib.to_string()),
    )?;
    run_tool(
        Command::new(peer("mmd"))
            .arg("-i")
            .arg(esp)
            .args(["::/EFI", "::/EFI/BOOT"]),
    )?;
    run_tool(
        Command::new(peer("mcopy"))
            .arg("-i")
            .arg(esp)
            .arg(uki)
            .arg("::/EFI/BOOT/BOOTX64.EFI"),
    )
}

/// Boots `cfg.uki` (whose initrd must come from a [`GuestScript`] with `hold: true`) and, once the guest
/// has reported, stops QEMU with SIGKILL so that it cannot send swtpm `CMD_SHUTDOWN`; then has swtpm store
/// its volatile state (`swtpm_ioctl -v`: PCRs, loaded objects, the Startup state), ends it (`-s`) and starts
/// a new swtpm on that state, serving TCP. The returned server's PCRs are the guest's.
pub fn boot_uki_keep_tpm(cfg: &BootConfig) -> Result<(BootOutput, TpmServer), String> {
    let (out, tpm) = boot(cfg, true)?;
    let tpm = tpm.ok_or("no TPM state kept")?;
    Ok((out, tpm))
}

/// Boots `cfg.uki` and returns what the guest reported. Errors carry the tail of the serial log.
pub fn boot_uki(cfg: &BootConfig) -> Result<BootOutput, String> {
    boot(cfg, false).map(|(out, _)| out)
}

fn boot(cfg: &BootConfig, keep_tpm: bool) -> Result<(BootOutput, Option<TpmServer>), String> {
    let _serial = BOOT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let w = dir.path();
    let esp = match &cfg.disk {
        Some(disk) => disk.clone(),
        None => {
            let esp = w.join("esp.img");
            make_esp(&cfg.uki, &esp)?;
            esp
        }
    };
    let vars = w.join("vars.fd");
    std::fs::copy(&cfg.ovmf_vars, &vars)
        .map_err(|e| format!("{}: {e}", cfg.ovmf_vars.display()))?;
    std::fs::create_dir(w.join("tpm")).map_err(|e| e.to_string())?;
    let sock = w.join("swtpm.sock");
    let serial = w.join("serial.log");

    let mut swtpm = Command::new(peer("swtpm"));
    swtpm
        .args(["socket", "--tpm2", "--tpmstate"])
        .arg(format!("dir={}", w.join("tpm").display()))
        .arg("--ctrl")
        .arg(format!("type=unixio,path={}", sock.display()));
    if !keep_tpm {
        swtpm.arg("--terminate");
    }
    let swtpm = swtpm
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start swtpm: {e}"))?;
    let mut swtpm = Reaper(Some(swtpm));
    // QEMU fails with "TPM result for CMD_INIT: 0x9" if it connects before swtpm listens.
    let t0 = Instant::now();
    while !sock.exists() {
        if let Some(Ok(Some(st))) = swtpm.0.as_mut().map(|c| c.try_wait()) {
            return Err(format!("swtpm exited early: {st}"));
        }
        if t0.elapsed() > Duration::from_secs(20) {
            return Err("swtpm socket did not appear within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut qemu = Command::new(cfg.qemu.program());
    qemu.args(["-accel", "tcg", "-machine"])
        .arg(if cfg.smm { "q35,smm=on" } else { "q35,smm=off" })
        .args(["-m", &cfg.memory_mib.to_string()]);
    if cfg.vcpus != 1 {
        qemu.args(["-smp", &cfg.vcpus.to_string()]);
    }
    if cfg.smm {
        qemu.args(["-global", "driver=cfi.pflash01,property=secure,value=on"]);
    }
    qemu.arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={}",
            cfg.ovmf_code.display()
        ))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=1,file={}",
            vars.display()
        ))
        .arg("-chardev")
        .arg(format!("socket,id=chrtpm,path={}", sock.display()))
        .args([
            "-tpmdev",
            "emulator,id=tpm0,chardev=chrtpm",
            "-device",
            "tpm-tis,tpmdev=tpm0",
        ])
        .arg("-drive")
        .arg(format!(
            "if=none,id=esp,format=raw{},file={}",
            // The caller's disk is never written (the generated ESP is scratch).
            if cfg.disk.is_some() {
                ",snapshot=on"
            } else {
                ""
            },
            esp.display()
        ))
        .arg("-device")
        .arg(if cfg.boot_index {
            "virtio-blk-pci,drive=esp,bootindex=0"
        } else {
            "virtio-blk-pci,drive=esp"
        });
    for (i, d) in cfg.extra_disks.iter().enumerate() {
        qemu.arg("-drive")
            .arg(format!(
                "if=none,id=disk{i},format=raw,snapshot=on,file={}",
                d.display()
            ))
            .arg("-device")
            .arg(format!("virtio-blk-pci,drive=disk{i}"));
    }
    if let Some(nic) = cfg.nic {
        qemu.args(["-netdev", "user,id=net0,restrict=on", "-device"])
            .arg(format!("{nic},netdev=net0,mac=52:54:00:12:34:56"));
    }
    qemu_headless(&mut qemu, &serial);
    let start = Instant::now();
    let child = qemu
        .spawn()
        .map_err(|e| format!("cannot start qemu: {e}"))?;
    let mut qemu = Reaper(Some(child));
    let mut killed = false;
    let status = loop {
        match qemu.0.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(st))) => break st,
            Some(Ok(None)) => {}
            Some(Err(e)) => return Err(format!("waiting for qemu: {e}")),
            None => return Err("qemu handle lost".into()),
        }
        if keep_tpm && read_tail(&serial).contains("YS-END") {
            if let Some(c) = qemu.0.as_mut() {
                let _ = c.kill();
            }
            killed = true;
        }
        if start.elapsed() > cfg.timeout {
            let tail = read_tail(&serial);
            return Err(format!(
                "boot timed out after {:?}; serial tail:\n{tail}",
                cfg.timeout
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let duration = start.elapsed();
    let qemu_stderr = qemu
        .0
        .take()
        .and_then(|c| c.wait_with_output().ok())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default();
    let kept = if keep_tpm && killed {
        let ioctl = |flag: &str| {
            run_tool(
                Command::new(peer("swtpm_ioctl"))
                    .arg("--unix")
                    .arg(&sock)
                    .arg(flag),
            )
        };
        ioctl("-v")?;
        ioctl("-s")?;
        if let Some(mut c) = swtpm.0.take() {
            let _ = c.wait();
        }
        let state = tempfile::tempdir().map_err(|e| e.to_string())?;
        for f in ["tpm2-00.permall", "tpm2-00.volatilestate"] {
            std::fs::copy(w.join("tpm").join(f), state.path().join(f))
                .map_err(|e| format!("swtpm state {f}: {e}"))?;
        }
        // `not-need-init`: swtpm initialises at once, which resumes the saved volatile state (PCRs included).
        Some(TpmServer::serve(state, "not-need-init")?)
    } else {
        None
    };
    drop(swtpm.0.take().map(|mut c| {
        let _ = c.kill();
        c.wait()
    }));
    let text = String::from_utf8_lossy(&std::fs::read(&serial).unwrap_or_default()).into_owned();
    if !(status.success() || killed) || !text.contains("YS-END") {
        return Err(format!(
            "guest did not finish (qemu {status}, stderr: {qemu_stderr}); serial tail:\n{}",
            tail_of(&text)
        ));
    }
    let (pcrs, event_log) = parse_serial(&text)?;
    Ok((
        BootOutput {
            pcrs,
            event_log,
            serial: text,
            duration,
        },
        kept,
    ))
}

fn tail_of(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn read_tail(p: &Path) -> String {
    tail_of(&String::from_utf8_lossy(
        &std::fs::read(p).unwrap_or_default(),
    ))
}

/// Parses the guest's report: `YS-PCR` lines and the base64 event log.
pub fn parse_serial(text: &str) -> Result<(PcrBanks, Vec<u8>), String> {
    use base64::Engine as _;
    let mut pcrs = PcrBanks::new();
    let mut b64 = String::new();
    let mut in_log = false;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r').trim();
        if line == "YS-LOG-BEGIN" {
            in_log = true;
            continue;
        }
        if line == "YS-LOG-END" {
            in_log = false;
            continue;
        }
        if in_log {
            // A kernel message can land on the console between (or inside) the base64 lines: it starts with
            // its timestamp `[`, which base64 never contains; what precedes it is log text.
            let text = line.split('[').next().unwrap_or_default();
            b64.push_str(text.trim());
            continue;
        }
        if let Some(rest) = line.strip_prefix("YS-PCR ") {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let [bank, idx, hex] = f[..] else {
                return Err(format!("bad PCR line {line:?}"));
            };
            let alg: Algorithm = bank.parse().map_err(|e| format!("{line}: {e}"))?;
            let idx: u32 = idx.parse().map_err(|e| format!("{line}: {e}"))?;
            let bytes = yardstick_common::hex::decode(hex).map_err(|e| format!("{line}: {e}"))?;
            let d =
                Digest::from_bytes(alg, &bytes).ok_or_else(|| format!("{line}: wrong length"))?;
            pcrs.set(idx, d);
        }
    }
    let log = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| format!("event log base64: {e}"))?;
    if pcrs.is_empty() || log.is_empty() {
        return Err("guest printed no PCRs or no event log".into());
    }
    Ok((pcrs, log))
}

/// `(pcr, event type, [(TPM_ALG_ID, digest)])`.
pub type LogEvent = (u32, u32, Vec<(u16, Vec<u8>)>);

/// The extending events of a crypto-agile TCG log (TCG PC Client PFP §10.2), skipping `EV_NO_ACTION`. A
/// deliberately small reader, independent of the event-log crate it checks (the first record, the legacy
/// `TCG_PCClientPCREvent` spec ID event, is skipped by its size); it lets a PCR mismatch be explained event by
/// event.
pub fn log_events(log: &[u8]) -> Vec<LogEvent> {
    let u32_at = |o: usize| u32::from_le_bytes(log[o..o + 4].try_into().unwrap());
    let u16_at = |o: usize| u16::from_le_bytes(log[o..o + 2].try_into().unwrap());
    let mut off = 32 + u32_at(28) as usize;
    let mut out = Vec::new();
    while off + 12 <= log.len() {
        let (pcr, etype, count) = (u32_at(off), u32_at(off + 4), u32_at(off + 8));
        let mut o = off + 12;
        let mut digests = Vec::new();
        for _ in 0..count {
            let alg = u16_at(o);
            let len = match alg {
                0x0004 => 20,
                0x000b | 0x0012 => 32,
                0x000c => 48,
                0x000d => 64,
                other => panic!("unknown algorithm {other:#x} in the guest's log"),
            };
            digests.push((alg, log[o + 2..o + 2 + len].to_vec()));
            o += 2 + len;
        }
        off = o + 4 + u32_at(o) as usize;
        if etype != 3 {
            out.push((pcr, etype, digests));
        }
    }
    out
}
