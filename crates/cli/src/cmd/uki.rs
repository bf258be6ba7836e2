//! `yardstick uki`: build and inspect Unified Kernel Images.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_common::fs::InputKind;
use yardstick_pe::uki::{
    Culprit, Inspection, Uki, UkiInputs, build::normalize_cmdline_text, build_uki,
};

use super::read_input;
use crate::ui;

/// Subcommands of `yardstick uki`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Build a UKI from systemd-stub, a kernel, initrds and metadata (byte-identical to ukify 254)
    Build(Box<BuildArgs>),
    /// Show a UKI's sections, their SHA-256, the stub version and the command line
    Inspect(InspectArgs),
}

const BUILD_EXAMPLES: &str = "\
Examples:
  yardstick uki build --stub /usr/lib/systemd/boot/efi/linuxx64.efi.stub \\
      --linux vmlinuz --initrd initrd.img --cmdline 'console=ttyS0 quiet' \\
      --os-release @/etc/os-release --output uki.efi
  yardstick uki build --stub linuxx64.efi.stub --linux vmlinuz --initrd a.cpio --initrd b.cpio \\
      --cmdline @cmdline.txt --uname '' --sbat @extra.sbat --output uki.efi

Layout: sections are added as ukify 254 does (.osrel .cmdline .dtb .uname .splash
.initrd, the merged .sbat in place of the stub's, .linux last; VirtualSize = exact
length); with a systemd-stub 257 as ukify 257 does (.linux before .initrd, and the
UKI's NX_COMPAT flag cleared when the kernel lacks it). The output depends only on
the inputs. Differences from ukify: the build
host's /etc/os-release is never used implicitly, and SBAT texts without an 'sbat,'
header line are an error. Without --uname the kernel release is read from the
kernel's setup header; --uname '' leaves .uname out.";

/// Flags of `yardstick uki build`.
#[derive(Debug, clap::Args)]
#[command(after_help = BUILD_EXAMPLES)]
pub struct BuildArgs {
    /// systemd-stub EFI binary (linuxx64.efi.stub)
    #[arg(long, value_name = "STUB")]
    stub: PathBuf,
    /// Kernel image (EFI-stub bzImage)
    #[arg(long, value_name = "KERNEL")]
    linux: PathBuf,
    /// Initrd; repeat to concatenate several (each padded to 4 bytes)
    #[arg(long, value_name = "FILE")]
    initrd: Vec<PathBuf>,
    /// Kernel command line: TEXT (whitespace normalized) or @FILE (verbatim)
    #[arg(long, value_name = "TEXT|@FILE")]
    cmdline: Option<String>,
    /// os-release contents: TEXT or @FILE
    #[arg(long, value_name = "TEXT|@FILE")]
    os_release: Option<String>,
    /// Kernel release for .uname (default: read from the kernel; '' for none)
    #[arg(long, value_name = "TEXT")]
    uname: Option<String>,
    /// Boot splash image (BMP) for .splash
    #[arg(long, value_name = "FILE")]
    splash: Option<PathBuf>,
    /// Device tree blob for .dtb
    #[arg(long, value_name = "FILE")]
    dtb: Option<PathBuf>,
    /// SBAT text or @FILE merged into .sbat (default: the uki,1 line ukify uses); may be repeated
    #[arg(long, value_name = "TEXT|@FILE")]
    sbat: Vec<String>,
    /// Where to write the UKI (written atomically)
    #[arg(long, value_name = "UKI")]
    output: PathBuf,
}

/// Flags of `yardstick uki inspect`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  yardstick uki inspect uki.efi\n  yardstick uki inspect --json uki.efi | jq '.sections[].name'"
)]
pub struct InspectArgs {
    /// The UKI to inspect
    uki: PathBuf,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Runs a `yardstick uki` subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Build(a) => build(*a),
        Command::Inspect(a) => inspect(a),
    }
}

/// `TEXT` or `@FILE`: the file's bytes (a `kind`), or the text as given (after `text_fn`).
fn text_or_file(
    arg: &str,
    kind: InputKind,
    text_fn: impl Fn(&str) -> Vec<u8>,
) -> anyhow::Result<Vec<u8>> {
    match arg.strip_prefix('@') {
        Some(p) => read_input(Path::new(p), kind),
        None => Ok(text_fn(arg)),
    }
}

fn build(a: BuildArgs) -> anyhow::Result<ExitCode> {
    let at_files = [&a.cmdline, &a.os_release]
        .into_iter()
        .flatten()
        .chain(&a.sbat)
        .filter_map(|arg| arg.strip_prefix('@').map(Path::new));
    let inputs: Vec<&Path> = [a.stub.as_path(), a.linux.as_path()]
        .into_iter()
        .chain(a.initrd.iter().map(PathBuf::as_path))
        .chain(a.splash.as_deref())
        .chain(a.dtb.as_deref())
        .chain(at_files)
        .collect();
    yardstick_common::fs::refuse_clobber(&[&a.output], &inputs)?;
    let mut inputs = UkiInputs {
        stub: read_input(&a.stub, InputKind::EFI_STUB)?,
        linux: read_input(&a.linux, InputKind::KERNEL)?,
        uname: a.uname.clone(),
        ..Default::default()
    };
    for i in &a.initrd {
        inputs.initrds.push(read_input(i, InputKind::INITRD)?);
    }
    if let Some(c) = &a.cmdline {
        inputs.cmdline = Some(text_or_file(c, InputKind::CMDLINE, normalize_cmdline_text)?);
    }
    if let Some(o) = &a.os_release {
        inputs.os_release = Some(text_or_file(o, InputKind::OS_RELEASE, |t| {
            t.as_bytes().to_vec()
        })?);
    }
    if let Some(s) = &a.splash {
        inputs.splash = Some(read_input(s, InputKind::SPLASH)?);
    }
    if let Some(d) = &a.dtb {
        inputs.dtb = Some(read_input(d, InputKind::DEVICE_TREE)?);
    }
    for s in &a.sbat {
        let bytes = text_or_file(s, InputKind::SBAT, |t| t.as_bytes().to_vec())?;
        let text = String::from_utf8(bytes).with_context(|| format!("{s}: SBAT is not UTF-8"))?;
        inputs.sbat.push(text);
    }
    // Name the input at fault.
    let uki = build_uki(&inputs).map_err(|e| {
        // The whole cause chain is printed after the culprit (the error's source included).
        let culprit = match e.culprit() {
            Culprit::Kernel => a.linux.display().to_string(),
            Culprit::Stub => a.stub.display().to_string(),
            Culprit::Sbat => "--sbat".to_string(),
            Culprit::Output => a.output.display().to_string(),
        };
        anyhow::Error::new(e).context(culprit)
    })?;
    yardstick_common::fs::write_atomic(&a.output, &uki)
        .with_context(|| format!("{}: cannot write", a.output.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn inspect(a: InspectArgs) -> anyhow::Result<ExitCode> {
    let data = read_input(&a.uki, InputKind::UKI)?;
    let uki = Uki::parse(&data).with_context(|| format!("{}", a.uki.display()))?;
    let out = Inspection::new(&a.uki.display().to_string(), &data, &uki)
        .with_context(|| format!("{}", a.uki.display()))?;
    if a.json {
        ui::print_json(&out)?;
    } else {
        ui::print_text(&out.to_text())?;
    }
    Ok(ExitCode::SUCCESS)
}
