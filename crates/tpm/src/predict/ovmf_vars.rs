//! OVMF variable store (`OVMF_VARS*.fd`): the Secure Boot variables PCR 7 measures.
//!
//! Layout (EDK2 `MdePkg/Include/Pi/PiFirmwareVolume.h`, `MdeModulePkg/Include/Guid/VariableFormat.h`):
//! a firmware volume header (`_FVH`, file system GUID `EFI_SYSTEM_NV_DATA_FV_GUID`), then a
//! `VARIABLE_STORE_HEADER` (authenticated or plain format GUID, size, `Format` 0x5A, `State` 0xFE), then
//! variables, each a header starting with `0x55AA`, the UTF-16 name and the data, aligned to 4 bytes.
//! Deleted copies stay in the store; only `VAR_ADDED` (0x3F) copies, or `VAR_IN_DELETED_TRANSITION` ones
//! (0x3E) without a newer added copy, are live.

use super::PredictError;

use yardstick_common::guid;
use yardstick_common::guid::Guid;

use crate::guids::{
    EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE, EFI_SECURE_BOOT_ENABLE_DISABLE,
};
/// `EFI_SYSTEM_NV_DATA_FV_GUID`: the file system GUID of the variable store's firmware volume.
const NV_DATA_FV: Guid = guid!("fff12b8d-7696-4c8b-a985-2747075b4f50");
/// `gEfiAuthenticatedVariableGuid`: a store of authenticated variable headers.
const AUTH_VARIABLE_STORE: Guid = guid!("aaf32c78-947b-439a-a180-2e144ec37792");
/// `gEfiVariableGuid`: a store of plain variable headers.
const PLAIN_VARIABLE_STORE: Guid = guid!("ddcf3616-3275-4164-98b6-fe85707ffe7d");

/// One live variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Name (decoded from UTF-16, without the NUL).
    pub name: String,
    /// Vendor GUID.
    pub vendor: Guid,
    /// Attributes.
    pub attributes: u32,
    /// Data.
    pub data: Vec<u8>,
}

/// The Secure Boot state of a VARS file, as EDK2 sees it at boot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecureBootVars {
    /// `SecureBoot` (1 when a PK is enrolled and `SecureBootEnable` is not 0).
    pub secure_boot: bool,
    /// `PK` contents (empty when absent).
    pub pk: Vec<u8>,
    /// `KEK` contents.
    pub kek: Vec<u8>,
    /// `db` contents.
    pub db: Vec<u8>,
    /// `dbx` contents.
    pub dbx: Vec<u8>,
}

impl SecureBootVars {
    /// Debian's `OVMF_VARS_4M.fd` on q35: no keys enrolled, Secure Boot off.
    pub fn debian_default() -> SecureBootVars {
        SecureBootVars::default()
    }

    /// Reads the Secure Boot variables from an OVMF VARS file.
    pub fn from_vars_fd(fd: &[u8]) -> Result<SecureBootVars, PredictError> {
        let vars = parse_variable_store(fd)?;
        let get = |name: &str, vendor: &Guid| {
            vars.iter()
                .find(|v| v.name == name && &v.vendor == vendor)
                .map(|v| v.data.clone())
        };
        let pk = get("PK", &EFI_GLOBAL_VARIABLE).unwrap_or_default();
        // EDK2 AuthVariableLib: SecureBoot = 1 in user mode (PK present) unless SecureBootEnable says disabled.
        let enable = get("SecureBootEnable", &EFI_SECURE_BOOT_ENABLE_DISABLE);
        let secure_boot = !pk.is_empty() && enable.is_none_or(|e| e.first() == Some(&1));
        Ok(SecureBootVars {
            secure_boot,
            pk,
            kek: get("KEK", &EFI_GLOBAL_VARIABLE).unwrap_or_default(),
            db: get("db", &EFI_IMAGE_SECURITY_DATABASE).unwrap_or_default(),
            dbx: get("dbx", &EFI_IMAGE_SECURITY_DATABASE).unwrap_or_default(),
        })
    }
}

