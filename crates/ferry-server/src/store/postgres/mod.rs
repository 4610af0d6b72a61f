//! The PostgreSQL [`Store`]: several `ferry serve` instances share one database.
//!
//! - **Transactions.** Each batch of the state thread is one transaction, begun by
//!   its first statement and ended by [`Store::commit`], that first takes a
//!   pool-wide advisory lock ([`BATCH_LOCK`]): the instances' batches run one after
//!   the other, each seeing every earlier commit (`READ COMMITTED`), so the rules in
//!   `mailbox::state`, written once, hold across instances exactly as in one. A
//!   batch holds the lock only for its own statements; the instances' WebSocket,
//!   JSON and relay work stays parallel.
//!   Finer locking was measured and dropped: row conflicts under `REPEATABLE READ`
//!   or `SERIALIZABLE` hit nearly every pair split across instances (both sides
//!   claim and add at once), and batches touching many mailboxes in different
//!   orders deadlocked (a second each to detect): 26–80 rendezvous/s on two
//!   instances in `bench/serve`. A conflict that still happens is run again.
//! - **Few round trips.** A batch reads the rows its commands name in two
//!   statements ([`Store::prefetch`]), keeps what it reads and writes in memory
//!   ([`unit`]), and writes it all at commit in one statement: about five round
//!   trips a batch, however many commands it holds, instead of some sixty
//!   statements per rendezvous (bench/serve: one instance 285 → 1425
//!   rendezvous/s at 200 in flight).
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
#[cfg(test)]
mod tests;
mod unit;

use postgres::Client;
use rand::RngCore;

pub(crate) use directory::{pool_secret, PgDirectory};
pub use listen::ChangeFeed;
pub(crate) use listen::{listen_for_changes, ChangeSink, Changed};

use super::{Key, Mailbox, Nameplate, Prefetch, Store, StoreError, StoredMessage, UsageRecord};
use conn::Session;
use unit::Unit;

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
    /// The open transaction's rows and pending writes.
    unit: Unit,
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

/// A nameplate from columns `mailbox_id, sides` starting at `at`.
fn nameplate_at(r: &postgres::Row, at: usize) -> Result<Nameplate, StoreError> {
    Ok(Nameplate {
        mailbox: r.get(at),
        sides: from_json(r.get(at + 1))?,
    })
}

/// A message from columns `side, phase, body, server_rx, msg_id` starting at `at`.
fn message_at(r: &postgres::Row, at: usize) -> StoredMessage {
    StoredMessage {
        side: r.get(at),
        phase: r.get(at + 1),
        body: r.get(at + 2),
        server_rx: r.get(at + 3),
        msg_id: r.get(at + 4),
    }
}

/// A mailbox from columns `for_nameplate, updated, sides` starting at `at`.
fn mailbox_at(r: &postgres::Row, at: usize) -> Result<Mailbox, StoreError> {
    Ok(Mailbox {
        for_nameplate: r.get(at),
        updated: r.get(at + 1),
        sides: from_json(r.get(at + 2))?,
    })
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
            unit: Unit::default(),
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
        // Every statement until COMMIT or ROLLBACK must run on this connection.
        self.session.pin();
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
            // The server rolled the transaction back with the connection.
            self.in_tx = false;
            self.session.unpin();
            self.unit.clear();
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

/// The pending writes of a batch in one statement: rows in their last state,
/// new messages, usage records, and a notification per mailbox that got
/// messages (PostgreSQL delivers it on commit). Data-modifying CTEs run whether
/// or not they are read.
const FLUSH: &str = "
WITH gone AS (
  DELETE FROM ferry_nameplates n USING unnest($1::text[], $2::text[]) AS d(app, name)
  WHERE n.app_id = d.app AND n.name = d.name),
np AS (
  INSERT INTO ferry_nameplates (app_id, name, mailbox_id, sides)
  SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[])
  ON CONFLICT (app_id, name) DO UPDATE SET mailbox_id = excluded.mailbox_id, sides = excluded.sides),
mb AS (
  INSERT INTO ferry_mailboxes (app_id, id, for_nameplate, updated, sides)
  SELECT * FROM unnest($7::text[], $8::text[], $9::bool[], $10::float8[], $11::text[])
  ON CONFLICT (app_id, id) DO UPDATE SET for_nameplate = excluded.for_nameplate,
    updated = excluded.updated, sides = excluded.sides),
msg AS (
  INSERT INTO ferry_messages (app_id, mailbox_id, pos, side, phase, body, server_rx, msg_id)
  SELECT * FROM unnest($12::text[], $13::text[], $14::int8[], $15::text[], $16::text[],
                       $17::text[], $18::float8[], $19::text[])),
