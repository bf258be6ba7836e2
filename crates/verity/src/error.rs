//! Errors a caller can match on.

use std::path::PathBuf;

use crate::superblock::SuperblockError;

/// Why a dm-verity operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A block size is not a power of two between 512 bytes and 512 KiB.
    #[error("{which} block size {size} is not a power of two between 512 and 524288 bytes")]
    BadBlockSize {
        /// "data" or "hash".
        which: &'static str,
        /// The rejected size.
        size: u32,
    },
    /// The hash block cannot hold two digests.
    #[error("hash block size {size} cannot hold two {digest}-byte digests")]
    HashBlockTooSmall {
        /// Hash block size.
        size: u32,
        /// Digest length.
        digest: usize,
    },
    /// An offset is not a multiple of 512 bytes.
    #[error("{which} offset {offset} is not a multiple of 512 bytes")]
    MisalignedOffset {
        /// "hash" or "FEC".
        which: &'static str,
        /// The rejected offset.
        offset: u64,
    },
    /// The salt is not valid hex.
    #[error("invalid salt: {0}")]
    BadSalt(yardstick_common::hex::HexError),
    /// The salt is longer than the superblock can hold.
    #[error("salt is {0} bytes, at most 256 are allowed")]
    SaltTooLong(usize),
    /// Zero data blocks to protect.
    #[error("no data blocks to protect (the data is smaller than one block)")]
    NoDataBlocks,
    /// The data device is smaller than the data area.
    #[error(
        "{path}: data device is {size} bytes, smaller than {blocks} blocks of {block_size} bytes"
    )]
    DataTooSmall {
        /// Data device.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// Data blocks requested.
        blocks: u64,
        /// Data block size.
        block_size: u32,
    },
    /// Sizes or offsets overflow 64 bits.
    #[error("sizes or offsets overflow 64 bits")]
    Overflow,
    /// Hash area and data area overlap on a shared device.
    #[error(
        "hash area at byte {hash_offset} overlaps the data area (which ends at byte {data_end}); use --hash-offset >= {data_end}"
    )]
    HashOverlapsData {
        /// Hash area start.
        hash_offset: u64,
        /// End of the data area.
        data_end: u64,
    },
    /// The FEC area overlaps the hash or data area on a shared device.
    #[error("FEC area at byte {fec_offset} overlaps the {what} area (which ends at byte {end})")]
    FecOverlap {
        /// "hash" or "data".
        what: &'static str,
        /// FEC area start.
        fec_offset: u64,
        /// End of the overlapped area.
        end: u64,
    },
    /// FEC needs equal data and hash block sizes.
    #[error("FEC needs equal data and hash block sizes (got {data} and {hash})")]
    FecBlockSizes {
        /// Data block size.
        data: u32,
        /// Hash block size.
        hash: u32,
    },
    /// FEC roots out of range.
    #[error("FEC roots must be between 2 and 24 (got {0})")]
    FecRoots(u32),
    /// The hash device is too small for the tree (verify) or for the FEC coverage.
    #[error("{path}: hash device is {size} bytes, the hash tree needs {needed}")]
    HashTooSmall {
        /// Hash device.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// Size needed.
        needed: u64,
    },
    /// The FEC device is too small to hold the parity being checked.
    #[error("{path}: FEC device is {size} bytes, the parity needs {needed}")]
    FecTooSmall {
        /// FEC device.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// Size needed.
        needed: u64,
    },
    /// The superblock is missing or invalid.
    #[error("{path}")]
    Superblock {
        /// Hash device.
        path: PathBuf,
        /// What is wrong with it.
        source: SuperblockError,
    },
    /// A root hash of the wrong length or not hex.
    #[error("invalid root hash: {0}")]
    BadRootHash(String),
    /// A UUID not in the 8-4-4-4-12 hex form.
    #[error("invalid UUID {0:?} (expected 8-4-4-4-12 hex digits)")]
    BadUuid(String),
    /// The system random number generator failed.
    #[error("cannot get random bytes from the system")]
    Random,
    /// A hash algorithm name that is not known.
    #[error(transparent)]
    UnknownAlgorithm(#[from] yardstick_common::hash::UnknownAlgorithm),
    /// A `--format` other than 0 or 1.
    #[error("unsupported format {format} (use 0 or 1)")]
    UnsupportedFormat {
        /// The rejected number.
        format: u32,
    },
    /// A parameter given as an option (spelled as veritysetup spells it, e.g. `--salt`) is invalid.
    #[error("{option}")]
    Option {
        /// The option.
        option: &'static str,
        /// Why its value is refused.
        source: Box<Error>,
    },
    /// The root hash was given both as text and as a file.
    #[error("give the root hash either as argument or with --root-hash-file, not both")]
    RootHashTwice,
    /// No root hash was given.
    #[error("missing root hash (argument or --root-hash-file)")]
    RootHashMissing,
    /// A root hash that is not hex or not a digest of the right length.
    #[error("{origin}: invalid root hash: {reason}")]
    RootHashInput {
        /// Where it came from: "root hash argument" or the file.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// Options that do not go together.
    #[error("{0}")]
    Usage(&'static str),
    /// Signing or checking a root-hash signature failed on a file.
    #[cfg(feature = "signature")]
    #[error("{path}: {error}")]
    Signing {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        error: crate::signature::SignatureError,
    },
    /// An error concerning a named file whose message does not name it.
    #[error("{path}")]
    At {
        /// The file.
        path: PathBuf,
        /// The error.
        source: Box<Error>,
    },
    /// An output path names an input (the root-hash file is the data file, the signature is the certificate).
    #[error(transparent)]
    Clobber(#[from] yardstick_common::fs::ClobberError),
    /// An I/O error on a named file.
    #[error("{path}: {what}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the message already names the file concerned (so callers need not add it).
    pub fn names_file(&self) -> bool {
        #[cfg(feature = "signature")]
        if matches!(self, Error::Signing { .. }) {
            return true;
        }
        matches!(
            self,
            Error::Io { .. }
                | Error::Clobber(_)
                | Error::Option { .. }
                | Error::RootHashInput { .. }
                | Error::At { .. }
                | Error::DataTooSmall { .. }
                | Error::HashTooSmall { .. }
                | Error::FecTooSmall { .. }
                | Error::Superblock { .. }
        )
    }

    /// This error, naming `path` when its message does not name a file already; an error about a value that
    /// only an option gives (the FEC roots and offset) names that option instead.
    pub fn at(self, path: &std::path::Path) -> Error {
        let option = match &self {
            Error::FecRoots(_) => Some("--fec-roots"),
            Error::MisalignedOffset { which: "FEC", .. } => Some("--fec-offset"),
            _ => None,
        };
        if let Some(option) = option {
            Error::Option {
                option,
                source: Box::new(self),
            }
        } else if self.names_file() {
            self
        } else {
            Error::At {
                path: path.to_path_buf(),
                source: Box::new(self),
            }
        }
    }

    pub(crate) fn io(
        path: &std::path::Path,
        what: &'static str,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io { path, what, source }
    }
}
