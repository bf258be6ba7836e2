//! vCPU types and their CPUID signatures (the RDX value a vCPU holds at reset, measured in the VMSA).
//!
//! The names are QEMU's `builtin_x86_defs` CPU models, as sev-snp-measure 0.0.13 lists them.

use std::fmt;

/// The 32-bit CPUID `Fn0000_0001_EAX` signature for a family, model and stepping (AMD CPUID specification
/// #25481, "Family, Model, Stepping Identifiers"): families above 0xf are split into base 0xf plus an extended
/// family; the model into its low and high nibbles.
pub const fn cpu_sig(family: u32, model: u32, stepping: u32) -> u32 {
    let (family_low, family_high) = if family > 0xf {
        (0xf, (family - 0xf) & 0xff)
    } else {
        (family, 0)
    };
    let model_low = model & 0xf;
    let model_high = (model >> 4) & 0xf;
    let stepping_low = stepping & 0xf;
    (family_high << 20) | (model_high << 16) | (family_low << 8) | (model_low << 4) | stepping_low
}

/// A named vCPU model with its family, model and stepping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuType {
    /// QEMU's model name.
    pub name: &'static str,
    /// CPU family.
    pub family: u32,
    /// CPU model.
    pub model: u32,
    /// Stepping.
    pub stepping: u32,
}

impl VcpuType {
    /// The CPUID signature.
    pub const fn sig(&self) -> u32 {
        cpu_sig(self.family, self.model, self.stepping)
    }
}

const fn t(name: &'static str, family: u32, model: u32, stepping: u32) -> VcpuType {
    VcpuType {
        name,
        family,
        model,
        stepping,
    }
}

/// Every known vCPU type.
pub const VCPU_TYPES: &[VcpuType] = &[
    t("EPYC", 23, 1, 2),
    t("EPYC-v1", 23, 1, 2),
    t("EPYC-v2", 23, 1, 2),
    t("EPYC-IBPB", 23, 1, 2),
    t("EPYC-v3", 23, 1, 2),
    t("EPYC-v4", 23, 1, 2),
    t("EPYC-Rome", 23, 49, 0),
    t("EPYC-Rome-v1", 23, 49, 0),
    t("EPYC-Rome-v2", 23, 49, 0),
    t("EPYC-Rome-v3", 23, 49, 0),
    t("EPYC-Milan", 25, 1, 1),
    t("EPYC-Milan-v1", 25, 1, 1),
    t("EPYC-Milan-v2", 25, 1, 1),
    t("EPYC-Genoa", 25, 17, 0),
    t("EPYC-Genoa-v1", 25, 17, 0),
    t("EPYC-Turin", 26, 0, 0),
];

/// An unknown vCPU type name; its message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownVcpuType(pub String);

impl fmt::Display for UnknownVcpuType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown vCPU type {:?} (valid: ", self.0)?;
        for (i, v) in VCPU_TYPES.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(v.name)?;
        }
        f.write_str(")")
    }
}

/// Looks a vCPU type up by name (ASCII case-insensitive; QEMU's spelling is canonical).
pub fn lookup(name: &str) -> Result<&'static VcpuType, UnknownVcpuType> {
    VCPU_TYPES
        .iter()
        .find(|v| v.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| UnknownVcpuType(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signatures as AMD documents them for each generation (CPUID Fn0000_0001_EAX).
    #[test]
    fn known_signatures() {
        assert_eq!(lookup("EPYC").unwrap().sig(), 0x800f12);
        assert_eq!(lookup("EPYC-Rome").unwrap().sig(), 0x830f10);
        assert_eq!(lookup("epyc-milan").unwrap().sig(), 0xa00f11);
        assert_eq!(lookup("EPYC-Genoa").unwrap().sig(), 0xa10f10);
        assert_eq!(lookup("EPYC-Turin").unwrap().sig(), 0xb00f00);
        let e = lookup("EPYC-Naples").unwrap_err().to_string();
        assert!(e.contains("EPYC-Turin") && e.contains("EPYC-Naples"), "{e}");
    }
}
