//! vTPM measured boot (trust path 3): PCR banks, TCG event logs, PCR prediction for UKIs booted by OVMF.

pub mod pcr;

pub use pcr::PcrBanks;
pub mod tpm2;
