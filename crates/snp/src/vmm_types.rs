//! The hypervisor that launches the guest: each sets slightly different initial vCPU state.

use std::fmt;
use std::str::FromStr;

/// The VMM (sev-snp-measure's `--vmm-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmmType {
    /// QEMU/KVM.
    Qemu,
    /// AWS EC2.
    Ec2,
    /// Google Compute Engine.
    Gce,
}

impl VmmType {
    /// sev-snp-measure's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            VmmType::Qemu => "QEMU",
            VmmType::Ec2 => "ec2",
            VmmType::Gce => "gce",
        }
    }
}

impl fmt::Display for VmmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown VMM type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown VMM type {0:?} (valid: QEMU, ec2, gce)")]
pub struct UnknownVmmType(pub String);

impl FromStr for VmmType {
    type Err = UnknownVmmType;

    /// sev-snp-measure's names, ASCII case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [VmmType::Qemu, VmmType::Ec2, VmmType::Gce]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownVmmType(s.to_string()))
    }
}
