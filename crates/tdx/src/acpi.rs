//! QEMU's ACPI fw_cfg blobs, as OVMF measures them into RTMR0.
//!
//! QEMU hands the firmware three fw_cfg files: `etc/acpi/tables` (every ACPI table, concatenated, pointers
//! holding offsets into the blob, checksums zero, padded with zeros), `etc/acpi/rsdp` (the RSDP, its RSDT
//! address an offset into the tables blob) and `etc/table-loader` (the commands that tell the firmware where
//! to allocate each blob, which pointers to relocate and which checksums to compute). OVMF measures the three
//! as downloaded, before it patches anything, each as an `EV_PLATFORM_CONFIG_FLAGS` "ACPI DATA" event in
//! this order: the loader, then the blobs sorted by name (`etc/acpi/rsdp`, `etc/acpi/tables`).
//!
//! A user dumps `etc/acpi/tables` once from a guest of the same machine configuration
//! (`/sys/firmware/qemu_fw_cfg/by_name/etc/acpi/tables/raw`). The RSDP and the loader follow from it for the
//! layouts QEMU's i386 `acpi_build` produces ([`AcpiBlobs::derive`]): FACS, DSDT, FACP, then tables that
//! only get a checksum (APIC, HPET, MCFG, WAET, SRAT, SLIT, DMAR), then the RSDT listing every table
//! but FACS and DSDT. Anything else (an XSDT, a table with pointers of its own such as TPM2's log area or
//! vmgenid's SSDT) is refused with the reason; the user then also dumps `etc/acpi/rsdp` and
//! `etc/table-loader` and passes them as they are ([`AcpiBlobs::given`]).

use yardstick_common::bytes::le32;
use yardstick_tpm::predict::fw_cfg_acpi::{
    ADD_CHECKSUM, ADD_POINTER, ALLOCATE, COMMAND_LEN, FILE_NAME_LEN, LOADER as LOADER_FILE_NAME,
};

/// The loader's fw_cfg name of the tables blob.
pub const TABLES_FILE: &str = yardstick_tpm::predict::fw_cfg_acpi::TABLES;
/// The loader's fw_cfg name of the RSDP blob.
pub const RSDP_FILE: &str = yardstick_tpm::predict::fw_cfg_acpi::RSDP;
/// QEMU pads the loader's command list to a multiple of this.
const LOADER_ALIGN: usize = 4096;
/// An ACPI table header (signature to creator revision).
const HEADER_LEN: u32 = 36;
/// More tables than any QEMU machine emits; bounds the work of a hostile blob.
const MAX_TABLES: usize = 256;
/// The largest tables blob accepted (QEMU's are 128 KiB to a few MiB; offsets in the loader are 32-bit).
pub const MAX_BLOB: usize = 64 << 20;

/// Tables QEMU builds with a checksum and no other loader command, after FACP and before the RSDT.
pub const CHECKSUM_ONLY: [&str; 7] = ["APIC", "HPET", "MCFG", "WAET", "SRAT", "SLIT", "DMAR"];

/// Why an ACPI blob was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcpiError {
    /// The tables blob holds no table.
    #[error(
        "etc/acpi/tables: no ACPI table at offset 0 (is this the raw etc/acpi/tables fw_cfg file?)"
    )]
    Empty,
    /// A table's length is impossible.
    #[error(
        "etc/acpi/tables: table {signature} at offset {offset:#x} has length {length}, past the blob's end or shorter than its header"
    )]
    BadLength {
        /// The table's signature.
        signature: String,
        /// Its offset.
        offset: usize,
        /// Its length field.
        length: u32,
    },
    /// Bytes after the last table that are not zero padding.
    #[error(
        "etc/acpi/tables: non-zero bytes at offset {0:#x} after the last table (a table with a signature that is not 4 printable characters?)"
    )]
    TrailingData(usize),
    /// A blob larger than any QEMU serves.
    #[error("etc/acpi/tables: {0} bytes, more than any QEMU serves (at most 64 MiB)")]
    TooLarge(usize),
    /// A given RSDP or loader that is not what QEMU serves under that name.
    #[error("{file}: {problem} (is it the guest's {file} fw_cfg file?)")]
    NotQemus {
        /// The fw_cfg name.
        file: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// More tables than any QEMU machine has.
    #[error("etc/acpi/tables: more than {MAX_TABLES} tables")]
    TooManyTables,
    /// The layout is not one the loader can be derived for.
    #[error(
        "etc/acpi/tables: {0}; the table loader cannot be derived for this layout: dump etc/table-loader and \
         etc/acpi/rsdp from the guest too and pass them with --acpi-loader and --acpi-rsdp"
    )]
    Layout(String),
}

