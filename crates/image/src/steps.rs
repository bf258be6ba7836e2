//! The steps of an image build that other yardstick crates own: dm-verity (`yardstick-verity`), the UKI
//! (`yardstick-pe`), PCR prediction (`yardstick-tpm`) and the SEV-SNP launch digest (`yardstick-snp`).
//!
//! PHASE-1 STAND-INS. Until those crates are merged, [`verity_format`] runs `veritysetup format`,
//! [`build_uki`] runs systemd's `ukify`, [`snp_launch`] runs `sev-snp-measure`, and [`predict_pcrs`] predicts
//! nothing. Every stand-in is marked `STAND-IN(phase 2)` and must be replaced by the crate call named in its
//! comment; none may remain in a release. The signatures here are the seams: the build pipeline only calls
//! these functions.

use std::path::{Path, PathBuf};
use std::process::Command;

use yardstick_common::hash::Algorithm;
use yardstick_refvals::{Layout, SnpLaunch, SnpMode, TpmRefs, VerityKernelParams, VmmType};

use crate::guid::Guid;

/// A step failed.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {reason}")]
pub struct StepError {
    /// Which step.
    pub step: &'static str,
    /// Why.
    pub reason: String,
}

fn step_err(step: &'static str, reason: impl Into<String>) -> StepError {
    StepError {
        step,
        reason: reason.into(),
    }
}

/// dm-verity format parameters.
#[derive(Debug, Clone)]
pub struct VerityParams {
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Data block size.
    pub data_block_size: u32,
    /// Hash block size.
    pub hash_block_size: u32,
    /// Salt (may be empty).
    pub salt: Vec<u8>,
    /// Write a veritysetup superblock at the start of the hash device.
    pub superblock: bool,
    /// Superblock UUID.
    pub uuid: Guid,
}

/// What formatting produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerityOutcome {
    /// Root hash.
    pub root_hash: Vec<u8>,
    /// Data blocks covered.
    pub data_blocks: u64,
    /// First tree block on the hash device (the dm table's `hash_start`).
    pub hash_start_block: u64,
}

/// A program under `$YARDSTICK_TOOLS` (the checkout's `.tools`, made by scripts/setup.sh) or on `PATH`.
fn stand_in_tool(rel: &str, name: &str) -> Option<PathBuf> {
    let tools = std::env::var_os("YARDSTICK_TOOLS").map(PathBuf::from);
    tools
        .filter(|_| !rel.is_empty())
        .map(|t| t.join(rel))
        .filter(|p| p.is_file())
        .or_else(|| crate::mkfs::find_program(name))
}

