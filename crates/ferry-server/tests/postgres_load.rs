//! PostgreSQL restarted under load: pairs of clients keep meeting on two
//! `ferry serve` instances while the database goes away and comes back. Each
//! client behaves as the real ones do on a lost or failed session: it
//! reconnects (to the other instance), binds again, re-claims and re-opens
//! what it had not released or closed, and re-adds the messages it has not
//! seen echoed. Checked: every pair finishes; both sides see one and the same
//! message order, every message, none stored more often than its client sent
//! it; each re-open replays exactly what was seen before; no nameplate, mailbox
//! or message is left behind.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_server::{Config, Database};
use ferry_test_support::postgres::PgCluster;
use ferry_test_support::raw_mailbox::{Client, APPID};
use ferry_test_support::server::spawn;
use serde_json::{json, Value};
use tokio::time::timeout;

/// Messages each side adds per pair.
const PER_SIDE: usize = 3;
/// Pairs running at once.
const WORKERS: usize = 6;
/// Longest silence a side waits through (a peer may be reconnecting).
const PATIENCE: Duration = Duration::from_secs(20);
/// Reconnects a side may need before the test calls it stuck.
const MAX_SESSIONS: usize = 60;

/// Why a session ended early: the server said `error`, or the connection went.
#[derive(Debug)]
struct Lost(String);

/// What one side has achieved so far, across its sessions.
struct Side {
    /// The instances, tried in turn on each reconnect.
    addrs: [SocketAddr; 2],
    name: String,
    nameplate: String,
    mailbox: Option<String>,
    released: bool,
    /// A release went out: its answer may have been lost with the connection,
    /// while the release itself committed (and, the peer's done too, the
    /// nameplate was deleted). Like the real clients, the side then sends the
    /// release again and never claims again: a new claim would make the
    /// nameplate anew, with another mailbox.
    release_sent: bool,
    closed: bool,
    /// The bodies this side adds, in order.
    mine: Vec<String>,
    /// The peer's side, and the bodies it adds.
    peer: String,
    theirs: Vec<String>,
    /// How many times each body was sent: a client that lost its session
    /// before the echo sends again (as the real ones do), so a message may be
    /// stored twice by the client's doing, never more often than it was sent.
    sent: HashMap<String, usize>,
    /// The mailbox's messages as (side, body), in the order delivered.
    seen: Vec<(String, String)>,
    sessions: usize,
    last_error: String,
}

/// One connection's view: frames read, and how far into the mailbox's
/// replayed messages it got.
struct Session {
    c: Client,
    at: usize,
}

impl Side {
    fn new(addrs: [SocketAddr; 2], name: String, peer: String, nameplate: String) -> Side {
        let bodies = |n: &str| (0..PER_SIDE).map(|k| format!("{n}{k:02x}")).collect();
        let (mine, theirs) = (bodies(&name), bodies(&peer));
        Side {
            addrs,
            name,
            nameplate,
            mailbox: None,
            released: false,
            release_sent: false,
            closed: false,
            mine,
            peer,
            theirs,
            sent: HashMap::new(),
            seen: Vec::new(),
            sessions: 0,
            last_error: String::new(),
        }
    }

    /// Runs sessions until the side is released and closed.
    async fn finish(&mut self, outages: &AtomicUsize) {
        loop {
            let last = &self.last_error;
            assert!(self.sessions < MAX_SESSIONS, "{} stuck: {last}", self.name);
            let addr = self.addrs[self.sessions % 2];
            self.sessions += 1;
            match self.session(addr).await {
                Ok(()) => return,
                Err(Lost(why)) => {
                    outages.fetch_add(1, Ordering::Relaxed);
                    self.last_error
                        .push_str(&format!("[{}] {why}; ", self.sessions));
                    // Backs off as real clients do: 100 ms, doubling to 1 s.
                    let failed = (self.sessions - 1).min(4) as u32;
                    tokio::time::sleep(Duration::from_millis(100) * 2u32.pow(failed)).await;
                }
            }
        }
    }

