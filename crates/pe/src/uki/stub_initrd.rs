//! The initrd systemd-stub hands to the kernel: the UKI's `.initrd` followed by the cpio archives the stub
//! generates itself at boot (today: `.pcrsig` as `/.extra/tpm2-pcr-signature.json` and `.pcrpkey` as
//! `/.extra/tpm2-pcr-public-key.pem`), in the stub's exact framing. The Linux EFI stub measures that whole
//! buffer into PCR 9, so a prediction must hash exactly these bytes.
//!
//! Read from systemd's `src/boot/efi/cpio.c` (`pack_cpio_literal`, `pack_cpio_prefix`, `pack_cpio_dir`,
//! `pack_cpio_one`, `pack_cpio_trailer`) and `stub.c` (`combine_initrd`) of v252 (Debian 12's 252.39) and v254
//! (bookworm-backports' 254.26), whose framing and order are the same:
//!
//! * each generated archive is a newc ("070701") cpio of its own: the directory `.extra` (inode 1, mode
//!   `040555`), the file (inode 2, mode `0100444`), then a `TRAILER!!!` entry; uid, gid, mtime, device numbers
//!   and check are 0, `nlink` is 1 for the directory too; header words are lowercase hex, except the trailer,
//!   which is a fixed string whose name size is spelled `0000000B`; names and data are zero-padded to 4 bytes;
//! * `.initrd` comes first, zero-padded to a multiple of 4, then the archives in the order credentials, global
//!   credentials, sysexts (ESP drop-ins, see [`StubExtras`]), `.pcrsig`, `.pcrpkey`; with no generated archive
//!   the `.initrd` is passed as it is (no padding);
//! * neither archive is measured by the stub (`.pcrsig` signs the measurements, `.pcrpkey` is already in PCR 11).
//!
//! Stubs of systemd 255 and later add archives (`.ucode` first, confexts, and from 258 `.osrel`/`.profile`
//! copies) per release: [`StubGeneration::Current`] is refused here rather than guessed.
//!
//! This is not `yardstick-image`'s cpio writer on purpose: that one writes uppercase hex and `nlink` 2 for
//! directories, like GNU cpio; the stub's bytes differ, and a digest must match the stub's.
//!
//! ```
//! use yardstick_pe::uki::stub_initrd::{StubCpio, pack_cpio_literal};
//! let a = pack_cpio_literal(StubCpio::PcrPublicKey, b"key\n");
//! assert!(a.starts_with(b"070701000000010000416d"));
//! assert!(a.ends_with(b"TRAILER!!!\0\0\0\0"));
//! assert_eq!(a.len() % 4, 0);
//! ```

use std::borrow::Cow;
use std::fmt;

use super::{Section, StubGeneration, Uki, UkiError};

/// A cpio archive systemd-stub generates and appends to the initrd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum StubCpio {
    /// `.pcrsig` as `/.extra/tpm2-pcr-signature.json`.
    #[serde(rename = "pcrsig")]
    PcrSignature,
    /// `.pcrpkey` as `/.extra/tpm2-pcr-public-key.pem`.
    #[serde(rename = "pcrpkey")]
    PcrPublicKey,
}

impl StubCpio {
    /// Every kind, in the order the stub appends them.
    pub const ALL: [StubCpio; 2] = [StubCpio::PcrSignature, StubCpio::PcrPublicKey];

    /// The UKI section it is made from.
    pub fn section(self) -> Section {
        match self {
            StubCpio::PcrSignature => Section::Pcrsig,
            StubCpio::PcrPublicKey => Section::Pcrpkey,
        }
    }

    /// The file's name in the archive's directory.
    pub fn file_name(self) -> &'static str {
        match self {
            StubCpio::PcrSignature => "tpm2-pcr-signature.json",
            StubCpio::PcrPublicKey => "tpm2-pcr-public-key.pem",
        }
    }

    /// The directory the stub puts the file in (without a leading `/`).
    pub fn dir(self) -> &'static str {
        ".extra"
    }

    /// Where the file appears in the initrd (`/.extra/tpm2-pcr-signature.json`).
    pub fn path(self) -> String {
        format!("/{}/{}", self.dir(), self.file_name())
    }

    /// The PCR the stub extends with the archive: `None`, neither is measured.
    pub fn measured_into(self) -> Option<u32> {
        None
    }

    fn bit(self) -> u8 {
        match self {
            StubCpio::PcrSignature => 1,
            StubCpio::PcrPublicKey => 2,
        }
    }
}

