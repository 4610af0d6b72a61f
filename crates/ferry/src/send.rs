//! `send()`: walk what is sent, meet the receiver, then run the protocol both
//! sides speak — native with another ferry, file-transfer v1 with anyone else.
//! Text always goes as v1.

use ferry_proto::transfer::v1::{Offer, PeerMessage};

use crate::error::{Error, Result};
use crate::native;
use crate::rendezvous::{Cancel, CodeChoice, MailboxConfig, Wormhole};
use crate::transfer::{Payload, Selection};
use crate::transit::TransitConfig;
use crate::ui::{Outgoing, Ui};
use crate::v1;

/// Largest mailbox message body, in bytes, that every server takes: `ferry
/// serve` refuses more by default ("message too large"; a WebSocket frame over
/// twice this, in hex, drops the connection). Python's server sets no limit of
/// its own; its WebSocket library's defaults accept this much.
pub const MAILBOX_BODY_LIMIT: usize = 1024 * 1024;

/// The secretbox nonce and tag around every mailbox payload.
const SEALING: usize = 24 + 16;

/// Whether `text` goes as a v1 `message` offer, which travels through the
/// mailbox as one message; longer text must go as a file (over transit).
pub fn text_fits_mailbox(text: &str) -> bool {
    let offer = PeerMessage::Offer(Offer::Message(text.to_owned()));
    offer.encode().len() + SEALING <= MAILBOX_BODY_LIMIT
}

/// Everything a send needs to know.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub mailbox: MailboxConfig,
    pub transit: TransitConfig,
    pub code: CodeChoice,
    /// Force plain file-transfer v1 even when the peer is ferry (no native protocol).
    pub v1: bool,
}

/// Sends `payload` and returns once the receiver confirmed it.
pub async fn send(options: &SendOptions, payload: Payload, ui: &mut dyn Ui) -> Result<()> {
    send_until(options, payload, ui, &Cancel::new()).await
}

/// [`send()`] until the user cancels: then the receiver is told, the code
/// released, and the result is [`Error::Cancelled`].
pub async fn send_until(
    options: &SendOptions,
    payload: Payload,
    ui: &mut dyn Ui,
    cancel: &Cancel,
) -> Result<()> {
    let selection = walk(payload, ui)?;
    ui.sending(&Outgoing::of(&selection));
    let mailbox = native::mailbox_config(&options.mailbox, options.v1);
    // Listener, port mapping and STUN are asked while the receiver comes
    // (text goes through the mailbox alone).
    let transit = &match &selection {
        Selection::Text(_) => options.transit.clone(),
        _ => options.transit.warm_up(),
    };
    let code = options.code.clone();
    let mut wormhole = Wormhole::connect_until(&mailbox, code, ui, cancel).await?;
    ui.connected(&wormhole.verifier());
    let w = &mut wormhole;
    let result = cancel
        .guard(async {
            match (&selection, native::negotiated(&mailbox, w)) {
                (Selection::Text(text), _) => v1::send_text(w, text).await,
                (_, Some(agreed)) => native::send(w, transit, selection, agreed, ui).await,
                (_, None) => v1::send(w, transit, &selection, ui).await,
            }
        })
        .await;
    wormhole.finish(result).await
}

/// The payload walked once, after warning about what will be left out.
fn walk(payload: Payload, ui: &mut dyn Ui) -> Result<Selection> {
    let selection = Selection::walk(payload).map_err(|e| Error::io("cannot send", e))?;
    if let Selection::Directory(dir) = &selection {
        for skipped in &dir.skipped {
            let (path, reason) = (skipped.path.display(), &skipped.reason);
            ui.warn(&format!("not sending {path}: {reason}"));
        }
    }
    Ok(selection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_the_encoded_offer() {
        assert!(text_fits_mailbox("hello"));
        assert!(text_fits_mailbox(&"a".repeat(MAILBOX_BODY_LIMIT - 100)));
        assert!(!text_fits_mailbox(&"a".repeat(MAILBOX_BODY_LIMIT)));
        // JSON escapes a control character as six bytes.
        assert!(!text_fits_mailbox(&"\u{1}".repeat(MAILBOX_BODY_LIMIT / 5)));
    }
}
