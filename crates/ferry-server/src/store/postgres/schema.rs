//! Versioned schema migrations, applied at start by whichever instance comes first.
//!
//! Each migration runs in its own transaction, and all of them under a session
//! advisory lock, so instances starting together apply each step exactly once and
//! the later ones find the tables ready. Versions only grow; a database newer than
//! this ferry is refused rather than used half-understood.

use postgres::Client;

use crate::store::StoreError;

/// `pg_advisory_lock` key held while migrating ("ferrymig").
const MIGRATION_LOCK: i64 = 0x6665_7272_796d_6967;

/// Migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the mailbox state. Sides are JSON lists in their row, so a nameplate or a
    // mailbox is read and written in one statement; messages carry their position
    // in the mailbox, unique, so that positions have no gaps.
    "
CREATE TABLE ferry_nameplates (
  app_id TEXT NOT NULL, name TEXT NOT NULL, mailbox_id TEXT NOT NULL, sides TEXT NOT NULL,
  PRIMARY KEY (app_id, name));
CREATE INDEX ferry_nameplates_mailbox ON ferry_nameplates (app_id, mailbox_id);
CREATE TABLE ferry_mailboxes (
  app_id TEXT NOT NULL, id TEXT NOT NULL, for_nameplate BOOLEAN NOT NULL,
  updated DOUBLE PRECISION NOT NULL, sides TEXT NOT NULL,
  PRIMARY KEY (app_id, id));
CREATE INDEX ferry_mailboxes_updated ON ferry_mailboxes (updated);
CREATE TABLE ferry_messages (
  app_id TEXT NOT NULL, mailbox_id TEXT NOT NULL, pos BIGINT NOT NULL,
  side TEXT NOT NULL, phase TEXT NOT NULL, body TEXT NOT NULL,
  server_rx DOUBLE PRECISION NOT NULL, msg_id TEXT,
  PRIMARY KEY (app_id, mailbox_id, pos));
CREATE TABLE ferry_usage (
  id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, app_id TEXT NOT NULL, for_nameplate BOOLEAN NOT NULL,
  started DOUBLE PRECISION NOT NULL, waiting_time DOUBLE PRECISION,
  total_time DOUBLE PRECISION NOT NULL, total_bytes BIGINT NOT NULL, result TEXT NOT NULL);
",
    // 2: the relay pool: which instance holds the waiting half of a token, and the
    // secret that signs hand-overs between instances.
    "
CREATE TABLE ferry_relay_tokens (
  token TEXT PRIMARY KEY, owner TEXT NOT NULL, since TIMESTAMPTZ NOT NULL);
CREATE TABLE ferry_pool (
  id INTEGER PRIMARY KEY CHECK (id = 1), secret BYTEA NOT NULL);
",
];

/// The schema version this ferry writes.
pub(crate) const VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the database to [`VERSION`].
pub(crate) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let e = |e: postgres::Error| StoreError::chained("PostgreSQL migration", &e);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(e)?;
    let result = apply(client);
    // Also released when the session ends, should this fail.
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result
}

fn apply(client: &mut Client) -> Result<(), StoreError> {
    let e = |e: postgres::Error| StoreError::chained("PostgreSQL migration", &e);
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS ferry_schema (
               version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .map_err(e)?;
    let current: i32 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM ferry_schema", &[])
        .map_err(e)?
        .get(0);
    if current > VERSION {
        return Err(StoreError::new(format!(
            "the database has ferry schema version {current}, newer than this ferry's {VERSION}: upgrade ferry"
        )));
    }
    for (version, sql) in (current + 1..).zip(&MIGRATIONS[current as usize..]) {
        let mut tx = client.transaction().map_err(e)?;
        tx.batch_execute(sql).map_err(e)?;
        tx.execute(
            "INSERT INTO ferry_schema (version) VALUES ($1)",
            &[&version],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        tracing::info!(version, "applied a PostgreSQL schema migration");
    }
    Ok(())
}
