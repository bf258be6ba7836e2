//! Bounded input: every file a command reads has a size limit suited to its format ([`InputKind`], the one
//! place the limits are set), checked before reading (a regular file's size) or while reading (a pipe, FIFO or
//! character device, whose size is only known at its end). A stream longer than the limit is an error, never
//! cut short and accepted.
//!
//! Each input is opened once ([`InputFile::open`]) and read once, front to back: a pipe given as
//! `<(cat vmlinuz)` is read like the file itself, and whatever is measured is what is used. A directory is
//! refused when opened. Consumers that need to seek (firmware images) take the regular file
//! ([`InputFile::into_seekable`]) or, for a stream, its bytes read once under the limit.
//!
//! ```
//! use yardstick_common::fs::{InputKind, read_input};
//! let e = read_input(std::path::Path::new("/dev/zero"), InputKind::SNP_REPORT).unwrap_err();
//! assert_eq!(
//!     e.to_string(),
//!     "/dev/zero: more than 16384 bytes is too large for an SEV-SNP attestation report (limit 16 KiB)"
//! );
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// What an input file should be, and the most bytes a file of that format can sensibly have. The constants
/// are every limit yardstick applies; each is far above the largest real file of its format and far below
/// what would exhaust memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputKind {
    /// What the file should be, as messages name it ("an event log").
    pub what: &'static str,
    /// The largest size accepted, in bytes.
    pub limit: u64,
}

