//! vCPU types and their CPUID signatures (the RDX value a vCPU holds at reset, measured in the VMSA), and
//! [`resolve`], the one place that turns sev-snp-measure's vCPU flags into that value.
//!
//! The names are QEMU's `builtin_x86_defs` CPU models, as sev-snp-measure 0.0.13 lists them.

use std::fmt;

use crate::sev_mode::SevMode;
use crate::vmm_types::VmmType;

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

/// What RDX holds at reset on EC2 and GCE, whatever the vCPU: their hypervisors report family 6 there.
pub const FIXED_RESET_RDX: u64 = 0x600;

/// The vCPU as sev-snp-measure's flags describe it (`--vcpu-type`, `--vcpu-sig`, `--vcpu-family`,
/// `--vcpu-model`, `--vcpu-stepping`), numbers already parsed. [`resolve`] decides which of them counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VcpuSpec<'a> {
    /// A QEMU CPU model name (ASCII case-insensitive).
    pub vcpu_type: Option<&'a str>,
    /// A CPUID signature.
    pub vcpu_sig: Option<u64>,
    /// CPU family.
    pub family: Option<u64>,
    /// CPU model (needed with a family).
    pub model: Option<u64>,
    /// Stepping (needed with a family).
    pub stepping: Option<u64>,
}

/// A resolved vCPU: what goes into every VMSA's RDX, and the named model it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vcpu {
    /// The RDX value at reset: the CPUID signature under QEMU, [`FIXED_RESET_RDX`] under EC2 and GCE, 0 for
    /// plain SEV (which measures no VMSA).
    pub sig: u64,
    /// The model, when the signature was selected by `--vcpu-type` (never for plain SEV).
    pub vcpu_type: Option<&'static VcpuType>,
}

/// Why the vCPU flags do not give a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VcpuError {
    /// `--vcpu-type` names no known model.
    #[error("--vcpu-type")]
    UnknownType(#[from] UnknownVcpuType),
    /// A family without model or stepping.
    #[error("--vcpu-family needs --vcpu-model and --vcpu-stepping")]
    IncompleteFamily,
    /// A family, model or stepping above 32 bits.
    #[error("{flag}: {value} is out of range")]
    OutOfRange {
        /// `--vcpu-family`, `--vcpu-model` or `--vcpu-stepping`.
        flag: &'static str,
        /// The value given.
        value: u64,
    },
    /// QEMU without any signature.
    #[error(
        "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '{mode}' (QEMU puts the CPU signature in every VMSA)"
    )]
    MissingSignature {
        /// The mode as the user spelled it ([`SevMode::as_str`] unless the caller replaces it).
        mode: String,
    },
}

/// Resolves the vCPU the way sev-snp-measure 0.0.13 does (`get_vcpu_sig` in its `cli.py`, where argparse has
/// already checked the model name):
///
/// 1. a `vcpu_type` must name a known model, in every mode;
/// 2. plain SEV measures no VMSA: signature 0;
/// 3. otherwise the first given of family/model/stepping, `vcpu_sig`, `vcpu_type` selects the signature; a
///    family or signature of 0 counts as not given;
/// 4. QEMU needs one of them; EC2 and GCE need none, and put [`FIXED_RESET_RDX`] in RDX whatever is given.
pub fn resolve(mode: SevMode, vmm: VmmType, spec: &VcpuSpec<'_>) -> Result<Vcpu, VcpuError> {
    let named = spec.vcpu_type.map(lookup).transpose()?;
    if mode == SevMode::Sev {
        return Ok(Vcpu {
            sig: 0,
            vcpu_type: None,
        });
    }
    let (sig, vcpu_type) = if let Some(family) = spec.family.filter(|&f| f != 0) {
        let (Some(model), Some(stepping)) = (spec.model, spec.stepping) else {
            return Err(VcpuError::IncompleteFamily);
        };
        let narrow = |flag: &'static str, value: u64| {
            u32::try_from(value).map_err(|_| VcpuError::OutOfRange { flag, value })
        };
        let sig = cpu_sig(
            narrow("--vcpu-family", family)?,
            narrow("--vcpu-model", model)?,
            narrow("--vcpu-stepping", stepping)?,
        );
        (Some(u64::from(sig)), None)
    } else if let Some(sig) = spec.vcpu_sig.filter(|&s| s != 0) {
        (Some(sig), None)
    } else if let Some(v) = named {
        (Some(u64::from(v.sig())), Some(v))
    } else {
        (None, None)
    };
    let sig = match (vmm, sig) {
        (VmmType::Qemu, Some(sig)) => sig,
        (VmmType::Qemu, None) => {
            return Err(VcpuError::MissingSignature {
                mode: mode.as_str().to_string(),
            });
        }
        (VmmType::Ec2 | VmmType::Gce, _) => FIXED_RESET_RDX,
    };
    Ok(Vcpu { sig, vcpu_type })
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

