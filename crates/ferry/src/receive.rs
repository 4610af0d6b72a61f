//! Receiving text, a file or a directory with file-transfer v1.
//!
//! Safety rules, in order: the offered name must be a plain name; nothing may
//! already exist under it; the disk must have room; the user must agree. Data goes
//! to a hidden partial name and is renamed into place, never over anything, only
//! after every byte arrived authenticated and in order.

use std::path::{Path, PathBuf};

use ferry_proto::code::Code;
use ferry_proto::transfer::path::safe_file_name;
use ferry_proto::transfer::v1::{
    Answer, DirectoryOffer, Offer, PeerMessage, TransitAck, TRANSFER_REJECTED,
};
use ferry_proto::transit::hints::TransitMessage;
use ferry_proto::transit::Role;

use crate::archive::{extract_zip, ExtractLimits};
use crate::error::{Error, Result};
use crate::fs::{ensure_space, Partial};
use crate::send::{finish, next_message, peer_error};
use crate::transit::{TransitConfig, TransitPrep, TransitStream};
use crate::ui::Ui;
use crate::wormhole::{CodeChoice, MailboxConfig, Wormhole};

/// Everything a receive needs to know.
#[derive(Debug, Clone)]
pub struct ReceiveOptions {
    pub mailbox: MailboxConfig,
    pub transit: TransitConfig,
    pub code: Code,
    /// Where files and directories land (created if missing).
    pub output_dir: PathBuf,
    /// Force plain file-transfer v1 even when the peer is ferry (no native protocol).
    pub v1: bool,
}

/// What arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    Text(String),
    File {
        path: PathBuf,
        bytes: u64,
    },
    Directory {
        path: PathBuf,
        files: u64,
        bytes: u64,
    },
    /// Files and directories from another ferry over the native protocol.
    Native(crate::native::Report),
}

/// Receives whatever the sender offers.
pub async fn receive(options: &ReceiveOptions, ui: &mut dyn Ui) -> Result<Received> {
    let choice = CodeChoice::Given(options.code.clone());
    let mailbox = crate::native::mailbox_config(&options.mailbox, options.v1);
    let mut wormhole = Wormhole::connect(&mailbox, choice, ui).await?;
    ui.connected(&wormhole.verifier());
    if let Some(aead) = crate::native::negotiated(&mailbox, &wormhole) {
        let result = crate::native::receive(&mut wormhole, options, aead, ui).await;
        return finish_with(wormhole, result).await;
    }
    let mut session = Receiving {
        options,
        transit: None,
        peer_transit: None,
        received: None,
    };
    let result = session.run(&mut wormhole, ui).await;
    if let Err(e) = &result {
        let _ = wormhole.send(PeerMessage::Error(refusal(e)).encode()).await;
    }
    finish(wormhole, result).await?;
    session.received.ok_or(Error::PeerVanished)
}

/// Closes the mailbox after a receive, telling the sender why if it failed.
async fn finish_with(mut wormhole: Wormhole, result: Result<Received>) -> Result<Received> {
    let mut received = None;
    let result = result.map(|r| received = Some(r));
    if let Err(e) = &result {
        let _ = wormhole.send(PeerMessage::Error(refusal(e)).encode()).await;
    }
    finish(wormhole, result).await?;
    received.ok_or(Error::PeerVanished)
}

/// What we tell the sender when we stop.
/// What we tell the sender when we stop: the reason, never our local paths.
fn refusal(e: &Error) -> String {
    let why = match e {
        Error::Declined => return TRANSFER_REJECTED.to_owned(),
        Error::Exists(_) => "a file or directory with that name already exists",
        Error::NoSpace { .. } => "not enough free disk space",
        Error::UnsafeName(_) => "unsafe file name",
        Error::WrongCode => "wrong code",
        Error::PeerProtocol(_) | Error::Integrity(_) => "invalid data from the sender",
        Error::Io { .. } => "local I/O error",
        _ => "transfer failed",
    };
    format!("receiver refused: {why}")
}

struct Receiving<'a> {
    options: &'a ReceiveOptions,
    transit: Option<TransitPrep>,
    peer_transit: Option<TransitMessage>,
    received: Option<Received>,
}