impl fmt::Display for StubCpio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A set of [`StubCpio`]s (small and `Copy`, so that an event kind can carry it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StubCpioSet(u8);

impl StubCpioSet {
    /// Adds `c`.
    pub fn insert(&mut self, c: StubCpio) {
        self.0 |= c.bit();
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: StubCpio) -> bool {
        self.0 & c.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in the order the stub appends them.
    pub fn iter(self) -> impl Iterator<Item = StubCpio> {
        StubCpio::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// A file on the ESP that systemd-stub would pick up and pack into an archive of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspFile {
    /// The file name (the stub keeps ASCII names of up to 255 characters and sorts them).
    pub name: String,
    /// Its contents.
    pub data: Vec<u8>,
}

/// Files on the ESP next to the UKI that the stub turns into initrd archives (`<uki>.extra.d/*.cred`,
/// `/loader/credentials/*.cred`, `<uki>.extra.d/*.raw`). Empty by default, which is what a UKI booted
/// straight from `\EFI\BOOT\BOOTX64.EFI` with nothing beside it gets. The fields are the input a disk reader
/// fills; predicting with them is not modelled yet ([`combined_initrd`] refuses non-empty extras).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StubExtras {
    /// `<uki>.extra.d/*.cred` (PCR 12, `/.extra/credentials/`).
    pub credentials: Vec<EspFile>,
    /// `/loader/credentials/*.cred` (PCR 12, `/.extra/global_credentials/`).
    pub global_credentials: Vec<EspFile>,
    /// `<uki>.extra.d/*.raw` (PCR 13, `/.extra/sysext/`).
    pub sysexts: Vec<EspFile>,
}

impl StubExtras {
    /// Whether there is nothing on the ESP for the stub to pick up.
    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty() && self.global_credentials.is_empty() && self.sysexts.is_empty()
    }
}

/// The initrd the kernel receives, in pieces that concatenate to it (the `.initrd` section borrowed, not
/// copied).
#[derive(Debug, Clone)]
pub struct CombinedInitrd<'a> {
    /// The `.initrd` section as loaded (empty when absent).
    pub initrd: Cow<'a, [u8]>,
    /// Zero bytes the stub appends to `.initrd` (to a multiple of 4) when it appends archives.
    pub padding: usize,
    /// The generated archives, in order.
    pub archives: Vec<(StubCpio, Vec<u8>)>,
}

impl CombinedInitrd<'_> {
    /// The archives the stub generates.
    pub fn generated(&self) -> StubCpioSet {
        let mut s = StubCpioSet::default();
        for (c, _) in &self.archives {
            s.insert(*c);
        }
        s
    }

    /// The pieces whose concatenation is what the kernel receives (`.initrd`, padding, archives).
    pub fn parts(&self) -> Vec<&[u8]> {
        const ZEROS: [u8; 3] = [0; 3];
        let mut v: Vec<&[u8]> = vec![&self.initrd];
        v.push(ZEROS.get(..self.padding).unwrap_or_default());
        v.extend(self.archives.iter().map(|(_, a)| &a[..]));
        v.retain(|p| !p.is_empty());
        v
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.parts().iter().map(|p| p.len()).sum()
    }

    /// Whether the kernel receives no initrd at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, concatenated.
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts().concat()
    }
}

/// Which archives the stub of `uki`'s generation generates from the UKI itself (`.pcrsig`, `.pcrpkey`
/// present and non-empty), whether or not the generation is modelled.
pub fn generated_from_uki(uki: &Uki<'_>) -> StubCpioSet {
    let mut s = StubCpioSet::default();
    for c in StubCpio::ALL {
        let known = uki.generation().sections().contains(&c.section());
        if known && uki.payload(c.section()).is_some_and(|b| !b.is_empty()) {
            s.insert(c);
        }
    }
    s
}

