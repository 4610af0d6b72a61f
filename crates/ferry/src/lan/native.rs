//! ferry's native protocol between two ferry on the LAN
//! (docs/localsend/native-over-lan.md): the sender upgrades one of its
//! pinned, mutually authenticated HTTPS connections to the receiver
//! (`POST /api/ferry/v1/native`, `101 Switching Protocols`), and from then on
//! that TLS connection carries native records keyed by the TLS session itself.
//!
//! The record key is exported from the session (`lan::link`), so it is bound
//! to this handshake and its certificates: no code, no PAKE.

use ferry_proto::localsend::native::{choose, FerryCaps};
use ferry_proto::localsend::sender::refusal;
use ferry_proto::native::record::Aead;

use super::client::Client;
use crate::error::{PeerError, Result};
use crate::native::fastest_aead;
use crate::rendezvous::Cancel;
use crate::transfer::Selection;
use crate::ui::Ui;

/// The cipher to use with this receiver, if it is a ferry offering the native
/// protocol (its `info` says so); any other device, or no answer, is `None`.
pub(super) async fn cipher(client: &Client) -> Option<Aead> {
    // The record key comes from the TLS session: none over plain HTTP.
    if client.is_plain() {
        return None;
    }
    let info = client.info().await.ok()?;
    choose(&FerryCaps::native(fastest_aead()), info.ferry.as_ref())
}

/// Sends `selection` (and whether its paths are loose) over the native
/// protocol: the upgrade (PIN, busy: the LocalSend refusals), then the native
/// sender; `cancel` (Ctrl-C) is told to the receiver.
pub(super) async fn send(
    client: &Client,
    aead: Aead,
    selection: (Selection, bool),
    (pin, cancel): (Option<&str>, &Cancel),
    ui: &mut dyn Ui,
) -> Result<()> {
    let upgrade = client.upgrade_native(aead, pin);
    let link = cancel.guard(upgrade).await?;
    let link = link.map_err(|(status, body)| PeerError::Refused(refusal(status, &body)))?;
    ui.transit(&client.described("ferry native protocol over LocalSend"));
    crate::native::send_over(link, selection, cancel, ui).await
}

/// What the receiver's `Ui::transit` hears: the path is direct, the protocol ours.
pub(super) fn described(peer: std::net::SocketAddr) -> String {
    format!("direct, ferry native protocol over LocalSend HTTPS with {peer}")
}
