//! The SQLite schema, by `PRAGMA user_version`, and its migration.
//!
//! Version 2 keeps a nameplate or a mailbox in one row with its sides as a JSON
//! list (as the PostgreSQL schema does), in tables without rowid keyed by what
//! they are looked up by, and numbers each message by its position in its
//! mailbox. Every table or index a commit touches costs at least one 4 KiB WAL
//! frame: a rendezvous wrote about 23 frames with version 1 (sides in tables of
//! their own, each key an index beside its table, an index on `mailboxes.updated`
//! rewritten by every message) and took a statement per side. Expiry scans the
//! mailboxes table instead of that index, once per expiry period.
//!
//! A version-1 file is migrated in place, in one transaction; a newer file than
//! this ferry knows is refused.

use rusqlite::Connection;

use super::err;
use crate::store::StoreError;

/// The schema version this ferry writes.
const VERSION: i64 = 2;

const V2: &str = "
CREATE TABLE nameplates (
  app_id TEXT NOT NULL, name TEXT NOT NULL, mailbox_id TEXT NOT NULL, sides TEXT NOT NULL,
  PRIMARY KEY (app_id, name)) WITHOUT ROWID;
CREATE INDEX nameplates_mailbox ON nameplates (app_id, mailbox_id);
CREATE TABLE mailboxes (
  app_id TEXT NOT NULL, id TEXT NOT NULL, for_nameplate INTEGER NOT NULL, updated REAL NOT NULL,
  sides TEXT NOT NULL,
  PRIMARY KEY (app_id, id)) WITHOUT ROWID;
CREATE TABLE messages (
  app_id TEXT NOT NULL, mailbox_id TEXT NOT NULL, pos INTEGER NOT NULL,
  side TEXT NOT NULL, phase TEXT NOT NULL, body TEXT NOT NULL, server_rx REAL NOT NULL, msg_id TEXT,
  PRIMARY KEY (app_id, mailbox_id, pos)) WITHOUT ROWID;
";

/// Unchanged since version 1 (readers outside ferry use it).
const USAGE: &str = "
CREATE TABLE IF NOT EXISTS usage (
  kind TEXT NOT NULL, app_id TEXT NOT NULL, for_nameplate INTEGER NOT NULL,
  started REAL NOT NULL, waiting_time REAL, total_time REAL NOT NULL,
  total_bytes INTEGER NOT NULL, result TEXT NOT NULL);
";

/// Version 1's tables become version 2's: sides folded into their rows as the
/// JSON that `serde_json` reads back, messages numbered in arrival order.
const V1_TO_V2: &str = "
DROP INDEX nameplates_mailbox;
DROP INDEX mailboxes_updated;
DROP INDEX messages_mailbox;
ALTER TABLE nameplates RENAME TO v1_nameplates;
ALTER TABLE mailboxes RENAME TO v1_mailboxes;
ALTER TABLE messages RENAME TO v1_messages;
";

const V1_COPY: &str = "
INSERT INTO nameplates (app_id, name, mailbox_id, sides)
  SELECT n.app_id, n.name, n.mailbox_id,
    (SELECT json_group_array(json_object('side', s.side,
              'claimed', json(CASE WHEN s.claimed THEN 'true' ELSE 'false' END),
              'added', s.added) ORDER BY s.added, s.rowid)
     FROM nameplate_sides s WHERE s.app_id = n.app_id AND s.name = n.name)
  FROM v1_nameplates n;
INSERT INTO mailboxes (app_id, id, for_nameplate, updated, sides)
  SELECT m.app_id, m.id, m.for_nameplate, m.updated,
    (SELECT json_group_array(json_object('side', s.side,
              'opened', json(CASE WHEN s.opened THEN 'true' ELSE 'false' END),
              'added', s.added, 'mood', s.mood) ORDER BY s.added, s.rowid)
     FROM mailbox_sides s WHERE s.app_id = m.app_id AND s.mailbox_id = m.id)
  FROM v1_mailboxes m;
INSERT INTO messages (app_id, mailbox_id, pos, side, phase, body, server_rx, msg_id)
  SELECT app_id, mailbox_id,
    row_number() OVER (PARTITION BY app_id, mailbox_id ORDER BY server_rx, rowid),
    side, phase, body, server_rx, msg_id
  FROM v1_messages;
DROP TABLE v1_nameplates;
DROP TABLE nameplate_sides;
DROP TABLE v1_mailboxes;
DROP TABLE mailbox_sides;
DROP TABLE v1_messages;
";

/// Creates or migrates the schema to [`VERSION`], in one transaction.
pub(super) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    let result = apply(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end).map_err(err)?;
    result
}

fn apply(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let steps = match version {
        0 => format!("{V2}{USAGE}"),
        1 => format!("{V1_TO_V2}{V2}{V1_COPY}"),
        VERSION => return Ok(()),
        newer => {
            return Err(StoreError::new(format!(
                "the database has ferry schema version {newer}, newer than this ferry's {VERSION}: upgrade ferry"
            )))
        }
    };
    conn.execute_batch(&format!("{steps}PRAGMA user_version = {VERSION};"))
        .map_err(err)
}

/// Version 1, as ferry wrote it: for the migration's test.
#[cfg(test)]
pub(super) const V1: &str = "
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
