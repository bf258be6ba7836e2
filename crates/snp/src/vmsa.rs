//! VMSA pages: the initial register state of each vCPU, measured by SEV-ES and SEV-SNP.
//!
//! The layout is the SEV-ES save area (AMD APM volume 2, table B-4 "VMSA layout, state save area for SEV-ES";
//! Linux `struct sev_es_save_area`). Only the fields a hypervisor sets at reset are modelled; everything else is
//! zero. The register values are those KVM/QEMU, AWS EC2 (Firecracker-derived) and GCE put there at INIT, as
//! recorded by sev-snp-measure's `vmsa.py`.

use crate::vmm_types::VmmType;

/// Size of a VMSA page.
pub const VMSA_LEN: usize = 4096;

/// The BSP starts at the reset vector, 16 bytes below 4 GiB.
pub const BSP_EIP: u32 = 0xffff_fff0;

/// A segment register as the VMCB stores it (`struct vmcb_seg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// Selector.
    pub selector: u16,
    /// Attributes (type, S, DPL, P, AVL, L, D/B, G packed into 12 bits).
    pub attrib: u16,
    /// Limit.
    pub limit: u32,
    /// Base.
    pub base: u64,
}

impl Segment {
    const fn new(selector: u16, attrib: u16, limit: u32, base: u64) -> Segment {
        Segment {
            selector,
            attrib,
            limit,
            base,
        }
    }
}

/// The register state written into a VMSA page. Fields not listed here are zero in every VMSA this crate builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaveArea {
    /// ES.
    pub es: Segment,
    /// CS.
    pub cs: Segment,
    /// SS.
    pub ss: Segment,
    /// DS.
    pub ds: Segment,
    /// FS.
    pub fs: Segment,
    /// GS.
    pub gs: Segment,
    /// GDTR.
    pub gdtr: Segment,
    /// LDTR.
    pub ldtr: Segment,
    /// IDTR.
    pub idtr: Segment,
    /// TR.
    pub tr: Segment,
    /// EFER.
    pub efer: u64,
    /// CR4.
    pub cr4: u64,
    /// CR0.
    pub cr0: u64,
    /// DR7.
    pub dr7: u64,
    /// DR6.
    pub dr6: u64,
    /// RFLAGS.
    pub rflags: u64,
    /// RIP.
    pub rip: u64,
    /// Guest PAT MSR.
    pub g_pat: u64,
    /// RDX: the CPUID signature at reset.
    pub rdx: u64,
    /// SEV_FEATURES (the guest features the hypervisor enables).
    pub sev_features: u64,
    /// XCR0.
    pub xcr0: u64,
    /// MXCSR.
    pub mxcsr: u32,
    /// x87 FPU control word.
    pub x87_fcw: u16,
}

// Byte offsets in the save area (APM vol. 2 table B-4).
const OFF_SEGMENTS: usize = 0x000; // es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr: 16 bytes each
const OFF_EFER: usize = 0x0d0;
const OFF_CR4: usize = 0x148;
const OFF_CR0: usize = 0x158;
const OFF_DR7: usize = 0x160;
const OFF_DR6: usize = 0x168;
const OFF_RFLAGS: usize = 0x170;
const OFF_RIP: usize = 0x178;
const OFF_G_PAT: usize = 0x268;
const OFF_RDX: usize = 0x310;
const OFF_SEV_FEATURES: usize = 0x3b0;
const OFF_XCR0: usize = 0x3e8;
const OFF_MXCSR: usize = 0x408;
const OFF_X87_FCW: usize = 0x410;

impl SaveArea {
    /// The 4 KiB VMSA page.
    pub fn to_page(&self) -> Box<[u8; VMSA_LEN]> {
        let mut p = Box::new([0u8; VMSA_LEN]);
        let segs = [
            self.es, self.cs, self.ss, self.ds, self.fs, self.gs, self.gdtr, self.ldtr, self.idtr,
            self.tr,
        ];
        for (i, s) in segs.iter().enumerate() {
            let at = OFF_SEGMENTS + 16 * i;
            put(&mut p[..], at, &s.selector.to_le_bytes());
            put(&mut p[..], at + 2, &s.attrib.to_le_bytes());
            put(&mut p[..], at + 4, &s.limit.to_le_bytes());
            put(&mut p[..], at + 8, &s.base.to_le_bytes());
        }
        for (at, v) in [
            (OFF_EFER, self.efer),
            (OFF_CR4, self.cr4),
            (OFF_CR0, self.cr0),
            (OFF_DR7, self.dr7),
            (OFF_DR6, self.dr6),
            (OFF_RFLAGS, self.rflags),
            (OFF_RIP, self.rip),
            (OFF_G_PAT, self.g_pat),
            (OFF_RDX, self.rdx),
            (OFF_SEV_FEATURES, self.sev_features),
            (OFF_XCR0, self.xcr0),
        ] {
            put(&mut p[..], at, &v.to_le_bytes());
        }
        put(&mut p[..], OFF_MXCSR, &self.mxcsr.to_le_bytes());
        put(&mut p[..], OFF_X87_FCW, &self.x87_fcw.to_le_bytes());
        p
    }

