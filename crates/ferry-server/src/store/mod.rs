//! Persistent mailbox state behind one small trait.
//!
//! The trait works on whole records (a nameplate with its sides, a mailbox with its
//! sides) so that all protocol rules live once, in `mailbox::state`, and a backend
//! is only storage. Writes are grouped until [`Store::commit`]; the state thread
//! commits before any client hears about a change, so a `kill -9` never loses
//! anything a client was told.

mod memory;
mod postgres;
mod sqlite;

pub use memory::MemoryStore;
pub use postgres::ChangeFeed;
pub use postgres::PgStore;
pub(crate) use postgres::{listen_for_changes, ChangeSink, Changed};
pub(crate) use postgres::{pool_secret, PgDirectory};
pub use sqlite::SqliteStore;

/// A storage failure (disk full, corrupt file, lost database connection, ...): the
/// server's fault.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct StoreError {
    msg: String,
    conflict: bool,
}

impl StoreError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        StoreError {
            msg: msg.into(),
            conflict: false,
        }
    }

    /// Another instance changed the same rows at the same time (a serialization
    /// failure, a deadlock, a duplicate key): nothing was applied, and the same
    /// commands run again will see the other instance's writes.
    pub(crate) fn conflict(msg: impl Into<String>) -> Self {
        StoreError {
            msg: msg.into(),
            conflict: true,
        }
    }

    /// `context: e: its cause: …` in one line. PostgreSQL's client keeps the
    /// cause ("Connection refused", "password authentication failed") behind
    /// `source()`, and its own message alone ("error connecting to server")
    /// tells an operator nothing.
    pub(crate) fn chained(context: &str, e: &dyn std::error::Error) -> Self {
        let mut msg = format!("{context}: {e}");
        let mut cause = e.source();
        while let Some(c) = cause {
            let text = c.to_string();
            if !msg.ends_with(&text) {
                msg.push_str(": ");
                msg.push_str(&text);
            }
            cause = c.source();
        }
        Self::new(msg)
    }

    pub fn is_conflict(&self) -> bool {
        self.conflict
    }
}

/// One side's claim on a nameplate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NameplateSide {
    pub side: String,
    /// False once the side released it (it may then never claim it again).
    pub claimed: bool,
    pub added: f64,
}

/// A nameplate: the short number in a code, pointing at a mailbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Nameplate {
    pub mailbox: String,
    pub sides: Vec<NameplateSide>,
}

/// One side's use of a mailbox.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MailboxSide {
    pub side: String,
    /// False once the side closed it.
    pub opened: bool,
    pub added: f64,
    pub mood: Option<String>,
}

/// A mailbox (without its messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Mailbox {
    /// Created by claiming a nameplate (rather than by opening an id directly).
    pub for_nameplate: bool,
    /// Last activity; expiry deletes mailboxes idle for too long.
    pub updated: f64,
    pub sides: Vec<MailboxSide>,
}

/// A stored message; the body is the client's hex text, normally ciphertext.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub side: String,
    pub phase: String,
    pub body: String,
    pub server_rx: f64,
    pub msg_id: Option<String>,
}

/// What a usage record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageKind {
    Nameplate,
    Mailbox,
    Relay,
}

impl UsageKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UsageKind::Nameplate => "nameplate",
            UsageKind::Mailbox => "mailbox",
            UsageKind::Relay => "relay",
        }
    }
}

/// A summary written when a nameplate, mailbox or relayed pair goes away. Holds
/// no codes, sides, addresses or bodies.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    pub kind: UsageKind,
    /// Empty for the relay.
    pub app_id: String,
    pub for_nameplate: bool,
    /// Blurred start time.
    pub started: f64,
    pub waiting_time: Option<f64>,
    pub total_time: f64,
    /// Relayed bytes (blurred when blurring is on); 0 otherwise.
    pub total_bytes: u64,
    /// happy, lonely, scary, errory, pruney, crowded (mailbox side);
    /// happy, lonely, errory, impatient, redundant (relay).
    pub result: &'static str,
}

/// `(app, name)` of a nameplate or `(app, id)` of a mailbox.
pub type Key<'a> = (&'a str, &'a str);

/// What [`Store::prefetch`] reads ahead.
#[derive(Default)]
pub struct Prefetch<'a> {
    pub nameplates: Vec<Key<'a>>,
    pub mailboxes: Vec<Key<'a>>,
    /// Mailboxes whose messages are read too.
    pub opened: Vec<Key<'a>>,
}

