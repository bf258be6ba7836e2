//! UEFI device paths (UEFI 2.10 §10) as text, in the notation of the UEFI spec's §10.6 "Device Path Text
//! Representation" that edk2's `DevicePathToText` and the firmware setup screens use, for the node kinds boot
//! logs carry. Anything else is printed as the spec's generic `Path(type,subtype,hex)` form, so nothing is
//! hidden. Malformed paths end with `<malformed>` instead of failing: this is for display only.

use std::fmt::Write as _;

use super::reader::Reader;
use super::types::Guid;
use super::utf16_to_string;

/// Text for a device path (a sequence of `EFI_DEVICE_PATH_PROTOCOL` nodes).
pub fn to_text(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (Ok(ty), Ok(sub), Ok(len)) = (r.u8(), r.u8(), r.u16()) else {
            out.push_str("<malformed>");
            break;
        };
        let Some(body_len) = len.checked_sub(4) else {
            out.push_str("<malformed>");
            break;
        };
        let Ok(body) = r.take(u64::from(body_len)) else {
            out.push_str("<malformed>");
            break;
        };
        match (ty, sub) {
            // End of the whole path.
            (0x7f, 0xff) => break,
            // End of one instance: the next one follows.
            (0x7f, _) => {
                out.push(',');
                continue;
            }
            _ => {}
        }
        if !out.is_empty() && !out.ends_with(',') {
            out.push('/');
        }
        out.push_str(&node_text(ty, sub, body));
    }
    out
}

fn node_text(ty: u8, sub: u8, body: &[u8]) -> String {
    known_node(ty, sub, body).unwrap_or_else(|| {
        format!(
            "Path({ty},{sub},{})",
            yardstick_common::hex::encode(body).to_uppercase()
        )
    })
}

// A table (one match arm per device-path node type and subtype): exempt from the ~100-line function rule.
fn known_node(ty: u8, sub: u8, body: &[u8]) -> Option<String> {
    let mut r = Reader::new(body);
    Some(match (ty, sub) {
        // Hardware.
        (0x01, 0x01) => {
            let function = r.u8().ok()?;
            let device = r.u8().ok()?;
            format!("Pci({device:#x},{function:#x})")
        }
        (0x01, 0x03) => {
            let mem_type = r.u32().ok()?;
            let start = r.u64().ok()?;
            let end = r.u64().ok()?;
            format!("MemoryMapped({mem_type:#x},{start:#x},{end:#x})")
        }
        (0x01, 0x04) => vendor("VenHw", body)?,
        (0x01, 0x05) => format!("Ctrl({:#x})", r.u32().ok()?),
        // ACPI.
        (0x02, 0x01) => {
            let hid = r.u32().ok()?;
            let uid = r.u32().ok()?;
            // EISA id: the low 16 bits are the compressed vendor "PNP", the high 16 bits the product.
            match (hid & 0xffff, hid >> 16) {
                (0x41d0, 0x0a03) => format!("PciRoot({uid:#x})"),
                (0x41d0, 0x0a08) => format!("PcieRoot({uid:#x})"),
                (0x41d0, product) => format!("Acpi(PNP{product:04X},{uid:#x})"),
                _ => format!("Acpi({hid:#x},{uid:#x})"),
            }
        }
        (0x02, 0x03) => format!("AcpiAdr({:#x})", r.u32().ok()?),
        // Messaging.
        (0x03, 0x01) => {
            let primary = r.u8().ok()?;
            let slave = r.u8().ok()?;
            let lun = r.u16().ok()?;
            let ch = if primary == 0 { "Primary" } else { "Secondary" };
            let ms = if slave == 0 { "Master" } else { "Slave" };
            format!("Ata({ch},{ms},{lun:#x})")
        }
        (0x03, 0x02) => {
            let target = r.u16().ok()?;
            let lun = r.u16().ok()?;
            format!("Scsi({target:#x},{lun:#x})")
        }
        (0x03, 0x05) => {
            let port = r.u8().ok()?;
            let interface = r.u8().ok()?;
            format!("USB({port:#x},{interface:#x})")
        }
        (0x03, 0x0a) => vendor("VenMsg", body)?,
        (0x03, 0x0b) => {
            let mac = r.take(32).ok()?;
            let if_type = r.u8().ok()?;
            // Ethernet-like interfaces (type 0/1) use the first 6 bytes.
            let n = if if_type <= 1 { 6 } else { 32 };
            let hex = yardstick_common::hex::encode(mac.get(..n)?);
            format!("MAC({hex},{if_type:#x})")
        }
        (0x03, 0x0c) => {
            let local = r.array::<4>().ok()?;
            let remote = r.array::<4>().ok()?;
            let _ = local;
            format!(
                "IPv4({}.{}.{}.{})",
                remote[0], remote[1], remote[2], remote[3]
            )
        }
        (0x03, 0x0d) => {
            let _local = r.array::<16>().ok()?;
            let remote = r.array::<16>().ok()?;
            format!("IPv6({})", std::net::Ipv6Addr::from(remote))
        }
        (0x03, 0x12) => {
            let hba = r.u16().ok()?;
            let pm = r.u16().ok()?;
            let lun = r.u16().ok()?;
            format!("Sata({hba:#x},{pm:#x},{lun:#x})")
        }
        (0x03, 0x17) => {
            let nsid = r.u32().ok()?;
            let eui = r.array::<8>().ok()?;
            let eui: Vec<String> = eui.iter().map(|b| format!("{b:02X}")).collect();
            format!("NVMe({nsid:#x},{})", eui.join("-"))
        }
        (0x03, 0x18) => format!("Uri({})", String::from_utf8_lossy(body)),
        // Media.
        (0x04, 0x01) => {
            let part = r.u32().ok()?;
            let start = r.u64().ok()?;
            let size = r.u64().ok()?;
            let sig = r.array::<16>().ok()?;
            let _format = r.u8().ok()?;
            let sig_type = r.u8().ok()?;
            match sig_type {
                1 => {
                    let s = u32::from_le_bytes([sig[0], sig[1], sig[2], sig[3]]);
                    format!("HD({part},MBR,{s:#010x},{start:#x},{size:#x})")
                }
                2 => format!(
                    "HD({part},GPT,{},{start:#x},{size:#x})",
                    Guid::from_efi_bytes(sig)
                ),
                _ => format!("HD({part},{sig_type},0,{start:#x},{size:#x})"),
            }
        }
        (0x04, 0x02) => {
            let entry = r.u32().ok()?;
            let start = r.u64().ok()?;
            let size = r.u64().ok()?;
            format!("CDROM({entry:#x},{start:#x},{size:#x})")
        }
        (0x04, 0x03) => vendor("VenMedia", body)?,
        (0x04, 0x04) => utf16_to_string(body)?,
        (0x04, 0x05) => format!("Media({})", Guid::read_efi(body, 0)?),
        (0x04, 0x06) => format!("FvFile({})", Guid::read_efi(body, 0)?),
        (0x04, 0x07) => format!("Fv({})", Guid::read_efi(body, 0)?),
        (0x04, 0x08) => {
            let _reserved = r.u32().ok()?;
            let start = r.u64().ok()?;
            let end = r.u64().ok()?;
            format!("Offset({start:#x},{end:#x})")
        }
        // BIOS Boot Specification.
        (0x05, 0x01) => {
            let dev_type = r.u16().ok()?;
            let flags = r.u16().ok()?;
            let desc = r.rest();
            let desc = desc.split(|b| *b == 0).next().unwrap_or_default();
            format!(
                "BBS({dev_type:#x},{},{flags:#x})",
                String::from_utf8_lossy(desc)
            )
        }
        _ => return None,
    })
}

