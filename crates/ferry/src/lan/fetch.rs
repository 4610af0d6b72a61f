//! `ferry receive --lan --from TARGET`: pull what a device shares over
//! LocalSend's download API. One prepare-download (with the PIN) lists the
//! files; their names and sizes go through the same checks as an upload's
//! ([`super::land`] → `transfer::landing`) before the user is asked; each
//! file then streams into a partial file, never past its declared size, and
//! is renamed into place (never over anything) only once whole.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_proto::localsend::share::interpret_prepare_download;
use ferry_proto::localsend::{FileDto, PrepareDownloadResponse, SendError};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

use super::client::Client;
use super::discovery;
use super::identity::Identity;
use super::land::{self, Plan};
use super::send::{connect, SendOptions, Target};
use super::us::Us;
use crate::error::{Error, NetworkError, PeerError, Result};
use crate::rendezvous::Cancel;
use crate::transfer::landing::{check_output_dir, Partial};
use crate::transfer::{Received, Report};
use crate::ui::{self, Ui};

/// What `ferry receive --lan --from` was asked to do.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchOptions {
    /// The sharing device (found as `send --lan` finds a receiver).
    pub target: Target,
    pub pin: Option<String>,
    pub output_dir: PathBuf,
    /// How we introduce ourselves in a scan.
    pub alias: String,
    pub discovery: discovery::Config,
    /// How long a scan for [`Target::Device`] listens.
    pub scan_time: Duration,
    /// How long a download may go without a byte.
    pub stall_timeout: Duration,
    /// Also talk to a device that speaks only plain HTTP (unencrypted).
    pub http: bool,
    pub cancel: Cancel,
}

impl FetchOptions {
    pub fn new(target: Target, output_dir: PathBuf, alias: String) -> FetchOptions {
        FetchOptions {
            target,
            pin: None,
            output_dir,
            alias,
            discovery: discovery::Config::default(),
            scan_time: Duration::from_secs(3),
            stall_timeout: Duration::from_secs(60),
            http: false,
            cancel: Cancel::new(),
        }
    }

    /// The device lookup is the sender's.
    fn finding(&self) -> SendOptions {
        let mut find = SendOptions::new(self.target.clone(), self.alias.clone());
        find.discovery = self.discovery.clone();
        find.scan_time = self.scan_time;
        find.http = self.http;
        find
    }
}

/// Pulls every file the device shares, once the user accepts.
pub async fn fetch(
    options: FetchOptions,
    identity: &Identity,
    ui: &mut dyn Ui,
) -> Result<Received> {
    let out = options.output_dir.clone();
    check_output_dir(&out)?;
    let us = Us::new(&options.alias, identity, false).register(options.discovery.port);
    let cancel = options.cancel.clone();
    let client = cancel
        .guard(connect(&options.finding(), &us, identity))
        .await?;
    let offer = cancel
        .guard(prepare(&client, options.pin.as_deref()))
        .await?;
    ui.transit(&client.described("LocalSend download"));
    if offer.files.is_empty() {
        return Err(PeerError::NothingShared.into());
    }
    let plan = land::plan(&offer.files, &out)?;
    ui::ask(ui, &plan.summary(), std::future::pending()).await?;
    let mut pull = Pull {
        client: &client,
        offer: &offer,
        stall: options.stall_timeout,
    };
    let pulled = cancel.guard(pull.all(&plan, &out, ui));
    Ok(Received::Files(plan.land(&out, pulled).await?))
}

async fn prepare(client: &Client, pin: Option<&str>) -> Result<PrepareDownloadResponse> {
    let (status, body) = client.prepare_download(None, pin).await?;
    interpret_prepare_download(status, &body).map_err(|e| PeerError::Refused(e).into())
}

/// The downloads of one accepted offer.
struct Pull<'a> {
    client: &'a Client,
    offer: &'a PrepareDownloadResponse,
    stall: Duration,
}

