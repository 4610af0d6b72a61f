//! The shared mailbox state: nameplates, mailboxes, messages (in the [`Store`]),
//! who listens to which mailbox (in memory), and expiry. One thread owns it, so
//! there are no locks; callers get answers by message (see `hub`).
//!
//! The rules follow the reference server: claims and opens are idempotent per
//! side, a released nameplate cannot be re-claimed by that side (`reclaimed`), a
//! third side is `crowded` but its rows stay (so the summary says crowded), a
//! nameplate goes when every claimer released it, a mailbox (with its messages
//! and nameplates) when every side that opened it closed it, and expiry deletes
//! mailboxes idle for longer than the configured time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tokio_tungstenite_030::tungstenite::Utf8Bytes;

use super::behind::Behind;
use super::live::LiveTx;
use super::nameplates::NameplateIndex;
use super::refusal::Refusal;
use super::summary;
use crate::metrics::Metrics;
use crate::store::Key as RowKey;
use crate::store::Prefetch;
use crate::store::{
    Mailbox, MailboxSide, Nameplate, NameplateSide, Store, StoreError, StoredMessage, UsageRecord,
};

/// A command a connection forwards to the state thread.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Call {
    List {
        app: Arc<str>,
    },
    Allocate {
        app: Arc<str>,
        side: Arc<str>,
    },
    Claim {
        app: Arc<str>,
        side: Arc<str>,
        nameplate: String,
    },
    Release {
        app: Arc<str>,
        side: Arc<str>,
        nameplate: String,
    },
    Open {
        app: Arc<str>,
        side: Arc<str>,
        mailbox: String,
    },
    Add {
        app: Arc<str>,
        side: Arc<str>,
        mailbox: String,
        phase: String,
        body: String,
        id: Option<String>,
    },
    Close {
        app: Arc<str>,
        side: Arc<str>,
        mailbox: String,
        mood: Option<String>,
        open_first: bool,
    },
}

/// A stored row a call works on.
pub(crate) enum Row<'a> {
    Nameplate(RowKey<'a>),
    Mailbox(RowKey<'a>),
}

/// Which call, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    List,
    Allocate,
    Claim,
    Release,
    Open,
    Add,
    Close,
}

impl Call {
    /// The nameplate or mailbox row the call reads and writes first.
    pub(crate) fn row(&self) -> Option<Row<'_>> {
        match self {
            Call::Claim { app, nameplate, .. } | Call::Release { app, nameplate, .. } => {
                Some(Row::Nameplate((app, nameplate)))
            }
            Call::Open { app, mailbox, .. }
            | Call::Add { app, mailbox, .. }
            | Call::Close { app, mailbox, .. } => Some(Row::Mailbox((app, mailbox))),
            Call::List { .. } | Call::Allocate { .. } => None,
        }
    }

    pub(crate) fn kind(&self) -> CallKind {
        match self {
            Call::List { .. } => CallKind::List,
            Call::Allocate { .. } => CallKind::Allocate,
            Call::Claim { .. } => CallKind::Claim,
            Call::Release { .. } => CallKind::Release,
            Call::Open { .. } => CallKind::Open,
            Call::Add { .. } => CallKind::Add,
            Call::Close { .. } => CallKind::Close,
        }
    }
}

/// The state thread's answer to a [`Call`].
#[derive(Debug, PartialEq)]
pub(crate) enum Answer {
    Nameplates(Vec<String>),
    Allocated(String),
    Claimed(String),
    Released,
    /// Stored messages to send, oldest first; the connection now listens.
    Opened(Vec<StoredMessage>),
    Added,
    Closed,
}

/// Who is calling, and when.
#[derive(Debug, Clone)]
pub(crate) struct CallCtx {
    pub(crate) conn: u64,
    pub(crate) ip: IpAddr,
    pub(crate) now: f64,
    /// For `Open`: where to push live messages for this connection.
    pub(crate) queue: Option<LiveTx>,
}

/// A frame to push into a listener's queue once the batch is committed: message
/// number `pos` of the mailbox the listener listens to.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) conn: u64,
    pub(crate) tx: LiveTx,
    pub(crate) frame: Utf8Bytes,
    pub(crate) pos: u64,
}

/// What a listener makes of message `pos` (see [`State::advance`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// The next one: send it.
    Send,
    /// Sent already (or the listener is gone): skip it.
    Skip,
    /// Messages before it are missing here (another instance added them): read
    /// the mailbox from the store first.
    Gap,
}

