//! Sending text, a file or a directory with file-transfer v1.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use ferry_proto::mailbox::Mood;
use ferry_proto::native::negotiate;
use ferry_proto::transfer::path::safe_file_name;
use ferry_proto::transfer::v1::{
    Answer, DirectoryOffer, Offer, PeerMessage, TransitAck, TRANSFER_REJECTED,
};
use ferry_proto::transit::hints::TransitMessage;
use ferry_proto::transit::Role;

use crate::archive::DirPlan;
use crate::error::{Error, Result};
use crate::transit::{TransitConfig, TransitPrep, PEER_RECORD_SIZE, RECORD_SIZE};
use crate::ui::Ui;
use crate::wormhole::{CodeChoice, MailboxConfig, Wormhole};

/// What to send.
#[derive(Debug, Clone)]
pub enum Payload {
    Text(String),
    /// A regular file or a directory (decided by what the path is).
    Path(PathBuf),
    /// Several files and directories, sent as one directory named `name`.
    Paths {
        name: String,
        paths: Vec<PathBuf>,
    },
}

/// Everything a send needs to know.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub mailbox: MailboxConfig,
    pub transit: TransitConfig,
    pub code: CodeChoice,
    /// Force plain file-transfer v1 even when the peer is ferry (no native protocol).
    pub v1: bool,
}

/// The payload, checked and measured before anyone connects.
enum Prepared {
    Text(String),
    File {
        path: PathBuf,
        name: String,
        size: u64,
    },
    Directory {
        plan: DirPlan,
    },
}

/// Sends `payload` and returns once the receiver confirmed it.
pub async fn send(options: &SendOptions, payload: Payload, ui: &mut dyn Ui) -> Result<()> {
    let roots = crate::native::roots(&payload);
    let prepared = prepare(payload, ui)?;
    let mailbox = crate::native::mailbox_config(&options.mailbox, options.v1);
    let mut wormhole = Wormhole::connect(&mailbox, options.code.clone(), ui).await?;
    ui.connected(&wormhole.verifier());
    let result = match (&prepared, crate::native::negotiated(&mailbox, &wormhole)) {
        (Prepared::Text(text), _) => send_text(&mut wormhole, text).await,
        (_, Some(aead)) => crate::native::send(&mut wormhole, options, &roots, aead, ui).await,
        (_, None) => send_bulk(&mut wormhole, options, &prepared, ui).await,
    };
    finish(wormhole, result).await
}

/// Closes the mailbox with a mood that matches the outcome, keeping the first error.
pub(crate) async fn finish(wormhole: Wormhole, result: Result<()>) -> Result<()> {
    let mood = if result.is_ok() {
        Mood::Happy
    } else {
        Mood::Errory
    };
    let closed = wormhole.close(mood).await;
    result?;
    closed
}

fn prepare(payload: Payload, ui: &mut dyn Ui) -> Result<Prepared> {
    let path = match payload {
        Payload::Text(text) => return Ok(Prepared::Text(text)),
        Payload::Path(path) => path,
        Payload::Paths { name, paths } => {
            let plan = DirPlan::scan_many(&name, &paths)
                .map_err(|e| Error::io("reading the files to send", e))?;
            return Ok(directory(plan, ui));
        }
    };
    let meta = std::fs::metadata(&path)
        .map_err(|e| Error::io(format!("cannot send {}", path.display()), e))?;
    let name = base_name(&path)?;
    if meta.is_dir() {
        let plan = DirPlan::scan(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        return Ok(directory(plan, ui));
    }
    if !meta.is_file() {
        return Err(Error::io(
            format!("{} is not a regular file", path.display()),
            std::io::ErrorKind::InvalidInput.into(),
        ));
    }
    Ok(Prepared::File {
        path,
        name,
        size: meta.len(),
    })
}

/// A directory to send, after warning about what will be left out.
fn directory(plan: DirPlan, ui: &mut dyn Ui) -> Prepared {
    for skipped in plan.skipped() {
        ui.warn(&format!(
            "not sending {}: {}",
            skipped.path.display(),
            skipped.reason
        ));
    }
    Prepared::Directory { plan }
}

fn base_name(path: &Path) -> Result<String> {
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| Error::io(format!("cannot send {}", path.display()), e))?;
    let name = canonical
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    safe_file_name(name).map_err(|e| Error::UnsafeName(e.to_string()))
}

async fn send_text(wormhole: &mut Wormhole, text: &str) -> Result<()> {
    wormhole
        .send(PeerMessage::Offer(Offer::Message(text.to_owned())).encode())
        .await?;
    loop {
        match next_message(wormhole).await? {
            PeerMessage::Answer(Answer::MessageAck(ack)) if ack == "ok" => return Ok(()),
            PeerMessage::Answer(_) => {
                return Err(Error::PeerProtocol(
                    "unexpected answer to a text offer".into(),
                ))
            }
            PeerMessage::Transit(_) => continue, // some receivers send hints unprompted
            PeerMessage::Error(e) => return Err(peer_error(e)),
            PeerMessage::Offer(_) => {
                return Err(Error::PeerProtocol("an offer from the receiver".into()))
            }
        }
    }
}

