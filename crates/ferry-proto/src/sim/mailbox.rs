//! The mailbox between two v1 sides: messages arrive in the order each side
//! sent them (the server keeps phases in order), after delays the RNG picks, so
//! the two directions interleave in any way; a message may come twice (a client
//! re-sends after reconnecting; the session drops such duplicates by phase, the
//! machines must not care either way).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use rand::rngs::StdRng;
use rand::Rng;

use crate::transfer::v1::PeerMessage;

#[derive(Default)]
pub(super) struct Queue {
    in_flight: VecDeque<(u64, PeerMessage)>,
    pub(super) duplicate: f64,
    /// Every message put in, duplicates not counted.
    pub(super) sent: Vec<PeerMessage>,
}

impl Queue {
    pub(super) fn send(&mut self, now: u64, message: PeerMessage, rng: &mut StdRng) {
        self.sent.push(message.clone());
        let copies = if rng.gen_bool(self.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let last = self.in_flight.back().map_or(0, |(t, _)| *t);
            let due = (now + rng.gen_range(0..8)).max(last);
            self.in_flight.push_back((due, message.clone()));
        }
    }

    pub(super) fn recv(&mut self, now: u64) -> Option<PeerMessage> {
        match self.in_flight.front() {
            Some((due, _)) if *due <= now => self.in_flight.pop_front().map(|(_, m)| m),
            _ => None,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }
}

/// One side's end: what it reads, where it writes.
pub(super) struct End {
    pub(super) inbox: Rc<RefCell<Queue>>,
    pub(super) outbox: Rc<RefCell<Queue>>,
}

impl End {
    /// The next message due by `now`.
    pub(super) fn recv(&self, now: u64) -> Option<PeerMessage> {
        self.inbox.borrow_mut().recv(now)
    }

    pub(super) fn send(&self, now: u64, message: PeerMessage, rng: &mut StdRng) {
        self.outbox.borrow_mut().send(now, message, rng);
    }

    /// Whether messages are still on their way to this end.
    pub(super) fn expecting(&self) -> bool {
        !self.inbox.borrow().is_empty()
    }
}

/// Two connected ends, duplicating messages with probability `duplicate`.
pub(super) fn pair(duplicate: f64) -> (End, End) {
    let queue = || {
        Rc::new(RefCell::new(Queue {
            duplicate,
            ..Queue::default()
        }))
    };
    let (ab, ba) = (queue(), queue());
    let a = End {
        inbox: Rc::clone(&ba),
        outbox: Rc::clone(&ab),
    };
    (
        a,
        End {
            inbox: ab,
            outbox: ba,
        },
    )
}
