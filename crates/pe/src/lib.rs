//! PE/COFF parsing, Authenticode hashing and Unified Kernel Image building (trust path 3).
//!
//! * [`pe`]: the PE/COFF headers and section table, parsed and validated in one place.
//! * [`authenticode`]: the image hash EDK2 extends into PCR 4, including its rule for trailing bytes.
//! * [`uki`]: building a UKI exactly as ukify 254 lays it out, reading one back, and the per-stub section
//!   tables (systemd 252, 254, current) that say which sections go into PCR 11 and in which order.
//!
//! ```
//! use yardstick_pe::uki::{Section, StubGeneration};
//! let order: Vec<_> = StubGeneration::Systemd254.measured_sections().map(Section::name).collect();
//! assert_eq!(order[..4], [".linux", ".osrel", ".cmdline", ".initrd"]);
//! // Anything that is not a PE file is refused with an error, never a panic.
//! assert!(yardstick_pe::pe::PeHeaders::parse(b"not a PE file").is_err());
//! ```

#![forbid(unsafe_code)]

pub mod authenticode;
pub mod pe;
pub mod uki;

pub use authenticode::authenticode_digest;
pub use pe::{PeError, PeHeaders};
pub use uki::{StubGeneration, Uki, UkiError, UkiInputs, build_uki};
