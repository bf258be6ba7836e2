//! Differential: the multi-buffer SHA-256 kernels (every backend this CPU has, through `BatchHasher` and
//! `yardstick_simd::sha256::Batch`) against ring, message by message, for arbitrary prefix, suffix, message
//! length and data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_common::hash::Algorithm;
use yardstick_common::hash::multi::{Backend, BatchHasher};
use yardstick_simd::Isa;
use yardstick_simd::sha256::Batch;

fn ring_sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

fuzz_target!(|data: &[u8]| {
    // Layout: [prefix_len, suffix_len, msg_len_lo, msg_len_hi, count] then prefix, suffix, messages.
    let Some((head, rest)) = data.split_first_chunk::<5>() else {
        return;
    };
    let prefix_len = usize::from(head[0]);
    let suffix_len = usize::from(head[1]);
    let msg_len = usize::from(u16::from_le_bytes([head[2], head[3]]) % 2048);
    let count = usize::from(head[4] % 40);
    if rest.len() < prefix_len + suffix_len {
        return;
    }
    let (prefix, rest) = rest.split_at(prefix_len);
    let (suffix, buf) = rest.split_at(suffix_len);
    let expect: Vec<Vec<u8>> = (0..count)
        .map_while(|i| {
            let m = buf.get(i * msg_len..(i + 1) * msg_len)?;
            Some(ring_sha256(&[prefix, m, suffix]))
        })
        .collect();
    let n = if msg_len == 0 { count } else { expect.len() };
    let expect: Vec<Vec<u8>> = if msg_len == 0 {
        vec![ring_sha256(&[prefix, suffix]); count]
    } else {
        expect
    };

    for backend in Backend::ALL.into_iter().filter(|b| b.available()) {
        let h = BatchHasher::with_backend(Algorithm::Sha256, prefix, suffix, msg_len, backend);
        assert_eq!(h.backend(), backend);
        let mut out = vec![Algorithm::Sha256.zero(); count];
        assert_eq!(h.digest_chunks(buf, &mut out), n, "{backend:?}");
        for (i, e) in expect.iter().enumerate() {
            assert_eq!(out[i].as_ref(), &e[..], "{backend:?} message {i}");
        }
        if let Some(m) = buf.get(..msg_len) {
            assert_eq!(
                h.digest_one(m).as_ref(),
                &ring_sha256(&[prefix, m, suffix])[..]
            );
        }
    }
    for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
        let Ok(b) = Batch::new(isa, prefix, suffix, msg_len) else {
            continue;
        };
        let mut out = vec![[0u8; 32]; count];
        assert_eq!(b.digest_chunks(buf, &mut out), n, "{isa:?}");
        for (i, e) in expect.iter().enumerate() {
            assert_eq!(&out[i][..], &e[..], "{isa:?} message {i}");
        }
    }
});