    /// The reset state of a vCPU starting at `eip` (the BSP at [`BSP_EIP`], APs at the SEV-ES reset block's
    /// EIP), as each VMM sets it.
    ///
    /// Real mode: CS base holds the upper 16 bits of EIP and RIP the lower 16. KVM sets EFER.SVME and CR4.MCE.
    pub fn reset(eip: u32, sev_features: u64, vcpu_sig: u64, vmm: VmmType) -> SaveArea {
        // Default PAT (APM vol. 2 section A.3).
        let mut g_pat = 0x0007_0406_0007_0406;
        let (cs_flags, ss_flags, tr_flags, rdx, mxcsr, fcw) = match vmm {
            VmmType::Qemu => (0x9b, 0x93, 0x8b, vcpu_sig, 0x1f80, 0x37f),
            // EC2 leaves the accessed bit clear in the BSP's CS only, and reports family 6 in RDX.
            VmmType::Ec2 => {
                let cs = if eip == BSP_EIP { 0x9a } else { 0x9b };
                (cs, 0x92, 0x83, 0x600, 0, 0)
            }
            VmmType::Gce => {
                // The GCE hypervisor overwrites the default PAT.
                g_pat = 0x0007_0106;
                (0x9b, 0x93, 0x8b, 0x600, 0, 0)
            }
        };
        SaveArea {
            es: Segment::new(0, 0x93, 0xffff, 0),
            cs: Segment::new(0xf000, cs_flags, 0xffff, u64::from(eip & 0xffff_0000)),
            ss: Segment::new(0, ss_flags, 0xffff, 0),
            ds: Segment::new(0, 0x93, 0xffff, 0),
            fs: Segment::new(0, 0x93, 0xffff, 0),
            gs: Segment::new(0, 0x93, 0xffff, 0),
            gdtr: Segment::new(0, 0, 0xffff, 0),
            ldtr: Segment::new(0, 0x82, 0xffff, 0),
            idtr: Segment::new(0, 0, 0xffff, 0),
            tr: Segment::new(0, tr_flags, 0xffff, 0),
            efer: 0x1000,
            cr4: 0x40,
            cr0: 0x10,
            dr7: 0x400,
            dr6: 0xffff_0ff0,
            rflags: 0x2,
            rip: u64::from(eip & 0xffff),
            g_pat,
            rdx,
            sev_features,
            xcr0: 0x1,
            mxcsr,
            x87_fcw: fcw,
        }
    }

    /// The state in which QEMU starts every vCPU of a Coconut SVSM guest: 32-bit protected mode with flat
    /// segments, at the SVSM entry point (QEMU `target/i386/sev.c` for IGVM/SVSM launch).
    ///
    /// SEV_FEATURES is always 0x1 (SNP active) and the x87 control word is left 0. The latter is a bug in
    /// sev-snp-measure 0.0.13 (it sets an attribute `fcw` instead of the `x87_fcw` field) that its own SVSM test
    /// vectors encode; yardstick reproduces it so that digests match the tool people compare with.
    pub fn svsm(eip: u64, vcpu_sig: u64) -> SaveArea {
        SaveArea {
            es: Segment::new(16, 0xc93, 0xffff_ffff, 0),
            cs: Segment::new(8, 0xc9b, 0xffff_ffff, 0),
            ss: Segment::new(16, 0xc93, 0xffff_ffff, 0),
            ds: Segment::new(16, 0xc93, 0xffff_ffff, 0),
            fs: Segment::new(16, 0xc93, 0xffff_ffff, 0),
            gs: Segment::new(0, 0x093, 0xffff, 0),
            gdtr: Segment::new(0, 0, 0xffff, 0),
            ldtr: Segment::new(0, 0x82, 0xffff, 0),
            idtr: Segment::new(0, 0, 0xffff, 0),
            tr: Segment::new(0, 0x8b, 0xffff, 0),
            efer: 0x1000,
            cr4: 0x40,
            cr0: 0x11,
            dr7: 0x400,
            dr6: 0xffff_0ff0,
            rflags: 0x2,
            rip: eip,
            g_pat: 0x0007_0406_0007_0406,
            rdx: vcpu_sig,
            sev_features: 0x1,
            xcr0: 0x1,
            mxcsr: 0x1f80,
            x87_fcw: 0,
        }
    }
}

fn put(page: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = page.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsp_fields_land_at_their_offsets() {
        let p = SaveArea::reset(BSP_EIP, 0x21, 0xa00f11, VmmType::Qemu).to_page();
        // CS: selector 0xf000, attrib 0x9b, limit 0xffff, base 0xffff0000.
        assert_eq!(
            &p[0x10..0x20],
            &[
                0x00, 0xf0, 0x9b, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0
            ]
        );
        assert_eq!(&p[0x178..0x180], &0xfff0u64.to_le_bytes());
        assert_eq!(&p[0x310..0x318], &0xa00f11u64.to_le_bytes());
        assert_eq!(&p[0x3b0..0x3b8], &0x21u64.to_le_bytes());
        assert_eq!(&p[0x408..0x40c], &0x1f80u32.to_le_bytes());
        assert_eq!(&p[0x410..0x412], &0x37fu16.to_le_bytes());
        assert!(p[0x420..].iter().all(|&b| b == 0));
    }

    #[test]
    fn ec2_bsp_cs_is_not_accessed() {
        let bsp = SaveArea::reset(BSP_EIP, 1, 0, VmmType::Ec2);
        let ap = SaveArea::reset(0x80b004, 1, 0, VmmType::Ec2);
        assert_eq!(bsp.cs.attrib, 0x9a);
        assert_eq!(ap.cs.attrib, 0x9b);
        assert_eq!(ap.cs.base, 0x80_0000);
        assert_eq!(ap.rip, 0xb004);
    }
}