/// One table in the tables blob.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AcpiTable {
    /// The signature (`DSDT`, `FACP`, ...).
    pub signature: String,
    /// Offset in the blob.
    pub offset: u32,
    /// Length.
    pub length: u32,
}

/// Walks the tables blob: tables back to back from offset 0, then zero padding.
pub fn tables(blob: &[u8]) -> Result<Vec<AcpiTable>, AcpiError> {
    if blob.len() > MAX_BLOB {
        return Err(AcpiError::TooLarge(blob.len()));
    }
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(sig) = blob.get(at..at + 4) {
        if !sig.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            break;
        }
        let signature = String::from_utf8_lossy(sig).into_owned();
        let length = le32(blob, at + 4).unwrap_or_default();
        let min = if signature == "FACS" { 8 } else { HEADER_LEN };
        let end = at.checked_add(length as usize).filter(|&e| e <= blob.len());
        let Some(end) = end.filter(|_| length >= min) else {
            return Err(AcpiError::BadLength {
                signature,
                offset: at,
                length,
            });
        };
        if out.len() == MAX_TABLES {
            return Err(AcpiError::TooManyTables);
        }
        out.push(AcpiTable {
            signature,
            offset: at as u32,
            length,
        });
        at = end;
    }
    if out.is_empty() {
        return Err(AcpiError::Empty);
    }
    if let Some(nz) = blob
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b != 0))
    {
        return Err(AcpiError::TrailingData(at + nz));
    }
    Ok(out)
}

/// The three blobs OVMF measures, and whether the RSDP and loader were derived or given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcpiBlobs {
    /// `etc/table-loader`.
    pub loader: Vec<u8>,
    /// `etc/acpi/rsdp`.
    pub rsdp: Vec<u8>,
    /// `etc/acpi/tables`.
    pub tables: Vec<u8>,
    /// The tables found in the blob.
    pub table_list: Vec<AcpiTable>,
    /// The loader was derived from the tables (not given).
    pub loader_derived: bool,
    /// The RSDP was derived from the tables (not given).
    pub rsdp_derived: bool,
}

impl AcpiBlobs {
    /// The tables blob with the RSDP and loader derived from it where not given. The tables blob is walked
    /// either way (a blob that is not QEMU's is refused); the derivation checks the layout it models.
    pub fn new(
        tables_blob: &[u8],
        rsdp: Option<&[u8]>,
        loader: Option<&[u8]>,
    ) -> Result<AcpiBlobs, AcpiError> {
        let list = tables(tables_blob)?;
        if let Some(r) = rsdp {
            check_rsdp(r)?;
        }
        if let Some(l) = loader {
            check_loader(l)?;
        }
        let layout = if rsdp.is_none() || loader.is_none() {
            Some(Layout::check(&list)?)
        } else {
            None
        };
        let (rsdp, rsdp_derived) = match (rsdp, &layout) {
            (Some(r), _) => (r.to_vec(), false),
            (None, Some(l)) => (derive_rsdp(l.rsdt.offset).to_vec(), true),
            (None, None) => (Vec::new(), false),
        };
        let (loader, loader_derived) = match (loader, &layout) {
            (Some(l), _) => (l.to_vec(), false),
            (None, Some(l)) => (derive_loader(&list, l), true),
            (None, None) => (Vec::new(), false),
        };
        Ok(AcpiBlobs {
            loader,
            rsdp,
            tables: tables_blob.to_vec(),
            table_list: list,
            loader_derived,
            rsdp_derived,
        })
    }