impl InputKind {
    /// An SEV-SNP attestation report: 1184 bytes, or about 2.4 KiB as hex text.
    pub const SNP_REPORT: InputKind = InputKind {
        what: "an SEV-SNP attestation report",
        limit: 16 * KIB,
    };
    /// An X.509 certificate, PEM or DER (a few KiB; a PEM file may carry a chain).
    pub const CERTIFICATE: InputKind = InputKind {
        what: "a certificate",
        limit: 256 * KIB,
    };
    /// The certificate table of an SEV-SNP extended report (`SNP_GET_EXT_REPORT`): a few certificates, a
    /// few pages (the kernel caps the buffer far below this).
    pub const SNP_CERT_TABLE: InputKind = InputKind {
        what: "an SEV-SNP certificate table",
        limit: 4 * MIB,
    };
    /// A public or private key: PEM, DER or a `TPM2B_PUBLIC` (a few KiB at most).
    pub const KEY: InputKind = InputKind {
        what: "a key",
        limit: 256 * KIB,
    };
    /// A TPM quote message, `TPMS_ATTEST` (a few hundred bytes).
    pub const TPM_QUOTE: InputKind = InputKind {
        what: "a TPM quote",
        limit: 64 * KIB,
    };
    /// A TPM quote signature, `TPMT_SIGNATURE` or raw (at most a few hundred bytes).
    pub const TPM_SIGNATURE: InputKind = InputKind {
        what: "a TPM signature",
        limit: 64 * KIB,
    };
    /// PCR values: `tpm2_pcrread` output, PCR JSON or a binary PCR file (24 PCRs in a few banks: KiB).
    pub const PCR_VALUES: InputKind = InputKind {
        what: "a PCR list",
        limit: MIB,
    };
    /// A TCG event log (tens of KiB from firmware; a TDX CCEL area is a few MiB).
    pub const EVENT_LOG: InputKind = InputKind {
        what: "an event log",
        limit: 64 * MIB,
    };
    /// A TCG event log or a PCR list, told apart by content (`eventlog`, `pcr compare`).
    pub const EVENT_LOG_OR_PCRS: InputKind = InputKind {
        what: "an event log or PCR list",
        limit: 64 * MIB,
    };
    /// A reference-value manifest, JSON (KiB; every predicted event of a UKI is still well under a MiB).
    pub const MANIFEST: InputKind = InputKind {
        what: "a reference-value manifest",
        limit: 16 * MIB,
    };
    /// An attestation policy, Rego text (Trustee's default policy is 10 KiB).
    pub const POLICY: InputKind = InputKind {
        what: "an attestation policy",
        limit: MIB,
    };
    /// Reference values as a Trustee RVPS message or a `{name: [values]}` JSON object (KiB per image).
    pub const REFERENCE_VALUES: InputKind = InputKind {
        what: "reference values",
        limit: 16 * MIB,
    };
    /// Azure CVM evidence, JSON (an HCL report, a TPM quote, an event log and certificates: a few MiB).
    pub const AZURE_EVIDENCE: InputKind = InputKind {
        what: "Azure evidence",
        limit: 16 * MIB,
    };
    /// An Intel TD quote (v4/v5: about 5 KiB with its PCK chain; Azure pads to 8 KiB).
    pub const TD_QUOTE: InputKind = InputKind {
        what: "a TD quote",
        limit: MIB,
    };
    /// Intel PCS collateral: TCB Info / QE Identity JSON, an issuer chain, a CRL (KiB to a few hundred KiB).
    pub const TDX_COLLATERAL: InputKind = InputKind {
        what: "Intel collateral",
        limit: 16 * MIB,
    };
    /// Firmware metadata JSON written by `snp ovmf-metadata` (a few KiB).
    pub const OVMF_METADATA: InputKind = InputKind {
        what: "firmware metadata JSON",
        limit: MIB,
    };
    /// A firmware image: OVMF (2 or 4 MiB) or a Coconut SVSM image.
    pub const FIRMWARE: InputKind = InputKind {
        what: "a firmware image",
        limit: 64 * MIB,
    };
    /// A PCI option ROM, e.g. iPXE's `efi-virtio.rom` (a PCI ROM BAR is at most 16 MiB).
    pub const OPTION_ROM: InputKind = InputKind {
        what: "a PCI option ROM",
        limit: 16 * MIB,
    };
    /// An OVMF variable store, `OVMF_VARS.fd` (528 KiB in Debian's 4M build).
    pub const OVMF_VARS: InputKind = InputKind {
        what: "an OVMF variable store",
        limit: 64 * MIB,
    };
    /// A QEMU ACPI fw_cfg blob: `etc/acpi/tables` (128 KiB or a few hundred), `etc/acpi/rsdp`, `etc/table-loader`.
    pub const ACPI_BLOB: InputKind = InputKind {
        what: "a QEMU ACPI blob",
        limit: 16 * MIB,
    };
    /// A Linux kernel image, bzImage or EFI-stub PE (tens of MiB at most).
    pub const KERNEL: InputKind = InputKind {
        what: "a kernel image",
        limit: 256 * MIB,
    };
    /// An initrd (tens to a few hundred MiB).
    pub const INITRD: InputKind = InputKind {
        what: "an initrd",
        limit: 512 * MIB,
    };
    /// A Unified Kernel Image: systemd-stub, a kernel, initrds and metadata in one PE file.
    pub const UKI: InputKind = InputKind {
        what: "a UKI",
        limit: GIB,
    };
    /// A systemd-stub EFI binary (about 100 KiB).
    pub const EFI_STUB: InputKind = InputKind {
        what: "a systemd-stub",
        limit: 16 * MIB,
    };
    /// A boot splash image, BMP (an uncompressed 4K image is 32 MiB).
    pub const SPLASH: InputKind = InputKind {
        what: "a splash image",
        limit: 64 * MIB,
    };
    /// A flattened device tree blob (KiB to a few MiB).
    pub const DEVICE_TREE: InputKind = InputKind {
        what: "a device tree blob",
        limit: 16 * MIB,
    };
    /// An os-release file (under a KiB).
    pub const OS_RELEASE: InputKind = InputKind {
        what: "an os-release file",
        limit: MIB,
    };
    /// A kernel command line given as `@FILE` (the kernel takes a few KiB).
    pub const CMDLINE: InputKind = InputKind {
        what: "a kernel command line",
        limit: MIB,
    };
    /// SBAT text given as `@FILE` (a few CSV lines).
    pub const SBAT: InputKind = InputKind {
        what: "SBAT text",
        limit: MIB,
    };
    /// A dm-verity root hash as hex text (at most 128 hex digits).
    pub const ROOT_HASH: InputKind = InputKind {
        what: "a root hash file",
        limit: 4 * KIB,
    };
    /// A detached PKCS#7 root-hash signature, DER (a few KiB with its certificates).
    pub const ROOT_HASH_SIGNATURE: InputKind = InputKind {
        what: "a root-hash signature",
        limit: MIB,
    };
}