/// The initrd systemd-stub passes to the kernel for `uki` with `extras` on the ESP.
pub fn combined_initrd<'a>(
    uki: &Uki<'a>,
    extras: &StubExtras,
) -> Result<CombinedInitrd<'a>, UkiError> {
    if !extras.is_empty() {
        return Err(UkiError::NotModelled(
            "credentials and system extensions on the ESP".into(),
        ));
    }
    let initrd = uki.payload(Section::Initrd).unwrap_or_default();
    let generated = generated_from_uki(uki);
    if generated.is_empty() {
        return Ok(CombinedInitrd {
            initrd,
            padding: 0,
            archives: Vec::new(),
        });
    }
    if uki.generation() == StubGeneration::Current {
        return Err(UkiError::NotModelled(format!(
            "the initrd archives systemd-stub 255 and later generate (for {})",
            generated
                .iter()
                .map(|c| c.section().name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut archives = Vec::new();
    for c in generated.iter() {
        let data = uki.payload(c.section()).unwrap_or_default();
        if u32::try_from(data.len()).is_err() {
            return Err(UkiError::Layout(format!("{} is over 4 GiB", c.section())));
        }
        archives.push((c, pack_cpio_literal(c, &data)));
    }
    let padding = (4 - initrd.len() % 4) % 4;
    Ok(CombinedInitrd {
        initrd,
        padding,
        archives,
    })
}

/// systemd-stub's `pack_cpio_literal()` for `kind` with contents `data` (at most 4 GiB - 1; longer data gives a
/// size field of its low 32 bits, which [`combined_initrd`] refuses before): the `.extra` directory, the file,
/// the trailer.
pub fn pack_cpio_literal(kind: StubCpio, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 512);
    let mut inode = 1;
    // pack_cpio_prefix: every leading component gets its own 0555 directory, the last one `dir_mode` (0555).
    let dir = kind.dir();
    for (i, _) in dir.match_indices('/').filter(|(i, _)| *i > 0) {
        push_dir(
            &mut out,
            dir.get(..i).unwrap_or_default(),
            0o555,
            &mut inode,
        );
    }
    push_dir(&mut out, dir, 0o555, &mut inode);
    push_file(&mut out, dir, kind.file_name(), 0o444, data, &mut inode);
    out.extend_from_slice(TRAILER);
    out
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;

/// The stub's trailer record, a fixed string (note the uppercase `B`), NUL-padded to 124 bytes.
const TRAILER: &[u8] = b"070701\
00000000000000000000000000000000\
00000001\
000000000000000000000000000000000000000000000000\
0000000B\
00000000\
TRAILER!!!\0\0\0\0";

/// A newc header: magic then 13 words in lowercase hex (the stub's `write_cpio_word`).
fn push_header(out: &mut Vec<u8>, ino: u32, mode: u32, size: u32, namesize: u32) {
    out.extend_from_slice(b"070701");
    // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    for w in [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, namesize, 0] {
        out.extend_from_slice(format!("{w:08x}").as_bytes());
    }
}

/// Zero bytes up to a multiple of 4 from the archive's start (`pad4`).
fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

fn push_dir(out: &mut Vec<u8>, path: &str, mode: u32, inode: &mut u32) {
    push_header(out, *inode, mode | S_IFDIR, 0, path.len() as u32 + 1);
    *inode += 1;
    out.extend_from_slice(path.as_bytes());
    out.push(0);
    pad4(out);
}

fn push_file(out: &mut Vec<u8>, dir: &str, name: &str, mode: u32, data: &[u8], inode: &mut u32) {
    let namesize = (dir.len() + name.len() + 2) as u32;
    push_header(out, *inode, mode | S_IFREG, data.len() as u32, namesize);
    *inode += 1;
    out.extend_from_slice(dir.as_bytes());
    out.push(b'/');
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trailer constant is the stub's 124-byte string: 110-byte header, name, NULs.
    #[test]
    fn trailer_shape() {
        assert_eq!(TRAILER.len(), 124);
        assert_eq!(TRAILER.get(94..102), Some(&b"0000000B"[..]));
        assert_eq!(TRAILER.get(38..46), Some(&b"00000001"[..]));
        assert_eq!(TRAILER.get(110..120), Some(&b"TRAILER!!!"[..]));
    }

    /// Field by field against cpio.c: `.extra` directory (inode 1, 040555, nlink 1, namesize 7, 117 -> 120
    /// bytes), the file (inode 2, 0100444, namesize 6 + 23 + 2 = 31, 141 -> 144, data padded), the trailer.
    #[test]
    fn literal_layout() {
        let a = pack_cpio_literal(StubCpio::PcrSignature, b"{\"x\":1}");
        let h =
            |o: usize, w: usize| std::str::from_utf8(&a[o + 6 + 8 * w..o + 14 + 8 * w]).unwrap();
        assert_eq!(&a[..6], b"070701");
        assert_eq!(
            (0..13).map(|w| h(0, w)).collect::<Vec<_>>(),
            [
                "00000001", "0000416d", "00000000", "00000000", "00000001", "00000000", "00000000",
                "00000000", "00000000", "00000000", "00000000", "00000007", "00000000"
            ]
        );
        assert_eq!(&a[110..120], b".extra\0\0\0\0");
        assert_eq!(
            (0..13).map(|w| h(120, w)).collect::<Vec<_>>(),
            [
                "00000002", "00008124", "00000000", "00000000", "00000001", "00000000", "00000007",
                "00000000", "00000000", "00000000", "00000000", "0000001f", "00000000"
            ]
        );
        assert_eq!(&a[230..264], b".extra/tpm2-pcr-signature.json\0\0\0\0");
        assert_eq!(&a[264..272], b"{\"x\":1}\0");
        assert_eq!(&a[272..], TRAILER);
    }
}
