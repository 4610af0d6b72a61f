//! Drivers for the v1 machines: mailbox messages through [`mailbox`](super::mailbox),
//! the file over v1 transit records (secretbox, counter nonces) in records of
//! random sizes, the receiver's ack record back, and the file at its final name
//! only once every offered byte arrived and its ack went out.

use rand::rngs::StdRng;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::transfer::v1::{Offer, PeerMessage, V1Event, V1Receiver, V1Sender};
use crate::transit::hints::TransitMessage;
use crate::transit::Role;

use super::link::{Link, ReadError};
use super::mailbox::{pair, End};
use super::pipe::{Faults, Injected, Pipe};
use super::side::{drive, Failure, Io, Outcome, Side};

fn hints() -> TransitMessage {
    TransitMessage {
        abilities: Vec::new(),
        hints: Vec::new(),
    }
}

fn read_record(link: &mut Link, io: &mut Io<'_>) -> Result<Option<Vec<u8>>, Failure> {
    link.recv(io.inp, io.now).map_err(|e| match e {
        ReadError::Record(e) => Failure::Record(e),
        ReadError::Lost => Failure::Lost,
    })
}

struct Sender<'a> {
    machine: V1Sender,
    data: &'a [u8],
    mailbox: End,
    link: Link,
    outcome: Outcome,
}

impl Sender<'_> {
    fn serve(&mut self, io: &mut Io<'_>) -> Result<bool, Failure> {
        let mut moved = false;
        while let Some(m) = self.machine.poll_message() {
            self.mailbox.send(io.now, m, io.rng);
            moved = true;
        }
        while let Some(event) = self.machine.poll_event() {
            moved = true;
            match event {
                V1Event::Connect { size, .. } => self.stream(size, io)?,
                V1Event::Done => self.outcome = Some(Ok(())),
                other => panic!("a sender never asks for {other:?}"),
            }
        }
        Ok(moved)
    }

    /// The offered bytes in records of random sizes, hashed on the way.
    fn stream(&mut self, size: u64, io: &mut Io<'_>) -> Result<(), Failure> {
        assert_eq!(size, self.data.len() as u64);
        let mut rest = self.data;
        while !rest.is_empty() {
            let n = io.rng.gen_range(1..=rest.len().min(20_000));
            let (record, tail) = rest.split_at(n);
            self.link.send(record, io);
            rest = tail;
        }
        let digest = Sha256::digest(self.data).into();
        self.machine.data_sent(digest).map_err(Failure::V1)
    }
}

impl Side for Sender<'_> {
    fn outcome(&mut self) -> &mut Outcome {
        &mut self.outcome
    }

    fn turn(&mut self, io: &mut Io<'_>) -> Result<bool, Failure> {
        let moved = self.serve(io)?;
        let message = self
            .machine
            .wants_message()
            .then(|| self.mailbox.recv(io.now));
        if let Some(m) = message.flatten() {
            self.machine.handle_message(m).map_err(Failure::V1)?;
            return Ok(true);
        }
        if self.machine.wants_record() {
            if let Some(record) = read_record(&mut self.link, io)? {
                self.machine.handle_record(&record).map_err(Failure::V1)?;
                return Ok(true);
            }
        }
        Ok(moved)
    }

    fn tell(&mut self, _: &Failure, _: &mut Io<'_>) {}

    fn expecting(&self) -> bool {
        self.mailbox.expecting()
    }
}

/// What the receiving user does with an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    Accept,
    Decline,
}

struct Receiver {
    machine: V1Receiver,
    answer: Answer,
    mailbox: End,
    link: Link,
    /// The bytes still expected, and the partial file.
    expected: Option<u64>,
    partial: Vec<u8>,
    /// What reached its final name (a file, or the text).
    final_data: Option<Vec<u8>>,
    outcome: Outcome,
}

impl Receiver {
    fn serve(&mut self, io: &mut Io<'_>) -> Result<bool, Failure> {
        let mut moved = self.flush(io);
        while let Some(event) = self.machine.poll_event() {
            moved = true;
            match event {
                V1Event::PrepareTransit => {
                    self.machine.transit_ready(hints()).map_err(Failure::V1)?
                }
                V1Event::Offer(_) if self.answer == Answer::Decline => self.machine.decline(),
                V1Event::Offer(_) => self.machine.accept().map_err(Failure::V1)?,
                V1Event::Text(text) => self.final_data = Some(text.into_bytes()),
                V1Event::Connect { size, .. } => {
                    self.expected = Some(size);
                    self.check_complete()?;
                }
                V1Event::Done => {}
            }
        }
        Ok(self.flush(io) || moved)
    }