/// `n` bytes as the largest whole binary unit ("64 MiB"), for limits.
fn human(n: u64) -> String {
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if n >= unit && n.is_multiple_of(unit) {
            return format!("{} {name}", n / unit);
        }
    }
    format!("{n} bytes")
}

/// An input larger than its kind allows (the message does not name the file: [`InputError::TooLarge`] does,
/// and so does whoever wraps the [`io::Error`] a bounded read returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct TooLarge {
    /// The file's size, when known before reading (a regular file); `None` for a stream cut at the limit.
    pub size: Option<u64>,
    /// What it should have been.
    pub kind: InputKind,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.size {
            Some(n) => write!(f, "{n} bytes")?,
            None => write!(f, "more than {} bytes", self.kind.limit)?,
        }
        write!(
            f,
            " is too large for {} (limit {})",
            self.kind.what,
            human(self.kind.limit)
        )
    }
}

/// Why an input could not be read. Every message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file could not be opened (or its type and size not read).
    #[error("{}: cannot open", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Reading failed.
    #[error("{}: cannot read", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A directory where a file was expected.
    #[error("{}: cannot read: a directory is not {}", path.display(), kind.what)]
    Directory {
        /// The directory.
        path: PathBuf,
        /// What it should have been.
        kind: InputKind,
    },
    /// The file is (or the stream grew) larger than anything of its kind can be.
    #[error("{}: {error}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The size and the limit.
        error: TooLarge,
    },
}

impl InputError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            InputError::Open { path, .. }
            | InputError::Read { path, .. }
            | InputError::Directory { path, .. }
            | InputError::TooLarge { path, .. } => path,
        }
    }

    /// The error for `path` of an [`io::Error`] from reading an [`InputFile`]: a bounded read's [`TooLarge`]
    /// stays one.
    pub fn from_read(path: &Path, e: io::Error) -> InputError {
        match e.get_ref().and_then(|i| i.downcast_ref::<TooLarge>()) {
            Some(t) => InputError::TooLarge {
                path: path.to_path_buf(),
                error: *t,
            },
            None => InputError::Read {
                path: path.to_path_buf(),
                source: e,
            },
        }
    }

    /// The cause without the file name, as an [`io::Error`], for error types that name the file themselves
    /// ("{path}: cannot read kernel"): the underlying error of an open or read, else the refusal.
    pub fn into_io(self) -> io::Error {
        match self {
            InputError::Open { source, .. } | InputError::Read { source, .. } => source,
            InputError::Directory { kind, .. } => io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("a directory is not {}", kind.what),
            ),
            InputError::TooLarge { error, .. } => {
                io::Error::new(io::ErrorKind::FileTooLarge, error)
            }
        }
    }
}

/// An input file opened for one front-to-back read under its kind's limit: a regular file larger than the
/// limit is refused when opened; a stream (pipe, FIFO, character device) fails with [`TooLarge`] as soon as
/// it delivers more. Reading it ([`Read`]) gives an [`io::Error`] carrying [`TooLarge`] then.
#[derive(Debug)]
pub struct InputFile {
    file: File,
    path: PathBuf,
    kind: InputKind,
    /// The size of a regular file, from `fstat`.
    size: Option<u64>,
    /// Bytes read so far.
    read: u64,
}

