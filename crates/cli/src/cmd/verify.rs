//! `yardstick verify`: check TEE evidence (SEV-SNP reports, TPM quotes, Azure vTPM evidence) offline, against
//! vendor roots built into yardstick and against reference values. The checks live in `yardstick-verify`;
//! this module reads the files, maps flags to a policy and prints the appraisal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use yardstick_common::hex;
use yardstick_refvals::Manifest;
use yardstick_tpm::PcrBanks;
use yardstick_tpm::eventlog::EventLog;
use yardstick_verify::azure::{AzureEvidence, AzurePolicy, verify_azure};
use yardstick_verify::snp::{AttestationReport, SnpPolicy, SnpReference, verify_report};
use yardstick_verify::tpm::{
    Ak, EventLogEvidence, PcrReference, QuoteInput, QuoteSignature, TpmPolicy, parse_pcr_values,
    verify_quote,
};
use yardstick_verify::x509::Cert;
use yardstick_verify::{Appraisal, Error};

use crate::ui;

const SNP_HELP: &str = "\
Checks, in order: the ARK is one of AMD's roots (SHA-256 pins built in), the
ASK and VCEK chain to it (RSA-PSS SHA-384), the report's ECDSA P-384 signature
by the VCEK, the VCEK's hwID and TCB extensions against the report, the guest
policy (debug and migration agent refused unless allowed), VMPL, and
report_data / host_data / the launch measurement when given. With --refvals
the launch measurement must be one of the manifest's SEV-SNP digests (snp[]
entries of mode snp), or one given by --measurement. Certificates are checked
for validity now, or at --time.

Exit status: 0 all checks passed, 1 evidence rejected, 2 bad usage or input.

Examples:
  yardstick verify snp --report report.bin --vcek vcek.der \\
      --ask milan/ask.pem --ark milan/ark.pem --refvals disk.img.manifest.json
  yardstick verify snp --report report.bin --vcek vcek.der \\
      --ask milan/ask.pem --ark milan/ark.pem --measurement 7a1e5c26...841f
  yardstick verify snp --report report.hex --vcek vcek.pem --ask ask.pem \\
      --ark ark.pem --report-data d447b55d... --time 2026-01-01T00:00:00Z --json";

const TPM_HELP: &str = "\
Checks the quote's TPMS_ATTEST (magic, type), its signature by the AK
(RSASSA, RSA-PSS or ECDSA; TPMT_SIGNATURE or raw), the nonce in extraData, that
the supplied PCR values hash to the quote's PCR digest, that the event log (when
given) replays to the quoted PCRs, and the quoted PCRs against the manifest's
tpm.pcrs (--refvals; PCR 11 after any boot phase too) or --expected-pcrs. A
PCR that differs from the manifest names the first event of the log that
differs from the manifest's expected events. Reference PCRs of a bank the
quote does not select are noted, not compared.

PCRS is the file `tpm2_quote -o` writes (serialized, marshaled or values),
`tpm2_pcrread` output, or the JSON of `yardstick pcr predict`
({\"sha256\": {\"11\": \"<hex>\"}}). AK_PUB is PEM or DER
SubjectPublicKeyInfo, TPM2B_PUBLIC or TPMT_PUBLIC. LOG is a binary TCG event
log (/sys/kernel/security/tpm0/binary_bios_measurements).

Exit status: 0 all checks passed, 1 evidence rejected, 2 bad usage or input.

Examples:
  tpm2_quote -c ak.ctx -q $NONCE -l sha256:0,4,7,9,11 -m quote.msg -s quote.sig -o quote.pcrs
  yardstick verify tpm --quote quote.msg --signature quote.sig --ak ak.pub \\
      --pcrs quote.pcrs --nonce $NONCE --eventlog eventlog.bin \\
      --refvals disk.img.manifest.json
  yardstick verify tpm --quote quote.msg --signature quote.sig --ak ak.pem \\
      --pcrs pcrread.yaml --nonce $NONCE --expected-pcrs predicted.json --json";

const AZURE_HELP: &str = "\
Verifies Trustee's Azure SNP/TDX vTPM evidence (versions 0, 1, 2): the TPM
quote with the AK from the HCL runtime data, report_data = SHA-256(runtime
data), for SEV-SNP the report and its VCEK against AMD's built-in ARK/ASK, for
TDX the TD quote signature, QE report and PCK chain to the pinned Intel SGX Root
CA. TDX TCB status and revocation need Intel collateral and are not checked
offline (said in the output).

With --refvals: the vTPM's PCR 11 against the manifest's (any boot phase), as
Trustee's default policy compares snp_pcr11 / tdx_pcr11 (--refvals-pcrs picks
other PCRs), and for SEV-SNP evidence the launch measurement against the
manifest's SEV-SNP digests if it lists any.

Exit status: 0 all checks passed, 1 evidence rejected, 2 bad usage or input.

Examples:
  yardstick verify azure --evidence evidence.json --nonce 6368616c6c656e6765
  yardstick verify azure --evidence evidence.json --refvals disk.img.manifest.json
  yardstick verify azure --evidence evidence.json --expected-pcrs pcrs.json \\
      --time 2026-01-01T00:00:00Z --json";

/// Subcommands of this group.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Verify a SEV-SNP attestation report with its VCEK and AMD's ASK/ARK
    #[command(after_help = SNP_HELP)]
    Snp(Box<SnpArgs>),
    /// Verify a TPM 2.0 quote: AK signature, nonce, PCR digest, reference PCRs
    #[command(after_help = TPM_HELP)]
    Tpm(Box<TpmArgs>),
    /// Verify Azure confidential-VM vTPM evidence (Trustee az-snp-vtpm / az-tdx-vtpm)
    #[command(after_help = AZURE_HELP)]
    Azure(Box<AzureArgs>),
}

