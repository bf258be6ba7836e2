//! A tar rootfs for `image build` on arbitrary bytes: it is refused with an error or extracted, never panics,
//! and nothing is ever written outside the scratch directory (no `..`, absolute path, symlink or hard-link
//! escape).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_image::rootfs::RootfsSource;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let outside = dir.path().join("outside");
    let scratch = outside.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let tar = outside.join("in.tar");
    std::fs::write(&tar, data).unwrap();
    if let Ok(source) = RootfsSource::detect(&tar) {
        // Without device nodes (no CAP_MKNOD assumed); the staged tree is removed when dropped.
        let staged = source.stage(&scratch, false);
        // Whatever happened, `outside` holds only the archive and the scratch directory, and the scratch
        // directory only what staging made (a `.yardstick-rootfs.*` tree, removed with `staged`).
        let mut names: Vec<_> = std::fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["in.tar", "scratch"], "an entry escaped the scratch directory");
        drop(staged);
    }
    // Nothing beside the temporary directory either.
    assert!(!dir.path().join("escaped").exists());
});
