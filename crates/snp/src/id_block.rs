//! The ID block and ID authentication information structures of `SNP_LAUNCH_FINISH` (SEV-SNP ABI
//! specification, "ID Block" and "ID Authentication Information Structure").
//!
//! The guest owner signs the expected launch digest and policy with an ID key, and the ID key with an author
//! key; the PSP refuses to launch a guest whose digest or policy differs, and reports the key digests in the
//! attestation report. QEMU takes both structures base64-encoded (`-object sev-snp-guest,id-block=...,
//! id-auth=...`), which is the format sev-snp-measure's `snp-create-id-block` prints and [`IdOutput`] renders.
//!
//! Keys are ECDSA P-384; signatures are over SHA-384 and stored, like public-key coordinates, little-endian in
//! 72-byte fields. ECDSA signatures from `snp-create-id-block` are randomized; yardstick's are deterministic
//! (RFC 6979), so the same inputs always give the same output.

use p384::ecdsa::signature::{Signer as _, Verifier as _};
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use p384::elliptic_curve::sec1::ToSec1Point as _;
use p384::pkcs8::DecodePrivateKey as _;

use crate::gctx::{LD_LEN, LaunchDigest};

/// Length of the ID block.
pub const ID_BLOCK_LEN: usize = 96;
/// Length of the ID authentication information structure.
pub const ID_AUTH_LEN: usize = 4096;
/// Length of a public key structure.
pub const PUBKEY_LEN: usize = 1028;
/// Length of a signature structure.
pub const SIGNATURE_LEN: usize = 512;

/// Algorithm 1: ECDSA P-384 with SHA-384.
const ALGO_ECDSA_P384_SHA384: u32 = 1;
/// Curve 2: P-384.
const CURVE_P384: u32 = 2;
/// Width of a little-endian coordinate or signature component.
const COMPONENT_LEN: usize = 72;

// Offsets in the ID authentication structure.
const OFF_ID_KEY_ALGO: usize = 0x000;
const OFF_AUTH_KEY_ALGO: usize = 0x004;
const OFF_ID_BLOCK_SIG: usize = 0x040;
const OFF_ID_KEY: usize = 0x240;
const OFF_ID_KEY_SIG: usize = 0x680;
const OFF_AUTHOR_KEY: usize = 0x880;

/// Why an ID block could not be made or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdBlockError {
    /// The key is not an unencrypted P-384 private key.
    #[error(
        "not an unencrypted EC P-384 private key in PEM (SEC1 \"EC PRIVATE KEY\" or PKCS#8 \"PRIVATE KEY\"); SEV-SNP ID and author keys must be P-384"
    )]
    BadKey,
    /// Signing failed.
    #[error("ECDSA signing failed: {0}")]
    Sign(String),
}

/// The ID block: what the guest owner vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdBlock {
    /// The expected launch digest.
    pub launch_digest: LaunchDigest,
    /// Family ID, reported back in the attestation report.
    pub family_id: [u8; 16],
    /// Image ID, reported back in the attestation report.
    pub image_id: [u8; 16],
    /// Structure version (1).
    pub version: u32,
    /// Guest security version number.
    pub guest_svn: u32,
    /// The guest policy the PSP must enforce.
    pub policy: u64,
}

impl IdBlock {
    /// The defaults `snp-create-id-block` uses: zero IDs and SVN, version 1, policy 0x30000 (SMT allowed,
    /// reserved bit 17 set, ABI 0.0).
    pub const DEFAULT_POLICY: u64 = 0x30000;

    /// An ID block for `launch_digest` with `snp-create-id-block`'s defaults.
    pub fn new(launch_digest: LaunchDigest) -> IdBlock {
        IdBlock {
            launch_digest,
            family_id: [0; 16],
            image_id: [0; 16],
            version: 1,
            guest_svn: 0,
            policy: IdBlock::DEFAULT_POLICY,
        }
    }

    /// The 96-byte structure.
    pub fn to_bytes(&self) -> [u8; ID_BLOCK_LEN] {
        let mut b = [0u8; ID_BLOCK_LEN];
        b[..LD_LEN].copy_from_slice(&self.launch_digest);
        b[48..64].copy_from_slice(&self.family_id);
        b[64..80].copy_from_slice(&self.image_id);
        b[80..84].copy_from_slice(&self.version.to_le_bytes());
        b[84..88].copy_from_slice(&self.guest_svn.to_le_bytes());
        b[88..96].copy_from_slice(&self.policy.to_le_bytes());
        b
    }
}

