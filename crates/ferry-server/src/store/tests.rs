//! The same checks against both backends.

use super::*;

fn backends() -> Vec<Box<dyn Store>> {
    vec![
        Box::new(MemoryStore::new()),
        Box::new(SqliteStore::open_in_memory().unwrap()),
    ]
}

fn np(mailbox: &str, side: &str) -> Nameplate {
    Nameplate {
        mailbox: mailbox.into(),
        sides: vec![NameplateSide {
            side: side.into(),
            claimed: true,
            added: 1.0,
        }],
    }
}

#[test]
fn nameplate_round_trip_and_delete_with_mailbox() {
    for mut s in backends() {
        s.put_nameplate("app", "7", &np("mb", "a")).unwrap();
        let mb = Mailbox {
            for_nameplate: true,
            updated: 5.0,
            sides: vec![],
        };
        s.put_mailbox("app", "mb", &mb).unwrap();
        s.commit().unwrap();
        assert_eq!(s.nameplate("app", "7").unwrap(), Some(np("mb", "a")));
        assert_eq!(s.nameplate("other", "7").unwrap(), None);
        assert_eq!(
            s.all_nameplates().unwrap(),
            vec![("app".into(), "7".into())]
        );
        let gone = s.delete_mailbox("app", "mb").unwrap();
        assert_eq!(gone, vec![("7".to_string(), np("mb", "a"))]);
        assert_eq!(s.nameplate("app", "7").unwrap(), None);
        assert_eq!(s.count_mailboxes().unwrap(), 0);
    }
}

#[test]
fn messages_keep_order_and_go_with_the_mailbox() {
    for mut s in backends() {
        let mb = Mailbox {
            for_nameplate: false,
            updated: 1.0,
            sides: vec![],
        };
        s.put_mailbox("app", "mb", &mb).unwrap();
        for (i, phase) in ["pake", "version", "0"].iter().enumerate() {
            let m = StoredMessage {
                side: "a".into(),
                phase: (*phase).into(),
                body: "00".into(),
                server_rx: 10.0 + i as f64,
                msg_id: Some("beef".into()),
            };
            s.add_message("app", "mb", &m).unwrap();
        }
        let phases: Vec<_> = s
            .messages("app", "mb")
            .unwrap()
            .into_iter()
            .map(|m| m.phase)
            .collect();
        assert_eq!(phases, ["pake", "version", "0"]);
        assert_eq!(s.count_messages("app", "mb").unwrap(), 3);
        assert_eq!(s.stale_mailboxes(2.0).unwrap().len(), 1);
        assert!(s.touch_mailbox("app", "mb", 3.0).unwrap());
        assert!(!s.touch_mailbox("app", "no such mailbox", 3.0).unwrap());
        assert!(s.stale_mailboxes(2.0).unwrap().is_empty());
        s.delete_mailbox("app", "mb").unwrap();
        assert!(s.messages("app", "mb").unwrap().is_empty());
    }
}

#[test]
fn sqlite_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let mut s = SqliteStore::open(&path).unwrap();
        s.put_nameplate("app", "3", &np("mb", "a")).unwrap();
        s.commit().unwrap();
        s.put_nameplate("app", "4", &np("mb", "a")).unwrap();
        // not committed: lost on "kill"
    }
    let mut s = SqliteStore::open(&path).unwrap();
    assert!(s.nameplate("app", "3").unwrap().is_some());
    assert!(s.nameplate("app", "4").unwrap().is_none());
}

#[test]
fn a_chained_error_names_every_cause_once() {
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error connecting to server")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let e = StoreError::chained("cannot connect to PostgreSQL", &Outer(io));
    assert_eq!(
        e.to_string(),
        "cannot connect to PostgreSQL: error connecting to server: Connection refused"
    );
}
