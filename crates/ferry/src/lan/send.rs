//! `ferry send --lan`: find the receiver, offer the files (sender machine in
//! `ferry_proto::localsend::sender`), stream each accepted file, and on
//! Ctrl-C tell the receiver so it removes what it had. A ferry receiver gets
//! ferry's native protocol instead (`lan::native`) unless `native` is off.
//!
//! A refusal (PIN, declined, busy, too many PINs) ends the send at once:
//! one prepare-upload, never a retry, so a wrong PIN costs one attempt.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use ferry_proto::localsend::sender::{self, UploadPlan};
use ferry_proto::localsend::{PrepareUploadRequest, Register, Scheme};
use tokio::sync::watch;

use super::client::{self, Client, Remote};
use super::discovery::{self, Device};
use super::identity::Identity;
use super::native;
use super::outgoing::{self, Outgoing};
use super::us::Us;
use crate::error::{Error, NetworkError, PeerError, Result};
use crate::rendezvous::Cancel;
use crate::transfer::{Payload, Selection};
use crate::ui::Ui;

/// How long an upload may go without the receiver taking a byte (also
/// bounds the wait for its answer after the last byte).
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Which device to send to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// Its HTTPS server, given directly: no discovery.
    Addr(SocketAddr),
    /// An alias or the start of a fingerprint, found by a multicast scan.
    Device(String),
    /// A device as announced (pinned to what it announced).
    Remote(Remote),
}

/// What `ferry send --lan` was asked to do.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SendOptions {
    pub target: Target,
    pub pin: Option<String>,
    /// How we introduce ourselves.
    pub alias: String,
    pub discovery: discovery::Config,
    /// How long a scan for [`Target::Device`] listens.
    pub scan_time: Duration,
    /// How long the receiver's user may take to accept.
    pub decision_timeout: Duration,
    pub cancel: Cancel,
    /// Also talk to a device that speaks only plain HTTP (unencrypted).
    pub http: bool,
    /// With another ferry, use ferry's native protocol (verified resume,
    /// faster) over the same HTTPS; `false` (`--v1`) keeps plain LocalSend.
    pub native: bool,
}

impl SendOptions {
    pub fn new(target: Target, alias: String) -> SendOptions {
        SendOptions {
            target,
            pin: None,
            alias,
            discovery: discovery::Config::default(),
            scan_time: Duration::from_secs(3),
            decision_timeout: Duration::from_secs(300),
            cancel: Cancel::new(),
            http: false,
            native: true,
        }
    }
}

/// Sends `payload` to one LAN device.
pub async fn send(
    options: SendOptions,
    payload: Payload,
    identity: &Identity,
    ui: &mut dyn Ui,
) -> Result<()> {
    let (selection, loose) = outgoing::select(payload, ui)?;
    // A sender serves nothing; the app still wants a port in `info`, and the
    // default is what it would try if it ever called back.
    let us = Us::new(&options.alias, identity, false).register(discovery::Config::default().port);
    let cancel = options.cancel.clone();
    let client = cancel.guard(connect(&options, &us, identity)).await?;
    if options.native && !matches!(selection, Selection::Text(_)) {
        let cipher = cancel.guard(async { Ok(native::cipher(&client).await) });
        if let Some(aead) = cipher.await? {
            let gate = (options.pin.as_deref(), &options.cancel);
            return native::send(&client, aead, (selection, loose), gate, ui).await;
        }
    }
    let items = outgoing::items(selection, loose);
    let request = sender::prepare_upload(
        us,
        &items.iter().map(|o| o.item.clone()).collect::<Vec<_>>(),
    );
    let plan = match cancel.guard(prepare(&client, &request, &options)).await {
        Err(Error::Cancelled) => return Err(say_cancelled(&client, None).await),
        other => other?,
    };
    ui.transit(&client.described("LocalSend"));
    upload_all(&client, plan, &items, ui, &cancel).await
}

/// A client for the target, pinned to the certificate it announced (or,
/// given by IP, to the one it presents and claims in its info); plain HTTP
/// only for a device that speaks nothing else, and only if `options.http`.
pub(super) async fn connect(
    options: &SendOptions,
    us: &Register,
    identity: &Identity,
) -> Result<Client> {
    let (remote, scheme) = match &options.target {
        Target::Remote(remote) => (remote.clone(), Scheme::Https),
        Target::Addr(addr) => by_addr(identity, *addr).await?,
        Target::Device(name) => {
            let found = discovery::scan(&options.discovery, us, options.scan_time).await;
            let found = found.map_err(|e| Error::io("scanning the LAN", e))?;
            pick(&found, name)?
        }
    };
    Client::for_scheme(identity, remote, scheme, options.http)
}

/// A device given by address: HTTPS, pinned to the certificate it claims;
/// failing a TLS handshake, a device that answers `info` in plain HTTP.
async fn by_addr(identity: &Identity, addr: SocketAddr) -> Result<(Remote, Scheme)> {
    match by_addr_tls(identity, addr).await {
        Err(Error::Network(NetworkError::NoConnection(why))) => {
            let plain = by_addr_plain(identity, addr).await;
            plain.map_err(|_| NetworkError::NoConnection(why).into())
        }
        other => other.map(|remote| (remote, Scheme::Https)),
    }
}

/// Asking for `info` in plain text tells the device nothing about us.
async fn by_addr_plain(identity: &Identity, addr: SocketAddr) -> Result<(Remote, Scheme)> {
    let remote = Remote {
        addr,
        fingerprint: String::new(),
        alias: addr.ip().to_string(),
    };
    let client = Client::for_scheme(identity, remote.clone(), Scheme::Http, true)?;
    let info = client.info().await?;
    let remote = Remote {
        alias: info.alias,
        fingerprint: info.fingerprint,
        ..remote
    };
    Ok((remote, Scheme::Http))
}

