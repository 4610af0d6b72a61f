//! `receive()`: meet the sender, then run the protocol both sides speak. A
//! native sender still sends text as a v1 offer, so the first message decides.

use std::path::{Path, PathBuf};

use ferry_proto::code::Code;

use crate::error::{Error, Result};
use crate::native;
use crate::rendezvous::{Cancel, CodeChoice, MailboxConfig, Wormhole};
use crate::transfer::{landing, Received};
use crate::transit::TransitConfig;
use crate::ui::Ui;
use crate::v1;

/// Everything a receive needs to know.
#[derive(Debug, Clone)]
pub struct ReceiveOptions {
    pub mailbox: MailboxConfig,
    pub transit: TransitConfig,
    pub code: Code,
    /// Where files and directories land (created if missing, once an offer is
    /// accepted).
    pub output_dir: PathBuf,
    /// Force plain file-transfer v1 even when the peer is ferry (no native protocol).
    pub v1: bool,
}

/// Receives whatever the sender offers. The output directory is checked
/// before the code is used; it is created only once an offer is accepted.
pub async fn receive(options: &ReceiveOptions, ui: &mut dyn Ui) -> Result<Received> {
    receive_until(options, ui, &Cancel::new()).await
}

/// [`receive()`] until the user cancels: then the sender is told, the code
/// released, and the result is [`Error::Cancelled`].
pub async fn receive_until(
    options: &ReceiveOptions,
    ui: &mut dyn Ui,
    cancel: &Cancel,
) -> Result<Received> {
    landing::check_output_dir(&options.output_dir)?;
    // Dropped on every way out, Ctrl-C included: removes what stayed empty.
    let _missing = landing::MissingDirs::of(&options.output_dir);
    let choice = CodeChoice::Given(options.code.clone());
    let mailbox = native::mailbox_config(&options.mailbox, options.v1);
    let mut wormhole = Wormhole::connect_until(&mailbox, choice, ui, cancel).await?;
    ui.connected(&wormhole.verifier());
    let w = &mut wormhole;
    let result = cancel
        .guard(async {
            match native::negotiated(&mailbox, w) {
                Some(agreed) => receive_native(w, options, agreed, ui).await,
                None => v1::receive(w, to(options), ui).await,
            }
        })
        .await;
    match &result {
        Err(Error::Cancelled) => {} // said by `finish`, in the words for it
        Err(e) => v1::refuse(&mut wormhole, e).await,
        Ok(_) => {}
    }
    wormhole.finish(result).await
}

async fn receive_native(
    wormhole: &mut Wormhole,
    options: &ReceiveOptions,
    agreed: native::Agreed,
    ui: &mut dyn Ui,
) -> Result<Received> {
    let first = wormhole.receive().await?;
    if let Some(text) = v1::text_offer(&first) {
        v1::ack_text(wormhole).await?;
        return Ok(Received::Text(text));
    }
    native::receive(wormhole, &first, to(options), agreed, ui)
        .await
        .map(Received::Files)
}

fn to(options: &ReceiveOptions) -> (&TransitConfig, &Path) {
    (&options.transit, &options.output_dir)
}