/// Storage for mailbox state. Implementations need not be thread-safe: one thread
/// owns the store.
pub trait Store: Send + 'static {
    fn nameplate(&mut self, app: &str, name: &str) -> Result<Option<Nameplate>, StoreError>;
    fn put_nameplate(&mut self, app: &str, name: &str, np: &Nameplate) -> Result<(), StoreError>;
    fn delete_nameplate(&mut self, app: &str, name: &str) -> Result<(), StoreError>;
    /// Every `(app, name)` stored: the state thread indexes them at start.
    fn all_nameplates(&mut self) -> Result<Vec<(String, String)>, StoreError>;

    fn mailbox(&mut self, app: &str, id: &str) -> Result<Option<Mailbox>, StoreError>;
    fn put_mailbox(&mut self, app: &str, id: &str, mb: &Mailbox) -> Result<(), StoreError>;
    /// Marks the mailbox used at `now`; whether it exists.
    fn touch_mailbox(&mut self, app: &str, id: &str, now: f64) -> Result<bool, StoreError>;
    /// Deletes the mailbox with its messages, and returns the names of the
    /// nameplates that pointed at it (also deleted).
    fn delete_mailbox(
        &mut self,
        app: &str,
        id: &str,
    ) -> Result<Vec<(String, Nameplate)>, StoreError>;
    /// `(app, id)` of every mailbox not updated since `cutoff`.
    fn stale_mailboxes(&mut self, cutoff: f64) -> Result<Vec<(String, String)>, StoreError>;
    fn count_mailboxes(&mut self) -> Result<u64, StoreError>;

    /// Messages in arrival order.
    fn messages(&mut self, app: &str, id: &str) -> Result<Vec<StoredMessage>, StoreError> {
        self.messages_after(app, id, 0)
    }
    /// Messages in arrival order, from position `after + 1` (the first is 1).
    fn messages_after(
        &mut self,
        app: &str,
        id: &str,
        after: u64,
    ) -> Result<Vec<StoredMessage>, StoreError>;
    /// [`Store::messages_after`] for several `(app, id, after)` at once (a store
    /// across a network answers in one round trip).
    fn messages_after_many(
        &mut self,
        reads: &[(&str, &str, u64)],
    ) -> Result<Vec<Vec<StoredMessage>>, StoreError> {
        let one =
            |s: &mut Self, (app, id, after): &(&str, &str, u64)| s.messages_after(app, id, *after);
        reads.iter().map(|r| one(self, r)).collect()
    }
    fn count_messages(&mut self, app: &str, id: &str) -> Result<usize, StoreError>;
    /// Appends a message and returns its position in the mailbox (1 for the first).
    /// Positions have no gaps, so a reader that has seen `n` messages knows that
    /// `n + 1` comes next.
    fn add_message(&mut self, app: &str, id: &str, msg: &StoredMessage) -> Result<u64, StoreError>;

    /// True when other `ferry serve` instances share this store: the state thread
    /// then reads nameplates from the store instead of its own index, and learns of
    /// other instances' messages through [`Changed`] notices.
    fn shared(&self) -> bool {
        false
    }
    /// Where a shared store announces other instances' messages.
    fn change_feed(&self) -> Option<ChangeFeed> {
        None
    }
    /// The nameplates of one app (a shared store; others keep an index in memory).
    fn nameplate_names(&mut self, app: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .all_nameplates()?
            .into_iter()
            .filter(|(a, _)| a == app)
            .map(|(_, n)| n)
            .collect())
    }

    fn record_usage(&mut self, rec: &UsageRecord) -> Result<(), StoreError>;
    /// The rows a batch is about to use, and the mailboxes whose messages it
    /// will read: a store across a network reads them all at once instead of
    /// one round trip each. A hint; reads of other rows still work.
    fn prefetch(&mut self, _rows: &Prefetch<'_>) -> Result<(), StoreError> {
        Ok(())
    }
    /// Makes every write so far durable (a transaction commit).
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Forgets uncommitted writes after a failure.
    fn rollback(&mut self);
    /// Housekeeping, run by the state thread after a batch's replies have gone
    /// out (e.g. a checkpoint), so that it delays no one who is waiting.
    fn maintain(&mut self) {}
}

#[cfg(test)]
mod tests;
