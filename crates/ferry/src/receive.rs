//! `receive()`: meet the sender, then run the protocol both sides speak. A
//! native sender still sends text as a v1 offer, so the first message decides.

use std::path::{Path, PathBuf};

use ferry_proto::code::Code;

use crate::error::{Error, Result};
use crate::native::{self, Keeping, SessionStore, StoredSession};
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
    /// Where a native receive keeps its session so that a new process can
    /// continue it ([`receive_stored`]); `None`: nowhere.
    pub sessions: Option<SessionStore>,
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
    // Listener, port mapping and STUN are asked while the rendezvous runs.
    let options = &ReceiveOptions {
        transit: options.transit.warm_up(),
        ..options.clone()
    };
    let choice = CodeChoice::Given(options.code.clone());
    let mailbox = native::mailbox_config(&options.mailbox, options.v1);
    let mut wormhole = Wormhole::connect_until(&mailbox, choice, ui, cancel).await?;
    ui.connected(&wormhole.verifier());
    let mut keeping = Keeping::new(options.sessions.clone());
    let (w, k) = (&mut wormhole, &mut keeping);
    let result = cancel
        .guard(async {
            match native::negotiated(&mailbox, w) {
                Some(agreed) => receive_native(w, options, (agreed, k), ui).await,
                None => v1::receive(w, to(options), ui).await,
            }
        })
        .await;
    end(wormhole, keeping, result).await
}

/// Continues a native receive that another process stored in `options.sessions`
/// (`ferry receive --resume`): the same mailbox rejoined, the sender — still
/// waiting to reconnect — offers the same files again, accepted without asking,
/// and only what is not verified yet moves. `options.code` is not used.
pub async fn receive_stored(
    options: &ReceiveOptions,
    stored: StoredSession,
    ui: &mut dyn Ui,
    cancel: &Cancel,
) -> Result<Received> {
    let store = options
        .sessions
        .clone()
        .ok_or_else(|| Error::internal("a stored session to continue, but no session store"))?;
    let mut mailbox = options.mailbox.clone();
    mailbox.url.clone_from(&stored.mailbox_url);
    mailbox.appid.clone_from(&stored.appid);
    let agreed = native::Agreed::stored(&stored)?;
    let attempt = stored.attempt;
    let rejoin = stored.rejoin()?;
    let mut keeping = Keeping::resumed(store, stored);
    let joined = cancel.guard(Wormhole::resume(&mailbox, rejoin)).await;
    let mut wormhole = match joined {
        Ok(w) => w,
        Err(e) => return Err(keep_unless_over(&mut keeping, e)),
    };
    let (w, k) = (&mut wormhole, &mut keeping);
    let result = cancel
        .guard(async {
            let to = to(options);
            native::receive_resumed(w, to, (agreed, attempt), k, ui)
                .await
                .map(Received::Files)
        })
        .await;
    end(wormhole, keeping, result).await
}

/// The stored session stays for a later try when the mailbox could not be
/// reached or the user stopped us; any other failure ends it.
fn keep_unless_over(keeping: &mut Keeping, e: Error) -> Error {
    match (&e, keeping.paused()) {
        (Error::Cancelled, Some((secs, dir))) => Error::Paused { secs, dir },
        (Error::Server(_), _) => e,
        _ => {
            keeping.forget();
            e
        }
    }
}

/// How a receive ends: a Ctrl-C with a stored session leaves without a word
/// (the sender keeps waiting for us; the mailbox stays open); anything else
/// forgets the session, tells the sender, and closes the mailbox.
async fn end(
    mut wormhole: Wormhole,
    mut keeping: Keeping,
    result: Result<Received>,
) -> Result<Received> {
    if let (Err(Error::Cancelled), Some((secs, dir))) = (&result, keeping.paused()) {
        wormhole.hang_up().await;
        return Err(Error::Paused { secs, dir });
    }
    keeping.forget();
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
    agreed: (native::Agreed, &mut Keeping),
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
