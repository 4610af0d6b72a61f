//! `ferry send --lan --share`: serve chosen files over LocalSend's download
//! API (`prepare-download`, `download`, and a page at `/` for a browser)
//! until the user stops, announcing `"download": true`. The sessions, PIN
//! and file table are the sans-IO `ferry_proto::localsend::Share`; the
//! server streams the files from disk and says who fetched what
//! ([`Ui::served`]).

use std::net::SocketAddr;
use std::time::Duration;

use ferry_proto::localsend::share::DEFAULT_SESSION_TTL;
use ferry_proto::localsend::ShareConfig;
use tokio::task::JoinHandle;

use super::answer::Visible;
use super::discovery;
use super::identity::Identity;
use super::outgoing;
use super::server::{self, Event, Events, Limits, Server, ServerConfig, Shelf};
use super::us::Us;
use crate::error::{Error, Result};
use crate::rendezvous::Cancel;
use crate::transfer::Payload;
use crate::ui::Ui;

/// What `ferry send --lan --share` was asked to do.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShareOptions {
    /// Where the server listens ([`server::DEFAULT_ADDR`]).
    pub addr: SocketAddr,
    pub alias: String,
    /// A PIN every caller must give (the page asks for it).
    pub pin: Option<String>,
    /// Where to announce ourselves; `None` for no multicast (tests).
    pub discovery: Option<discovery::Config>,
    pub limits: Limits,
    /// A session (a page visit, a prepare-download) unused this long ends.
    pub session_ttl: Duration,
    /// Serve plain HTTP instead of HTTPS (what a browser can open without a
    /// certificate warning; unencrypted, so only on the user's word).
    pub http: bool,
    /// Stops the share.
    pub cancel: Cancel,
}

impl ShareOptions {
    pub fn new(alias: String) -> ShareOptions {
        ShareOptions {
            addr: server::DEFAULT_ADDR,
            alias,
            pin: None,
            discovery: Some(discovery::Config::default()),
            limits: Limits::default(),
            session_ttl: DEFAULT_SESSION_TTL,
            http: false,
            cancel: Cancel::new(),
        }
    }
}

/// Shares `payload` until `options.cancel` fires; then `Ok`: stopping is
/// how a share ends.
pub async fn share(
    options: ShareOptions,
    payload: Payload,
    identity: &Identity,
    ui: &mut dyn Ui,
) -> Result<()> {
    Sharing::start(options, payload, identity, ui)
        .await?
        .run(ui)
        .await
}

/// A started share: the server is up and we were announced.
pub struct Sharing {
    server: Server,
    events: Events,
    announcer: Option<JoinHandle<()>>,
    cancel: Cancel,
}

impl Drop for Sharing {
    fn drop(&mut self) {
        self.announcer.as_ref().map(JoinHandle::abort);
    }
}

impl Sharing {
    /// Walks and checks what is shared (before anyone can ask), then serves.
    pub async fn start(
        options: ShareOptions,
        payload: Payload,
        identity: &Identity,
        ui: &mut dyn Ui,
    ) -> Result<Sharing> {
        let items = outgoing::walk(payload, ui)?;
        let mut us = Us::new(&options.alias, identity, options.http);
        us.download = true;
        let config = ShareConfig {
            pin: options.pin.clone(),
            session_ttl: options.session_ttl,
        };
        let config = ServerConfig {
            addr: options.addr,
            device: us.info(),
            // No uploads while sharing: an offer is never answered yes.
            receiver: ferry_proto::localsend::ReceiverConfig {
                pin: options.pin,
                idle_timeout: options.session_ttl,
            },
            limits: options.limits,
            http: options.http,
            share: Some(Shelf::new(items, config)),
        };
        let Visible {
            server,
            events,
            announcer,
        } = Visible::start(config, us, options.discovery, identity).await?;
        Ok(Sharing {
            server,
            events,
            announcer,
            cancel: options.cancel,
        })
    }

    /// Where the server listens (the port, when it was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves until cancelled, telling `ui` about every download that ends.
    pub async fn run(mut self, ui: &mut dyn Ui) -> Result<()> {
        loop {
            let event = tokio::select! {
                () = self.cancel.cancelled() => return Ok(()),
                event = self.events.rx.recv() => event,
            };
            match event.ok_or_else(|| Error::internal("the LAN server stopped"))? {
                Event::Served {
                    addr,
                    name,
                    complete,
                } => ui.served(addr, &name, complete),
                // Dropped unanswered: declined (403). A share takes nothing in.
                Event::Offer(offer) => drop(offer),
                Event::Registered { addr, device, .. } => {
                    tracing::debug!(%addr, alias = %device.alias, "a device registered");
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "share_tests.rs"]
pub(super) mod tests;
