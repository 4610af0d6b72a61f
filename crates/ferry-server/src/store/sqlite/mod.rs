//! The embedded SQLite [`Store`] (the default backend).
//!
//! WAL journal with `synchronous=NORMAL`: a commit reaches the OS before the
//! client is answered, so killing the server loses nothing it acknowledged (a
//! power cut may lose the last commits, which for a rendezvous is harmless).
//! Writes open a transaction lazily; [`Store::commit`] ends it, which lets the
//! state thread group the commands that arrive together into one commit.
//!
//! Checkpoints (copying the WAL into the database file, with two `fsync`s) do
//! not run inside a commit, where SQLite's automatic checkpoint would stall the
//! state thread and every client waiting on it. A file database has a
//! checkpointer thread with its own connection that runs passive checkpoints
//! while the state thread goes on committing. Under sustained load those never
//! catch up completely, so the WAL could not restart from its beginning; once it
//! has grown past [`WAL_RESET_FRAMES`] the state thread runs one checkpoint
//! itself in [`Store::maintain`], after the batch's replies have gone out.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use super::{
    Mailbox, MailboxSide, Nameplate, NameplateSide, Store, StoreError, StoredMessage, UsageRecord,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS nameplates (
  app_id TEXT NOT NULL, name TEXT NOT NULL, mailbox_id TEXT NOT NULL,
  PRIMARY KEY (app_id, name));
CREATE INDEX IF NOT EXISTS nameplates_mailbox ON nameplates (app_id, mailbox_id);
CREATE TABLE IF NOT EXISTS nameplate_sides (
  app_id TEXT NOT NULL, name TEXT NOT NULL, side TEXT NOT NULL,
  claimed INTEGER NOT NULL, added REAL NOT NULL,
  PRIMARY KEY (app_id, name, side));
CREATE TABLE IF NOT EXISTS mailboxes (
  app_id TEXT NOT NULL, id TEXT NOT NULL, for_nameplate INTEGER NOT NULL, updated REAL NOT NULL,
  PRIMARY KEY (app_id, id));
CREATE INDEX IF NOT EXISTS mailboxes_updated ON mailboxes (updated);
CREATE TABLE IF NOT EXISTS mailbox_sides (
  app_id TEXT NOT NULL, mailbox_id TEXT NOT NULL, side TEXT NOT NULL,
  opened INTEGER NOT NULL, added REAL NOT NULL, mood TEXT,
  PRIMARY KEY (app_id, mailbox_id, side));
CREATE TABLE IF NOT EXISTS messages (
  app_id TEXT NOT NULL, mailbox_id TEXT NOT NULL, side TEXT NOT NULL, phase TEXT NOT NULL,
  body TEXT NOT NULL, server_rx REAL NOT NULL, msg_id TEXT);
CREATE INDEX IF NOT EXISTS messages_mailbox ON messages (app_id, mailbox_id);
CREATE TABLE IF NOT EXISTS usage (
  kind TEXT NOT NULL, app_id TEXT NOT NULL, for_nameplate INTEGER NOT NULL,
  started REAL NOT NULL, waiting_time REAL, total_time REAL NOT NULL,
  total_bytes INTEGER NOT NULL, result TEXT NOT NULL);
PRAGMA user_version = 1;
";

/// WAL frames (pages) past which the state thread checkpoints itself, so that
/// the WAL restarts: about 64 MiB with 4 KiB pages.
const WAL_RESET_FRAMES: i64 = 16 * 1024;
/// The checkpointer waits this long after a commit so that one checkpoint
/// covers many commits.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(200);
/// The WAL file is truncated to this size when it restarts.
const WAL_KEEP_BYTES: i64 = 4 * 1024 * 1024;

/// SQLite-backed store; see the module docs for durability.
pub struct SqliteStore {
    conn: Connection,
    in_tx: bool,
    checkpointer: Option<Checkpointer>,
}

