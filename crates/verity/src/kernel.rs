//! The three ways a root hash reaches a measured kernel command line.
//!
//! * **Kata Containers** `kernel_verity_params`: `root_hash=<hex>,salt=<hex>,data_blocks=<n>,
//!   data_block_size=<n>,hash_block_size=<n>`, the line Kata's image builder
//!   (`tools/osbuilder/image-builder`) derives from `veritysetup format --no-superblock` output. Kata's runtime
//!   turns it into `dm-mod.create="dm-verity,,,ro,0 <sectors> verity 1 /dev/vda1 /dev/vda2 <dbs> <hbs> <n> 0
//!   sha256 <root> <salt>"` (runtime-rs `kernel_param.rs`), hard-coding format 1, SHA-256 and hash start 0,
//!   so it only describes trees made that way; for others it is `None`.
//! * **device-mapper** `dm-mod.create=` (Linux `Documentation/admin-guide/device-mapper/dm-init.rst`) with the
//!   verity table libcryptsetup would load (`get_dm_verity_params()` in `lib/libdevmapper.c`):
//!   `<format> <data_dev> <hash_dev> <data_bs> <hash_bs> <data_blocks> <hash_start> <alg> <root> <salt|->`
//!   then optional arguments such as `use_fec_from_device <dev> fec_start <blk> fec_blocks <n> fec_roots <r>`.
//! * **systemd**: `roothash=<hex>` (systemd-veritysetup-generator). With GPT auto-discovery, systemd finds the
//!   data and hash partitions by partition UUID: systemd-repart (`partition_format_verity_hash()` in
//!   `src/partition/repart.c`, v253 through v255+) copies the *first* 16 bytes of the root hash verbatim into
//!   the data partition's UUID and the *last* 16 bytes into the hash partition's UUID (`memcpy`, no UUID
//!   version/variant bits are set), and `dissect_image()` in `src/shared/dissect-image.c` matches them the same
//!   way. The test suite checks this against systemd-repart 254 itself. Needs a digest of at least 32 bytes
//!   (repart asserts it).

use yardstick_common::hash::Algorithm;

use crate::params::{HashType, VerityParams};
use yardstick_common::guid::Guid;

/// Device paths for the dm table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmDevices {
    /// Data device as the guest sees it (Kata: `/dev/vda1`).
    pub data: String,
    /// Hash device (Kata: `/dev/vda2`).
    pub hash: String,
    /// FEC device, when FEC is used.
    pub fec: Option<String>,
}

impl Default for DmDevices {
    fn default() -> Self {
        DmDevices {
            data: "/dev/vda1".into(),
            hash: "/dev/vda2".into(),
            fec: None,
        }
    }
}

/// FEC arguments of the dm table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmFec {
    /// Parity bytes per codeword.
    pub roots: u32,
    /// First FEC block on the FEC device (`fec_offset / hash_block_size`).
    pub start_block: u64,
    /// Blocks covered by FEC (data plus hash area).
    pub blocks: u64,
}

/// Every command-line form of one verity device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KernelParams {
    /// Kata's `kernel_verity_params`, when the tree has the shape Kata's runtime assumes.
    pub kata_verity_params: Option<String>,
    /// The dm-verity target line: `0 <sectors> verity <args>`.
    pub dm_table: String,
    /// `dm-mod.create="<name>,,,ro,<table>"` (boot with `root=/dev/dm-0`).
    pub dm_mod_create: String,
    /// `roothash=<hex>` for systemd-veritysetup-generator.
    pub systemd_roothash: String,
    /// GPT partition UUID systemd expects on the data partition.
    pub systemd_data_partuuid: Option<String>,
    /// GPT partition UUID systemd expects on the hash partition.
    pub systemd_hash_partuuid: Option<String>,
}

/// The dm-verity target arguments (after `verity`).
pub fn verity_args(
    p: &VerityParams,
    root_hex: &str,
    dev: &DmDevices,
    fec: Option<DmFec>,
) -> String {
    let mut s = format!(
        "{} {} {} {} {} {} {} {} {} {}",
        p.hash_type.number(),
        dev.data,
        dev.hash,
        p.data_block_size,
        p.hash_block_size,
        p.data_blocks,
        p.hash_start_block(),
        p.algorithm.name(),
        root_hex,
        p.salt.display()
    );
    if let (Some(f), Some(fec_dev)) = (fec, &dev.fec) {
        s += &format!(
            " 8 use_fec_from_device {fec_dev} fec_start {} fec_blocks {} fec_roots {}",
            f.start_block, f.blocks, f.roots
        );
    }
    s
}

