//! Digest algorithms shared by every trust path: the one front door for hashing in yardstick.
//!
//! Each algorithm is backed by the fastest implementation among the workspace's dependencies: SHA-256 by `ring`,
//! whose assembly uses SHA-NI where the CPU has it and AVX2 otherwise (about twice the throughput of portable
//! Rust on a CPU without SHA-NI); SHA-1 by RustCrypto's `sha1`, which uses SHA-NI where the CPU has it (ring's
//! SHA-1 is portable Rust, about three times slower there); SHA-384 and SHA-512 by OpenSSL's libcrypto (the
//! `openssl` crate), whose AVX2 + BMI2 assembly hashes one long message at 1.19-1.27 GB/s on an AMD EPYC where
//! ring's code reaches 0.89-0.92 GB/s and RustCrypto's `sha2` (AVX2) 0.78-0.83 GB/s: SHA-384 is the one bank
//! without CPU hash instructions, so it bounds PCR prediction, TDX and SNP measurement. Bulk, many-message
//! hashing (dm-verity) goes through [`multi`], which adds multi-buffer SHA-256 (the AVX2/AVX-512 kernels of
//! `yardstick-simd`) where it is faster; several long messages at once go through [`streams`], and many digests of
//! ranges of one file, the file read once, through [`file_jobs`].
//!
//! The rule: every digest the workspace computes over data (measurements, tree blocks, fingerprints, the
//! digests that signatures are made or checked over) comes from here. Elsewhere, RustCrypto's `sha1`/`sha2`
//! crates are used only where a signature crate needs a `Digest` *type* as a parameter: `rsa`'s PKCS#1 v1.5
//! scheme (DigestInfo prefix) and PSS (MGF1 and the PSS encoding hash inside the scheme), and the `p256`/`p384`
//! ECDSA and `cms` APIs should they need one. Hash the data here, then hand the digest to the prehash APIs.

use std::fmt;
use std::str::FromStr;

pub mod file_jobs;
pub mod multi;
pub mod streams;

/// A digest algorithm, named as veritysetup, the TPM and the TCG event log name it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// SHA-1 (20 bytes). Legacy: old TPM event logs, veritysetup `--hash sha1`.
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-384 (48 bytes): SEV-SNP launch digests, TDX measurements.
    Sha384,
    /// SHA-512 (64 bytes).
    Sha512,
}

/// Longest digest any [`Algorithm`] produces.
pub const MAX_DIGEST_LEN: usize = 64;

/// The algorithm name was not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hash algorithm {0:?} (supported: sha1, sha256, sha384, sha512)")]
pub struct UnknownAlgorithm(pub String);

impl Algorithm {
    /// Every supported algorithm, weakest first.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
    ];

    /// Digest length in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512 => 64,
        }
    }

    /// Compression-function block length in bytes.
    pub const fn block_len(self) -> usize {
        match self {
            Algorithm::Sha1 | Algorithm::Sha256 => 64,
            Algorithm::Sha384 | Algorithm::Sha512 => 128,
        }
    }

    /// Lower-case name, as veritysetup and `tpm2_pcrread` print it.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// TPM 2.0 `TPM_ALG_ID` (TCG Algorithm Registry).
    pub const fn tpm_alg_id(self) -> u16 {
        match self {
            Algorithm::Sha1 => 0x0004,
            Algorithm::Sha256 => 0x000b,
            Algorithm::Sha384 => 0x000c,
            Algorithm::Sha512 => 0x000d,
        }
    }

    /// The algorithm for a TPM 2.0 `TPM_ALG_ID`, if supported.
    pub const fn from_tpm_alg_id(id: u16) -> Option<Algorithm> {
        match id {
            0x0004 => Some(Algorithm::Sha1),
            0x000b => Some(Algorithm::Sha256),
            0x000c => Some(Algorithm::Sha384),
            0x000d => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// A streaming hasher.
    pub fn hasher(self) -> Hasher {
        use sha2::Digest as _;
        let ctx = match self {
            Algorithm::Sha1 => Context::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Context::Ring(ring::digest::Context::new(&ring::digest::SHA256)),
            Algorithm::Sha384 => Context::Sha384(openssl::sha::Sha384::new()),
            Algorithm::Sha512 => Context::Sha512(openssl::sha::Sha512::new()),
        };
        Hasher { alg: self, ctx }
    }

    /// Digest of one buffer.
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }

    /// Digest of the concatenation of several buffers.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Digest {
        let mut h = self.hasher();
        for p in parts {
            h.update(p);
        }
        h.finish()
    }

    /// The all-zero digest of this algorithm's length (a PCR's reset value).
    pub fn zero(self) -> Digest {
        Digest {
            alg: self,
            bytes: [0; MAX_DIGEST_LEN],
        }
    }

    /// TPM extend: `H(old || data)`, where `data` is normally a digest of the same algorithm.
    pub fn extend(self, old: &Digest, data: &[u8]) -> Digest {
        self.digest_parts(&[old.as_ref(), data])
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => Ok(Algorithm::Sha1),
            "sha256" => Ok(Algorithm::Sha256),
            "sha384" => Ok(Algorithm::Sha384),
            "sha512" => Ok(Algorithm::Sha512),
            _ => Err(UnknownAlgorithm(s.to_string())),
        }
    }
}

