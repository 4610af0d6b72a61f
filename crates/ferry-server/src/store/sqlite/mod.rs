//! The embedded SQLite [`Store`] (the default backend).
//!
//! WAL journal with `synchronous=NORMAL`: a commit reaches the OS (a `pwrite` to
//! the WAL) before the client is answered, so killing the server loses nothing it
//! acknowledged; only a checkpoint `fsync`s. A power cut may lose the last
//! commits, which for a rendezvous is harmless: both clients lose their
//! connection to the server too, and a Python client that reconnects re-sends its
//! `claim`/`open`/`add`.
//!
//! One transaction per batch of the state thread: the first statement after a
//! commit, read or write, opens it and [`Store::commit`] ends it, so the commands
//! that arrive together share one commit and one set of file locks. The schema
//! (schema.rs) keeps each record in one row; checkpoints run on a thread of their
//! own (checkpoint.rs).

mod checkpoint;
mod owner;
mod schema;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::{Mailbox, Nameplate, Store, StoreError, StoredMessage, UsageRecord};
use checkpoint::{passive_checkpoint, Checkpointer, CHECKPOINT_DELAY};

/// The WAL file is truncated to this size when it restarts: more than it grows
/// to before the state checkpoints it itself (checkpoint.rs, `WAL_RESET_FRAMES`),
/// so that under load it is written over in place. Truncated to 4 MiB, a busy
/// WAL grew back from there each time, and every new page of the file cost the
/// kernel a zeroed page and a block allocation: 9 % of the server's CPU per
/// rendezvous (`perf`: `zero_user_segments` under `pwrite64`).
const WAL_KEEP_BYTES: i64 = 64 * 1024 * 1024;

/// SQLite-backed store; see the module docs for durability.
pub struct SqliteStore {
    conn: Connection,
    /// A transaction is open (since the first statement after a commit).
    in_tx: bool,
    /// ... and has written something.
    wrote: bool,
    checkpointer: Option<Checkpointer>,
    /// This process's claim on a database file (none in memory).
    _owner: Option<owner::Owner>,
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::new(e.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::new(e.to_string()))
}

/// Sides read back from a row; a column that is not our JSON is a SQL error.
fn sides<T: serde::de::DeserializeOwned>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

/// A nameplate from columns `i` (mailbox id) and `i + 1` (sides).
fn nameplate_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Nameplate> {
    Ok(Nameplate {
        mailbox: r.get(i)?,
        sides: sides(r, i + 1)?,
    })
}

impl SqliteStore {
    /// Opens (creating or migrating if needed) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_delay(path, CHECKPOINT_DELAY)
    }

    fn open_with_delay(path: &Path, delay: Duration) -> Result<Self, StoreError> {
        // Before SQLite touches the file: a second instance changes nothing.
        let claim = owner::claim(path)?;
        let mut store = Self::init(Connection::open(path).map_err(err)?)?;
        store._owner = Some(claim);
        store
            .conn
            .execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_KEEP_BYTES};"
            ))
            .map_err(err)?;
        store.checkpointer = Some(Checkpointer::start(path, delay)?);
        Ok(store)
    }

    /// A private in-memory database.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(err)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        // journal_mode answers with a row, so it cannot go through execute_batch.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
            .map_err(err)?;
        schema::migrate(&conn)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteStore {
            conn,
            in_tx: false,
            wrote: false,
            checkpointer: None,
            _owner: None,
        })
    }

    /// The connection, inside the batch's transaction (opened here if needed).
    fn tx(&mut self) -> Result<&Connection, StoreError> {
        if !self.in_tx {
            self.control("BEGIN")?;
            self.in_tx = true;
        }
        Ok(&self.conn)
    }

    /// `BEGIN`, `COMMIT` or `ROLLBACK`, from the statement cache: a batch runs
    /// two of them, and parsing each anew cost about 2 % of the server's CPU
    /// per rendezvous (`perf`: `sqlite3RunParser` under `execute_batch`).
    fn control(&self, sql: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(drop)
            .map_err(err)
    }

    fn exec(&mut self, sql: &str, p: impl rusqlite::Params) -> Result<(), StoreError> {
        self.changed(sql, p).map(drop)
    }

    /// Runs a write; how many rows it changed.
    fn changed(&mut self, sql: &str, p: impl rusqlite::Params) -> Result<usize, StoreError> {
        let n = self
            .tx()?
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(p))
            .map_err(err)?;
        self.wrote = true;
        Ok(n)
    }

    /// The rows of a query, each mapped by `f`.
    fn rows<T>(
        &mut self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut st = self.tx()?.prepare_cached(sql).map_err(err)?;
        let rows = st.query_map(p, f).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// The one row of a query, if any, mapped by `f`.
    fn row<T>(
        &mut self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        self.tx()?
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(p, f).optional())
            .map_err(err)
    }

    fn pairs(
        &mut self,
        sql: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.rows(sql, p, |r| Ok((r.get(0)?, r.get(1)?)))
    }

    fn count(&mut self, sql: &str, p: impl rusqlite::Params) -> Result<u64, StoreError> {
        let n: Option<i64> = self.row(sql, p, |r| r.get(0))?;
        Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }
}

