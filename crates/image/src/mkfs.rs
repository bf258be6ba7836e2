//! Root filesystem images made with the standard Debian tools, called so that the same tree gives the same
//! bytes.
//!
//! | type | tool (package) | reproducibility |
//! |---|---|---|
//! | erofs | `mkfs.erofs` (erofs-utils) | `-T <epoch>` (build time and every inode time), `-U <uuid>`, `-E noinline_data` |
//! | ext4 | `mkfs.ext4 -d` (e2fsprogs) | `E2FSPROGS_FAKE_TIME=<epoch>` (1 for epoch 0), `-U <uuid>`, `-E hash_seed=<uuid>`, a fixed mke2fs.conf, then every inode time rewritten (the private `ext4times` module) |
//! | squashfs | `mksquashfs` (squashfs-tools) | `-mkfs-time <epoch> -all-time <epoch>`, `-noappend` |
//!
//! `-E noinline_data` matters for dm-verity: erofs otherwise stores small files inside their inode block, so
//! a corrupted file would break the directory metadata around it instead of only its own reads. The ext4
//! image has no journal (it is mounted read-only through dm-verity, a journal could never be replayed).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::guid::Guid;

pub use yardstick_refvals::FsType;

/// Why a filesystem image could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MkfsError {
    /// The tool is not installed.
    #[error("{tool} not found: install the Debian package {package} (apt-get install {package})")]
    MissingTool {
        /// Program name.
        tool: &'static str,
        /// Debian package providing it.
        package: &'static str,
    },
    /// The tool failed.
    #[error("{tool} failed ({status}): {stderr}")]
    Failed {
        /// Program name.
        tool: &'static str,
        /// Exit status.
        status: String,
        /// Its last lines of error output.
        stderr: String,
    },
    /// A file name the tool cannot store (found before running it).
    #[error(
        "root filesystem: {path}: file name of {len} bytes; {tool} handles at most {max} (rename it, or use another --fs)"
    )]
    NameTooLong {
        /// The file, as a path in the filesystem (`/etc/...`).
        path: String,
        /// Its name's length in bytes.
        len: usize,
        /// Program name.
        tool: &'static str,
        /// The longest name it stores.
        max: usize,
    },
    /// Reading the tree or writing the image failed.
    // The cause is the error's source: `{:#}` (the CLI's one-line printer) appends it after ": ".
    #[error("{path}")]
    Io {
        /// The path involved.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Parameters that make the output reproducible.
#[derive(Debug, Clone)]
pub struct MkfsOptions {
    /// Every timestamp written (SOURCE_DATE_EPOCH).
    pub epoch: u64,
    /// Filesystem UUID (erofs, ext4).
    pub uuid: Guid,
    /// Volume label (ext4 only; at most 16 bytes).
    pub label: String,
}

/// Program and Debian package for a filesystem type.
pub fn tool(fs: FsType) -> (&'static str, &'static str) {
    match fs {
        FsType::Erofs => ("mkfs.erofs", "erofs-utils"),
        FsType::Ext4 => ("mkfs.ext4", "e2fsprogs"),
        FsType::Squashfs => ("mksquashfs", "squashfs-tools"),
    }
}

/// Finds `name` on `PATH`, then in `/usr/sbin` and `/sbin` (mkfs tools live there and are often not on a
/// user's PATH).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// mke2fs configuration: e2fsprogs 1.47's ext4 defaults without `metadata_csum` (so that [`crate::ext4times`]
/// can rewrite inode times without recomputing checksums; dm-verity covers every block anyway), fixed here. Every usage type mke2fs may pick by size
/// is defined (empty) so that it does not warn.
const MKE2FS_CONF: &str = "[defaults]
\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
\tdefault_mntopts = acl,user_xattr
\tblocksize = 4096
\tinode_size = 256
\tinode_ratio = 16384

[fs_types]
\text4 = {
\t\tfeatures = has_journal,extent,huge_file,flex_bg,64bit,dir_nlink,extra_isize
\t}
\tfloppy = {
\t}
\tsmall = {
\t}
\tdefault = {
\t}
\tbig = {
\t}
\thuge = {
\t}
";

fn run(tool: &'static str, cmd: &mut Command) -> Result<(), MkfsError> {
    let out = cmd.output().map_err(|e| MkfsError::Io {
        path: tool.to_string(),
        source: e,
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = tail.len().saturating_sub(3);
    Err(MkfsError::Failed {
        tool,
        status: out.status.to_string(),
        stderr: tail.get(start..).unwrap_or_default().join(" / "),
    })
}

/// The longest file name `mkfs.erofs` stores: erofs allows 255 bytes (`EROFS_NAME_LEN`), but erofs-utils
/// keeps names in a buffer of that size with its terminating NUL, cuts a 255-byte name to 254 and then fails
/// to find the file ("Could not format the device: No such file or directory").
const EROFS_UTILS_NAME_MAX: usize = 254;

/// Refuses a tree with a file name longer than `max` bytes, naming the first one found.
fn check_name_lengths(root: &Path, tool: &'static str, max: usize) -> Result<(), MkfsError> {
    use std::os::unix::ffi::OsStrExt as _;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| io_err(&d, e))? {
            let e = e.map_err(|e| io_err(&d, e))?;
            let len = e.file_name().as_bytes().len();
            if len > max {
                let inside = e.path();
                let inside = inside.strip_prefix(root).unwrap_or(&inside);
                return Err(MkfsError::NameTooLong {
                    path: Path::new("/").join(inside).display().to_string(),
                    len,
                    tool,
                    max,
                });
            }
            if e.file_type()
                .map_err(|err| io_err(&e.path(), err))?
                .is_dir()
            {
                stack.push(e.path());
            }
        }
    }
    Ok(())
}

/// Sum of file sizes and inode count of a tree (not following symlinks), to size an ext4 image.
fn tree_usage(root: &Path) -> std::io::Result<(u64, u64)> {
    let mut bytes = 0u64;
    let mut inodes = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let md = std::fs::symlink_metadata(e.path())?;
            inodes += 1;
            // Whole blocks, plus the block a long symlink target or a directory takes.
            bytes += md.len().div_ceil(4096) * 4096;
            if md.is_dir() {
                bytes += 4096;
                stack.push(e.path());
            }
        }
    }
    Ok((bytes, inodes))
}

