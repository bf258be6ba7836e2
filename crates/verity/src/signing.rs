//! Signing a root hash and checking a signature, on named files (`verity sign`, `verity check-signature`):
//! the PKCS#7 work is in [`crate::signature`].

use std::path::Path;

use yardstick_common::fs::{InputKind, read_input};

use crate::Error;
use crate::files::RootHashInput;
use crate::signature::{self, SigDigest, SignatureInfo, SigningKey};

/// What signing a root hash is asked to do.
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    /// The root hash.
    pub root_hash: RootHashInput<'a>,
    /// Private key (PEM or DER).
    pub key: &'a Path,
    /// Signer certificate (PEM or DER).
    pub cert: &'a Path,
    /// Where the DER signature goes.
    pub out: &'a Path,
    /// Digest name (sha256, sha384, sha512).
    pub digest: &'a str,
    /// Also write systemd-repart's `Verity=signature` JSON here.
    pub systemd_json: Option<&'a Path>,
}

/// The result of [`sign_files`] (its `--json` output; fields in the order the output has always had).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignOutcome {
    /// SHA-256 fingerprint of the certificate, hex.
    pub certificate_fingerprint: String,
    /// The digest used.
    pub digest: &'static str,
    /// The DER signature, base64.
    pub signature_base64: String,
    /// Where the signature was written.
    pub signature_file: String,
    /// The signed text: the hex root hash without newline.
    pub signed_text: String,
    /// Length of the DER signature.
    #[serde(skip)]
    pub der_len: usize,
}

impl SignOutcome {
    /// The text output.
    pub fn to_text(&self) -> String {
        format!(
            "Signed root hash {} ({}, {} bytes of DER) -> {}",
            self.signed_text, self.digest, self.der_len, self.signature_file
        )
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SystemdSignature<'a> {
    root_hash: &'a str,
    certificate_fingerprint: &'a str,
    signature: &'a str,
}

/// Reads an input file whole under its kind's size limit.
fn read_file(p: &Path, kind: InputKind) -> Result<Vec<u8>, Error> {
    read_input(p, kind).map_err(|e| Error::io(p, "cannot read")(e.into_io()))
}

/// Signs a root hash (detached PKCS#7, as `veritysetup --root-hash-signature` takes it); both output files are
/// written atomically.
pub fn sign_files(req: &SignRequest<'_>) -> Result<SignOutcome, Error> {
    use base64::Engine as _;
    let signing = |path: &Path| {
        let path = path.to_path_buf();
        move |error| Error::Signing { path, error }
    };
    let outputs: Vec<&Path> = [Some(req.out), req.systemd_json]
        .into_iter()
        .flatten()
        .collect();
    let inputs: Vec<&Path> = [Some(req.key), Some(req.cert), req.root_hash.file]
        .into_iter()
        .flatten()
        .collect();
    yardstick_common::fs::refuse_clobber(&outputs, &inputs)?;
    let digest: SigDigest = req.digest.parse().map_err(signing(req.out))?;
    let key =
        SigningKey::from_bytes(&read_file(req.key, InputKind::KEY)?).map_err(signing(req.key))?;
    let cert = signature::parse_certificate(&read_file(req.cert, InputKind::CERTIFICATE)?)
        .map_err(signing(req.cert))?;
    let root = req.root_hash.bytes(None)?;
    let text = signature::signed_text(&root);
    let der = signature::sign(text.as_bytes(), &key, &cert, digest).map_err(signing(req.key))?;
    // Both outputs appear together or neither does.
    let mut set = yardstick_common::fs::OutputSet::new();
    let staged = |path: &Path, bytes: &[u8]| {
        use std::io::Write as _;
        let mut f = yardstick_common::fs::AtomicFile::create(path)?;
        f.write_all(bytes)?;
        Ok::<_, std::io::Error>(f)
    };
    set.push(staged(req.out, &der).map_err(Error::io(req.out, "cannot write"))?);
    let fp = signature::certificate_fingerprint(&cert).map_err(signing(req.cert))?;
    let out = SignOutcome {
        certificate_fingerprint: yardstick_common::hex::encode(&fp),
        digest: digest.name(),
        signature_base64: base64::engine::general_purpose::STANDARD.encode(&der),
        signature_file: req.out.display().to_string(),
        signed_text: text,
        der_len: der.len(),
    };
    if let Some(j) = req.systemd_json {
        let body = serde_json::to_string(&SystemdSignature {
            root_hash: &out.signed_text,
            certificate_fingerprint: &out.certificate_fingerprint,
            signature: &out.signature_base64,
        })
        .map_err(|e| Error::io(j, "cannot write")(std::io::Error::other(e)))?;
        set.push(staged(j, body.as_bytes()).map_err(Error::io(j, "cannot write"))?);
    }
    set.commit()
        .map_err(|e| Error::io(&e.dest.clone(), "cannot write")(e.source))?;
    Ok(out)
}

/// The result of [`check_signature_files`] (its `--json` output; fields in the order the output has always
/// had).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum SignatureCheck {
    /// The signature verifies.
    Valid {
        /// What the check found.
        info: SignatureInfo,
        /// Always true.
        ok: bool,
        /// The signed text.
        signed_text: String,
    },
    /// The input is well-formed but the signature is not valid for this root hash and certificate.
    Invalid {
        /// Why.
        error: String,
        /// Always false.
        ok: bool,
        /// The signed text.
        signed_text: String,
    },
}

/// Checks a root-hash signature against a certificate, as the kernel does. A signature that is well-formed but
/// does not verify is a [`SignatureCheck::Invalid`] result, not an error.
pub fn check_signature_files(
    signature_file: &Path,
    cert: &Path,
    root_hash: RootHashInput<'_>,
) -> Result<SignatureCheck, Error> {
    let sig = read_file(signature_file, InputKind::ROOT_HASH_SIGNATURE)?;
    let cert = signature::parse_certificate(&read_file(cert, InputKind::CERTIFICATE)?).map_err(
        |error| Error::Signing {
            path: cert.to_path_buf(),
            error,
        },
    )?;
    let root = root_hash.bytes(None)?;
    let signed_text = signature::signed_text(&root);
    match signature::verify(signed_text.as_bytes(), &sig, &cert) {
        Ok(info) => Ok(SignatureCheck::Valid {
            info,
            ok: true,
            signed_text,
        }),
        Err(e) if e.is_check_failure() => Ok(SignatureCheck::Invalid {
            error: e.to_string(),
            ok: false,
            signed_text,
        }),
        Err(error) => Err(Error::Signing {
            path: signature_file.to_path_buf(),
            error,
        }),
    }
}
