//! The store against a real PostgreSQL (the cluster the test starts).

use std::time::Duration;

use ferry_test_support::postgres::PgCluster;

use super::PgStore;
use crate::store::{Nameplate, NameplateSide, Store};

fn nameplate(side: &str) -> Nameplate {
    let sides = vec![NameplateSide {
        side: side.into(),
        claimed: true,
        added: 1.0,
    }];
    Nameplate {
        mailbox: "mb".into(),
        sides,
    }
}

/// A connection lost inside a batch's transaction fails the batch: its COMMIT
/// does not report success, and the next batch gets a new connection and finds
/// nothing of the lost one. (The race that `Session::pin` closes, a client that
/// learns of the close between two statements and reconnects in the middle of
/// the transaction, cannot be forced from here.)
#[test]
fn a_connection_lost_mid_transaction_fails_the_batch() {
    let pg = PgCluster::start();
    let mut s = PgStore::connect(&pg.url()).unwrap();
    // The batch's first read opens its transaction.
    assert_eq!(s.nameplate("app", "7").unwrap(), None);
    pg.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'ferry serve'",
    );
    // Time for the backend to go; the client learns of it on its next use.
    std::thread::sleep(Duration::from_millis(300));
    s.put_nameplate("app", "7", &nameplate("a")).unwrap();
    assert!(s.commit().is_err(), "its commit fails");

    // The next batch runs on a new connection and finds nothing half-applied.
    assert_eq!(s.nameplate("app", "7").unwrap(), None);
    s.put_nameplate("app", "7", &nameplate("b")).unwrap();
    s.commit().unwrap();
    assert_eq!(s.nameplate("app", "7").unwrap(), Some(nameplate("b")));
    s.commit().unwrap();
}