#[cfg(test)]
mod resolve_tests {
    use super::*;

    fn spec<'a>() -> VcpuSpec<'a> {
        VcpuSpec::default()
    }

    #[test]
    fn precedence_family_then_sig_then_type() {
        let all = VcpuSpec {
            vcpu_type: Some("epyc-v4"),
            vcpu_sig: Some(0xa00f11),
            family: Some(25),
            model: Some(17),
            stepping: Some(0),
        };
        let q = |s: &VcpuSpec<'_>| resolve(SevMode::SevSnp, VmmType::Qemu, s);
        assert_eq!(q(&all).unwrap().sig, 0xa10f10);
        assert_eq!(q(&all).unwrap().vcpu_type, None);
        let no_family = VcpuSpec {
            family: Some(0),
            ..all
        };
        assert_eq!(q(&no_family).unwrap().sig, 0xa00f11);
        let no_sig = VcpuSpec {
            vcpu_sig: Some(0),
            ..no_family
        };
        let v = q(&no_sig).unwrap();
        // EPYC-v4: family 23, model 1, stepping 2 (QEMU builtin_x86_defs), spelled as QEMU does.
        assert_eq!(v.sig, 0x800f12);
        assert_eq!(v.vcpu_type.map(|t| t.name), Some("EPYC-v4"));
    }

    #[test]
    fn modes_and_vmms() {
        let named = VcpuSpec {
            vcpu_type: Some("EPYC-Milan"),
            ..spec()
        };
        for vmm in [VmmType::Qemu, VmmType::Ec2, VmmType::Gce] {
            let v = resolve(SevMode::Sev, vmm, &named).unwrap();
            assert_eq!((v.sig, v.vcpu_type), (0, None));
            assert_eq!(resolve(SevMode::Sev, vmm, &spec()).unwrap().sig, 0);
        }
        for mode in [SevMode::SevEs, SevMode::SevSnp, SevMode::SevSnpSvsm] {
            for vmm in [VmmType::Ec2, VmmType::Gce] {
                assert_eq!(resolve(mode, vmm, &spec()).unwrap().sig, 0x600);
                let v = resolve(mode, vmm, &named).unwrap();
                assert_eq!(v.sig, 0x600);
                assert_eq!(v.vcpu_type.map(|t| t.name), Some("EPYC-Milan"));
            }
            let e = resolve(mode, VmmType::Qemu, &spec()).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '{mode}' (QEMU puts the CPU signature in every VMSA)"
                )
            );
        }
    }

    #[test]
    fn errors() {
        // An unknown model is refused in every mode, even when it would not be used.
        for mode in [SevMode::Sev, SevMode::SevSnp] {
            let bad = VcpuSpec {
                vcpu_type: Some("Pentium"),
                vcpu_sig: Some(1),
                ..spec()
            };
            let e = resolve(mode, VmmType::Qemu, &bad).unwrap_err();
            assert!(matches!(e, VcpuError::UnknownType(_)), "{e}");
            // The error names its flag; the cause follows in the chain.
            assert!(
                yardstick_common::error_chain(&e)
                    .starts_with("--vcpu-type: unknown vCPU type \"Pentium\"")
            );
        }
        let family_only = VcpuSpec {
            family: Some(25),
            ..spec()
        };
        assert_eq!(
            resolve(SevMode::SevSnp, VmmType::Qemu, &family_only)
                .unwrap_err()
                .to_string(),
            "--vcpu-family needs --vcpu-model and --vcpu-stepping"
        );
        // SEV never looks at the family.
        assert!(resolve(SevMode::Sev, VmmType::Qemu, &family_only).is_ok());
        let huge = VcpuSpec {
            family: Some(25),
            model: Some(1 << 32),
            stepping: Some(0),
            ..spec()
        };
        assert_eq!(
            resolve(SevMode::SevEs, VmmType::Ec2, &huge)
                .unwrap_err()
                .to_string(),
            "--vcpu-model: 4294967296 is out of range"
        );
    }
}