async fn send_bulk(
    wormhole: &mut Wormhole,
    options: &SendOptions,
    prepared: &Prepared,
    ui: &mut dyn Ui,
) -> Result<()> {
    let prep = TransitPrep::new(&options.transit).await?;
    wormhole
        .send(PeerMessage::Transit(prep.message().clone()).encode())
        .await?;
    wormhole
        .send(PeerMessage::Offer(offer_for(prepared)).encode())
        .await?;
    let peer_transit = await_file_ack(wormhole).await?;
    let key = wormhole
        .key()
        .ok_or(Error::ServerLost)?
        .transit_key(&options.mailbox.appid);
    let mut stream = prep.connect(Role::Sender, &key, &peer_transit).await?;
    ui.transit(stream.description());
    let (source, size) = open_source(prepared)?;
    let mut progress = |done| ui.progress(done, size);
    let record = match negotiate::is_ferry(wormhole.peer_app_versions()) {
        true => RECORD_SIZE,
        false => PEER_RECORD_SIZE,
    };
    let digest = stream
        .send_from(source, (size, record), &mut progress)
        .await?;
    let mut buf = Vec::new();
    let start = stream
        .read_record(&mut buf)
        .await
        .map_err(|_| Error::PeerVanished)?;
    let ack: TransitAck = serde_json::from_slice(&buf[start..])
        .map_err(|e| Error::PeerProtocol(format!("ack: {e}")))?;
    if !ack.confirms(&digest) {
        return Err(Error::Integrity(
            "the receiver's SHA-256 does not match what was sent".into(),
        ));
    }
    Ok(())
}

fn offer_for(prepared: &Prepared) -> Offer {
    match prepared {
        Prepared::Text(t) => Offer::Message(t.clone()),
        Prepared::File { name, size, .. } => Offer::File {
            filename: name.clone(),
            filesize: *size,
        },
        Prepared::Directory { plan } => Offer::Directory(DirectoryOffer {
            mode: "zipfile/deflated".into(),
            dirname: plan.dirname().to_owned(),
            zipsize: plan.zip_size(),
            numbytes: plan.num_bytes(),
            numfiles: plan.num_files(),
        }),
    }
}

/// Waits for `file_ack`, remembering the receiver's hints (sent before it).
async fn await_file_ack(wormhole: &mut Wormhole) -> Result<TransitMessage> {
    let mut peer_transit = None;
    loop {
        match next_message(wormhole).await? {
            PeerMessage::Transit(t) => peer_transit = Some(t),
            PeerMessage::Answer(Answer::FileAck(ack)) if ack == "ok" => {
                let empty = TransitMessage {
                    abilities: Vec::new(),
                    hints: Vec::new(),
                };
                return Ok(peer_transit.unwrap_or(empty));
            }
            PeerMessage::Answer(_) => {
                return Err(Error::PeerProtocol(
                    "unexpected answer to a file offer".into(),
                ))
            }
            PeerMessage::Error(e) => return Err(peer_error(e)),
            PeerMessage::Offer(_) => {
                return Err(Error::PeerProtocol("an offer from the receiver".into()))
            }
        }
    }
}

fn open_source(prepared: &Prepared) -> Result<(Box<dyn Read + Send>, u64)> {
    match prepared {
        Prepared::File { path, size, .. } => {
            let file = File::open(path)
                .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
            Ok((Box::new(file), *size))
        }
        Prepared::Directory { plan } => Ok((zip_stream(plan.clone())?, plan.zip_size())),
        Prepared::Text(_) => Err(Error::Unsupported("text over transit".into())),
    }
}

/// The directory's zip, produced on the fly by a thread writing into a pipe.
fn zip_stream(plan: DirPlan) -> Result<Box<dyn Read + Send>> {
    let (reader, mut writer) = std::io::pipe().map_err(|e| Error::io("creating a pipe", e))?;
    std::thread::spawn(move || {
        // A write error here means the reader went away; the sender reports that.
        let _ = plan.write_zip(&mut writer, &mut |_| {});
    });
    Ok(Box::new(reader))
}

pub(crate) async fn next_message(wormhole: &mut Wormhole) -> Result<PeerMessage> {
    let bytes = wormhole.receive().await?;
    PeerMessage::decode(&bytes)
        .map_err(|e| Error::PeerProtocol(format!("undecodable message: {e}")))
}

pub(crate) fn peer_error(e: String) -> Error {
    if e == TRANSFER_REJECTED {
        Error::Declined
    } else {
        Error::PeerError(e)
    }
}
