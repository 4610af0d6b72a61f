//! An in-memory [`Store`]: for tests and servers that need no persistence.

use std::collections::HashMap;

use super::{Mailbox, Nameplate, Store, StoreError, StoredMessage, UsageRecord};

type Key = (String, String);

fn key(app: &str, id: &str) -> Key {
    (app.to_owned(), id.to_owned())
}

/// Keeps everything in hash maps; `commit` is a no-op and `rollback` cannot undo.
#[derive(Debug, Default)]
pub struct MemoryStore {
    nameplates: HashMap<Key, Nameplate>,
    mailboxes: HashMap<Key, Mailbox>,
    messages: HashMap<Key, Vec<StoredMessage>>,
    usage: Vec<UsageRecord>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Usage records written so far (tests inspect moods).
    pub fn usage(&self) -> &[UsageRecord] {
        &self.usage
    }
}

impl Store for MemoryStore {
    fn nameplate(&mut self, app: &str, name: &str) -> Result<Option<Nameplate>, StoreError> {
        Ok(self.nameplates.get(&key(app, name)).cloned())
    }

    fn put_nameplate(&mut self, app: &str, name: &str, np: &Nameplate) -> Result<(), StoreError> {
        self.nameplates.insert(key(app, name), np.clone());
        Ok(())
    }

    fn delete_nameplate(&mut self, app: &str, name: &str) -> Result<(), StoreError> {
        self.nameplates.remove(&key(app, name));
        Ok(())
    }

    fn all_nameplates(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self.nameplates.keys().cloned().collect())
    }

    fn mailbox(&mut self, app: &str, id: &str) -> Result<Option<Mailbox>, StoreError> {
        Ok(self.mailboxes.get(&key(app, id)).cloned())
    }

    fn put_mailbox(&mut self, app: &str, id: &str, mb: &Mailbox) -> Result<(), StoreError> {
        self.mailboxes.insert(key(app, id), mb.clone());
        Ok(())
    }

    fn touch_mailbox(&mut self, app: &str, id: &str, now: f64) -> Result<bool, StoreError> {
        let mb = self.mailboxes.get_mut(&key(app, id));
        Ok(mb.map(|mb| mb.updated = now).is_some())
    }

    fn delete_mailbox(
        &mut self,
        app: &str,
        id: &str,
    ) -> Result<Vec<(String, Nameplate)>, StoreError> {
        let k = key(app, id);
        self.mailboxes.remove(&k);
        self.messages.remove(&k);
        let gone: Vec<Key> = self
            .nameplates
            .iter()
            .filter(|((a, _), np)| a == app && np.mailbox == id)
            .map(|(k, _)| k.clone())
            .collect();
        Ok(gone
            .into_iter()
            .filter_map(|k| self.nameplates.remove(&k).map(|np| (k.1, np)))
            .collect())
    }

    fn stale_mailboxes(&mut self, cutoff: f64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .mailboxes
            .iter()
            .filter(|(_, mb)| mb.updated < cutoff)
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn count_mailboxes(&mut self) -> Result<u64, StoreError> {
        Ok(self.mailboxes.len() as u64)
    }

    fn messages_after(
        &mut self,
        app: &str,
        id: &str,
        after: u64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let all = self
            .messages
            .get(&key(app, id))
            .map_or(&[][..], Vec::as_slice);
        let from = usize::try_from(after).unwrap_or(usize::MAX).min(all.len());
        Ok(all[from..].to_vec())
    }

    fn count_messages(&mut self, app: &str, id: &str) -> Result<usize, StoreError> {
        Ok(self.messages.get(&key(app, id)).map_or(0, Vec::len))
    }

    fn add_message(&mut self, app: &str, id: &str, msg: &StoredMessage) -> Result<u64, StoreError> {
        let list = self.messages.entry(key(app, id)).or_default();
        list.push(msg.clone());
        Ok(list.len() as u64)
    }

    fn record_usage(&mut self, rec: &UsageRecord) -> Result<(), StoreError> {
        self.usage.push(rec.clone());
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn rollback(&mut self) {}
}
