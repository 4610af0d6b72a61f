//! Message shapes pinned against what the app sends and reads.

use super::super::decode::{self, DecodeError, MAX_FILES};
use super::*;
use serde_json::json;

fn bytes(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).expect("json")
}

fn app_prepare_upload() -> serde_json::Value {
    json!({
        "info": {"alias": "Nice Orange", "version": "2.2", "deviceModel": "Samsung",
                 "deviceType": "mobile", "fingerprint": "ABC", "port": 53317,
                 "protocol": "https", "download": false, "somethingNew": 1},
        "files": {
            "f1": {"id": "f1", "fileName": "dir/my image.png", "size": 324242,
                   "fileType": "image/png", "hash": "ab12", "preview": null,
                   "metadata": {"modified": "2021-01-01T12:34:56.123456789Z"}},
            "f2": {"id": "f2", "fileName": "a.bin", "size": 0, "fileType": "application/octet-stream"}
        }
    })
}

#[test]
fn decodes_what_the_app_sends() {
    let p = decode::prepare_upload(&bytes(app_prepare_upload())).expect("decodes");
    assert_eq!(p.info.device_type, Some(DeviceType::Mobile));
    assert_eq!(p.info.protocol, Scheme::Https);
    let f1 = &p.files["f1"];
    assert_eq!(f1.file_name, "dir/my image.png");
    assert_eq!(f1.sha256.as_deref(), Some("ab12"), "the Dart app's `hash`");
    assert_eq!(
        f1.metadata.as_ref().and_then(|m| m.modified.as_deref()),
        Some("2021-01-01T12:34:56.123456789Z")
    );
    assert_eq!(p.files["f2"].metadata, None);
}

#[test]
fn lenient_where_the_app_is() {
    let r = decode::register(&bytes(json!({
        "alias": "x", "version": "2.0", "deviceType": "toaster", "port": 1
    })))
    .expect("decodes");
    assert_eq!(r.device_type, Some(DeviceType::Desktop));
    assert_eq!(r.protocol, Scheme::Https);
    assert!(!r.download);
    let i = decode::device_info(&bytes(
        json!({"alias": "x", "version": "2.1", "deviceType": null}),
    ))
    .expect("decodes");
    assert_eq!(i.device_type, None);
}

#[test]
fn encodes_camel_case_and_omits_absent_fields() {
    let file = FileDto {
        id: "1".into(),
        file_name: "a/b.txt".into(),
        size: 3,
        file_type: "text/plain".into(),
        sha256: None,
        preview: Some("hi!".into()),
        metadata: None,
    };
    assert_eq!(
        serde_json::to_string(&file).expect("json"),
        r#"{"id":"1","fileName":"a/b.txt","size":3,"fileType":"text/plain","preview":"hi!"}"#
    );
    let a = Announcement {
        device: Register {
            alias: "ferry".into(),
            version: "2.1".into(),
            device_model: None,
            device_type: Some(DeviceType::Headless),
            fingerprint: "F".into(),
            port: 53317,
            protocol: Scheme::Http,
            download: false,
        },
        announce: true,
    };
    assert_eq!(
        serde_json::to_string(&a).expect("json"),
        r#"{"alias":"ferry","version":"2.1","deviceType":"headless","fingerprint":"F","port":53317,"protocol":"http","download":false,"announce":true}"#
    );
    let back = decode::announcement(&bytes(serde_json::to_value(&a).expect("json")));
    assert_eq!(back, Ok(a));
}

#[test]
fn refuses_mismatched_ids_and_long_fields() {
    let mut v = app_prepare_upload();
    v["files"]["f1"]["id"] = json!("other");
    assert_eq!(
        decode::prepare_upload(&bytes(v)),
        Err(DecodeError::IdMismatch)
    );
    let mut v = app_prepare_upload();
    v["files"]["f2"]["fileName"] = json!("x".repeat(5000));
    assert!(matches!(
        decode::prepare_upload(&bytes(v)),
        Err(DecodeError::FieldTooLong {
            field: "fileName",
            ..
        })
    ));
}

#[test]
fn refuses_too_many_files_and_huge_bodies() {
    let files: serde_json::Map<_, _> = (0..=MAX_FILES)
        .map(|i| (i.to_string(), json!("t")))
        .collect();
    let body = bytes(json!({"sessionId": "s", "files": files}));
    let err = decode::prepare_upload_response(&body).expect_err("too many");
    assert!(err.to_string().contains("more than"), "{err}");
    let huge = vec![b' '; decode::MAX_BODY_BYTES + 1];
    assert!(matches!(
        decode::register(&huge),
        Err(DecodeError::BodyTooLarge { .. })
    ));
}

#[test]
fn error_message_is_read_and_bounded() {
    assert_eq!(
        decode::error_message(br#"{"message":"Invalid PIN"}"#).as_deref(),
        Some("Invalid PIN")
    );
    let long = bytes(json!({"message": "é".repeat(300)}));
    let m = decode::error_message(&long).expect("message");
    assert!(m.len() <= decode::MAX_SHORT_BYTES);
    assert_eq!(decode::error_message(b"<html>"), None);
}

#[test]
fn a_message_is_one_text_file_whose_preview_is_all_of_it() {
    let offer = |files: serde_json::Value| {
        let mut body = app_prepare_upload();
        body["files"] = files;
        let body = bytes(body);
        decode::prepare_upload(&body).expect("offer").files
    };
    let dto = |id: &str, kind: &str, size: u64, preview: Option<&str>| {
        json!({"id": id, "fileName": format!("{id}.txt"), "size": size,
               "fileType": kind, "preview": preview})
    };
    let short = offer(json!({"m": dto("m", "text/plain", 5, Some("héllo"))}));
    assert_eq!(
        message_text(&short),
        None,
        "5 bytes declared, the preview is 6"
    );
    let message = offer(json!({"m": dto("m", "text/plain", 6, Some("héllo"))}));
    assert_eq!(message_text(&message), Some("héllo"));
    let no_preview = offer(json!({"m": dto("m", "text/plain", 6, None)}));
    assert_eq!(message_text(&no_preview), None);
    let binary = offer(json!({"m": dto("m", "application/octet-stream", 6, Some("héllo"))}));
    assert_eq!(message_text(&binary), None);
    let two = offer(json!({"a": dto("a", "text/plain", 1, Some("x")),
                           "b": dto("b", "text/plain", 1, Some("y"))}));
    assert_eq!(message_text(&two), None);
}