impl Store for SqliteStore {
    fn nameplate(&mut self, app: &str, name: &str) -> Result<Option<Nameplate>, StoreError> {
        self.row(
            "SELECT mailbox_id, sides FROM nameplates WHERE app_id=?1 AND name=?2",
            params![app, name],
            |r| nameplate_at(r, 0),
        )
    }

    fn put_nameplate(&mut self, app: &str, name: &str, np: &Nameplate) -> Result<(), StoreError> {
        self.exec(
            "INSERT OR REPLACE INTO nameplates (app_id, name, mailbox_id, sides) VALUES (?1, ?2, ?3, ?4)",
            params![app, name, np.mailbox, json(&np.sides)?],
        )
    }

    fn delete_nameplate(&mut self, app: &str, name: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM nameplates WHERE app_id=?1 AND name=?2",
            params![app, name],
        )
    }

    fn all_nameplates(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        self.pairs("SELECT app_id, name FROM nameplates", [])
    }

    fn mailbox(&mut self, app: &str, id: &str) -> Result<Option<Mailbox>, StoreError> {
        self.row(
            "SELECT for_nameplate, updated, sides FROM mailboxes WHERE app_id=?1 AND id=?2",
            params![app, id],
            |r| {
                Ok(Mailbox {
                    for_nameplate: r.get(0)?,
                    updated: r.get(1)?,
                    sides: sides(r, 2)?,
                })
            },
        )
    }

    fn put_mailbox(&mut self, app: &str, id: &str, mb: &Mailbox) -> Result<(), StoreError> {
        self.exec(
            "INSERT OR REPLACE INTO mailboxes (app_id, id, for_nameplate, updated, sides) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![app, id, mb.for_nameplate, mb.updated, json(&mb.sides)?],
        )
    }

    fn touch_mailbox(&mut self, app: &str, id: &str, now: f64) -> Result<bool, StoreError> {
        let n = self.changed(
            "UPDATE mailboxes SET updated=?3 WHERE app_id=?1 AND id=?2",
            params![app, id, now],
        )?;
        Ok(n == 1)
    }

    fn delete_mailbox(
        &mut self,
        app: &str,
        id: &str,
    ) -> Result<Vec<(String, Nameplate)>, StoreError> {
        let gone = self.rows(
            "SELECT name, mailbox_id, sides FROM nameplates WHERE app_id=?1 AND mailbox_id=?2",
            params![app, id],
            |r| Ok((r.get(0)?, nameplate_at(r, 1)?)),
        )?;
        if !gone.is_empty() {
            self.exec(
                "DELETE FROM nameplates WHERE app_id=?1 AND mailbox_id=?2",
                params![app, id],
            )?;
        }
        self.exec(
            "DELETE FROM messages WHERE app_id=?1 AND mailbox_id=?2",
            params![app, id],
        )?;
        self.exec(
            "DELETE FROM mailboxes WHERE app_id=?1 AND id=?2",
            params![app, id],
        )?;
        Ok(gone)
    }

    fn stale_mailboxes(&mut self, cutoff: f64) -> Result<Vec<(String, String)>, StoreError> {
        self.pairs(
            "SELECT app_id, id FROM mailboxes WHERE updated < ?1",
            params![cutoff],
        )
    }

    fn count_mailboxes(&mut self) -> Result<u64, StoreError> {
        self.count("SELECT COUNT(*) FROM mailboxes", [])
    }

    fn messages_after(
        &mut self,
        app: &str,
        id: &str,
        after: u64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        self.rows(
            "SELECT side, phase, body, server_rx, msg_id FROM messages WHERE app_id=?1 AND mailbox_id=?2 AND pos > ?3 ORDER BY pos",
            params![app, id, after],
            |r| {
                Ok(StoredMessage {
                    side: r.get(0)?,
                    phase: r.get(1)?,
                    body: r.get(2)?,
                    server_rx: r.get(3)?,
                    msg_id: r.get(4)?,
                })
            },
        )
    }

    fn count_messages(&mut self, app: &str, id: &str) -> Result<usize, StoreError> {
        // Positions have no gaps: the last one is the count.
        let n = self.count(
            "SELECT COALESCE(MAX(pos), 0) FROM messages WHERE app_id=?1 AND mailbox_id=?2",
            params![app, id],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn add_message(&mut self, app: &str, id: &str, m: &StoredMessage) -> Result<u64, StoreError> {
        // One statement: the position is the last one + 1 (one writer, the
        // state thread), found at the end of the primary key.
        let pos = self.row(
            "INSERT INTO messages (app_id, mailbox_id, pos, side, phase, body, server_rx, msg_id)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(pos), 0) + 1 FROM messages WHERE app_id=?1 AND mailbox_id=?2),
                     ?3, ?4, ?5, ?6, ?7)
             RETURNING pos",
            params![app, id, m.side, m.phase, m.body, m.server_rx, m.msg_id],
            |r| r.get::<_, i64>(0),
        )?;
        self.wrote = true;
        pos.and_then(|p| u64::try_from(p).ok())
            .ok_or_else(|| StoreError::new("a message was stored without a position"))
    }

    fn record_usage(&mut self, u: &UsageRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO usage (kind, app_id, for_nameplate, started, waiting_time, total_time, total_bytes, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                u.kind.as_str(),
                u.app_id,
                u.for_nameplate,
                u.started,
                u.waiting_time,
                u.total_time,
                u.total_bytes as i64,
                u.result
            ],
        )
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            return Ok(());
        }
        self.in_tx = false;
        self.control("COMMIT")?;
        if std::mem::take(&mut self.wrote) {
            if let Some(c) = &self.checkpointer {
                c.committed();
            }
        }
        Ok(())
    }

    fn maintain(&mut self) {
        let Some(c) = &self.checkpointer else {
            return;
        };
        if !c.wal_long.swap(false, Ordering::Relaxed) {
            return;
        }
        // Nothing is written meanwhile, so this one completes (unless the
        // checkpointer is running one: then after the next batch), and the next
        // commit starts the WAL over.
        match passive_checkpoint(&self.conn) {
            Ok((0, log, done)) if log == done => {
                tracing::debug!(frames = log, "checkpointed a long WAL")
            }
            Ok(_) => c.wal_long.store(true, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
        }
    }

    fn rollback(&mut self) {
        if self.in_tx {
            self.in_tx = false;
            self.wrote = false;
            // Nothing more can be done if even the rollback fails; the next BEGIN will tell.
            let _ = self.control("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NameplateSide;
    use rusqlite::OpenFlags;
    use std::sync::Arc;
    use std::time::Instant;

    /// The nameplate names stored in the database file itself, WAL ignored.
    fn names_in_main_file(path: &Path) -> Vec<String> {
        let uri = format!("file:{}?immutable=1", path.display());
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let c = Connection::open_with_flags(uri, flags).unwrap();
        // Before the first checkpoint even the schema is only in the WAL.
        let Ok(mut st) = c.prepare("SELECT name FROM nameplates ORDER BY name") else {
            return Vec::new();
        };
        let rows = st.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    fn put(s: &mut SqliteStore, name: &str) {
        let np = Nameplate {
            mailbox: "mb".into(),
            sides: Vec::new(),
        };
        s.put_nameplate("app", name, &np).unwrap();
        s.commit().unwrap();
    }

    #[test]
    fn a_background_thread_checkpoints_not_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut s = SqliteStore::open(&path).unwrap();
        let auto: i64 = s
            .conn
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, 0, "commits never checkpoint");
        put(&mut s, "1");
        // The checkpointer copies the commit into the file while the store stays open.
        let deadline = Instant::now() + Duration::from_secs(10);
        while names_in_main_file(&path).is_empty() {
            assert!(Instant::now() < deadline, "no background checkpoint");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(s); // joins the checkpointer
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.all_nameplates().unwrap(), [("app".into(), "1".into())]);
    }

    #[test]
    fn a_long_wal_is_checkpointed_by_maintain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        // A checkpointer that never gets round to it during the test.
        let mut s = SqliteStore::open_with_delay(&path, Duration::from_secs(3600)).unwrap();
        put(&mut s, "1");
        s.maintain();
        assert!(names_in_main_file(&path).is_empty(), "a short WAL stays");
        let wal_long = Arc::clone(&s.checkpointer.as_ref().unwrap().wal_long);
        wal_long.store(true, Ordering::Relaxed);
        put(&mut s, "2");
        s.maintain();
        assert!(!wal_long.load(Ordering::Relaxed));
        assert_eq!(names_in_main_file(&path), ["1", "2"]);
        drop(s); // the checkpointer stops at once
    }

    #[test]
    fn memory_databases_have_no_checkpointer() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        assert!(s.checkpointer.is_none());
        put(&mut s, "1");
        s.maintain();
    }

    #[test]
    fn a_version_1_file_is_migrated_with_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(schema::V1).unwrap();
            c.execute_batch(
                "INSERT INTO nameplates VALUES ('app', '7', 'mb');
                 INSERT INTO nameplate_sides VALUES ('app', '7', 'b', 0, 2.0), ('app', '7', 'a', 1, 1.0);
                 INSERT INTO mailboxes VALUES ('app', 'mb', 1, 5.0), ('app', 'lone', 0, 6.0);
                 INSERT INTO mailbox_sides VALUES ('app', 'mb', 'a', 0, 1.5, 'happy'), ('app', 'mb', 'b', 1, 2.5, NULL);
                 INSERT INTO messages VALUES ('app', 'mb', 'a', 'version', '01', 4.0, NULL),
                   ('app', 'mb', 'b', 'pake', '02', 3.0, 'x1'), ('app', 'mb', 'a', 'pake', '03', 3.0, NULL);
                 INSERT INTO usage VALUES ('relay', '', 0, 1.0, NULL, 2.0, 99, 'happy');",
            )
            .unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        let side = |side: &str, claimed, added| NameplateSide {
            side: side.into(),
            claimed,
            added,
        };
        assert_eq!(
            s.nameplate("app", "7").unwrap(),
            Some(Nameplate {
                mailbox: "mb".into(),
                sides: vec![side("a", true, 1.0), side("b", false, 2.0)],
            })
        );
        let mb = s.mailbox("app", "mb").unwrap().unwrap();
        assert!(mb.for_nameplate);
        assert_eq!(mb.updated, 5.0);
        assert_eq!(mb.sides.len(), 2);
        assert_eq!(
            (mb.sides[0].side.as_str(), mb.sides[0].opened),
            ("a", false)
        );
        assert_eq!(mb.sides[0].mood.as_deref(), Some("happy"));
        assert_eq!((mb.sides[1].side.as_str(), mb.sides[1].opened), ("b", true));
        assert_eq!(mb.sides[1].mood, None);
        assert_eq!(s.mailbox("app", "lone").unwrap().unwrap().sides, []);
        // Arrival order (server_rx, then insertion) became the positions.
        let bodies: Vec<_> = s
            .messages("app", "mb")
            .unwrap()
            .into_iter()
            .map(|m| m.body)
            .collect();
        assert_eq!(bodies, ["02", "03", "01"]);
        assert_eq!(s.count_messages("app", "mb").unwrap(), 3);
        let next = StoredMessage {
            side: "a".into(),
            phase: "0".into(),
            body: "04".into(),
            server_rx: 5.0,
            msg_id: None,
        };
        assert_eq!(s.add_message("app", "mb", &next).unwrap(), 4);
        let usage: i64 = s
            .conn
            .query_row("SELECT total_bytes FROM usage", [], |r| r.get(0))
            .unwrap();
        assert_eq!(usage, 99);
        s.commit().unwrap();
        // Opened again: version 2 already, nothing to do.
        drop(s);
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.count_messages("app", "mb").unwrap(), 4);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 3;")
            .unwrap();
        let e = SqliteStore::open(&path).err().unwrap();
        assert!(e.to_string().contains("newer than this ferry"), "{e}");
    }
}
