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
//!
//! Predicting the PCRs of a UKI booted by OVMF:
//!
//! ```no_run
//! use yardstick_common::hash::Algorithm;
//! use yardstick_tpm::predict::{Platform, predict};
//! let uki = std::fs::read("uki.efi").unwrap();
//! let p = predict(&uki, &Platform::default(), &[Algorithm::Sha256]).unwrap();
//! println!("PCR 11 = {}", p.pcrs.get(Algorithm::Sha256, 11).unwrap());
//! ```

#![forbid(unsafe_code)]

pub mod compare;
pub mod eventlog;
pub mod guids;
pub mod pcr;
pub mod pcrlist;
pub mod predict;
pub mod replay;

#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testutil;

pub use pcr::PcrBanks;
pub mod tpm2;
