//! Differential: `hash::file_jobs` (one pass over a file, chunked, shared by the workers, pair kernels where the
//! measurement chose them) against `Algorithm::digest_parts` of the same bytes, for arbitrary layouts: ranges
//! that cross chunk edges, go backwards, overlap, run past the end of the file (an error, never a panic or a
//! wrong digest), memory parts between them.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use yardstick_common::hash::Algorithm;
use yardstick_common::hash::file_jobs::{CHUNK, Part, digest_file_jobs};

fuzz_target!(|data: &[u8]| {
    // Layout: [size: 3 bytes] then 6-byte part records, then the bytes the file is tiled from (and memory
    // parts are cut from). Record: [job, kind, offset: 2 bytes, len: 2 bytes]; offsets and lengths are scaled
    // so that ranges reach across the 512 KiB chunks.
    let Some((head, rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let size =
        (usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2] & 0x1f) << 16)
            .min(CHUNK * 3);
    let nrec = rest.len() / 12;
    let (records, pattern) = rest.split_at(nrec * 6);
    if pattern.is_empty() {
        return;
    }
    let bytes: Vec<u8> = pattern.iter().copied().cycle().take(size).collect();
    let Ok(mut file) = tempfile::tempfile() else {
        return;
    };
    if file.write_all(&bytes).is_err() {
        return;
    }
    let mut jobs: Vec<(Algorithm, Vec<Part<'_>>)> = Vec::new();
    for r in records.chunks_exact(6) {
        let job = usize::from(r[0] % 8);
        while jobs.len() <= job {
            let alg = Algorithm::ALL[jobs.len() % 4];
            jobs.push((alg, Vec::new()));
        }
        let a = u64::from(u16::from_le_bytes([r[2], r[3]]));
        let b = u64::from(u16::from_le_bytes([r[4], r[5]]));
        let part = if r[1] & 1 == 1 {
            let s = (a as usize) % pattern.len();
            let e = (s + b as usize % 300).min(pattern.len());
            Part::Mem(&pattern[s..e])
        } else {
            let scale = u64::from(r[1] >> 1) + 1;
            Part::File {
                offset: a * scale,
                len: b * scale / 4,
            }
        };
        jobs[job].1.push(part);
    }
    if jobs.is_empty() {
        return;
    }
    let refs: Vec<(Algorithm, &[Part<'_>])> = jobs.iter().map(|(a, p)| (*a, &p[..])).collect();
    let past_end = jobs.iter().flat_map(|(_, p)| p).any(|p| match *p {
        Part::File { offset, len } => len > 0 && offset + len > bytes.len() as u64,
        Part::Mem(_) => false,
    });
    match digest_file_jobs(&file, &refs) {
        Err(_) => assert!(past_end, "error without a range past the end"),
        Ok(got) => {
            assert!(!past_end, "a range past the end hashed");
            for ((alg, parts), d) in jobs.iter().zip(&got) {
                let want: Vec<&[u8]> = parts
                    .iter()
                    .map(|p| match *p {
                        Part::Mem(m) => m,
                        // An empty range is empty wherever it points (even past the end).
                        Part::File { len: 0, .. } => &[],
                        Part::File { offset, len } => {
                            &bytes[offset as usize..(offset + len) as usize]
                        }
                    })
                    .collect();
                assert_eq!(*d, alg.digest_parts(&want));
            }
        }
    }
});
