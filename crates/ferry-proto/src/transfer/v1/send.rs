//! [`V1Sender`]: file-transfer v1 from the sending side. Text: the offer, then
//! `message_ack`. A file or directory: our transit hints and the offer; the
//! receiver's hints (which may come first, or not at all) and `file_ack`; then
//! the driver streams the bytes over transit and the receiver's last record,
//! the ack with the SHA-256 of what arrived, must name exactly what was sent.

use std::collections::VecDeque;

use crate::transit::hints::TransitMessage;

use super::{Answer, Offer, PeerMessage, TransitAck, V1Error, V1Event};

enum State {
    AwaitAnswer,
    /// The driver connects and streams; then `data_sent`.
    Streaming,
    AwaitAck([u8; 32]),
    Done,
    Failed,
}

/// The sending side of a v1 transfer. Driven like the native machines: mailbox
/// messages in with `handle_message`, the transit ack with `handle_record`;
/// `poll_message` and `poll_event` out.
pub struct V1Sender {
    offer: Offer,
    peer_hints: Option<TransitMessage>,
    state: State,
    messages: VecDeque<PeerMessage>,
    events: VecDeque<V1Event>,
}

impl V1Sender {
    /// Starts with `offer`; `hints` are ours (not sent for text, which needs no
    /// transit).
    pub fn new(offer: Offer, hints: TransitMessage) -> Self {
        let mut messages = VecDeque::new();
        if !matches!(offer, Offer::Message(_)) {
            messages.push_back(PeerMessage::Transit(hints));
        }
        messages.push_back(PeerMessage::Offer(offer.clone()));
        V1Sender {
            offer,
            peer_hints: None,
            state: State::AwaitAnswer,
            messages,
            events: VecDeque::new(),
        }
    }

    /// The next mailbox message to send.
    pub fn poll_message(&mut self) -> Option<PeerMessage> {
        self.messages.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<V1Event> {
        self.events.pop_front()
    }

    /// Whether the driver should read the mailbox now.
    pub fn wants_message(&self) -> bool {
        matches!(self.state, State::AwaitAnswer)
    }

    /// Whether the driver should read a transit record now (the final ack).
    pub fn wants_record(&self) -> bool {
        matches!(self.state, State::AwaitAck(_))
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done | State::Failed)
    }

    /// A message from the receiver. An error ends the transfer.
    pub fn handle_message(&mut self, message: PeerMessage) -> Result<(), V1Error> {
        let result = self.on_message(message);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn on_message(&mut self, message: PeerMessage) -> Result<(), V1Error> {
        if !matches!(self.state, State::AwaitAnswer) {
            return Err(V1Error::Usage(
                "a mailbox message while not waiting for one",
            ));
        }
        let text = matches!(self.offer, Offer::Message(_));
        match message {
            // Some receivers send hints unprompted, or before their answer.
            PeerMessage::Transit(t) => self.peer_hints = Some(t),
            PeerMessage::Answer(Answer::MessageAck(ack)) if text && ack == "ok" => {
                self.finish();
            }
            PeerMessage::Answer(Answer::FileAck(ack)) if !text && ack == "ok" => {
                let peer = self.peer_hints.take().unwrap_or_else(no_hints);
                self.events.push_back(V1Event::Connect {
                    peer,
                    size: offered_size(&self.offer),
                });
                self.state = State::Streaming;
            }
            PeerMessage::Answer(_) => return Err(V1Error::Protocol(wrong_answer(text))),
            PeerMessage::Error(e) => return Err(V1Error::from_peer(e)),
            PeerMessage::Offer(_) => {
                return Err(V1Error::Protocol("an offer from the receiver".into()))
            }
        }
        Ok(())
    }

    fn finish(&mut self) {
        self.state = State::Done;
        self.events.push_back(V1Event::Done);
    }

    /// Every offered byte went out over transit; `digest` is their SHA-256.
    pub fn data_sent(&mut self, digest: [u8; 32]) -> Result<(), V1Error> {
        match self.state {
            State::Streaming => {
                self.state = State::AwaitAck(digest);
                Ok(())
            }
            _ => Err(V1Error::Usage("data sent before file_ack")),
        }
    }

    /// The receiver's final transit record.
    pub fn handle_record(&mut self, plaintext: &[u8]) -> Result<(), V1Error> {
        let State::AwaitAck(digest) = self.state else {
            return Err(V1Error::Usage("a record while not waiting for the ack"));
        };
        self.state = State::Failed;
        let ack: TransitAck = serde_json::from_slice(plaintext)
            .map_err(|e| V1Error::Protocol(format!("ack: {e}")))?;
        if !ack.confirms(&digest) {
            let why = "the receiver's SHA-256 does not match what was sent";
            return Err(V1Error::Integrity(why.into()));
        }
        self.finish();
        Ok(())
    }
}

/// Bytes that cross transit for an offer (none for text).
pub(super) fn offered_size(offer: &Offer) -> u64 {
    match offer {
        Offer::Message(_) => 0,
        Offer::File { filesize, .. } => *filesize,
        Offer::Directory(d) => d.zipsize,
    }
}

pub(super) fn no_hints() -> TransitMessage {
    TransitMessage {
        abilities: Vec::new(),
        hints: Vec::new(),
    }
}

fn wrong_answer(text: bool) -> String {
    match text {
        true => "unexpected answer to a text offer".into(),
        false => "unexpected answer to a file offer".into(),
    }
}