    /// The RSDP and loader derived from the tables blob (see the module documentation for the layouts).
    pub fn derive(tables_blob: &[u8]) -> Result<AcpiBlobs, AcpiError> {
        AcpiBlobs::new(tables_blob, None, None)
    }

    /// The three blobs as dumped from a guest.
    pub fn given(tables_blob: &[u8], rsdp: &[u8], loader: &[u8]) -> Result<AcpiBlobs, AcpiError> {
        AcpiBlobs::new(tables_blob, Some(rsdp), Some(loader))
    }

    /// The number of processor entries (Local APIC and x2APIC) in the MADT, when there is one.
    pub fn madt_cpus(&self) -> Option<usize> {
        let t = self.table_list.iter().find(|t| t.signature == "APIC")?;
        let body = self
            .tables
            .get(t.offset as usize..(t.offset as usize).checked_add(t.length as usize)?)?;
        // MADT: header, local APIC address (4), flags (4), then type/length structures.
        let mut at = HEADER_LEN as usize + 8;
        let mut n = 0;
        while let (Some(&kind), Some(&len)) = (body.get(at), body.get(at + 1)) {
            if len < 2 {
                return None;
            }
            if kind == 0 || kind == 9 {
                n += 1;
            }
            at += len as usize;
        }
        Some(n)
    }
}

/// An RSDP as QEMU serves it: "RSD PTR ", 20 bytes (revision 0) or 36 (revision 2).
fn check_rsdp(r: &[u8]) -> Result<(), AcpiError> {
    let problem = if !r.starts_with(b"RSD PTR ") {
        "does not start with \"RSD PTR \"".to_string()
    } else if r.len() != 20 && r.len() != 36 {
        format!("{} bytes, not 20 or 36", r.len())
    } else {
        return Ok(());
    };
    Err(AcpiError::NotQemus {
        file: RSDP_FILE,
        problem,
    })
}

/// A loader as QEMU serves it: 128-byte commands, the first an allocation, zero-padded to 4 KiB multiples.
fn check_loader(l: &[u8]) -> Result<(), AcpiError> {
    let problem = if l.is_empty() || !l.len().is_multiple_of(LOADER_ALIGN) {
        format!("{} bytes, not a multiple of 4096", l.len())
    } else if le32(l, 0) != Some(ALLOCATE) {
        "its first command is not an allocation".to_string()
    } else {
        return Ok(());
    };
    Err(AcpiError::NotQemus {
        file: LOADER_FILE_NAME,
        problem,
    })
}

/// The layout the loader derivation models, with the tables it names.
struct Layout<'a> {
    dsdt: &'a AcpiTable,
    facp: &'a AcpiTable,
    rsdt: &'a AcpiTable,
}