/// Guest-policy requirements shared by `snp` and `azure`.
#[derive(Debug, clap::Args)]
pub struct GuestPolicyArgs {
    /// Accept a guest whose policy allows debugging (refused by default)
    #[arg(long)]
    allow_debug: bool,
    /// Accept a guest whose policy allows a migration agent (refused by default)
    #[arg(long)]
    allow_migration_agent: bool,
    /// Require the guest policy to disallow SMT
    #[arg(long)]
    no_smt: bool,
}

impl GuestPolicyArgs {
    /// The SNP policy these flags ask for; the caller fills in the rest.
    fn snp_policy(&self) -> SnpPolicy {
        SnpPolicy {
            allow_debug: self.allow_debug,
            allow_migration_agent: self.allow_migration_agent,
            allow_smt: !self.no_smt,
            ..SnpPolicy::default()
        }
    }
}

/// `verify snp` flags.
#[derive(Debug, clap::Args)]
pub struct SnpArgs {
    /// Attestation report: binary (1184 bytes) or hex text
    #[arg(long, value_name = "REPORT")]
    report: PathBuf,
    /// VCEK (or VLEK) certificate, PEM or DER
    #[arg(long, value_name = "VCEK")]
    vcek: PathBuf,
    /// AMD ASK (or ASVK) certificate, PEM or DER
    #[arg(long, value_name = "ASK")]
    ask: PathBuf,
    /// AMD ARK certificate, PEM or DER (must be one of AMD's roots)
    #[arg(long, value_name = "ARK")]
    ark: PathBuf,
    /// Reference-value manifest with the expected launch measurement(s)
    #[arg(long, value_name = "MANIFEST")]
    refvals: Option<PathBuf>,
    /// Expected launch measurement (48-byte hex); repeat to accept several
    #[arg(long, value_name = "HEX")]
    measurement: Vec<String>,
    /// Check certificate validity at this time (RFC 3339, e.g. 2026-01-01T00:00:00Z) instead of now
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
    /// Expected REPORT_DATA (hex, up to 64 bytes, zero-padded)
    #[arg(long, value_name = "HEX")]
    report_data: Option<String>,
    /// Expected HOST_DATA (hex, up to 32 bytes, zero-padded)
    #[arg(long, value_name = "HEX")]
    host_data: Option<String>,
    /// Required VMPL of the report request
    #[arg(long, value_name = "N", default_value_t = 0)]
    vmpl: u32,
    #[command(flatten)]
    policy: GuestPolicyArgs,
    /// Print the appraisal as JSON
    #[arg(long)]
    json: bool,
}