impl Receiving<'_> {
    async fn run(&mut self, wormhole: &mut Wormhole, ui: &mut dyn Ui) -> Result<()> {
        loop {
            match next_message(wormhole).await? {
                PeerMessage::Transit(t) => self.on_transit(wormhole, t).await?,
                PeerMessage::Offer(offer) => return self.on_offer(wormhole, offer, ui).await,
                PeerMessage::Error(e) => return Err(peer_error(e)),
                PeerMessage::Answer(_) => {
                    return Err(Error::PeerProtocol("an answer from the sender".into()))
                }
            }
        }
    }

    /// Answers the sender's hints with ours, exactly once (the Go sender fails on two).
    async fn on_transit(&mut self, wormhole: &mut Wormhole, peer: TransitMessage) -> Result<()> {
        self.peer_transit = Some(peer);
        self.ensure_transit(wormhole).await
    }

    async fn ensure_transit(&mut self, wormhole: &mut Wormhole) -> Result<()> {
        if self.transit.is_none() {
            let prep = TransitPrep::new(&self.options.transit).await?;
            wormhole
                .send(PeerMessage::Transit(prep.message().clone()).encode())
                .await?;
            self.transit = Some(prep);
        }
        Ok(())
    }

    async fn on_offer(
        &mut self,
        wormhole: &mut Wormhole,
        offer: Offer,
        ui: &mut dyn Ui,
    ) -> Result<()> {
        if let Offer::Message(text) = &offer {
            wormhole
                .send(PeerMessage::Answer(Answer::MessageAck("ok".into())).encode())
                .await?;
            self.received = Some(Received::Text(text.clone()));
            return Ok(());
        }
        let target = self.check_offer(&offer)?;
        if !ui.accept(&offer) {
            return Err(Error::Declined);
        }
        self.ensure_transit(wormhole).await?;
        wormhole
            .send(PeerMessage::Answer(Answer::FileAck("ok".into())).encode())
            .await?;
        let mut stream = self.connect(wormhole).await?;
        ui.transit(stream.description());
        let received = match offer {
            Offer::File { filesize, .. } => {
                receive_file(&mut stream, &target, filesize, ui).await?
            }
            Offer::Directory(d) => receive_directory(&mut stream, &target, &d, ui).await?,
            Offer::Message(_) => return Err(Error::Unsupported("text over transit".into())),
        };
        self.received = Some(received);
        Ok(())
    }

    /// The final path of an offer, after the name, existence and space checks.
    fn check_offer(&self, offer: &Offer) -> Result<PathBuf> {
        let (name, need) = match offer {
            Offer::File { filename, filesize } => (filename, *filesize),
            Offer::Directory(d) => (&d.dirname, d.zipsize.saturating_add(d.numbytes)),
            Offer::Message(_) => return Err(Error::Unsupported("text".into())),
        };
        let name = safe_file_name(name).map_err(|e| Error::UnsafeName(e.to_string()))?;
        let dir = &self.options.output_dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let target = dir.join(&name);
        if target.symlink_metadata().is_ok() {
            return Err(Error::Exists(target));
        }
        ensure_space(dir, need)?;
        Ok(target)
    }

    async fn connect(&mut self, wormhole: &mut Wormhole) -> Result<TransitStream> {
        let prep = self
            .transit
            .take()
            .ok_or_else(|| Error::Transit("no transit prepared".into()))?;
        let empty = TransitMessage {
            abilities: Vec::new(),
            hints: Vec::new(),
        };
        let peer = self.peer_transit.take().unwrap_or(empty);
        let key = wormhole
            .key()
            .ok_or(Error::ServerLost)?
            .transit_key(&self.options.mailbox.appid);
        prep.connect(Role::Receiver, &key, &peer).await
    }
}

async fn receive_file(
    stream: &mut TransitStream,
    target: &Path,
    size: u64,
    ui: &mut dyn Ui,
) -> Result<Received> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = file_name(target);
    let (partial, file) =
        Partial::file(dir, &name).map_err(|e| Error::io("creating the partial file", e))?;
    let digest = receive_bytes(stream, file, size, ui).await?;
    send_ack(stream, &digest).await?;
    partial
        .persist(target)
        .map_err(|e| persist_error(e, target))?;
    Ok(Received::File {
        path: target.to_owned(),
        bytes: size,
    })
}

async fn receive_directory(
    stream: &mut TransitStream,
    target: &Path,
    offer: &DirectoryOffer,
    ui: &mut dyn Ui,
) -> Result<Received> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = file_name(target);
    let (zip, file) = Partial::file(dir, &format!("{name}.zip"))
        .map_err(|e| Error::io("creating the partial zip", e))?;
    let digest = receive_bytes(stream, file, offer.zipsize, ui).await?;
    send_ack(stream, &digest).await?;
    let out =
        Partial::dir(dir, &name).map_err(|e| Error::io("creating the partial directory", e))?;
    let limits = ExtractLimits::new(offer.numfiles, offer.numbytes);
    let (zip_path, out_path) = (zip.path().to_owned(), out.path().to_owned());
    let report = tokio::task::spawn_blocking(move || extract_zip(&zip_path, &out_path, &limits))
        .await
        .map_err(|e| Error::Transit(e.to_string()))?
        .map_err(|e| Error::PeerProtocol(format!("bad directory archive: {e}")))?;
    drop(zip);
    out.persist(target).map_err(|e| persist_error(e, target))?;
    Ok(Received::Directory {
        path: target.to_owned(),
        files: report.files,
        bytes: report.bytes,
    })
}

async fn receive_bytes(
    stream: &mut TransitStream,
    file: std::fs::File,
    size: u64,
    ui: &mut dyn Ui,
) -> Result<[u8; 32]> {
    let sink = Box::new(SyncOnFlush(file));
    let mut progress = |done| ui.progress(done, size);
    stream.receive_into(sink, size, &mut progress).await
}

async fn send_ack(stream: &mut TransitStream, digest: &[u8; 32]) -> Result<()> {
    let ack = serde_json::to_vec(&TransitAck::ok(digest)).unwrap_or_default();
    stream.write_record(&ack).await
}

fn file_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn persist_error(e: std::io::Error, target: &Path) -> Error {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        Error::Exists(target.to_owned())
    } else {
        Error::io(
            format!("moving the received data to {}", target.display()),
            e,
        )
    }
}

/// Flushing syncs to disk, so data is durable before the rename. There is no
/// buffer: the pipeline hands over whole batches of records, written with one
/// `writev` each.
struct SyncOnFlush(std::fs::File);

impl std::io::Write for SyncOnFlush {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_never_reveal_local_paths() {
        let exists = Error::Exists(PathBuf::from("/home/alice/secret/report.pdf"));
        assert_eq!(
            refusal(&exists),
            "receiver refused: a file or directory with that name already exists"
        );
        let io = Error::io("writing /home/alice/x", std::io::ErrorKind::Other.into());
        assert!(!refusal(&io).contains("alice"));
        assert_eq!(refusal(&Error::Declined), TRANSFER_REJECTED);
    }
}
