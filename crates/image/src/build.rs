//! `image build`: from a root filesystem to a disk image (or initrd) and its reference-value manifest.
//!
//! Every identifier the build invents (disk GUID, ESP UUID and volume id, filesystem UUID, verity salt and
//! superblock UUID, MBR signature) is derived from `seed`, and every timestamp is `source_date_epoch`, so the
//! same inputs give the same bytes. The verity partitions' UUIDs are derived from the root hash as
//! systemd-repart does (data = first 128 bits, hash = last 128 bits), which is how
//! systemd-veritysetup-generator finds them from `roothash=`.

use std::fs::File;
use std::io::{Seek as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use yardstick_common::fs::{AtomicFile, InputKind, OutputSet, read_input};
use yardstick_common::hash::Algorithm;
use yardstick_common::progress::Progress;
use yardstick_common::scratch::{self, Scratch};

use crate::seed;
use yardstick_refvals::{
    Component, FsType, ImageInfo, Layout, Manifest, Partition, PartitionRole, PartitionTable,
    TableKind, VerityRefs,
};

use crate::fat::{FatBuilder, FileSource};
use crate::gpt::{Gpt, GptPartition};
use crate::guid::{self, Guid, types};
use crate::mbr::{Mbr, MbrPartition, SECTOR};
use crate::mkfs::{MkfsOptions, mkfs};
use crate::rootfs::RootfsSource;
use crate::steps::{
    self, DirectBoot, FirmwarePcrs, SnpParams, TdxBoot, TdxParams, UkiInputs, VerityParams,
};
use yardstick_pe::uki::build::normalize_cmdline_text;
use yardstick_snp::ovmf::Ovmf;

const MIB: u64 = 1 << 20;
/// GPT attribute bit 60: read-only (Discoverable Partitions Specification).
const GPT_READ_ONLY: u64 = 1 << 60;
/// Smallest ESP written (comfortably above FAT32's minimum, room for a second UKI).
const MIN_ESP: u64 = 64 * MIB;

/// Everything `image build` takes: [`BuildOptions::new`] with the rootfs, layout and output, then set the
/// fields that differ from the defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuildOptions {
    /// Root filesystem: a directory or an uncompressed tar archive.
    pub rootfs: PathBuf,
    /// Layout.
    pub layout: Layout,
    /// Root filesystem type (ignored for `initrd`).
    pub fs: FsType,
    /// Kernel (required for `uki`).
    pub kernel: Option<PathBuf>,
    /// Initrd to put into the UKI / measure for direct boot.
    pub initrd: Option<PathBuf>,
    /// systemd-stub (required for `uki`).
    pub stub: Option<PathBuf>,
    /// os-release for the UKI's `.osrel`.
    pub os_release: Option<PathBuf>,
    /// Kernel command line before the verity parameters are appended.
    pub cmdline: String,
    /// SEV-SNP launch parameters, if a launch digest is wanted.
    pub snp: Option<SnpParams>,
    /// Intel TDX parameters, if MRTD and the RTMRs are wanted (the manifest's `tdx` section).
    pub tdx: Option<TdxParams>,
    /// The firmware and VM of a QEMU + OVMF boot of the image, if the firmware PCRs (0-3, 5, 6) are wanted in
    /// the manifest's `tpm` section (`uki` layout only).
    pub firmware_pcrs: Option<FirmwarePcrParams>,
    /// Output file (disk image, or the cpio for `initrd`).
    pub output: PathBuf,
    /// Timestamp written everywhere (SOURCE_DATE_EPOCH, 0 if unset).
    pub source_date_epoch: u64,
    /// Seed for every generated identifier; `None` derives it from the content of every input (see the
    /// private `seed` module: same inputs, same seed; different images, different identifiers).
    pub seed: Option<String>,
    /// dm-verity salt; derived from the seed if `None`.
    pub salt: Option<Vec<u8>>,
    /// The guest's name for the disk (`/dev/vda`), used in the kata dm table.
    pub disk_device: String,
    /// Allow device nodes in a tar rootfs (needs root).
    pub allow_devices: bool,
}

impl BuildOptions {
    /// A build of `rootfs` in `layout` to `output`: erofs, no kernel, initrd, stub or os-release, an empty
    /// command line, no SEV-SNP digest, `SOURCE_DATE_EPOCH` 0, the seed derived from the inputs, the salt derived from it, the
    /// disk seen as `/dev/vda`, no device nodes.
    pub fn new(
        rootfs: impl Into<PathBuf>,
        layout: Layout,
        output: impl Into<PathBuf>,
    ) -> BuildOptions {
        BuildOptions {
            rootfs: rootfs.into(),
            layout,
            fs: FsType::Erofs,
            kernel: None,
            initrd: None,
            stub: None,
            os_release: None,
            cmdline: String::new(),
            snp: None,
            tdx: None,
            firmware_pcrs: None,
            output: output.into(),
            source_date_epoch: 0,
            seed: None,
            salt: None,
            disk_device: "/dev/vda".into(),
            allow_devices: false,
        }
    }
}