/// The background checkpoint thread of a file database.
struct Checkpointer {
    /// A commit happened; dropping it stops the thread.
    wake: Option<SyncSender<()>>,
    /// Set by the thread when the WAL is too long to restart on its own.
    wal_long: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path, delay: Duration) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(err)?;
        let (wake, woken) = mpsc::sync_channel(1);
        let wal_long = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&wal_long);
        let path: PathBuf = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("ferry-checkpoint".into())
            .spawn(move || checkpoint_loop(&conn, &woken, &flag, &path, delay))
            .map_err(|e| StoreError::new(e.to_string()))?;
        Ok(Checkpointer {
            wake: Some(wake),
            wal_long,
            thread: Some(thread),
        })
    }

    fn committed(&self) {
        if let Some(w) = &self.wake {
            // Full: a wake-up is pending already.
            let _ = w.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs a passive checkpoint shortly after commits, until the store is dropped.
fn checkpoint_loop(
    conn: &Connection,
    woken: &mpsc::Receiver<()>,
    wal_long: &AtomicBool,
    path: &Path,
    delay: Duration,
) {
    while woken.recv().is_ok() {
        // Let more commits pile up; stop at once if the store goes away.
        let until = Instant::now() + delay;
        loop {
            match woken.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(()) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        match passive_checkpoint(conn) {
            Ok((_, log, _)) if log > WAL_RESET_FRAMES => wal_long.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, db = %path.display(), "checkpoint failed"),
        }
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: (busy, frames in the WAL, frames copied).
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::new(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_delay(path, CHECKPOINT_DELAY)
    }

    fn open_with_delay(path: &Path, delay: Duration) -> Result<Self, StoreError> {
        let mut store = Self::init(Connection::open(path).map_err(err)?)?;
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
        conn.execute_batch(SCHEMA).map_err(err)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteStore {
            conn,
            in_tx: false,
            checkpointer: None,
        })
    }

    /// Opens a transaction before the first write after a commit.
    fn begin(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN").map_err(err)?;
            self.in_tx = true;
        }
        Ok(())
    }

    fn exec(&mut self, sql: &str, p: impl rusqlite::Params) -> Result<(), StoreError> {
        self.begin()?;
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(p))
            .map_err(err)?;
        Ok(())
    }

    fn nameplate_sides(&mut self, app: &str, name: &str) -> Result<Vec<NameplateSide>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT side, claimed, added FROM nameplate_sides WHERE app_id=?1 AND name=?2 ORDER BY added, rowid",
            )
            .map_err(err)?;
        let rows = st
            .query_map(params![app, name], |r| {
                Ok(NameplateSide {
                    side: r.get(0)?,
                    claimed: r.get(1)?,
                    added: r.get(2)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    fn mailbox_sides(&mut self, app: &str, id: &str) -> Result<Vec<MailboxSide>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT side, opened, added, mood FROM mailbox_sides WHERE app_id=?1 AND mailbox_id=?2 ORDER BY added, rowid",
            )
            .map_err(err)?;
        let rows = st
            .query_map(params![app, id], |r| {
                Ok(MailboxSide {
                    side: r.get(0)?,
                    opened: r.get(1)?,
                    added: r.get(2)?,
                    mood: r.get(3)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    fn names_for_mailbox(&mut self, app: &str, id: &str) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT name FROM nameplates WHERE app_id=?1 AND mailbox_id=?2")
            .map_err(err)?;
        let rows = st.query_map(params![app, id], |r| r.get(0)).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    fn pairs(
        &mut self,
        sql: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(err)?;
        let rows = st
            .query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }
}

impl Store for SqliteStore {
    fn nameplate(&mut self, app: &str, name: &str) -> Result<Option<Nameplate>, StoreError> {
        let mailbox: Option<String> = self
            .conn
            .prepare_cached("SELECT mailbox_id FROM nameplates WHERE app_id=?1 AND name=?2")
            .and_then(|mut s| s.query_row(params![app, name], |r| r.get(0)).optional())
            .map_err(err)?;
        let Some(mailbox) = mailbox else {
            return Ok(None);
        };
        let sides = self.nameplate_sides(app, name)?;
        Ok(Some(Nameplate { mailbox, sides }))
    }

    fn put_nameplate(&mut self, app: &str, name: &str, np: &Nameplate) -> Result<(), StoreError> {
        self.exec(
            "INSERT OR REPLACE INTO nameplates (app_id, name, mailbox_id) VALUES (?1, ?2, ?3)",
            params![app, name, np.mailbox],
        )?;
        for s in &np.sides {
            self.exec(
                "INSERT OR REPLACE INTO nameplate_sides (app_id, name, side, claimed, added) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![app, name, s.side, s.claimed, s.added],
            )?;
        }
        Ok(())
    }

    fn delete_nameplate(&mut self, app: &str, name: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM nameplate_sides WHERE app_id=?1 AND name=?2",
            params![app, name],
        )?;
        self.exec(
            "DELETE FROM nameplates WHERE app_id=?1 AND name=?2",
            params![app, name],
        )
    }

    fn all_nameplates(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        self.pairs("SELECT app_id, name FROM nameplates", [])
    }

    fn mailbox(&mut self, app: &str, id: &str) -> Result<Option<Mailbox>, StoreError> {
        let row: Option<(bool, f64)> = self
            .conn
            .prepare_cached(
                "SELECT for_nameplate, updated FROM mailboxes WHERE app_id=?1 AND id=?2",
            )
            .and_then(|mut s| {
                s.query_row(params![app, id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(err)?;
        let Some((for_nameplate, updated)) = row else {
            return Ok(None);
        };
        let sides = self.mailbox_sides(app, id)?;
        Ok(Some(Mailbox {
            for_nameplate,
            updated,
            sides,
        }))
    }

    fn put_mailbox(&mut self, app: &str, id: &str, mb: &Mailbox) -> Result<(), StoreError> {
        self.exec(
            "INSERT OR REPLACE INTO mailboxes (app_id, id, for_nameplate, updated) VALUES (?1, ?2, ?3, ?4)",
            params![app, id, mb.for_nameplate, mb.updated],
        )?;
        for s in &mb.sides {
            self.exec(
                "INSERT OR REPLACE INTO mailbox_sides (app_id, mailbox_id, side, opened, added, mood) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![app, id, s.side, s.opened, s.added, s.mood],
            )?;
        }
        Ok(())
    }

    fn touch_mailbox(&mut self, app: &str, id: &str, now: f64) -> Result<(), StoreError> {
        self.exec(
            "UPDATE mailboxes SET updated=?3 WHERE app_id=?1 AND id=?2",
            params![app, id, now],
        )
    }

    fn delete_mailbox(
        &mut self,
        app: &str,
        id: &str,
    ) -> Result<Vec<(String, Nameplate)>, StoreError> {
        let mut gone = Vec::new();
        for name in self.names_for_mailbox(app, id)? {
            if let Some(np) = self.nameplate(app, &name)? {
                gone.push((name.clone(), np));
            }
            self.delete_nameplate(app, &name)?;
        }
        self.exec(
            "DELETE FROM messages WHERE app_id=?1 AND mailbox_id=?2",
            params![app, id],
        )?;
        self.exec(
            "DELETE FROM mailbox_sides WHERE app_id=?1 AND mailbox_id=?2",
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
        self.conn
            .query_row("SELECT COUNT(*) FROM mailboxes", [], |r| r.get(0))
            .map_err(err)
    }

    fn messages_after(
        &mut self,
        app: &str,
        id: &str,
        after: u64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT side, phase, body, server_rx, msg_id FROM messages WHERE app_id=?1 AND mailbox_id=?2 ORDER BY server_rx, rowid LIMIT -1 OFFSET ?3",
            )
            .map_err(err)?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = st
            .query_map(params![app, id, after], |r| {
                Ok(StoredMessage {
                    side: r.get(0)?,
                    phase: r.get(1)?,
                    body: r.get(2)?,
                    server_rx: r.get(3)?,
                    msg_id: r.get(4)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    fn count_messages(&mut self, app: &str, id: &str) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached("SELECT COUNT(*) FROM messages WHERE app_id=?1 AND mailbox_id=?2")
            .and_then(|mut s| s.query_row(params![app, id], |r| r.get(0)))
            .map_err(err)
    }

    fn add_message(&mut self, app: &str, id: &str, m: &StoredMessage) -> Result<u64, StoreError> {
        self.exec(
            "INSERT INTO messages (app_id, mailbox_id, side, phase, body, server_rx, msg_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![app, id, m.side, m.phase, m.body, m.server_rx, m.msg_id],
        )?;
        // One writer: the new message is the last one.
        Ok(self.count_messages(app, id)? as u64)
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
        if self.in_tx {
            self.in_tx = false;
            self.conn.execute_batch("COMMIT").map_err(err)?;
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
            // Nothing more can be done if even the rollback fails; the next BEGIN will tell.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OpenFlags;

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
}
