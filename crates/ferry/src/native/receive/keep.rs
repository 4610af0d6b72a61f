//! The stored session of one native receive (`native::stored`): written once
//! the user accepted the offer, saved again with each new connection and
//! touched while data moves (its age is how long ago we were last alive),
//! removed when the transfer ends unless the user interrupted it to continue
//! later. A receive continued from a stored session starts with it loaded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_proto::native::manifest::Manifest;

use crate::native::stored::{Mailbox, SessionStore, StoredSession};
use crate::native::Agreed;
use crate::rendezvous::Wormhole;
use crate::transit::TransitConfig;
use crate::ui::Ui;

/// How often a kept session's age is reset while the transfer runs.
const TOUCH_EVERY: Duration = Duration::from_secs(15);

/// A receive's stored session, from "accepted" to "ended".
#[derive(Debug, Default)]
pub(crate) struct Keeping {
    store: Option<SessionStore>,
    entry: Option<StoredSession>,
    /// Loaded from the store: its manifest is accepted already.
    resumed: bool,
    /// On disk now.
    saved: bool,
    touched: Option<Instant>,
}

impl Keeping {
    /// Keeps the session of a new receive in `store` (`None`: not at all).
    pub(crate) fn new(store: Option<SessionStore>) -> Keeping {
        Keeping {
            store,
            ..Keeping::default()
        }
    }

    /// A receive continued from `entry`, which stays stored until it ends.
    pub(crate) fn resumed(store: SessionStore, entry: StoredSession) -> Keeping {
        Keeping {
            store: Some(store),
            entry: Some(entry),
            resumed: true,
            saved: true,
            touched: None,
        }
    }

    /// The entry as it will be saved once the user accepts: the mailbox as
    /// it is now (its hints handled), not yet written. Only a session that
    /// can heal is kept.
    pub(super) fn prepare(
        &mut self,
        wormhole: &Wormhole,
        (agreed, transit): (Agreed, &TransitConfig),
        output_dir: &Path,
    ) {
        let patience = transit.timing.reconnect_for;
        if self.resumed || !agreed.features.reconnect || patience.is_zero() {
            return;
        }
        let (Some(code), Some(rejoin)) = (wormhole.code(), wormhole.rejoin_state()) else {
            return;
        };
        let mailbox = Mailbox {
            url: wormhole.url(),
            appid: wormhole.appid(),
            rejoin,
        };
        let agreed = (agreed.aead, agreed.features);
        let accepted = (code, output_dir);
        self.entry = Some(StoredSession::new(mailbox, agreed, accepted, patience));
    }

    /// Whether `manifest` was accepted in the earlier process (`None`: this
    /// receive was not resumed, so the user decides).
    pub(super) fn accepted_before(&self, manifest: &Manifest) -> Option<bool> {
        let entry = self.entry.as_ref().filter(|_| self.resumed)?;
        Some(entry.offers(manifest))
    }

    /// The user accepted `manifest` into `output_dir` (now made): stored.
    pub(super) fn accepted(&mut self, manifest: &Manifest, output_dir: &Path, ui: &mut dyn Ui) {
        let Some(entry) = self.entry.as_mut().filter(|_| !self.resumed) else {
            return;
        };
        let dir = std::fs::canonicalize(output_dir).unwrap_or_else(|_| output_dir.to_owned());
        entry.accept(manifest, dir);
        self.save(ui);
    }

    /// A new connection, `attempt`: saved again with the mailbox as it is now.
    pub(super) fn relinked(&mut self, wormhole: &Wormhole, attempt: u32, ui: &mut dyn Ui) {
        let Some(entry) = self.entry.as_mut().filter(|_| self.saved) else {
            return;
        };
        entry.relinked(attempt, wormhole.rejoin_state());
        self.save(ui);
    }

    /// Data moves: the entry's age starts again now and then.
    pub(super) fn alive(&mut self) {
        if !self.saved || self.touched.is_some_and(|t| t.elapsed() < TOUCH_EVERY) {
            return;
        }
        self.touched = Some(Instant::now());
        if let (Some(store), Some(entry)) = (&self.store, &self.entry) {
            store.touch(entry);
        }
    }

    fn save(&mut self, ui: &mut dyn Ui) {
        let (Some(store), Some(entry)) = (&self.store, self.entry.as_mut()) else {
            return;
        };
        match store.save(entry) {
            Ok(_) => self.saved = true,
            Err(e) => ui.warn(&format!(
                "this transfer cannot be continued by a new process: {e}"
            )),
        }
    }

    /// When the user stops us: how long the sender waits, and where (`None`
    /// when nothing is stored to continue with).
    pub(crate) fn paused(&self) -> Option<(u64, PathBuf)> {
        let entry = self.entry.as_ref().filter(|_| self.saved)?;
        Some((entry.patience, entry.output_dir().to_owned()))
    }

    /// The transfer ended: its entry goes.
    pub(crate) fn forget(&mut self) {
        if let (Some(store), Some(entry), true) = (&self.store, &self.entry, self.saved) {
            store.remove(entry);
        }
        self.saved = false;
    }
}
