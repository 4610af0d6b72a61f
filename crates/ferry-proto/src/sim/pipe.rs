//! One direction of a simulated connection. Records go in whole (the writer
//! knows their bounds, so faults can hit whole records); bytes come out in
//! whatever pieces the RNG picks, after a delay, in order, as TCP would.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::Rng;

/// What may happen to a record on its way, each with its probability (0..1).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Faults {
    pub(super) duplicate: f64,
    pub(super) reorder: f64,
    pub(super) truncate: f64,
    pub(super) corrupt: f64,
    /// The connection drops before this record (counted per pipe from 0).
    pub(super) drop_before: Option<u64>,
}

/// Which destructive faults actually happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Injected {
    pub(super) damaged: bool,
    pub(super) dropped: bool,
}

pub(super) struct Pipe {
    faults: Faults,
    /// Chunks with the tick they may be read at.
    in_flight: VecDeque<(u64, Vec<u8>)>,
    /// A record held back to go after the next one.
    held: Option<Vec<u8>>,
    records: u64,
    closed: bool,
    pub(super) injected: Injected,
}

impl Pipe {
    pub(super) fn new(faults: Faults) -> Self {
        Pipe {
            faults,
            in_flight: VecDeque::new(),
            held: None,
            records: 0,
            closed: false,
            injected: Injected::default(),
        }
    }

    /// Writes one whole record at tick `now`.
    pub(super) fn send(&mut self, now: u64, record: Vec<u8>, rng: &mut StdRng) {
        if self.closed {
            return;
        }
        if self.faults.drop_before == Some(self.records) {
            self.injected.dropped = true;
            return self.close(now, rng);
        }
        self.records += 1;
        let f = self.faults;
        if rng.gen_bool(f.corrupt) && !record.is_empty() {
            let mut bad = record;
            let at = rng.gen_range(0..bad.len());
            bad[at] ^= 1 << rng.gen_range(0..8);
            return self.damaged(now, bad, rng);
        }
        if rng.gen_bool(f.truncate) && record.len() > 1 {
            let cut = rng.gen_range(1..record.len());
            self.damaged(now, record[..cut].to_vec(), rng);
            self.injected.dropped = true;
            return self.close(now, rng);
        }
        if rng.gen_bool(f.duplicate) {
            self.damaged(now, record.clone(), rng);
        }
        if rng.gen_bool(f.reorder) && self.held.is_none() {
            self.injected.damaged = true;
            self.held = Some(record);
            return;
        }
        self.write(now, record, rng);
        if let Some(held) = self.held.take() {
            self.write(now, held, rng);
        }
    }

    fn damaged(&mut self, now: u64, bytes: Vec<u8>, rng: &mut StdRng) {
        self.injected.damaged = true;
        self.write(now, bytes, rng);
    }

    /// Cuts `bytes` into pieces, each due a few ticks from now (never before
    /// the piece ahead of it).
    fn write(&mut self, now: u64, mut bytes: Vec<u8>, rng: &mut StdRng) {
        while !bytes.is_empty() {
            let n = match rng.gen_bool(0.5) {
                true => bytes.len(),
                false => rng.gen_range(1..=bytes.len()),
            };
            let rest = bytes.split_off(n);
            let last = self.in_flight.back().map_or(0, |(t, _)| *t);
            let due = (now + rng.gen_range(0..4)).max(last);
            self.in_flight.push_back((due, bytes));
            bytes = rest;
        }
    }

    /// Everything due by `now`, coalesced.
    pub(super) fn recv(&mut self, now: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while self.in_flight.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, chunk)) = self.in_flight.pop_front() {
                out.extend_from_slice(&chunk);
            }
        }
        out
    }

    /// The writer closes (or the connection dropped): a held record still goes.
    pub(super) fn close(&mut self, now: u64, rng: &mut StdRng) {
        if let Some(held) = self.held.take() {
            self.write(now, held, rng);
        }
        self.closed = true;
    }

    /// A stalled conversation lets a held record through (TCP would, in time).
    pub(super) fn flush(&mut self, now: u64, rng: &mut StdRng) -> bool {
        match self.held.take() {
            Some(held) => {
                self.write(now, held, rng);
                true
            }
            None => false,
        }
    }

    /// The reader sees the end: closed and nothing left in flight.
    pub(super) fn at_eof(&self) -> bool {
        self.closed && self.in_flight.is_empty()
    }

    pub(super) fn is_idle(&self) -> bool {
        self.in_flight.is_empty()
    }
}
