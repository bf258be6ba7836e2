//! `yardstick uki build` against ukify 254 (bookworm-backports systemd, run with the venv's pefile) and, for
//! systemd-stub 257, ukify 257 (Debian 13's `systemd-ukify`) for the same inputs: section by section (headers and contents, read back with pefile, an independent PE parser),
//! then the whole files byte for byte. Also `yardstick uki inspect` against pefile's view of the same files.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

const STUB_252: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/// pefile's view of a PE file: one line per section with its header fields and the SHA-256 of its
/// VirtualSize-long contents, plus the header fields ukify rewrites.
fn pefile_dump(pe: &Path) -> String {
    const SCRIPT: &str = r#"
import hashlib, sys, pefile
pe = pefile.PE(sys.argv[1], fast_load=True)
d = open(sys.argv[1], 'rb').read()
oh = pe.OPTIONAL_HEADER
print('file', len(d), 'sections', pe.FILE_HEADER.NumberOfSections, 'chars', hex(pe.FILE_HEADER.Characteristics),
      'symtab', pe.FILE_HEADER.PointerToSymbolTable, 'image', hex(oh.SizeOfImage), 'headers', oh.SizeOfHeaders,
      'initdata', oh.SizeOfInitializedData, 'checksum', oh.CheckSum)
for s in pe.sections:
    raw = d[s.PointerToRawData:s.PointerToRawData + s.SizeOfRawData]
    body = (raw + bytes(max(0, s.Misc_VirtualSize - len(raw))))[:s.Misc_VirtualSize]
    print(s.Name.rstrip(b'\0').decode(), hex(s.VirtualAddress), s.Misc_VirtualSize, hex(s.PointerToRawData),
          s.SizeOfRawData, hex(s.Characteristics), hashlib.sha256(body).hexdigest())
"#;
    run_ok(
        Command::new(peer("venv/bin/python"))
            .args(["-c", SCRIPT])
            .arg(pe),
    )
}

/// One set of inputs, given to both tools with the same flags.
struct Case {
    name: &'static str,
    stub: PathBuf,
    args: Vec<String>,
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}

/// Deterministic pseudo-random bytes (xorshift) so that initrd sizes and contents are not special.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn cases(dir: &Path) -> Vec<Case> {
    let kernel_path = kernel();
    let kernel = kernel_path.display().to_string();
    // The same kernel with IMAGE_DLLCHARACTERISTICS_NX_COMPAT cleared in its optional header.
    let kernel_without_nx = {
        let mut k = std::fs::read(&kernel_path).unwrap();
        let pe = u32::from_le_bytes(k[0x3c..0x40].try_into().unwrap()) as usize;
        let off = pe + 24 + 70;
        let v = u16::from_le_bytes([k[off], k[off + 1]]);
        assert_ne!(v & 0x100, 0, "the Debian kernel is NX_COMPAT");
        k[off..off + 2].copy_from_slice(&(v & !0x100).to_le_bytes());
        write(dir, "vmlinuz-no-nx", &k)
    };
    let initrd_a = write(dir, "initrd-a", &noise(100_001, 1));
    let initrd_b = write(dir, "initrd-b", &noise(3_002, 2));
    let initrd_c = write(dir, "initrd-c", &noise(77, 3));
    let cmdline = write(dir, "cmdline", b"console=ttyS0 root=/dev/vda2 ro quiet\n");
    let osrel = write(
        dir,
        "os-release",
        b"ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian 12\"\n",
    );
    let dtb = write(dir, "board.dtb", &noise(1_234, 4));
    let splash = write(dir, "splash.bmp", &noise(5_000, 5));
    let sbat = write(
        dir,
        "extra.sbat",
        b"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nyardstick,1,Test,yardstick,1,https://example.invalid/\n",
    );
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        Case {
            name: "254: one initrd, @cmdline, @os-release, uname from the kernel",
            stub: stub_254(),
            args: s(&[
                "--linux",
                &kernel,
                "--initrd",
                &initrd_a,
                &format!("--cmdline=@{cmdline}"),
                &format!("--os-release=@{osrel}"),
            ]),
        },
        Case {
            name: "254: three initrds, TEXT cmdline with extra whitespace, TEXT os-release, no .uname",
            stub: stub_254(),
            args: s(&[
                "--linux",
                &kernel,
                "--initrd",
                &initrd_a,
                "--initrd",
                &initrd_b,
                "--initrd",
                &initrd_c,
                "--cmdline=  console=ttyS0   quiet \t rw ",
                "--os-release=ID=test\n",
                "--uname=",
            ]),
        },
        Case {
            name: "252 (symbol table tail, 512-byte section alignment): dtb, splash, extra SBAT",
            stub: PathBuf::from(STUB_252),
            args: s(&[
                "--linux",
                &kernel,
                "--initrd",
                &initrd_b,
                &format!("--cmdline=@{cmdline}"),
                &format!("--os-release=@{osrel}"),
                "--devicetree",
                &dtb,
                "--splash",
                &splash,
                &format!("--sbat=@{sbat}"),
            ]),
        },
        Case {
            name: "257: one initrd, @cmdline, @os-release, uname from the kernel (.linux before .initrd)",
            stub: stub_257(),
            args: s(&[
                "--linux",
                &kernel,
                "--initrd",
                &initrd_a,
                &format!("--cmdline=@{cmdline}"),
                &format!("--os-release=@{osrel}"),
            ]),
        },
        Case {
            name: "257: kernel without NX_COMPAT (cleared in the UKI too), two initrds, dtb, splash, extra SBAT",
            stub: stub_257(),
            args: s(&[
                "--linux",
                &kernel_without_nx,
                "--initrd",
                &initrd_b,
                "--initrd",
                &initrd_c,
                &format!("--cmdline=@{cmdline}"),
                &format!("--os-release=@{osrel}"),
                "--devicetree",
                &dtb,
                "--splash",
                &splash,
                &format!("--sbat=@{sbat}"),
            ]),
        },
        Case {
            name: "254: kernel and os-release only, custom uname",
            stub: stub_254(),
            args: s(&[
                "--linux",
                &kernel,
                &format!("--os-release=@{osrel}"),
                "--uname=6.1.0-test",
            ]),
        },
    ]
}

