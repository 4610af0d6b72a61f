use super::*;
use crate::crypto::kdf::SharedKey;
use ::spake2::{Ed25519Group, Group, Identity, Password, Spake2};
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
    let key_a = a.finish(&body_b).expect("a finishes").standard;
    let key_b = b.finish(&body_a).expect("b finishes").standard;
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
        let key_a = a
            .finish(text("body_b").as_bytes())
            .expect("a finishes")
            .standard;
        let key_b = b
            .finish(text("body_a").as_bytes())
            .expect("b finishes")
            .standard;
        assert_eq!(hex::encode(key_a.as_bytes()), text("shared_key"), "{name}");
        assert_eq!(key_a.as_bytes(), key_b.as_bytes(), "{name}");
    }
}

fn run(code_a: &str, code_b: &str, appid_b: &str) -> (SharedKey, SharedKey) {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let a = Pake::start(code_a, APPID, &mut rng);
    let b = Pake::start(code_b, appid_b, &mut rng);
    let (body_a, body_b) = (a.message_body(), b.message_body());
    (
        a.finish(&body_b).expect("a").standard,
        b.finish(&body_a).expect("b").standard,
    )
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
    let key = a
        .finish(upper.as_bytes())
        .expect("lenient like Python")
        .standard;
    let other = b
        .finish(&start("1-x", 1).message_body())
        .expect("finishes")
        .standard;
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

/// Our arithmetic against the `spake2` crate's: same messages, same key.
#[test]
fn agrees_with_the_spake2_crate() {
    for seed in 0..64u64 {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
        let mut entropy = [0u8; 64];
        rng.fill_bytes(&mut entropy);
        let code = format!("{seed}-crate-check");
        let ours = Pake::start(&code, APPID, ReplayRng::new(entropy));
        let (theirs, message) = Spake2::<Ed25519Group>::start_symmetric_with_rng(
            &Password::new(code.as_bytes()),
            &Identity::new(APPID.as_bytes()),
            &mut ReplayRng::new(entropy),
        );
        assert_eq!(ours.message(), message.as_slice(), "seed {seed}");
        let peer = start(&code, seed as u8 ^ 0x5a);
        let keys = ours.finish(&peer.message_body()).expect("ours");
        let key = theirs.finish(peer.message()).expect("theirs");
        assert_eq!(
            keys.standard.as_bytes().as_slice(),
            key.as_slice(),
            "seed {seed}"
        );
    }
}

/// Python's spake2 0.9 with a spy on K (code 4-purple-sausages, palindromic
/// entropy a, b): K's encoding ends in one zero byte, so gospake2 hashes each
/// transcript field cut to 31 bytes. `go` is that key.
const GO_VECTORS: [(u8, u8, &str, &str); 2] = [
    (
        0x07,
        0xb7,
        "9b689f5a9d30cd1d3d7c5ec8a78ec0741fd513ebf084d64eb560338bb3cae34c",
        "9bdcc2b434f9f0cff762a8fca04010d3b8cbfd2d8cc840e2ff022e0c471f61a3",
    ),
    (
        0x09,
        0xbe,
        "eea94c1cb95612b20440bba41aca328ab02acf1625c9fd299632631301e5b25e",
        "f88020020455facc7a9c2be78cb2678062c9ad4e47879517cb89033d838513eb",
    ),
];

fn both(a: u8, b: u8) -> (Keys, Keys) {
    let (a, b) = (start("4-purple-sausages", a), start("4-purple-sausages", b));
    let (body_a, body_b) = (a.message_body(), b.message_body());
    (a.finish(&body_b).expect("a"), b.finish(&body_a).expect("b"))
}

fn hex_of(key: &Option<SharedKey>) -> Option<String> {
    key.as_ref().map(|k| hex::encode(k.as_bytes()))
}

#[test]
fn a_shared_element_ending_in_zero_gives_the_gospake2_key_too() {
    for (a, b, standard, go) in GO_VECTORS {
        let (ka, kb) = both(a, b);
        assert_eq!(hex::encode(ka.standard.as_bytes()), standard);
        assert_eq!(hex_of(&ka.gospake2).as_deref(), Some(go));
        assert_eq!(
            hex_of(&kb.gospake2).as_deref(),
            Some(go),
            "both sides see it"
        );
    }
}

#[test]
fn most_exchanges_have_one_key() {
    let (ka, kb) = both(0x11, 0x22);
    assert!(ka.gospake2.is_none() && kb.gospake2.is_none());
    let alternates = (1..=64u8)
        .filter(|b| *b != 0x33)
        .filter(|b| both(0x33, *b).0.gospake2.is_some())
        .count();
    assert!(
        alternates < 8,
        "{alternates} of 64: expected about 1 in 256"
    );
}