fn bad(msg: impl Into<String>) -> PredictError {
    PredictError::Vars(msg.into())
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// Every live variable of an OVMF VARS firmware volume.
pub fn parse_variable_store(fd: &[u8]) -> Result<Vec<Variable>, PredictError> {
    if fd.get(40..44) != Some(b"_FVH") {
        return Err(bad(
            "not an OVMF VARS file (no _FVH firmware volume signature)",
        ));
    }
    if Guid::read_efi(fd, 16) != Some(NV_DATA_FV) {
        return Err(bad(
            "firmware volume is not an NV variable store (file system GUID)",
        ));
    }
    let hlen = u16_at(fd, 48).ok_or_else(|| bad("truncated firmware volume header"))? as usize;
    let store_guid =
        Guid::read_efi(fd, hlen).ok_or_else(|| bad("truncated variable store header"))?;
    let auth = match store_guid {
        g if g == AUTH_VARIABLE_STORE => true,
        g if g == PLAIN_VARIABLE_STORE => false,
        _ => return Err(bad("unknown variable store format GUID")),
    };
    let store_size =
        u32_at(fd, hlen + 16).ok_or_else(|| bad("truncated variable store header"))? as usize;
    let store_end = hlen
        .checked_add(store_size)
        .filter(|&e| e <= fd.len())
        .ok_or_else(|| bad(format!("variable store size {store_size} exceeds the file")))?;
    let hdr_len = if auth { 60 } else { 32 };
    let (name_size_off, vendor_off) = if auth { (36, 44) } else { (8, 16) };
    let mut off = hlen + 28;
    // (variable, state) in store order.
    let mut all: Vec<(Variable, u8)> = Vec::new();
    while off + hdr_len <= store_end {
        if u16_at(fd, off) != Some(0x55aa) {
            break;
        }
        let state = fd.get(off + 2).copied().unwrap_or(0);
        let attributes = u32_at(fd, off + 4).unwrap_or(0);
        let name_size = u32_at(fd, off + name_size_off).unwrap_or(0) as usize;
        let data_size = u32_at(fd, off + name_size_off + 4).unwrap_or(0) as usize;
        let vendor =
            Guid::read_efi(fd, off + vendor_off).ok_or_else(|| bad("truncated variable header"))?;
        let name_start = off + hdr_len;
        let data_start = name_start
            .checked_add(name_size)
            .ok_or_else(|| bad("variable name size overflows"))?;
        let data_end = data_start
            .checked_add(data_size)
            .filter(|&e| e <= store_end)
            .ok_or_else(|| {
                bad(format!(
                    "variable at offset {off:#x} runs past the end of the store"
                ))
            })?;
        let name_raw = fd.get(name_start..data_start).unwrap_or_default();
        let units: Vec<u16> = name_raw
            .as_chunks::<2>()
            .0
            .iter()
            .map(|&c| u16::from_le_bytes(c))
            .take_while(|&u| u != 0)
            .collect();
        let name = String::from_utf16_lossy(&units);
        let data = fd.get(data_start..data_end).unwrap_or_default().to_vec();
        all.push((
            Variable {
                name,
                vendor,
                attributes,
                data,
            },
            state,
        ));
        off = data_end.next_multiple_of(4);
    }
    const VAR_ADDED: u8 = 0x3f;
    const VAR_IN_DELETED_TRANSITION_ADDED: u8 = 0x3e;
    let mut live: Vec<Variable> = Vec::new();
    for (v, state) in &all {
        let keep = match *state {
            VAR_ADDED => true,
            VAR_IN_DELETED_TRANSITION_ADDED => !all
                .iter()
                .any(|(w, s)| *s == VAR_ADDED && w.name == v.name && w.vendor == v.vendor),
            _ => false,
        };
        if keep {
            live.retain(|w| !(w.name == v.name && w.vendor == v.vendor));
            live.push(v.clone());
        }
    }
    Ok(live)
}

/// One `EFI_SIGNATURE_DATA` of a signature database, with its list's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureEntry {
    /// `SignatureType` of the enclosing list.
    pub sig_type: Guid,
    /// The whole `EFI_SIGNATURE_DATA`: owner GUID followed by the signature (certificate DER or hash).
    pub data: Vec<u8>,
}

impl SignatureEntry {
    /// The signature after the owner GUID.
    pub fn payload(&self) -> &[u8] {
        self.data.get(16..).unwrap_or_default()
    }
}

/// Splits a db/dbx value into its `EFI_SIGNATURE_DATA` entries (UEFI 2.x §32.4.1 `EFI_SIGNATURE_LIST`).
pub fn signature_entries(db: &[u8]) -> Result<Vec<SignatureEntry>, PredictError> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < db.len() {
        let sig_type =
            Guid::read_efi(db, off).ok_or_else(|| bad("truncated EFI_SIGNATURE_LIST"))?;
        let list_size =
            u32_at(db, off + 16).ok_or_else(|| bad("truncated EFI_SIGNATURE_LIST"))? as usize;
        let header_size =
            u32_at(db, off + 20).ok_or_else(|| bad("truncated EFI_SIGNATURE_LIST"))? as usize;
        let sig_size =
            u32_at(db, off + 24).ok_or_else(|| bad("truncated EFI_SIGNATURE_LIST"))? as usize;
        let end = off
            .checked_add(list_size)
            .filter(|&e| e <= db.len() && list_size >= 28)
            .ok_or_else(|| bad("EFI_SIGNATURE_LIST size out of range"))?;
        if sig_size < 16 {
            return Err(bad("EFI_SIGNATURE_DATA shorter than its owner GUID"));
        }
        let mut s = off + 28 + header_size;
        while s + sig_size <= end {
            out.push(SignatureEntry {
                sig_type,
                data: db
                    .get(s..s + sig_size)
                    .ok_or_else(|| bad("EFI_SIGNATURE_LIST size out of range"))?
                    .to_vec(),
            });
            s += sig_size;
        }
        off = end;
    }
    Ok(out)
}

