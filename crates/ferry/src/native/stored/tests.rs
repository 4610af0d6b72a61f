use std::os::unix::fs::PermissionsExt;

use super::*;

fn entry(dir: &Path, code: &str, patience: u64) -> StoredSession {
    let rejoin = Rejoin {
        mailbox: "mb".into(),
        key: SharedKey::from_bytes([7; 32]),
        side: "aaaaaaaaaa".into(),
        peer_side: "bbbbbbbbbb".into(),
        peer_phases_seen: 1,
    };
    let mailbox = Mailbox {
        url: "ws://127.0.0.1:1/v1",
        appid: "app",
        rejoin,
    };
    let code = Code::parse(code).expect("code");
    let features = Features {
        keepalive: true,
        reconnect: true,
        quic: true,
        late_roots: true,
    };
    let agreed = (Aead::ChaCha20Poly1305, features);
    StoredSession::new(mailbox, agreed, (&code, dir), Duration::from_secs(patience))
}

fn store() -> (tempfile::TempDir, SessionStore) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = SessionStore::at(tmp.path().join("state/ferry/sessions"));
    (tmp, store)
}

#[test]
fn saved_private_found_by_dir_and_code_then_removed() {
    let (tmp, store) = store();
    let mut s = entry(Path::new("/data/in"), "5-a-b", 60);
    let path = store.save(&mut s).expect("saved");
    let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&tmp.path().join("state/ferry/sessions")), 0o700);
    let text = fs::read_to_string(&path).expect("read");
    assert!(!text.contains("5-a-b"), "the code itself is not stored");
    let found = store.for_dir(Path::new("/data/in")).expect("look-up");
    assert_eq!(found.len(), 1);
    assert!(found[0].made_with(&Code::parse("5-a-b").expect("code")));
    assert!(!found[0].made_with(&Code::parse("5-a-c").expect("code")));
    let (a, b) = (
        found[0].rejoin().expect("rejoin"),
        s.rejoin().expect("rejoin"),
    );
    assert_eq!(a.key.as_bytes(), b.key.as_bytes());
    assert_eq!(
        (a.mailbox, a.side, a.peer_phases_seen),
        (b.mailbox, b.side, 1)
    );
    assert!(store
        .for_dir(Path::new("/data/other"))
        .expect("none")
        .is_empty());
    store.remove(&s);
    assert!(!path.exists());
    assert!(store
        .for_dir(Path::new("/data/in"))
        .expect("gone")
        .is_empty());
}

#[test]
fn an_expired_entry_is_removed_by_the_look_up() {
    let (_tmp, store) = store();
    let mut s = entry(Path::new("/data/in"), "5-a-b", 0);
    let path = store.save(&mut s).expect("saved");
    assert!(store.for_dir(Path::new("/data/in")).expect("ok").is_empty());
    assert!(!path.exists());
}

#[test]
fn a_damaged_file_is_a_clear_error_not_a_panic() {
    let (_tmp, store) = store();
    let mut s = entry(Path::new("/data/in"), "5-a-b", 60);
    let path = store.save(&mut s).expect("saved");
    for bad in [
        &b"{not json"[..],
        b"",
        &[0xff; 100][..],
        br#"{"format": 9}"#,
    ] {
        fs::write(&path, bad).expect("spoil");
        let e = store.for_dir(Path::new("/data/in")).expect_err("damaged");
        let said = e.to_string();
        assert!(
            said.contains("is damaged") && said.contains("remove it"),
            "{said}"
        );
    }
    let key_spoilt = serde_json::to_string(&s)
        .expect("json")
        .replace(&"07".repeat(32), "zz");
    fs::write(&path, key_spoilt).expect("spoil");
    assert!(store.for_dir(Path::new("/data/in")).is_err());
}

#[test]
fn a_damaged_file_does_not_hide_a_good_one() {
    let (_tmp, store) = store();
    let mut good = entry(Path::new("/data/in"), "5-a-b", 60);
    store.save(&mut good).expect("saved");
    fs::write(store.dir.join(format!("x{SUFFIX}")), b"junk").expect("junk");
    assert_eq!(
        store.for_dir(Path::new("/data/in")).expect("found").len(),
        1
    );
}

#[test]
fn no_store_directory_means_nothing_stored() {
    let (_tmp, store) = store();
    assert!(store
        .for_dir(Path::new("/data/in"))
        .expect("empty")
        .is_empty());
}

#[test]
fn the_key_is_not_in_debug_output() {
    let s = entry(Path::new("/data/in"), "5-a-b", 60);
    assert!(!format!("{s:?}").contains(&"07".repeat(32)));
}
