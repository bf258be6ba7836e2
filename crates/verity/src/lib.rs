//! dm-verity (trust path 2): hash trees, root hashes, superblocks, FEC, root-hash signatures, kernel
//! parameters and verification, byte-identical with `veritysetup` 2.6.1 and on all cores.
//!
//! The modules follow cryptsetup's `lib/verity` split: the on-disk header ([`Superblock`], `verity.c`), the
//! hash tree (`verity_hash.c`, findings in [`Verification`]) and Reed-Solomon parity (`verity_fec.c`) are
//! private; [`params`] holds the validated parameters and the tree geometry, [`volume`] runs whole operations on
//! open devices in `_crypt_format_verity()`'s order, [`Report`] is what veritysetup prints, `signature` makes
//! and checks PKCS#7 root-hash signatures (feature `signature`, on by default) and [`kernel`] renders the
//! kernel command-line forms (Kata, `dm-mod.create`, systemd). [`format_files`], [`verify_files`] and their
//! siblings are the commands on named files, as `yardstick verity` runs them.
//!
//! ```
//! use yardstick_common::hash::Algorithm;
//! use yardstick_common::progress::NoProgress;
//! use yardstick_verity::params::{Salt, VerityParams};
//! use yardstick_verity::volume::{self, Dev, Volume};
//!
//! let dir = tempfile::tempdir()?;
//! let (data_path, hash_path) = (dir.path().join("data"), dir.path().join("hash"));
//! std::fs::write(&data_path, vec![7u8; 64 * 4096])?;
//! let data = std::fs::File::open(&data_path)?;
//! let hash = std::fs::File::options().read(true).write(true).create(true).open(&hash_path)?;
//! let p = VerityParams::new(Algorithm::Sha256, 4096, 4096, 64, Salt::from_hex("00112233")?)
//!     .with_superblock(false);
//! let vol = Volume::new(
//!     Dev { file: &data, path: &data_path },
//!     Dev { file: &hash, path: &hash_path },
//! );
//! let f = volume::format(&p, &vol, None, None, &NoProgress)?;
//! // 64 digests fit one hash block: the root hash is the digest of that block.
//! assert_eq!(f.report.hash_blocks, 1);
//! let checked = volume::verify(&p, &vol, &f.root, None, &NoProgress)?;
//! assert!(checked.ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

use std::fs::File;
use std::path::Path;

mod error;
mod fec;
mod files;
pub mod fsmap;
pub mod kernel;
pub mod params;
mod report;
#[cfg(feature = "signature")]
pub mod signature;
#[cfg(feature = "signature")]
mod signing;
mod superblock;
mod tree;
pub mod volume;

pub use error::Error;
pub use fec::{MAX_ROOTS, MIN_ROOTS, ParityMismatch};
pub use files::{
    DmNames, FecSpec, FormatOutcome, FormatRequest, KernelParamsOutcome, ParamsSpec, RootHashInput,
    SaltDefault, VerifyOutcome, VerifyRequest, dump_file, format_files, kernel_params_files,
    verify_files,
};
pub use report::{FecReport, Report};
#[cfg(feature = "signature")]
pub use signing::{SignOutcome, SignRequest, SignatureCheck, check_signature_files, sign_files};
pub use superblock::{Superblock, SuperblockError};
pub use tree::{BadBlock, Verification};

/// Size of a regular file or block device.
pub fn device_size(file: &File, path: &Path) -> Result<u64, Error> {
    let st = rustix::fs::fstat(file).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        what: "cannot stat",
        source: e.into(),
    })?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::BlockDevice {
        return rustix::fs::seek(file, rustix::fs::SeekFrom::End(0)).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            what: "cannot size",
            source: e.into(),
        });
    }
    Ok(st.st_size as u64)
}
