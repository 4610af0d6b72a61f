//! From what the user typed to resolved settings: flags > environment > defaults.

use anyhow::{anyhow, Context, Result};

use ferry::transit::{parse_relay, Listen, TransitConfig, DEFAULT_RELAY};
use ferry::{MailboxConfig, DEFAULT_MAILBOX_URL};
use ferry_proto::transfer::DEFAULT_APPID;

use crate::args::Common;

/// The mailbox settings.
pub fn mailbox(common: &Common) -> MailboxConfig {
    MailboxConfig {
        url: common
            .server
            .clone()
            .unwrap_or_else(|| DEFAULT_MAILBOX_URL.to_owned()),
        appid: common
            .app_id
            .clone()
            .unwrap_or_else(|| DEFAULT_APPID.to_owned()),
        app_versions: ferry::native::app_versions(),
        timing: ferry::Timing::default(),
    }
}

/// The transit settings.
pub fn transit(common: &Common) -> Result<TransitConfig> {
    let relay_text = common.relay.as_deref().unwrap_or(DEFAULT_RELAY);
    let relay = parse_relay(relay_text)
        .map_err(|e| anyhow!(e))
        .context("bad --relay")?;
    let listen = match (common.no_listen, common.listen) {
        (true, _) => Listen::Off,
        (false, Some(ip)) => Listen::Only(ip),
        (false, None) => Listen::Auto,
    };
    Ok(TransitConfig {
        relay: Some(relay),
        listen,
        force_relay: common.force_relay,
        timing: ferry::Timing::default(),
    })
}
