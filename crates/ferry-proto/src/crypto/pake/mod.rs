//! Symmetric SPAKE2 over Ed25519, exactly as python-spake2 and magic-wormhole use it.
//!
//! Both sides call [`Pake::start`] with the whole code as the password and the
//! appid as the symmetric identity, send [`Pake::message_body`] in phase `"pake"`,
//! and feed the peer's body to [`Pake::finish`]. Equal codes give equal
//! [`SharedKey`]s; a wrong code gives different keys, which only shows when the
//! first encrypted message fails to open.
//!
//! The `spake2` crate computes the same messages and key as python-spake2 but
//! checks less of what it receives, so [`Pake::finish`] first applies Python's
//! checks: side byte `S`, not our own message, an element of the prime-order
//! subgroup other than the identity.

use std::fmt;

use rand::{CryptoRng, RngCore};
use serde_json::Value;
use spake2::{Ed25519Group, Group, Identity, Password, Spake2};

use super::kdf::SharedKey;

/// Length of a SPAKE2 message: the side byte and a compressed Ed25519 point.
pub const MESSAGE_LEN: usize = 33;

/// Side byte of the symmetric variant ('S'); 'A' and 'B' belong to the asymmetric one.
const SYMMETRIC_SIDE: u8 = b'S';

/// What was wrong with the peer's `pake` message. Always the peer's fault (or an
/// attacker's): our own inputs cannot make [`Pake::finish`] fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PakeError {
    /// The body is not a UTF-8 JSON object.
    #[error("peer's PAKE message is not a JSON object")]
    NotJson,
    /// The object has no `pake_v1` string (Python gets "scared" here too).
    #[error("peer's PAKE message has no \"pake_v1\" string")]
    MissingPakeV1,
    /// `pake_v1` is not a hex string.
    #[error("peer's PAKE message is not valid hex")]
    BadHex,
    /// The decoded message is not [`MESSAGE_LEN`] bytes.
    #[error("peer's PAKE message is {len} bytes, expected {MESSAGE_LEN}")]
    WrongLength {
        /// Length of the decoded message.
        len: usize,
    },
    /// The side byte is not the symmetric `S` (e.g. an asymmetric `A`/`B` peer).
    #[error("peer's PAKE message has side byte {side:#04x}, expected 0x53 ('S')")]
    WrongSide {
        /// The side byte received.
        side: u8,
    },
    /// The peer sent our own message back.
    #[error("peer's PAKE message is our own message reflected back")]
    Reflected,
    /// Not a point, the identity, or outside the prime-order subgroup.
    #[error("peer's PAKE message is not a valid group element")]
    BadElement,
}

/// One side of the key agreement, from [`Pake::start`] until [`Pake::finish`].
pub struct Pake {
    state: Spake2<Ed25519Group>,
    message: Vec<u8>,
}

impl fmt::Debug for Pake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message is public; the scalar and the password stay out.
        f.debug_struct("Pake")
            .field("message", &hex::encode(&self.message))
            .finish_non_exhaustive()
    }
}

impl Pake {
    /// Starts SPAKE2 with the whole `code` (nameplate included) as the password.
    ///
    /// Takes the UTF-8 bytes as they are, like the Rust and Go clients; Python
    /// NFC-normalises first, so non-ASCII codes agree with Python only when they
    /// are already in NFC. `rng` supplies the 64 bytes of the secret scalar.
    pub fn start(code: &str, appid: &str, mut rng: impl RngCore + CryptoRng) -> Pake {
        let password = Password::new(code.as_bytes());
        let identity = Identity::new(appid.as_bytes());
        let (state, message) =
            Spake2::<Ed25519Group>::start_symmetric_with_rng(&password, &identity, &mut rng);
        Pake { state, message }
    }