    async fn session(&mut self, addr: SocketAddr) -> Result<(), Lost> {
        let c = timeout(PATIENCE, Client::connect(addr)).await.unwrap();
        let mut s = Session { c, at: 0 };
        let bind = json!({"type": "bind", "appid": APPID, "side": self.name});
        s.c.send(bind).await;
        if !self.release_sent {
            s.c.send(json!({"type": "claim", "nameplate": self.nameplate}))
                .await;
            let claimed = self.reply(&mut s, "claimed").await?;
            let mailbox = claimed["mailbox"].as_str().unwrap().to_owned();
            let first = self.mailbox.get_or_insert(mailbox.clone());
            assert_eq!(*first, mailbox, "a re-claim finds the same mailbox");
        }
        if !self.closed {
            let mailbox = self.mailbox.clone().unwrap();
            s.c.send(json!({"type": "open", "mailbox": mailbox})).await;
            for body in self.mine.clone() {
                if !self.echoed(&body) {
                    let add = json!({"type": "add", "phase": body, "body": body});
                    s.c.send(add).await;
                    *self.sent.entry(body.clone()).or_default() += 1;
                    self.until(&mut s, |me| me.echoed(&body)).await?;
                }
            }
            self.until(&mut s, Side::has_all).await?;
        }
        if !self.released {
            let release = json!({"type": "release", "nameplate": self.nameplate});
            s.c.send(release).await;
            self.release_sent = true;
            self.reply(&mut s, "released").await?;
            self.released = true;
        }
        if !self.closed {
            let mailbox = self.mailbox.clone().unwrap();
            let close = json!({"type": "close", "mailbox": mailbox, "mood": "happy"});
            s.c.send(close).await;
            self.reply(&mut s, "closed").await?;
            self.closed = true;
        }
        Ok(())
    }

    /// Whether every message of both sides arrived.
    fn has_all(&self) -> bool {
        let theirs = |b: &String| self.seen.contains(&(self.peer.clone(), b.clone()));
        self.mine.iter().all(|b| self.echoed(b)) && self.theirs.iter().all(theirs)
    }

    /// Whether our message `body` came back from the mailbox.
    fn echoed(&self, body: &str) -> bool {
        self.seen.iter().any(|(s, b)| *s == self.name && b == body)
    }

    /// Reads frames until one of type `kind`.
    async fn reply(&mut self, s: &mut Session, kind: &str) -> Result<Value, Lost> {
        loop {
            let v = self.frame(s).await?;
            if v["type"] == kind {
                return Ok(v);
            }
        }
    }

    /// Reads frames until `done` holds.
    async fn until(&mut self, s: &mut Session, done: impl Fn(&Side) -> bool) -> Result<(), Lost> {
        while !done(self) {
            self.frame(s).await?;
        }
        Ok(())
    }

    /// The next frame; messages are checked against what earlier sessions saw
    /// (a re-open replays the mailbox from its start) and recorded.
    async fn frame(&mut self, s: &mut Session) -> Result<Value, Lost> {
        let Ok(next) = timeout(PATIENCE, next_json(&mut s.c)).await else {
            panic!(
                "{} heard nothing for {PATIENCE:?}: session {}, mailbox {:?}, seen {:?}, released {}, closed {}, lost: {}",
                self.name, self.sessions, self.mailbox, self.seen, self.released, self.closed, self.last_error
            );
        };
        let v = next?;
        match v["type"].as_str().unwrap() {
            "error" => return Err(Lost(v.to_string())),
            "message" => {
                let got = (v["side"].as_str().unwrap().to_owned(), body(&v));
                match self.seen.get(s.at) {
                    Some(before) => assert_eq!(before, &got, "{}: replay differs", self.name),
                    None => self.seen.push(got),
                }
                s.at += 1;
            }
            _ => {}
        }
        Ok(v)
    }
}

fn body(v: &Value) -> String {
    v["body"].as_str().unwrap().to_owned()
}

/// The next text frame; a closed connection is an outage.
async fn next_json(c: &mut Client) -> Result<Value, Lost> {
    let closed = || Lost("connection closed".into());
    c.next_or_closed(PATIENCE * 2).await.ok_or_else(closed)
}