fn run_tool(step: &'static str, cmd: &mut Command) -> Result<String, StepError> {
    let out = cmd
        .output()
        .map_err(|e| step_err(step, format!("cannot run {:?}: {e}", cmd.get_program())))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(step_err(
            step,
            format!("{:?} failed ({}): {last}", cmd.get_program(), out.status),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Formats the hash tree of `data` into the new file `hash`.
///
/// STAND-IN(phase 2): replace with `yardstick_verity` formatting (same parameters, in-process, multi-core).
pub fn verity_format(
    data: &Path,
    hash: &Path,
    p: &VerityParams,
) -> Result<VerityOutcome, StepError> {
    const STEP: &str = "verity format";
    let prog = stand_in_tool("", "veritysetup")
        .ok_or_else(|| step_err(STEP, "veritysetup not found: install cryptsetup-bin"))?;
    std::fs::File::create(hash).map_err(|e| step_err(STEP, format!("{}: {e}", hash.display())))?;
    let mut cmd = Command::new(prog);
    cmd.arg("format")
        .arg(format!("--hash={}", p.algorithm))
        .arg(format!("--data-block-size={}", p.data_block_size))
        .arg(format!("--hash-block-size={}", p.hash_block_size))
        .arg(format!(
            "--salt={}",
            if p.salt.is_empty() {
                "-".to_string()
            } else {
                yardstick_common::hex::encode(&p.salt)
            }
        ));
    if p.superblock {
        cmd.arg(format!("--uuid={}", p.uuid));
    } else {
        cmd.arg("--no-superblock");
    }
    let out = run_tool(STEP, cmd.arg(data).arg(hash))?;
    let field = |label: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(label).map(|v| v.trim().to_string()))
            .ok_or_else(|| step_err(STEP, format!("no {label:?} in veritysetup output")))
    };
    let root_hash = yardstick_common::hex::decode(&field("Root hash:")?)
        .map_err(|e| step_err(STEP, e.to_string()))?;
    let data_blocks: u64 = field("Data blocks:")?
        .parse()
        .map_err(|_| step_err(STEP, "bad data block count"))?;
    // With a superblock the tree starts at the hash block after it (veritysetup: hash_offset 0).
    let hash_start_block = if p.superblock {
        512u64.div_ceil(u64::from(p.hash_block_size))
    } else {
        0
    };
    Ok(VerityOutcome {
        root_hash,
        data_blocks,
        hash_start_block,
    })
}

/// Kernel command-line fragments for the verity device of a layout: for `uki`, systemd's `roothash=`; for
/// `kata`, the dm table as `dm-mod.create=` with `root=/dev/dm-0` and Kata's `kernel_verity_params`.
/// `disk` is the guest's name for the disk (`/dev/vda`).
///
/// STAND-IN(phase 2): replace with `yardstick_verity`'s kernel-parameter builders so there is one formatter.
pub fn verity_kernel_params(
    layout: Layout,
    disk: &str,
    p: &VerityParams,
    o: &VerityOutcome,
) -> VerityKernelParams {
    let root = yardstick_common::hex::encode(&o.root_hash);
    let salt = if p.salt.is_empty() {
        "-".to_string()
    } else {
        yardstick_common::hex::encode(&p.salt)
    };
    let (data_dev, hash_dev) = match layout {
        Layout::Kata => (format!("{disk}1"), format!("{disk}2")),
        _ => (format!("{disk}2"), format!("{disk}3")),
    };
    let sectors = o.data_blocks * u64::from(p.data_block_size) / 512;
    let dm_table = format!(
        "0 {sectors} verity 1 {data_dev} {hash_dev} {} {} {} {} {} {root} {salt}",
        p.data_block_size, p.hash_block_size, o.data_blocks, o.hash_start_block, p.algorithm
    );
    match layout {
        Layout::Kata => VerityKernelParams {
            cmdline: format!("dm-mod.create=\"dm-verity,,,ro,{dm_table}\" root=/dev/dm-0"),
            dm_table,
            kata_verity_params: Some(format!(
                "root_hash={root},salt={},data_blocks={},data_block_size={},hash_block_size={}",
                if p.salt.is_empty() { "" } else { salt.as_str() },
                o.data_blocks,
                p.data_block_size,
                p.hash_block_size
            )),
        },
        _ => VerityKernelParams {
            cmdline: format!("roothash={root}"),
            dm_table,
            kata_verity_params: None,
        },
    }
}

/// Checks that `path` looks like a Linux kernel: a bzImage (`HdrS` at 0x202) or a PE image (`MZ`).
pub fn check_kernel(path: &Path) -> Result<(), StepError> {
    const STEP: &str = "kernel";
    let mut head = [0u8; 0x206];
    let mut f = std::fs::File::open(path)
        .map_err(|e| step_err(STEP, format!("{}: {e}", path.display())))?;
    let n = std::io::Read::read(&mut f, &mut head)
        .map_err(|e| step_err(STEP, format!("{}: {e}", path.display())))?;
    if n >= 0x206 && &head[0x202..0x206] == b"HdrS" || n >= 2 && &head[..2] == b"MZ" {
        return Ok(());
    }
    Err(step_err(
        STEP,
        format!(
            "{}: not a Linux kernel (no bzImage \"HdrS\" header, not a PE image)",
            path.display()
        ),
    ))
}

/// Section names of a PE image, or `None` if it is not one.
///
/// STAND-IN(phase 2): use `yardstick_pe`'s parser (and its stub-generation table) instead.
fn pe_section_names(bytes: &[u8]) -> Option<Vec<String>> {
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.get(..2)? != b"MZ" {
        return None;
    }
    let pe = u32_at(0x3c)? as usize;
    if bytes.get(pe..pe + 4)? != b"PE\0\0" {
        return None;
    }
    let nsect = u16_at(pe + 6)? as usize;
    let opt = u16_at(pe + 20)? as usize;
    let table = pe.checked_add(24)?.checked_add(opt)?;
    (0..nsect)
        .map(|i| {
            let h = bytes.get(table + 40 * i..table + 40 * i + 8)?;
            let end = h.iter().position(|b| *b == 0).unwrap_or(8);
            Some(String::from_utf8_lossy(&h[..end]).into_owned())
        })
        .collect()
}

/// Checks that `path` is a systemd-stub (a PE image with a `.sdmagic` section).
pub fn check_stub(path: &Path) -> Result<(), StepError> {
    const STEP: &str = "stub";
    let bytes =
        std::fs::read(path).map_err(|e| step_err(STEP, format!("{}: {e}", path.display())))?;
    match pe_section_names(&bytes) {
        Some(names) if names.iter().any(|n| n == ".sdmagic") => Ok(()),
        Some(_) => Err(step_err(
            STEP,
            format!(
                "{}: a PE image but not a systemd-stub (no .sdmagic section)",
                path.display()
            ),
        )),
        None => Err(step_err(
            STEP,
            format!("{}: not a PE image", path.display()),
        )),
    }
}

/// Inputs of a UKI.
#[derive(Debug, Clone)]
pub struct UkiInputs<'a> {
    /// systemd-stub.
    pub stub: &'a Path,
    /// Kernel.
    pub kernel: &'a Path,
    /// Initrd, if any.
    pub initrd: Option<&'a Path>,
    /// Kernel command line for `.cmdline`.
    pub cmdline: &'a str,
    /// os-release for `.osrel`, if any.
    pub os_release: Option<&'a Path>,
}