/// Builds every form for a tree with parameters `p` and root hash `root`.
pub fn kernel_params(
    p: &VerityParams,
    root: &[u8],
    dev: &DmDevices,
    fec: Option<DmFec>,
    dm_name: &str,
) -> KernelParams {
    let root_hex = yardstick_common::hex::encode(root);
    let sectors = p.data_blocks.saturating_mul(u64::from(p.data_block_size)) / 512;
    let dm_table = format!("0 {sectors} verity {}", verity_args(p, &root_hex, dev, fec));
    let kata_ok = p.hash_type == HashType::Normal
        && p.algorithm == Algorithm::Sha256
        && p.hash_start_block() == 0;
    let kata_verity_params = kata_ok.then(|| {
        format!(
            "root_hash={root_hex},salt={},data_blocks={},data_block_size={},hash_block_size={}",
            p.salt.display(),
            p.data_blocks,
            p.data_block_size,
            p.hash_block_size
        )
    });
    // systemd-veritysetup-generator: the data partition UUID is the root hash's first 128 bits, the hash
    // partition's its last 128 bits (only for root hashes of at least 256 bits).
    let (data_uuid, hash_uuid) = if root.len() >= 32 {
        (Guid::from_prefix(root), Guid::from_suffix(root))
    } else {
        (None, None)
    };
    KernelParams {
        kata_verity_params,
        dm_mod_create: format!("dm-mod.create=\"{dm_name},,,ro,{dm_table}\""),
        dm_table,
        systemd_roothash: format!("roothash={root_hex}"),
        systemd_data_partuuid: data_uuid.map(|g| g.to_string()),
        systemd_hash_partuuid: hash_uuid.map(|g| g.to_string()),
    }
}

/// Why a kernel command-line form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A field is missing.
    #[error("kernel_verity_params: {0}= is missing")]
    Missing(&'static str),
    /// A field Kata's runtime does not know, or one given twice.
    #[error("kernel_verity_params: unknown or repeated field {0:?}")]
    Field(String),
    /// A value that does not parse.
    #[error("{field}: {value:?} is not {what}")]
    Value {
        /// The field (`root_hash`, `roothash`, ...).
        field: &'static str,
        /// The value given.
        value: String,
        /// What it should be.
        what: &'static str,
    },
}

/// Kata's `kernel_verity_params` (`root_hash=<hex>,salt=<hex>,data_blocks=<n>,data_block_size=<n>,
/// hash_block_size=<n>`), read back: what Kata's runtime turns into a dm table with format 1, SHA-256, no
/// superblock and hash start 0 (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KataVerityParams {
    /// Root hash.
    #[serde(serialize_with = "hex_bytes")]
    pub root_hash: Vec<u8>,
    /// Salt (may be empty).
    #[serde(serialize_with = "hex_bytes")]
    pub salt: Vec<u8>,
    /// Data blocks covered.
    pub data_blocks: u64,
    /// Data block size.
    pub data_block_size: u32,
    /// Hash block size.
    pub hash_block_size: u32,
}

fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&yardstick_common::hex::encode(b))
}

fn hex_value(field: &'static str, v: &str) -> Result<Vec<u8>, ParseError> {
    yardstick_common::hex::decode(v).map_err(|_| ParseError::Value {
        field,
        value: v.into(),
        what: "hex",
    })
}

impl KataVerityParams {
    /// Parses the comma-separated form; every field is required once (as Kata's runtime-rs requires).
    pub fn parse(s: &str) -> Result<KataVerityParams, ParseError> {
        let (mut root, mut salt, mut blocks, mut dbs, mut hbs) = (None, None, None, None, None);
        for kv in s.trim().split(',').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let num = |field: &'static str| {
                v.parse::<u64>().map_err(|_| ParseError::Value {
                    field,
                    value: v.into(),
                    what: "a decimal number",
                })
            };
            let size = |field: &'static str| {
                num(field).and_then(|n| {
                    u32::try_from(n).map_err(|_| ParseError::Value {
                        field,
                        value: v.into(),
                        what: "a block size",
                    })
                })
            };
            let slot_was_empty = match k {
                "root_hash" => root.replace(hex_value("root_hash", v)?).is_none(),
                "salt" => salt.replace(hex_value("salt", v)?).is_none(),
                "data_blocks" => blocks.replace(num("data_blocks")?).is_none(),
                "data_block_size" => dbs.replace(size("data_block_size")?).is_none(),
                "hash_block_size" => hbs.replace(size("hash_block_size")?).is_none(),
                _ => false,
            };
            if !slot_was_empty {
                return Err(ParseError::Field(k.into()));
            }
        }
        Ok(KataVerityParams {
            root_hash: root.ok_or(ParseError::Missing("root_hash"))?,
            salt: salt.ok_or(ParseError::Missing("salt"))?,
            data_blocks: blocks.ok_or(ParseError::Missing("data_blocks"))?,
            data_block_size: dbs.ok_or(ParseError::Missing("data_block_size"))?,
            hash_block_size: hbs.ok_or(ParseError::Missing("hash_block_size"))?,
        })
    }

    /// The tree parameters these describe (format 1, SHA-256, no superblock, tree at offset 0 of the hash
    /// device), validated as veritysetup validates them.
    pub fn params(&self) -> Result<VerityParams, crate::Error> {
        let p = VerityParams::new(
            Algorithm::Sha256,
            self.data_block_size,
            self.hash_block_size,
            self.data_blocks,
            crate::params::Salt::new(self.salt.clone())?,
        )
        .with_superblock(false);
        p.validate()?;
        Ok(p)
    }
}

