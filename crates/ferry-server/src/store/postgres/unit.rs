//! One batch's unit of work: the rows it read, and the writes it made, kept in
//! memory until commit and then written in one statement.
//!
//! The batch holds the pool-wide lock from its first statement to its commit, so
//! no other instance changes a row meanwhile and a row read once stays true for
//! the rest of the batch. A rendezvous reads and rewrites the same nameplate and
//! mailbox rows several times; keeping them here turns about sixty statements per
//! rendezvous into a handful, which is most of the time a batch holds the lock.

use std::collections::{HashMap, HashSet};

use crate::store::{Mailbox, Nameplate, StoredMessage, UsageRecord};

/// `(app, name)` of a nameplate, or `(app, id)` of a mailbox.
pub(super) type Key = (String, String);

fn key(app: &str, id: &str) -> Key {
    (app.to_owned(), id.to_owned())
}

/// See the module docs. `None` in a map means "known not to exist".
#[derive(Default)]
pub(super) struct Unit {
    nameplates: HashMap<Key, Option<Nameplate>>,
    mailboxes: HashMap<Key, Option<Mailbox>>,
    dirty_nameplates: HashSet<Key>,
    dirty_mailboxes: HashSet<Key>,
    /// The last position in each mailbox, stored or pending.
    last_pos: HashMap<Key, u64>,
    /// Every stored message of some mailboxes (position `i + 1` at `i`).
    stored: HashMap<Key, Vec<StoredMessage>>,
    messages: Vec<(Key, u64, StoredMessage)>,
    usage: Vec<UsageRecord>,
}

/// The pending writes, column by column, as the flush statement takes them.
#[derive(Default)]
pub(super) struct Flush {
    pub gone_nameplates: KeyColumns,
    pub nameplates: NameplateColumns,
    pub mailboxes: MailboxColumns,
    pub messages: MessageColumns,
    pub usage: UsageColumns,
    /// Mailboxes that got messages, for the notification.
    pub notify: Vec<Key>,
}

#[derive(Default)]
pub(super) struct KeyColumns {
    pub app: Vec<String>,
    pub id: Vec<String>,
}

#[derive(Default)]
pub(super) struct NameplateColumns {
    pub app: Vec<String>,
    pub name: Vec<String>,
    pub mailbox: Vec<String>,
    pub sides: Vec<String>,
}

#[derive(Default)]
pub(super) struct MailboxColumns {
    pub app: Vec<String>,
    pub id: Vec<String>,
    pub for_nameplate: Vec<bool>,
    pub updated: Vec<f64>,
    pub sides: Vec<String>,
}

#[derive(Default)]
pub(super) struct MessageColumns {
    pub app: Vec<String>,
    pub mailbox: Vec<String>,
    pub pos: Vec<i64>,
    pub side: Vec<String>,
    pub phase: Vec<String>,
    pub body: Vec<String>,
    pub server_rx: Vec<f64>,
    pub msg_id: Vec<Option<String>>,
}

#[derive(Default)]
pub(super) struct UsageColumns {
    pub kind: Vec<&'static str>,
    pub app: Vec<String>,
    pub for_nameplate: Vec<bool>,
    pub started: Vec<f64>,
    pub waiting_time: Vec<Option<f64>>,
    pub total_time: Vec<f64>,
    pub total_bytes: Vec<i64>,
    pub result: Vec<&'static str>,
}

impl Unit {
    /// The nameplate if this batch read or wrote it (`Some(None)`: it does not exist).
    pub(super) fn nameplate(&self, app: &str, name: &str) -> Option<Option<Nameplate>> {
        self.nameplates.get(&key(app, name)).cloned()
    }

    /// Remembers a row read from the database.
    pub(super) fn read_nameplate(&mut self, app: &str, name: &str, np: Option<Nameplate>) {
        self.nameplates.insert(key(app, name), np);
    }

    pub(super) fn put_nameplate(&mut self, app: &str, name: &str, np: Option<Nameplate>) {
        let k = key(app, name);
        self.dirty_nameplates.insert(k.clone());
        self.nameplates.insert(k, np);
    }

    pub(super) fn mailbox(&self, app: &str, id: &str) -> Option<Option<Mailbox>> {
        self.mailboxes.get(&key(app, id)).cloned()
    }

    pub(super) fn read_mailbox(&mut self, app: &str, id: &str, mb: Option<Mailbox>) {
        self.mailboxes.insert(key(app, id), mb);
    }

