use serde_json::Value;

use super::*;

/// Vectors computed from the specification with OpenSSL, by
/// `test-vectors/native_records.py`.
fn vectors() -> Value {
    serde_json::from_str(include_str!(
        "../../../../../test-vectors/native-records.json"
    ))
    .expect("valid JSON")
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn vector_key() -> TransitKey {
    let bytes: [u8; 32] = unhex(&vectors()["transit_key"])
        .try_into()
        .expect("32 bytes");
    TransitKey::from_bytes(bytes)
}

fn role(author: &str) -> Role {
    match author {
        "sender" => Role::Sender,
        _ => Role::Receiver,
    }
}

fn other(role: Role) -> Role {
    match role {
        Role::Sender => Role::Receiver,
        Role::Receiver => Role::Sender,
    }
}

fn frames(aead: Aead, plaintexts: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut sealer = Sealer::new(&vector_key(), aead, Role::Sender);
    plaintexts
        .iter()
        .map(|p| {
            let mut out = Vec::new();
            sealer.seal_frame(p, &mut out);
            out
        })
        .collect()
}

/// Opens one whole frame as a reader would: prefix, then body.
fn open(opener: &mut Opener, frame: &[u8]) -> Result<Vec<u8>, RecordError> {
    let prefix: [u8; PREFIX_LEN] = frame[..PREFIX_LEN].try_into().expect("prefix");
    let mut body = frame[PREFIX_LEN..].to_vec();
    let n = opener.open_in_place(prefix, &mut body)?;
    body.truncate(n);
    Ok(body)
}

#[test]
fn known_answers_from_an_independent_implementation() {
    let v = vectors();
    assert_eq!(v["epoch_records"].as_u64(), Some(EPOCH_RECORDS));
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 20);
    for case in cases {
        let aead = Aead::from_name(case["cipher"].as_str().expect("cipher")).expect("known");
        let author = role(case["author"].as_str().expect("author"));
        let number = case["number"].as_u64().expect("number");
        let (plaintext, frame) = (unhex(&case["plaintext"]), unhex(&case["frame"]));
        let mut sealer = Sealer::new(&vector_key(), aead, author);
        sealer.0.skip_to(number);
        let mut ours = Vec::new();
        sealer.seal_frame(&plaintext, &mut ours);
        assert_eq!(hex::encode(&ours), hex::encode(&frame), "{case}");
        let mut opener = Opener::new(&vector_key(), aead, other(author));
        opener.0.skip_to(number);
        assert_eq!(open(&mut opener, &frame), Ok(plaintext), "{case}");
    }
}

#[test]
fn round_trip_across_an_epoch_with_both_ciphers() {
    for aead in [Aead::Aes256Gcm, Aead::ChaCha20Poly1305] {
        let mut sealer = Sealer::new(&vector_key(), aead, Role::Receiver);
        let mut opener = Opener::new(&vector_key(), aead, Role::Sender);
        sealer.0.skip_to(EPOCH_RECORDS - 2);
        opener.0.skip_to(EPOCH_RECORDS - 2);
        for i in 0..4u8 {
            let mut frame = Vec::new();
            sealer.seal_frame(&[i; 1000], &mut frame);
            assert_eq!(open(&mut opener, &frame), Ok(vec![i; 1000]));
        }
    }
}

#[test]
fn in_place_layout_matches_seal_frame() {
    let [expected] = frames(Aead::Aes256Gcm, &[b"group bytes"])
        .try_into()
        .expect("one");
    let mut frame = vec![0u8; PREFIX_LEN + 11 + TAG_LEN];
    frame[PREFIX_LEN..PREFIX_LEN + 11].copy_from_slice(b"group bytes");
    Sealer::new(&vector_key(), Aead::Aes256Gcm, Role::Sender).seal_in_place(&mut frame);
    assert_eq!(frame, expected);
}

#[test]
fn replay_reorder_drop_and_tamper_are_refused() {
    let f = frames(Aead::Aes256Gcm, &[b"zero", b"one", b"two"]);
    let fresh = || Opener::new(&vector_key(), Aead::Aes256Gcm, Role::Receiver);
    assert_eq!(open(&mut fresh(), &f[1]), Err(RecordError::Forged)); // reordered / dropped
    let mut o = fresh();
    assert!(open(&mut o, &f[0]).is_ok());
    assert_eq!(open(&mut o, &f[0]), Err(RecordError::Forged)); // replayed
    for byte in [PREFIX_LEN, f[2].len() - 1] {
        let mut bad = f[0].clone();
        bad[byte] ^= 1;
        assert_eq!(open(&mut fresh(), &bad), Err(RecordError::Forged));
    }
    let mut longer = f[0].clone();
    longer[3] += 1; // the prefix is authenticated too
    longer.push(0);
    assert_eq!(open(&mut fresh(), &longer), Err(RecordError::Forged));
}

#[test]
fn wrong_direction_or_cipher_cannot_open() {
    let [frame] = frames(Aead::Aes256Gcm, &[b"data"]).try_into().expect("one");
    let mut own = Opener::new(&vector_key(), Aead::Aes256Gcm, Role::Sender);
    assert_eq!(open(&mut own, &frame), Err(RecordError::Forged));
    let mut chacha = Opener::new(&vector_key(), Aead::ChaCha20Poly1305, Role::Receiver);
    assert_eq!(open(&mut chacha, &frame), Err(RecordError::Forged));
}

#[test]
fn lengths_are_bounded_before_reading() {
    assert_eq!(
        Opener::body_len(15u32.to_be_bytes()),
        Err(RecordError::BadLength(15))
    );
    assert_eq!(Opener::body_len(16u32.to_be_bytes()), Ok(16));
    let too_big = (MAX_BODY + 1) as u32;
    assert!(Opener::body_len(too_big.to_be_bytes()).is_err());
    let mut o = Opener::new(&vector_key(), Aead::Aes256Gcm, Role::Receiver);
    let mut short = vec![0u8; 20];
    assert!(o.open_in_place(32u32.to_be_bytes(), &mut short).is_err());
}

#[test]
fn cipher_names_round_trip() {
    for aead in [Aead::Aes256Gcm, Aead::ChaCha20Poly1305] {
        assert_eq!(Aead::from_name(aead.name()), Some(aead));
    }
    assert_eq!(Aead::from_name("aes-128-gcm"), None);
}
