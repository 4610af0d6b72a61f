//! A device's identity under HTTPS: the SHA-256 of its self-signed
//! certificate's DER bytes, as upper-case hex (the app's Rust core,
//! `crypto/cert.rs`, makes it this way). Devices announce it; whoever connects
//! compares it with the certificate the TLS layer actually saw.

use sha2::{Digest, Sha256};

/// An upper-case hex certificate fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a certificate, from its DER encoding.
    pub fn of_certificate(der: &[u8]) -> Fingerprint {
        Fingerprint(hex::encode_upper(Sha256::digest(der)))
    }

    /// Whether a peer's announced fingerprint names this certificate. Case
    /// does not matter: some implementations announce lower-case hex.
    pub fn matches(&self, announced: &str) -> bool {
        self.0.eq_ignore_ascii_case(announced)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_hex_sha256_of_der() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let f = Fingerprint::of_certificate(b"abc");
        assert_eq!(
            f.as_str(),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
    }

    #[test]
    fn comparison_ignores_case_but_not_content() {
        let f = Fingerprint::of_certificate(b"abc");
        assert!(f.matches(&f.as_str().to_ascii_lowercase()));
        assert!(f.matches(f.as_str()));
        assert!(!f.matches(&f.as_str()[1..]));
        assert!(!f.matches(""));
    }
}
