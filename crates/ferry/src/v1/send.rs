//! The v1 sender: hints and offer through the mailbox, then the file (or the
//! directory's zip, made on the fly) over transit, and the receiver's ack.

use std::fs::File;
use std::io::Read;

use ferry_proto::native::negotiate;
use ferry_proto::transfer::v1::{Answer, DirectoryOffer, Offer, PeerMessage, TransitAck};
use ferry_proto::transit::hints::TransitMessage;
use ferry_proto::transit::Role;

use crate::error::{Error, PeerError, Result};
use crate::rendezvous::Wormhole;
use crate::transfer::{Item, Selection};
use crate::transit::{TransitConfig, TransitPrep, PEER_RECORD_SIZE, RECORD_SIZE};
use crate::ui::Ui;

use super::archive::DirPlan;
use super::messages::next_message;

/// What goes over transit.
enum Bulk {
    File(Item, u64),
    Zip(DirPlan),
}

/// Sends a text message and waits for its ack.
pub(crate) async fn send_text(wormhole: &mut Wormhole, text: &str) -> Result<()> {
    wormhole
        .send(PeerMessage::Offer(Offer::Message(text.to_owned())).encode())
        .await?;
    loop {
        match next_message(wormhole).await? {
            PeerMessage::Answer(Answer::MessageAck(ack)) if ack == "ok" => return Ok(()),
            PeerMessage::Answer(_) => {
                return Err(Error::protocol("unexpected answer to a text offer".into()))
            }
            PeerMessage::Transit(_) => continue, // some receivers send hints unprompted
            PeerMessage::Error(e) => return Err(Error::from_peer(e)),
            PeerMessage::Offer(_) => {
                return Err(Error::protocol("an offer from the receiver".into()))
            }
        }
    }
}

/// Sends a file or a directory.
pub(crate) async fn send(
    wormhole: &mut Wormhole,
    transit: &TransitConfig,
    selection: &Selection,
    ui: &mut dyn Ui,
) -> Result<()> {
    let bulk = match selection {
        Selection::File(item) => Bulk::File(item.clone(), file_size(item)),
        Selection::Directory(dir) => Bulk::Zip(DirPlan::new(dir)),
        Selection::Text(_) => return Err(Error::internal("text offered as a file")),
    };
    let prep = TransitPrep::new(transit).await?;
    wormhole
        .send(PeerMessage::Transit(prep.message().clone()).encode())
        .await?;
    wormhole
        .send(PeerMessage::Offer(bulk.offer()).encode())
        .await?;
    let peer_transit = await_file_ack(wormhole).await?;
    let key = wormhole
        .key()
        .ok_or(Error::SERVER_LOST)?
        .transit_key(wormhole.appid());
    let mut stream = prep.connect(Role::Sender, &key, &peer_transit).await?;
    ui.transit(stream.description());
    let (source, size) = bulk.open()?;
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
        .map_err(|_| Error::VANISHED)?;
    let ack: TransitAck =
        serde_json::from_slice(&buf[start..]).map_err(|e| Error::protocol(format!("ack: {e}")))?;
    match ack.confirms(&digest) {
        true => Ok(()),
        false => Err(PeerError::Integrity(
            "the receiver's SHA-256 does not match what was sent".into(),
        )
        .into()),
    }
}

fn file_size(item: &Item) -> u64 {
    match item.kind {
        crate::transfer::ItemKind::File { size } => size,
        crate::transfer::ItemKind::Dir => 0,
    }
}

impl Bulk {
    fn offer(&self) -> Offer {
        match self {
            Bulk::File(item, size) => Offer::File {
                filename: item.rel.clone(),
                filesize: *size,
            },
            Bulk::Zip(plan) => Offer::Directory(DirectoryOffer {
                mode: "zipfile/deflated".into(),
                dirname: plan.dirname().to_owned(),
                zipsize: plan.zip_size(),
                numbytes: plan.num_bytes(),
                numfiles: plan.num_files(),
            }),
        }
    }

    fn open(self) -> Result<(Box<dyn Read + Send>, u64)> {
        match self {
            Bulk::File(item, size) => {
                let path = &item.source;
                let file = File::open(path)
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                Ok((Box::new(file), size))
            }
            Bulk::Zip(plan) => {
                let size = plan.zip_size();
                Ok((zip_stream(plan)?, size))
            }
        }
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
                return Err(Error::protocol("unexpected answer to a file offer".into()))
            }
            PeerMessage::Error(e) => return Err(Error::from_peer(e)),
            PeerMessage::Offer(_) => {
                return Err(Error::protocol("an offer from the receiver".into()))
            }
        }
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
