//! How the kernel reaches the firmware, and so which bytes RTMR1's image event measures.
//!
//! With direct boot (`-kernel`), QEMU hands the kernel to OVMF through fw_cfg and OVMF loads it with
//! `LoadImage`, which measures the image's Authenticode digest into RTMR1. Which image that is depends on the
//! QEMU version:
//!
//! * QEMU ≥ 10.0 publishes the file as given (`etc/boot/kernel`), and a firmware that reads it (edk2 ≥ 2025.02,
//!   e.g. Debian 13's ovmf) measures the unmodified kernel: [`KernelLoad::Unmodified`].
//! * Older QEMU passes the setup header it patched for its own Linux loader ([`patch_setup_header`]): the
//!   boot-loader type, heap end and command-line pointer, and, with an initrd, the initrd's address and size.
//!   The address is computed from the memory below 4 GiB, so RTMR1 then depends on `--memory` and the initrd's
//!   size: [`KernelLoad::QemuPatched`].

use yardstick_common::bytes::{le16, le32};

/// QEMU's `acpi_data_size` for the q35 machine types (0x20000 + 0x8000): the top of low memory QEMU keeps free
/// for ACPI data when it places the initrd.
pub const QEMU_ACPI_DATA_SIZE: u64 = 0x28000;

/// The kernel image RTMR1 measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum KernelLoad {
    /// The file as given (QEMU ≥ 10.0 with a firmware reading `etc/boot/kernel`).
    Unmodified,
    /// The file with the setup header QEMU < 10.0 patched for a guest with this much memory and this initrd.
    QemuPatched {
        /// Guest memory in bytes.
        memory: u64,
        /// Size of the initrd in bytes (`None` without an initrd).
        initrd_size: Option<u64>,
    },
}

/// Why a kernel could not be patched as QEMU would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// No Linux boot-protocol header ("HdrS" at 0x202).
    #[error(
        "the kernel has no Linux x86 boot-protocol header (no \"HdrS\" at 0x202): not a bzImage"
    )]
    NotBzImage,
    /// Protocols before 2.00 cannot take an initrd, and QEMU's handling of them is not modelled.
    #[error("boot protocol {0:#x} is older than 2.00: not modelled")]
    OldProtocol(u16),
    /// The initrd does not fit below the initrd limit.
    #[error(
        "the initrd ({size} bytes) does not fit below the {max:#x} limit QEMU computes for this memory size"
    )]
    InitrdTooLarge {
        /// The initrd size.
        size: u64,
        /// QEMU's `initrd_max`.
        max: u64,
    },
    /// Less memory than QEMU's ACPI area.
    #[error("{0} bytes of memory is less than QEMU's ACPI data area")]
    TooLittleMemory(u64),
}