impl InputFile {
    /// Opens `path` (following symbolic links) as `kind`: refuses a directory and a regular file larger than
    /// `kind.limit`. Opening a FIFO waits for its writer, as any reader does.
    pub fn open(path: &Path, kind: InputKind) -> Result<InputFile, InputError> {
        let open_err = |source| InputError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(open_err)?;
        let meta = file.metadata().map_err(open_err)?;
        if meta.is_dir() {
            return Err(InputError::Directory {
                path: path.to_path_buf(),
                kind,
            });
        }
        let size = meta.is_file().then_some(meta.len());
        if let Some(n) = size
            && n > kind.limit
        {
            return Err(InputError::TooLarge {
                path: path.to_path_buf(),
                error: TooLarge {
                    size: Some(n),
                    kind,
                },
            });
        }
        Ok(InputFile {
            file,
            path: path.to_path_buf(),
            kind,
            size,
            read: 0,
        })
    }

    /// The file, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What it should be.
    pub fn kind(&self) -> InputKind {
        self.kind
    }

    /// The open file, for advice such as `posix_fadvise` (reading through it bypasses the limit).
    pub fn as_file(&self) -> &File {
        &self.file
    }

    /// The size of a regular file (at most the limit); `None` for a stream, whose size is known only once
    /// read.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The open file and its size, for a consumer that seeks, if it is a regular file with a size (a file of
    /// `/proc`, which reports size 0, is read as a stream); else `Err(self)`, to be read once
    /// ([`InputFile::read_all`]).
    pub fn into_seekable(self) -> Result<(File, u64), InputFile> {
        match self.size {
            Some(n) if n > 0 && self.read == 0 => Ok((self.file, n)),
            _ => Err(self),
        }
    }

    /// Reads the rest of the file into memory (at most the limit).
    pub fn read_all(mut self) -> Result<Vec<u8>, InputError> {
        let cap = self.size.unwrap_or(0).min(self.kind.limit);
        let mut buf = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
        if let Some(size) = self
            .size
            .filter(|&n| n >= PARALLEL_READ_MIN && self.read == 0)
        {
            self.read_front_parallel(&mut buf, size);
        }
        // Straight into the buffer's spare room (std retries interrupted reads and grows its read size while
        // reads fill it), through `Read for InputFile`, which enforces the limit; after a parallel read of
        // the front, this reads what the file grew by since `fstat`, normally nothing.
        match self.read_to_end(&mut buf) {
            Ok(_) => Ok(buf),
            Err(e) => Err(InputError::from_read(&self.path, e)),
        }
    }

    /// Reads the first `size` bytes of a large regular file on every core (positioned reads of equal
    /// slices: copying from the page cache and faulting in the new buffer's pages is most of the time a
    /// large read takes), then moves the file position past them. On any failure (the file shrank, a read
    /// error) `buf` is left empty and the position unchanged, and the caller's sequential read starts over.
    fn read_front_parallel(&mut self, buf: &mut Vec<u8>, size: u64) {
        use std::io::{Seek, SeekFrom};
        use std::os::unix::fs::FileExt;
        let Ok(len) = usize::try_from(size) else {
            return;
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if threads < 2 {
            return;
        }
        // `vec!` of zeros is a fresh, untouched allocation (calloc): its pages are faulted in by the reads
        // below, on every core, instead of by a zero-fill on this one.
        *buf = vec![0u8; len];
        let slice = len.div_ceil(threads);
        let file = &self.file;
        let ok = std::thread::scope(|s| {
            let jobs: Vec<_> = buf
                .chunks_mut(slice)
                .enumerate()
                .map(|(i, chunk)| {
                    let at = (i * slice) as u64;
                    s.spawn(move || file.read_exact_at(chunk, at).is_ok())
                })
                .collect();
            jobs.into_iter().all(|j| j.join().unwrap_or(false))
        });
        if ok && self.file.seek(SeekFrom::Start(size)).is_ok() {
            self.read = size;
        } else {
            buf.clear();
            let _ = self.file.seek(SeekFrom::Start(0));
        }
    }

    /// Reads the file to its end and returns its length, keeping nothing (for an input only its size is taken
    /// from): a regular file's size without reading it.
    pub fn into_len(mut self) -> Result<u64, InputError> {
        if let Some(n) = self.size.filter(|&n| n > 0) {
            return Ok(n);
        }
        io::copy(&mut self, &mut io::sink()).map_err(|e| InputError::from_read(&self.path, e))
    }
}

impl Read for InputFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte past the limit is enough to tell that the stream is too large.
        let room = (self.kind.limit + 1).saturating_sub(self.read);
        let want = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
        let n = self.file.read(buf.get_mut(..want).unwrap_or_default())?;
        self.read += n as u64;
        if self.read > self.kind.limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                TooLarge {
                    size: None,
                    kind: self.kind,
                },
            ));
        }
        Ok(n)
    }
}

