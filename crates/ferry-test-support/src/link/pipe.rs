//! One direction of an emulated link, sans-IO: packets go in with the time they
//! arrived and come out with the time they are due at the far end.
//!
//! The model, in order: a cut link drops everything (and carries nothing); a
//! packet that would push the queue past its bound is dropped at the tail; the
//! rest wait for the line, which serializes them one after another at the rate;
//! a serialized packet is lost at random (it used the line, as a bit error
//! would); the survivors arrive one fixed delay after their last bit left.
//! Departures are in order and the delay is fixed, so deliveries are in order.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a link does to one direction's packets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    /// Line rate in bits per second; 0 means no limit (and no queue).
    pub rate_bps: u64,
    /// One-way delay added after serialization.
    pub delay: Duration,
    /// Chance that a serialized packet is lost, in [0, 1].
    pub loss: f64,
    /// Most bytes waiting for the line (drop-tail beyond).
    pub queue_bytes: u64,
}

impl Shape {
    /// A link of `rate_bps` and round trip `rtt` (half of it each way), with a
    /// queue of one bandwidth-delay product (at least 64 KiB) and `loss`.
    pub fn for_rtt(rate_bps: u64, rtt: Duration, loss: f64) -> Shape {
        let bdp = (rate_bps as u128 * rtt.as_nanos() / 8 / 1_000_000_000) as u64;
        Shape {
            rate_bps,
            delay: rtt / 2,
            loss,
            queue_bytes: bdp.max(64 * 1024),
        }
    }
}

/// What became of a packet given to [`Pipe::push`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It will be due at the far end at this time.
    Due(Duration),
    /// The queue was full.
    Overflow,
    /// Lost on the line (random loss).
    Lost,
    /// The link is cut.
    Cut,
}

/// Counts of what the pipe did, for the emulator's report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub delivered: u64,
    pub overflow: u64,
    pub lost: u64,
    pub cut: u64,
}

/// One direction: the line's state and the packets in flight.
pub struct Pipe<P> {
    shape: Shape,
    /// When the line finishes the last packet it accepted.
    busy_until: Duration,
    /// Until when the link is cut.
    cut_until: Duration,
    flight: VecDeque<(Duration, P)>,
    rng: StdRng,
    counts: Counts,
}

impl<P> Pipe<P> {
    /// A pipe whose random losses follow `seed`.
    pub fn new(shape: Shape, seed: u64) -> Pipe<P> {
        Pipe {
            shape,
            busy_until: Duration::ZERO,
            cut_until: Duration::ZERO,
            flight: VecDeque::new(),
            rng: StdRng::seed_from_u64(seed),
            counts: Counts::default(),
        }
    }

    /// Drops everything that arrives before `until` (a pulled cable).
    pub fn cut_until(&mut self, until: Duration) {
        self.cut_until = until;
    }

    /// A packet of `len` bytes arrives at `now` (never earlier than the last one).
    pub fn push(&mut self, now: Duration, len: usize, packet: P) -> Fate {
        let fate = self.fate(now, len);
        match fate {
            Fate::Due(at) => {
                self.flight.push_back((at, packet));
                self.counts.delivered += 1;
            }
            Fate::Overflow => self.counts.overflow += 1,
            Fate::Lost => self.counts.lost += 1,
            Fate::Cut => self.counts.cut += 1,
        }
        fate
    }

    fn fate(&mut self, now: Duration, len: usize) -> Fate {
        if now < self.cut_until {
            return Fate::Cut;
        }
        let start = self.busy_until.max(now);
        if self.shape.rate_bps > 0 {
            let waiting = bytes_in(start - now, self.shape.rate_bps);
            if waiting + len as u64 > self.shape.queue_bytes {
                return Fate::Overflow;
            }
        }
        let done = start + serialization(len, self.shape.rate_bps);
        self.busy_until = done;
        if self.shape.loss > 0.0 && self.rng.gen::<f64>() < self.shape.loss {
            return Fate::Lost;
        }
        Fate::Due(done + self.shape.delay)
    }

    /// The next packet due at or before `now`.
    pub fn poll_due(&mut self, now: Duration) -> Option<P> {
        match self.flight.front() {
            Some((at, _)) if *at <= now => self.flight.pop_front().map(|(_, p)| p),
            _ => None,
        }
    }

    /// When the next packet in flight is due.
    pub fn next_due(&self) -> Option<Duration> {
        self.flight.front().map(|(at, _)| *at)
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }
}

/// How long `len` bytes take on a line of `rate_bps` (0: no time).
fn serialization(len: usize, rate_bps: u64) -> Duration {
    if rate_bps == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((len as u128 * 8 * 1_000_000_000 / rate_bps as u128) as u64)
}

