//! [`V1Receiver`]: file-transfer v1 from the receiving side. Our transit hints go
//! out at most once (the Go sender fails on two): in answer to the sender's, or
//! before our `file_ack` if the sender sent none. A text offer is answered with
//! `message_ack`; a file or directory offer goes to the driver (name, space,
//! the user), then `file_ack` or an error (`transfer rejected` when the user
//! said no), the bytes over transit, and our ack record with their SHA-256.

use std::collections::VecDeque;

use crate::transit::hints::TransitMessage;

use super::send::{no_hints, offered_size};
use super::{Answer, Offer, PeerMessage, TransitAck, V1Error, V1Event, TRANSFER_REJECTED};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hints {
    /// Not asked for yet.
    None,
    /// [`V1Event::PrepareTransit`] is out; `transit_ready` answers it.
    Asked,
    Sent,
}

enum State {
    AwaitOffer,
    /// The driver decides on this offer.
    Deciding(Offer),
    /// Accepted; `file_ack` waits for our hints.
    Accepted(Offer),
    /// The driver connects and receives; then `data_received`.
    Receiving,
    Done,
    Failed,
}

/// The receiving side of a v1 transfer.
pub struct V1Receiver {
    hints: Hints,
    peer_hints: Option<TransitMessage>,
    state: State,
    messages: VecDeque<PeerMessage>,
    records: VecDeque<Vec<u8>>,
    events: VecDeque<V1Event>,
}

impl Default for V1Receiver {
    fn default() -> Self {
        Self::new()
    }
}

impl V1Receiver {
    pub fn new() -> Self {
        V1Receiver {
            hints: Hints::None,
            peer_hints: None,
            state: State::AwaitOffer,
            messages: VecDeque::new(),
            records: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn poll_message(&mut self) -> Option<PeerMessage> {
        self.messages.pop_front()
    }

    /// The next transit record to send (our final ack).
    pub fn poll_record(&mut self) -> Option<Vec<u8>> {
        self.records.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<V1Event> {
        self.events.pop_front()
    }

    pub fn wants_message(&self) -> bool {
        matches!(self.state, State::AwaitOffer)
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done | State::Failed)
    }

    /// A message from the sender. An error ends the transfer.
    pub fn handle_message(&mut self, message: PeerMessage) -> Result<(), V1Error> {
        let result = self.on_message(message);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn on_message(&mut self, message: PeerMessage) -> Result<(), V1Error> {
        if !matches!(self.state, State::AwaitOffer) {
            return Err(V1Error::Usage(
                "a mailbox message while not waiting for one",
            ));
        }
        match message {
            PeerMessage::Transit(t) => {
                self.peer_hints = Some(t);
                self.ask_hints();
            }
            PeerMessage::Offer(Offer::Message(text)) => {
                let ack = PeerMessage::Answer(Answer::MessageAck("ok".into()));
                self.messages.push_back(ack);
                self.events.push_back(V1Event::Text(text));
                self.state = State::Done;
            }
            PeerMessage::Offer(offer) => {
                self.events.push_back(V1Event::Offer(offer.clone()));
                self.state = State::Deciding(offer);
            }
            PeerMessage::Error(e) => return Err(V1Error::from_peer(e)),
            PeerMessage::Answer(_) => {
                return Err(V1Error::Protocol("an answer from the sender".into()))
            }
        }
        Ok(())
    }

    /// Asks the driver for our hints, once.
    fn ask_hints(&mut self) {
        if self.hints == Hints::None {
            self.hints = Hints::Asked;
            self.events.push_back(V1Event::PrepareTransit);
        }
    }

    /// Our hints, as [`V1Event::PrepareTransit`] asked: they go out now.
    pub fn transit_ready(&mut self, ours: TransitMessage) -> Result<(), V1Error> {
        if self.hints != Hints::Asked {
            return Err(V1Error::Usage("hints nobody asked for"));
        }
        self.hints = Hints::Sent;
        self.messages.push_back(PeerMessage::Transit(ours));
        self.answer_if_ready();
        Ok(())
    }

    /// The driver accepts the offer (name safe, room on disk, the user agreed).
    pub fn accept(&mut self) -> Result<(), V1Error> {
        let State::Deciding(offer) = std::mem::replace(&mut self.state, State::Failed) else {
            return Err(V1Error::Usage("accept while no offer waits"));
        };
        self.state = State::Accepted(offer);
        self.ask_hints();
        self.answer_if_ready();
        Ok(())
    }

    /// `file_ack` once the offer is accepted and our hints are out; then the
    /// driver connects.
    fn answer_if_ready(&mut self) {
        if self.hints != Hints::Sent || !matches!(self.state, State::Accepted(_)) {
            return;
        }
        let State::Accepted(offer) = std::mem::replace(&mut self.state, State::Receiving) else {
            return;
        };
        let ack = PeerMessage::Answer(Answer::FileAck("ok".into()));
        self.messages.push_back(ack);
        let peer = self.peer_hints.take().unwrap_or_else(no_hints);
        let size = offered_size(&offer);
        self.events.push_back(V1Event::Connect { peer, size });
    }

    /// The driver refuses the offer; `reason` goes to the sender.
    pub fn reject(&mut self, reason: String) {
        self.messages.push_back(PeerMessage::Error(reason));
        self.state = State::Failed;
    }

    /// The user said no.
    pub fn decline(&mut self) {
        self.reject(TRANSFER_REJECTED.to_owned());
    }

    /// Every offered byte arrived; `digest` is their SHA-256: the ack record goes
    /// out, and the driver may move the data into place once it is sent.
    pub fn data_received(&mut self, digest: [u8; 32]) -> Result<(), V1Error> {
        if !matches!(self.state, State::Receiving) {
            return Err(V1Error::Usage("data before file_ack"));
        }
        let ack = serde_json::to_vec(&TransitAck::ok(&digest)).unwrap_or_default();
        self.records.push_back(ack);
        self.state = State::Done;
        self.events.push_back(V1Event::Done);
        Ok(())
    }
}