used AS (
  INSERT INTO ferry_usage (kind, app_id, for_nameplate, started, waiting_time, total_time,
                           total_bytes, result)
  SELECT * FROM unnest($20::text[], $21::text[], $22::bool[], $23::float8[], $24::float8[],
                       $25::float8[], $26::int8[], $27::text[]))
SELECT pg_notify($28, p) FROM unnest($29::text[]) AS p";

impl PgStore {
    /// Writes the batch's pending writes (at commit, and before a query that
    /// must see them).
    fn flush(&mut self) -> Result<(), StoreError> {
        if !self.unit.has_writes() {
            return Ok(());
        }
        let f = self.unit.take_writes();
        let origin = &self.feed.origin;
        let payloads: Vec<String> = f
            .notify
            .iter()
            .map(|(app, id)| {
                let p = json(&(app, id, origin)).ok();
                p.filter(|p| p.len() <= MAX_PAYLOAD)
                    .unwrap_or_else(|| "*".to_owned())
            })
            .collect();
        let (g, n, b, m, u) = (
            &f.gone_nameplates,
            &f.nameplates,
            &f.mailboxes,
            &f.messages,
            &f.usage,
        );
        self.exec(
            FLUSH,
            &[
                &g.app,
                &g.id,
                &n.app,
                &n.name,
                &n.mailbox,
                &n.sides,
                &b.app,
                &b.id,
                &b.for_nameplate,
                &b.updated,
                &b.sides,
                &m.app,
                &m.mailbox,
                &m.pos,
                &m.side,
                &m.phase,
                &m.body,
                &m.server_rx,
                &m.msg_id,
                &u.kind,
                &u.app,
                &u.for_nameplate,
                &u.started,
                &u.waiting_time,
                &u.total_time,
                &u.total_bytes,
                &u.result,
                &CHANNEL,
                &payloads,
            ],
        )
    }

