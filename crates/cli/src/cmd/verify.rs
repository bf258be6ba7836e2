//! `yardstick verify`: check TEE evidence (SEV-SNP reports, TD quotes, TPM quotes, Azure vTPM evidence)
//! offline, against vendor roots built into yardstick and against reference values. Each subcommand maps its
//! flags to a request of `yardstick-verify` (`snp::verify_files`, `tdx::verify_files`, `tpm::verify_files`,
//! `azure::verify_files`), which
//! reads the files and runs the checks, and prints the appraisal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use yardstick_tpm::PcrSpan;
use yardstick_verify::Appraisal;
use yardstick_verify::azure::{self, AzureRequest};
use yardstick_verify::policy::{self, PolicyRequest};
use yardstick_verify::snp::{self, GuestRules, SnpRequest};
use yardstick_verify::tdx::{self, TdxRequest};
use yardstick_verify::tpm::{self, TpmRequest};

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

Certificates: each comes from its own option (--vcek, --ask, --ark), else the
--certs directory (as `snpguest certificates pem|der DIR` or `snpguest fetch`
write it: vcek or vlek, ask or asvk, ark, each .pem or .der; cert_chain.pem
holds ASK + ARK as AMD's KDS serves them), else the extended report's
certificate table (--cert-table), else, for ASK and ARK, AMD's chain built in
for the report's product. A given ARK must still be one of the pinned roots.
The appraisal's last note says where each certificate came from.

With --policy: the evidence's claims (named and encoded as Trustee's verifier
for this kind produces them; \"claims\" in --json) are the input of the Rego
policy, evaluated as Trustee's attestation service evaluates it (regorus,
query_reference_value() answered from --reference files and the --refvals
manifest's values under the RVPS names). Its trust claims are printed, each
non-affirming one with its reasons. Exit status 0 needs every check passed and
executables affirming.

Exit status: 0 all checks passed, 1 evidence rejected, 2 bad usage or input.

Examples:
  yardstick verify snp --report report.bin --vcek vcek.der \\
      --refvals disk.img.manifest.json
  snpguest report report.bin request.bin --random
  snpguest certificates pem ./certs
  yardstick verify snp --report report.bin --certs ./certs \\
      --measurement 7a1e5c26...841f
  yardstick verify snp --report report.bin --cert-table certs.bin
  yardstick verify snp --report report.bin --certs ./certs \\
      --policy policy.rego --reference message.json
  yardstick verify snp --report report.hex --vcek vcek.pem --ask ask.pem \\
      --ark ark.pem --report-data d447b55d... --time 2026-01-01T00:00:00Z --json";

const TDX_HELP: &str = "\
Checks a bare Intel TD quote (DCAP v4 or v5, TD 1.0 or 1.5 body), in order:
the QE vendor, the quote's ECDSA P-256 signature by the attestation key, the
QE report binding that key (REPORTDATA = SHA-256(key || QE auth data)), the
PCK chain from the quote to the Intel SGX Root CA (SHA-256 pin built in),
the QE report's signature by the PCK, TD attributes (debug refused); then,
when given: Intel's collateral, REPORTDATA, the manifest's MRTD and RTMRs,
and the CC event log replayed against the quoted RTMRs (a difference is
explained by the log's events). XFAM, MRSEAM and TEE_TCB_SVN are reported.

COLLATERAL is a directory of Intel PCS (API v4) responses:
  tcb_info.json                 GET /tdx/certification/v4/tcb?fmspc=FMSPC
  tcb_info_issuer_chain.pem     its TCB-Info-Issuer-Chain header
  qe_identity.json              GET /tdx/certification/v4/qe/identity
  qe_identity_issuer_chain.pem  its issuer chain header (optional)
  pck_crl.der                   GET /sgx/certification/v4/pckcrl?ca=platform
  root_ca_crl.der               IntelSGXRootCA.der (Intel's certificate site)
With it: the signatures of TCB Info and QE Identity (TCB signing chain to
the same pinned root), their validity, the platform's TCB status (the PCK
certificate's FMSPC and SGX TCB, the quote's TEE_TCB_SVN; UpToDate
required), the TDX module identity, the QE identity and TCB status, and
revocation of the PCK, PCK CA and TCB signing certificates. Without it the
output says that these were not checked.

With --refvals the quote's MRTD must be that of one of the manifest's tdx[]
configurations, and that configuration's RTMRs (those it predicts) the
quoted ones. CCEL is the TD's event log (/sys/firmware/acpi/tables/data/CCEL).
QUOTE is binary or hex text. Validity is checked now, or at --time.

With --policy: the quote's claims (named and encoded as Trustee's tdx verifier
produces them: quote.header, quote.body, td_attributes, report_data,
init_data, and uefi_event_logs with --ccel; \"claims\" in --json) are the
input of the Rego policy, evaluated as Trustee's attestation service
evaluates it (regorus, query_reference_value answered from --reference files
and the --refvals manifest's values under the RVPS names mr_td, rtmr_1,
rtmr_2). Its trust claims are printed, each non-affirming one with its
reason; the quote is accepted only if executables is affirming too.

Exit status: 0 all checks passed, 1 evidence rejected, 2 bad usage or input.

Examples:
  yardstick verify tdx --quote quote.dat
  yardstick refvals export disk.img.manifest.json --format rego > policy.rego
  yardstick verify tdx --quote quote.dat --refvals disk.img.manifest.json --policy policy.rego
  yardstick verify tdx --quote quote.dat --ccel CCEL --refvals disk.img.manifest.json \\
      --report-data 0123abcd...
  yardstick verify tdx --quote quote.dat --collateral pcs/ --time 2026-01-01T00:00:00Z --json";

const TPM_HELP: &str = "\
Checks the quote's TPMS_ATTEST (magic, type), its signature by the AK
(RSASSA, RSA-PSS or ECDSA; TPMT_SIGNATURE or raw), the nonce in extraData, that
the supplied PCR values hash to the quote's PCR digest, that the event log (when
given) replays to the quoted PCRs, and the quoted PCRs against the manifest's
tpm.pcrs (--refvals; PCR 11 after any boot phase too) or --expected-pcrs. A
PCR that differs from the manifest names the first event of the log that
differs from the manifest's expected events. Reference PCRs of a bank the
quote does not select are noted, not compared.

Fail-closed defaults:
  - a quote signed over SHA-1 is refused with
    \"signature uses SHA-1; pass --allow-sha1 to accept\";
    with --allow-sha1 it is accepted and the checks resting on SHA-1 are
    marked weak (\"weak\" in --json);
  - PCR values the quote does not select fail the appraisal, as
    tpm2_checkquote rejects them; --allow-extra-pcrs ignores them instead
    (they are never trusted);
  - a given --nonce is always compared; --require-nonce fails the appraisal
    when no nonce (or an empty one) is given.

PCRS is the file `tpm2_quote -o` writes (serialized, marshaled or values),
`tpm2_pcrread` output, or the JSON of `yardstick pcr predict`
({\"sha256\": {\"11\": \"<hex>\"}}), holding the quoted PCRs only (see
above). AK_PUB is PEM or DER SubjectPublicKeyInfo, TPM2B_PUBLIC or
TPMT_PUBLIC. LOG is a binary TCG event log
(/sys/kernel/security/tpm0/binary_bios_measurements).

With --policy: the evidence's claims (named and encoded as Trustee's verifier
for this kind produces them; \"claims\" in --json) are the input of the Rego
policy, evaluated as Trustee's attestation service evaluates it (regorus,
query_reference_value() answered from --reference files and the --refvals
manifest's values under the RVPS names). Its trust claims are printed, each
non-affirming one with its reasons. Exit status 0 needs every check passed and
executables affirming.

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

The evidence's \"version\" is not signed. Version 2 binds the nonce into the
HCL runtime data's user-data, which is signed: evidence whose user-data is set
but that says version 0 or 1 is rejected, unless --evidence-version states the
version expected (the evidence must then say that version). A TPM quote signed
over SHA-1 is refused unless --allow-sha1 (then marked weak); --require-nonce
fails the appraisal when no --nonce is given.

With --policy: the evidence's claims (named and encoded as Trustee's verifier
for this kind produces them; \"claims\" in --json) are the input of the Rego
policy, evaluated as Trustee's attestation service evaluates it (regorus,
query_reference_value() answered from --reference files and the --refvals
manifest's values under the RVPS names). Its trust claims are printed, each
non-affirming one with its reasons. Exit status 0 needs every check passed and
executables affirming.

Exit status: 0 all checks passed, 1 evidence rejected, 2 bad usage or input.

Examples:
  yardstick verify azure --evidence evidence.json --nonce 6368616c6c656e6765
  yardstick verify azure --evidence evidence.json --refvals disk.img.manifest.json
  yardstick refvals export disk.img.manifest.json --format rego > policy.rego
  yardstick verify azure --evidence evidence.json --policy policy.rego \\
      --refvals disk.img.manifest.json
  yardstick verify azure --evidence evidence.json --expected-pcrs pcrs.json \\
      --time 2026-01-01T00:00:00Z --json";

/// Subcommands of this group.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Verify a SEV-SNP attestation report with its VCEK and AMD's ASK/ARK (built in unless given)
    #[command(after_help = SNP_HELP)]
    Snp(Box<SnpArgs>),
    /// Verify an Intel TD quote: signatures, PCK chain, collateral, MRTD/RTMRs, CC event log
    #[command(after_help = TDX_HELP)]
    Tdx(Box<TdxArgs>),
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
    fn rules(&self) -> GuestRules {
        GuestRules {
            allow_debug: self.allow_debug,
            allow_migration_agent: self.allow_migration_agent,
            allow_smt: !self.no_smt,
        }
    }
}

/// `--policy` and `--reference`, shared by every evidence kind.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// Evaluate this Trustee attestation policy (Rego) on the evidence's claims and print its trust claims;
    /// the evidence is accepted only if `executables` is affirming
    #[arg(long, value_name = "POLICY.rego")]
    policy: Option<PathBuf>,
    /// Reference values for the policy: an RVPS message (`refvals export --format rvps`) or a JSON object
    /// of names to values; repeat to merge. --refvals adds the manifest's values under the same names
    #[arg(long, value_name = "VALUES.json", requires = "policy")]
    reference: Vec<PathBuf>,
}

impl PolicyArgs {
    fn request<'a>(&'a self, manifest: Option<&'a Path>) -> Option<PolicyRequest<'a>> {
        self.policy.as_deref().map(|policy| PolicyRequest {
            policy,
            reference: &self.reference,
            manifest,
        })
    }
}

/// `verify snp` flags.
#[derive(Debug, clap::Args)]
pub struct SnpArgs {
    /// Attestation report: binary (1184 bytes) or hex text
    #[arg(long, value_name = "REPORT")]
    report: PathBuf,
    /// VCEK (or VLEK) certificate, PEM or DER (or from --certs / --cert-table)
    #[arg(long, value_name = "VCEK")]
    vcek: Option<PathBuf>,
    /// AMD ASK (or ASVK) certificate, PEM or DER (default: from --certs / --cert-table, else built in)
    #[arg(long, value_name = "ASK")]
    ask: Option<PathBuf>,
    /// AMD ARK certificate, PEM or DER; must be one of AMD's roots (default: as --ask)
    #[arg(long, value_name = "ARK")]
    ark: Option<PathBuf>,
    /// Directory of certificates as snpguest writes them: vcek|vlek, ask|asvk, ark (.pem or .der)
    #[arg(long, value_name = "DIR", conflicts_with = "cert_table")]
    certs: Option<PathBuf>,
    /// Certificate table of an extended report (SNP_GET_EXT_REPORT's certificate buffer)
    #[arg(long, value_name = "FILE")]
    cert_table: Option<PathBuf>,
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
    #[command(flatten)]
    rego: PolicyArgs,
    /// Print the appraisal as JSON
    #[arg(long)]
    json: bool,
}

/// `verify tdx` flags.
#[derive(Debug, clap::Args)]
pub struct TdxArgs {
    /// TD quote (v4 or v5), binary or hex
    #[arg(long, value_name = "QUOTE")]
    quote: PathBuf,
    /// Directory of Intel PCS collateral (TCB Info, QE Identity, CRLs; see below)
    #[arg(long, value_name = "DIR")]
    collateral: Option<PathBuf>,
    /// The TD's CC event log (CCEL) to replay against the quoted RTMRs
    #[arg(long, value_name = "CCEL")]
    ccel: Option<PathBuf>,
    /// Reference-value manifest with tdx[] configurations (MRTD, RTMRs)
    #[arg(long, value_name = "MANIFEST")]
    refvals: Option<PathBuf>,
    /// Expected REPORTDATA (hex, up to 64 bytes, zero-padded)
    #[arg(long, value_name = "HEX")]
    report_data: Option<String>,
    /// Check certificates and collateral at this time (RFC 3339, e.g. 2026-01-01T00:00:00Z) instead of now
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
    #[command(flatten)]
    rego: PolicyArgs,
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
    /// Fail unless a (non-empty) --nonce is given: freshness is required
    #[arg(long)]
    require_nonce: bool,
    /// Ignore PCR values the quote does not select (noted, never trusted) instead of failing
    #[arg(long)]
    allow_extra_pcrs: bool,
    /// Accept a quote signed over SHA-1 (refused by default); its checks are marked weak
    #[arg(long)]
    allow_sha1: bool,
    /// Reference-value manifest with expected PCRs (tpm.pcrs, tpm.events)
    #[arg(long, value_name = "MANIFEST")]
    refvals: Option<PathBuf>,
    /// Compare only these PCRs of the manifest (comma-separated, ranges allowed: 0-7,9; default: all it lists)
    #[arg(long, value_name = "PCRS", value_delimiter = ',', requires = "refvals")]
    refvals_pcrs: Option<Vec<PcrSpan>>,
    /// Expected PCR values as JSON (`yardstick pcr predict` output)
    #[arg(long, value_name = "JSON", conflicts_with = "refvals")]
    expected_pcrs: Option<PathBuf>,
    #[command(flatten)]
    rego: PolicyArgs,
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
    /// Fail unless a (non-empty) --nonce is given: freshness is required
    #[arg(long)]
    require_nonce: bool,
    /// The evidence version expected (0, 1, 2); the evidence's unsigned "version" must say it
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=2))]
    evidence_version: Option<u32>,
    /// Accept a TPM quote signed over SHA-1 (refused by default); its checks are marked weak
    #[arg(long)]
    allow_sha1: bool,
    /// Reference-value manifest with expected PCRs and launch measurements
    #[arg(long, value_name = "MANIFEST")]
    refvals: Option<PathBuf>,
    /// Compare these PCRs of the manifest (comma-separated, ranges allowed: 0-7,9; default: 11, as Trustee's
    /// policy does)
    #[arg(long, value_name = "PCRS", value_delimiter = ',', requires = "refvals")]
    refvals_pcrs: Option<Vec<PcrSpan>>,
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
    #[command(flatten)]
    rego: PolicyArgs,
    /// Print the appraisal as JSON
    #[arg(long)]
    json: bool,
}

