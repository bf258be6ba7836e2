//! Shared services for the yardstick crates.
//!
//! * [`hash`]: the one place that knows the digest algorithms used across the three trust paths (dm-verity,
//!   SEV-SNP, TPM event logs), their names, sizes and TPM algorithm ids.
//! * [`hex`]: strict hex encoding and decoding with errors a user can act on.
//! * [`guid`](mod@guid): the one GUID/UUID type, with its text form and the EFI on-disk byte order, and the
//!   [`guid!`] macro that writes GUID constants as their text.
//! * [`fs`]: inputs read once under a size limit per format ([`fs::InputKind`]), output files that appear
//!   whole or not at all (write to a temporary file, then rename; devices written in place), and sparse-file
//!   extents (`SEEK_DATA`/`SEEK_HOLE`) so that holes cost no reading.
//! * [`scratch`]: temporary files and directories named for their owner, removed on SIGINT/SIGTERM/SIGHUP,
//!   and swept by the next run after a SIGKILL.
//! * [`qemu`]: QEMU versions (`--qemu-version`), for the measurements that depend on them.
//! * [`time`]: Unix time to and from calendar dates (UTC).
//!
//! ```
//! use yardstick_common::hash::Algorithm;
//! let d = Algorithm::Sha256.digest(b"abc");
//! assert_eq!(yardstick_common::hex::encode(&d)[..8], *"ba7816bf");
//! ```

#![forbid(unsafe_code)]

pub mod bytes;
pub mod fs;
pub mod guid;
pub mod hash;
pub mod hex;
pub mod progress;
pub mod qemu;
pub mod scratch;
pub mod time;

/// An error and its causes on one line, `outer: cause: root cause`, as the command line prints errors: for a
/// library that folds a foreign error into its own message (an error's `Display` names only its own level;
/// the cause is its [`source`](std::error::Error::source)).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