fn vendor(kind: &str, body: &[u8]) -> Option<String> {
    let g = Guid::read_efi(body, 0)?;
    let rest = body.get(16..)?;
    let mut s = format!("{kind}({g}");
    if !rest.is_empty() {
        let _ = write!(s, ",{}", yardstick_common::hex::encode(rest).to_uppercase());
    }
    s.push(')');
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ty: u8, sub: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ty, sub];
        v.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    /// A typical OVMF boot-option path: PciRoot(0x0)/Pci(0x1,0x1)/Ata(...)/HD(1,GPT,...)/\EFI\BOOT\BOOTX64.EFI,
    /// built by hand from UEFI 2.10 §10.3 node layouts.
    #[test]
    fn common_path() {
        let mut p = node(2, 1, &[0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0]);
        p.extend(node(1, 1, &[1, 2]));
        let mut hd = 1u32.to_le_bytes().to_vec();
        hd.extend(0x800u64.to_le_bytes());
        hd.extend(0x1000u64.to_le_bytes());
        hd.extend(crate::guids::EFI_GLOBAL_VARIABLE.to_efi_bytes());
        hd.extend([2, 2]);
        p.extend(node(4, 1, &hd));
        let path: Vec<u8> = "\\EFI\\BOOT\\BOOTX64.EFI\0"
            .encode_utf16()
            .flat_map(|c| c.to_le_bytes())
            .collect();
        p.extend(node(4, 4, &path));
        p.extend(node(0x7f, 0xff, &[]));
        assert_eq!(
            to_text(&p),
            "PciRoot(0x0)/Pci(0x2,0x1)/HD(1,GPT,8be4df61-93ca-11d2-aa0d-00e098032b8c,0x800,0x1000)/\\EFI\\BOOT\\BOOTX64.EFI"
        );
    }

    #[test]
    fn unknown_and_malformed() {
        let mut p = node(9, 9, &[0xab]);
        p.extend([1, 1, 2, 0]);
        assert_eq!(to_text(&p), "Path(9,9,AB)<malformed>");
        assert_eq!(to_text(&[1, 1, 0xff, 0xff]), "<malformed>");
        assert_eq!(to_text(&[]), "");
    }
}