/// Runs pairs one after another until `stop`, returning both sides of each.
async fn worker(
    w: usize,
    addrs: [SocketAddr; 2],
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    outages: Arc<AtomicUsize>,
) -> Vec<(Side, Side)> {
    let mut pairs = Vec::new();
    for i in 0..1000 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let nameplate = format!("{}", 1 + w * 1000 + i);
        let (an, bn) = (format!("a{w:x}{i:03x}"), format!("b{w:x}{i:03x}"));
        let mut a = Side::new(addrs, an.clone(), bn.clone(), nameplate.clone());
        let mut b = Side::new([addrs[1], addrs[0]], bn, an, nameplate);
        tokio::join!(a.finish(&outages), b.finish(&outages));
        done.fetch_add(1, Ordering::Relaxed);
        pairs.push((a, b));
    }
    pairs
}

/// Polls until `f` holds (bounded), so the restart lands in the middle of the load.
async fn wait_for(what: &str, f: impl Fn() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_restart_under_load_loses_no_message_and_strands_nothing() {
    let mut pg = blocking(PgCluster::start).await;
    let mut servers = Vec::new();
    for _ in 0..2 {
        let mut cfg = Config::ephemeral();
        cfg.database = Database::Postgres(pg.url());
        servers.push(spawn(cfg).await);
    }
    let addrs = [0, 1].map(|i| servers[i].mailbox_addr().unwrap());
    let (stop, done, outages) = (
        Arc::new(AtomicBool::new(false)),
        Arc::default(),
        Arc::default(),
    );
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (stop, done, outages) = (stop.clone(), Arc::clone(&done), Arc::clone(&outages));
            tokio::spawn(worker(w, addrs, stop, done, outages))
        })
        .collect();

    wait_for("pairs before the restart", || {
        done.load(Ordering::Relaxed) >= WORKERS
    })
    .await;
    pg = blocking(move || {
        pg.stop_server();
        pg
    })
    .await;
    // Clients in the middle of a pair notice the outage: their requests fail.
    wait_for("failed requests", || {
        outages.load(Ordering::Relaxed) >= WORKERS
    })
    .await;
    pg = blocking(move || {
        pg.start_server();
        pg
    })
    .await;
    let after = done.load(Ordering::Relaxed);
    wait_for("pairs after the restart", || {
        done.load(Ordering::Relaxed) >= after + 2 * WORKERS
    })
    .await;
    stop.store(true, Ordering::Relaxed);

    let mut pairs = Vec::new();
    for w in workers {
        pairs.extend(timeout(PATIENCE * 3, w).await.unwrap().unwrap());
    }
    for (a, b) in &pairs {
        check_pair(a, b);
    }
    let spanned = pairs.iter().filter(|(a, b)| a.sessions + b.sessions > 2);
    let spanned = spanned.count();
    let lost = outages.load(Ordering::Relaxed);
    eprintln!(
        "{} pairs, {spanned} through the outage, {lost} sessions lost",
        pairs.len()
    );
    assert!(spanned > 0, "some pair lived through the outage");
    for table in ["ferry_nameplates", "ferry_mailboxes", "ferry_messages"] {
        let left = pg.psql(&format!("SELECT COUNT(*) FROM {table}"));
        assert_eq!(left, "0", "{table} left behind");
    }
}

/// Both sides saw the same messages in the same order (up to where one of them
/// stopped reading): each side's own first
/// in the order it added them, each one at least once and never more often
/// than its side sent it.
fn check_pair(a: &Side, b: &Side) {
    // A side stops reading once it has everything, so a message its peer sent
    // again later (its echo was lost in the outage) may reach only the peer:
    // one view is the start of the other, and what follows are repeats.
    let (short, long) = if a.seen.len() <= b.seen.len() {
        (&a.seen, &b.seen)
    } else {
        (&b.seen, &a.seen)
    };
    let (start, rest) = long.split_at(short.len());
    assert_eq!(short, start, "{} and {} disagree", a.name, b.name);
    for late in rest {
        assert!(short.contains(late), "{late:?} came late and was new");
    }
    for side in [a, b] {
        let own: Vec<&String> = long
            .iter()
            .filter(|(s, _)| *s == side.name)
            .map(|(_, b)| b)
            .collect();
        let mut first = own.clone();
        let mut seen = HashSet::new();
        first.retain(|b| seen.insert(*b));
        let added: Vec<&String> = side.mine.iter().collect();
        assert_eq!(first, added, "{}'s messages, in order", side.name);
        for body in &side.mine {
            let stored = own.iter().filter(|b| **b == body).count();
            let sent = side.sent[body];
            assert!(stored <= sent, "{body} stored {stored} times, sent {sent}");
        }
    }
}
