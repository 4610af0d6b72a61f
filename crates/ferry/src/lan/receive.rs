//! `ferry receive --lan`: ferry's identity, the HTTPS [`server`](super::server),
//! an announcement so LocalSend devices see us, and the user's decision, for
//! one transfer. Every accepted name was checked by `transfer::landing`
//! before the user was asked ([`super::land`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ferry_proto::localsend::messages::message_text;
use ferry_proto::localsend::native::FerryCaps;
use ferry_proto::localsend::receiver::{Ended, ReceiverConfig, DEFAULT_IDLE_TIMEOUT};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::answer::Visible;
use super::discovery;
use super::identity::Identity;
use super::land::{self, Plan};
use super::server::{
    self, Event, Events, Limits, NativeConn, PendingOffer, Server, ServerConfig, Verdict,
};
use super::us::Us;
use crate::error::{Error, NetworkError, PeerError, Result};
use crate::transfer::landing::{check_output_dir, MissingDirs};
use crate::transfer::{Received, Report};
use crate::ui::Ui;

/// What `ferry receive --lan` was asked to do.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceiveOptions {
    /// Where the HTTPS server listens ([`server::DEFAULT_ADDR`]).
    pub addr: SocketAddr,
    pub output_dir: PathBuf,
    pub alias: String,
    pub pin: Option<String>,
    /// An accepted session with no upload activity for this long ends.
    pub session_timeout: Duration,
    /// Where to announce ourselves; `None` for no multicast (tests).
    pub discovery: Option<discovery::Config>,
    pub limits: Limits,
    /// Serve plain HTTP instead of HTTPS, and register with devices that
    /// announce plain HTTP (unencrypted: only on the user's word).
    pub http: bool,
}

impl ReceiveOptions {
    pub fn new(output_dir: PathBuf, alias: String) -> ReceiveOptions {
        ReceiveOptions {
            addr: server::DEFAULT_ADDR,
            output_dir,
            alias,
            pin: None,
            session_timeout: DEFAULT_IDLE_TIMEOUT,
            discovery: Some(discovery::Config::default()),
            limits: Limits::default(),
            http: false,
        }
    }
}

/// Receives one transfer (or until the sender cancels).
pub async fn receive(
    options: ReceiveOptions,
    identity: &Identity,
    ui: &mut dyn Ui,
) -> Result<Received> {
    Receiving::start(options, identity).await?.run(ui).await
}

/// A started receive: the server is up and we were announced.
pub struct Receiving {
    server: Server,
    events: Events,
    output_dir: PathBuf,
    announcer: Option<JoinHandle<()>>,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.announcer.as_ref().map(JoinHandle::abort);
    }
}

impl Receiving {
    pub async fn start(options: ReceiveOptions, identity: &Identity) -> Result<Receiving> {
        check_output_dir(&options.output_dir)?;
        let mut us = Us::new(&options.alias, identity, options.http);
        // Native needs the TLS session's exporter, so never over plain HTTP.
        if !options.http {
            us.ferry = Some(FerryCaps::native(crate::native::fastest_aead()));
        }
        let config = ServerConfig {
            addr: options.addr,
            device: us.info(),
            receiver: ReceiverConfig {
                pin: options.pin,
                idle_timeout: options.session_timeout,
            },
            limits: options.limits,
            http: options.http,
            share: None,
        };
        let Visible {
            server,
            events,
            announcer,
        } = Visible::start(config, us, options.discovery, identity).await?;
        Ok(Receiving {
            server,
            events,
            announcer,
            output_dir: options.output_dir,
        })
    }

    /// Where the server listens (the port, when it was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves until one session ends.
    pub async fn run(mut self, ui: &mut dyn Ui) -> Result<Received> {
        loop {
            let event = self.events.rx.recv().await;
            let event = event.ok_or_else(|| Error::internal("the LAN server stopped"))?;
            match event {
                Event::Offer(pending) => {
                    let received = self.on_offer(pending, ui).await;
                    self.server.close(CLOSE_PATIENCE).await;
                    return received;
                }
                Event::Native(conn) => return self.on_native(conn, ui).await,
                Event::Registered { addr, device, .. } => {
                    tracing::debug!(%addr, alias = %device.alias, "a device registered");
                }
                _ => {}
            }
        }
    }