    pub(super) fn put_mailbox(&mut self, app: &str, id: &str, mb: Mailbox) {
        let k = key(app, id);
        self.dirty_mailboxes.insert(k.clone());
        self.mailboxes.insert(k, Some(mb));
    }

    /// A mailbox deleted in the database just now (with its messages and the
    /// nameplates pointing at it): nothing of it is pending any more.
    pub(super) fn deleted_mailbox(&mut self, app: &str, id: &str, nameplates: &[String]) {
        let k = key(app, id);
        self.dirty_mailboxes.remove(&k);
        self.mailboxes.insert(k.clone(), None);
        self.last_pos.insert(k.clone(), 0);
        self.stored.insert(k.clone(), Vec::new());
        self.messages.retain(|(m, _, _)| *m != k);
        for name in nameplates {
            let n = key(app, name);
            self.dirty_nameplates.remove(&n);
            self.nameplates.insert(n, None);
        }
    }

    /// Remembers all of a mailbox's stored messages (read at once).
    pub(super) fn read_stored(&mut self, app: &str, id: &str, messages: Vec<StoredMessage>) {
        let k = key(app, id);
        self.last_pos
            .entry(k.clone())
            .or_insert(messages.len() as u64);
        self.stored.insert(k, messages);
    }

    /// The messages after position `after`, stored and pending, if this batch
    /// read the mailbox's messages.
    pub(super) fn known_after(
        &self,
        app: &str,
        id: &str,
        after: u64,
    ) -> Option<Vec<StoredMessage>> {
        let stored = self.stored.get(&key(app, id))?;
        let from = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(stored.len());
        let mut all = stored[from..].to_vec();
        all.extend(self.pending_after(app, id, after));
        Some(all)
    }

    pub(super) fn last_pos(&self, app: &str, id: &str) -> Option<u64> {
        self.last_pos.get(&key(app, id)).copied()
    }

    pub(super) fn read_last_pos(&mut self, app: &str, id: &str, pos: u64) {
        self.last_pos.insert(key(app, id), pos);
    }

    /// Queues a message after the last known position (which the caller has
    /// looked up) and returns its position.
    pub(super) fn add_message(&mut self, app: &str, id: &str, m: &StoredMessage) -> u64 {
        let k = key(app, id);
        let pos = self.last_pos.get(&k).copied().unwrap_or(0) + 1;
        self.last_pos.insert(k.clone(), pos);
        self.messages.push((k, pos, m.clone()));
        pos
    }

    /// Pending messages of a mailbox after position `after`, in order.
    pub(super) fn pending_after(&self, app: &str, id: &str, after: u64) -> Vec<StoredMessage> {
        let k = key(app, id);
        let mine = self
            .messages
            .iter()
            .filter(|(m, pos, _)| *m == k && *pos > after);
        mine.map(|(_, _, msg)| msg.clone()).collect()
    }

    pub(super) fn record_usage(&mut self, u: &UsageRecord) {
        self.usage.push(u.clone());
    }

    pub(super) fn has_writes(&self) -> bool {
        !(self.dirty_nameplates.is_empty()
            && self.dirty_mailboxes.is_empty()
            && self.messages.is_empty()
            && self.usage.is_empty())
    }

    /// Takes the pending writes (the rows read stay known) as columns.
    pub(super) fn take_writes(&mut self) -> Flush {
        let mut f = Flush::default();
        for k in std::mem::take(&mut self.dirty_nameplates) {
            match self.nameplates.get(&k).cloned().flatten() {
                Some(np) => push_nameplate(&mut f, k, np),
                None => {
                    f.gone_nameplates.app.push(k.0);
                    f.gone_nameplates.id.push(k.1);
                }
            }
        }
        for k in std::mem::take(&mut self.dirty_mailboxes) {
            if let Some(mb) = self.mailboxes.get(&k).cloned().flatten() {
                push_mailbox(&mut f, k, mb);
            }
        }
        for (k, pos, m) in std::mem::take(&mut self.messages) {
            if !f.notify.contains(&k) {
                f.notify.push(k.clone());
            }
            if let Some(stored) = self.stored.get_mut(&k) {
                stored.push(m.clone());
            }
            push_message(&mut f.messages, k, pos, m);
        }
        for u in std::mem::take(&mut self.usage) {
            push_usage(&mut f.usage, u);
        }
        f
    }

    /// Forgets everything: the transaction ended (committed or rolled back).
    pub(super) fn clear(&mut self) {
        *self = Unit::default();
    }
}

