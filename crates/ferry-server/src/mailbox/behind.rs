//! Catch-ups that must not be lost. Listeners learn of other instances'
//! messages by a catch-up read; if the batch doing it fails (the database is
//! down, a conflict), its deliveries are dropped with it, and a notice that
//! already came would not come again. So a mailbox stays behind until a batch
//! that caught it up commits, and each batch first retries those still behind.
//! Mailboxes are named by whatever key the state uses (`K`).

use std::collections::HashSet;
use std::hash::Hash;

pub(crate) struct Behind<K> {
    waiting: HashSet<K>,
    this_batch: Vec<K>,
}

impl<K> Default for Behind<K> {
    fn default() -> Self {
        Behind {
            waiting: HashSet::new(),
            this_batch: Vec::new(),
        }
    }
}

impl<K: Eq + Hash + Clone> Behind<K> {
    /// A catch-up of `key` runs in the current batch.
    pub(crate) fn started(&mut self, key: K) {
        self.this_batch.push(key);
    }

    /// The current batch ended: committed (its catch-ups are done) or not (they
    /// are still to do).
    pub(crate) fn settle(&mut self, committed: bool) {
        for key in self.this_batch.drain(..) {
            if committed {
                self.waiting.remove(&key);
            } else {
                self.waiting.insert(key);
            }
        }
    }

    /// Mailboxes still to catch up.
    pub(crate) fn waiting(&self) -> Vec<K> {
        self.waiting.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    type Key = (Arc<str>, String);

    fn key(id: &str) -> Key {
        (Arc::from("app"), id.to_owned())
    }

    #[test]
    fn a_catch_up_is_done_only_once_its_batch_commits() {
        let mut b = Behind::default();
        b.started(key("m1"));
        b.settle(false);
        assert_eq!(b.waiting(), [key("m1")], "rolled back: still to do");
        b.started(key("m1"));
        b.started(key("m2"));
        b.settle(true);
        assert!(b.waiting().is_empty());
    }
}