/// Regular files at least this large are read whole on every core ([`InputFile::read_all`]).
const PARALLEL_READ_MIN: u64 = 8 << 20;

/// Reads the input file `path` whole, as `kind` ([`InputFile`]): a directory, a regular file larger than the
/// limit and a stream that delivers more are refused.
pub fn read_input(path: &Path, kind: InputKind) -> Result<Vec<u8>, InputError> {
    InputFile::open(path, kind)?.read_all()
}

/// [`read_input`] for a text file: bytes that are not UTF-8 are a read error, as [`std::fs::read_to_string`]
/// reports them.
pub fn read_input_text(path: &Path, kind: InputKind) -> Result<String, InputError> {
    String::from_utf8(read_input(path, kind)?).map_err(|_| InputError::Read {
        path: path.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: InputKind = InputKind {
        what: "a tiny thing",
        limit: 8,
    };

    #[test]
    fn limits_are_checked_before_and_while_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345678").unwrap();
        assert_eq!(read_input(&p, TINY).unwrap(), b"12345678");
        std::fs::write(&p, b"123456789").unwrap();
        let e = read_input(&p, TINY).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: 9 bytes is too large for a tiny thing (limit 8 bytes)",
                p.display()
            )
        );
        let e = read_input(Path::new("/dev/zero"), TINY).unwrap_err();
        assert!(matches!(
            e,
            InputError::TooLarge {
                error: TooLarge { size: None, .. },
                ..
            }
        ));
        assert_eq!(
            InputFile::open(Path::new("/dev/zero"), TINY)
                .unwrap()
                .into_len()
                .unwrap_err()
                .to_string(),
            "/dev/zero: more than 8 bytes is too large for a tiny thing (limit 8 bytes)"
        );
        let e = read_input(dir.path(), InputKind::KERNEL).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: cannot read: a directory is not a kernel image",
                dir.path().display()
            )
        );
        assert_eq!(
            e.into_io().kind(),
            io::ErrorKind::IsADirectory,
            "into_io keeps the kind"
        );
        let e = read_input(&dir.path().join("missing"), TINY).unwrap_err();
        assert!(e.to_string().ends_with("missing: cannot open"), "{e}");
        assert_eq!(e.into_io().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn streams_are_read_once_under_the_limit() {
        use std::io::Write as _;
        let mut child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"pipe").unwrap();
        let out = child.stdout.take().unwrap();
        let path = PathBuf::from(format!("/proc/self/fd/{}", {
            use std::os::fd::AsRawFd as _;
            out.as_raw_fd()
        }));
        let f = InputFile::open(&path, TINY).unwrap();
        assert_eq!(f.size(), None);
        let f = f.into_seekable().unwrap_err();
        assert_eq!(f.read_all().unwrap(), b"pipe");
        child.wait().unwrap();
    }

    #[test]
    fn limits_print_in_whole_units() {
        assert_eq!(human(16 * KIB), "16 KiB");
        assert_eq!(human(64 * MIB), "64 MiB");
        assert_eq!(human(GIB), "1 GiB");
        assert_eq!(human(1536), "1536 bytes");
    }
}