    /// Checks the offer's names and space, asks the user, and on a yes
    /// receives the files.
    async fn on_offer(&mut self, pending: PendingOffer, ui: &mut dyn Ui) -> Result<Received> {
        if let Some(text) = message_text(&pending.offer.files) {
            // Shown, not stored, as the app does: no file is wanted (204).
            let text = text.to_owned();
            pending.answer(Verdict::Accept(Default::default()));
            return Ok(Received::Text(text));
        }
        let plan = match land::plan(&pending.offer.files, &self.output_dir) {
            Ok(plan) => plan,
            Err(e) => {
                pending.answer(Verdict::Decline);
                return Err(e);
            }
        };
        let answer = ui.accept_later(&plan.summary());
        let yes = tokio::select! {
            yes = answer => yes,
            ended = until_ended(&mut self.events.rx) => return Err(ended_error(ended)),
        };
        if ui.cancelled() || !yes {
            pending.answer(Verdict::Decline);
            return Err(if ui.cancelled() {
                Error::Cancelled
            } else {
                Error::Declined
            });
        }
        let out = self.output_dir.clone();
        let transfer = async {
            pending.answer(Verdict::Accept(plan.targets()));
            self.transfer(&plan, ui).await
        };
        Ok(Received::Files(plan.land(&out, transfer).await?))
    }

    /// Another ferry switched to the native protocol: its offer, the user's
    /// answer and the files all go over that link (`native::receive_over`,
    /// with the same landing checks and resume as over a wormhole).
    async fn on_native(self, conn: NativeConn, ui: &mut dyn Ui) -> Result<Received> {
        ui.transit(&super::native::described(conn.peer()));
        let (link, _slot) = conn.into_link()?;
        let missing = MissingDirs::of(&self.output_dir);
        let report = crate::native::receive_over(link, &self.output_dir, ui).await;
        drop(missing); // removes an output directory that stayed empty
        Ok(Received::Files(report?))
    }

    /// Reports progress until the session ends; every file must have landed.
    async fn transfer(&mut self, plan: &Plan, ui: &mut dyn Ui) -> Result<Report> {
        let (files, dirs) = plan.counts();
        let mut report = Report::new(plan.roots(&self.output_dir), files, dirs, plan.bytes());
        let (mut landed, mut failed) = (0u64, None);
        loop {
            let event = tokio::select! {
                event = self.events.rx.recv() => event,
                Ok(()) = self.events.progress.changed() => {
                    let done = *self.events.progress.borrow_and_update();
                    ui.progress(done.min(report.bytes), report.bytes);
                    continue;
                }
            };
            match event.ok_or_else(|| Error::internal("the LAN server stopped"))? {
                Event::Landed { path, .. } => {
                    landed += 1;
                    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                    report.transferred += size;
                    ui.file(landed, files, &path.to_string_lossy());
                }
                Event::Failed { why, .. } => failed = Some(why),
                Event::Ended(Ended::Finished) => break,
                Event::Ended(ended) => {
                    self.drain().await;
                    return Err(ended_error(Some(ended)));
                }
                _ => {}
            }
        }
        match failed {
            None => Ok(report),
            Some(why) => Err(why.into_error()),
        }
    }
}

impl Receiving {
    /// After a session ended early, waits (bounded) until its uploads in
    /// flight have removed their partial files, so none outlives `receive`.
    async fn drain(&mut self) {
        let idle = self.events.uploads.wait_for(|&n| n == 0);
        if tokio::time::timeout(DRAIN_TIMEOUT, idle).await.is_err() {
            tracing::warn!("an upload did not end after the session did");
        }
    }
}

/// How long the last answers may take to reach the sender once the session
/// ended (the 204 to a message, the 200 to the last upload).
const CLOSE_PATIENCE: Duration = Duration::from_secs(5);

/// How long an ended session's uploads may take to notice (they watch the
/// cancel, so this is a backstop).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits for the session's end, whatever else arrives meanwhile.
async fn until_ended(events: &mut mpsc::UnboundedReceiver<Event>) -> Option<Ended> {
    while let Some(event) = events.recv().await {
        if let Event::Ended(ended) = event {
            return Some(ended);
        }
    }
    None
}

fn ended_error(ended: Option<Ended>) -> Error {
    match ended {
        Some(Ended::TimedOut) => NetworkError::TimedOut("the sender stopped sending").into(),
        Some(_) => PeerError::Cancelled.into(),
        None => Error::internal("the LAN server stopped"),
    }
}

#[cfg(test)]
#[path = "receive_tests.rs"]
pub(super) mod tests;
