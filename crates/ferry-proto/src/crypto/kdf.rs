//! HKDF-SHA256 key derivation, with one type per key purpose.
//!
//! Every wormhole key is `HKDF(ikm, salt = none, info = purpose)`, RFC 5869 with
//! SHA-256 (Python `wormhole.util.HKDF`). The types make it impossible to encrypt
//! a mailbox message with the transit key or to open a record with the raw PAKE
//! output. None of them prints its bytes in `Debug`.

use std::fmt;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use super::secretbox::{self, DecryptError};

/// The most that [`derive`] can produce: 255 blocks of SHA-256.
pub const MAX_DERIVE_LEN: usize = 255 * 32;

/// `HKDF-SHA256(ikm, salt = none, info = purpose)`, `len` bytes long.
///
/// # Panics
/// If `len` exceeds [`MAX_DERIVE_LEN`], the RFC 5869 limit. Wormhole purposes ask
/// for 32 bytes; a larger request is a programming error.
pub fn derive(ikm: &[u8], purpose: &[u8], len: usize) -> Vec<u8> {
    let mut okm = vec![0; len];
    if Hkdf::<Sha256>::new(None, ikm)
        .expand(purpose, &mut okm)
        .is_err()
    {
        panic!("HKDF-SHA256 yields at most {MAX_DERIVE_LEN} bytes, {len} were asked for");
    }
    okm
}

fn derive32(ikm: &[u8], purpose: &[u8]) -> [u8; 32] {
    let mut okm = [0; 32];
    // 32 bytes is one HKDF block, far below the limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(None, ikm).expand(purpose, &mut okm);
    okm
}

macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

/// The 32-byte key that SPAKE2 agreed on; the root of every other key.
#[derive(Clone)]
pub struct SharedKey([u8; 32]);
redacted_debug!(SharedKey);

impl SharedKey {
    /// Wraps raw key bytes, e.g. from a test vector.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The value both users may compare out of band (`--verify`), shown as hex.
    pub fn verifier(&self) -> [u8; 32] {
        derive32(&self.0, b"wormhole:verifier")
    }

    /// The key for the message that `side` sends in `phase`.
    ///
    /// `side` is always the sender's: seal with your own side, open with the `side`
    /// field of the received message.
    pub fn phase_key(&self, side: &str, phase: &str) -> PhaseKey {
        let mut purpose = Vec::with_capacity(15 + 32 + 32);
        purpose.extend_from_slice(b"wormhole:phase:");
        purpose.extend_from_slice(&Sha256::digest(side.as_bytes()));
        purpose.extend_from_slice(&Sha256::digest(phase.as_bytes()));
        PhaseKey(derive32(&self.0, &purpose))
    }

    /// The transit key for `appid`, purpose `"{appid}/transit-key"`.
    ///
    /// Rust and Go clients pass their real appid. Python always passes the
    /// file-transfer appid (its bug #339), so to talk to Python under another appid
    /// pass `lothar.com/wormhole/text-or-file-xfer` here.
    pub fn transit_key(&self, appid: &str) -> TransitKey {
        TransitKey(derive32(&self.0, format!("{appid}/transit-key").as_bytes()))
    }

    /// An application key (Python `Wormhole.derive_key`), e.g. `b"dilation-v1"`.
    ///
    /// # Panics
    /// If `len` exceeds [`MAX_DERIVE_LEN`].
    pub fn derive(&self, purpose: &[u8], len: usize) -> Vec<u8> {
        derive(&self.0, purpose, len)
    }
}

/// The key of one mailbox message: one side, one phase.
#[derive(Clone)]
pub struct PhaseKey([u8; 32]);
redacted_debug!(PhaseKey);

impl PhaseKey {
    /// Encrypts a phase body; `nonce` must be fresh random bytes.
    pub fn seal(&self, nonce: &[u8; 24], plaintext: &[u8]) -> Vec<u8> {
        secretbox::seal(&self.0, nonce, plaintext)
    }

