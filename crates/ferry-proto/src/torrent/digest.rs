//! SHA-1 of v1 pieces and infohashes, shared by the builder, the parser and
//! piece verification (below all three, so none imports another for it).

/// SHA-1 from the `sha1` crate, not ring: it uses the CPU's SHA extensions (0.6
/// CPU-s per GiB here, ring's portable SHA-1 2.6).
pub(crate) fn sha1(data: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(data).into()
}