/// `verify tpm` flags.
#[derive(Debug, clap::Args)]
pub struct TpmArgs {
    /// Quote message, TPMS_ATTEST (`tpm2_quote -m`)
    #[arg(long, value_name = "MSG")]
    quote: PathBuf,
    /// Quote signature, TPMT_SIGNATURE (`tpm2_quote -s`) or raw
    #[arg(long, value_name = "SIG")]
    signature: PathBuf,
    /// Attestation key: PEM/DER public key, TPM2B_PUBLIC or TPMT_PUBLIC
    #[arg(long, value_name = "AK_PUB")]
    ak: PathBuf,
    /// PCR values: `tpm2_quote -o` file or PCR JSON
    #[arg(long, value_name = "PCRS")]
    pcrs: PathBuf,
    /// TCG event log (binary_bios_measurements) to replay against the quoted PCRs
    #[arg(long, value_name = "LOG")]
    eventlog: Option<PathBuf>,
    /// Expected nonce (the quote's extraData), hex
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
    /// Reference-value manifest with expected PCRs (tpm.pcrs, tpm.events)
    #[arg(long, value_name = "MANIFEST")]
    refvals: Option<PathBuf>,
    /// Compare only these PCRs of the manifest (comma-separated; default: all it lists)
    #[arg(long, value_name = "PCRS", value_delimiter = ',', requires = "refvals")]
    refvals_pcrs: Option<Vec<u32>>,
    /// Expected PCR values as JSON (`yardstick pcr predict` output)
    #[arg(long, value_name = "JSON", conflicts_with = "refvals")]
    expected_pcrs: Option<PathBuf>,
    /// Print the appraisal as JSON
    #[arg(long)]
    json: bool,
}

/// `verify azure` flags.
#[derive(Debug, clap::Args)]
pub struct AzureArgs {
    /// Trustee Azure vTPM evidence JSON (SNP or TDX, version 0, 1 or 2)
    #[arg(long, value_name = "EVIDENCE.json")]
    evidence: PathBuf,
    /// Expected nonce (the TPM quote's extraData; for v2 also the HCL user-data), hex
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
    /// Reference-value manifest with expected PCRs and launch measurements
    #[arg(long, value_name = "MANIFEST")]
    refvals: Option<PathBuf>,
    /// Compare these PCRs of the manifest (comma-separated; default: 11, as Trustee's policy does)
    #[arg(long, value_name = "PCRS", value_delimiter = ',', requires = "refvals")]
    refvals_pcrs: Option<Vec<u32>>,
    /// Expected PCR values as JSON (`yardstick pcr predict` output)
    #[arg(long, value_name = "JSON", conflicts_with = "refvals")]
    expected_pcrs: Option<PathBuf>,
    /// Expected SEV-SNP launch measurement (48-byte hex); repeat to accept several
    #[arg(long, value_name = "HEX")]
    measurement: Vec<String>,
    /// Check certificate validity at this time (RFC 3339, e.g. 2026-01-01T00:00:00Z) instead of now
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
    #[command(flatten)]
    policy: GuestPolicyArgs,
    /// Print the appraisal as JSON
    #[arg(long)]
    json: bool,
}

/// Runs a subcommand of this group.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    let (appraisal, json) = match cmd {
        Command::Snp(a) => (snp(&a)?, a.json),
        Command::Tpm(a) => (tpm(&a)?, a.json),
        Command::Azure(a) => (azure(&a)?, a.json),
    };
    emit(&appraisal, json)
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Hex of at most `max` bytes, zero-padded to `max` when `pad`.
fn hex_arg(flag: &str, s: &str, max: usize, pad: bool) -> anyhow::Result<Vec<u8>> {
    let s = s.trim();
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut b = hex::decode(s).with_context(|| format!("{flag}: bad hex"))?;
    if b.len() > max {
        bail!("{flag}: {} bytes, at most {max} allowed", b.len());
    }
    if pad {
        b.resize(max, 0);
    }
    Ok(b)
}

/// `--nonce`: the quote's extraData, at most 64 bytes.
fn nonce(flag: &Option<String>) -> anyhow::Result<Option<Vec<u8>>> {
    flag.as_deref()
        .map(|s| hex_arg("--nonce", s, 64, false))
        .transpose()
}

fn measurements(flags: &[String]) -> anyhow::Result<Option<SnpReference>> {
    if flags.is_empty() {
        return Ok(None);
    }
    let mut m = Vec::new();
    for f in flags {
        let b = hex_arg("--measurement", f, 48, false)?;
        let arr: [u8; 48] = b.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!("--measurement: {} bytes, a launch digest is 48", b.len())
        })?;
        m.push(arr);
    }
    Ok(Some(SnpReference {
        measurements: m,
        source: "--measurement".into(),
    }))
}

