//! The sender's body and its reading of every answer the app gives.

use super::*;
use crate::localsend::messages::Scheme;

fn info() -> Register {
    Register {
        alias: "ferry".into(),
        version: crate::localsend::PROTOCOL_VERSION.into(),
        device_model: None,
        device_type: None,
        fingerprint: "F".into(),
        port: 53317,
        protocol: Scheme::Https,
        download: false,
    }
}

fn items() -> Vec<OutgoingItem> {
    vec![
        OutgoingItem::File {
            relative_name: "photos/a.jpg".into(),
            size: 10,
            sha256: None,
            modified: Some("2024-01-01T00:00:00Z".into()),
        },
        OutgoingItem::Text("hello".into()),
    ]
}

#[test]
fn builds_binary_files_and_a_text_message() {
    let req = prepare_upload(info(), &items());
    assert_eq!(req.files["0"].file_name, "photos/a.jpg");
    assert_eq!(req.files["0"].file_type, BINARY_TYPE);
    assert_eq!(req.files["1"].file_type, TEXT_TYPE);
    assert_eq!(req.files["1"].preview.as_deref(), Some("hello"));
    assert_eq!(req.files["1"].size, 5);
    let wire = serde_json::to_vec(&req).expect("json");
    assert_eq!(
        decode::prepare_upload(&wire),
        Ok(req),
        "the receiver reads it back"
    );
    assert_eq!(
        prepare_upload_target(Some("12 34")),
        "/api/localsend/v2/prepare-upload?pin=12%2034"
    );
}

#[test]
fn a_200_becomes_encoded_upload_targets() {
    let req = prepare_upload(info(), &items());
    let body = br#"{"sessionId":"s1","files":{"0":"t&x=1"}}"#;
    let plan = interpret_prepare_response(&req, 200, body).expect("plan");
    assert_eq!(plan.session_id, "s1");
    assert_eq!(
        plan.uploads,
        vec![PlannedUpload {
            file_id: "0".into(),
            target: "/api/localsend/v2/upload?sessionId=s1&fileId=0&token=t%26x%3D1".into()
        }]
    );
    assert_eq!(
        cancel_target("s 1"),
        "/api/localsend/v2/cancel?sessionId=s%201"
    );
}

#[test]
fn every_refusal_has_its_error() {
    let req = prepare_upload(info(), &items());
    let answer = |status, body: &[u8]| interpret_prepare_response(&req, status, body);
    assert_eq!(answer(204, b"").map(|p| p.uploads.len()), Ok(0));
    assert_eq!(
        answer(401, br#"{"message":"Invalid PIN"}"#),
        Err(SendError::PinRequiredOrWrong)
    );
    assert_eq!(answer(403, b""), Err(SendError::Declined));
    assert_eq!(answer(409, b""), Err(SendError::Busy));
    assert_eq!(answer(429, b""), Err(SendError::TooManyPinAttempts));
    let odd = answer(500, br#"{"message":"disk full"}"#).expect_err("500");
    assert_eq!(
        odd.to_string(),
        "the other device answered 500: \"disk full\""
    );
    assert_eq!(
        answer(200, br#"{"sessionId":"s","files":{"9":"t"}}"#),
        Err(SendError::UnknownFile)
    );
    assert!(matches!(answer(200, b"nope"), Err(SendError::BadAnswer(_))));
}