/// A streaming hash computation.
#[derive(Clone)]
pub struct Hasher {
    alg: Algorithm,
    ctx: Context,
}

/// The backend state of a [`Hasher`] (see the module doc for which backend computes which algorithm).
#[derive(Clone)]
enum Context {
    Ring(ring::digest::Context),
    Sha1(sha1::Sha1),
    Sha384(openssl::sha::Sha384),
    Sha512(openssl::sha::Sha512),
}

impl Hasher {
    /// Feeds more input.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        match &mut self.ctx {
            Context::Ring(c) => c.update(data),
            Context::Sha1(c) => c.update(data),
            Context::Sha384(c) => c.update(data),
            Context::Sha512(c) => c.update(data),
        }
    }

    /// The algorithm being computed.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Finishes and returns the digest.
    pub fn finish(self) -> Digest {
        use sha2::Digest as _;
        let alg = self.alg;
        match self.ctx {
            Context::Ring(c) => Digest::from_raw(alg, c.finish().as_ref()),
            Context::Sha1(c) => Digest::from_raw(alg, &c.finalize()),
            Context::Sha384(c) => Digest::from_raw(alg, &c.finish()),
            Context::Sha512(c) => Digest::from_raw(alg, &c.finish()),
        }
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A digest value together with its algorithm. Dereferences to the digest bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    alg: Algorithm,
    bytes: [u8; MAX_DIGEST_LEN],
}

impl Digest {
    /// `raw` is a backend's output for `alg`, so of its length.
    fn from_raw(alg: Algorithm, raw: &[u8]) -> Digest {
        let mut bytes = [0; MAX_DIGEST_LEN];
        for (d, s) in bytes.iter_mut().zip(raw).take(alg.digest_len()) {
            *d = *s;
        }
        Digest { alg, bytes }
    }

    /// Builds a digest from raw bytes; `None` if the length does not match the algorithm.
    pub fn from_bytes(alg: Algorithm, raw: &[u8]) -> Option<Digest> {
        if raw.len() != alg.digest_len() {
            return None;
        }
        let mut bytes = [0; MAX_DIGEST_LEN];
        for (d, s) in bytes.iter_mut().zip(raw) {
            *d = *s;
        }
        Some(Digest { alg, bytes })
    }

    /// The algorithm that produced this digest.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(self.as_ref())
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        // Every algorithm's digest_len() is at most MAX_DIGEST_LEN, so the whole-array fallback is never taken.
        self.bytes
            .get(..self.alg.digest_len())
            .unwrap_or(&self.bytes)
    }
}

impl std::ops::Deref for Digest {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_ref()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.alg, self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180-2 appendix vectors for "abc".
    #[test]
    fn fips_abc() {
        let cases = [
            (Algorithm::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                Algorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                Algorithm::Sha384,
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
            ),
        ];
        for (alg, want) in cases {
            assert_eq!(alg.digest(b"abc").to_hex(), want);
            assert_eq!(alg.digest_parts(&[b"a", b"", b"bc"]).to_hex(), want);
        }
    }

    #[test]
    fn names_and_ids() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.name().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(Algorithm::from_tpm_alg_id(alg.tpm_alg_id()), Some(alg));
            assert_eq!(alg.digest(b"").len(), alg.digest_len());
        }
        assert_eq!("SHA-256".parse::<Algorithm>().unwrap(), Algorithm::Sha256);
        assert!("md5".parse::<Algorithm>().is_err());
    }

    /// A PCR extended once with H("") from zero, checked against an independent composition.
    #[test]
    fn extend_is_hash_of_concatenation() {
        let alg = Algorithm::Sha256;
        let m = alg.digest(b"");
        let mut cat = vec![0u8; 32];
        cat.extend_from_slice(&m);
        assert_eq!(alg.extend(&alg.zero(), &m), alg.digest(&cat));
    }
}
