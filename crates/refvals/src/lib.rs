//! Reference-value manifests tying the three trust paths together, and their export to Trustee RVPS and
//! systemd-pcrlock.
//!
//! A [`Manifest`] is one JSON document per image (schema: `docs/manifest.md`): the dm-verity parameters of its
//! root filesystem, SEV-SNP launch digests with the parameters that produced them, predicted PCRs with the
//! measurements behind them, and SHA-256/384 of every component. [`rvps::rvps_message`] turns it into a
//! Trustee RVPS registration message; [`pcrlock::pcrlock_file`] into a systemd `.pcrlock` file.
//! [`TpmRefs::from_prediction`] fills the `tpm` section from `yardstick_tpm`'s PCR prediction. A launch's mode
//! and hypervisor are `yardstick_snp`'s [`SevMode`](yardstick_snp::sev_mode::SevMode) and
//! [`VmmType`](yardstick_snp::vmm_types::VmmType), whose serde names are the manifest's.
//!
//! ```
//! use yardstick_refvals::{Component, Manifest};
//!
//! let mut m = Manifest::new();
//! m.components.push(Component::from_bytes("cmdline", None, b"console=ttyS0"));
//! let json = m.to_json();
//! let back = Manifest::from_json(json.as_bytes()).unwrap();
//! assert_eq!(back.component("cmdline").unwrap().size, 13);
//! ```

#![forbid(unsafe_code)]

mod export;
mod hexfmt;
mod manifest;
pub mod pcrlock;
pub mod rego;
pub mod rvps;
mod text;
mod tpm;

pub use export::{ExportError, ExportFormat, ExportOptions, export, export_with};
pub use hexfmt::{HexArray, HexBytes};
pub use manifest::{
    Component, FsType, GENERATOR, ImageInfo, Layout, MANIFEST_VERSION, Manifest, ManifestError,
    MeasuredEvent, MrtdOrder, Partition, PartitionRole, PartitionTable, PhaseValue, SnpLaunch,
    TDX_FIRMWARE, TableKind, TdxLaunch, TpmRefs, VerityKernelParams, VerityRefs,
};
