//! The PostgreSQL [`Store`]: several `ferry serve` instances share one database.
//!
//! - **Transactions.** Each batch of the state thread is one transaction, begun by
//!   its first statement and ended by [`Store::commit`], that first takes a
//!   pool-wide advisory lock ([`BATCH_LOCK`]): the instances' batches run one after
//!   the other, each seeing every earlier commit (`READ COMMITTED`), so the rules in
//!   `mailbox::state`, written once, hold across instances exactly as in one. A
//!   batch holds the lock only for its own statements (a few round trips per
//!   command); the instances' WebSocket, JSON and relay work stays parallel.
//!   Finer locking was measured and dropped: row conflicts under `REPEATABLE READ`
//!   or `SERIALIZABLE` hit nearly every pair split across instances (both sides
//!   claim and add at once), and batches touching many mailboxes in different
//!   orders deadlocked (a second each to detect): 26–80 rendezvous/s on two
//!   instances in `bench/serve`. A conflict that still happens is run again.
//! - **Messages** carry their position in the mailbox (a unique key), so positions
//!   have no gaps; adding one also sends a notification on [`CHANNEL`], delivered by
//!   PostgreSQL only if the transaction commits. Other instances listen
//!   ([`listen_for_changes`]) and catch up by position, so a missed notification
//!   (a lost connection) costs a catch-up read, never a message.
//! - **Expiry** is a batch like any other: under the batch lock one instance's
//!   expiry runs at a time, and deletes each stale mailbox once.
//! - **Outages.** A lost connection fails the batch in flight (rolled back by the
//!   server, so nothing is half-applied) and the next batch reconnects, with backoff.

mod conn;
mod directory;
mod listen;
mod schema;

use postgres::Client;
use rand::RngCore;

pub(crate) use directory::{pool_secret, PgDirectory};
pub use listen::ChangeFeed;
pub(crate) use listen::{listen_for_changes, ChangeSink, Changed};

use super::{Mailbox, Nameplate, Store, StoreError, StoredMessage, UsageRecord};
use conn::Session;

/// The notification channel for new messages; the payload is `[app, mailbox,
/// origin]` in JSON, or `*` ("catch up everything") when that would not fit.
pub(crate) const CHANNEL: &str = "ferry_mailbox";
/// Transaction-scoped advisory lock taken by every batch.
const BATCH_LOCK: i64 = 7_378_698_002_470_004_081;
/// PostgreSQL refuses notification payloads from 8000 bytes.
const MAX_PAYLOAD: usize = 7900;

/// See the module docs.
pub struct PgStore {
    session: Session,
    in_tx: bool,
    feed: ChangeFeed,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("in_tx", &self.in_tx)
            .finish_non_exhaustive()
    }
}

/// Brings the schema up to date on every (re)connect: a database restored from an
/// older backup is migrated again before use.
fn prepare_session(client: &mut Client) -> Result<(), StoreError> {
    schema::migrate(client)
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::new(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::new(format!("corrupt sides in the store: {e}")))
}

impl PgStore {
    /// Connects to `postgres://…` and applies pending schema migrations. Blocking:
    /// call it outside the async runtime (the state thread does).
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let session = Session::connect(conn::config(url)?, prepare_session)?;
        let mut mark = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut mark);
        let origin = mark.iter().map(|b| format!("{b:02x}")).collect();
        Ok(PgStore {
            session,
            in_tx: false,
            feed: ChangeFeed {
                url: url.to_owned(),
                origin,
            },
        })
    }

    /// Opens the batch's transaction. Nothing has run in it yet, so a connection
    /// found dead here is replaced and the transaction begun on the new one.
    fn begin(&mut self) -> Result<(), StoreError> {
        if self.in_tx {
            return Ok(());
        }
        // One round trip: the transaction and the pool-wide lock that orders
        // the instances' batches (see the module docs).
        let begin = format!(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({BATCH_LOCK})"
        );
        if self.session.batch(&begin).is_err() {
            self.session.batch(&begin)?;
        }
        self.in_tx = true;
        Ok(())
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        self.begin()?;
        let rows = self.session.query(sql, params);
        if rows.is_err() && !self.session.connected() {
            self.in_tx = false;
        }
        rows
    }

    fn exec(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        self.query(sql, params).map(drop)
    }

    fn pairs(&mut self, rows: Vec<postgres::Row>) -> Vec<(String, String)> {
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }
}