/// Builds a UKI at `out`.
///
/// STAND-IN(phase 2): replace with `yardstick_pe`'s UKI builder (reproducible, section layout as ukify).
pub fn build_uki(u: &UkiInputs<'_>, out: &Path) -> Result<(), StepError> {
    const STEP: &str = "uki build";
    let ukify = stand_in_tool("systemd-254/lib/systemd/ukify", "ukify").ok_or_else(|| {
        step_err(
            STEP,
            "ukify not found (phase-1 stand-in; run scripts/setup.sh)",
        )
    })?;
    let python = stand_in_tool("venv/bin/python", "python3")
        .ok_or_else(|| step_err(STEP, "python3 not found"))?;
    let mut cmd = Command::new(python);
    cmd.arg(ukify)
        .arg("build")
        .arg(format!("--linux={}", u.kernel.display()))
        .arg(format!("--stub={}", u.stub.display()))
        .arg(format!("--cmdline={}", u.cmdline))
        .arg(format!("--output={}", out.display()));
    if let Some(i) = u.initrd {
        cmd.arg(format!("--initrd={}", i.display()));
    }
    if let Some(o) = u.os_release {
        cmd.arg(format!("--os-release=@{}", o.display()));
    }
    run_tool(STEP, &mut cmd).map(|_| ())
}

/// Predicts the PCRs OVMF + the UKI produce, with the measurements behind them.
///
/// STAND-IN(phase 2): replace with `yardstick_tpm`'s prediction (PCR 4, 7, 9, 11 + phases, 12, 13 and the
/// ordered events). Until then the manifest has no `tpm` section.
pub fn predict_pcrs(_uki: &Path) -> Result<Option<TpmRefs>, StepError> {
    Ok(None)
}

/// SEV-SNP launch parameters.
#[derive(Debug, Clone)]
pub struct SnpParams {
    /// OVMF firmware (with the SEV metadata).
    pub ovmf: PathBuf,
    /// Launch type.
    pub mode: SnpMode,
    /// vCPUs.
    pub vcpus: u32,
    /// QEMU CPU model (`EPYC-v4`), if the signature is given by name.
    pub vcpu_type: Option<String>,
    /// CPUID signature, if given directly.
    pub vcpu_sig: Option<u32>,
    /// Hypervisor.
    pub vmm_type: VmmType,
    /// SEV features of the VMSAs.
    pub guest_features: u64,
}

/// What a launch measures besides the firmware (direct boot with kernel hashes).
#[derive(Debug, Clone)]
pub struct DirectBoot<'a> {
    /// Kernel.
    pub kernel: &'a Path,
    /// Initrd, if any.
    pub initrd: Option<&'a Path>,
    /// Command line.
    pub cmdline: &'a str,
}

