//! The hypervisor that launches the guest: each sets slightly different initial vCPU state.

use std::fmt;
use std::str::FromStr;

/// The VMM (sev-snp-measure's `--vmm-type`).
///
/// Two spellings: sev-snp-measure's ([`VmmType::as_str`]: `QEMU`, `ec2`, `gce`; [`FromStr`] accepts them in any
/// ASCII case), and the manifest's serde names, all lower case (`qemu`, `ec2`, `gce`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        for (v, flag, json) in [
            (VmmType::Qemu, "QEMU", "\"qemu\""),
            (VmmType::Ec2, "ec2", "\"ec2\""),
            (VmmType::Gce, "gce", "\"gce\""),
        ] {
            assert_eq!(v.as_str(), flag);
            assert_eq!(flag.parse::<VmmType>().unwrap(), v);
            assert_eq!(flag.to_ascii_lowercase().parse::<VmmType>().unwrap(), v);
            assert_eq!(flag.to_ascii_uppercase().parse::<VmmType>().unwrap(), v);
            assert_eq!(serde_json::to_string(&v).unwrap(), json);
            assert_eq!(serde_json::from_str::<VmmType>(json).unwrap(), v);
        }
        assert!(serde_json::from_str::<VmmType>("\"QEMU\"").is_err());
        let e = "xen".parse::<VmmType>().unwrap_err().to_string();
        assert_eq!(e, "unknown VMM type \"xen\" (valid: QEMU, ec2, gce)");
    }
}