    /// Our raw 33-byte message (`S` followed by the point).
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The body of our `pake` phase: `{"pake_v1": "<66 hex digits>"}`, byte for
    /// byte what Python's `json.dumps` writes.
    pub fn message_body(&self) -> Vec<u8> {
        format!(r#"{{"pake_v1": "{}"}}"#, hex::encode(&self.message)).into_bytes()
    }

    /// Checks the peer's `pake` body and computes the shared key.
    pub fn finish(self, peer_body: &[u8]) -> Result<SharedKey, PakeError> {
        let peer = parse_body(peer_body)?;
        self.check_peer_message(&peer)?;
        let key = self
            .state
            .finish(&peer)
            .map_err(|e| from_spake2(e, &peer))?;
        match <[u8; 32]>::try_from(key) {
            Ok(key) => Ok(SharedKey::from_bytes(key)),
            Err(_) => unreachable!("the SPAKE2 key is a SHA-256 digest"),
        }
    }

    fn check_peer_message(&self, peer: &[u8]) -> Result<(), PakeError> {
        if peer.len() != MESSAGE_LEN {
            return Err(PakeError::WrongLength { len: peer.len() });
        }
        if peer == self.message.as_slice() {
            return Err(PakeError::Reflected);
        }
        if peer[0] != SYMMETRIC_SIDE {
            return Err(PakeError::WrongSide { side: peer[0] });
        }
        check_element(&peer[1..])
    }
}

fn parse_body(body: &[u8]) -> Result<Vec<u8>, PakeError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| PakeError::NotJson)?;
    let object = value.as_object().ok_or(PakeError::NotJson)?;
    let text = object
        .get("pake_v1")
        .and_then(Value::as_str)
        .ok_or(PakeError::MissingPakeV1)?;
    // Python's unhexlify takes either case, so we do too.
    hex::decode(text).map_err(|_| PakeError::BadHex)
}

/// python-spake2 refuses the identity and anything outside the prime-order
/// subgroup; the `spake2` crate only checks that the point decompresses.
fn check_element(encoded: &[u8]) -> Result<(), PakeError> {
    let point = Ed25519Group::bytes_to_element(encoded).ok_or(PakeError::BadElement)?;
    if point.is_small_order() || !point.is_torsion_free() {
        return Err(PakeError::BadElement);
    }
    Ok(())
}