impl<'a> Layout<'a> {
    fn check(list: &'a [AcpiTable]) -> Result<Layout<'a>, AcpiError> {
        let bad = |s: String| AcpiError::Layout(s);
        let sigs: Vec<&str> = list.iter().map(|t| t.signature.as_str()).collect();
        let mut it = list.iter();
        let mut next = it.next();
        if next.is_some_and(|t| t.signature == "FACS") {
            next = it.next();
        }
        let dsdt = next.filter(|t| t.signature == "DSDT").ok_or_else(|| {
            bad(format!(
                "tables {sigs:?} do not start with [FACS,] DSDT, FACP"
            ))
        })?;
        let facp = it
            .next()
            .filter(|t| t.signature == "FACP" && t.length >= 148)
            .ok_or_else(|| {
                bad(format!(
                    "tables {sigs:?} do not start with [FACS,] DSDT, FACP"
                ))
            })?;
        let rest: Vec<&AcpiTable> = it.collect();
        let (rsdt, middle) = rest
            .split_last()
            .filter(|(r, _)| r.signature == "RSDT")
            .ok_or_else(|| bad(format!("tables {sigs:?} do not end with the RSDT")))?;
        if let Some(t) = middle
            .iter()
            .find(|t| !CHECKSUM_ONLY.contains(&t.signature.as_str()))
        {
            return Err(bad(format!(
                "table {} is not one QEMU builds with a checksum alone (modelled: {})",
                t.signature,
                CHECKSUM_ONLY.join(", ")
            )));
        }
        // QEMU's RSDT lists FACP and each table between it and the RSDT (its `table_offsets`); the derived
        // loader has one pointer command per entry, so the entries must be those tables.
        let listed = middle.len() as u32 + 1;
        if rsdt.length != HEADER_LEN + 4 * listed {
            return Err(bad(format!(
                "RSDT length {} is not a header plus {listed} 4-byte entries (FACP and the tables after it)",
                rsdt.length
            )));
        }
        Ok(Layout { dsdt, facp, rsdt })
    }
}

/// QEMU's revision-0 RSDP: "RSD PTR ", checksum 0 (the loader computes it), OEM ID "BOCHS ", revision 0,
/// the RSDT's offset in the tables blob (the loader relocates it).
pub fn derive_rsdp(rsdt_offset: u32) -> [u8; 20] {
    let mut r = [0u8; 20];
    let fields: [&[u8]; 5] = [
        b"RSD PTR ",
        &[0],
        b"BOCHS ",
        &[0],
        &rsdt_offset.to_le_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        for (d, s) in r.iter_mut().skip(at).zip(f) {
            *d = *s;
        }
        at += f.len();
    }
    r
}

/// A loader command being written: 128 bytes, the command number first.
struct Command([u8; COMMAND_LEN], usize);

impl Command {
    fn new(kind: u32) -> Command {
        let mut c = Command([0u8; COMMAND_LEN], 0);
        c.put(&kind.to_le_bytes());
        c
    }
    fn put(&mut self, bytes: &[u8]) {
        for (d, s) in self.0.iter_mut().skip(self.1).zip(bytes) {
            *d = *s;
        }
        self.1 += bytes.len();
    }
    fn name(&mut self, name: &str) {
        let mut field = [0u8; FILE_NAME_LEN];
        for (d, s) in field.iter_mut().zip(name.as_bytes()) {
            *d = *s;
        }
        self.put(&field);
    }
}

fn allocate(file: &str, align: u32, zone: u8) -> Command {
    let mut c = Command::new(ALLOCATE);
    c.name(file);
    c.put(&align.to_le_bytes());
    c.put(&[zone]);
    c
}

fn add_pointer(dest: &str, src: &str, offset: u32, size: u8) -> Command {
    let mut c = Command::new(ADD_POINTER);
    c.name(dest);
    c.name(src);
    c.put(&offset.to_le_bytes());
    c.put(&[size]);
    c
}

fn add_checksum(file: &str, t: &AcpiTable) -> Command {
    let mut c = Command::new(ADD_CHECKSUM);
    c.name(file);
    // The checksum byte is at offset 9 of the header.
    c.put(&(t.offset + 9).to_le_bytes());
    c.put(&t.offset.to_le_bytes());
    c.put(&t.length.to_le_bytes());
    c
}

/// The loader QEMU's i386 `acpi_build` writes for a checked layout: the two allocations (QEMU prepends
/// them, so the RSDP's, made last, comes first), the DSDT's checksum, FACP's pointers to FACS and DSDT
/// (32-bit) and X_DSDT (64-bit) and its checksum, each further table's checksum, one pointer per RSDT
/// entry and the RSDT's checksum, the RSDP's pointer to the RSDT and its checksum; zero-padded to 4 KiB.
fn derive_loader(list: &[AcpiTable], l: &Layout<'_>) -> Vec<u8> {
    let mut cmds = vec![
        allocate(RSDP_FILE, 16, 2),
        allocate(TABLES_FILE, 64, 1),
        add_checksum(TABLES_FILE, l.dsdt),
    ];
    // FIRMWARE_CTRL only when there is a FACS to point to.
    if list.first().is_some_and(|t| t.signature == "FACS") {
        cmds.push(add_pointer(TABLES_FILE, TABLES_FILE, l.facp.offset + 36, 4));
    }
    cmds.push(add_pointer(TABLES_FILE, TABLES_FILE, l.facp.offset + 40, 4));
    cmds.push(add_pointer(
        TABLES_FILE,
        TABLES_FILE,
        l.facp.offset + 140,
        8,
    ));
    cmds.push(add_checksum(TABLES_FILE, l.facp));
    for t in list
        .iter()
        .filter(|t| CHECKSUM_ONLY.contains(&t.signature.as_str()))
    {
        cmds.push(add_checksum(TABLES_FILE, t));
    }
    let entries = (l.rsdt.length - HEADER_LEN) / 4;
    for i in 0..entries {
        cmds.push(add_pointer(
            TABLES_FILE,
            TABLES_FILE,
            l.rsdt.offset + HEADER_LEN + 4 * i,
            4,
        ));
    }
    cmds.push(add_checksum(TABLES_FILE, l.rsdt));
    cmds.push(add_pointer(RSDP_FILE, TABLES_FILE, 16, 4));
    let mut rsdp_sum = Command::new(ADD_CHECKSUM);
    rsdp_sum.name(RSDP_FILE);
    for v in [8u32, 0, 20] {
        rsdp_sum.put(&v.to_le_bytes());
    }
    cmds.push(rsdp_sum);
    let mut out: Vec<u8> = cmds.iter().flat_map(|c| c.0).collect();
    out.resize(out.len().div_ceil(LOADER_ALIGN).max(1) * LOADER_ALIGN, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(sig: &[u8; 4], len: u32) -> Vec<u8> {
        let mut t = vec![0u8; len as usize];
        t[..4].copy_from_slice(sig);
        t[4..8].copy_from_slice(&len.to_le_bytes());
        t
    }

    fn blob(parts: &[(&[u8; 4], u32)], pad: usize) -> Vec<u8> {
        let mut b: Vec<u8> = parts.iter().flat_map(|(s, l)| table(s, *l)).collect();
        b.resize(b.len() + pad, 0);
        b
    }

    #[test]
    fn walk_and_refusals() {
        let b = blob(
            &[
                (b"FACS", 64),
                (b"DSDT", 40),
                (b"FACP", 244),
                (b"APIC", 60),
                (b"RSDT", 44),
            ],
            100,
        );
        let l = tables(&b).unwrap();
        assert_eq!(l.len(), 5);
        assert_eq!(l[4].offset, 64 + 40 + 244 + 60);
        let a = AcpiBlobs::derive(&b).unwrap();
        assert_eq!(a.rsdp.len(), 20);
        assert_eq!(a.loader.len(), 4096);
        assert!(a.rsdp_derived && a.loader_derived);
        // An unknown table in the middle: refused, unless the loader and RSDP are given.
        let b2 = blob(
            &[(b"DSDT", 40), (b"FACP", 244), (b"TPM2", 76), (b"RSDT", 40)],
            0,
        );
        let e = AcpiBlobs::derive(&b2).unwrap_err();
        assert!(
            e.to_string().contains("TPM2") && e.to_string().contains("--acpi-loader"),
            "{e}"
        );
        let rsdp = derive_rsdp(0);
        let mut loader = vec![0u8; 4096];
        loader[0] = 1;
        assert!(AcpiBlobs::given(&b2, &rsdp, &loader).is_ok());
        // Given blobs that are not QEMU's: swapped, truncated.
        let e = AcpiBlobs::given(&b2, &loader, &rsdp)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("etc/acpi/rsdp: does not start with"), "{e}");
        let e = AcpiBlobs::given(&b2, &rsdp, &loader[..100])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("etc/table-loader: 100 bytes"), "{e}");
        let e = AcpiBlobs::given(&b2, &rsdp, &[0u8; 4096])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an allocation"), "{e}");
        assert!(AcpiBlobs::given(&b2, &rsdp[..19], &loader).is_err());
        // No RSDT at the end.
        let b3 = blob(&[(b"DSDT", 40), (b"FACP", 244)], 0);
        assert!(matches!(AcpiBlobs::derive(&b3), Err(AcpiError::Layout(_))));
        // Length past the end, or under the header.
        let mut b4 = blob(&[(b"DSDT", 40)], 0);
        b4[4] = 41;
        assert!(matches!(tables(&b4), Err(AcpiError::BadLength { .. })));
        b4[4] = 8;
        assert!(matches!(tables(&b4), Err(AcpiError::BadLength { .. })));
        // Garbage after the tables; nothing at all.
        let mut b5 = blob(&[(b"DSDT", 40)], 8);
        b5[44] = 0xff;
        assert_eq!(tables(&b5), Err(AcpiError::TrailingData(44)));
        assert_eq!(tables(&[0u8; 64]), Err(AcpiError::Empty));
        assert_eq!(tables(&[]), Err(AcpiError::Empty));
    }

