//! `yardstick pcr predict --firmware`: flags and error paths, without booting (the values are proven by
//! `boot_firmware_pcrs.rs`). Every refusal is exit 2; errors from the inputs are one line, never a panic.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]

#[path = "support/boot.rs"]
mod boot;
mod support;

use std::path::Path;
use std::process::Output;

use support::*;
use yardstick_common::hash::Algorithm;
use yardstick_common::qemu::QemuVersion;
use yardstick_tpm::predict::PredictedEventKind;
use yardstick_tpm::predict::firmware::{VmConfig, predict_firmware_volumes};
use yardstick_tpm::predict::ovmf_fv::main_volumes;

const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
/// iPXE's ROM for virtio-net (package ipxe-qemu).
const ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";

fn predict(args: &[&str]) -> Output {
    run(yardstick().args(["pcr", "predict"]).args(args))
}

fn with_firmware(firmware: &str, extra: &[&str]) -> Output {
    let mut a = vec![
        "--firmware",
        firmware,
        "--platform",
        "qemu-q35",
        "--memory",
        "1024",
        "--vcpus",
        "1",
    ];
    a.extend_from_slice(extra);
    predict(&a)
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn lists_pcrs_0_to_15_with_why_for_the_rest() {
    let o = with_firmware(OVMF_CODE, &["--bank", "sha256"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for pcr in 0..16 {
        assert!(
            text.contains(&format!("\n  {pcr:>2}: ")),
            "PCR {pcr} missing:\n{text}"
        );
    }
    for pcr in [8, 10, 14, 15] {
        assert!(text.contains(&format!("  {pcr:>2}: not measured by firmware/stub")));
    }
    assert!(text.contains("# PCR 1 not predicted: "), "{text}");
    assert!(
        text.contains("# PCR 5 not predicted: ") && text.contains("--disk"),
        "{text}"
    );
    assert!(
        text.contains("# PCR 4 not predicted: predicted with the UKI"),
        "{text}"
    );
}

#[test]
fn json_and_pcr_selection() {
    let v = json(&with_firmware(
        OVMF_CODE,
        &["--bank", "sha1,sha256", "--pcr", "0-3,6", "--json"],
    ));
    for bank in ["sha1", "sha256"] {
        let keys: Vec<&String> = v[bank].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["0", "2", "3", "6"], "{bank}");
    }
    let missing: Vec<&String> = v["not_predicted"].as_object().unwrap().keys().collect();
    assert_eq!(missing, ["1"]);
    assert!(v.get("pcr11_phases").is_none());
    // PCR 0 depends on memory and vCPUs (PlatformPei's globals in PEIFV); PCR 2 does not.
    let other = json(&run(yardstick().args([
        "pcr",
        "predict",
        "--firmware",
        OVMF_CODE,
        "--platform",
        "qemu-q35",
        "--memory",
        "512",
        "--vcpus",
        "2",
        "--bank",
        "sha256",
        "--pcr",
        "0,2",
        "--json",
    ])));
    assert_ne!(other["sha256"]["0"], v["sha256"]["0"]);
    assert_eq!(other["sha256"]["2"], v["sha256"]["2"]);
}

#[test]
fn memory_outside_the_model_refuses_pcr0_only() {
    // 978 GiB is the largest q35 guest QEMU starts with its default CPU (40 physical address bits).
    let o = predict(&[
        "--firmware",
        OVMF_CODE,
        "--platform",
        "qemu-q35",
        "--memory",
        "1001473",
        "--vcpus",
        "1",
        "--json",
    ]);
    let v = json(&o);
    let why = v["not_predicted"]["0"].as_str().unwrap();
    assert!(
        why.contains("up to 1001472 MiB") && why.contains("40 physical address bits"),
        "{why}"
    );
    assert!(v["sha256"].get("0").is_none());
    assert!(v["sha256"].get("2").is_some());
}

/// The SHA-256 digest of the PEIFV event predicted for `firmware`'s volumes at each (memory, vCPUs), the
/// volumes decompressed once (`pcr predict --firmware` does the same per run).
fn peifv_event_digests(firmware: &Path, vms: &[(u32, u32)]) -> Vec<String> {
    let vms: Vec<_> = vms
        .iter()
        .map(|&(m, c)| (m, c, QemuVersion::V10_0))
        .collect();
    peifv_event_digests_under(firmware, &vms)
}

/// [`peifv_event_digests`] with the QEMU version of each VM.
fn peifv_event_digests_under(firmware: &Path, vms: &[(u32, u32, QemuVersion)]) -> Vec<String> {
    let volumes = main_volumes(&std::fs::read(firmware).unwrap()).unwrap();
    vms.iter()
        .map(|&(memory_mib, vcpus, qemu_version)| {
            let vm = VmConfig {
                memory_mib,
                vcpus,
                qemu_version,
                ..VmConfig::default()
            };
            let p = predict_firmware_volumes(&volumes, &vm, &[Algorithm::Sha256]).unwrap();
            let e = p
                .events
                .iter()
                .find(|e| e.kind == PredictedEventKind::FirmwareVolume("PEIFV"))
                .unwrap_or_else(|| panic!("no PEIFV event at {memory_mib} MiB: {:?}", p.status));
            e.digests[0].to_hex()
        })
        .collect()
}

/// PEIFV as the model fills it equals, byte for byte, what the guest measured in every capture
/// (`scripts/capture-peifv.py`, QEMU 10.0.2 TCG q35 with its default CPU, `smm=off`; above 16 GiB with
/// `--no-reserve`): the SHA-256 of the saved PEIFV, which is the digest the guest extended into PCR 0. The
/// sizes cross every boundary of the 2022.11 model (`docs/firmware-pcrs.md`): more than 2 GiB below 4 GiB
/// (2049-2815 MiB), RAM above 4 GiB (from 2816), past 32 GiB (FirstNonAddress moves), past 864 GiB (the
/// classic 64-bit aperture) up to QEMU's largest; Debian 13's build is the same at every size.
#[test]
fn peifv_matches_every_capture_up_to_978_gib() {
    let d12 = "4c021933a6f530fb027434476cf80cddade4eb63f7334fa380baf53c4c25ca48";
    #[rustfmt::skip]
    let captures: &[(u32, u32, &str)] = &[
        (2048, 1, d12),
        (2049, 1, "63e67e41f9fc51ca89c4c997d6e7dbe18a3dfbce5e82ab190e7d0d8cb9ef2d87"),
        (2560, 1, "d6d50af9c348c23ffaba45cef655020e1d6dffc15905d5e0744c8e1a0c98b55e"),
        (2815, 1, "b84a25bab76d9c74a56d372ea1188fc840bb2c8d26b6f883e0091c3a117ab945"),
        (2816, 1, d12),
        (2817, 1, d12),
        (3072, 1, d12),
        (4096, 1, d12),
        (4096, 2, "76bbfa881e8b9956ce0a732a4866565c5a486c87c94220852eb476b30e5738cc"),
        (8192, 1, d12),
        (16384, 1, d12),
        (30720, 1, d12),
        (30721, 1, "002b5679fa4b65fb2b48fd6a15b95f2a268ec34ddd6156bd3aec37a790d9ae83"),
        (65536, 1, "773cb5f87e17b6ba8225698259c42b9641c40bc4d970625986f924ba3ff669b0"),
        (262144, 1, "b73b60eb58b4105ba9cc530a27e0635bf5917544649ca63281d594c34c4d5540"),
        (882688, 1, "4380f781e2637c4b0010c1b4c0cc7173f5bd4a5f2f44b564561ba3821650f34a"),
        (882689, 1, "2d1a4642e8a3f03acf43f76622dde5ab1db8e47d3fc04e558775801900617bb4"),
        (1001472, 1, "12a291cf8e3da13be66cb1c362f4c5f1bbab9f0b84c6c38d5a8e1466b4d21101"),
    ];
    let vms: Vec<(u32, u32)> = captures.iter().map(|&(m, c, _)| (m, c)).collect();
    let got = peifv_event_digests(Path::new(OVMF_CODE), &vms);
    for (&(memory, vcpus, want), got) in captures.iter().zip(&got) {
        assert_eq!(got, want, "Debian 12 at {memory} MiB, {vcpus} vCPUs");
    }
    let trixie = [2048, 2560, 4096, 8192, 30721, 65536, 882689, 1001472];
    let vms: Vec<(u32, u32)> = trixie.iter().map(|&m| (m, 1)).collect();
    let got = peifv_event_digests(
        &peer("ovmf-trixie/root/usr/share/OVMF/OVMF_CODE_4M.fd"),
        &vms,
    );
    for (memory, got) in trixie.iter().zip(&got) {
        assert_eq!(
            got, "a386f05738e11e7b8c253dc47b96bfc66d3d9ce62ee7b30ee3d4a6c5215e7e4e",
            "Debian 13 at {memory} MiB"
        );
    }
}

/// Debian 13's Secure Boot build (`OVMF_CODE_4M.secboot.fd` of edk2 2025.02, SMM): PEIFV as the model fills
/// it (SmmRelocationLib's patched template and globals, `docs/firmware-pcrs.md`) equals what the guest
/// measured in every capture (`scripts/capture-peifv.py --smm`, the digest the guest extended): every vCPU
/// count from 1 to 64 (the stack page's steps at 9, 26, 33, 43 and 61), memory from 256 MiB to 978 GiB
/// across q35's layouts (RAM above 4 GiB from 2816 MiB), under QEMU 10.0.2 and Debian 12's 7.2.22, which
/// differ in one field (where TCG delivered the relocation SMI). Another QEMU version is refused.
#[test]
fn secboot_2025_peifv_matches_every_capture() {
    const Q10: QemuVersion = QemuVersion::V10_0;
    const Q72: QemuVersion = QemuVersion::new(7, 2, 22);
    #[rustfmt::skip]
    let captures: &[(u32, u32, QemuVersion, &str)] = &[
        (1024, 1, Q10, "151ad6dc9385a797342bc184306c5e7c14064bab643c5f804bf03ccb0c9efa9e"),
        (1024, 2, Q10, "26555c47ec304fec3b043c450cdb34a7b35317a43d868afca0660d323c5911dd"),
        (1024, 3, Q10, "21c80d4050bade24238f267b002302f2f1b27857f821faf935799f89beafa88d"),
        (1024, 4, Q10, "2482620f4f70dad33ca06e1a51b7a84f0627589314bff11dd3253053596d8dcb"),
        (1024, 5, Q10, "0918602e6e6e8b155bc89121ba0998ce72f8e3ec3aed7999e19cdb57d36bdaa0"),
        (1024, 6, Q10, "30734688ff346067129427aacc8a7fe6f72dfcb3ebf03e93d6643695edd8524a"),
        (1024, 7, Q10, "5ae1eeb8042c77344b8f35baf2dd747189ffe373014c364f5b4f7ae8364f064b"),
        (1024, 8, Q10, "5e602165e5244b22da3c96f60e9ae5219ea8b99c8196815c5291ced6a10a853d"),
        (1024, 9, Q10, "8edfe1885dd04b5e3c7c28ed1629eb2606bef066ae0454148780546d6ea6179c"),
        (1024, 10, Q10, "c595b6d5c13302f529730146b8bad2da4bfac51caa8d1f72f057e9e2089fd31b"),
        (1024, 11, Q10, "366177bf569b936ee12e0cf7db79796c52a4799e09b93450de3be59d51786ea7"),
        (1024, 12, Q10, "576422da4770355f5e86a734f70479626aa3b86a9f8fe0ba607a565534693af5"),
        (1024, 13, Q10, "d6401d578f9195e11a643702a7c2a9ad8eb44d2ec796e809f1f272c2f53c63de"),
        (1024, 14, Q10, "eca97074beeb1e5abfbc72a7b3e962b77314e4bbb88e576c7653ea9805ed3b60"),
        (1024, 15, Q10, "05867120e26cab36fd36bf58ad45f8c93412adc50d81cddd5e36a6b5ce4365c7"),
        (1024, 16, Q10, "9daff7103509e2e5819fa106520a31d9f07f75dc1d5e948cec6c34415dc03350"),
        (1024, 17, Q10, "fc77be8f9c1492b6c2840d9c3b5896a7b88b4979a33edd8b687278974b58fc73"),
        (1024, 18, Q10, "9b7045d02019aed6fea1314f10195a3515d0f6a095a880403ccdd02ab2d97d9e"),
        (1024, 19, Q10, "70d023a6f717297486a114408640c4921a83257fc15691f95ed4c13b7ec98a4a"),
        (1024, 20, Q10, "e7d15396ca498ffc9c1e90e1016f00b2740fc868d195ee1a2d4b78c1cb081298"),
        (1024, 21, Q10, "4611a04dd67ca55b967b51f7fcbb4b39f0afc71ab1ac7cda30e2598bfc89e232"),
        (1024, 22, Q10, "bf37bc3b5081354b02d7c6100a6e30d7f880159544e1e9c25546bd524ce5fc40"),
        (1024, 23, Q10, "c6e37dc38979118fd4c5d205b4792739be0c444916fcefa9b13decddac2b3080"),
        (1024, 24, Q10, "ae24efcfe708ab3623c0395bf507e13f02a780ec445aa18e04d5bf9bf99ccf67"),
        (1024, 25, Q10, "8d38030b024388dc50b9b466d2f5f99f88c9d9c7b7171e1e2aa3fead80a09509"),
        (1024, 26, Q10, "24d40d4cea9afbd30e6e1bfa46485c793be06160af6bd1a888d130a773344637"),
        (1024, 27, Q10, "3c25ed80c8ca38356e8f7b1df612845aa63a240848026ed3dc94f48aeb504298"),
        (1024, 28, Q10, "ada5c183cabab2a19cf6c4fdf75f15799c6e3c993dbfdc19a46e04337a0420de"),
        (1024, 29, Q10, "c11edc6b9285077ca4df618ec62fb46d072fc48ff812a0b1eb0a3e6c953f847c"),
        (1024, 30, Q10, "cb96ccaecfcab9677a51edf30a44a44f63608513ee3ae5e048f68e461a1324b8"),
        (1024, 31, Q10, "62ac4d8040d3bcb58afff72dd1ac489881ab51e78222e3233e5a44a9ab83c9d3"),
        (1024, 32, Q10, "c8b434f9a6d68b3d77cd52ba9706a089fbadeffc7b15c1b06ecbca14812dd8eb"),
        (1024, 33, Q10, "a9ed8c6ce8faded376302943667dd650fb3f04aee710f0872334edac1de695b1"),
        (1024, 34, Q10, "02b4315fd6d767d29ad33373001cbd3efbb2690d90b56862819b27a75dd5897e"),
        (1024, 35, Q10, "a3296294777bc8cb36b7872a6dec3ca7f5cc614cbdce082b3cd855c1537aad0a"),
        (1024, 36, Q10, "7347fe911b8a4b992986386f8188f98f75d14195fef792989f30505562d2ad8b"),
        (1024, 37, Q10, "9856ff3f23ad3eba5b3a16f69c0b0dfebe2f9f54590582020c966e84e4a27635"),
        (1024, 38, Q10, "b70a4ab493ae03e017bf5553dbcf80d9d86575b47e26d724fcdd7941ea5a2944"),
        (1024, 39, Q10, "8be7ef4f8312a2d1cf127c766c1aa750159d6a8ae40d2950695ed4b8928363cf"),
        (1024, 40, Q10, "f1024570448287b5903ada487f046539f46f33d8646b207c9a75998b8eebecc9"),
        (1024, 41, Q10, "d6e868cb0331c470c45a7de5919c556a42be2c4ccf87f35af25b5953ae7a04fe"),
        (1024, 42, Q10, "fd75b615efa83728979cc27740d4cef32b3225bd3f8301ca046f5ad596969cb9"),
        (1024, 43, Q10, "943185580fdf318bac4844aa388f32eedab02bd4ede573922aaf8faf9928636f"),
        (1024, 44, Q10, "fc87751769a5d385f56f12dbf397caa8e8aed846f5a63f97c30a79f06c36df0a"),
        (1024, 45, Q10, "9f8847d9861e209396609672ba27cc35a3f2e807f5a02739ac88d7bc124ae2e3"),
        (1024, 46, Q10, "0585ddc1e3dafb4b8bc7d655147c81bc55717e6941b120ff96d1b0088b4376e2"),
        (1024, 47, Q10, "e2c507ea80d9ed1aa369cbbb12df5eb1fa0433f2c708adb846b28b8f7f70be31"),
        (1024, 48, Q10, "56987f59bfa7885036a9b0084c9e20bc7059e453b524b07d26b8e9986ecb8fb7"),
        (1024, 49, Q10, "a0451d30c42e1f67bb39625284ce0f87309de1e8b3a7171274ac024908b1a34e"),
        (1024, 50, Q10, "2bb49a77b2a14d95972df695d69137cccb01a6cb226fd527d42b0d6f3ab74a36"),
        (1024, 51, Q10, "2385d29cbe72e1e07bf2f5d6dac90222eddcfa1929e4749829ace7d340e5d13b"),
        (1024, 52, Q10, "77c61f451c5c078bd113cd7d415f22ddf7c9eb6806d07ddeb7ceee37105dfcab"),
        (1024, 53, Q10, "c867c1f19a243fc4b1c94e596f98f553c769ad1efbb7abde79f9014d89e11bc3"),
        (1024, 54, Q10, "1886aad449b864d2dc6d3925f5e9e242e531753b25af319ff80d3b6608442d3a"),
        (1024, 55, Q10, "8768b0ca8b278643f4eef59d01fdfcc7917b846e94822cdc43648543fc9665d4"),
        (1024, 56, Q10, "470329c34bc3b78e72851b3722de20ec7d7ab99c58b45cdd98915f379b7015b0"),
        (1024, 57, Q10, "897684951cfcd94682f6672f456bf853e7e53afc6a56ecbf224fc58268585bc8"),
        (1024, 58, Q10, "4d5fae0d9eeed53793958d8ebf77e2f97c8d09fc95d3c5659ac8ad966488f370"),
        (1024, 59, Q10, "8c8c9cfd5412a3b2b604710e7ac2cb6487398653fca4a5f273bc11ae41879052"),
        (1024, 60, Q10, "614ec6be4350c88cd36f2b14772ab3a84e49d39804f89e570cc5623133517183"),
        (1024, 61, Q10, "bdc5097d3069ef01a50f6c1402ece63c0159717e8ac93692002e7e45053f8a31"),
        (1024, 62, Q10, "f603568a4025a992536b5495c1dd2a79ed7d91da20060224a9103b6964c32ee5"),
        (1024, 63, Q10, "247142a4f77a5940bf290d4d4aa54dfdec09d6c6ed464a22c1b86abc7f14cc96"),
        (1024, 64, Q10, "b43d3cf27d61748ff87cdb51f9d5da89a76627ce330d0e1174341696529101ea"),
        (256, 1, Q10, "9f34b32b96b8c79d14e29a0d576251622d866ed74d5535a7f409c34031c6e3be"),
        (300, 3, Q10, "d74f627525424a4622e3d30ae34f25c6ccfebeb0c046b5bdff5e844e1d960407"),
        (384, 2, Q10, "9daaee045ab04f908e24852b5f14874b64e9dfac7e7188c9086aaca0bc1cd52d"),
        (512, 1, Q10, "b958617bf33b3bd716011aede8771f5a7d8b157c68d4d35c2bda318c6586d349"),
        (600, 33, Q10, "1d44d30e9b17e522e43408545129d5992f7d29af84e69cab4aefe90eba32ae6c"),
        (768, 16, Q10, "62fedb2bea241cb6db04ffb7224a96eb982e99e4d2cb12dfed4b1f2c61d202c5"),
        (1536, 5, Q10, "bb7e7a6702d675399d12afd68281d301a020f8d3869dd3ed508e71efaed11823"),
        (2048, 1, Q10, "d72e92b187cb13aeb5aeb11fd22732462301e13343baa9b52ee2d6ac3ac23a87"),
        (2560, 1, Q10, "d2ecc7223484e82ae3d9e3780d8193ceecdea5e2509bfec09b7bf96151b5dde6"),
        (2815, 1, Q10, "9b60faf676b6b161e6c39d0184fe3860b65267f254f748421dd8542e77fe2baf"),
        (2816, 1, Q10, "7b30e7176f112a8d899e4033bb6099e566bcfb954a1e16f45508da115c85053c"),
        (3072, 1, Q10, "7b30e7176f112a8d899e4033bb6099e566bcfb954a1e16f45508da115c85053c"),
        (3072, 64, Q10, "6b728f874094807c68a77018203b756894f9e81147ba65d4320801ec9eaef6d8"),
        (4000, 7, Q10, "808a12057cf6298e6cbe31e064e31e41174af9d3876b334850e2c3797bed44b2"),
        (4096, 1, Q10, "7b30e7176f112a8d899e4033bb6099e566bcfb954a1e16f45508da115c85053c"),
        (8192, 1, Q10, "7b30e7176f112a8d899e4033bb6099e566bcfb954a1e16f45508da115c85053c"),
        (65536, 1, Q10, "7b30e7176f112a8d899e4033bb6099e566bcfb954a1e16f45508da115c85053c"),
        (1001472, 1, Q10, "7b30e7176f112a8d899e4033bb6099e566bcfb954a1e16f45508da115c85053c"),
        (1024, 1, Q72, "f3502f87643f1eeb250ff0270568161e3294335eac4636695e527561e0efced0"),
        (1024, 2, Q72, "0f9e19086818c7fd550647a7a871038251d03b1a091c2ac31fa89abb5509830a"),
        (2048, 3, Q72, "cb1f77755e2a7e6b59e180733b99feb215225092c86e30ead5c73a046db43064"),
        (4096, 9, Q72, "b9cad8c49e5015e21e4b98c8fd0e002ea1f84e0f8d4ca7ab9dbcf5937f88e38e"),
    ];
    let firmware = peer("ovmf-trixie/root/usr/share/OVMF/OVMF_CODE_4M.secboot.fd");
    let vms: Vec<_> = captures.iter().map(|&(m, c, q, _)| (m, c, q)).collect();
    let got = peifv_event_digests_under(&firmware, &vms);
    for (&(memory, vcpus, qemu, want), got) in captures.iter().zip(&got) {
        assert_eq!(
            got, want,
            "Debian 13 secboot at {memory} MiB, {vcpus} vCPUs, QEMU {qemu}"
        );
    }
    // Every vCPU count 1-64 is in the table, under QEMU 10.
    for n in 1..=64 {
        assert!(
            captures
                .iter()
                .any(|&(m, c, q, _)| m == 1024 && c == n && q == Q10),
            "{n}"
        );
    }
    // QEMU 9.2 (not captured) and 128 MiB (below the captures): PCR 0 refused, naming why; the rest predicted.
    let fw = firmware.display().to_string();
    for (flags, why) in [
        (
            ["--memory", "1024", "--qemu-version", "9.2"],
            "not QEMU 9.2.0 (--qemu-version)",
        ),
        (
            ["--memory", "128", "--qemu-version", "10.0"],
            "modelled from 256 MiB",
        ),
    ] {
        let o = predict(&[
            "--firmware",
            &fw,
            "--platform",
            "qemu-q35",
            "--vcpus",
            "1",
            flags[0],
            flags[1],
            flags[2],
            flags[3],
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v = json(&o);
        assert!(v["sha256"].get("0").is_none(), "{flags:?}");
        assert!(v["sha256"].get("3").is_some(), "{flags:?}");
        let reason = v["not_predicted"]["0"].as_str().unwrap();
        assert!(reason.contains(why), "{flags:?}: {reason}");
    }
}

#[test]
fn refuses_what_is_not_modelled() {
    // A NIC without its ROM: PCR 2 refused (naming the flag and QEMU's ROM file), the rest predicted.
    let v = json(&with_firmware(
        OVMF_CODE,
        &["--nic", "virtio-net", "--json", "--pcr", "0-3"],
    ));
    assert!(v["sha256"].get("2").is_none());
    assert!(v["sha256"].get("0").is_some() && v["sha256"].get("3").is_some());
    let why = v["not_predicted"]["2"].as_str().unwrap();
    assert!(
        why.contains("--nic-rom") && why.contains("efi-virtio.rom"),
        "{why}"
    );
    let why = json(&with_firmware(OVMF_CODE, &["--nic", "e1000e", "--json"]))["not_predicted"]["2"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(why.contains("efi-e1000e.rom"), "{why}");
    // --nic-rom without a NIC.
    let err = assert_clean_failure(&with_firmware(OVMF_CODE, &["--nic-rom", ROM]), 2);
    assert!(
        err.contains("--nic-rom") && err.contains("needs a NIC"),
        "{err}"
    );
    // Clap refuses unknown values and missing companions (exit 2, its usage text).
    let o = predict(&[
        "--firmware",
        OVMF_CODE,
        "--platform",
        "pc",
        "--memory",
        "1",
        "--vcpus",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a modelled platform"));
    let o = predict(&["--firmware", OVMF_CODE]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--memory"));
    let o = predict(&["--memory", "1024"]);
    assert_eq!(o.status.code(), Some(2));
    let o = with_firmware(OVMF_CODE, &["--nic", "e1000"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn hostile_inputs_give_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let garbage = w.join("garbage.fd");
    std::fs::write(&garbage, b"not firmware at all").unwrap();
    let err = assert_clean_failure(&with_firmware(garbage.to_str().unwrap(), &[]), 2);
    assert!(err.contains("not an OVMF code file"), "{err}");

    // The real firmware cut short, and with its LZMA stream damaged.
    let code = std::fs::read(OVMF_CODE).unwrap();
    let cut = w.join("cut.fd");
    std::fs::write(&cut, &code[..code.len() / 3]).unwrap();
    assert_clean_failure(&with_firmware(cut.to_str().unwrap(), &[]), 2);
    let mut bad = code.clone();
    for b in &mut bad[0x200..0x2000] {
        *b ^= 0x5a;
    }
    let bad_path = w.join("bad.fd");
    std::fs::write(&bad_path, &bad).unwrap();
    assert_clean_failure(&with_firmware(bad_path.to_str().unwrap(), &[]), 2);

    assert_clean_failure(&with_firmware("/nonexistent/OVMF_CODE.fd", &[]), 2);

    // A NIC ROM that is no option ROM, or one cut short or with its headers damaged: one line naming it.
    let nic = |rom: &Path| {
        with_firmware(
            OVMF_CODE,
            &["--nic", "virtio-net", "--nic-rom", rom.to_str().unwrap()],
        )
    };
    let err = assert_clean_failure(&nic(&garbage), 2);
    assert!(
        err.contains("garbage.fd") && err.contains("not a PCI option ROM"),
        "{err}"
    );
    let rom = std::fs::read(ROM).unwrap();
    let rom_path = w.join("efi-virtio.rom");
    for (cut, what) in [
        (rom.len() / 2, "cut"),
        (0x12800 + 0x30, "cut in the EFI header"),
    ] {
        std::fs::write(&rom_path, &rom[..cut]).unwrap();
        let err = assert_clean_failure(&nic(&rom_path), 2);
        assert!(err.contains("efi-virtio.rom"), "{what}: {err}");
    }
    let mut bad = rom.clone();
    bad[0x12800 + 0x38..0x12800 + 0x3a].copy_from_slice(b"ZZ"); // the PE's MZ
    std::fs::write(&rom_path, &bad).unwrap();
    assert_clean_failure(&nic(&rom_path), 2);
    assert_clean_failure(&nic(Path::new("/dev/null")), 2);
    // A compressed EFI image is read but not modelled: PCR 2 refused, saying why.
    let mut compressed = rom.clone();
    compressed[0x12800 + 0xc] = 1;
    std::fs::write(&rom_path, &compressed).unwrap();
    let v = json(&with_firmware(
        OVMF_CODE,
        &[
            "--nic",
            "virtio-net",
            "--nic-rom",
            rom_path.to_str().unwrap(),
            "--json",
        ],
    ));
    let why = v["not_predicted"]["2"].as_str().unwrap();
    assert!(why.contains("compression type 1"), "{why}");
    // The real ROM: PCR 2 is its driver's event and the separator.
    let v = json(&with_firmware(
        OVMF_CODE,
        &[
            "--nic",
            "virtio-net",
            "--nic-rom",
            ROM,
            "--json",
            "--pcr",
            "2",
        ],
    ));
    assert!(v["sha256"].get("2").is_some(), "{v}");
    assert!(v["not_predicted"].get("2").is_none(), "{v}");
    let err = assert_clean_failure(
        &with_firmware(OVMF_CODE, &["--disk", "/nonexistent/disk.img"]),
        2,
    );
    assert!(err.contains("/nonexistent/disk.img"), "{err}");

    // A GPT header claiming a 4 GiB partition entry array .
    let disk = w.join("disk.img");
    let mut img = vec![0u8; 8192];
    img[512..520].copy_from_slice(b"EFI PART");
    img[512 + 12..512 + 16].copy_from_slice(&92u32.to_le_bytes());
    img[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
    img[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    img[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
    std::fs::write(&disk, &img).unwrap();
    let err = assert_clean_failure(
        &with_firmware(OVMF_CODE, &["--disk", disk.to_str().unwrap()]),
        2,
    );
    assert!(err.contains("entry array"), "{err}");
    // A disk without GPT: PCR 5 is predicted without a GPT event.
    std::fs::write(&disk, vec![0u8; 8192]).unwrap();
    let v = json(&with_firmware(
        OVMF_CODE,
        &["--disk", disk.to_str().unwrap(), "--json", "--pcr", "5"],
    ));
    assert!(v["sha256"].get("5").is_some());
    // With Debian's fresh VARS (no boot options), the disk of zeros (neither GPT nor a whole-disk FAT) has no
    // modelled boot option: PCR 1 is refused.
    let v = json(&with_firmware(
        OVMF_CODE,
        &[
            "--vars",
            "/usr/share/OVMF/OVMF_VARS_4M.fd",
            "--disk",
            disk.to_str().unwrap(),
            "--json",
            "--pcr",
            "1",
        ],
    ));
    assert!(v["sha256"].get("1").is_none());
    assert!(
        v["not_predicted"]["1"]
            .as_str()
            .unwrap()
            .contains("without GPT")
    );
    assert!(Path::new(OVMF_CODE).exists());
}

/// A firmware built without Secure Boot support (Debian 13's `OVMF_CODE_4M.fd`: no SecureBootConfigDxe in
/// DXEFV) measures the SecureBoot variable as absent: PCR 7 is predicted that way (the boots prove the value),
/// unlike Debian 12's; with a VARS enrolling keys (the UKI prediction has Secure Boot on) PCRs 4 and 7 are
/// refused, since that firmware enforces nothing.
#[test]
fn secure_boot_support_is_read_from_the_firmware() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let initrd = w.join("initrd.cpio");
    std::fs::write(&initrd, boot::busybox_initrd(&boot::GuestScript::default())).unwrap();
    let unsigned = w.join("uki-unsigned.efi");
    run_ok(
        yardstick()
            .args([
                "uki",
                "build",
                "--stub",
                "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
            ])
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(&initrd)
            .args(["--cmdline", "console=ttyS0", "--output"])
            .arg(&unsigned),
    );
    let signed = w.join("uki.efi");
    boot::sign_snakeoil(&unsigned, &signed, w);
    let trixie = peer("ovmf-trixie/root/usr/share/OVMF/OVMF_CODE_4M.fd");
    let trixie = trixie.to_str().unwrap();
    let pcr7 = |firmware: &str| {
        let v = json(&with_firmware(
            firmware,
            &[
                "--uki",
                unsigned.to_str().unwrap(),
                "--json",
                "--pcr",
                "4,7",
            ],
        ));
        assert!(v["not_predicted"].as_object().unwrap().is_empty(), "{v}");
        (v["sha256"]["4"].clone(), v["sha256"]["7"].clone())
    };
    let (pcr4_12, pcr7_12) = pcr7(OVMF_CODE);
    let (pcr4_13, pcr7_13) = pcr7(trixie);
    assert_eq!(pcr4_12, pcr4_13);
    assert_ne!(pcr7_12, pcr7_13, "the SecureBoot event differs");
    // Debian 12's VARS with the snakeoil keys on a firmware without Secure Boot support: PCRs 4 and 7 refused.
    let v = json(&with_firmware(
        trixie,
        &[
            "--uki",
            signed.to_str().unwrap(),
            "--vars",
            boot::SNAKEOIL_VARS,
            "--json",
            "--pcr",
            "4,7,9",
        ],
    ));
    for pcr in ["4", "7"] {
        assert!(v["sha256"].get(pcr).is_none(), "{v}");
        let why = v["not_predicted"][pcr].as_str().unwrap();
        assert!(why.contains("no Secure Boot support"), "{why}");
    }
    assert!(v["sha256"].get("9").is_some(), "{v}");
    // The same VARS with Debian 12's Secure Boot build: all predicted.
    let v = json(&with_firmware(
        "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
        &[
            "--uki",
            signed.to_str().unwrap(),
            "--vars",
            boot::SNAKEOIL_VARS,
            "--json",
            "--pcr",
            "0,1,4,7",
        ],
    ));
    assert!(
        v["not_predicted"].as_object().unwrap().get("4").is_none(),
        "{v}"
    );
    assert!(v["sha256"].get("7").is_some(), "{v}");
}

/// `--fw-cfg`: Debian 13's PCR 1 takes QEMU's ACPI blobs from a copy of a guest's
/// /sys/firmware/qemu_fw_cfg/by_name (the boots prove the values); without it PCR 1 is refused naming the flag;
/// a missing blob or a loader allocating an unmodelled blob is one error line, exit 2.
#[test]
fn fw_cfg_acpi_blobs_for_pcr1() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let disk = w.join("disk.img");
    let mut img = vec![0u8; 4096];
    img[0x52..0x55].copy_from_slice(b"FAT");
    img[510] = 0x55;
    img[511] = 0xaa;
    std::fs::write(&disk, &img).unwrap();
    let trixie = peer("ovmf-trixie/root/usr/share/OVMF/OVMF_CODE_4M.fd");
    let trixie = trixie.to_str().unwrap();
    let put = |name: &str, data: &[u8]| {
        let d = w.join("by_name").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("raw"), data).unwrap();
    };
    let loader = |names: &[&str]| {
        let mut l = vec![0u8; 4096];
        for (i, n) in names.iter().enumerate() {
            l[i * 128..i * 128 + 4].copy_from_slice(&1u32.to_le_bytes());
            l[i * 128 + 4..i * 128 + 4 + n.len()].copy_from_slice(n.as_bytes());
        }
        l
    };
    put(
        "etc/table-loader",
        &loader(&["etc/acpi/rsdp", "etc/tpm/log", "etc/acpi/tables"]),
    );
    put("etc/acpi/rsdp", b"RSD PTR \0BOCHS \0\0\0\0\0");
    put("etc/tpm/log", &[0u8; 65536]);
    let fw_cfg = w.join("by_name");
    let args = |extra: &[&str]| {
        let mut a = vec!["--disk", disk.to_str().unwrap(), "--pcr", "1", "--json"];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run_with = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        with_firmware(trixie, &refs)
    };
    // Without --fw-cfg: refused, naming the flag.
    let v = json(&run_with(args(&[])));
    let why = v["not_predicted"]["1"].as_str().unwrap();
    assert!(why.contains("--fw-cfg"), "{why}");
    // A blob the loader allocates is missing: an error naming it.
    let err = assert_clean_failure(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])), 2);
    assert!(err.contains("etc/acpi/tables/raw"), "{err}");
    put("etc/acpi/tables", &[0x41u8; 4096]);
    let v = json(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])));
    assert!(v["sha256"].get("1").is_some(), "{v}");
    assert!(v["not_predicted"].get("1").is_none(), "{v}");
    // Debian 12's OVMF does not measure the blobs: giving them is an error.
    let err = assert_clean_failure(
        &with_firmware(
            OVMF_CODE,
            &[
                "--disk",
                disk.to_str().unwrap(),
                "--fw-cfg",
                fw_cfg.to_str().unwrap(),
            ],
        ),
        2,
    );
    assert!(err.contains("does not measure them"), "{err}");
    // The blobs are measured: another tables blob, another PCR 1.
    let before = v["sha256"]["1"].clone();
    put("etc/acpi/tables", &[0x42u8; 4096]);
    let v = json(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])));
    assert_ne!(v["sha256"]["1"], before);
    // A loader allocating vmgenid's blob: not modelled, exit 2.
    put(
        "etc/table-loader",
        &loader(&["etc/acpi/rsdp", "etc/vmgenid_guid"]),
    );
    let err = assert_clean_failure(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])), 2);
    assert!(
        err.contains("etc/vmgenid_guid") && err.contains("not modelled"),
        "{err}"
    );
    // Not a loader at all.
    put("etc/table-loader", b"garbage");
    assert_clean_failure(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])), 2);
    assert_clean_failure(&run_with(args(&["--fw-cfg", "/nonexistent"])), 2);
}
