//! FNV-1a fingerprints: names and slices that every process, build and version computes alike
//! (index names, definitions of view tables, long timer names, the slice of an entity id). Not
//! for security: only for names that must stay the same from one start to the next.

/// The 64-bit FNV-1a hash of `bytes`.
pub(crate) fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The 32-bit FNV-1a hash of `bytes`.
pub(crate) fn fingerprint32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published FNV-1a test vectors: names stored by earlier versions stay the same.
    #[test]
    fn matches_the_published_vectors() {
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fingerprint(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(fingerprint32(b""), 0x811c_9dc5);
        assert_eq!(fingerprint32(b"a"), 0xe40c_292c);
        assert_eq!(fingerprint32(b"foobar"), 0xbf9c_f968);
    }
}