/// TCG `UEFI_VARIABLE_DATA`: vendor GUID, name length (UTF-16 units, no NUL), data length, name, data — the
/// event data (and hash input) of `EV_EFI_VARIABLE_DRIVER_CONFIG` and `EV_EFI_VARIABLE_AUTHORITY`.
pub fn uefi_variable_data(vendor: &Guid, name: &str, data: &[u8]) -> Vec<u8> {
    let units: Vec<u16> = name.encode_utf16().collect();
    let mut out = Vec::with_capacity(32 + units.len() * 2 + data.len());
    out.extend_from_slice(&vendor.to_efi_bytes());
    out.extend_from_slice(&(units.len() as u64).to_le_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_byte_order() {
        // 8be4df61-93ca-11d2-aa0d-00e098032b8c as stored: 61 df e4 8b ca 93 d2 11 aa 0d ...
        assert_eq!(
            EFI_GLOBAL_VARIABLE.to_efi_bytes()[..4],
            [0x61, 0xdf, 0xe4, 0x8b]
        );
        assert_eq!(EFI_GLOBAL_VARIABLE.to_efi_bytes()[6..8], [0xd2, 0x11]);
    }

    /// SecureBoot = 0 as Debian's OVMF measures it (event seen in a real boot log: 53-byte UEFI_VARIABLE_DATA).
    #[test]
    fn variable_data_layout() {
        let d = uefi_variable_data(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[0]);
        assert_eq!(d.len(), 53);
        assert_eq!(d[16], 10);
        assert_eq!(d[24], 1);
    }

    /// A minimal authenticated variable store holding `PK` = "key" and `SecureBootEnable` = 1.
    fn tiny_store() -> Vec<u8> {
        let mut f = vec![0u8; 72];
        f[16..32].copy_from_slice(&NV_DATA_FV.to_efi_bytes());
        f[40..44].copy_from_slice(b"_FVH");
        f[48..50].copy_from_slice(&72u16.to_le_bytes());
        let mut store = Vec::new();
        store.extend_from_slice(&AUTH_VARIABLE_STORE.to_efi_bytes());
        store.extend_from_slice(&[0; 12]);
        for (name, vendor, data) in [
            ("PK", EFI_GLOBAL_VARIABLE, &b"key"[..]),
            (
                "SecureBootEnable",
                EFI_SECURE_BOOT_ENABLE_DISABLE,
                &[1u8][..],
            ),
        ] {
            let name16: Vec<u8> = name
                .encode_utf16()
                .chain([0])
                .flat_map(|u| u.to_le_bytes())
                .collect();
            let mut h = vec![0u8; 60];
            h[0..2].copy_from_slice(&0x55aau16.to_le_bytes());
            h[2] = 0x3f;
            h[36..40].copy_from_slice(&(name16.len() as u32).to_le_bytes());
            h[40..44].copy_from_slice(&(data.len() as u32).to_le_bytes());
            h[44..60].copy_from_slice(&vendor.to_efi_bytes());
            store.extend_from_slice(&h);
            store.extend_from_slice(&name16);
            store.extend_from_slice(data);
            store.resize(store.len().next_multiple_of(4), 0xff);
        }
        let size = store.len() as u32 + 64;
        store[16..20].copy_from_slice(&size.to_le_bytes());
        f.extend_from_slice(&store);
        f.resize(72 + size as usize, 0xff);
        f
    }

    #[test]
    fn parses_a_store_and_survives_mutations() {
        let f = tiny_store();
        let sb = SecureBootVars::from_vars_fd(&f).unwrap();
        assert!(sb.secure_boot);
        assert_eq!(sb.pk, b"key");
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut g = f.clone();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x as usize) % g.len();
            g[i] = (x >> 32) as u8;
            let cut = ((x >> 16) as usize) % (g.len() + 1);
            let _ = SecureBootVars::from_vars_fd(&g);
            let _ = SecureBootVars::from_vars_fd(&g[..cut]);
            let _ = signature_entries(&g[72..]);
            let _ = super::super::authority::find_authority(&[], &[&g[72..]], &[]);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_variable_store(&[0u8; 100]).is_err());
        assert!(signature_entries(&[1, 2, 3]).is_err());
    }
}