fn from_spake2(error: spake2::Error, peer: &[u8]) -> PakeError {
    match error {
        spake2::Error::WrongLength => PakeError::WrongLength { len: peer.len() },
        spake2::Error::BadSide => PakeError::WrongSide { side: peer[0] },
        spake2::Error::CorruptMessage => PakeError::BadElement,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::RngCore;

    /// A fake RNG that hands out `bytes` over and over; for reproducible vectors.
    pub(crate) struct ReplayRng {
        bytes: Vec<u8>,
        pos: usize,
    }

    impl ReplayRng {
        pub(crate) fn new(bytes: impl Into<Vec<u8>>) -> Self {
            let bytes = bytes.into();
            assert!(!bytes.is_empty());
            ReplayRng { bytes, pos: 0 }
        }
    }

    impl RngCore for ReplayRng {
        fn next_u32(&mut self) -> u32 {
            let mut b = [0; 4];
            self.fill_bytes(&mut b);
            u32::from_le_bytes(b)
        }
        fn next_u64(&mut self) -> u64 {
            let mut b = [0; 8];
            self.fill_bytes(&mut b);
            u64::from_le_bytes(b)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.bytes[self.pos % self.bytes.len()];
                self.pos += 1;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl CryptoRng for ReplayRng {}

    const APPID: &str = "lothar.com/wormhole/text-or-file-xfer";

    fn start(code: &str, byte: u8) -> Pake {
        Pake::start(code, APPID, ReplayRng::new([byte]))
    }

    fn body_with(message: &[u8]) -> Vec<u8> {
        format!(r#"{{"pake_v1": "{}"}}"#, hex::encode(message)).into_bytes()
    }

    /// WORMHOLE-PROTOCOL.md §2.9 (Python and the Rust crate agree).
    #[test]
    fn digest_vectors() {
        let a = start("4-purple-sausages", 0x11);
        let b = start("4-purple-sausages", 0x22);
        assert_eq!(
            hex::encode(a.message()),
            "53d3076a7257e7293b66e16dbf054545e3d324fc46ec92133dc1fae5f9a0b7093a"
        );
        assert_eq!(
            hex::encode(b.message()),
            "53528e0607d3dcc6dbff8b764cc48d00f5126838d565bc3d32a0497bf2c29b7727"
        );
        assert_eq!(
            String::from_utf8(a.message_body()).expect("utf-8"),
            r#"{"pake_v1": "53d3076a7257e7293b66e16dbf054545e3d324fc46ec92133dc1fae5f9a0b7093a"}"#
        );
        let (body_a, body_b) = (a.message_body(), b.message_body());
        let key_a = a.finish(&body_b).expect("a finishes");
        let key_b = b.finish(&body_a).expect("b finishes");
        assert_eq!(
            hex::encode(key_a.as_bytes()),
            "8e2d4e393ec15c95618b8cf5dc987b89f63d571108176ae93c1ad2d4276133a1"
        );
        assert_eq!(key_a.as_bytes(), key_b.as_bytes());
    }

    /// Cases from test-vectors/generate.py: python-spake2 reads its 64 entropy
    /// bytes big-endian, the Rust crate little-endian, so we replay them reversed.
    #[test]
    fn python_vectors() {
        let kat = crate::test_vectors::kat();
        let cases = kat["cases"].as_array().expect("cases");
        assert!(cases.len() >= 5);
        for case in cases {
            let name = &case["name"];
            let text = |k: &str| case[k].as_str().expect("string field").to_owned();
            let side = |k: &str| {
                let mut entropy = hex::decode(text(k)).expect("hex");
                entropy.reverse();
                Pake::start(&text("code"), &text("appid"), ReplayRng::new(entropy))
            };
            let (a, b) = (side("entropy_a"), side("entropy_b"));
            assert_eq!(hex::encode(a.message()), text("msg_a"), "{name}");
            assert_eq!(hex::encode(b.message()), text("msg_b"), "{name}");
            assert_eq!(a.message_body(), text("body_a").into_bytes(), "{name}");
            let key_a = a.finish(text("body_b").as_bytes()).expect("a finishes");
            let key_b = b.finish(text("body_a").as_bytes()).expect("b finishes");
            assert_eq!(hex::encode(key_a.as_bytes()), text("shared_key"), "{name}");
            assert_eq!(key_a.as_bytes(), key_b.as_bytes(), "{name}");
        }
    }

    fn run(code_a: &str, code_b: &str, appid_b: &str) -> (SharedKey, SharedKey) {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        let a = Pake::start(code_a, APPID, &mut rng);
        let b = Pake::start(code_b, appid_b, &mut rng);
        let (body_a, body_b) = (a.message_body(), b.message_body());
        (a.finish(&body_b).expect("a"), b.finish(&body_a).expect("b"))
    }

    #[test]
    fn same_code_same_key() {
        let (a, b) = run("7-guitarist-revenge", "7-guitarist-revenge", APPID);
        assert_eq!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn different_code_or_appid_different_keys() {
        let (a, b) = run("7-guitarist-revenge", "7-guitarist-revenue", APPID);
        assert_ne!(a.as_bytes(), b.as_bytes());
        let (a, b) = run("7-guitarist-revenge", "7-guitarist-revenge", "other/appid");
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn extra_keys_and_upper_case_hex_are_accepted() {
        let (a, b) = (start("1-x", 1), start("1-x", 2));
        let upper = format!(
            r#"{{"other": 1, "pake_v1": "{}"}}"#,
            hex::encode_upper(b.message())
        );
        let key = a.finish(upper.as_bytes()).expect("lenient like Python");
        let other = b.finish(&start("1-x", 1).message_body()).expect("finishes");
        assert_eq!(key.as_bytes(), other.as_bytes());
    }

    fn refused(body: &[u8]) -> PakeError {
        start("4-purple-sausages", 0x11)
            .finish(body)
            .expect_err("must be refused")
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert_eq!(refused(b"not json"), PakeError::NotJson);
        assert_eq!(refused(b"\xff\xfe"), PakeError::NotJson);
        assert_eq!(refused(b"[1, 2]"), PakeError::NotJson);
        assert_eq!(refused(b"{}"), PakeError::MissingPakeV1);
        assert_eq!(refused(br#"{"pake_v2": "53"}"#), PakeError::MissingPakeV1);
        assert_eq!(refused(br#"{"pake_v1": 53}"#), PakeError::MissingPakeV1);
        assert_eq!(refused(br#"{"pake_v1": "zz"}"#), PakeError::BadHex);
        assert_eq!(refused(br#"{"pake_v1": "535"}"#), PakeError::BadHex);
        assert_eq!(
            refused(br#"{"pake_v1": ""}"#),
            PakeError::WrongLength { len: 0 }
        );
        let b = start("4-purple-sausages", 0x22);
        assert_eq!(
            refused(&body_with(&b.message()[..32])),
            PakeError::WrongLength { len: 32 }
        );
        let mut long = b.message().to_vec();
        long.push(0);
        assert_eq!(
            refused(&body_with(&long)),
            PakeError::WrongLength { len: 34 }
        );
    }

    #[test]
    fn asymmetric_sides_are_refused() {
        let mut message = start("4-purple-sausages", 0x22).message().to_vec();
        for side in [b'A', b'B', 0] {
            message[0] = side;
            assert_eq!(refused(&body_with(&message)), PakeError::WrongSide { side });
        }
    }

    #[test]
    fn reflection_is_refused() {
        let a = start("4-purple-sausages", 0x11);
        let own = a.message_body();
        assert_eq!(a.finish(&own).expect_err("reflected"), PakeError::Reflected);
    }

    #[test]
    fn bad_elements_are_refused() {
        let mut identity = [0; 33];
        identity[0] = b'S';
        identity[1] = 1; // y = 1: the neutral element
        assert_eq!(refused(&body_with(&identity)), PakeError::BadElement);

        // A valid message plus the point of order 2 (y = -1) is off the subgroup.
        let peer = start("4-purple-sausages", 0x22);
        let mut order2 = [0xff; 32];
        order2[0] = 0xec;
        order2[31] = 0x7f;
        let sum = Ed25519Group::add(
            &Ed25519Group::bytes_to_element(&peer.message()[1..]).expect("point"),
            &Ed25519Group::bytes_to_element(&order2).expect("order-2 point"),
        );
        let mut torsioned = vec![b'S'];
        torsioned.extend(Ed25519Group::element_to_bytes(&sum));
        assert_eq!(refused(&body_with(&torsioned)), PakeError::BadElement);
    }

    #[test]
    fn messages_say_whose_fault() {
        assert_eq!(
            PakeError::WrongSide { side: b'A' }.to_string(),
            "peer's PAKE message has side byte 0x41, expected 0x53 ('S')"
        );
        assert_eq!(
            PakeError::WrongLength { len: 2 }.to_string(),
            "peer's PAKE message is 2 bytes, expected 33"
        );
    }

    #[test]
    fn debug_shows_only_the_public_message() {
        let shown = format!("{:?}", start("4-purple-sausages", 0x11));
        assert!(shown.starts_with("Pake { message: \"53d3076a"), "{shown}");
        assert!(!shown.contains("purple"), "{shown}");
    }

    proptest! {
        #[test]
        fn finish_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = start("4-purple-sausages", 0x11).finish(&body);
        }

        #[test]
        fn finish_never_panics_on_points(point in any::<[u8; 32]>(), side in any::<u8>()) {
            let mut message = vec![side];
            message.extend_from_slice(&point);
            let _ = start("4-purple-sausages", 0x11).finish(&body_with(&message));
        }
    }
}