/// An ID or author key.
#[derive(Clone)]
pub struct IdKey {
    key: SigningKey,
}

impl std::fmt::Debug for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdKey")
            .field("digest", &yardstick_common::hex::encode(&self.digest()))
            .finish_non_exhaustive()
    }
}

impl IdKey {
    /// Reads a PEM private key (SEC1 or PKCS#8, unencrypted, P-384).
    pub fn from_pem(pem: &str) -> Result<IdKey, IdBlockError> {
        let secret = p384::SecretKey::from_sec1_pem(pem)
            .ok()
            .or_else(|| p384::SecretKey::from_pkcs8_pem(pem).ok())
            .ok_or(IdBlockError::BadKey)?;
        Ok(IdKey {
            key: SigningKey::from(&secret),
        })
    }

    /// The public key structure (curve, then X and Y little-endian in 72-byte fields).
    pub fn public_key(&self) -> Box<[u8; PUBKEY_LEN]> {
        public_key_struct(self.key.verifying_key())
    }

    /// SHA-384 of the public key structure: `ID_KEY_DIGEST` / `AUTHOR_KEY_DIGEST` in the attestation report.
    pub fn digest(&self) -> LaunchDigest {
        crate::gctx::sha384(&self.public_key()[..])
    }

    /// Signs `msg` (ECDSA P-384, SHA-384, RFC 6979) into a signature structure.
    pub fn sign(&self, msg: &[u8]) -> Result<Box<[u8; SIGNATURE_LEN]>, IdBlockError> {
        let sig: Signature = self
            .key
            .try_sign(msg)
            .map_err(|e| IdBlockError::Sign(e.to_string()))?;
        let (r, s) = sig.split_bytes();
        let mut out = [0u8; SIGNATURE_LEN];
        put_le(&mut out[..COMPONENT_LEN], &r);
        put_le(&mut out[COMPONENT_LEN..2 * COMPONENT_LEN], &s);
        Ok(Box::new(out))
    }
}

/// Copies a big-endian integer into a little-endian field.
fn put_le(dst: &mut [u8], big_endian: &[u8]) {
    for (d, s) in dst.iter_mut().zip(big_endian.iter().rev()) {
        *d = *s;
    }
}

/// Reads a little-endian field back into a 48-byte big-endian integer, if the upper bytes are zero.
fn get_be48(src: &[u8]) -> Option<[u8; 48]> {
    if src.get(48..)?.iter().any(|&b| b != 0) {
        return None;
    }
    let mut out = [0u8; 48];
    for (d, s) in out.iter_mut().zip(src.get(..48)?.iter().rev()) {
        *d = *s;
    }
    Some(out)
}

fn public_key_struct(vk: &VerifyingKey) -> Box<[u8; PUBKEY_LEN]> {
    let point = vk.as_affine().to_sec1_point(false);
    let mut out = [0u8; PUBKEY_LEN];
    out[..4].copy_from_slice(&CURVE_P384.to_le_bytes());
    if let (Some(x), Some(y)) = (point.x(), point.y()) {
        put_le(&mut out[4..4 + COMPONENT_LEN], x);
        put_le(&mut out[4 + COMPONENT_LEN..4 + 2 * COMPONENT_LEN], y);
    }
    Box::new(out)
}

/// Checks a signature structure over `msg` against a public key structure, as the PSP does.
pub fn verify(public_key: &[u8], msg: &[u8], signature: &[u8]) -> bool {
    let check = || -> Option<()> {
        let curve = u32::from_le_bytes(public_key.get(..4)?.try_into().ok()?);
        if curve != CURVE_P384 {
            return None;
        }
        let x = get_be48(public_key.get(4..4 + COMPONENT_LEN)?)?;
        let y = get_be48(public_key.get(4 + COMPONENT_LEN..4 + 2 * COMPONENT_LEN)?)?;
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let vk = VerifyingKey::from_sec1_bytes(&sec1).ok()?;
        let r = get_be48(signature.get(..COMPONENT_LEN)?)?;
        let s = get_be48(signature.get(COMPONENT_LEN..2 * COMPONENT_LEN)?)?;
        let sig = Signature::from_scalars(r, s).ok()?;
        vk.verify(msg, &sig).ok()
    };
    check().is_some()
}

