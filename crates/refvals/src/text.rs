//! The text `refvals show` prints: one line per fact of a manifest, values in full.

use std::fmt::Write as _;

use crate::{Component, ImageInfo, Manifest, SnpLaunch, TdxLaunch, TpmRefs, VerityRefs};

/// A unit enum's serialized name ("uki", "erofs", "SEV-SNP").
fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Manifest {
    /// What `yardstick refvals show` prints: the image and its partition table, the verity parameters and
    /// kernel command line, each SEV launch digest and each TDX configuration (MRTD, then the predicted
    /// RTMRs), the TPM prediction (every PCR per
    /// bank, PCR 11 after each boot phase) and the components.
    pub fn to_text(&self) -> String {
        let m = self;
        let mut s = String::new();
        let _ = writeln!(s, "manifest   version {} ({})", m.version, m.generator);
        if let Some(i) = &m.image {
            write_image(&mut s, i);
        }
        if let Some(v) = &m.verity {
            write_verity(&mut s, v);
        }
        for l in &m.snp {
            write_snp(&mut s, l);
        }
        for l in &m.tdx {
            write_tdx(&mut s, l);
        }
        if let Some(t) = &m.tpm {
            write_tpm(&mut s, t);
        }
        for c in &m.components {
            write_component(&mut s, c);
        }
        s
    }
}

/// The `image` line and the partition table, one line per partition.
fn write_image(s: &mut String, i: &ImageInfo) {
    let _ = writeln!(
        s,
        "image      layout {}, {}{} bytes, SOURCE_DATE_EPOCH {}",
        name_of(&i.layout),
        i.filesystem
            .map(|f| format!("{}, ", name_of(&f)))
            .unwrap_or_default(),
        i.size,
        i.source_date_epoch
    );
    if let Some(t) = &i.partition_table {
        let _ = writeln!(s, "table      {} {}", name_of(&t.kind), t.disk_id);
        for p in &t.partitions {
            let _ = writeln!(
                s,
                "  {} {:<16} type {:<36} {} offset {} size {}",
                p.number,
                name_of(&p.role),
                p.type_id,
                p.uuid
                    .as_deref()
                    .map(|u| format!("uuid {u}"))
                    .unwrap_or_default(),
                p.offset,
                p.size
            );
        }
    }
}

/// The `verity` lines: root hash, tree parameters, kernel command line (and Kata's form).
fn write_verity(s: &mut String, v: &VerityRefs) {
    let _ = writeln!(s, "verity     {} root hash {}", v.algorithm, v.root_hash);
    let _ = writeln!(
        s,
        "           salt {}, {} data blocks of {}, hash blocks of {}, hash start {}{}",
        if v.salt.is_empty() {
            "-".to_string()
        } else {
            v.salt.to_hex()
        },
        v.data_blocks,
        v.data_block_size,
        v.hash_block_size,
        v.hash_start_block,
        if v.superblock {
            ", superblock"
        } else {
            ", no superblock"
        }
    );
    let _ = writeln!(s, "           cmdline {}", v.kernel_params.cmdline);
    if let Some(k) = &v.kernel_params.kata_verity_params {
        let _ = writeln!(s, "           kernel_verity_params {k}");
    }
}

/// One `snp` line: a launch digest with its configuration.
fn write_snp(s: &mut String, l: &SnpLaunch) {
    let _ = writeln!(
        s,
        "snp        {} {} ({} vCPU{}, {}, guest features {:#x}{})",
        name_of(&l.mode),
        l.measurement,
        l.vcpus,
        l.vcpu_type
            .as_deref()
            .map(|t| format!(" {t}"))
            .unwrap_or_default(),
        name_of(&l.vmm_type),
        l.guest_features,
        if l.kernel_hashes {
            ", kernel hashes"
        } else {
            ""
        }
    );
}

/// One `tdx` line (MRTD and the configuration), then a line per predicted RTMR.
fn write_tdx(s: &mut String, l: &TdxLaunch) {
    let _ = writeln!(
        s,
        "tdx        MRTD {} ({} MiB, {} vCPU{}, {}{})",
        l.mrtd,
        l.memory_mib,
        l.vcpus,
        if l.vcpus == 1 { "" } else { "s" },
        name_of(&l.mrtd_order),
        l.qemu_version
            .as_deref()
            .map(|v| format!(", QEMU {v}"))
            .unwrap_or_default()
    );
    for (i, r) in l.rtmrs().iter().enumerate() {
        if let Some(r) = r {
            let _ = writeln!(s, "  RTMR{i}    {r}");
        }
    }
}

/// The `tpm` line with its assumptions, then every PCR per bank, PCR 11 after each boot phase, and each PCR
/// not predicted with why.
fn write_tpm(s: &mut String, t: &TpmRefs) {
    let _ = writeln!(
        s,
        "tpm        {} predicted measurements{}",
        t.events.len(),
        t.assumptions
            .first()
            .map(|a| format!("; {a}"))
            .unwrap_or_default()
    );
    for a in t.assumptions.iter().skip(1) {
        let _ = writeln!(s, "           {a}");
    }
    for (alg, pcr, v) in t.pcrs.iter() {
        let _ = writeln!(s, "pcr        {:<6} {pcr:>2} {v}", alg.name());
    }
    // The "" phase path is PCR 11 as listed above.
    for p in t.pcr11_phases.iter().filter(|p| !p.phase.is_empty()) {
        for (alg, _, v) in p.pcrs.iter() {
            let phase = format!("11 after {}", p.phase);
            let _ = writeln!(s, "pcr        {:<6} {phase:<48} {v}", alg.name());
        }
    }
    for (pcr, why) in &t.not_predicted {
        let _ = writeln!(s, "pcr        {pcr:>2} not predicted: {why}");
    }
}

/// One `component` line.
fn write_component(s: &mut String, c: &Component) {
    let _ = writeln!(
        s,
        "component  {:<10} {:>10} bytes  sha256 {}  {}",
        c.name,
        c.size,
        c.sha256,
        c.file.as_deref().unwrap_or("")
    );
}
