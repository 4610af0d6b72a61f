//! The address book: every peer address we know, which to dial now, how long to wait
//! after a failure, and which are banned. Plain state; the loop passes the time in.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferry_proto::torrent::wire::PeerId;

/// Failures after which an address a tracker gave us is forgotten (one given by
/// hand is dialled for as long as the swarm runs).
const MAX_FAILURES: u32 = 5;
/// Addresses kept at most (a tracker may give thousands).
const MAX_KNOWN: usize = 2000;

#[derive(Debug)]
struct Entry {
    by_hand: bool,
    failures: u32,
    next_try: Instant,
    /// Dialling, or connected (by a dial of ours or theirs).
    busy: bool,
}

#[derive(Debug)]
pub(super) struct Book {
    entries: HashMap<SocketAddr, Entry>,
    banned: HashSet<SocketAddr>,
    banned_ids: HashSet<PeerId>,
    redial: Duration,
    redial_max: Duration,
}

impl Book {
    pub(super) fn new(redial: Duration, redial_max: Duration) -> Self {
        Book {
            entries: HashMap::new(),
            banned: HashSet::new(),
            banned_ids: HashSet::new(),
            redial,
            redial_max,
        }
    }

    /// An address to dial (from a tracker, a magnet, or `--peer` when `by_hand`).
    pub(super) fn add(&mut self, addr: SocketAddr, by_hand: bool, now: Instant) {
        if self.banned.contains(&addr) || addr.port() == 0 || addr.ip().is_unspecified() {
            return;
        }
        if let Some(e) = self.entries.get_mut(&addr) {
            e.by_hand |= by_hand;
            return;
        }
        if self.entries.len() < MAX_KNOWN || by_hand {
            let entry = Entry {
                by_hand,
                failures: 0,
                next_try: now,
                busy: false,
            };
            self.entries.insert(addr, entry);
        }
    }

    /// Up to `room` addresses to dial now; they count as busy until
    /// [`Book::failed`] or [`Book::closed`].
    pub(super) fn due(&mut self, now: Instant, room: usize) -> Vec<SocketAddr> {
        let mut due: Vec<(bool, Instant, SocketAddr)> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.busy && e.next_try <= now)
            .map(|(a, e)| (!e.by_hand, e.next_try, *a))
            .collect();
        // Peers given by hand first, then the longest waiting.
        due.sort();
        due.truncate(room);
        for (_, _, addr) in &due {
            if let Some(e) = self.entries.get_mut(addr) {
                e.busy = true;
            }
        }
        due.into_iter().map(|(_, _, a)| a).collect()
    }

    /// A dial failed: wait longer before the next, or forget a tracker's address.
    pub(super) fn failed(&mut self, addr: SocketAddr, now: Instant) {
        let Some(e) = self.entries.get_mut(&addr) else {
            return;
        };
        e.busy = false;
        e.failures += 1;
        if !e.by_hand && e.failures >= MAX_FAILURES {
            self.entries.remove(&addr);
            return;
        }
        let wait = self.redial.saturating_mul(1 << e.failures.min(16));
        e.next_try = now + wait.min(self.redial_max);
    }

    /// A connection to `addr` is up (ours, or theirs from an address we know).
    pub(super) fn connected(&mut self, addr: SocketAddr) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.busy = true;
            e.failures = 0;
        }
    }

    /// A connection to `addr` ended: dial it again after the first wait.
    pub(super) fn closed(&mut self, addr: SocketAddr, now: Instant) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.busy = false;
            e.next_try = now + self.redial;
        }
    }

    /// Never again: this address, and the peer id it used.
    pub(super) fn ban(&mut self, addr: SocketAddr, id: PeerId) {
        self.entries.remove(&addr);
        self.banned.insert(addr);
        self.banned_ids.insert(id);
    }

    pub(super) fn is_banned(&self, addr: SocketAddr, id: &PeerId) -> bool {
        self.banned.contains(&addr) || self.banned_ids.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn book() -> Book {
        Book::new(Duration::from_secs(1), Duration::from_secs(8))
    }

    #[test]
    fn peers_by_hand_come_first_and_are_not_dialled_twice() {
        let (mut b, now) = (book(), Instant::now());
        b.add(addr(1), false, now);
        b.add(addr(2), true, now);
        assert_eq!(b.due(now, 1), vec![addr(2)]);
        assert_eq!(b.due(now, 5), vec![addr(1)]);
        assert!(b.due(now, 5).is_empty());
    }

    #[test]
    fn failures_back_off_and_a_trackers_address_is_forgotten() {
        let (mut b, now) = (book(), Instant::now());
        b.add(addr(1), false, now);
        b.add(addr(2), true, now);
        let mut t = now;
        for _ in 0..MAX_FAILURES {
            for a in b.due(t, 5) {
                b.failed(a, t);
            }
            assert!(b.due(t, 5).is_empty(), "waits after a failure");
            t += Duration::from_secs(8);
        }
        assert_eq!(
            b.due(t, 5),
            vec![addr(2)],
            "only the hand-given one is left"
        );
    }

    #[test]
    fn a_banned_address_and_id_stay_banned() {
        let (mut b, now) = (book(), Instant::now());
        let id = PeerId([7; 20]);
        b.add(addr(1), true, now);
        b.ban(addr(1), id);
        b.add(addr(1), true, now);
        assert!(b.due(now, 5).is_empty());
        assert!(b.is_banned(addr(9), &id));
        assert!(b.is_banned(addr(1), &PeerId([0; 20])));
    }

    #[test]
    fn a_closed_connection_is_dialled_again_later() {
        let (mut b, now) = (book(), Instant::now());
        b.add(addr(1), true, now);
        assert_eq!(b.due(now, 5), vec![addr(1)]);
        b.connected(addr(1));
        b.closed(addr(1), now);
        assert!(b.due(now, 5).is_empty());
        assert_eq!(b.due(now + Duration::from_secs(1), 5), vec![addr(1)]);
    }
}