/// The root hashes systemd reads from a kernel command line: `roothash=` (systemd-veritysetup-generator, the
/// root partition) and `usrhash=` (the /usr partition). When a key is given more than once the last one counts,
/// as systemd's `proc_cmdline_parse()` callback overwrites it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CmdlineHashes {
    /// `roothash=`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_hex")]
    pub roothash: Option<Vec<u8>>,
    /// `usrhash=`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_hex")]
    pub usrhash: Option<Vec<u8>>,
}

fn opt_hex<S: serde::Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => hex_bytes(b, s),
        None => s.serialize_none(),
    }
}

/// Splits a kernel command line into words as the kernel's `next_arg()` does: whitespace separates, double
/// quotes group (and are dropped).
pub fn cmdline_words(cmdline: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in cmdline.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_ascii_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// The `roothash=` and `usrhash=` of `cmdline` (hex; a value that is not hex is an error).
pub fn cmdline_hashes(cmdline: &str) -> Result<CmdlineHashes, ParseError> {
    let mut h = CmdlineHashes::default();
    for w in cmdline_words(cmdline) {
        if let Some(v) = w.strip_prefix("roothash=") {
            h.roothash = Some(hex_value("roothash", v)?);
        } else if let Some(v) = w.strip_prefix("usrhash=") {
            h.usrhash = Some(hex_value("usrhash", v)?);
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Salt;

    /// Kata's shape: --no-superblock, sha256, 4 KiB blocks, rootfs on vda1 and tree on vda2. The expected
    /// strings follow the format strings of Kata's image builder and runtime-rs `kernel_param.rs`.
    #[test]
    fn kata_shape() {
        let p = VerityParams {
            hash_type: HashType::Normal,
            algorithm: Algorithm::Sha256,
            data_block_size: 4096,
            hash_block_size: 4096,
            data_blocks: 25600,
            salt: Salt::new(vec![0xab; 32]).unwrap(),
            hash_offset: 0,
            data_offset: 0,
            superblock: false,
        };
        let root = [0x11u8; 32];
        let k = kernel_params(&p, &root, &DmDevices::default(), None, "dm-verity");
        let r = "11".repeat(32);
        let salt = "ab".repeat(32);
        assert_eq!(
            k.kata_verity_params.as_deref(),
            Some(
                format!(
                    "root_hash={r},salt={salt},data_blocks=25600,data_block_size=4096,hash_block_size=4096"
                )
                .as_str()
            )
        );
        assert_eq!(
            k.dm_mod_create,
            format!(
                "dm-mod.create=\"dm-verity,,,ro,0 204800 verity 1 /dev/vda1 /dev/vda2 4096 4096 25600 0 sha256 {r} {salt}\""
            )
        );
        assert_eq!(
            k.systemd_data_partuuid.as_deref(),
            Some("11111111-1111-1111-1111-111111111111")
        );
        // A superblock moves the tree to block 1: Kata's fixed "0" hash start would be wrong.
        let with_sb = VerityParams {
            superblock: true,
            ..p
        };
        assert!(
            kernel_params(&with_sb, &root, &DmDevices::default(), None, "v")
                .kata_verity_params
                .is_none()
        );
    }

    #[test]
    fn parses_back_what_it_formats() {
        let p = VerityParams::new(
            Algorithm::Sha256,
            4096,
            4096,
            25600,
            Salt::new(vec![0xab; 32]).unwrap(),
        )
        .with_superblock(false);
        let root = [0x11u8; 32];
        let k = kernel_params(&p, &root, &DmDevices::default(), None, "v");
        let back = KataVerityParams::parse(&k.kata_verity_params.unwrap()).unwrap();
        assert_eq!(back.root_hash, root);
        assert_eq!(back.params().unwrap(), p);
        for (bad, what) in [
            (
                "root_hash=11,salt=,data_blocks=1,data_block_size=4096",
                "hash_block_size",
            ),
            (
                "root_hash=zz,salt=,data_blocks=1,data_block_size=4096,hash_block_size=4096",
                "hex",
            ),
            ("root_hash=11,root_hash=11", "repeated"),
            ("root_hash=11,salt=,data_blocks=x", "decimal"),
            ("bogus=1", "unknown"),
        ] {
            let e = KataVerityParams::parse(bad).unwrap_err().to_string();
            assert!(e.contains(what), "{bad}: {e}");
        }
        let odd = KataVerityParams::parse(
            "root_hash=11,salt=,data_blocks=1,data_block_size=1000,hash_block_size=4096",
        )
        .unwrap();
        assert!(odd.params().is_err());
    }

    #[test]
    fn cmdline_root_hashes() {
        let h = cmdline_hashes(
            "console=ttyS0 roothash=aa \"x=\"y z\"\" roothash=0102 usrhash=ff quiet",
        )
        .unwrap();
        assert_eq!(h.roothash, Some(vec![1, 2]));
        assert_eq!(h.usrhash, Some(vec![0xff]));
        assert_eq!(cmdline_words("a \"b c\"  d"), ["a", "b c", "d"]);
        assert!(cmdline_hashes("roothash=xyz").is_err());
        assert_eq!(cmdline_hashes("ro").unwrap(), CmdlineHashes::default());
    }
}