    /// Decrypts a phase body (`nonce ‖ tag ‖ ciphertext`); never panics.
    pub fn open(&self, body: &[u8]) -> Result<Vec<u8>, DecryptError> {
        secretbox::open(&self.0, body)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The root key of a transit connection; its subkeys name and encrypt the pipe.
#[derive(Clone)]
pub struct TransitKey([u8; 32]);
redacted_debug!(TransitKey);

impl TransitKey {
    /// Wraps raw key bytes, e.g. from a test vector.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A 32-byte subkey: `b"transit_sender"`, `b"transit_receiver"`,
    /// `b"transit_relay_token"`, `b"transit_record_sender_key"` or
    /// `b"transit_record_receiver_key"`.
    pub fn subkey(&self, purpose: &[u8]) -> [u8; 32] {
        derive32(&self.0, purpose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{array, kat, unhex};
    use serde_json::Value;

    fn h32(s: &str) -> [u8; 32] {
        hex::decode(s).expect("hex").try_into().expect("32 bytes")
    }

    /// WORMHOLE-PROTOCOL.md §2.9.
    fn digest_key() -> SharedKey {
        SharedKey::from_bytes(h32(
            "8e2d4e393ec15c95618b8cf5dc987b89f63d571108176ae93c1ad2d4276133a1",
        ))
    }

    const APPID: &str = "lothar.com/wormhole/text-or-file-xfer";

    #[test]
    fn digest_mailbox_keys() {
        let key = digest_key();
        assert_eq!(
            hex::encode(key.verifier()),
            "8127c85a1e8580c09973883111962c546d1a046964aa5961566a0bf1b712acfa"
        );
        assert_eq!(
            hex::encode(key.phase_key("0123456789", "version").as_bytes()),
            "7950c1e3c76f8b696622b25e3da9aa31ee05dbb9c1210bc38c24b575187c8ae3"
        );
        assert_eq!(
            hex::encode(key.phase_key("0123456789", "0").as_bytes()),
            "d0d42edc99afa6e0d793c7a9ff8fb9a8445da5c9d30e9fb364881ac792f671cf"
        );
        assert_eq!(
            hex::encode(key.derive(b"dilation-v1", 32)),
            "03944b999f7c2d204a0b4cf99eeea2b4ce12a36e999c8004972684fd43d5d225"
        );
    }

    #[test]
    fn digest_version_body() {
        let nonce: [u8; 24] = std::array::from_fn(|i| i as u8);
        let phase_key = digest_key().phase_key("0123456789", "version");
        let body = phase_key.seal(&nonce, br#"{"app_versions": {}}"#);
        assert_eq!(
            hex::encode(&body),
            "000102030405060708090a0b0c0d0e0f1011121314151617f0b3dbef30a9b25e\
             170c66c5e7bc3cb7bc494c46a8519ce094f3c6fd262bc6789f446b83"
        );
        assert_eq!(
            phase_key.open(&body).expect("opens"),
            br#"{"app_versions": {}}"#
        );
    }

    /// WORMHOLE-PROTOCOL.md §3.3.
    #[test]
    fn digest_transit_keys() {
        let tk = digest_key().transit_key(APPID);
        let sub = |p: &[u8]| hex::encode(tk.subkey(p));
        assert_eq!(
            hex::encode(tk.as_bytes()),
            "d24e11c8f32da7f78c63415c8c9baf5174615dba93eadd5e69c7df1eb4c1b130"
        );
        assert_eq!(
            sub(b"transit_sender"),
            "855c996295df3d8865b73d8ad5eef3ee007dd5292cdc0ac76f9ca4f9254fd8ac"
        );
        assert_eq!(
            sub(b"transit_receiver"),
            "e05d123ef62b98e71b33a27c1523c1c1dfea2c924fd90662745410f7bde75860"
        );
        assert_eq!(
            sub(b"transit_relay_token"),
            "03bce0633f7cbdc0a3a1594a0936360833e2230fb8c12791c5048b466fdd657d"
        );
        assert_eq!(
            sub(b"transit_record_sender_key"),
            "462af4ed9c69ebd5795d00c949f6f5cb07e8ad8016d2bf6015dfbd90a607d113"
        );
        assert_eq!(
            sub(b"transit_record_receiver_key"),
            "6f831b7c038cfcb670931d9ee4c8c4a924972bdde7d64ba3e6d92dc97c21888f"
        );
    }

    #[test]
    fn digest_records() {
        let record_key = digest_key()
            .transit_key(APPID)
            .subkey(b"transit_record_sender_key");
        let mut nonce = [0; 24];
        assert_eq!(
            hex::encode(secretbox::seal(&record_key, &nonce, b"hello")),
            "000000000000000000000000000000000000000000000000\
             9738fec84ba1dc61cf2b16b587f00a987dad94cbf5"
        );
        nonce[23] = 1;
        assert_eq!(
            hex::encode(secretbox::seal(&record_key, &nonce, b"hello")),
            "000000000000000000000000000000000000000000000001\
             ebb52015f311a540596720fa1d81e808c868bcd4b8"
        );
    }

    #[test]
    fn python_hkdf_vectors() {
        for case in kat()["hkdf"].as_array().expect("hkdf cases") {
            let len = case["len"].as_u64().expect("len") as usize;
            let okm = derive(&unhex(&case["ikm"]), &unhex(&case["info"]), len);
            assert_eq!(okm, unhex(&case["okm"]));
        }
    }

    /// Every key of every case of test-vectors/wormhole-kat.json, from Python.
    #[test]
    fn python_case_keys() {
        for case in kat()["cases"].as_array().expect("cases") {
            let key = SharedKey::from_bytes(array(&case["shared_key"]));
            assert_eq!(key.verifier(), array(&case["verifier"]), "{}", case["name"]);
            check_derived(&key, case);
            check_phases(&key, case);
            check_transit(&key, case);
        }
    }

    fn check_derived(key: &SharedKey, case: &Value) {
        for d in case["derive"].as_array().expect("derive") {
            let len = d["len"].as_u64().expect("len") as usize;
            assert_eq!(key.derive(&unhex(&d["purpose"]), len), unhex(&d["okm"]));
        }
    }

    fn check_phases(key: &SharedKey, case: &Value) {
        for p in case["phases"].as_array().expect("phases") {
            let (side, phase) = (
                p["side"].as_str().expect("side"),
                p["phase"].as_str().expect("phase"),
            );
            let phase_key = key.phase_key(side, phase);
            assert_eq!(
                phase_key.as_bytes(),
                &array(&p["phase_key"]),
                "{side} {phase}"
            );
            let body = phase_key.seal(&array(&p["nonce"]), &unhex(&p["plaintext"]));
            assert_eq!(body, unhex(&p["body"]), "{side} {phase}");
            assert_eq!(phase_key.open(&body), Ok(unhex(&p["plaintext"])));
        }
    }

    fn check_transit(key: &SharedKey, case: &Value) {
        let t = &case["transit"];
        let tk = key.transit_key(case["appid"].as_str().expect("appid"));
        assert_eq!(tk.as_bytes(), &array(&t["transit_key"]));
        for (purpose, expected) in t["subkeys"].as_object().expect("subkeys") {
            assert_eq!(tk.subkey(purpose.as_bytes()), array(expected), "{purpose}");
        }
        let handshake = |p: &[u8]| hex::encode(tk.subkey(p));
        let sender = format!("transit sender {} ready\n\n", handshake(b"transit_sender"));
        let receiver = format!(
            "transit receiver {} ready\n\n",
            handshake(b"transit_receiver")
        );
        assert_eq!(t["sender_handshake"], sender.as_str());
        assert_eq!(t["receiver_handshake"], receiver.as_str());
        let record_key = tk.subkey(b"transit_record_sender_key");
        for r in t["sender_records"].as_array().expect("records") {
            // The record nonce is the sequence number as a 24-byte big-endian integer.
            let seqnum: u128 = r["seqnum"]
                .as_str()
                .expect("seqnum")
                .parse()
                .expect("number");
            let mut nonce = [0; 24];
            nonce[8..].copy_from_slice(&seqnum.to_be_bytes());
            assert_eq!(nonce, array(&r["nonce"]));
            let body = secretbox::seal(&record_key, &nonce, &unhex(&r["plaintext"]));
            assert_eq!(body, unhex(&r["body"]), "record {seqnum}");
        }
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = SharedKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{key:?}"), "SharedKey(<redacted>)");
        assert_eq!(
            format!("{:?}", key.phase_key("s", "p")),
            "PhaseKey(<redacted>)"
        );
        assert_eq!(
            format!("{:?}", key.transit_key(APPID)),
            "TransitKey(<redacted>)"
        );
    }

    #[test]
    fn keys_are_separated_by_purpose() {
        let key = digest_key();
        assert_ne!(
            key.phase_key("a", "0").as_bytes(),
            key.phase_key("b", "0").as_bytes()
        );
        assert_ne!(
            key.phase_key("a", "0").as_bytes(),
            key.phase_key("a", "1").as_bytes()
        );
        assert_ne!(
            key.transit_key("x").as_bytes(),
            key.transit_key(APPID).as_bytes()
        );
        assert_eq!(derive(b"k", b"p", 0), Vec::<u8>::new());
        assert_eq!(derive(b"k", b"p", MAX_DERIVE_LEN).len(), MAX_DERIVE_LEN);
    }

    #[test]
    #[should_panic(expected = "at most 8160 bytes")]
    fn derive_refuses_overlong_output() {
        derive(b"k", b"p", MAX_DERIVE_LEN + 1);
    }
}