#[test]
fn uki_build_matches_ukify_section_by_section() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    assert_eq!(cases.len(), 6);
    for (i, case) in cases.iter().enumerate() {
        let ours = dir.path().join(format!("yardstick-{i}.efi"));
        let theirs = dir.path().join(format!("ukify-{i}.efi"));
        yardstick_uki_build(&case.stub, &case.args, &ours);
        ukify_build(&case.stub, &case.args, &theirs);
        let (a, b) = (pefile_dump(&ours), pefile_dump(&theirs));
        let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
        assert_eq!(
            la.len(),
            lb.len(),
            "{}: section count\nyardstick:\n{a}\nukify:\n{b}",
            case.name
        );
        for (x, y) in la.iter().zip(&lb) {
            assert_eq!(
                x, y,
                "{}: section differs\nyardstick: {x}\nukify:     {y}",
                case.name
            );
        }
        let (fa, fb) = (
            std::fs::read(&ours).unwrap(),
            std::fs::read(&theirs).unwrap(),
        );
        assert!(
            fa == fb,
            "{}: files differ outside the section table",
            case.name
        );
        // Reproducible: a second build gives the same bytes.
        let again = dir.path().join(format!("again-{i}.efi"));
        yardstick_uki_build(&case.stub, &case.args, &again);
        assert!(
            std::fs::read(&again).unwrap() == fa,
            "{}: not reproducible",
            case.name
        );
    }
}

/// `uki inspect --json` reports the same sections, sizes and SHA-256 as pefile, the stub version from
/// `.sdmagic`, and the PCR 11 order of that stub generation.
#[test]
fn uki_inspect_agrees_with_pefile() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    for (i, case) in cases.iter().enumerate() {
        let theirs = dir.path().join(format!("ukify-{i}.efi"));
        ukify_build(&case.stub, &case.args, &theirs);
        let dump = pefile_dump(&theirs);
        let j: serde_json::Value = serde_json::from_str(&run_ok(
            yardstick().args(["uki", "inspect", "--json"]).arg(&theirs),
        ))
        .unwrap();
        let secs = j["sections"].as_array().unwrap();
        let lines: Vec<&str> = dump.lines().skip(1).collect();
        assert_eq!(secs.len(), lines.len(), "{}", case.name);
        for (s, line) in secs.iter().zip(lines) {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(s["name"], f[0], "{}", case.name);
            assert_eq!(
                s["virtual_size"].as_u64().unwrap().to_string(),
                f[2],
                "{}",
                case.name
            );
            assert_eq!(
                s["raw_size"].as_u64().unwrap().to_string(),
                f[4],
                "{}",
                case.name
            );
            // pefile's hash of the VirtualSize-long body; the 252 stub's .sbat grows into .sdmagic's virtual
            // range, where yardstick reports the bytes as loaded (later section wins), pefile the raw ones.
            if !(case.stub.as_path() == Path::new(STUB_252) && f[0] == ".sbat") {
                assert_eq!(s["sha256"], f[6], "{}: {}", case.name, f[0]);
            }
        }
        let want_gen = if case.stub.as_path() == Path::new(STUB_252) {
            "252"
        } else if case.stub == stub_257() {
            "257"
        } else {
            "254"
        };
        assert_eq!(j["stub_generation"], want_gen);
        assert!(
            j["stub_version"].as_str().unwrap().starts_with(want_gen),
            "{j}"
        );
        assert_eq!(j["pcr11_order"][0], ".linux");
    }
}
