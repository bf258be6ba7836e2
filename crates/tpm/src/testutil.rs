//! Builders for synthetic event logs, shared by the unit tests and (with the `test-util` feature) by the CLI's
//! integration tests. Not part of the supported API.

/// Builds a crypto-agile log: header with `banks` (id, size), then events (pcr, type, digests, data).
#[allow(clippy::type_complexity)]
pub fn agile_log<D: AsRef<[u8]>>(
    banks: &[(u16, u16)],
    events: &[(u32, u32, Vec<(u16, Vec<u8>)>, D)],
) -> Vec<u8> {
    let mut spec = b"Spec ID Event03\0".to_vec();
    spec.extend(0u32.to_le_bytes());
    spec.extend([0, 2, 0, 2]);
    spec.extend((banks.len() as u32).to_le_bytes());
    for (id, size) in banks {
        spec.extend(id.to_le_bytes());
        spec.extend(size.to_le_bytes());
    }
    spec.push(0);
    let mut out = Vec::new();
    out.extend(0u32.to_le_bytes());
    out.extend(3u32.to_le_bytes());
    out.extend([0u8; 20]);
    out.extend((spec.len() as u32).to_le_bytes());
    out.extend(spec);
    for (pcr, ty, digests, data) in events {
        out.extend(pcr.to_le_bytes());
        out.extend(ty.to_le_bytes());
        out.extend((digests.len() as u32).to_le_bytes());
        for (id, d) in digests {
            out.extend(id.to_le_bytes());
            out.extend(d);
        }
        let data = data.as_ref();
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
    }
    out
}

/// A legacy SHA-1 record.
pub fn legacy_record(pcr: u32, ty: u32, digest: [u8; 20], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(pcr.to_le_bytes());
    out.extend(ty.to_le_bytes());
    out.extend(digest);
    out.extend((data.len() as u32).to_le_bytes());
    out.extend(data);
    out
}