/// The ID block, its authentication structure and the key digests.
#[derive(Debug, Clone)]
pub struct IdOutput {
    /// The ID block.
    pub id_block: [u8; ID_BLOCK_LEN],
    /// The ID authentication information structure.
    pub id_auth: Box<[u8; ID_AUTH_LEN]>,
    /// SHA-384 of the ID public key structure.
    pub id_key_digest: LaunchDigest,
    /// SHA-384 of the author public key structure.
    pub author_key_digest: LaunchDigest,
}

impl IdOutput {
    /// Signs `block` with `id_key`, and the ID public key with `author_key`.
    pub fn create(
        block: &IdBlock,
        id_key: &IdKey,
        author_key: &IdKey,
    ) -> Result<IdOutput, IdBlockError> {
        let id_block = block.to_bytes();
        let id_pub = id_key.public_key();
        let author_pub = author_key.public_key();
        let block_sig = id_key.sign(&id_block)?;
        let id_key_sig = author_key.sign(&id_pub[..])?;
        let mut auth = Box::new([0u8; ID_AUTH_LEN]);
        for (at, bytes) in [
            (OFF_ID_KEY_ALGO, &ALGO_ECDSA_P384_SHA384.to_le_bytes()[..]),
            (OFF_AUTH_KEY_ALGO, &ALGO_ECDSA_P384_SHA384.to_le_bytes()[..]),
            (OFF_ID_BLOCK_SIG, &block_sig[..]),
            (OFF_ID_KEY, &id_pub[..]),
            (OFF_ID_KEY_SIG, &id_key_sig[..]),
            (OFF_AUTHOR_KEY, &author_pub[..]),
        ] {
            if let Some(dst) = auth.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        }
        Ok(IdOutput {
            id_block,
            id_auth: auth,
            id_key_digest: crate::gctx::sha384(&id_pub[..]),
            author_key_digest: crate::gctx::sha384(&author_pub[..]),
        })
    }

    /// The byte ranges of the ID authentication structure that hold signatures (randomized by other tools).
    pub const SIGNATURE_RANGES: [std::ops::Range<usize>; 2] = [
        OFF_ID_BLOCK_SIG..OFF_ID_BLOCK_SIG + SIGNATURE_LEN,
        OFF_ID_KEY_SIG..OFF_ID_KEY_SIG + SIGNATURE_LEN,
    ];

    /// Verifies both signatures in an ID authentication structure against the keys it carries and the ID
    /// block: what the PSP checks at `SNP_LAUNCH_FINISH`.
    pub fn verify(id_block: &[u8], id_auth: &[u8]) -> bool {
        let get = |at: usize, len: usize| id_auth.get(at..at + len);
        match (
            get(OFF_ID_BLOCK_SIG, SIGNATURE_LEN),
            get(OFF_ID_KEY, PUBKEY_LEN),
            get(OFF_ID_KEY_SIG, SIGNATURE_LEN),
            get(OFF_AUTHOR_KEY, PUBKEY_LEN),
        ) {
            (Some(block_sig), Some(id_key), Some(id_key_sig), Some(author_key)) => {
                verify(id_key, id_block, block_sig) && verify(author_key, id_key, id_key_sig)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A P-384 key generated for this test only (openssl ecparam -name secp384r1 -genkey -noout).
    const KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDC2vvuJQ1lP5SLFKZUOoeFYgQxuAVqdG5DRi6wR6uIqbMTm1Cw+iRcy
N/z+dlX0RFmgBwYFK4EEACKhZANiAAR7CrHVDfN+A7ncjXG12Mgqy7wYftix8Kwk
srFh/HE5xoO7frPbzoXDpW6v/LYD+mCC3inW6InOU8prltigupN4M1BGdsOsr8WV
r7K/itc5ikI9ewt+dT9LNaETBxK2kUM=
-----END EC PRIVATE KEY-----";

    #[test]
    fn block_layout() {
        let b = IdBlock::new([0xab; 48]).to_bytes();
        assert_eq!(&b[..48], &[0xab; 48]);
        assert_eq!(&b[80..84], &[1, 0, 0, 0]);
        assert_eq!(&b[88..96], &[0, 0, 3, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn sign_and_verify() {
        let k = IdKey::from_pem(KEY).unwrap();
        let out = IdOutput::create(&IdBlock::new([1; 48]), &k, &k).unwrap();
        assert!(IdOutput::verify(&out.id_block, &out.id_auth[..]));
        let mut tampered = out.id_block;
        tampered[0] ^= 1;
        assert!(!IdOutput::verify(&tampered, &out.id_auth[..]));
        assert_eq!(out.id_key_digest, k.digest());
        assert!(
            IdKey::from_pem("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
                .is_err()
        );
    }
}
