//! `ferry receive --lan`: ferry's identity, the HTTPS [`server`](super::server),
//! an announcement so LocalSend devices see us, and the user's decision, for
//! one transfer. Every accepted name was checked by `transfer::landing`
//! before the user was asked ([`super::land`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ferry_proto::localsend::messages::message_text;
use ferry_proto::localsend::receiver::{Ended, ReceiverConfig, DEFAULT_IDLE_TIMEOUT};
use ferry_proto::localsend::{DeviceInfo, DeviceType, Register, Scheme, PROTOCOL_VERSION};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::answer;
use super::discovery;
use super::identity::Identity;
use super::land::{self, Plan};
use super::server::{self, Event, Events, Limits, PendingOffer, Server, ServerConfig, Verdict};
use crate::error::{Error, PeerError, Result};
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
        let config = ServerConfig {
            addr: options.addr,
            device: device_info(&options.alias, identity),
            receiver: ReceiverConfig {
                pin: options.pin,
                idle_timeout: options.session_timeout,
            },
            limits: options.limits,
        };
        let (server, events) = server::spawn(config, identity)
            .await
            .map_err(|e| Error::io(format!("serving HTTPS on {}", options.addr), e))?;
        let us = register(&options.alias, identity, server.local_addr().port());
        let answering = |c| tokio::spawn(answer::announce_and_answer(c, us, identity.clone()));
        let announcer = options.discovery.map(answering);
        Ok(Receiving {
            server,
            events,
            output_dir: options.output_dir,
            announcer,
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
        let missing = MissingDirs::of(&self.output_dir);
        let created = plan.create_dirs(&self.output_dir)?;
        pending.answer(Verdict::Accept(plan.targets()));
        let report = self.transfer(&plan, ui).await;
        if report.is_err() {
            plan.remove_empty_dirs();
        }
        drop(missing); // removes an output directory that stayed empty
        let report = report?;
        created.finish()?;
        Ok(Received::Files(report))
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
            Some(why) => Err(PeerError::Protocol(format!("a file did not arrive: {why}")).into()),
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
        Some(Ended::TimedOut) => PeerError::Protocol("the sender stopped sending".into()).into(),
        Some(_) => PeerError::Cancelled.into(),
        None => Error::internal("the LAN server stopped"),
    }
}

pub(super) fn device_info(alias: &str, identity: &Identity) -> DeviceInfo {
    DeviceInfo {
        alias: alias.to_owned(),
        version: PROTOCOL_VERSION.to_owned(),
        device_model: Some("ferry".to_owned()),
        device_type: Some(DeviceType::Headless),
        fingerprint: identity.fingerprint().as_str().to_owned(),
        download: false,
    }
}

pub(super) fn register(alias: &str, identity: &Identity, port: u16) -> Register {
    let info = device_info(alias, identity);
    Register {
        alias: info.alias,
        version: info.version,
        device_model: info.device_model,
        device_type: info.device_type,
        fingerprint: info.fingerprint,
        port,
        protocol: Scheme::Https,
        download: false,
    }
}

#[cfg(test)]
#[path = "receive_tests.rs"]
mod tests;