/// Makes a `fs` image of the tree `src` at `out` (created or truncated). The result's length is a multiple of
/// 4096 (the dm-verity data block size).
pub fn mkfs(fs: FsType, src: &Path, out: &Path, opts: &MkfsOptions) -> Result<(), MkfsError> {
    let (name, package) = tool(fs);
    let prog = find_program(name).ok_or(MkfsError::MissingTool {
        tool: name,
        package,
    })?;
    let _ = std::fs::remove_file(out);
    let epoch = opts.epoch.to_string();
    match fs {
        FsType::Erofs => {
            check_name_lengths(src, name, EROFS_UTILS_NAME_MAX)?;
            run(
                name,
                Command::new(&prog)
                    .env("SOURCE_DATE_EPOCH", &epoch)
                    .arg("-E")
                    .arg("noinline_data")
                    .arg(format!("-T{epoch}"))
                    .arg(format!("-U{}", opts.uuid))
                    .arg("--quiet")
                    .arg(out)
                    .arg(src),
            )?;
        }
        FsType::Squashfs => {
            run(
                name,
                // mksquashfs refuses SOURCE_DATE_EPOCH together with the time options: pass the options only.
                Command::new(&prog)
                    .env_remove("SOURCE_DATE_EPOCH")
                    .arg(src)
                    .arg(out)
                    .args(["-noappend", "-no-progress", "-quiet"])
                    .args(["-mkfs-time", &epoch, "-all-time", &epoch]),
            )?;
        }
        FsType::Ext4 => mkfs_ext4(name, &prog, src, out, opts)?,
    }
    // dm-verity needs whole data blocks.
    let len = std::fs::metadata(out).map_err(|e| io_err(out, e))?.len();
    if len % 4096 != 0 {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(out)
            .map_err(|e| io_err(out, e))?;
        f.set_len(len.div_ceil(4096) * 4096)
            .map_err(|e| io_err(out, e))?;
    }
    Ok(())
}

fn io_err(p: &Path, e: std::io::Error) -> MkfsError {
    MkfsError::Io {
        path: p.display().to_string(),
        source: e,
    }
}

/// ext4: mke2fs with our own configuration into a file sized from the tree, grown and retried when it runs
/// out of space; then every inode time set to the epoch.
fn mkfs_ext4(
    name: &'static str,
    prog: &Path,
    src: &Path,
    out: &Path,
    opts: &MkfsOptions,
) -> Result<(), MkfsError> {
    let (bytes, inodes) = tree_usage(src).map_err(|e| io_err(src, e))?;
    // Room for metadata: inode tables (256 B per inode, twice the count for slack), bitmaps and
    // group descriptors (~3%), then whole MiB. Grown and retried if mke2fs runs out of space.
    let mut size =
        (bytes + (inodes + 64) * 512 + bytes / 32 + (4 << 20)).div_ceil(1 << 20) * (1 << 20);
    let inode_count = (inodes + 64) * 2;
    // Our own mke2fs.conf, so that the host's /etc/mke2fs.conf (which differs between e2fsprogs
    // releases and distributions) does not change the image.
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rootfs".into());
    let mut conf = yardstick_common::scratch::file_in(dir, &out_name, ".mke2fs.conf")
        .map_err(|e| io_err(dir, e))?;
    std::io::Write::write_all(&mut *conf, MKE2FS_CONF.as_bytes())
        .map_err(|e| io_err(conf.path(), e))?;
    // e2fsprogs treats a fake time of 0 as "not set" and uses the clock: 1 is the closest value.
    let fake_time = opts.epoch.max(1).to_string();
    let mut attempt = 0;
    loop {
        let f = std::fs::File::create(out).map_err(|e| io_err(out, e))?;
        f.set_len(size).map_err(|e| io_err(out, e))?;
        drop(f);
        let r = run(
            name,
            Command::new(prog)
                // mke2fs takes "now" from here when set (E2FSPROGS_FAKE_TIME).
                .env("E2FSPROGS_FAKE_TIME", &fake_time)
                .env("MKE2FS_CONFIG", conf.path())
                .args(["-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0"])
                .arg("-N")
                .arg(inode_count.to_string())
                .arg("-U")
                .arg(opts.uuid.to_string())
                .arg("-E")
                .arg(format!(
                    "hash_seed={},lazy_itable_init=0,root_owner=0:0",
                    opts.uuid
                ))
                .arg("-L")
                .arg(opts.label.chars().take(16).collect::<String>())
                .arg("-d")
                .arg(src)
                .arg(out),
        );
        match r {
            Ok(()) => break,
            Err(MkfsError::Failed { .. }) if attempt < 4 => {
                attempt += 1;
                size = (size + size / 2).div_ceil(1 << 20) * (1 << 20);
            }
            Err(e) => return Err(e),
        }
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(out)
        .map_err(|e| io_err(out, e))?;
    crate::ext4times::set_all_inode_times(&f, opts.epoch).map_err(|e| io_err(out, e))
}