    /// Reads the nameplates, then the mailboxes (those asked for and those the
    /// nameplates point at) with their last positions: two round trips.
    fn read_ahead(
        &mut self,
        nameplates: &[Key<'_>],
        mailboxes: &[Key<'_>],
    ) -> Result<(), StoreError> {
        let (apps, names): (Vec<&str>, Vec<&str>) = nameplates
            .iter()
            .filter(|(app, name)| self.unit.nameplate(app, name).is_none())
            .copied()
            .unzip();
        let mut wanted: Vec<(String, String)> = Vec::new();
        if !apps.is_empty() {
            let rows = self.query(
                "SELECT n.app_id, n.name, n.mailbox_id, n.sides FROM ferry_nameplates n
                 JOIN unnest($1::text[], $2::text[]) AS k(app, name)
                   ON n.app_id = k.app AND n.name = k.name",
                &[&apps, &names],
            )?;
            for (app, name) in apps.iter().zip(&names) {
                self.unit.read_nameplate(app, name, None);
            }
            for r in &rows {
                let (app, name): (String, String) = (r.get(0), r.get(1));
                let np = nameplate_at(r, 2)?;
                wanted.push((app.clone(), np.mailbox.clone()));
                self.unit.read_nameplate(&app, &name, Some(np));
            }
        }
        wanted.extend(
            mailboxes
                .iter()
                .map(|(a, i)| ((*a).to_owned(), (*i).to_owned())),
        );
        wanted.retain(|(app, id)| self.unit.mailbox(app, id).is_none());
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        let (apps, ids): (Vec<String>, Vec<String>) = wanted.into_iter().unzip();
        let rows = self.query(
            "SELECT b.app_id, b.id, b.for_nameplate, b.updated, b.sides,
                    (SELECT COALESCE(MAX(pos), 0) FROM ferry_messages m
                     WHERE m.app_id = b.app_id AND m.mailbox_id = b.id)
             FROM ferry_mailboxes b
             JOIN unnest($1::text[], $2::text[]) AS k(app, id) ON b.app_id = k.app AND b.id = k.id",
            &[&apps, &ids],
        )?;
        // A mailbox without a row has no messages either (they go together).
        for (app, id) in apps.iter().zip(&ids) {
            self.unit.read_mailbox(app, id, None);
            self.unit.read_last_pos(app, id, 0);
        }
        for r in &rows {
            let (app, id): (String, String) = (r.get(0), r.get(1));
            let mb = mailbox_at(r, 2)?;
            let last: i64 = r.get(5);
            self.unit.read_mailbox(&app, &id, Some(mb));
            self.unit
                .read_last_pos(&app, &id, u64::try_from(last).unwrap_or(0));
        }
        Ok(())
    }

    /// Stored messages after each `(app, id, after)`, in one query.
    fn stored_after_many(
        &mut self,
        reads: &[(&str, &str, u64)],
    ) -> Result<Vec<Vec<StoredMessage>>, StoreError> {
        let apps: Vec<&str> = reads.iter().map(|r| r.0).collect();
        let ids: Vec<&str> = reads.iter().map(|r| r.1).collect();
        let after: Vec<i64> = reads
            .iter()
            .map(|r| i64::try_from(r.2).unwrap_or(i64::MAX))
            .collect();
        let rows = self.query(
            "SELECT k.n, m.side, m.phase, m.body, m.server_rx, m.msg_id
             FROM unnest($1::text[], $2::text[], $3::int8[]) WITH ORDINALITY AS k(app, id, after, n)
             JOIN ferry_messages m ON m.app_id = k.app AND m.mailbox_id = k.id AND m.pos > k.after
             ORDER BY k.n, m.pos",
            &[&apps, &ids, &after],
        )?;
        let mut found: Vec<Vec<StoredMessage>> = vec![Vec::new(); reads.len()];
        for r in &rows {
            let n: i64 = r.get(0);
            let at = usize::try_from(n - 1).unwrap_or(usize::MAX);
            if let Some(list) = found.get_mut(at) {
                list.push(message_at(r, 1));
            }
        }
        Ok(found)
    }

    /// The last position in a mailbox, stored or pending.
    fn last_pos(&mut self, app: &str, id: &str) -> Result<u64, StoreError> {
        if let Some(pos) = self.unit.last_pos(app, id) {
            return Ok(pos);
        }
        let rows = self.query(
            "SELECT COALESCE(MAX(pos), 0) FROM ferry_messages WHERE app_id=$1 AND mailbox_id=$2",
            &[&app, &id],
        )?;
        let n: i64 = rows.first().map_or(0, |r| r.get(0));
        let pos = u64::try_from(n).unwrap_or(0);
        self.unit.read_last_pos(app, id, pos);
        Ok(pos)
    }
}

impl Store for PgStore {
    fn nameplate(&mut self, app: &str, name: &str) -> Result<Option<Nameplate>, StoreError> {
        if let Some(known) = self.unit.nameplate(app, name) {
            return Ok(known);
        }
        let rows = self.query(
            "SELECT mailbox_id, sides FROM ferry_nameplates WHERE app_id=$1 AND name=$2",
            &[&app, &name],
        )?;
        let np = rows.first().map(|r| nameplate_at(r, 0)).transpose()?;
        self.unit.read_nameplate(app, name, np.clone());
        Ok(np)
    }

    fn put_nameplate(&mut self, app: &str, name: &str, np: &Nameplate) -> Result<(), StoreError> {
        self.begin()?;
        self.unit.put_nameplate(app, name, Some(np.clone()));
        Ok(())
    }

    fn delete_nameplate(&mut self, app: &str, name: &str) -> Result<(), StoreError> {
        self.begin()?;
        self.unit.put_nameplate(app, name, None);
        Ok(())
    }

    fn all_nameplates(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        self.flush()?;
        let rows = self.query("SELECT app_id, name FROM ferry_nameplates", &[])?;
        Ok(self.pairs(rows))
    }

    fn nameplate_names(&mut self, app: &str) -> Result<Vec<String>, StoreError> {
        self.flush()?;
        let rows = self.query("SELECT name FROM ferry_nameplates WHERE app_id=$1", &[&app])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn mailbox(&mut self, app: &str, id: &str) -> Result<Option<Mailbox>, StoreError> {
        if let Some(known) = self.unit.mailbox(app, id) {
            return Ok(known);
        }
        let rows = self.query(
            "SELECT for_nameplate, updated, sides FROM ferry_mailboxes WHERE app_id=$1 AND id=$2",
            &[&app, &id],
        )?;
        let mb = rows.first().map(|r| mailbox_at(r, 0)).transpose()?;
        self.unit.read_mailbox(app, id, mb.clone());
        Ok(mb)
    }

    fn put_mailbox(&mut self, app: &str, id: &str, mb: &Mailbox) -> Result<(), StoreError> {
        self.begin()?;
        self.unit.put_mailbox(app, id, mb.clone());
        Ok(())
    }

    fn touch_mailbox(&mut self, app: &str, id: &str, now: f64) -> Result<bool, StoreError> {
        let Some(mut mb) = self.mailbox(app, id)? else {
            return Ok(false);
        };
        mb.updated = now;
        self.unit.put_mailbox(app, id, mb);
        Ok(true)
    }

    fn delete_mailbox(
        &mut self,
        app: &str,
        id: &str,
    ) -> Result<Vec<(String, Nameplate)>, StoreError> {
        // At once, after what is pending: the rows it returns are the ones
        // stored, and a mailbox id used again in this batch starts afresh.
        self.flush()?;
        let rows = self.query(
            "WITH m AS (DELETE FROM ferry_messages WHERE app_id=$1 AND mailbox_id=$2),
                  b AS (DELETE FROM ferry_mailboxes WHERE app_id=$1 AND id=$2)
             DELETE FROM ferry_nameplates WHERE app_id=$1 AND mailbox_id=$2
             RETURNING name, mailbox_id, sides",
            &[&app, &id],
        )?;
        let gone: Vec<(String, Nameplate)> = rows
            .iter()
            .map(|r| Ok((r.get(0), nameplate_at(r, 1)?)))
            .collect::<Result<_, StoreError>>()?;
        let names: Vec<String> = gone.iter().map(|(n, _)| n.clone()).collect();
        self.unit.deleted_mailbox(app, id, &names);
        Ok(gone)
    }

    fn stale_mailboxes(&mut self, cutoff: f64) -> Result<Vec<(String, String)>, StoreError> {
        self.flush()?;
        let rows = self.query(
            "SELECT app_id, id FROM ferry_mailboxes WHERE updated < $1",
            &[&cutoff],
        )?;
        Ok(self.pairs(rows))
    }

    fn count_mailboxes(&mut self) -> Result<u64, StoreError> {
        self.flush()?;
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
        if let Some(known) = self.unit.known_after(app, id, after) {
            return Ok(known);
        }
        let after_i = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT side, phase, body, server_rx, msg_id FROM ferry_messages
             WHERE app_id=$1 AND mailbox_id=$2 AND pos > $3 ORDER BY pos",
            &[&app, &id, &after_i],
        )?;
        let mut stored: Vec<StoredMessage> = rows.iter().map(|r| message_at(r, 0)).collect();
        // Pending positions all come after the stored ones.
        stored.extend(self.unit.pending_after(app, id, after));
        Ok(stored)
    }

    fn messages_after_many(
        &mut self,
        reads: &[(&str, &str, u64)],
    ) -> Result<Vec<Vec<StoredMessage>>, StoreError> {
        let mut found = self.stored_after_many(reads)?;
        // Pending positions all come after the stored ones.
        for (list, (app, id, after)) in found.iter_mut().zip(reads) {
            list.extend(self.unit.pending_after(app, id, *after));
        }
        Ok(found)
    }

    fn count_messages(&mut self, app: &str, id: &str) -> Result<usize, StoreError> {
        // Positions have no gaps: the last one is the count.
        let last = self.last_pos(app, id)?;
        Ok(usize::try_from(last).unwrap_or(usize::MAX))
    }

    fn add_message(&mut self, app: &str, id: &str, m: &StoredMessage) -> Result<u64, StoreError> {
        self.last_pos(app, id)?;
        Ok(self.unit.add_message(app, id, m))
    }

    fn prefetch(&mut self, rows: &Prefetch<'_>) -> Result<(), StoreError> {
        self.read_ahead(&rows.nameplates, &rows.mailboxes)?;
        let mut opened: Vec<Key<'_>> = rows.opened.clone();
        opened.retain(|(app, id)| self.unit.known_after(app, id, 0).is_none());
        opened.sort_unstable();
        opened.dedup();
        if opened.is_empty() {
            return Ok(());
        }
        let reads: Vec<(&str, &str, u64)> = opened.iter().map(|(a, i)| (*a, *i, 0)).collect();
        let found = self.stored_after_many(&reads)?;
        for ((app, id), messages) in opened.iter().zip(found) {
            self.unit.read_stored(app, id, messages);
        }
        Ok(())
    }

    fn record_usage(&mut self, u: &UsageRecord) -> Result<(), StoreError> {
        self.begin()?;
        self.unit.record_usage(u);
        Ok(())
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
        let flushed = self.flush();
        self.unit.clear();
        if let Err(e) = flushed {
            self.rollback();
            return Err(e);
        }
        self.in_tx = false;
        let committed = self.session.batch("COMMIT");
        self.session.unpin();
        committed
    }

    fn rollback(&mut self) {
        self.unit.clear();
        if self.in_tx {
            self.in_tx = false;
            // A lost connection rolled it back already.
            let _ = self.session.batch("ROLLBACK");
            self.session.unpin();
        }
    }
}
