//! From a confirmed wormhole to a native transit connection: exchange hints
//! through the mailbox (sender first), then race candidates with the native key.

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::negotiate::{self, MailboxMessage};
use ferry_proto::transit::hints::TransitMessage;
use ferry_proto::transit::Role;

use crate::error::{Error, Result};
use crate::rendezvous::Wormhole;
use crate::transit::{TransitConfig, TransitPrep};
use crate::ui::Ui;

use super::link::Link;
use super::Agreed;

/// Sends our hints and waits for the peer's; the sender speaks first, so the
/// receiver can still recognise a text offer, which always travels as v1.
/// QUIC candidates go in only when both listed the `quic` feature.
pub(super) async fn send_hints(
    wormhole: &mut Wormhole,
    (config, agreed): (&TransitConfig, Agreed),
) -> Result<TransitPrep> {
    let prep = TransitPrep::with_quic(config, agreed.features.quic).await?;
    let hints = MailboxMessage::NativeTransit(prep.message().clone());
    wormhole.send(hints.encode()).await?;
    Ok(prep)
}

/// The peer's next mailbox message, which must be its hints.
pub(super) async fn peer_hints(wormhole: &mut Wormhole) -> Result<TransitMessage> {
    let bytes = wormhole.receive().await?;
    decode(&bytes)
}

pub(super) fn decode(bytes: &[u8]) -> Result<TransitMessage> {
    match MailboxMessage::decode(bytes) {
        Ok(MailboxMessage::NativeTransit(t)) => Ok(t),
        Ok(MailboxMessage::Error(e)) => Err(Error::from_peer(e)),
        Ok(other) => Err(Error::protocol(format!(
            "expected native transit hints, got {other:?}"
        ))),
        Err(e) => Err(Error::protocol(format!(
            "expected native transit hints: {e}"
        ))),
    }
}

/// The native transit key of this wormhole.
pub(super) fn native_key(wormhole: &Wormhole) -> Result<TransitKey> {
    Ok(negotiate::transit_key(
        wormhole.key().ok_or(Error::SERVER_LOST)?,
    ))
}

/// Races the candidates and returns the native link, its records sealed as agreed.
pub(super) async fn connect(
    prep: TransitPrep,
    (role, agreed): (Role, Agreed),
    (key, peer): (&TransitKey, &TransitMessage),
    ui: &mut dyn Ui,
) -> Result<Link> {
    let timing = prep.timing().clone();
    let stream = prep.connect(role, key, peer).await?;
    ui.transit(stream.description());
    let mut link = Link::new(stream, key, agreed.aead, role, &timing);
    if agreed.features.keepalive {
        link.keep_alive(&timing);
    }
    Ok(link)
}