/// Memory below 4 GiB on QEMU's q35 machine: all of it up to 2.75 GiB (0xb0000000); with more, 2 GiB.
pub const fn below_4g_mem_size(memory: u64) -> u64 {
    let lowmem = if memory >= 0xb000_0000 {
        0x8000_0000
    } else {
        0xb000_0000
    };
    if memory >= lowmem { lowmem } else { memory }
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// The kernel file with its setup header patched as QEMU's x86 Linux loader (before 10.0) patches it for a
/// guest with `memory` bytes and an initrd of `initrd_size` bytes.
pub fn patch_setup_header(
    kernel: &[u8],
    memory: u64,
    initrd_size: Option<u64>,
) -> Result<Vec<u8>, PatchError> {
    if kernel.get(0x202..0x206) != Some(b"HdrS".as_slice()) {
        return Err(PatchError::NotBzImage);
    }
    let protocol = le16(kernel, 0x206).ok_or(PatchError::NotBzImage)?;
    if protocol < 0x200 {
        return Err(PatchError::OldProtocol(protocol));
    }
    let loadflags = kernel.get(0x211).copied().ok_or(PatchError::NotBzImage)?;
    let mut k = kernel.to_vec();
    // A "high" kernel (LOADED_HIGH) has its real-mode part at 0x10000 and the command line at 0x20000.
    let (real_addr, cmdline_addr): (u32, u32) = if loadflags & 0x01 == 0 {
        (0x9_0000, 0x9_a000)
    } else {
        (0x1_0000, 0x2_0000)
    };
    // type_of_loader: QEMU.
    put(&mut k, 0x210, &[0xb0]);
    if protocol >= 0x201 {
        // CAN_USE_HEAP and the heap end, 16 bits.
        put(&mut k, 0x211, &[loadflags | 0x80]);
        let heap_end = (cmdline_addr - real_addr - 0x200) as u16;
        put(&mut k, 0x224, &heap_end.to_le_bytes());
    }
    if protocol >= 0x202 {
        put(&mut k, 0x228, &cmdline_addr.to_le_bytes());
    } else {
        put(&mut k, 0x20, &0xa33fu16.to_le_bytes());
        put(
            &mut k,
            0x22,
            &((cmdline_addr - real_addr) as u16).to_le_bytes(),
        );
    }
    if let Some(size) = initrd_size {
        let xloadflags = le16(kernel, 0x236).unwrap_or_default();
        // XLF_CAN_BE_LOADED_ABOVE_4G (bit 1): QEMU caps at 4 GiB - 1; else the header's initrd_addr_max.
        let mut initrd_max: u64 = if protocol >= 0x20c && xloadflags & 0x2 != 0 {
            u64::from(u32::MAX)
        } else if protocol >= 0x203 {
            u64::from(le32(kernel, 0x22c).unwrap_or_default())
        } else {
            0x37ff_ffff
        };
        let avail = below_4g_mem_size(memory)
            .checked_sub(QEMU_ACPI_DATA_SIZE)
            .ok_or(PatchError::TooLittleMemory(memory))?;
        if initrd_max >= avail {
            initrd_max = avail.saturating_sub(1);
        }
        if size >= initrd_max {
            return Err(PatchError::InitrdTooLarge {
                size,
                max: initrd_max,
            });
        }
        let addr = (initrd_max - size) & !0xfff;
        // Both fit in 32 bits: initrd_max < 4 GiB.
        put(&mut k, 0x218, &(addr as u32).to_le_bytes());
        put(&mut k, 0x21c, &(size as u32).to_le_bytes());
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(protocol: u16, xlf: u16) -> Vec<u8> {
        let mut k = vec![0u8; 0x1000];
        k[0x202..0x206].copy_from_slice(b"HdrS");
        k[0x206..0x208].copy_from_slice(&protocol.to_le_bytes());
        k[0x211] = 0x01;
        k[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        k[0x236..0x238].copy_from_slice(&xlf.to_le_bytes());
        k
    }

    fn initrd_addr(k: &[u8]) -> u32 {
        u32::from_le_bytes(k[0x218..0x21c].try_into().unwrap())
    }

    #[test]
    fn fields_qemu_writes() {
        let k = patch_setup_header(&header(0x20f, 0x7f), 2 << 30, Some(0x10_0000)).unwrap();
        assert_eq!(k[0x210], 0xb0);
        assert_eq!(k[0x211], 0x81);
        assert_eq!(&k[0x224..0x226], &0xfe00u16.to_le_bytes());
        assert_eq!(&k[0x228..0x22c], &0x2_0000u32.to_le_bytes());
        // 2 GiB of memory, all below 4 GiB: (2 GiB - ACPI - 1 - size) rounded down to a page.
        assert_eq!(
            initrd_addr(&k),
            ((0x8000_0000u64 - 0x28000 - 1 - 0x10_0000) & !0xfff) as u32
        );
        assert_eq!(&k[0x21c..0x220], &0x10_0000u32.to_le_bytes());
        // Nothing else changes.
        let orig = header(0x20f, 0x7f);
        for (i, (a, b)) in orig.iter().zip(&k).enumerate() {
            if !(0x210..0x212).contains(&i)
                && !(0x218..0x220).contains(&i)
                && !(0x224..0x226).contains(&i)
                && !(0x228..0x22c).contains(&i)
            {
                assert_eq!(a, b, "byte {i:#x}");
            }
        }
    }

    #[test]
    fn memory_placement() {
        let at = |mem: u64| {
            initrd_addr(&patch_setup_header(&header(0x20f, 0x7f), mem, Some(4096)).unwrap())
        };
        // Below 2.75 GiB every byte counts; from 2.75 GiB on, 2 GiB is below 4 GiB; 2 GiB equals that.
        assert_ne!(at(0x7000_0000), at(0x8000_0000));
        assert_eq!(at(0x8000_0000), at(0xb000_0000));
        assert_eq!(at(0xb000_0000), at(16 << 30));
        assert_ne!(at(0xa000_0000), at(0xb000_0000));
        // Without XLF_CAN_BE_LOADED_ABOVE_4G the header's limit applies (0x7fffffff here).
        let k = patch_setup_header(&header(0x20f, 0), 0xa000_0000, Some(4096)).unwrap();
        assert_eq!(initrd_addr(&k), ((0x7fff_ffffu64 - 4096) & !0xfff) as u32);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            patch_setup_header(&[0; 0x100], 1 << 30, None),
            Err(PatchError::NotBzImage)
        );
        assert_eq!(
            patch_setup_header(&header(0x1ff, 0), 1 << 30, None),
            Err(PatchError::OldProtocol(0x1ff))
        );
        assert!(matches!(
            patch_setup_header(&header(0x20f, 0x7f), 64 << 20, Some(64 << 20)),
            Err(PatchError::InitrdTooLarge { .. })
        ));
        assert_eq!(
            patch_setup_header(&header(0x20f, 0x7f), 4096, Some(1)),
            Err(PatchError::TooLittleMemory(4096))
        );
    }
}
