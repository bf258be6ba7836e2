//! dm-verity (trust path 2): hash trees, root hashes, superblocks, FEC, root-hash signatures, kernel
//! parameters and verification, byte-identical with `veritysetup` 2.6.1 and on all cores.
//!
//! The modules follow cryptsetup's `lib/verity` split: [`superblock`] is the on-disk header (`verity.c`),
//! [`tree`] the hash tree (`verity_hash.c`), [`fec`] Reed-Solomon parity (`verity_fec.c`); [`volume`] runs
//! whole operations in `_crypt_format_verity()`'s order, [`report`] prints what veritysetup prints,
//! [`signature`] makes and checks PKCS#7 root-hash signatures and [`kernel`] renders the kernel command-line
//! forms (Kata, `dm-mod.create`, systemd).
//!
//! ```
//! use yardstick_common::hash::Algorithm;
//! use yardstick_common::progress::NoProgress;
//! use yardstick_verity::params::{HashType, Salt, VerityParams};
//! use yardstick_verity::volume::{self, Dev, Volume};
//!
//! let dir = tempfile::tempdir()?;
//! let (data_path, hash_path) = (dir.path().join("data"), dir.path().join("hash"));
//! std::fs::write(&data_path, vec![7u8; 64 * 4096])?;
//! let data = std::fs::File::open(&data_path)?;
//! let hash = std::fs::File::options().read(true).write(true).create(true).open(&hash_path)?;
//! let p = VerityParams {
//!     hash_type: HashType::Normal,
//!     algorithm: Algorithm::Sha256,
//!     data_block_size: 4096,
//!     hash_block_size: 4096,
//!     data_blocks: 64,
//!     salt: Salt::from_hex("00112233")?,
//!     hash_offset: 0,
//!     superblock: false,
//! };
//! let vol = Volume {
//!     data: Dev { file: &data, path: &data_path },
//!     hash: Dev { file: &hash, path: &hash_path },
//!     hash_is_data: false,
//!     fec: None,
//! };
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
pub mod fec;
mod files;
pub mod kernel;
pub mod params;
pub mod report;
pub mod signature;
pub mod superblock;
pub mod tree;
pub mod volume;

pub use error::Error;
pub use files::{
    DmNames, FecSpec, FormatOutcome, FormatRequest, KernelParamsOutcome, ParamsSpec, RootHashInput,
    SaltDefault, SignOutcome, SignRequest, SignatureCheck, VerifyOutcome, VerifyRequest,
    check_signature_files, dump_file, format_files, kernel_params_files, sign_files, verify_files,
};

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