/// Settings of the state.
#[derive(Debug, Clone)]
pub(crate) struct StateConfig {
    pub(crate) allow_list: bool,
    pub(crate) max_messages: usize,
    pub(crate) max_nameplates_per_ip: usize,
    pub(crate) blur: Option<f64>,
}

pub(crate) type Key = (Arc<str>, String);

#[derive(Debug)]
struct Listener {
    conn: u64,
    tx: LiveTx,
    /// Messages of the mailbox this connection has had (positions 1..=seen).
    seen: u64,
}

/// A store failure (logged, answered as "internal server error") or a refusal.
enum Fail {
    No(Refusal),
    Store(StoreError),
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Self {
        Fail::No(r)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

type R<T> = Result<T, Fail>;

/// See the module docs.
pub(crate) struct State<S> {
    store: S,
    cfg: StateConfig,
    names: NameplateIndex,
    listeners: HashMap<Key, Vec<Listener>>,
    /// The mailbox each listening connection listens to.
    listening: HashMap<u64, Key>,
    /// Nameplates claimed from each address, for the per-address cap.
    held: HashMap<IpAddr, Vec<(Arc<str>, String)>>,
    mailbox_count: i64,
    rng: StdRng,
    metrics: Arc<Metrics>,
    /// A store call failed in this batch: it must be rolled back.
    failed: bool,
    /// ... because another instance wrote the same rows: it may run again.
    conflict: bool,
    /// Listeners' catch-ups still to do.
    behind: Behind<Key>,
}

impl<S: Store> State<S> {
    pub(crate) fn new(
        store: S,
        cfg: StateConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let mut s = State {
            store,
            cfg,
            names: NameplateIndex::default(),
            listeners: HashMap::new(),
            listening: HashMap::new(),
            held: HashMap::new(),
            mailbox_count: 0,
            rng: StdRng::from_entropy(),
            metrics,
            failed: false,
            conflict: false,
            behind: Behind::default(),
        };
        s.reload()?;
        // Ends the transaction the reads opened, so that it holds nothing (a
        // WAL read mark, PostgreSQL's batch lock) until the first batch.
        s.store.commit()?;
        Ok(s)
    }

    /// Rebuilds the in-memory view of the store.
    fn reload(&mut self) -> Result<(), StoreError> {
        self.names = NameplateIndex::default();
        for (app, name) in self.store.all_nameplates()? {
            self.names.insert(&app, &name);
        }
        self.mailbox_count = i64::try_from(self.store.count_mailboxes()?).unwrap_or(i64::MAX);
        self.publish();
        Ok(())
    }

    fn publish(&self) {
        self.metrics.nameplates.set(self.names.len() as i64);
        self.metrics.mailboxes.set(self.mailbox_count);
        self.metrics.subscribers.set(self.listening.len() as i64);
    }

    /// Runs one call. Frames for other listeners go to `out`, to be delivered after
    /// the commit.
    pub(crate) fn apply(
        &mut self,
        call: Call,
        ctx: CallCtx,
        out: &mut Vec<Delivery>,
    ) -> Result<Answer, Refusal> {
        if self.failed {
            // The batch is lost already (and, in PostgreSQL, so is its transaction).
            return Err(Refusal::Internal);
        }
        let result = self.dispatch(call, ctx, out);
        self.publish();
        match result {
            Ok(a) => Ok(a),
            Err(Fail::No(r)) => Err(r),
            Err(Fail::Store(e)) => Err(self.store_failed(e)),
        }
    }

    /// Reads the rows these calls will use in one go (see [`Store::prefetch`]);
    /// a failure fails the batch, as the calls' own reads would.
    pub(crate) fn prefetch<'a>(&mut self, calls: impl Iterator<Item = &'a Call>) {
        let mut rows = Prefetch::default();
        for call in calls {
            match call.row() {
                Some(Row::Nameplate(k)) => rows.nameplates.push(k),
                Some(Row::Mailbox(k)) => rows.mailboxes.push(k),
                None => {}
            }
            if let Call::Open { app, mailbox, .. } = call {
                rows.opened.push((app, mailbox));
            }
        }
        if rows.nameplates.is_empty() && rows.mailboxes.is_empty() {
            return;
        }
        if let Err(e) = self.store.prefetch(&rows) {
            self.store_failed(e);
        }
    }

    fn store_failed(&mut self, e: StoreError) -> Refusal {
        if e.is_conflict() {
            tracing::debug!(error = %e, "conflict with another instance");
            self.conflict = true;
        } else {
            tracing::error!(error = %e, "store failure");
        }
        self.failed = true;
        Refusal::Internal
    }

    fn dispatch(&mut self, call: Call, ctx: CallCtx, out: &mut Vec<Delivery>) -> R<Answer> {
        match call {
            Call::List { app } => self.list(&app).map(Answer::Nameplates),
            Call::Allocate { app, side } => self.allocate(&app, &side, &ctx),
            Call::Claim {
                app,
                side,
                nameplate,
            } => self
                .claim(&app, &side, &nameplate, &ctx)
                .map(Answer::Claimed),
            Call::Release {
                app,
                side,
                nameplate,
            } => self
                .release(&app, &side, &nameplate, ctx.now)
                .map(|()| Answer::Released),
            Call::Open { app, side, mailbox } => self.open(app, &side, mailbox, ctx),
            Call::Add {
                app,
                side,
                mailbox,
                phase,
                body,
                id,
            } => {
                let msg = StoredMessage {
                    side: side.to_string(),
                    phase,
                    body,
                    server_rx: ctx.now,
                    msg_id: id,
                };
                self.add(app, mailbox, msg, out).map(|()| Answer::Added)
            }
            Call::Close {
                app,
                side,
                mailbox,
                mood,
                open_first,
            } => {
                if open_first {
                    self.open_side(&app, &side, &mailbox, ctx.now)?;
                }
                self.close(app, &side, mailbox, mood, &ctx)
                    .map(|()| Answer::Closed)
            }
        }
    }

    fn list(&mut self, app: &str) -> R<Vec<String>> {
        if !self.cfg.allow_list {
            return Ok(Vec::new());
        }
        if !self.store.shared() {
            return Ok(self.names.sorted(app));
        }
        let mut names = self.store.nameplate_names(app)?;
        names.sort();
        Ok(names)
    }

    fn allocate(&mut self, app: &Arc<str>, side: &str, ctx: &CallCtx) -> R<Answer> {
        self.check_ip_cap(ctx.ip)?;
        let name = self.pick_free(app)?;
        self.claim(app, side, &name, ctx)?;
        Ok(Answer::Allocated(name))
    }

    /// A free name. With a shared store the index is only a hint (other instances
    /// allocate too), so each pick is checked in the store; one taken meanwhile
    /// by another instance is a conflict at commit and the batch runs again.
    fn pick_free(&mut self, app: &Arc<str>) -> R<String> {
        const SHARED_TRIES: usize = 64;
        for _ in 0..SHARED_TRIES {
            let name = self
                .names
                .pick_free(app, &mut self.rng)
                .ok_or(Refusal::NoNameplateFree)?;
            if !self.store.shared() || self.store.nameplate(app, &name)?.is_none() {
                return Ok(name);
            }
            self.names.insert(app, &name);
        }
        Err(Refusal::NoNameplateFree.into())
    }

    /// Refuses a new claim when this address already holds its share.
    fn check_ip_cap(&mut self, ip: IpAddr) -> R<()> {
        let names = &self.names;
        let held = self.held.entry(ip).or_default();
        held.retain(|(app, name)| names.contains(app, name));
        if held.len() >= self.cfg.max_nameplates_per_ip {
            tracing::warn!(held = held.len(), "nameplate cap reached for an address");
            return Err(Refusal::TooManyNameplates.into());
        }
        Ok(())
    }

    fn claim(&mut self, app: &Arc<str>, side: &str, name: &str, ctx: &CallCtx) -> R<String> {
        let existing = self.store.nameplate(app, name)?;
        let mine = existing
            .as_ref()
            .and_then(|np| np.sides.iter().find(|s| s.side == side));
        match mine {
            Some(s) if !s.claimed => return Err(Refusal::Reclaimed.into()),
            Some(_) => {}
            None => self.check_ip_cap(ctx.ip)?,
        }
        let mut np = match existing {
            Some(np) => np,
            None => self.new_nameplate(app, name, ctx.now)?,
        };
        if mine_is_new(&np, side) {
            np.sides.push(NameplateSide {
                side: side.to_owned(),
                claimed: true,
                added: ctx.now,
            });
            self.store.put_nameplate(app, name, &np)?;
            self.held
                .entry(ctx.ip)
                .or_default()
                .push((Arc::clone(app), name.to_owned()));
        }
        self.open_side(app, side, &np.mailbox, ctx.now)?;
        if np.sides.len() > 2 {
            return Err(Refusal::Crowded.into());
        }
        Ok(np.mailbox)
    }

    /// A nameplate with a fresh mailbox.
    fn new_nameplate(&mut self, app: &str, name: &str, now: f64) -> R<Nameplate> {
        let mailbox = self.new_mailbox_id();
        let mb = Mailbox {
            for_nameplate: true,
            updated: now,
            sides: Vec::new(),
        };
        self.store.put_mailbox(app, &mailbox, &mb)?;
        self.mailbox_count += 1;
        let np = Nameplate {
            mailbox,
            sides: Vec::new(),
        };
        self.store.put_nameplate(app, name, &np)?;
        self.names.insert(app, name);
        Ok(np)
    }

    /// 8 random bytes in lower-case base32 without padding: 13 characters.
    fn new_mailbox_id(&mut self) -> String {
        let mut bytes = [0u8; 8];
        self.rng.fill_bytes(&mut bytes);
        base32_lower(&bytes)
    }

    fn release(&mut self, app: &str, side: &str, name: &str, now: f64) -> R<()> {
        let Some(mut np) = self.store.nameplate(app, name)? else {
            return Ok(());
        };
        let Some(mine) = np.sides.iter_mut().find(|s| s.side == side) else {
            return Ok(());
        };
        mine.claimed = false;
        if np.sides.iter().any(|s| s.claimed) {
            self.store.put_nameplate(app, name, &np)?;
            return Ok(());
        }
        self.store.delete_nameplate(app, name)?;
        self.names.remove(app, name);
        self.record_nameplate(app, &np, now, false)?;
        Ok(())
    }

    /// Adds `side` to the mailbox (creating it if needed) and refreshes it;
    /// `crowded` if that makes more than two sides (the rows stay).
    fn open_side(&mut self, app: &str, side: &str, id: &str, now: f64) -> R<()> {
        let mut mb = match self.store.mailbox(app, id)? {
            Some(mb) => mb,
            None => {
                self.mailbox_count += 1;
                Mailbox {
                    for_nameplate: false,
                    updated: now,
                    sides: Vec::new(),
                }
            }
        };
        // Re-opening after a close keeps the side closed, as in the reference.
        if !mb.sides.iter().any(|s| s.side == side) {
            mb.sides.push(MailboxSide {
                side: side.to_owned(),
                opened: true,
                added: now,
                mood: None,
            });
        }
        mb.updated = now;
        self.store.put_mailbox(app, id, &mb)?;
        if mb.sides.len() > 2 {
            return Err(Refusal::Crowded.into());
        }
        Ok(())
    }

    fn open(&mut self, app: Arc<str>, side: &str, id: String, ctx: CallCtx) -> R<Answer> {
        self.open_side(&app, side, &id, ctx.now)?;
        let messages = self.store.messages(&app, &id)?;
        if let Some(tx) = ctx.queue {
            let seen = messages.len() as u64;
            self.listen(ctx.conn, (app, id), tx, seen);
        }
        Ok(Answer::Opened(messages))
    }

    fn listen(&mut self, conn: u64, key: Key, tx: LiveTx, seen: u64) {
        self.detach(conn);
        self.listeners
            .entry(key.clone())
            .or_default()
            .push(Listener { conn, tx, seen });
        self.listening.insert(conn, key);
    }

    /// Whether `conn` should get message `pos` of its mailbox now; counts it as
    /// seen if so.
    pub(crate) fn advance(&mut self, conn: u64, pos: u64) -> Next {
        let Some(key) = self.listening.get(&conn) else {
            return Next::Skip;
        };
        let Some(l) = self
            .listeners
            .get_mut(key)
            .and_then(|list| list.iter_mut().find(|l| l.conn == conn))
        else {
            return Next::Skip;
        };
        if pos <= l.seen {
            Next::Skip
        } else if pos == l.seen + 1 {
            l.seen = pos;
            Next::Send
        } else {
            Next::Gap
        }
    }

    /// The mailbox `conn` listens to.
    pub(crate) fn listened_by(&self, conn: u64) -> Option<(Arc<str>, String)> {
        self.listening.get(&conn).cloned()
    }

    /// Every mailbox someone listens to.
    pub(crate) fn listened(&self) -> Vec<(Arc<str>, String)> {
        self.listeners.keys().cloned().collect()
    }

    /// Frames of the messages this instance's listeners of these mailboxes have
    /// not had (another instance added them), read from the store at once.
    pub(crate) fn catch_up(
        &mut self,
        keys: impl IntoIterator<Item = Key>,
        out: &mut Vec<Delivery>,
    ) {
        let mut asks: Vec<(Key, u64)> = Vec::new();
        for key in keys {
            let from = self
                .listeners
                .get(&key)
                .and_then(|l| l.iter().map(|l| l.seen).min());
            if let Some(from) = from.filter(|_| !asks.iter().any(|(k, _)| *k == key)) {
                self.behind.started(key.clone());
                asks.push((key, from));
            }
        }
        if self.failed || asks.is_empty() {
            return;
        }
        let reads: Vec<(&str, &str, u64)> = asks
            .iter()
            .map(|((a, i), from)| (&**a, i.as_str(), *from))
            .collect();
        let found = match self.store.messages_after_many(&reads) {
            Ok(m) => m,
            Err(e) => {
                self.store_failed(e);
                return;
            }
        };
        for ((key, from), messages) in asks.iter().zip(found) {
            self.deliveries(key, *from, &messages, out);
        }
    }

    /// Frames of `messages` (positions from `from + 1`) for the listeners of
    /// `key` that have not had them.
    fn deliveries(
        &self,
        key: &Key,
        from: u64,
        messages: &[StoredMessage],
        out: &mut Vec<Delivery>,
    ) {
        let Some(list) = self.listeners.get(key) else {
            return;
        };
        for (pos, msg) in (from + 1..).zip(messages) {
            let frame = Utf8Bytes::from(super::frames::message(msg));
            for l in list.iter().filter(|l| l.seen < pos) {
                out.push(Delivery {
                    conn: l.conn,
                    tx: l.tx.clone(),
                    frame: frame.clone(),
                    pos,
                });
            }
        }
    }

    /// Catches up the mailboxes a failed batch left behind.
    pub(crate) fn retry_catch_ups(&mut self, out: &mut Vec<Delivery>) {
        let waiting = self.behind.waiting();
        self.catch_up(waiting, out);
    }

    /// The batch's catch-ups are done if it committed, still to do if not.
    pub(crate) fn settle_catch_ups(&mut self, committed: bool) {
        self.behind.settle(committed);
    }

    /// Stops delivering to `conn` (it closed, disconnected or was too slow).
    pub(crate) fn detach(&mut self, conn: u64) {
        let Some(key) = self.listening.remove(&conn) else {
            return;
        };
        if let Some(list) = self.listeners.get_mut(&key) {
            list.retain(|l| l.conn != conn);
            if list.is_empty() {
                self.listeners.remove(&key);
            }
        }
        self.publish();
    }

    fn add(
        &mut self,
        app: Arc<str>,
        id: String,
        msg: StoredMessage,
        out: &mut Vec<Delivery>,
    ) -> R<()> {
        let mut pos = None;
        // One statement both finds the mailbox and marks it used (a refused
        // message marks it too: its clients are still there).
        if self.store.touch_mailbox(&app, &id, msg.server_rx)? {
            if self.store.count_messages(&app, &id)? >= self.cfg.max_messages {
                return Err(Refusal::MailboxFull.into());
            }
            pos = Some(self.store.add_message(&app, &id, &msg)?);
        }
        self.metrics.messages_total.inc();
        let frame = Utf8Bytes::from(super::frames::message(&msg));
        for l in self.listeners.get(&(app, id)).into_iter().flatten() {
            out.push(Delivery {
                conn: l.conn,
                tx: l.tx.clone(),
                frame: frame.clone(),
                // A message to a mailbox that is gone is not stored: it goes to
                // the listeners that are left as their next one.
                pos: pos.unwrap_or(l.seen + 1),
            });
        }
        Ok(())
    }

    fn close(
        &mut self,
        app: Arc<str>,
        side: &str,
        id: String,
        mood: Option<String>,
        ctx: &CallCtx,
    ) -> R<()> {
        self.detach(ctx.conn);
        let Some(mut mb) = self.store.mailbox(&app, &id)? else {
            return Ok(());
        };
        let Some(mine) = mb.sides.iter_mut().find(|s| s.side == side) else {
            return Ok(());
        };
        mine.opened = false;
        mine.mood = mood;
        if mb.sides.iter().any(|s| s.opened) {
            self.store.put_mailbox(&app, &id, &mb)?;
            return Ok(());
        }
        self.delete_mailbox(&app, &id, &mb, ctx.now, false)
    }

    /// Deletes a mailbox with its messages and nameplates and writes the summaries.
    fn delete_mailbox(
        &mut self,
        app: &Arc<str>,
        id: &str,
        mb: &Mailbox,
        now: f64,
        pruned: bool,
    ) -> R<()> {
        for (name, np) in self.store.delete_mailbox(app, id)? {
            self.names.remove(app, &name);
            self.record_nameplate(app, &np, now, pruned)?;
        }
        self.mailbox_count -= 1;
        let rec = summary::mailbox(app, mb, now, pruned, self.cfg.blur);
        self.metrics.mailbox_result(rec.result);
        self.store.record_usage(&rec)?;
        // Anyone still listening (a crowded third side) hears no more.
        for l in self
            .listeners
            .remove(&(Arc::clone(app), id.to_owned()))
            .unwrap_or_default()
        {
            self.listening.remove(&l.conn);
        }
        Ok(())
    }

    fn record_nameplate(&mut self, app: &str, np: &Nameplate, now: f64, pruned: bool) -> R<()> {
        let rec = summary::nameplate(app, np, now, pruned, self.cfg.blur);
        self.metrics.nameplate_result(rec.result);
        self.store.record_usage(&rec)?;
        Ok(())
    }

    /// Expiry: refreshes mailboxes someone listens to, then deletes the ones not
    /// touched since `cutoff`.
    pub(crate) fn prune(&mut self, now: f64, cutoff: f64) {
        if self.failed {
            return;
        }
        if let Err(Fail::Store(e)) = self.try_prune(now, cutoff) {
            self.store_failed(e);
        }
        self.held.retain(|_, v| !v.is_empty());
        self.publish();
    }

    fn try_prune(&mut self, now: f64, cutoff: f64) -> R<()> {
        self.listeners.retain(|_, list| {
            list.retain(|l| !l.tx.is_closed());
            !list.is_empty()
        });
        let live: Vec<Key> = self.listeners.keys().cloned().collect();
        for (app, id) in &live {
            self.store.touch_mailbox(app, id, now)?;
        }
        if self.store.shared() {
            // Other instances change the store too: refresh the hints.
            self.reload()?;
        }
        let stale = self.store.stale_mailboxes(cutoff)?;
        let count = stale.len();
        for (app, id) in stale {
            let app: Arc<str> = app.into();
            if let Some(mb) = self.store.mailbox(&app, &id)? {
                self.delete_mailbox(&app, &id, &mb, now, true)?;
            }
        }
        if count > 0 {
            tracing::info!(expired = count, "expired idle mailboxes");
        }
        Ok(())
    }

    /// Stores a relay usage record.
    pub(crate) fn record(&mut self, rec: &UsageRecord) {
        if self.failed {
            return;
        }
        if let Err(e) = self.store.record_usage(rec) {
            self.store_failed(e);
        }
    }

    /// Store housekeeping, once the batch's replies are out.
    pub(crate) fn maintain(&mut self) {
        self.store.maintain();
    }

    /// Commits the batch; on any failure in it, rolls back and reloads instead.
    /// The error is a conflict (the batch may run again) if a command met one.
    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        let result = if self.conflict {
            Err(StoreError::conflict(
                "a command in this batch met another instance's",
            ))
        } else if self.failed {
            Err(StoreError::new("a command in this batch failed"))
        } else {
            self.store.commit()
        };
        if result.is_err() {
            self.failed = false;
            self.conflict = false;
            self.store.rollback();
            // A shared store's index is a hint, refreshed by expiry.
            if self.store.shared() {
                return result;
            }
            if let Err(e) = self.reload() {
                tracing::error!(error = %e, "cannot reload state after a rollback");
            }
        }
        result
    }
}

fn mine_is_new(np: &Nameplate, side: &str) -> bool {
    !np.sides.iter().any(|s| s.side == side)
}

/// RFC 4648 base32, lower case, no padding.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests;