/// Why a build failed. Each variant's message names the file involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Inconsistent options.
    #[error("{0}")]
    Usage(String),
    /// The root filesystem input.
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
    /// Making the filesystem.
    #[error(transparent)]
    Mkfs(#[from] crate::mkfs::MkfsError),
    /// A step owned by another crate.
    #[error(transparent)]
    Step(#[from] steps::StepError),
    /// The ESP.
    #[error("ESP")]
    Fat(#[from] crate::fat::FatError),
    /// The GPT.
    #[error("GPT")]
    Gpt(#[from] crate::gpt::GptError),
    /// The MBR.
    #[error("MBR")]
    Mbr(#[from] crate::mbr::MbrError),
    /// Reading or writing a file.
    // The cause is the error's source: `{:#}` (the CLI's one-line printer) appends it after ": ".
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

fn io_err(p: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |e| BuildError::Io {
        path: p.display().to_string(),
        source: e,
    }
}

/// A finished build whose output is not yet visible: [`Built::commit`] writes the manifest and renames both
/// into place; dropping it leaves nothing behind.
#[derive(Debug)]
pub struct Built {
    /// The reference values.
    pub manifest: Manifest,
    /// The final kernel command line (with the verity parameters), if there is one.
    pub cmdline: Option<String>,
    /// Wall time per step, in order.
    pub timings: Vec<(&'static str, Duration)>,
    /// The seed the identifiers were derived from (given or derived from the inputs); `None` for the
    /// initrd layout, which has no generated identifiers.
    pub seed: Option<String>,
    output: Output,
}

/// The output file while it is not yet visible.
#[derive(Debug)]
enum Output {
    /// Written under a temporary name beside the destination (the initrd).
    Atomic(AtomicFile),
    /// A disk assembled in the build's scratch directory, which is beside the destination (same
    /// filesystem): renamed into place by the commit, removed with the directory otherwise.
    Staged {
        _work: Scratch<tempfile::TempDir>,
        file: File,
        path: PathBuf,
        dest: PathBuf,
    },
}

impl Output {
    /// Adds the output to the set committed together (a staged disk gets its final mode and is flushed first).
    fn stage(self, set: &mut OutputSet) -> Result<Option<Scratch<tempfile::TempDir>>, BuildError> {
        match self {
            Output::Atomic(a) => {
                set.push(a);
                Ok(None)
            }
            Output::Staged {
                _work,
                file,
                path,
                dest,
            } => {
                use std::os::unix::fs::PermissionsExt as _;
                file.set_permissions(std::fs::Permissions::from_mode(0o644))
                    .map_err(io_err(&dest))?;
                file.sync_data().map_err(io_err(&dest))?;
                set.push_path(path, dest);
                Ok(Some(_work))
            }
        }
    }
}

impl Built {
    /// Writes the manifest to `manifest_path` and moves the output and the manifest into place together (both
    /// or neither).
    pub fn commit(self, manifest_path: &Path) -> Result<(), BuildError> {
        let mut m = AtomicFile::create(manifest_path).map_err(io_err(manifest_path))?;
        m.write_all(self.manifest.to_json().as_bytes())
            .map_err(io_err(manifest_path))?;
        let mut set = OutputSet::new();
        // The scratch directory holding a staged disk lives until the set is committed.
        let _work = self.output.stage(&mut set)?;
        set.push(m);
        set.commit().map_err(|e| BuildError::Io {
            path: e.dest.display().to_string(),
            source: e.source,
        })
    }
}

struct Timer<'a> {
    progress: &'a dyn Progress,
    timings: Vec<(&'static str, Duration)>,
    current: Option<(&'static str, Instant)>,
}

impl Timer<'_> {
    fn phase(&mut self, name: &'static str) {
        self.end();
        self.progress.set_phase(name);
        self.current = Some((name, Instant::now()));
    }
    fn end(&mut self) {
        if let Some((n, t)) = self.current.take() {
            self.timings.push((n, t.elapsed()));
        }
    }
}

fn derive_bytes(seed: &str, purpose: &str, n: usize) -> Vec<u8> {
    let d = Algorithm::Sha256.digest_parts(&[
        b"yardstick-seed\0",
        purpose.as_bytes(),
        b"\0",
        seed.as_bytes(),
    ]);
    d.iter().copied().take(n).collect()
}

fn file_name(p: &Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Reads an input whole, once, under its kind's size limit: every later use (the manifest's component, the
/// UKI, the launch digest) takes these bytes, so what is measured is what is used, also for a pipe.
fn read_once(p: &Path, kind: InputKind) -> Result<Vec<u8>, BuildError> {
    read_input(p, kind).map_err(|e| io_err(p)(e.into_io()))
}

/// The component `name` of the input read from `path`.
fn component(name: &str, path: &Path, bytes: &[u8]) -> Component {
    Component::from_bytes(name, file_name(path).as_deref(), bytes)
}

/// Copies `src` into `dst` at `offset`, only the data extents (holes stay holes), with copy_file_range so the
/// kernel moves the bytes (or shares them, on filesystems with reflinks); read/write where that is refused.
fn copy_into(src: &Path, dst: &File, offset: u64) -> Result<u64, BuildError> {
    let f = File::open(src).map_err(io_err(src))?;
    let len = f.metadata().map_err(io_err(src))?.len();
    let out_err = |e: std::io::Error| BuildError::Io {
        path: "output".into(),
        source: e,
    };
    let mut buf: Vec<u8> = Vec::new();
    for (start, end) in yardstick_common::fs::data_extents(&f, 0, len).map_err(io_err(src))? {
        let mut pos = start;
        while pos < end {
            let want = ((end - pos) as usize).min(1 << 30);
            let mut off_in = pos;
            let mut off_out = offset + pos;
            match rustix::fs::copy_file_range(&f, Some(&mut off_in), dst, Some(&mut off_out), want)
            {
                Ok(n) if n > 0 => {
                    pos += n as u64;
                    continue;
                }
                Ok(_) => {}
                Err(rustix::io::Errno::XDEV)
                | Err(rustix::io::Errno::INVAL)
                | Err(rustix::io::Errno::NOSYS)
                | Err(rustix::io::Errno::OPNOTSUPP) => {}
                Err(e) => return Err(out_err(e.into())),
            }
            // Fallback: plain reads and writes.
            buf.resize(4 * MIB as usize, 0);
            let n = ((end - pos) as usize).min(buf.len());
            let chunk = buf.get_mut(..n).unwrap_or_default();
            f.read_exact_at(chunk, pos).map_err(io_err(src))?;
            dst.write_all_at(chunk, offset + pos).map_err(out_err)?;
            pos += n as u64;
        }
    }
    Ok(len)
}

fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}

/// Every identifier a build invents, derived once from the seed (see the module docs).
struct Ids {
    /// The root filesystem's UUID.
    filesystem: Guid,
    /// The verity superblock's UUID.
    verity_superblock: Guid,
    /// The verity salt (unless given).
    verity_salt: Vec<u8>,
    /// The ESP's FAT volume id.
    esp_volume_id: u32,
    /// The ESP partition's UUID.
    esp_partition: Guid,
    /// The GPT disk GUID.
    disk: Guid,
    /// The MBR disk signature.
    mbr_signature: u32,
}

impl Ids {
    fn derive(seed: &str) -> Ids {
        let u32_of = |purpose: &str| {
            let b = derive_bytes(seed, purpose, 4);
            yardstick_common::bytes::le32(&b, 0).unwrap_or_default()
        };
        Ids {
            filesystem: guid::derive(seed.as_bytes(), "rootfs-filesystem"),
            verity_superblock: guid::derive(seed.as_bytes(), "verity-superblock"),
            verity_salt: derive_bytes(seed, "verity-salt", 32),
            esp_volume_id: u32_of("esp-volume-id"),
            esp_partition: guid::derive(seed.as_bytes(), "esp"),
            disk: guid::derive(seed.as_bytes(), "disk"),
            mbr_signature: u32_of("mbr-signature"),
        }
    }
}

/// The inputs checked before any work, each file read once (kept for the components, the UKI and the launch
/// digest).
struct Checked {
    source: RootfsSource,
    stub_bytes: Option<Vec<u8>>,
    kernel_bytes: Option<Vec<u8>>,
    /// The initrd's component, and its bytes when they go into a UKI.
    initrd: Option<(Component, Option<Vec<u8>>)>,
    os_release_bytes: Option<Vec<u8>>,
    /// The SEV-SNP firmware's component and parsed image.
    firmware: Option<(Component, Ovmf)>,
    /// The TDX firmware's component and bytes.
    tdx_firmware: Option<(Component, Vec<u8>)>,
    /// The firmware of the firmware PCRs, read and checked.
    firmware_pcrs: Option<FirmwarePcrs>,
}

/// The firmware and VM of the firmware PCRs (`image build --firmware`).
#[derive(Debug, Clone)]
pub struct FirmwarePcrParams {
    /// The OVMF code file (`OVMF_CODE*.fd`).
    pub firmware: PathBuf,
    /// The VM (its `disk` is the image built).
    pub vm: yardstick_tpm::predict::firmware::VmConfig,
    /// The NIC's option ROM file (PCR 2), with a NIC.
    pub nic_rom: Option<PathBuf>,
    /// A copy of a guest's `/sys/firmware/qemu_fw_cfg/by_name` (PCR 1 of edk2 2025.02).
    pub fw_cfg: Option<PathBuf>,
}

/// SHA-256 of bytes already in memory.
fn sha256_of(bytes: &[u8]) -> [u8; 32] {
    let mut d = [0u8; 32];
    d.copy_from_slice(Algorithm::Sha256.digest(bytes).as_ref());
    d
}

/// Checks that need no work first, so bad input fails fast.
fn preflight(o: &BuildOptions) -> Result<Checked, BuildError> {
    let source = RootfsSource::detect(&o.rootfs)?;
    for bad in ["roothash=", "usrhash=", "dm-mod.create="] {
        if o.cmdline.split_whitespace().any(|w| w.starts_with(bad)) {
            return Err(BuildError::Usage(format!(
                "--cmdline already contains {bad}; yardstick adds the verity parameters itself"
            )));
        }
    }
    let stub_bytes = match (o.layout, &o.kernel, &o.stub) {
        (Layout::Uki, Some(_), Some(stub)) => Some(steps::check_stub(stub)?.0),
        (Layout::Uki, _, _) => return Err(uki_needs_kernel_and_stub()),
        _ => None,
    };
    let kernel_bytes = match &o.kernel {
        Some(k) => Some(steps::check_kernel(k, o.layout == Layout::Uki)?),
        None => None,
    };
    let initrd = match &o.initrd {
        Some(p) => {
            let bytes = read_once(p, InputKind::INITRD)?;
            let c = component("initrd", p, &bytes);
            Some((c, (o.layout == Layout::Uki).then_some(bytes)))
        }
        None => None,
    };
    let os_release_bytes = match &o.os_release {
        Some(p) => Some(read_once(p, InputKind::OS_RELEASE)?),
        None => None,
    };
    let mut firmware = None;
    if let Some(s) = &o.snp {
        let bytes = read_once(&s.ovmf, InputKind::FIRMWARE)?;
        if o.kernel.is_none() && o.layout != Layout::Uki {
            return Err(BuildError::Usage(
                "an SEV-SNP launch digest for direct boot needs --kernel".into(),
            ));
        }
        let c = component("firmware", &s.ovmf, &bytes);
        firmware = Some((c, steps::snp_preflight(s, bytes, o.layout != Layout::Uki)?));
    }
    let mut tdx_firmware = None;
    if let Some(p) = &o.tdx {
        let bytes = read_once(&p.firmware, InputKind::FIRMWARE)?;
        if o.kernel.is_none() && o.layout != Layout::Uki {
            return Err(BuildError::Usage(
                "a TDX measurement for direct boot needs --kernel".into(),
            ));
        }
        // The UKI is loaded from disk by the firmware: only MRTD is predicted (as for SEV-SNP).
        let boot = match (&o.kernel, &kernel_bytes) {
            (Some(path), Some(k)) if o.layout != Layout::Uki => {
                Some((k.as_slice(), path.as_path()))
            }
            _ => None,
        };
        steps::tdx_preflight(p, &bytes, boot)?;
        tdx_firmware = Some((component("tdx-firmware", &p.firmware, &bytes), bytes));
    }
    let firmware_pcrs = match &o.firmware_pcrs {
        None => None,
        Some(_) if o.layout != Layout::Uki => {
            return Err(BuildError::Usage(
                "--firmware: the firmware PCRs are modelled for the uki layout (OVMF loads the UKI from the \
                 disk); kata and initrd images are booted directly, which is not modelled"
                    .into(),
            ));
        }
        Some(p) => Some(FirmwarePcrs::read(
            &p.firmware,
            p.vm.clone(),
            p.nic_rom.as_deref(),
            p.fw_cfg.as_deref(),
        )?),
    };
    Ok(Checked {
        source,
        stub_bytes,
        kernel_bytes,
        initrd,
        os_release_bytes,
        firmware,
        tdx_firmware,
        firmware_pcrs,
    })
}

fn uki_needs_kernel_and_stub() -> BuildError {
    BuildError::Usage("--layout uki needs --kernel and --stub".into())
}

/// Adds the component of the input read from `path`, if given; returns its SHA-256.
fn push_component(
    manifest: &mut Manifest,
    name: &str,
    path: Option<&Path>,
    bytes: Option<&[u8]>,
) -> Option<[u8; 32]> {
    let (Some(path), Some(bytes)) = (path, bytes) else {
        return None;
    };
    let c = component(name, path, bytes);
    let sha256 = c.sha256.0;
    manifest.components.push(c);
    Some(sha256)
}

/// What a TDX direct boot measures of an initrd: its SHA-384 and size, as its component holds them.
fn tdx_initrd_of(c: &Component) -> yardstick_tdx::Initrd<'static> {
    yardstick_tdx::Initrd::Hashed {
        sha384: c.sha384.0,
        size: c.size,
    }
}

/// The `cmdline` component, its text recorded.
fn cmdline_component(cmdline: &str) -> Component {
    let mut c = Component::from_bytes("cmdline", None, cmdline.as_bytes());
    c.text = Some(cmdline.to_string());
    c
}

/// Runs the whole build. Progress phases: `rootfs`, `mkfs`, `verity`, `uki`, `pcrs`, `esp`, `disk`,
/// `firmware-pcrs` (with [`BuildOptions::firmware_pcrs`]), `snp`,
/// `tdx` (`rootfs`, `cpio`, `snp`, `tdx` for the initrd layout).
pub fn build(o: &BuildOptions, progress: &dyn Progress) -> Result<Built, BuildError> {
    let mut t = Timer {
        progress,
        timings: Vec::new(),
        current: None,
    };
    let Checked {
        source,
        stub_bytes,
        kernel_bytes,
        initrd,
        os_release_bytes,
        firmware,
        tdx_firmware,
        firmware_pcrs,
    } = preflight(o)?;
    let mut kernel_bytes = kernel_bytes;
    let out_dir = o
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let out_name = o
        .output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    // The build tree, beside the output (same filesystem for the final rename); removed on any exit.
    let work = scratch::dir_in(&out_dir, &out_name).map_err(io_err(&out_dir))?;

    t.phase("rootfs");
    let staged = source.stage(work.path(), o.allow_devices)?;
    // Whitespace normalized as ukify writes a `--cmdline TEXT` into `.cmdline`, so that the manifest's
    // cmdline is byte for byte what the kernel is given, for every layout.
    let cmdline = String::from_utf8_lossy(&normalize_cmdline_text(&o.cmdline)).into_owned();
    // Everything the image will hold must fit where it is written: refused before any byte is read.
    let tree = seed::walk(staged.path()).map_err(|(path, e)| io_err(&path)(e))?;
    seed::check_fits(&tree, seed::free_space(&out_dir)).map_err(|e| {
        BuildError::Rootfs(crate::rootfs::RootfsError::TooBig {
            path: o.rootfs.display().to_string(),
            reason: e.to_string(),
        })
    })?;
    if o.layout == Layout::Initrd {
        return build_initrd(
            o,
            staged.path(),
            cmdline,
            kernel_bytes.as_deref(),
            firmware,
            tdx_firmware,
            t,
        );
    }
    let seed = match &o.seed {
        Some(s) => s.clone(),
        None => seed::derive(&seed::SeedInputs {
            layout: crate::request::layout_name(o.layout),
            fs: crate::request::fs_name(o.fs),
            epoch: o.source_date_epoch,
            cmdline: &cmdline,
            // The inputs as read once by the preflight (a pipe is not read again).
            files: [
                ("kernel", kernel_bytes.as_deref().map(sha256_of)),
                ("initrd", initrd.as_ref().map(|(c, _)| c.sha256.0)),
                ("stub", stub_bytes.as_deref().map(sha256_of)),
                ("os-release", os_release_bytes.as_deref().map(sha256_of)),
            ],
            tree: &tree,
        })
        .map_err(|(path, e)| io_err(&path)(e))?,
    };
    let ids = Ids::derive(&seed);

    t.phase("mkfs");
    let fs_img = work.path().join("rootfs.img");
    mkfs(
        o.fs,
        staged.path(),
        &fs_img,
        &MkfsOptions {
            epoch: o.source_date_epoch,
            uuid: ids.filesystem,
            label: "root".into(),
        },
    )?;
    drop(staged);

    t.phase("verity");
    let mut manifest = Manifest::new();
    let root = verity_step(o, &ids, &fs_img, work.path(), progress)?;
    let cmdline = format!("{cmdline} {}", root.refs.kernel_params.cmdline)
        .trim()
        .to_string();
    manifest.verity = Some(root.refs.clone());
    let kernel_sha256 = push_component(
        &mut manifest,
        "kernel",
        o.kernel.as_deref(),
        kernel_bytes.as_deref(),
    );
    let (initrd_component, initrd_bytes) = initrd.unzip();
    // What a TDX direct boot measures of the initrd: its SHA-384 and size, as its component holds them.
    let tdx_initrd = initrd_component.as_ref().map(tdx_initrd_of);
    let initrd_sha256 = initrd_component.map(|c| {
        let sha256 = c.sha256.0;
        manifest.components.push(c);
        sha256
    });

    let (disk_path, disk_file, table) = match o.layout {
        Layout::Uki => {
            let (Some(stub), Some(kernel)) = (stub_bytes, kernel_bytes.take()) else {
                return Err(uki_needs_kernel_and_stub());
            };
            let inputs = UkiBytes {
                stub,
                kernel,
                initrd: initrd_bytes.flatten(),
                os_release: os_release_bytes,
            };
            let (uki, prediction) = uki_step(o, inputs, &cmdline, &mut manifest, &mut t)?;
            let disk = uki_disk(o, &ids, uki, root, work.path(), &mut t)?;
            if let (Some(fw), Some(tpm)) = (&firmware_pcrs, manifest.tpm.as_mut()) {
                t.phase("firmware-pcrs");
                // The boot disk is the image just written: its GPT is PCR 5's.
                steps::add_firmware_pcrs(tpm, &prediction, fw, Some(&disk.0), &steps::IMAGE_BANKS)?;
            }
            disk
        }
        Layout::Kata => {
            manifest.components.push(cmdline_component(&cmdline));
            t.phase("disk");
            kata_disk(o, &ids, root, work.path())?
        }
        Layout::Initrd => return Err(unreachable_layout()),
    };

    if let (Some(s), Some((fw_component, fw))) = (&o.snp, &firmware) {
        t.phase("snp");
        manifest.components.insert(0, fw_component.clone());
        let boot = kernel_sha256.map(|kernel_sha256| DirectBoot {
            kernel_sha256,
            initrd_sha256,
            cmdline: &cmdline,
        });
        // The UKI is loaded from disk by the firmware: the launch digest covers the firmware only.
        let boot = boot.as_ref().filter(|_| o.layout != Layout::Uki);
        manifest.snp.push(steps::snp_launch(s, fw, boot, progress)?);
    }
    if let (Some(p), Some((fw_component, fw))) = (&o.tdx, &tdx_firmware) {
        t.phase("tdx");
        // As for SEV-SNP: a UKI is loaded from disk (MRTD only); kata boots the kernel directly.
        let boot = match (&o.kernel, &kernel_bytes) {
            (Some(path), Some(k)) if o.layout == Layout::Kata => Some(TdxBoot {
                kernel: k,
                kernel_path: path,
                initrd: tdx_initrd,
                cmdline: &cmdline,
            }),
            _ => None,
        };
        let m = steps::tdx_launch(p, fw, boot)?;
        manifest
            .push_tdx(fw_component.clone(), &m)
            .map_err(|e| BuildError::Usage(format!("internal error: {e}")))?;
    }

    let size = disk_file.metadata().map_err(io_err(&o.output))?.len();
    manifest.image = Some(ImageInfo {
        layout: o.layout,
        filesystem: Some(o.fs),
        filesystem_uuid: (o.fs != FsType::Squashfs).then(|| ids.filesystem.to_string()),
        size,
        source_date_epoch: o.source_date_epoch,
        partition_table: Some(table),
    });
    t.end();
    manifest
        .validate()
        .map_err(|e| BuildError::Usage(format!("internal error: manifest invalid: {e}")))?;
    Ok(Built {
        manifest,
        cmdline: Some(cmdline),
        timings: t.timings,
        seed: Some(seed),
        output: Output::Staged {
            _work: work,
            file: disk_file,
            path: disk_path,
            dest: o.output.clone(),
        },
    })
}

/// The initrd layout: the staged tree packed as a newc archive (written atomically to the output), its
/// components, and the SEV-SNP launch digest and TDX measurement of a direct boot with it.
fn build_initrd(
    o: &BuildOptions,
    staged: &Path,
    cmdline: String,
    kernel_bytes: Option<&[u8]>,
    firmware: Option<(Component, Ovmf)>,
    tdx_firmware: Option<(Component, Vec<u8>)>,
    mut t: Timer<'_>,
) -> Result<Built, BuildError> {
    let mut manifest = Manifest::new();
    let epoch = o.source_date_epoch;
    let mut output = AtomicFile::create(&o.output).map_err(io_err(&o.output))?;
    t.phase("cpio");
    let epoch32 = u32::try_from(epoch).map_err(|_| {
        BuildError::Usage("SOURCE_DATE_EPOCH does not fit the 32-bit cpio mtime".into())
    })?;
    let w = std::io::BufWriter::new(output.file());
    let (mut w, _) = crate::newc::pack_tree(staged, epoch32, w).map_err(io_err(staged))?;
    w.flush().map_err(io_err(&o.output))?;
    drop(w);
    let size = output.file().metadata().map_err(io_err(&o.output))?.len();
    output
        .file()
        .seek(std::io::SeekFrom::Start(0))
        .map_err(io_err(&o.output))?;
    let c = Component::from_reader("initrd", file_name(&o.output).as_deref(), output.file())
        .map_err(io_err(&o.output))?;
    let initrd_sha256 = c.sha256.0;
    let tdx_initrd = tdx_initrd_of(&c);
    let mut kernel_sha256 = None;
    if let (Some(k), Some(bytes)) = (&o.kernel, kernel_bytes) {
        let kc = component("kernel", k, bytes);
        kernel_sha256 = Some(kc.sha256.0);
        manifest.components.push(kc);
    }
    manifest.components.push(c);
    if o.kernel.is_some() {
        manifest.components.push(cmdline_component(&cmdline));
    }
    if let (Some(s), Some((fw_component, fw))) = (&o.snp, firmware) {
        t.phase("snp");
        if let Some(kernel_sha256) = kernel_sha256 {
            manifest.components.insert(0, fw_component);
            // The digests of the kernel and of the initrd being written, as the components hold them.
            let boot = DirectBoot {
                kernel_sha256,
                initrd_sha256: Some(initrd_sha256),
                cmdline: &cmdline,
            };
            manifest
                .snp
                .push(steps::snp_launch(s, &fw, Some(&boot), t.progress)?);
        }
    }
    if let (Some(p), Some((fw_component, fw)), Some(k), Some(kernel)) =
        (&o.tdx, tdx_firmware, &o.kernel, kernel_bytes)
    {
        t.phase("tdx");
        // A direct boot of the kernel with the initrd being written and the command line.
        let boot = TdxBoot {
            kernel,
            kernel_path: k,
            initrd: Some(tdx_initrd),
            cmdline: &cmdline,
        };
        let m = steps::tdx_launch(p, &fw, Some(boot))?;
        manifest
            .push_tdx(fw_component, &m)
            .map_err(|e| BuildError::Usage(format!("internal error: {e}")))?;
    }
    manifest.image = Some(ImageInfo {
        layout: Layout::Initrd,
        filesystem: None,
        filesystem_uuid: None,
        size,
        source_date_epoch: epoch,
        partition_table: None,
    });
    t.end();
    let cmdline = o.kernel.as_ref().map(|_| cmdline);
    Ok(Built {
        manifest,
        cmdline,
        timings: t.timings,
        seed: None,
        output: Output::Atomic(output),
    })
}

/// The verity-protected root: the filesystem image, its hash tree, and what the manifest and the disk need.
struct Root {
    fs_img: PathBuf,
    hash_img: PathBuf,
    fs_len: u64,
    hash_len: u64,
    /// The filesystem image's writeback, started while it is hashed.
    writeback: std::thread::JoinHandle<std::io::Result<()>>,
    /// The kernel command-line forms (the systemd partition UUIDs).
    forms: yardstick_verity::kernel::KernelParams,
    /// The manifest's verity section.
    refs: VerityRefs,
}

impl Root {
    /// Waits for the filesystem image's writeback (its result only matters to the commit's fsync).
    fn written_back(&mut self) {
        let done = std::thread::spawn(|| Ok(()));
        let _ = std::mem::replace(&mut self.writeback, done).join();
    }
}

/// Formats the hash tree of the filesystem image (in `work`) and the kernel parameters that carry its root hash.
fn verity_step(
    o: &BuildOptions,
    ids: &Ids,
    fs_img: &Path,
    work: &Path,
    progress: &dyn Progress,
) -> Result<Root, BuildError> {
    let vparams = VerityParams {
        algorithm: Algorithm::Sha256,
        data_block_size: 4096,
        hash_block_size: 4096,
        salt: o.salt.clone().unwrap_or_else(|| ids.verity_salt.clone()),
        // Kata formats with --no-superblock (its kernel_verity_params carry everything); systemd reads the
        // superblock.
        superblock: o.layout == Layout::Uki,
        uuid: ids.verity_superblock,
    };
    let hash_img = work.join("rootfs.hash");
    // The filesystem image becomes the disk's root partition and is fsynced at the commit: write it back
    // while it is hashed (hashing reads the page cache), so that the commit finds it on disk already.
    let writeback = {
        let f = File::open(fs_img).map_err(io_err(fs_img))?;
        std::thread::spawn(move || f.sync_data())
    };
    let outcome = steps::verity_format(fs_img, &hash_img, &vparams, progress)?;
    let (forms, kparams) = steps::verity_kernel_params(o.layout, &o.disk_device, &outcome);
    let refs = VerityRefs {
        root_hash: outcome.root_hash.clone().into(),
        salt: vparams.salt.clone().into(),
        algorithm: vparams.algorithm,
        hash_type: 1,
        data_block_size: vparams.data_block_size,
        hash_block_size: vparams.hash_block_size,
        data_blocks: outcome.data_blocks,
        hash_offset: 0,
        hash_start_block: outcome.hash_start_block,
        superblock: vparams.superblock,
        uuid: vparams.superblock.then(|| vparams.uuid.to_string()),
        kernel_params: kparams,
    };
    let fs_len = std::fs::metadata(fs_img).map_err(io_err(fs_img))?.len();
    let hash_len = std::fs::metadata(&hash_img)
        .map_err(io_err(&hash_img))?
        .len();
    Ok(Root {
        fs_img: fs_img.to_path_buf(),
        hash_img,
        fs_len,
        hash_len,
        writeback,
        forms,
        refs,
    })
}

/// The UKI's inputs, each read once.
struct UkiBytes {
    stub: Vec<u8>,
    kernel: Vec<u8>,
    initrd: Option<Vec<u8>>,
    os_release: Option<Vec<u8>>,
}

/// Builds the UKI, records its inputs as components, and predicts its PCRs.
fn uki_step(
    o: &BuildOptions,
    inputs: UkiBytes,
    cmdline: &str,
    manifest: &mut Manifest,
    t: &mut Timer<'_>,
) -> Result<(Vec<u8>, yardstick_tpm::predict::Prediction), BuildError> {
    let (Some(kernel), Some(stub)) = (&o.kernel, &o.stub) else {
        return Err(uki_needs_kernel_and_stub());
    };
    t.phase("uki");
    let stub_component = component("stub", stub, &inputs.stub);
    let os_release_component = o
        .os_release
        .as_deref()
        .zip(inputs.os_release.as_deref())
        .map(|(p, b)| component("os-release", p, b));
    let uki = steps::build_uki(UkiInputs {
        stub: inputs.stub,
        stub_path: stub,
        kernel: inputs.kernel,
        kernel_path: kernel,
        initrd: inputs.initrd,
        cmdline,
        os_release: inputs.os_release,
    })?;
    manifest.components.push(stub_component);
    manifest.components.extend(os_release_component);
    manifest.components.push(cmdline_component(cmdline));
    // Named as it is on the ESP, not by the scratch file it was built in.
    manifest
        .components
        .push(Component::from_bytes("uki", Some("BOOTX64.EFI"), &uki));
    t.phase("pcrs");
    let (prediction, tpm) = steps::predict_pcrs_with_prediction(&uki)?;
    manifest.tpm = Some(tpm);
    Ok((uki, prediction))
}

/// One partition of a GPT disk, as written and as the manifest records it.
struct GptPart {
    role: PartitionRole,
    type_guid: Guid,
    uuid: Guid,
    name: &'static str,
    offset: u64,
    size: u64,
    attributes: u64,
}

/// The uki layout's disk: GPT, the ESP with the UKI as `\EFI\BOOT\BOOTX64.EFI`, the root partition and its
/// verity partition with the UUIDs systemd-veritysetup-generator looks for.
fn uki_disk(
    o: &BuildOptions,
    ids: &Ids,
    uki: Vec<u8>,
    mut root: Root,
    work: &Path,
    t: &mut Timer<'_>,
) -> Result<(PathBuf, File, PartitionTable), BuildError> {
    t.phase("esp");
    let mut fat = FatBuilder::new(ids.esp_volume_id, "ESP").epoch(o.source_date_epoch);
    fat.add_file("EFI/BOOT/BOOTX64.EFI", FileSource::Bytes(uki))?;
    let esp_size = round_up(fat.min_size()? + fat.min_size()? / 10, MIB).max(MIN_ESP);

    t.phase("disk");
    // The partition UUIDs systemd-veritysetup-generator looks for, from the same formatter as
    // `roothash=` (first / last 128 bits of the root hash).
    let partuuid = |u: &Option<String>| -> Result<Guid, BuildError> {
        u.as_deref()
            .and_then(|s| s.parse::<Guid>().ok())
            .ok_or_else(|| {
                BuildError::Usage(
                    "internal error: no systemd partition UUID for this root hash".into(),
                )
            })
    };
    let esp_off = MIB;
    let root_off = esp_off + esp_size;
    let root_size = round_up(root.fs_len, MIB);
    let hash_off = root_off + root_size;
    let hash_size = round_up(root.hash_len, MIB);
    let disk_size = hash_off + hash_size + MIB;
    let parts = [
        GptPart {
            role: PartitionRole::Esp,
            type_guid: types::ESP,
            uuid: ids.esp_partition,
            name: "esp",
            offset: esp_off,
            size: esp_size,
            attributes: 0,
        },
        GptPart {
            role: PartitionRole::Root,
            type_guid: types::ROOT_X86_64,
            uuid: partuuid(&root.forms.systemd_data_partuuid)?,
            name: "root-x86-64",
            offset: root_off,
            size: root_size,
            attributes: GPT_READ_ONLY,
        },
        GptPart {
            role: PartitionRole::RootVerity,
            type_guid: types::ROOT_VERITY_X86_64,
            uuid: partuuid(&root.forms.systemd_hash_partuuid)?,
            name: "root-x86-64-verity",
            offset: hash_off,
            size: hash_size,
            attributes: GPT_READ_ONLY,
        },
    ];
    let mut gpt = Gpt::new(ids.disk);
    for p in &parts {
        gpt.partitions.push(GptPartition {
            type_guid: p.type_guid,
            uuid: p.uuid,
            name: p.name.into(),
            first_lba: p.offset / SECTOR,
            last_lba: (p.offset + p.size) / SECTOR - 1,
            attributes: p.attributes,
        });
    }
    root.written_back();
    let (path, f) = disk_around(&root.fs_img, root_off, work)?;
    f.set_len(disk_size).map_err(io_err(&o.output))?;
    gpt.write(&f, disk_size)?;
    fat.write(&f, esp_off, esp_size)?;
    copy_into(&root.hash_img, &f, hash_off)?;
    let table = PartitionTable {
        kind: TableKind::Gpt,
        disk_id: gpt.disk_guid.to_string(),
        sector_size: SECTOR as u32,
        partitions: parts
            .iter()
            .enumerate()
            .map(|(i, p)| Partition {
                number: i as u32 + 1,
                role: p.role,
                type_id: p.type_guid.to_string(),
                uuid: Some(p.uuid.to_string()),
                label: Some(p.name.into()),
                offset: p.offset,
                size: p.size,
            })
            .collect(),
    };
    Ok((path, f, table))
}

/// The kata layout's disk: an MBR with the root partition (bootable, as kata's image_builder.sh sets it) and
/// its verity partition.
fn kata_disk(
    o: &BuildOptions,
    ids: &Ids,
    mut root: Root,
    work: &Path,
) -> Result<(PathBuf, File, PartitionTable), BuildError> {
    let root_off = MIB;
    let root_size = round_up(root.fs_len, MIB);
    let hash_off = root_off + root_size;
    // A filesystem of one data block has a hash tree of no levels (the root hash is that block's hash):
    // the hash partition is empty then, but an MBR cannot hold an empty partition, so it gets one MiB.
    let hash_size = round_up(root.hash_len.max(1), MIB);
    let disk_size = hash_off + hash_size;
    let sectors = |v: u64| {
        u32::try_from(v / SECTOR).map_err(|_| {
            BuildError::Usage("the kata layout's MBR cannot address past 2 TiB".into())
        })
    };
    let mbr = Mbr {
        disk_signature: ids.mbr_signature,
        partitions: vec![
            // kata's image_builder.sh: "set 1 boot on".
            MbrPartition {
                bootable: true,
                type_id: 0x83,
                first_lba: sectors(root_off)?,
                sectors: sectors(root_size)?,
            },
            MbrPartition {
                bootable: false,
                type_id: 0x83,
                first_lba: sectors(hash_off)?,
                sectors: sectors(hash_size)?,
            },
        ],
    };
    root.written_back();
    let (path, f) = disk_around(&root.fs_img, root_off, work)?;
    f.set_len(disk_size).map_err(io_err(&o.output))?;
    f.write_all_at(&mbr.to_sector()?, 0)
        .map_err(io_err(&o.output))?;
    copy_into(&root.hash_img, &f, hash_off)?;
    let part = |number: u32, role: PartitionRole, offset: u64, size: u64| Partition {
        number,
        role,
        type_id: "0x83".into(),
        uuid: None,
        label: None,
        offset,
        size,
    };
    let table = PartitionTable {
        kind: TableKind::Mbr,
        disk_id: format!("{:#010x}", mbr.disk_signature),
        sector_size: SECTOR as u32,
        partitions: vec![
            part(1, PartitionRole::Root, root_off, root_size),
            part(2, PartitionRole::RootVerity, hash_off, hash_size),
        ],
    };
    Ok((path, f, table))
}

/// The disk file with the filesystem image at byte `head`: the image file itself with `head` bytes of hole
/// inserted in front (`fallocate(FALLOC_FL_INSERT_RANGE)`, ext4 and XFS: the filesystem shifts its extents and
/// no data is copied), or, where the filesystem cannot do that (tmpfs, ...), a new file the image is copied
/// into.
fn disk_around(fs_img: &Path, head: u64, work: &Path) -> Result<(PathBuf, File), BuildError> {
    let f = File::options()
        .read(true)
        .write(true)
        .open(fs_img)
        .map_err(io_err(fs_img))?;
    match rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::INSERT_RANGE, 0, head) {
        Ok(()) => return Ok((fs_img.to_path_buf(), f)),
        Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
        }
        Err(e) => return Err(io_err(fs_img)(e.into())),
    }
    drop(f);
    let path = work.join("disk.img");
    let out = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_err(&path))?;
    copy_into(fs_img, &out, head)?;
    Ok((path, out))
}

fn unreachable_layout() -> BuildError {
    BuildError::Usage("internal error: initrd layout reached the disk step".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of making the disk file give the same bytes: the image at `head`, zeros before it. The
    /// insert path runs on the test's temporary directory (ext4 or XFS), the copy path on tmpfs
    /// (`/dev/shm`), which cannot insert ranges.
    #[test]
    fn disk_around_puts_the_image_after_a_hole() {
        let image: Vec<u8> = (0..3 * 4096u32).map(|i| (i % 251) as u8 + 1).collect();
        let mut dirs = vec![tempfile::tempdir().unwrap()];
        if let Ok(d) = tempfile::tempdir_in("/dev/shm") {
            dirs.push(d);
        }
        for dir in dirs {
            let fs_img = dir.path().join("fs.img");
            std::fs::write(&fs_img, &image).unwrap();
            let (path, f) = disk_around(&fs_img, 1 << 20, dir.path()).unwrap();
            drop(f);
            let disk = std::fs::read(&path).unwrap();
            assert_eq!(
                disk.len(),
                (1 << 20) + image.len(),
                "{}",
                dir.path().display()
            );
            assert!(disk[..1 << 20].iter().all(|b| *b == 0));
            assert_eq!(&disk[1 << 20..], &image[..]);
        }
    }
}
