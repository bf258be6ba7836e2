//! The example guest (scripts/example-guest.sh) and QEMU boots for the image tests.
#![allow(dead_code)]

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::support::*;

/// The marker file's content in the example rootfs (examples/coco-guest via scripts/example-guest.sh).
pub const MARKER: &[u8] =
    b"CoCo: this root filesystem is verified block by block by dm-verity (yardstick example guest)\n";

/// Trees of the example guest, built once per test binary (under Cargo's per-target scratch directory, so
/// runs do not pile up in /tmp): `<dir>/initrd`, `<dir>/rootfs`, and the packed `<dir>/initrd.cpio`.
pub fn example() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(concat!("example-guest-", env!("CARGO_CRATE_NAME")));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        peer("busybox");
        peer("dmsetup");
        run_ok(
            Command::new(workspace().join("scripts/example-guest.sh"))
                .arg(&dir)
                .env("YARDSTICK_TOOLS", tools()),
        );
        run_ok(
            yardstick()
                .args(["image", "build", "--layout", "initrd"])
                .arg(dir.join("initrd"))
                .arg("--output")
                .arg(dir.join("initrd.cpio")),
        );
        dir
    })
}

/// The manifest written next to `disk`.
pub fn manifest(disk: &Path) -> serde_json::Value {
    let mut p = disk.as_os_str().to_owned();
    p.push(".manifest.json");
    serde_json::from_slice(&std::fs::read(PathBuf::from(p)).unwrap()).unwrap()
}

/// The final kernel command line recorded in a manifest.
pub fn cmdline(m: &serde_json::Value) -> String {
    m["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cmdline")
        .and_then(|c| c["text"].as_str())
        .unwrap()
        .to_string()
}

/// `(offset, size)` of partition `number` in a manifest.
pub fn partition(m: &serde_json::Value, number: u64) -> (u64, u64) {
    let p = m["image"]["partition_table"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["number"] == number)
        .unwrap();
    (p["offset"].as_u64().unwrap(), p["size"].as_u64().unwrap())
}

/// Copies `len` bytes at `offset` of `disk` into a new file `out`.
pub fn extract(disk: &Path, offset: u64, len: u64, out: &Path) {
    let mut buf = vec![0u8; len as usize];
    std::fs::File::open(disk)
        .unwrap()
        .read_exact_at(&mut buf, offset)
        .unwrap();
    std::fs::write(out, buf).unwrap();
}

/// Builds an image of the example rootfs; returns the disk path and its manifest.
pub fn build_example(dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, serde_json::Value) {
    let ex = example();
    let disk = dir.join(name);
    let mut cmd = yardstick();
    cmd.args(["image", "build"])
        .arg(ex.join("rootfs"))
        .arg("--kernel")
        .arg(kernel())
        .arg("--initrd")
        .arg(ex.join("initrd.cpio"))
        .args(["--cmdline", "console=ttyS0 quiet panic=-1"])
        .arg("--output")
        .arg(&disk)
        .args(extra)
        .env("YARDSTICK_TOOLS", tools());
    if extra.windows(2).any(|w| w == ["--layout", "uki"]) {
        cmd.arg("--stub").arg(stub_254());
    }
    run_ok(&mut cmd);
    let m = manifest(&disk);
    (disk, m)
}

/// Flips the first byte of the marker file inside `[offset, offset + len)` of `disk` ("CoCo" -> "DoCo");
/// returns the byte offset of the flip within that range.
pub fn flip_marker(disk: &Path, offset: u64, len: u64) -> u64 {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(disk)
        .unwrap();
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, offset).unwrap();
    let hits: Vec<usize> = buf
        .windows(MARKER.len())
        .enumerate()
        .filter(|(_, w)| *w == MARKER)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "the marker must be stored once, uncompressed, in the root partition"
    );
    f.write_all_at(b"D", offset + hits[0] as u64).unwrap();
    hits[0] as u64
}

/// What a guest printed.
#[derive(Debug)]
pub struct Boot {
    /// Serial console output.
    pub serial: String,
    /// Wall time of the boot.
    pub elapsed: Duration,
}

impl Boot {
    /// The `MARKER:` / `MARKER-ERROR:` line.
    pub fn marker_line(&self) -> &str {
        self.serial
            .lines()
            .find(|l| l.starts_with("MARKER"))
            .unwrap_or_else(|| panic!("no MARKER line; serial console:\n{}", self.serial))
    }

