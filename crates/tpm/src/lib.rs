//! vTPM measured boot (trust path 3): PCR banks, TCG event logs, PCR prediction for UKIs booted by OVMF.
//!
//! ```
//! use yardstick_tpm::{compare::PcrSource, pcrlist};
//! // Any PCR source: a binary event log (replayed) or a PCR list, detected from the content.
//! let src = PcrSource::from_bytes(b"  sha256:\n    7 : 0x65caf8dd1e0ea7a6347b635d2b379c93b9a1351edc2afc3ecda700e534eb3068\n").unwrap();
//! assert_eq!(src.pcrs().iter().count(), 1);
//! assert!(src.log().is_none());
//! # let _ = pcrlist::Format::Json;
//! ```

pub mod compare;
pub mod eventlog;
pub mod pcr;
pub mod pcrlist;
pub mod replay;

#[cfg(test)]
mod testutil;

pub use pcr::PcrBanks;