/// Runs a subcommand of this group.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    let (mut appraisal, json, policy) = match &cmd {
        Command::Tdx(a) => (
            tdx::verify_files(&a.request())?,
            a.json,
            a.rego.request(a.refvals.as_deref()),
        ),
        Command::Snp(a) => (
            snp::verify_files(&a.request())?,
            a.json,
            a.rego.request(a.refvals.as_deref()),
        ),
        Command::Tpm(a) => {
            let pcrs = a.refvals_pcrs.as_deref().map(PcrSpan::flatten);
            (
                tpm::verify_files(&a.request(pcrs.as_deref()))?,
                a.json,
                a.rego.request(a.refvals.as_deref()),
            )
        }
        Command::Azure(a) => {
            let pcrs = a.refvals_pcrs.as_deref().map(PcrSpan::flatten);
            (
                azure::verify_files(&a.request(pcrs.as_deref()))?,
                a.json,
                a.rego.request(a.refvals.as_deref()),
            )
        }
    };
    if let Some(p) = policy {
        // Claims exist once the evidence parsed, which verify_files has made sure of.
        if let Some(claims) = appraisal.claims().cloned() {
            appraisal.set_policy(policy::evaluate_files(&p, &claims)?);
        }
    }
    emit(&appraisal, json)
}

