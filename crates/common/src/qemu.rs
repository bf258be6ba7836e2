//! QEMU versions, as users name the QEMU that boots a VM (`--qemu-version`): where QEMU's behaviour changed
//! between versions in ways a measurement sees (the kernel TDVF gets, where TCG delivers a self-SMI), the
//! predictions ask for it.

use std::fmt;
use std::str::FromStr;

/// A QEMU version, as `--qemu-version` gives it (`MAJOR.MINOR[.PATCH]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct QemuVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch level (0 when not given).
    pub patch: u32,
}

impl QemuVersion {
    /// QEMU 10.0: what `--qemu-version` defaults to (the QEMU bookworm-backports ships, which the suite boots).
    pub const V10_0: QemuVersion = QemuVersion::new(10, 0, 0);

    /// A version.
    pub const fn new(major: u32, minor: u32, patch: u32) -> QemuVersion {
        QemuVersion {
            major,
            minor,
            patch,
        }
    }

    /// Whether this is `major.minor` (any patch level).
    pub fn is(self, major: u32, minor: u32) -> bool {
        self.major == major && self.minor == minor
    }

    /// The first QEMU that publishes the unmodified kernel (`etc/boot/kernel`).
    pub const UNMODIFIED_KERNEL: QemuVersion = QemuVersion {
        major: 10,
        minor: 0,
        patch: 0,
    };

    /// Whether the firmware gets the kernel file as given (≥ 10.0) or with QEMU's patched setup header.
    pub fn passes_unmodified_kernel(self) -> bool {
        self >= QemuVersion::UNMODIFIED_KERNEL
    }
}

impl fmt::Display for QemuVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A `--qemu-version` that is not `MAJOR.MINOR[.PATCH]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid QEMU version {0:?} (expected MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 10.0 or 8.2.2)"
)]
pub struct BadQemuVersion(pub String);

impl FromStr for QemuVersion {
    type Err = BadQemuVersion;
    fn from_str(s: &str) -> Result<QemuVersion, BadQemuVersion> {
        let bad = || BadQemuVersion(s.to_string());
        let parts: Vec<&str> = s.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let num = |p: Option<&&str>| -> Result<u32, BadQemuVersion> {
            match p {
                None => Ok(0),
                Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                    t.parse().map_err(|_| bad())
                }
                Some(_) => Err(bad()),
            }
        };
        Ok(QemuVersion {
            major: num(parts.first())?,
            minor: num(parts.get(1))?,
            patch: num(parts.get(2))?,
        })
    }
}

impl Default for QemuVersion {
    /// [`QemuVersion::V10_0`].
    fn default() -> QemuVersion {
        QemuVersion::V10_0
    }
}