impl Pull<'_> {
    /// Each file in turn; the first failure ends the fetch (the files that
    /// landed before it stay, as with any receive).
    async fn all(&mut self, plan: &Plan, out: &Path, ui: &mut dyn Ui) -> Result<Report> {
        let (files, dirs) = plan.counts();
        let mut report = Report::new(plan.roots(out), files, dirs, plan.bytes());
        for (n, (id, target)) in plan.files().into_iter().enumerate() {
            let dto = self.offer.files.get(&id);
            let dto = dto.ok_or_else(|| Error::internal("a planned id is not offered"))?;
            ui.file(n as u64 + 1, files, &dto.file_name);
            self.one(dto, &target, &mut report, ui).await?;
        }
        Ok(report)
    }

    /// One file into a partial, then into place.
    async fn one(
        &mut self,
        dto: &FileDto,
        target: &Path,
        report: &mut Report,
        ui: &mut dyn Ui,
    ) -> Result<()> {
        let sid = &self.offer.session_id;
        let mut download = self.client.download(sid, &dto.id).await?;
        match download.status {
            200 => {}
            403 => return Err(PeerError::Refused(SendError::Declined).into()),
            status => return Err(Error::protocol(format!("download answered {status}"))),
        }
        let dir = target.parent().unwrap_or(Path::new("."));
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let (partial, file) = Partial::file(dir, &name).map_err(write_error)?;
        let mut file = land::sink(file);
        let mut body = Body {
            dto,
            file: &mut file,
            hash: dto.sha256.is_some().then(Sha256::new),
            got: 0,
        };
        body.receive(&mut download.body, self.stall, report, ui)
            .await?;
        body.check()?;
        land::settle(&mut file).await.map_err(write_error)?;
        drop(file);
        partial.persist(target).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::exists(target),
            _ => Error::io(format!("putting {} in place", target.display()), e),
        })
    }
}

fn write_error(e: std::io::Error) -> Error {
    Error::io("writing a partial file", e)
}

/// One download's bytes on their way into its partial file.
struct Body<'a> {
    dto: &'a FileDto,
    file: &'a mut land::Sink,
    /// Only when the device declared a SHA-256 to check against.
    hash: Option<Sha256>,
    got: u64,
}

impl Body<'_> {
    /// Writes every frame of `incoming`, refusing a byte past the declared
    /// size before it is written; `stall` bounds each wait.
    async fn receive(
        &mut self,
        incoming: &mut hyper::body::Incoming,
        stall: Duration,
        report: &mut Report,
        ui: &mut dyn Ui,
    ) -> Result<()> {
        loop {
            let frame = match timeout(stall, incoming.frame()).await {
                Err(_) => return Err(NetworkError::TimedOut("the device stopped sending").into()),
                Ok(None) => return Ok(()),
                Ok(Some(Err(e))) => return Err(Error::lost(std::io::Error::other(e))),
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            self.got += data.len() as u64;
            if self.got > self.dto.size {
                return Err(self.refuse("more bytes than declared"));
            }
            self.file.write_all(&data).await.map_err(write_error)?;
            if let Some(hash) = self.hash.as_mut() {
                hash.update(&data);
            }
            report.transferred += data.len() as u64;
            ui.progress(report.transferred, report.bytes);
        }
    }

    /// The body ended: whole, and matching its SHA-256 when one was given.
    fn check(&mut self) -> Result<()> {
        if self.got != self.dto.size {
            return Err(self.refuse("shorter than declared"));
        }
        let actual = self.hash.take().map(|h| hex::encode(h.finalize()));
        match (&self.dto.sha256, actual) {
            (Some(expected), Some(actual)) if !expected.eq_ignore_ascii_case(&actual) => {
                let why = format!("{}: SHA-256 mismatch", self.dto.file_name);
                Err(PeerError::Integrity(why).into())
            }
            _ => Ok(()),
        }
    }

    fn refuse(&self, why: &str) -> Error {
        Error::protocol(format!("{}: {why}", self.dto.file_name))
    }
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
