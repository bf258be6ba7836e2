//! Intel TDX launch measurement: MRTD and the RTMRs a TD booted by QEMU with a TDVF (OVMF) should report,
//! computed offline from the firmware, kernel, initrd and command line, with the event list behind each RTMR.
//!
//! A relying party compares MRTD (the TDX module's measurement of the initial TD pages) and RTMR0-3 (extended
//! by the firmware and kernel, recorded in the CC event log) in a TD quote with values computed here. The
//! modules follow the measurement's vocabulary:
//!
//! * [`tdvf`]: the firmware's TDX metadata (TDVF descriptor and sections), parsed and validated;
//! * [`mrtd`](mod@mrtd): the `TDH.MEM.PAGE.ADD` / `TDH.MR.EXTEND` record stream and its two page orders;
//! * [`kernel`]: how the kernel reaches the firmware (unmodified, or with QEMU's patched setup header);
//! * [`rtmr`]: RTMR extension and the predicted events, in the shape `eventlog show` prints a CCEL;
//! * [`acpi`]: QEMU's ACPI fw_cfg blobs (tables, RSDP, table loader), the RSDP and loader derived from the tables;
//! * [`rtmr0`]: RTMR0's events: the TD HOB QEMU builds, the CFV, the Secure Boot variables, the ACPI blobs, the
//!   boot variables;
//! * [`measure`](mod@measure): the whole prediction ([`measure()`]) and its serializable result, [`TdxMeasurement`], with what is not
//!   modelled stated in the result rather than guessed.
//!
//! Hand-written; the differential tests compare with dstack-mr and tdx-measure, built locally as oracles.
//!
//! ```no_run
//! use yardstick_tdx::{measure, DirectBoot, Initrd, PageOrder, TdxGuest};
//!
//! let firmware = std::fs::read("OVMF.fd")?;
//! let kernel = std::fs::read("vmlinuz")?;
//! let m = measure(&TdxGuest {
//!     firmware: &firmware,
//!     direct_boot: Some(DirectBoot { kernel: &kernel, initrd: Some(Initrd::File("initrd.img".as_ref())), append: Some("console=ttyS0") }),
//!     memory_mib: 2048,
//!     vcpus: 2,
//!     qemu_version: "10.0".parse()?,
//!     mrtd_order: PageOrder::SinglePass,
//!     acpi: None,
//! })?;
//! println!("MRTD {} RTMR1 {:?}", m.mrtd, m.rtmr1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod acpi;
pub mod kernel;
pub mod measure;
pub mod mrtd;
pub mod rtmr;
pub mod rtmr0;
pub mod tdvf;

pub use measure::{
    AcpiConfig, AcpiInput, DirectBoot, Initrd, InputPaths, MeasureError, QemuVersion, TdxError,
    TdxGuest, TdxMeasurement, measure, measure_launch,
};
pub use mrtd::PageOrder;
