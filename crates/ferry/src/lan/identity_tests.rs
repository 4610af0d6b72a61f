use std::os::unix::fs::PermissionsExt;

use sha2::{Digest, Sha256};

use super::*;

#[test]
fn made_once_then_the_same_on_every_load() {
    let dir = tempfile::tempdir().unwrap();
    let lan = dir.path().join("ferry").join("lan");
    let first = Identity::load_or_create(&lan).unwrap();
    let second = Identity::load_or_create(&lan).unwrap();
    assert_eq!(first.fingerprint(), second.fingerprint());
    assert_eq!(first.certificate(), second.certificate());
    assert_eq!(first.private_key(), second.private_key());
}

#[test]
fn key_file_is_private_and_no_temp_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    Identity::load_or_create(dir.path()).unwrap();
    let mode = fs::metadata(dir.path().join(KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, [CERT_FILE, KEY_FILE]);
}

#[test]
fn fingerprint_is_upper_hex_sha256_of_the_der() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::load_or_create(dir.path()).unwrap();
    let fingerprint = identity.fingerprint().as_str();
    assert_eq!(fingerprint.len(), 64);
    assert!(fingerprint
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
    let digest = hex::encode_upper(Sha256::digest(identity.certificate()));
    assert_eq!(fingerprint, digest);
}

#[test]
fn a_corrupt_certificate_is_an_error_naming_it_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    Identity::load_or_create(dir.path()).unwrap();
    let cert = dir.path().join(CERT_FILE);
    fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let err = Identity::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(&err, IdentityError::Corrupt { path, .. } if *path == cert),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&cert.display().to_string()),
        "{err}"
    );
    assert_eq!(
        fs::read(&cert).unwrap(),
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n"
    );
}

#[test]
fn a_certificate_with_another_key_is_an_error() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    Identity::load_or_create(a.path()).unwrap();
    Identity::load_or_create(b.path()).unwrap();
    fs::copy(b.path().join(KEY_FILE), a.path().join(KEY_FILE)).unwrap();
    let err = Identity::load_or_create(a.path()).unwrap_err();
    assert!(matches!(err, IdentityError::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_key_left_without_its_certificate_is_replaced() {
    // A crash between the two renames: the key was never shown to anyone.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(KEY_FILE), "half").unwrap();
    let identity = Identity::load_or_create(dir.path()).unwrap();
    let again = Identity::load_or_create(dir.path()).unwrap();
    assert_eq!(identity.fingerprint(), again.fingerprint());
}

#[test]
fn config_dir_follows_xdg_then_home() {
    let os = |s: &str| Some(OsString::from(s));
    assert_eq!(
        dir_under(os("/x"), os("/h")),
        Some(PathBuf::from("/x/ferry/lan"))
    );
    assert_eq!(
        dir_under(os(""), os("/h")),
        Some(PathBuf::from("/h/.config/ferry/lan"))
    );
    assert_eq!(
        dir_under(None, os("/h")),
        Some(PathBuf::from("/h/.config/ferry/lan"))
    );
    assert_eq!(dir_under(None, None), None);
}