async fn by_addr_tls(identity: &Identity, addr: SocketAddr) -> Result<Remote> {
    let fingerprint = client::probe(identity, addr).await?;
    let alias = addr.ip().to_string();
    let remote = Remote {
        addr,
        fingerprint,
        alias,
    };
    let info = Client::new(identity, remote.clone())?.info().await?;
    if !info.fingerprint.eq_ignore_ascii_case(&remote.fingerprint) {
        let who = format!("{} ({})", escape(&info.alias), addr.ip());
        return Err(PeerError::CertificateMismatch(who).into());
    }
    Ok(Remote {
        alias: info.alias,
        ..remote
    })
}

/// The one device whose alias is `name` or whose fingerprint starts with it.
fn pick(found: &[Device], name: &str) -> Result<(Remote, Scheme)> {
    let matches = |d: &&Device| {
        let fp = d.info.fingerprint.to_ascii_lowercase();
        d.info.alias == name || fp.starts_with(&name.to_ascii_lowercase())
    };
    let hits: Vec<&Device> = found.iter().filter(matches).collect();
    let device = match hits.as_slice() {
        [one] => *one,
        [] => {
            return Err(NetworkError::NoConnection(format!("no device {name:?} answered")).into())
        }
        more => {
            let why = format!(
                "{} devices match {name:?}; name one by fingerprint",
                more.len()
            );
            return Err(NetworkError::NoConnection(why).into());
        }
    };
    Ok((Remote::from(device), device.info.protocol))
}

async fn prepare(
    client: &Client,
    request: &PrepareUploadRequest,
    options: &SendOptions,
) -> Result<UploadPlan> {
    let pin = options.pin.as_deref();
    let (status, body) = client
        .prepare_upload(request, pin, options.decision_timeout)
        .await?;
    let plan = sender::interpret_prepare_response(request, status, &body);
    plan.map_err(|e| PeerError::Refused(e).into())
}

/// Uploads each granted file in turn, reporting progress.
async fn upload_all(
    client: &Client,
    plan: UploadPlan,
    items: &[Outgoing],
    ui: &mut dyn Ui,
    cancel: &Cancel,
) -> Result<()> {
    let files = granted(&plan, items)?;
    let total = files.iter().map(|(o, _)| o.len()).sum();
    let (sent, seen) = watch::channel(0u64);
    let mut progress = Progress { ui, total, seen };
    let sid = Some(plan.session_id.as_str());
    for (index, (item, target)) in files.iter().enumerate() {
        progress
            .ui
            .file(index as u64 + 1, files.len() as u64, item.name());
        let body = item.body(sent.clone(), cancel.clone()).await;
        let body = body.map_err(|e| Error::io(format!("reading {}", item.name()), e))?;
        let upload = client.upload(target.clone(), body, item.len());
        match watch_upload(upload, &mut progress, cancel).await? {
            Ok(200) => {}
            Ok(status) => return Err(Error::protocol(format!("upload answered {status}"))),
            Err(Cancelled(upload)) => {
                // The upload stays open until the receiver heard the cancel:
                // it then ends the session as cancelled, not as a lost file.
                let said = say_cancelled(client, sid).await;
                drop(upload);
                return Err(said);
            }
        }
    }
    progress.report();
    Ok(())
}

/// The offered item behind each granted upload (ids are our indexes).
fn granted<'a>(plan: &UploadPlan, items: &'a [Outgoing]) -> Result<Vec<(&'a Outgoing, String)>> {
    let item = |id: &str| id.parse::<usize>().ok().and_then(|i| items.get(i));
    let pairs = plan
        .uploads
        .iter()
        .map(|u| item(&u.file_id).map(|o| (o, u.target.clone())));
    let pairs = pairs.collect::<Option<_>>();
    pairs.ok_or_else(|| Error::internal("a granted id is not one of ours"))
}

struct Progress<'u> {
    ui: &'u mut dyn Ui,
    total: u64,
    seen: watch::Receiver<u64>,
}

impl Progress<'_> {
    fn report(&mut self) {
        let done = *self.seen.borrow_and_update();
        self.ui.progress(done, self.total);
    }
}

/// The user cancelled during an upload, which is handed back still open.
struct Cancelled<U>(Pin<Box<U>>);

/// Drives one upload to its status, unless the user cancels. A receiver
/// that takes no bytes for [`STALL_TIMEOUT`] ends the send.
async fn watch_upload<U: Future<Output = Result<u16>>>(
    upload: U,
    progress: &mut Progress<'_>,
    cancel: &Cancel,
) -> Result<std::result::Result<u16, Cancelled<U>>> {
    let mut upload = Box::pin(upload);
    let stall = tokio::time::sleep(STALL_TIMEOUT);
    tokio::pin!(stall);
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(Err(Cancelled(upload))),
            status = &mut upload => return status.map(Ok),
            Ok(()) = progress.seen.changed() => {
                progress.report();
                stall.as_mut().reset(tokio::time::Instant::now() + STALL_TIMEOUT);
            }
            () = &mut stall => {
                return Err(NetworkError::TimedOut("the receiver stopped taking data").into());
            }
        }
    }
}

/// Tells the receiver we cancelled, within the client's answer timeout, and
/// returns the cancel to report whatever it answered.
async fn say_cancelled(client: &Client, session_id: Option<&str>) -> Error {
    if let Err(e) = client.cancel(session_id).await {
        tracing::debug!("telling the receiver we cancelled failed: {e}");
    }
    Error::Cancelled
}

fn escape(text: &str) -> String {
    ferry_proto::transfer::path::escape_for_terminal(text)
}

#[cfg(test)]
#[path = "send_tests.rs"]
mod tests;