    /// Block numbers of the kernel's "device-mapper: verity: <dev>: data block N is corrupted" lines.
    pub fn corrupted_data_blocks(&self) -> Vec<u64> {
        self.serial
            .lines()
            .filter_map(|l| {
                let rest = l.split("device-mapper: verity: ").nth(1)?;
                let n = rest.split(": data block ").nth(1)?;
                n.strip_suffix(" is corrupted")?.trim().parse().ok()
            })
            .collect()
    }
}

/// Boots the Debian kernel with the example initrd directly (no firmware), `disk` as virtio disk 0 (opened
/// read-only through a snapshot), and returns the serial console once the guest powers off.
pub fn boot_direct(disk: &Path, cmdline: &str) -> Boot {
    // One direct boot at a time per test binary: TCG is CPU bound and the machine has two cores.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serial.log");
    let start = Instant::now();
    let mut qemu = Command::new(peer("qemu-system-x86_64"));
    qemu.args(["-accel", "tcg", "-machine", "q35", "-m", "512", "-smp", "1"])
        .arg("-kernel")
        .arg(kernel())
        .arg("-initrd")
        .arg(example().join("initrd.cpio"))
        .arg("-append")
        .arg(cmdline)
        .arg("-drive")
        .arg(format!(
            "if=none,id=disk,format=raw,snapshot=on,file={}",
            disk.display()
        ))
        .args(["-device", "virtio-blk-pci,drive=disk"]);
    let mut child = qemu_headless(&mut qemu, &log)
        .spawn()
        .expect("qemu-system-x86_64");
    // TCG on a shared 2-core machine: generous, but bounded.
    let limit = Duration::from_secs(420);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let serial = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                status.success(),
                "qemu failed ({status}); serial:\n{serial}"
            );
            return Boot {
                serial,
                elapsed: start.elapsed(),
            };
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "guest did not power off within {limit:?}; serial:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `yardstick verity verify` / `veritysetup verify` arguments for a manifest's tree without a superblock
/// (both take veritysetup's option names).
fn verify_params(v: &serde_json::Value) -> Vec<String> {
    if v["superblock"] == true {
        return Vec::new();
    }
    vec![
        "--no-superblock".into(),
        format!("--data-blocks={}", v["data_blocks"]),
        format!("--data-block-size={}", v["data_block_size"]),
        format!("--hash-block-size={}", v["hash_block_size"]),
        format!("--hash={}", v["algorithm"].as_str().unwrap()),
        format!(
            "--salt={}",
            v["salt"].as_str().filter(|s| !s.is_empty()).unwrap_or("-")
        ),
    ]
}

/// The data block `yardstick verity verify` names as corrupted (offline, from the extracted data and hash
/// partitions and the manifest's verity parameters). It must name exactly one bad block, a data block.
pub fn yardstick_failing_block(data: &Path, hash: &Path, m: &serde_json::Value) -> u64 {
    let v = &m["verity"];
    let out = run(yardstick()
        .args(["verity", "verify", "--json"])
        .args(verify_params(v))
        .arg(data)
        .arg(hash)
        .arg(v["root_hash"].as_str().unwrap()));
    assert_eq!(
        out.status.code(),
        Some(1),
        "yardstick verity verify must report the corruption (exit 1): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["ok"], false, "{j}");
    let bad = j["tree"]["bad"].as_array().unwrap();
    assert_eq!(bad.len(), 1, "exactly one bad block expected: {j}");
    assert_eq!(bad[0]["kind"], "data", "{j}");
    bad[0]["index"].as_u64().unwrap()
}

/// The data block `veritysetup verify` (cryptsetup, the second offline oracle) reports as failing, for a data
/// and a hash device and the manifest's verity parameters.
pub fn veritysetup_failing_block(data: &Path, hash: &Path, m: &serde_json::Value) -> u64 {
    let v = &m["verity"];
    let out = run(Command::new(peer("veritysetup"))
        .arg("verify")
        .args(verify_params(v))
        .arg(data)
        .arg(hash)
        .arg(v["root_hash"].as_str().unwrap()));
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "veritysetup verify accepted a corrupted device: {text}"
    );
    let pos: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Verification failed at position "))
        .and_then(|r| r.trim_end_matches('.').parse().ok())
        .unwrap_or_else(|| panic!("no failing position in veritysetup output: {text}"));
    pos / v["data_block_size"].as_u64().unwrap()
}