fn sides_json<T: serde::Serialize>(v: &T) -> String {
    // Plain structs of strings, bools and numbers always serialize.
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

fn push_nameplate(f: &mut Flush, (app, name): Key, np: Nameplate) {
    let n = &mut f.nameplates;
    n.app.push(app);
    n.name.push(name);
    n.mailbox.push(np.mailbox);
    n.sides.push(sides_json(&np.sides));
}

fn push_mailbox(f: &mut Flush, (app, id): Key, mb: Mailbox) {
    let m = &mut f.mailboxes;
    m.app.push(app);
    m.id.push(id);
    m.for_nameplate.push(mb.for_nameplate);
    m.updated.push(mb.updated);
    m.sides.push(sides_json(&mb.sides));
}

fn push_message(c: &mut MessageColumns, (app, id): Key, pos: u64, m: StoredMessage) {
    c.app.push(app);
    c.mailbox.push(id);
    c.pos.push(i64::try_from(pos).unwrap_or(i64::MAX));
    c.side.push(m.side);
    c.phase.push(m.phase);
    c.body.push(m.body);
    c.server_rx.push(m.server_rx);
    c.msg_id.push(m.msg_id);
}

fn push_usage(c: &mut UsageColumns, u: UsageRecord) {
    c.kind.push(u.kind.as_str());
    c.app.push(u.app_id);
    c.for_nameplate.push(u.for_nameplate);
    c.started.push(u.started);
    c.waiting_time.push(u.waiting_time);
    c.total_time.push(u.total_time);
    c.total_bytes
        .push(i64::try_from(u.total_bytes).unwrap_or(i64::MAX));
    c.result.push(u.result);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NameplateSide;

    fn np(mailbox: &str) -> Nameplate {
        let side = NameplateSide {
            side: "a".into(),
            claimed: true,
            added: 1.0,
        };
        Nameplate {
            mailbox: mailbox.into(),
            sides: vec![side],
        }
    }

    fn msg(body: &str) -> StoredMessage {
        StoredMessage {
            side: "a".into(),
            phase: "p".into(),
            body: body.into(),
            server_rx: 1.0,
            msg_id: None,
        }
    }

    #[test]
    fn repeated_writes_of_a_row_flush_as_its_last_state() {
        let mut u = Unit::default();
        u.put_nameplate("app", "4", Some(np("m1")));
        u.put_nameplate("app", "4", Some(np("m2")));
        u.put_nameplate("app", "5", Some(np("m3")));
        u.put_nameplate("app", "5", None);
        let f = u.take_writes();
        assert_eq!(f.nameplates.name, ["4"]);
        assert_eq!(f.nameplates.mailbox, ["m2"]);
        assert_eq!(f.gone_nameplates.id, ["5"]);
        assert!(!u.has_writes(), "taken");
        assert_eq!(u.nameplate("app", "4"), Some(Some(np("m2"))), "still known");
    }

    #[test]
    fn messages_continue_from_the_stored_position_and_notify_once_per_mailbox() {
        let mut u = Unit::default();
        u.read_last_pos("app", "m", 3);
        assert_eq!(u.add_message("app", "m", &msg("x")), 4);
        assert_eq!(u.add_message("app", "m", &msg("y")), 5);
        assert_eq!(u.pending_after("app", "m", 4), [msg("y")]);
        let f = u.take_writes();
        assert_eq!(f.messages.pos, [4, 5]);
        assert_eq!(f.notify, [key("app", "m")]);
        assert_eq!(u.last_pos("app", "m"), Some(5));
    }

    #[test]
    fn read_messages_and_pending_ones_answer_together_and_stay_after_a_flush() {
        let mut u = Unit::default();
        u.read_stored("app", "m", vec![msg("a"), msg("b")]);
        assert_eq!(u.add_message("app", "m", &msg("c")), 3);
        assert_eq!(u.known_after("app", "m", 1), Some(vec![msg("b"), msg("c")]));
        u.take_writes();
        assert_eq!(
            u.known_after("app", "m", 0),
            Some(vec![msg("a"), msg("b"), msg("c")])
        );
        assert_eq!(u.known_after("app", "other", 0), None);
    }

    #[test]
    fn a_deleted_mailbox_drops_its_pending_messages_and_nameplates() {
        let mut u = Unit::default();
        u.read_last_pos("app", "m", 0);
        u.add_message("app", "m", &msg("x"));
        u.put_nameplate("app", "4", Some(np("m")));
        u.deleted_mailbox("app", "m", &["4".to_owned()]);
        assert!(!u.has_writes());
        assert_eq!(u.nameplate("app", "4"), Some(None));
        assert_eq!(
            u.add_message("app", "m", &msg("y")),
            1,
            "a new mailbox starts again"
        );
    }
}
