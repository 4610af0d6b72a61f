//! v1 peer messages through the mailbox: decoding, the peer's errors, text.

use ferry_proto::transfer::v1::{Answer, Offer, PeerMessage, V1Error, TRANSFER_REJECTED};

use crate::error::{Error, PeerError, Result};
use crate::rendezvous::Wormhole;

/// The peer's next message.
pub(super) async fn next_message(wormhole: &mut Wormhole) -> Result<PeerMessage> {
    let bytes = wormhole.receive().await?;
    PeerMessage::decode(&bytes).map_err(|e| Error::protocol(format!("undecodable message: {e}")))
}

/// Resolves when the peer reports an error through the mailbox (a cancel, say)
/// while we wait on something else; anything else from there is not for now.
pub(super) async fn peer_gave_up(wormhole: &mut Wormhole) -> Error {
    loop {
        match next_message(wormhole).await {
            Ok(PeerMessage::Error(text)) => return Error::from_peer(text),
            Ok(_) => continue,
            Err(_) => std::future::pending().await,
        }
    }
}

/// A machine's verdict as our error, by whose fault it is.
pub(super) fn v1_error(e: V1Error) -> Error {
    match e {
        V1Error::Protocol(why) => Error::protocol(why),
        V1Error::Peer(text) => Error::from_peer(text),
        V1Error::Declined => Error::Declined,
        V1Error::Integrity(why) => PeerError::Integrity(why).into(),
        V1Error::Usage(why) => Error::internal(why),
        other => Error::internal(other.to_string()),
    }
}

/// The text of a v1 text offer, if `bytes` is one (a native sender sends text so).
pub(crate) fn text_offer(bytes: &[u8]) -> Option<String> {
    match PeerMessage::decode(bytes) {
        Ok(PeerMessage::Offer(Offer::Message(text))) => Some(text),
        _ => None,
    }
}

/// Confirms a text message.
pub(crate) async fn ack_text(wormhole: &mut Wormhole) -> Result<()> {
    let ack = PeerMessage::Answer(Answer::MessageAck("ok".into()));
    wormhole.send(ack.encode()).await
}

/// Tells the sender why we stop (best effort): the reason, never our local paths.
pub(crate) async fn refuse(wormhole: &mut Wormhole, e: &Error) {
    let _ = wormhole.send(PeerMessage::Error(refusal(e)).encode()).await;
}

fn refusal(e: &Error) -> String {
    match e {
        Error::Declined => TRANSFER_REJECTED.to_owned(),
        other => format!("receiver refused: {}", other.reason_for_peer()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_never_reveal_local_paths() {
        let exists = Error::exists("/home/alice/secret/report.pdf");
        assert_eq!(
            refusal(&exists),
            "receiver refused: a file or directory with that name already exists"
        );
        let io = Error::io("writing /home/alice/x", std::io::ErrorKind::Other.into());
        assert!(!refusal(&io).contains("alice"));
        assert_eq!(refusal(&Error::Declined), TRANSFER_REJECTED);
    }
}