fn load_manifest(path: &Path) -> anyhow::Result<Manifest> {
    Manifest::from_json(&read(path)?).with_context(|| path.display().to_string())
}

/// Launch digests from `--measurement` and the manifest's SEV-SNP entries, one reference.
fn snp_reference(
    flags: &[String],
    manifest: Option<(&Path, &Manifest)>,
    required: bool,
) -> anyhow::Result<Option<SnpReference>> {
    let mut r = measurements(flags)?;
    if let Some((path, m)) = manifest {
        match yardstick_verify::refvals::snp_reference(m, &path.display().to_string()) {
            Some(from_m) => {
                r = Some(match r {
                    None => from_m,
                    Some(mut f) => {
                        f.measurements.extend(from_m.measurements);
                        f.source = format!("{} + {}", f.source, from_m.source);
                        f
                    }
                });
            }
            None if required => bail!(
                "{}: the manifest has no SEV-SNP launch digest (snp[] entry of mode snp) to compare",
                path.display()
            ),
            None => {}
        }
    }
    Ok(r)
}

fn pcr_reference(path: &Path, m: &Manifest, only: Option<&[u32]>) -> anyhow::Result<PcrReference> {
    if m.tpm.is_none() {
        bail!(
            "{}: the manifest has no tpm section (predicted PCRs) to compare",
            path.display()
        );
    }
    if let Some(p) = only.and_then(|o| o.iter().find(|p| **p > yardstick_tpm::pcr::MAX_PCR)) {
        bail!("--refvals-pcrs: {p} is not a PCR index (0-23)");
    }
    yardstick_verify::refvals::pcr_reference(m, &path.display().to_string(), only).ok_or_else(
        || {
            anyhow::anyhow!(
                "{}: the manifest predicts none of the PCRs asked for ({})",
                path.display(),
                only.map(|o| o.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
                    .unwrap_or_default()
            )
        },
    )
}

fn verification_time(t: &Option<String>) -> anyhow::Result<Option<u64>> {
    t.as_deref()
        .map(|s| {
            yardstick_verify::time::parse_rfc3339(s).map_err(|e| anyhow::anyhow!("--time: {e}"))
        })
        .transpose()
}

fn load_eventlog(path: &Path) -> anyhow::Result<EventLogEvidence> {
    let log = EventLog::parse(&read(path)?).with_context(|| path.display().to_string())?;
    Ok(EventLogEvidence::from_log(log))
}

fn expected_pcrs(p: &Option<PathBuf>) -> anyhow::Result<Option<PcrReference>> {
    let Some(p) = p else { return Ok(None) };
    let banks: PcrBanks = serde_json::from_slice(&read(p)?).with_context(|| {
        format!(
            "{}: not PCR JSON ({{\"sha256\": {{\"11\": \"<hex>\"}}}})",
            p.display()
        )
    })?;
    if banks.is_empty() {
        bail!("{}: no PCR values", p.display());
    }
    Ok(Some(PcrReference::from_banks(
        &banks,
        p.display().to_string(),
    )))
}

fn load_cert(path: &Path, what: &str) -> anyhow::Result<Cert> {
    Cert::load_first(&read(path)?)
        .with_context(|| format!("{}: {what} certificate", path.display()))
}

fn snp(a: &SnpArgs) -> anyhow::Result<Appraisal> {
    let manifest = a.refvals.as_deref().map(load_manifest).transpose()?;
    let reference = snp_reference(
        &a.measurement,
        a.refvals.as_deref().zip(manifest.as_ref()),
        true,
    )?;
    let now = verification_time(&a.time)?;
    let report = AttestationReport::parse_any(&read(&a.report)?)
        .with_context(|| a.report.display().to_string())?;
    let vcek = load_cert(&a.vcek, "VCEK")?;
    let ask = load_cert(&a.ask, "ASK")?;
    let ark = load_cert(&a.ark, "ARK")?;
    let policy = SnpPolicy {
        vmpl: Some(a.vmpl),
        report_data: a
            .report_data
            .as_deref()
            .map(|s| hex_arg("--report-data", s, 64, true))
            .transpose()?
            .map(|b| b.try_into().unwrap_or([0; 64])),
        host_data: a
            .host_data
            .as_deref()
            .map(|s| hex_arg("--host-data", s, 32, true))
            .transpose()?
            .map(|b| b.try_into().unwrap_or([0; 32])),
        reference,
        now,
        ..a.policy.snp_policy()
    };
    verify_report(&report, &vcek, &ask, &ark, &policy).map_err(|e| {
        let path = match &e {
            Error::Cert { which: "ASK", .. } => &a.ask,
            Error::Cert { which: "ARK", .. } => &a.ark,
            Error::Cert { .. } => &a.vcek,
            _ => &a.report,
        };
        anyhow::Error::new(e).context(path.display().to_string())
    })
}

fn tpm(a: &TpmArgs) -> anyhow::Result<Appraisal> {
    let reference = match &a.refvals {
        Some(p) => Some(pcr_reference(
            p,
            &load_manifest(p)?,
            a.refvals_pcrs.as_deref(),
        )?),
        None => expected_pcrs(&a.expected_pcrs)?,
    };
    let eventlog = a.eventlog.as_deref().map(load_eventlog).transpose()?;
    let message = read(&a.quote)?;
    let attest = yardstick_tpm::tpm2::Attest::parse_quote(&message)
        .with_context(|| format!("{}: not a TPM quote (TPMS_ATTEST)", a.quote.display()))?;
    let signature = QuoteSignature::parse(&read(&a.signature)?)
        .with_context(|| a.signature.display().to_string())?;
    let ak = Ak::parse(&read(&a.ak)?).with_context(|| a.ak.display().to_string())?;
    let pcrs = parse_pcr_values(&read(&a.pcrs)?, Some(&attest.pcr_select))
        .with_context(|| a.pcrs.display().to_string())?;
    let policy = TpmPolicy {
        nonce: nonce(&a.nonce)?,
        reference,
        eventlog,
    };
    let input = QuoteInput {
        message: &message,
        signature: &signature,
        ak: &ak,
        pcrs: &pcrs,
    };
    let (appraisal, _) =
        verify_quote(input, &policy).with_context(|| a.quote.display().to_string())?;
    Ok(appraisal)
}

fn azure(a: &AzureArgs) -> anyhow::Result<Appraisal> {
    let manifest = a.refvals.as_deref().map(load_manifest).transpose()?;
    let pcrs =
        match (&a.refvals, &manifest) {
            (Some(p), Some(m)) if m.tpm.is_some() || a.refvals_pcrs.is_some() => Some(
                pcr_reference(p, m, Some(a.refvals_pcrs.as_deref().unwrap_or(&[11])))?,
            ),
            (Some(p), Some(m)) if m.snp.is_empty() => bail!(
                "{}: the manifest has neither a tpm section nor SEV-SNP launch digests to compare",
                p.display()
            ),
            _ => expected_pcrs(&a.expected_pcrs)?,
        };
    let reference = snp_reference(
        &a.measurement,
        a.refvals.as_deref().zip(manifest.as_ref()),
        false,
    )?;
    let ev = AzureEvidence::parse(&read(&a.evidence)?)
        .with_context(|| a.evidence.display().to_string())?;
    let policy = AzurePolicy {
        nonce: nonce(&a.nonce)?,
        pcrs,
        snp: SnpPolicy {
            reference,
            now: verification_time(&a.time)?,
            ..a.policy.snp_policy()
        },
    };
    let mut appraisal =
        verify_azure(&ev, &policy).with_context(|| a.evidence.display().to_string())?;
    if let (Some(p), Some(m)) = (&a.refvals, &manifest)
        && m.tpm.is_some()
        && a.refvals_pcrs.is_none()
    {
        appraisal.note(format!(
                "{}: only PCR 11 compared (the manifest's other PCRs describe an OVMF platform, not Azure's firmware); --refvals-pcrs selects others",
                p.display()
            ));
    }
    Ok(appraisal)
}

/// Prints the appraisal; exit 0 if affirming, 1 if not.
fn emit(a: &Appraisal, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        ui::print_json(a)?;
    } else {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        for c in a.checks() {
            if c.ok {
                writeln!(out, "ok    {}: {}", c.name, c.actual)?;
            } else {
                writeln!(
                    out,
                    "FAIL  {}: expected {}, actual {}",
                    c.name, c.expected, c.actual
                )?;
            }
        }
        for n in a.notes() {
            writeln!(out, "note  {n}")?;
        }
        let failed = a.failures().count();
        if a.passed() {
            writeln!(out, "affirming: all {} checks passed", a.checks().len())?;
        } else {
            writeln!(
                out,
                "contraindicated: {failed} of {} checks failed",
                a.checks().len()
            )?;
        }
    }
    Ok(if a.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
