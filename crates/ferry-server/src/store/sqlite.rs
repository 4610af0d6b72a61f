//! The embedded SQLite [`Store`] (the default backend).
//!
//! WAL journal with `synchronous=NORMAL`: a commit reaches the OS before the
//! client is answered, so killing the server loses nothing it acknowledged (a
//! power cut may lose the last commits, which for a rendezvous is harmless).
//! Writes open a transaction lazily; [`Store::commit`] ends it, which lets the
//! state thread group the commands that arrive together into one commit.

use std::path::Path;

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

/// SQLite-backed store; see the module docs for durability.
pub struct SqliteStore {
    conn: Connection,
    in_tx: bool,
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::new(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path).map_err(err)?)
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
        Ok(SqliteStore { conn, in_tx: false })
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

    fn messages(&mut self, app: &str, id: &str) -> Result<Vec<StoredMessage>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT side, phase, body, server_rx, msg_id FROM messages WHERE app_id=?1 AND mailbox_id=?2 ORDER BY server_rx, rowid",
            )
            .map_err(err)?;
        let rows = st
            .query_map(params![app, id], |r| {
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

    fn add_message(&mut self, app: &str, id: &str, m: &StoredMessage) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO messages (app_id, mailbox_id, side, phase, body, server_rx, msg_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![app, id, m.side, m.phase, m.body, m.server_rx, m.msg_id],
        )
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
        }
        Ok(())
    }

    fn rollback(&mut self) {
        if self.in_tx {
            self.in_tx = false;
            // Nothing more can be done if even the rollback fails; the next BEGIN will tell.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