/// Computes the launch digest.
///
/// STAND-IN(phase 2): replace with `yardstick_snp`'s launch digest.
pub fn snp_launch(p: &SnpParams, boot: Option<&DirectBoot<'_>>) -> Result<SnpLaunch, StepError> {
    const STEP: &str = "snp launch digest";
    let prog = stand_in_tool("venv/bin/sev-snp-measure", "sev-snp-measure").ok_or_else(|| {
        step_err(
            STEP,
            "sev-snp-measure not found (phase-1 stand-in; run scripts/setup.sh)",
        )
    })?;
    let mode = match p.mode {
        SnpMode::Sev => "sev",
        SnpMode::SevEs => "seves",
        SnpMode::Snp => "snp",
    };
    let mut cmd = Command::new(prog);
    cmd.args(["--mode", mode, "--output-format", "hex"])
        .arg("--vcpus")
        .arg(p.vcpus.to_string())
        .arg("--ovmf")
        .arg(&p.ovmf)
        .arg("--vmm-type")
        .arg(match p.vmm_type {
            VmmType::Qemu => "QEMU",
            VmmType::Ec2 => "ec2",
        })
        .arg("--guest-features")
        .arg(format!("{:#x}", p.guest_features));
    if let Some(t) = &p.vcpu_type {
        cmd.arg("--vcpu-type").arg(t);
    } else if let Some(s) = p.vcpu_sig {
        cmd.arg("--vcpu-sig").arg(s.to_string());
    }
    if let Some(b) = boot {
        cmd.arg("--kernel")
            .arg(b.kernel)
            .arg("--append")
            .arg(b.cmdline);
        if let Some(i) = b.initrd {
            cmd.arg("--initrd").arg(i);
        }
    }
    let out = run_tool(STEP, &mut cmd)?;
    let measurement = yardstick_common::hex::decode(out.trim())
        .map_err(|e| step_err(STEP, format!("unexpected output {out:?}: {e}")))?;
    let mut components = vec!["firmware".to_string()];
    if let Some(b) = boot {
        components.push("kernel".into());
        if b.initrd.is_some() {
            components.push("initrd".into());
        }
        components.push("cmdline".into());
    }
    Ok(SnpLaunch {
        mode: p.mode,
        measurement: measurement.into(),
        vcpus: p.vcpus,
        vcpu_type: p.vcpu_type.clone(),
        // STAND-IN(phase 2): yardstick_snp resolves the signature of a named CPU model.
        vcpu_sig: p.vcpu_sig.unwrap_or(0),
        vmm_type: p.vmm_type,
        guest_features: p.guest_features,
        kernel_hashes: boot.is_some(),
        components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kata_params_shape() {
        let p = VerityParams {
            algorithm: Algorithm::Sha256,
            data_block_size: 4096,
            hash_block_size: 4096,
            salt: vec![0xaa; 2],
            superblock: false,
            uuid: Guid::NIL,
        };
        let o = VerityOutcome {
            root_hash: vec![0x11; 32],
            data_blocks: 10,
            hash_start_block: 0,
        };
        let k = verity_kernel_params(Layout::Kata, "/dev/vda", &p, &o);
        assert_eq!(
            k.dm_table,
            format!(
                "0 80 verity 1 /dev/vda1 /dev/vda2 4096 4096 10 0 sha256 {} aaaa",
                "11".repeat(32)
            )
        );
        assert!(
            k.cmdline
                .starts_with("dm-mod.create=\"dm-verity,,,ro,0 80 verity")
        );
        assert!(k.cmdline.ends_with("\" root=/dev/dm-0"));
        assert_eq!(
            k.kata_verity_params.unwrap(),
            format!(
                "root_hash={},salt=aaaa,data_blocks=10,data_block_size=4096,hash_block_size=4096",
                "11".repeat(32)
            )
        );
        let u = verity_kernel_params(Layout::Uki, "/dev/vda", &p, &o);
        assert_eq!(u.cmdline, format!("roothash={}", "11".repeat(32)));
    }

    #[test]
    fn pe_names() {
        assert!(pe_section_names(b"not a pe").is_none());
        let mut pe = vec![0u8; 0x200];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x40;
        pe[0x40..0x44].copy_from_slice(b"PE\0\0");
        pe[0x46] = 2; // sections
        pe[0x54] = 0; // optional header size
        pe[0x58..0x60].copy_from_slice(b".text\0\0\0");
        pe[0x80..0x88].copy_from_slice(b".sdmagic");
        assert_eq!(pe_section_names(&pe).unwrap(), vec![".text", ".sdmagic"]);
    }
}
