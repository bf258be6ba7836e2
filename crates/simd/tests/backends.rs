//! Every kernel this CPU can run against the scalar kernel (and, for SHA-256, against ring), on many shapes
//! and pseudo-random inputs. Kernels the CPU cannot run are reported on stderr as
//! `simd: skipped avx512 (CPU lacks avx512bw)`, written past the test harness's output capture so that
//! every run says what it did not cover.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report

use std::io::Write as _;

use yardstick_simd::gf256::{self, RsStep};
use yardstick_simd::sha256::Batch;
use yardstick_simd::{Isa, Unavailable};

/// The instruction sets this CPU runs; reports the others (and the ones tested) on stderr.
fn backends(what: &str) -> Vec<Isa> {
    let mut stderr = std::io::stderr().lock();
    let mut run = Vec::new();
    for isa in Isa::ALL {
        match isa.check() {
            Ok(i) => run.push(i),
            Err(e) => {
                let _ = writeln!(stderr, "simd: skipped {isa} ({e})");
            }
        }
    }
    let names: Vec<&str> = run.iter().map(|i| i.name()).collect();
    let _ = writeln!(stderr, "simd: {what}: tested {}", names.join(", "));
    run
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn ring_sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[test]
fn isa_check_agrees_with_available() {
    for isa in Isa::ALL {
        assert_eq!(isa.check().is_ok(), isa.available(), "{isa}");
        if let Err(Unavailable { isa: i, feature }) = isa.check() {
            assert_eq!(i, isa);
            assert!(feature.starts_with("avx"), "{feature}");
        }
    }
    assert!(Isa::Scalar.available());
    assert!(Isa::best().available());
}

/// Message lengths around every block boundary, prefixes (salts) of 0..=256 bytes, suffixes, and batch sizes
/// that do and do not fill the lanes: every kernel equals ring's digest of the concatenation and the scalar
/// kernel's result.
#[test]
fn sha256_every_kernel_matches_ring_and_scalar() {
    let isas = backends("sha256");
    let lens = [
        0usize, 1, 3, 23, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 512, 1000, 4096,
    ];
    let prefixes = [0usize, 1, 20, 32, 55, 56, 63, 64, 65, 100, 128, 200, 256];
    let shapes = [
        (0usize, 1usize),
        (0, 7),
        (0, 8),
        (0, 9),
        (0, 16),
        (32, 17),
        (7, 33),
        (1, 15),
    ];
    let mut seed = 1;
    for &msg_len in &lens {
        for &pl in &prefixes {
            for &(sl, count) in &shapes {
                seed += 1;
                let prefix = bytes(seed, pl);
                let suffix = bytes(seed + 1000, sl);
                let buf = bytes(seed + 2000, msg_len * count);
                let scalar = Batch::new(Isa::Scalar, &prefix, &suffix, msg_len).unwrap();
                let mut want = vec![[0u8; 32]; count];
                assert_eq!(scalar.digest_chunks(&buf, &mut want), count);
                for (i, w) in want.iter().enumerate() {
                    let m = &buf[i * msg_len..(i + 1) * msg_len];
                    assert_eq!(
                        *w,
                        ring_sha256(&[&prefix, m, &suffix]),
                        "scalar msg_len {msg_len} prefix {pl} suffix {sl} message {i}/{count}"
                    );
                }
                for &isa in &isas {
                    let b = Batch::new(isa, &prefix, &suffix, msg_len).unwrap();
                    assert_eq!(b.isa(), isa);
                    assert_eq!(b.msg_len(), msg_len);
                    let mut out = vec![[0u8; 32]; count];
                    assert_eq!(b.digest_chunks(&buf, &mut out), count);
                    assert_eq!(
                        out, want,
                        "{isa} msg_len {msg_len} prefix {pl} suffix {sl} count {count}"
                    );
                }
            }
        }
    }
}

/// dm-verity's shape (4096-byte blocks, 32-byte salt first or last) on larger random batches, with ragged
/// counts and an `out` longer or shorter than the buffer.
#[test]
fn sha256_verity_shapes_and_counts() {
    let isas = backends("sha256 (verity shapes)");
    let bs = 4096;
    let salt = bytes(7, 32);
    let buf = bytes(8, 100 * bs + 123);
    for (prefix, suffix) in [(&salt[..], &[][..]), (&[][..], &salt[..])] {
        let mut want = vec![[0u8; 32]; 100];
        for (i, w) in want.iter_mut().enumerate() {
            *w = ring_sha256(&[prefix, &buf[i * bs..(i + 1) * bs], suffix]);
        }
        for &isa in &isas {
            let b = Batch::new(isa, prefix, suffix, bs).unwrap();
            for count in [1usize, 2, 8, 15, 16, 17, 31, 64, 99, 100] {
                let mut out = vec![[0u8; 32]; count];
                assert_eq!(b.digest_chunks(&buf[..count * bs], &mut out), count);
                assert_eq!(out[..], want[..count], "{isa} count {count}");
            }
            // More room than messages: only the whole messages of `buf` are hashed.
            let mut out = vec![[0xffu8; 32]; 120];
            assert_eq!(b.digest_chunks(&buf, &mut out), 100);
            assert_eq!(out[..100], want[..]);
            assert!(out[100..].iter().all(|d| *d == [0xff; 32]));
            // Fewer outputs than messages.
            let mut out = vec![[0u8; 32]; 5];
            assert_eq!(b.digest_chunks(&buf, &mut out), 5);
            assert_eq!(out[..], want[..5]);
        }
    }
}

/// Empty messages: every output slot gets `H(prefix || suffix)`.
#[test]
fn sha256_empty_messages() {
    for isa in backends("sha256 (empty messages)") {
        let b = Batch::new(isa, b"prefix", b"suffix", 0).unwrap();
        let mut out = vec![[0u8; 32]; 19];
        assert_eq!(b.digest_chunks(&[], &mut out), 19);
        let want = ring_sha256(&[b"prefixsuffix"]);
        assert!(out.iter().all(|d| *d == want), "{isa}");
    }
}

/// A scalar transcription of the step's definition, on explicit parity arrays (no ring of rows).
fn reference_step(p: &mut [u8], d: u8, consts: &[u8]) {
    let n = p.len();
    let fb = d ^ p[0];
    for j in 0..n - 1 {
        p[j] = p[j + 1] ^ gf256::mul(consts[j + 1], fb);
    }
    p[n - 1] = gf256::mul(consts[0], fb);
}

/// Every kernel equals the scalar kernel on random states, data and constants, for every number of parity
/// bytes veritysetup allows (and 1), block sizes that are and are not multiples of the vector width, several
/// groups and every head position.
#[test]
fn gf256_every_kernel_matches_scalar() {
    let isas = backends("gf256");
    let mut seed = 100;
    for roots in 1..=24usize {
        for bs in [1usize, 7, 32, 48, 64, 96, 128, 512, 4096] {
            for groups in [1usize, 3] {
                seed += 1;
                let mut consts = bytes(seed, roots);
                if roots > 2 {
                    consts[1] = 0;
                    consts[2] = 1;
                }
                let state0 = bytes(seed + 1, groups * roots * bs);
                let data = bytes(seed + 2, groups * bs);
                let head = (seed as usize) % roots;
                let scalar = RsStep::new(Isa::Scalar, &consts).unwrap();
                let mut want = state0.clone();
                scalar.step(&mut want, &data, bs, head);
                for &isa in &isas {
                    let s = RsStep::new(isa, &consts).unwrap();
                    assert_eq!(s.roots(), roots);
                    assert_eq!(s.isa(), isa);
                    let mut got = state0.clone();
                    s.step(&mut got, &data, bs, head);
                    assert_eq!(got, want, "{isa} roots {roots} bs {bs} groups {groups}");
                }
            }
        }
    }
}

/// Many steps in a row (the head advancing) against the definition applied codeword by codeword.
#[test]
fn gf256_steps_match_definition() {
    let isas = backends("gf256 (definition)");
    let bs = 256;
    for roots in [2usize, 5, 24] {
        let consts = bytes(roots as u64, roots);
        let blocks: Vec<Vec<u8>> = (0..40).map(|i| bytes(1000 + i, bs)).collect();
        let mut want = vec![vec![0u8; roots]; bs];
        for blk in &blocks {
            for (o, p) in want.iter_mut().enumerate() {
                reference_step(p, blk[o], &consts);
            }
        }
        for &isa in &isas {
            let s = RsStep::new(isa, &consts).unwrap();
            let mut rows = vec![0u8; roots * bs];
            let mut head = 0;
            for blk in &blocks {
                s.step(&mut rows, blk, bs, head);
                head = (head + 1) % roots;
            }
            for (o, p) in want.iter().enumerate() {
                let got: Vec<u8> = (0..roots)
                    .map(|j| rows[((head + j) % roots) * bs + o])
                    .collect();
                assert_eq!(&got, p, "{isa} roots {roots} byte {o}");
            }
        }
    }
}