impl Store for PgStore {
    fn nameplate(&mut self, app: &str, name: &str) -> Result<Option<Nameplate>, StoreError> {
        let rows = self.query(
            "SELECT mailbox_id, sides FROM ferry_nameplates WHERE app_id=$1 AND name=$2",
            &[&app, &name],
        )?;
        rows.first()
            .map(|r| {
                Ok(Nameplate {
                    mailbox: r.get(0),
                    sides: from_json(r.get(1))?,
                })
            })
            .transpose()
    }

    fn put_nameplate(&mut self, app: &str, name: &str, np: &Nameplate) -> Result<(), StoreError> {
        let sides = json(&np.sides)?;
        self.exec(
            "INSERT INTO ferry_nameplates (app_id, name, mailbox_id, sides) VALUES ($1, $2, $3, $4)
             ON CONFLICT (app_id, name) DO UPDATE SET mailbox_id=excluded.mailbox_id, sides=excluded.sides",
            &[&app, &name, &np.mailbox, &sides],
        )
    }

    fn delete_nameplate(&mut self, app: &str, name: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM ferry_nameplates WHERE app_id=$1 AND name=$2",
            &[&app, &name],
        )
    }

    fn all_nameplates(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.query("SELECT app_id, name FROM ferry_nameplates", &[])?;
        Ok(self.pairs(rows))
    }

    fn nameplate_names(&mut self, app: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.query("SELECT name FROM ferry_nameplates WHERE app_id=$1", &[&app])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn mailbox(&mut self, app: &str, id: &str) -> Result<Option<Mailbox>, StoreError> {
        let rows = self.query(
            "SELECT for_nameplate, updated, sides FROM ferry_mailboxes WHERE app_id=$1 AND id=$2",
            &[&app, &id],
        )?;
        rows.first()
            .map(|r| {
                Ok(Mailbox {
                    for_nameplate: r.get(0),
                    updated: r.get(1),
                    sides: from_json(r.get(2))?,
                })
            })
            .transpose()
    }

    fn put_mailbox(&mut self, app: &str, id: &str, mb: &Mailbox) -> Result<(), StoreError> {
        let sides = json(&mb.sides)?;
        self.exec(
            "INSERT INTO ferry_mailboxes (app_id, id, for_nameplate, updated, sides) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (app_id, id) DO UPDATE SET for_nameplate=excluded.for_nameplate,
               updated=excluded.updated, sides=excluded.sides",
            &[&app, &id, &mb.for_nameplate, &mb.updated, &sides],
        )
    }

    fn touch_mailbox(&mut self, app: &str, id: &str, now: f64) -> Result<(), StoreError> {
        self.exec(
            "UPDATE ferry_mailboxes SET updated=$3 WHERE app_id=$1 AND id=$2",
            &[&app, &id, &now],
        )
    }

    fn delete_mailbox(
        &mut self,
        app: &str,
        id: &str,
    ) -> Result<Vec<(String, Nameplate)>, StoreError> {
        // Data-modifying CTEs run whether or not they are read: one round trip.
        let rows = self.query(
            "WITH m AS (DELETE FROM ferry_messages WHERE app_id=$1 AND mailbox_id=$2),
                  b AS (DELETE FROM ferry_mailboxes WHERE app_id=$1 AND id=$2)
             DELETE FROM ferry_nameplates WHERE app_id=$1 AND mailbox_id=$2
             RETURNING name, mailbox_id, sides",
            &[&app, &id],
        )?;
        rows.iter()
            .map(|r| {
                let np = Nameplate {
                    mailbox: r.get(1),
                    sides: from_json(r.get(2))?,
                };
                Ok((r.get(0), np))
            })
            .collect()
    }

    fn stale_mailboxes(&mut self, cutoff: f64) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.query(
            "SELECT app_id, id FROM ferry_mailboxes WHERE updated < $1",
            &[&cutoff],
        )?;
        Ok(self.pairs(rows))
    }

    fn count_mailboxes(&mut self) -> Result<u64, StoreError> {
        let rows = self.query("SELECT COUNT(*) FROM ferry_mailboxes", &[])?;
        let n: i64 = rows.first().map_or(0, |r| r.get(0));
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn messages_after(
        &mut self,
        app: &str,
        id: &str,
        after: u64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT side, phase, body, server_rx, msg_id FROM ferry_messages
             WHERE app_id=$1 AND mailbox_id=$2 AND pos > $3 ORDER BY pos",
            &[&app, &id, &after],
        )?;
        Ok(rows
            .iter()
            .map(|r| StoredMessage {
                side: r.get(0),
                phase: r.get(1),
                body: r.get(2),
                server_rx: r.get(3),
                msg_id: r.get(4),
            })
            .collect())
    }

    fn count_messages(&mut self, app: &str, id: &str) -> Result<usize, StoreError> {
        let rows = self.query(
            "SELECT COALESCE(MAX(pos), 0) FROM ferry_messages WHERE app_id=$1 AND mailbox_id=$2",
            &[&app, &id],
        )?;
        let n: i64 = rows.first().map_or(0, |r| r.get(0));
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn add_message(&mut self, app: &str, id: &str, m: &StoredMessage) -> Result<u64, StoreError> {
        let payload = json(&(app, id, &self.feed.origin))
            .ok()
            .filter(|p| p.len() <= MAX_PAYLOAD);
        let payload = payload.unwrap_or_else(|| "*".to_owned());
        // Two instances adding at once compute the same position; the unique key
        // makes one of them conflict and run again.
        let rows = self.query(
            "WITH m AS (
               INSERT INTO ferry_messages (app_id, mailbox_id, pos, side, phase, body, server_rx, msg_id)
               VALUES ($1, $2, (SELECT COALESCE(MAX(pos), 0) + 1 FROM ferry_messages
                                WHERE app_id=$1 AND mailbox_id=$2), $3, $4, $5, $6, $7)
               RETURNING pos)
             SELECT pos, pg_notify($8, $9) FROM m",
            &[
                &app,
                &id,
                &m.side,
                &m.phase,
                &m.body,
                &m.server_rx,
                &m.msg_id,
                &CHANNEL,
                &payload,
            ],
        )?;
        let pos: i64 = rows.first().map_or(0, |r| r.get(0));
        Ok(u64::try_from(pos).unwrap_or(0))
    }

    fn record_usage(&mut self, u: &UsageRecord) -> Result<(), StoreError> {
        let bytes = i64::try_from(u.total_bytes).unwrap_or(i64::MAX);
        self.exec(
            "INSERT INTO ferry_usage (kind, app_id, for_nameplate, started, waiting_time, total_time, total_bytes, result)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &u.kind.as_str(),
                &u.app_id,
                &u.for_nameplate,
                &u.started,
                &u.waiting_time,
                &u.total_time,
                &bytes,
                &u.result,
            ],
        )
    }

    fn shared(&self) -> bool {
        true
    }

    fn change_feed(&self) -> Option<ChangeFeed> {
        Some(self.feed.clone())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            return Ok(());
        }
        self.in_tx = false;
        self.session.batch("COMMIT")
    }

    fn rollback(&mut self) {
        if self.in_tx {
            self.in_tx = false;
            // A lost connection rolled it back already.
            let _ = self.session.batch("ROLLBACK");
        }
    }
}
