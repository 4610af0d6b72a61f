//! What every simulated side shares: how a run ends, one turn of I/O, and the
//! loop that runs two sides against each other until both have ended.

use rand::rngs::StdRng;

use crate::native::machine::NativeError;
use crate::transfer::v1::V1Error;
use crate::transit::record::RecordError;

use super::pipe::Pipe;

/// How a side's run ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// A native machine's verdict: the peer's fault, its word, or a refusal.
    Machine(NativeError),
    /// A v1 machine's verdict.
    V1(V1Error),
    /// A record that did not open.
    Record(RecordError),
    /// A record that opened but held no valid frame or message.
    Wire(String),
    /// Data that failed its hash.
    Integrity(String),
    /// The connection ended.
    Lost,
}

pub(super) type Outcome = Option<Result<(), Failure>>;

/// One side's view of the connection for a turn.
pub(super) struct Io<'p> {
    pub(super) now: u64,
    pub(super) inp: &'p mut Pipe,
    pub(super) out: &'p mut Pipe,
    pub(super) rng: &'p mut StdRng,
}

pub(super) trait Side {
    fn outcome(&mut self) -> &mut Outcome;

    /// Sends, serves the machine's requests, reads at most one record.
    /// Whether anything moved.
    fn turn(&mut self, io: &mut Io<'_>) -> Result<bool, Failure>;

    /// Sends the peer our word about `f`, where there is one to send.
    fn tell(&mut self, f: &Failure, io: &mut Io<'_>);

    /// Whether something is still on its way to this side outside the pipes
    /// (the mailbox), so a quiet turn is no stall.
    fn expecting(&self) -> bool {
        false
    }

    /// One turn; a failure is told, the connection closed, the outcome kept.
    fn step(&mut self, io: &mut Io<'_>) -> bool {
        if self.outcome().is_some() {
            return false;
        }
        match self.turn(io) {
            Ok(moved) => moved,
            Err(f) => {
                self.tell(&f, io);
                io.out.close(io.now, io.rng);
                *self.outcome() = Some(Err(f));
                true
            }
        }
    }
}

/// Runs `a` (writing into `ab`) against `b` (writing into `ba`) until both have
/// an outcome. A connection that drops drops both ways; a conversation where
/// nothing moves lets held records through, and fails the test if that does
/// not help (a deadlock between the machines).
pub(super) fn drive(
    a: &mut dyn Side,
    b: &mut dyn Side,
    (ab, ba): (&mut Pipe, &mut Pipe),
    rng: &mut StdRng,
) -> (Result<(), Failure>, Result<(), Failure>) {
    let (mut now, mut still) = (0u64, 0u32);
    while a.outcome().is_none() || b.outcome().is_none() {
        let moved_a = a.step(&mut Io {
            now,
            inp: &mut *ba,
            out: &mut *ab,
            rng: &mut *rng,
        });
        let moved_b = b.step(&mut Io {
            now,
            inp: &mut *ab,
            out: &mut *ba,
            rng: &mut *rng,
        });
        if ab.injected.dropped || ba.injected.dropped {
            ab.close(now, rng);
            ba.close(now, rng);
        }
        now += 1;
        let waiting = a.expecting() || b.expecting();
        let quiet = !moved_a && !moved_b && !waiting && ab.is_idle() && ba.is_idle();
        still = if quiet { still + 1 } else { 0 };
        if still > 4 && !ab.flush(now, rng) && !ba.flush(now, rng) {
            panic!("the simulated transfer stalled at tick {now}");
        }
    }
    let end = |s: &mut dyn Side| s.outcome().take().expect("the loop ends with outcomes");
    (end(a), end(b))
}
