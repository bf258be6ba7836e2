//! vTPM measured boot (trust path 3): PCR banks, TCG event logs, PCR prediction for UKIs booted by OVMF.
//!
//! ```no_run
//! use yardstick_common::hash::Algorithm;
//! use yardstick_tpm::predict::{Platform, predict};
//! let uki = std::fs::read("uki.efi").unwrap();
//! let p = predict(&uki, &Platform::default(), &[Algorithm::Sha256]).unwrap();
//! println!("PCR 11 = {}", p.pcrs.get(Algorithm::Sha256, 11).unwrap());
//! ```

pub mod pcr;
pub mod predict;

pub use pcr::PcrBanks;