    /// Every single-byte change and every truncation of a valid blob gives a result or an error, never a panic.
    #[test]
    fn mutations_never_panic() {
        let mut b = blob(
            &[
                (b"FACS", 64),
                (b"DSDT", 40),
                (b"FACP", 244),
                (b"APIC", 60),
                (b"RSDT", 44),
            ],
            64,
        );
        // A MADT body: two local APIC entries, then a zero-length entry.
        b[64 + 40 + 244 + 44..64 + 40 + 244 + 52].copy_from_slice(&[0, 8, 0, 0, 1, 0, 0, 0]);
        for i in 0..b.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut m = b.clone();
                m[i] = v;
                if let Ok(a) = AcpiBlobs::derive(&m) {
                    let _ = a.madt_cpus();
                }
            }
            let _ = AcpiBlobs::derive(&b[..i]);
        }
    }

    /// The RSDT lists FACP and each checksum-only table once (QEMU's `table_offsets`): an RSDT with more or
    /// fewer entries is not the modelled layout, and its length cannot make the derived loader grow past one
    /// pointer command per table.
    #[test]
    fn rsdt_entries_are_the_tables() {
        let layout = |rsdt_len: u32| {
            blob(
                &[
                    (b"FACS", 64),
                    (b"DSDT", 40),
                    (b"FACP", 244),
                    (b"APIC", 60),
                    (b"RSDT", rsdt_len),
                ],
                0,
            )
        };
        assert!(AcpiBlobs::derive(&layout(44)).is_ok());
        for len in [36, 40, 48, 36 + 4 * (1 << 20)] {
            let e = AcpiBlobs::derive(&layout(len)).unwrap_err();
            assert!(
                matches!(&e, AcpiError::Layout(m) if m.contains("RSDT")),
                "{len}: {e}"
            );
        }
    }

    #[test]
    fn rsdp_shape() {
        let r = derive_rsdp(0x233b);
        assert_eq!(&r[..8], b"RSD PTR ");
        assert_eq!(&r[9..15], b"BOCHS ");
        assert_eq!(&r[16..], &[0x3b, 0x23, 0, 0]);
    }
}