/// Bytes a line of `rate_bps` carries in `time`.
fn bytes_in(time: Duration, rate_bps: u64) -> u64 {
    (time.as_nanos() * rate_bps as u128 / 8 / 1_000_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn shape(rate_bps: u64, delay: Duration, loss: f64, queue_bytes: u64) -> Shape {
        Shape {
            rate_bps,
            delay,
            loss,
            queue_bytes,
        }
    }

    #[test]
    fn packets_arrive_after_serialization_plus_delay_in_order() {
        // 8 Mbit/s: 1000 bytes take 1 ms on the line.
        let mut pipe = Pipe::new(shape(8_000_000, 10 * MS, 0.0, 1 << 20), 1);
        assert_eq!(pipe.push(Duration::ZERO, 1000, 'a'), Fate::Due(11 * MS));
        // Arrives while the line is busy: waits for 'a' to finish.
        assert_eq!(pipe.push(MS / 2, 1000, 'b'), Fate::Due(12 * MS));
        // Arrives after the line went idle: starts at once.
        assert_eq!(pipe.push(5 * MS, 1000, 'c'), Fate::Due(16 * MS));
        assert_eq!(pipe.next_due(), Some(11 * MS));
        assert_eq!(pipe.poll_due(10 * MS), None);
        assert_eq!(pipe.poll_due(12 * MS), Some('a'));
        assert_eq!(pipe.poll_due(12 * MS), Some('b'));
        assert_eq!(pipe.poll_due(12 * MS), None);
        assert_eq!(pipe.poll_due(16 * MS), Some('c'));
        assert_eq!(pipe.next_due(), None);
    }

    #[test]
    fn a_full_queue_drops_the_tail_and_drains_at_the_rate() {
        // 8 Mbit/s, room for 3000 bytes waiting.
        let mut pipe = Pipe::new(shape(8_000_000, Duration::ZERO, 0.0, 3000), 1);
        let fates: Vec<Fate> = (0..5)
            .map(|_| pipe.push(Duration::ZERO, 1000, ()))
            .collect();
        assert_eq!(
            fates,
            [
                Fate::Due(MS),
                Fate::Due(2 * MS),
                Fate::Due(3 * MS),
                Fate::Overflow,
                Fate::Overflow
            ]
        );
        // One packet's time later there is room for one more, behind the others.
        assert_eq!(pipe.push(MS, 1000, ()), Fate::Due(4 * MS));
        assert_eq!(pipe.push(MS, 1000, ()), Fate::Overflow);
        assert_eq!(pipe.counts().overflow, 3);
    }

    #[test]
    fn the_rate_holds_over_a_long_run() {
        // 100 Mbit/s fed 1500-byte packets faster than it drains, for 1 s.
        let mut pipe = Pipe::new(Shape::for_rtt(100_000_000, 80 * MS, 0.0), 1);
        let mut delivered = 0u64;
        let mut last = Duration::ZERO;
        for i in 0..20_000u64 {
            let now = Duration::from_micros(i * 50);
            if let Fate::Due(at) = pipe.push(now, 1500, ()) {
                delivered += 1500;
                last = at;
            }
        }
        let secs = (last - 40 * MS).as_secs_f64();
        let rate = delivered as f64 * 8.0 / secs;
        assert!((rate - 100e6).abs() < 1e6, "rate {rate}");
    }

    #[test]
    fn losses_follow_the_rate_and_the_seed() {
        let run = |seed| {
            let mut pipe = Pipe::new(shape(0, MS, 0.01, 0), seed);
            (0..100_000)
                .map(|i| pipe.push(Duration::from_micros(i), 1500, ()))
                .filter(|f| *f == Fate::Lost)
                .count()
        };
        let lost = run(7);
        assert!((800..1200).contains(&lost), "lost {lost} of 100000");
        assert_eq!(run(7), lost);
    }

    #[test]
    fn a_cut_link_drops_everything_then_recovers() {
        let mut pipe = Pipe::new(shape(0, 5 * MS, 0.0, 0), 1);
        pipe.cut_until(100 * MS);
        assert_eq!(pipe.push(10 * MS, 100, ()), Fate::Cut);
        assert_eq!(pipe.push(99 * MS, 100, ()), Fate::Cut);
        assert_eq!(pipe.push(100 * MS, 100, ()), Fate::Due(105 * MS));
        assert_eq!(pipe.counts().cut, 2);
        assert_eq!(pipe.counts().delivered, 1);
    }

    #[test]
    fn shape_for_rtt_queues_one_bdp() {
        let s = Shape::for_rtt(100_000_000, 80 * MS, 0.005);
        assert_eq!(s.delay, 40 * MS);
        assert_eq!(s.queue_bytes, 1_000_000);
        assert_eq!(Shape::for_rtt(1_000_000, MS, 0.0).queue_bytes, 64 * 1024);
    }
}
