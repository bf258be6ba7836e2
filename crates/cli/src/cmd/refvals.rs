//! `yardstick refvals`: show a reference-value manifest, export it for Trustee RVPS or systemd-pcrlock.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_refvals::{Component, Manifest, TpmRefs, pcrlock, rvps};

use super::pcr_predict::{PredictArgs, Predicted};
use crate::ui;

/// Subcommands of `yardstick refvals`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate a manifest and print what it covers
    #[command(after_help = "\
Examples:
  yardstick refvals show disk.img.manifest.json
  yardstick refvals show disk.img.manifest.json --json")]
    Show {
        /// Manifest written by `yardstick image build`
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// Print the validated manifest as JSON
        #[arg(long)]
        json: bool,
    },
    /// Export a manifest as a Trustee RVPS registration message or a systemd-pcrlock file
    #[command(after_help = "\
Formats:
  rvps     {\"version\":\"0.1.0\",\"type\":\"sample\",\"payload\":<base64>} for `rvps-tool register`;
           names as Trustee's default policy queries them: snp_launch_measurement,
           snp_pcr11, tdx_pcr11, tpm_pcr11
  pcrlock  {\"records\":[{\"pcr\":N,\"digests\":[{\"hashAlg\":...,\"digest\":...}]}]} for
           /var/lib/pcrlock.d/; --component uki gives what `systemd-pcrlock lock-uki` writes

Examples:
  yardstick refvals export disk.img.manifest.json --format rvps > message.json
  rvps-tool register --path message.json
  yardstick refvals export disk.img.manifest.json --format pcrlock --component uki \\
      --output /var/lib/pcrlock.d/650-uki.pcrlock")]
    Export {
        /// Manifest written by `yardstick image build`
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// Output format
        #[arg(long, value_enum)]
        format: Format,
        /// pcrlock: only the measurements of this component (uki, firmware, phase, ...)
        #[arg(long, value_name = "NAME")]
        component: Option<String>,
        /// Write to this file instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write a manifest for a UKI you built yourself: its digests and predicted PCRs
    #[command(after_help = "\
The manifest has the UKI as component `uki` and a tpm section with the PCRs
`yardstick pcr predict` computes for it (PCR 4, 7, 9, 11, 12, 13; PCR 11 after
each boot phase) and every predicted measurement, as `image build` writes it
for the images it makes. `verify tpm --refvals` and `refvals export` read it.

Examples:
  yardstick refvals create --uki uki.efi --output uki.manifest.json
  yardstick refvals create --uki uki.signed.efi \\
      --secure-boot-vars /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd --output m.json")]
    Create(CreateArgs),
}

/// Flags of `yardstick refvals create`.
#[derive(Debug, clap::Args)]
// The shared flags, with this command's wording of --secure-boot-vars (`mut_args`, unlike `mut_arg`, keeps the
// flag's place in the completion scripts).
#[command(mut_args(|a| if a.get_id() == "secure_boot_vars" {
    a.help("OVMF VARS file whose Secure Boot variables the firmware measures (default: none, Secure Boot off)")
} else {
    a
}))]
pub struct CreateArgs {
    #[command(flatten)]
    predict: PredictArgs,
    /// Write the manifest here instead of stdout
    #[arg(long, short, value_name = "MANIFEST")]
    output: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Trustee RVPS registration message (sample provenance)
    Rvps,
    /// systemd-pcrlock record file (CEL-JSON subset)
    Pcrlock,
}

fn load(path: &PathBuf) -> anyhow::Result<Manifest> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    Manifest::from_json(&bytes).with_context(|| format!("{}", path.display()))
}

/// Runs a `yardstick refvals` subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Show { manifest, json } => {
            let m = load(&manifest)?;
            if json {
                ui::print_json(&m)?;
            } else {
                print!("{}", describe(&m));
            }
        }
        Command::Export {
            manifest,
            format,
            component,
            output,
        } => {
            let m = load(&manifest)?;
            let text = match format {
                Format::Rvps => {
                    let msg = rvps::rvps_message(&m)
                        .with_context(|| format!("{}", manifest.display()))?;
                    serde_json::to_string_pretty(&msg)?
                }
                Format::Pcrlock => {
                    let f = pcrlock::pcrlock_file(&m, component.as_deref())
                        .with_context(|| format!("{}", manifest.display()))?;
                    serde_json::to_string(&f)?
                }
            } + "\n";
            match output {
                Some(p) => yardstick_common::fs::write_atomic(&p, text.as_bytes())
                    .with_context(|| format!("{}", p.display()))?,
                None => print!("{text}"),
            }
        }
        Command::Create(a) => create(&a)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn create(a: &CreateArgs) -> anyhow::Result<()> {
    let Predicted {
        uki, prediction, ..
    } = a.predict.predict()?;
    let mut tpm = TpmRefs::from_prediction(&prediction);
    tpm.assumptions.push(format!(
        "{} boot option(s) tried before the UKI (0: the boot disk has bootindex=0)",
        a.predict.boot_retries
    ));
    let file = a
        .predict
        .uki
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    let mut m = Manifest::new();
    m.components
        .push(Component::from_bytes("uki", file.as_deref(), &uki));
    m.tpm = Some(tpm);
    m.validate()
        .with_context(|| format!("{}: manifest", a.predict.uki.display()))?;
    let text = m.to_json();
    match &a.output {
        Some(o) => yardstick_common::fs::write_atomic(o, text.as_bytes())
            .with_context(|| format!("{}", o.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A human-readable summary of a manifest.
fn describe(m: &Manifest) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "manifest   version {} ({})", m.version, m.generator);
    if let Some(i) = &m.image {
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
    if let Some(v) = &m.verity {
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
    for l in &m.snp {
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
    if let Some(t) = &m.tpm {
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
    }
    for c in &m.components {
        let _ = writeln!(
            s,
            "component  {:<10} {:>10} bytes  sha256 {}  {}",
            c.name,
            c.size,
            c.sha256,
            c.file.as_deref().unwrap_or("")
        );
    }
    s
}