impl SnpArgs {
    fn request(&self) -> SnpRequest<'_> {
        SnpRequest {
            report: &self.report,
            vcek: self.vcek.as_deref(),
            ask: self.ask.as_deref(),
            ark: self.ark.as_deref(),
            certs: self.certs.as_deref(),
            cert_table: self.cert_table.as_deref(),
            refvals: self.refvals.as_deref(),
            measurements: &self.measurement,
            time: self.time.as_deref(),
            report_data: self.report_data.as_deref(),
            host_data: self.host_data.as_deref(),
            vmpl: self.vmpl,
            guest: self.policy.rules(),
        }
    }
}

impl TdxArgs {
    fn request(&self) -> TdxRequest<'_> {
        TdxRequest {
            quote: &self.quote,
            collateral: self.collateral.as_deref(),
            ccel: self.ccel.as_deref(),
            refvals: self.refvals.as_deref(),
            report_data: self.report_data.as_deref(),
            time: self.time.as_deref(),
        }
    }
}

impl TpmArgs {
    fn request<'a>(&'a self, refvals_pcrs: Option<&'a [u32]>) -> TpmRequest<'a> {
        TpmRequest {
            quote: &self.quote,
            signature: &self.signature,
            ak: &self.ak,
            pcrs: &self.pcrs,
            eventlog: self.eventlog.as_deref(),
            nonce: self.nonce.as_deref(),
            require_nonce: self.require_nonce,
            allow_extra_pcrs: self.allow_extra_pcrs,
            allow_sha1: self.allow_sha1,
            refvals: self.refvals.as_deref(),
            refvals_pcrs,
            expected_pcrs: self.expected_pcrs.as_deref(),
        }
    }
}

impl AzureArgs {
    fn request<'a>(&'a self, refvals_pcrs: Option<&'a [u32]>) -> AzureRequest<'a> {
        AzureRequest {
            evidence: &self.evidence,
            nonce: self.nonce.as_deref(),
            require_nonce: self.require_nonce,
            allow_sha1: self.allow_sha1,
            evidence_version: self.evidence_version,
            refvals: self.refvals.as_deref(),
            refvals_pcrs,
            expected_pcrs: self.expected_pcrs.as_deref(),
            measurements: &self.measurement,
            time: self.time.as_deref(),
            guest: self.policy.rules(),
        }
    }
}

/// Prints the appraisal (text or JSON) and the policy's verdict; exit 0 if affirming (and, with a policy,
/// `executables` affirming), 1 if not.
fn emit(a: &Appraisal, json: bool) -> anyhow::Result<ExitCode> {
    // A closed pipe must not turn rejected evidence into success (fail-closed): the exit status stands.
    let printed = if json {
        ui::print_json(a)
    } else {
        let mut text = a.to_text();
        if let Some(p) = a.policy() {
            text.push_str(&p.to_text());
        }
        ui::print_text(&text)
    };
    ui::quiet_broken_pipe(printed)?;
    Ok(if a.accepted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