    /// Sends what the machine queued; a finished machine's data takes its name
    /// once the ack is out.
    fn flush(&mut self, io: &mut Io<'_>) -> bool {
        let mut moved = false;
        while let Some(m) = self.machine.poll_message() {
            self.mailbox.send(io.now, m, io.rng);
            moved = true;
        }
        while let Some(record) = self.machine.poll_record() {
            self.link.send(&record, io);
            self.final_data = Some(std::mem::take(&mut self.partial));
            moved = true;
        }
        if self.machine.is_done() && self.outcome.is_none() {
            self.outcome = Some(Ok(()));
            io.out.close(io.now, io.rng);
        }
        moved
    }

    fn check_complete(&mut self) -> Result<(), Failure> {
        match self.expected {
            Some(size) if self.partial.len() as u64 > size => {
                Err(Failure::Wire("more data than offered".into()))
            }
            Some(size) if self.partial.len() as u64 == size => {
                self.expected = None;
                let digest = Sha256::digest(&self.partial).into();
                self.machine.data_received(digest).map_err(Failure::V1)
            }
            _ => Ok(()),
        }
    }
}

impl Side for Receiver {
    fn outcome(&mut self) -> &mut Outcome {
        &mut self.outcome
    }

    fn turn(&mut self, io: &mut Io<'_>) -> Result<bool, Failure> {
        let moved = self.serve(io)?;
        let message = self
            .machine
            .wants_message()
            .then(|| self.mailbox.recv(io.now));
        if let Some(m) = message.flatten() {
            self.machine.handle_message(m).map_err(Failure::V1)?;
            return Ok(true);
        }
        if self.expected.is_some() {
            if let Some(record) = read_record(&mut self.link, io)? {
                self.partial.extend_from_slice(&record);
                self.check_complete()?;
                return Ok(true);
            }
        }
        Ok(moved)
    }

    /// The receiver's refusal goes through the mailbox, as ferry's does.
    fn tell(&mut self, f: &Failure, io: &mut Io<'_>) {
        if !matches!(f, Failure::V1(_) | Failure::Lost) {
            let why = PeerMessage::Error("receiver refused: invalid data from the sender".into());
            self.mailbox.send(io.now, why, io.rng);
        }
    }

    fn expecting(&self) -> bool {
        self.mailbox.expecting()
    }
}

/// How a simulated v1 transfer went.
#[derive(Debug)]
pub(super) struct V1Run {
    pub(super) sender: Result<(), Failure>,
    pub(super) receiver: Result<(), Failure>,
    /// What the receiver kept under its final name.
    pub(super) kept: Option<Vec<u8>>,
    /// The mailbox messages the receiver sent.
    pub(super) receiver_sent: Vec<PeerMessage>,
    pub(super) injected: Injected,
}

/// Runs one v1 transfer of `offer` (with `data` for a file).
pub(super) fn run_v1(
    offer: Offer,
    data: &[u8],
    (answer, faults, duplicate): (Answer, Faults, f64),
    rng: &mut StdRng,
) -> V1Run {
    let (a, b) = pair(duplicate);
    let mut sender = Sender {
        machine: V1Sender::new(offer, hints()),
        data,
        mailbox: a,
        link: Link::transit(Role::Sender),
        outcome: None,
    };
    let mut receiver = Receiver {
        machine: V1Receiver::new(),
        answer,
        mailbox: b,
        link: Link::transit(Role::Receiver),
        expected: None,
        partial: Vec::new(),
        final_data: None,
        outcome: None,
    };
    let (mut s2r, mut r2s) = (Pipe::new(faults), Pipe::new(Faults::default()));
    let (sent, received) = drive(&mut sender, &mut receiver, (&mut s2r, &mut r2s), rng);
    let receiver_sent = receiver.mailbox.outbox.borrow().sent.clone();
    V1Run {
        sender: sent,
        receiver: received,
        kept: receiver.final_data,
        receiver_sent,
        injected: s2r.injected,
    }
}
