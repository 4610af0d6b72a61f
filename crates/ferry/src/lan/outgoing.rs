//! What a LAN send offers, from the one walk every protocol shares
//! ([`Selection`]), and each file's upload body streamed from disk.

use std::io;
use std::path::PathBuf;

use ferry_proto::localsend::OutgoingItem;
use futures_util::stream;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use super::client::RequestBody;
use crate::error::{Error, Result};
use crate::rendezvous::Cancel;
use crate::transfer::{Payload, Selection};
use crate::ui::Ui;

/// How much of a file is read per body frame: each read is a trip to the
/// blocking pool, so fewer, larger ones cost less CPU per byte.
const CHUNK: usize = 512 * 1024;

/// An offered item and where its bytes come from.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    pub(super) item: OutgoingItem,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Text(Bytes),
}

/// Walks `payload` once (as every protocol does) into its items, warning
/// about what the walk left out and telling `ui` what will be offered.
pub(super) fn walk(payload: Payload, ui: &mut dyn Ui) -> Result<Vec<Outgoing>> {
    let (selection, loose) = select(payload, ui)?;
    Ok(items(selection, loose))
}

/// The walk of [`walk`], before it becomes items: the selection and whether
/// its paths were given loose (the native protocol offers a selection).
pub(super) fn select(payload: Payload, ui: &mut dyn Ui) -> Result<(Selection, bool)> {
    let loose = matches!(payload, Payload::Paths { .. });
    let selection = Selection::walk(payload).map_err(|e| Error::io("reading what to send", e))?;
    if let Selection::Directory(dir) = &selection {
        for skipped in &dir.skipped {
            ui.warn(&format!(
                "not sending {}: {}",
                skipped.display(),
                skipped.reason
            ));
        }
    }
    ui.sending(&announced(&selection, loose));
    Ok((selection, loose))
}

/// The items of `selection`: a folder as its files named `DIR/sub/name`
/// (how the app sends one, and how receivers rebuild it), a text as one
/// `text/plain` item with its preview. Several paths given together
/// (`loose`) go as themselves, as the app sends a multiple selection, not
/// inside the directory the wormhole protocols wrap them in.
pub(super) fn items(selection: Selection, loose: bool) -> Vec<Outgoing> {
    match selection {
        Selection::Text(text) => vec![Outgoing {
            source: Source::Text(Bytes::from(text.clone().into_bytes())),
            item: OutgoingItem::Text(text),
        }],
        Selection::File(item) => vec![file(item.rel, item.source, size(&item.kind))],
        Selection::Directory(dir) => {
            let files = dir.files();
            let name = |rel: &str| match loose {
                true => rel.to_owned(),
                false => format!("{}/{rel}", dir.name),
            };
            let named = files.map(|(i, len)| (name(&i.rel), &i.source, len));
            named.map(|(n, s, len)| file(n, s.clone(), len)).collect()
        }
    }
}

/// What the user is told is being sent: loose paths are several items.
pub(super) fn announced(selection: &Selection, loose: bool) -> crate::ui::Outgoing {
    match selection {
        Selection::Directory(dir) if loose => {
            let (files, bytes) = dir
                .files()
                .fold((0, 0), |(n, sum), (_, len)| (n + 1, sum + len));
            let tops = dir.items.iter().filter_map(|i| i.rel.split('/').next());
            let tops: std::collections::BTreeSet<&str> = tops.collect();
            let summary = crate::transfer::OfferSummary::several(tops.into_iter(), files, bytes);
            crate::ui::Outgoing::Files(summary)
        }
        other => crate::ui::Outgoing::of(other),
    }
}

fn size(kind: &crate::transfer::ItemKind) -> u64 {
    match kind {
        crate::transfer::ItemKind::File { size } => *size,
        crate::transfer::ItemKind::Dir => 0,
    }
}

fn file(relative_name: String, path: PathBuf, size: u64) -> Outgoing {
    Outgoing {
        item: OutgoingItem::File {
            relative_name,
            size,
            sha256: None,
            modified: None,
        },
        source: Source::File(path),
    }
}

impl Outgoing {
    /// The size declared in the offer, sent as `Content-Length`.
    pub(super) fn len(&self) -> u64 {
        match &self.item {
            OutgoingItem::File { size, .. } => *size,
            OutgoingItem::Text(text) => text.len() as u64,
        }
    }

    /// The display name (peer-safe: it is ours).
    pub(super) fn name(&self) -> &str {
        match &self.item {
            OutgoingItem::File { relative_name, .. } => relative_name,
            OutgoingItem::Text(_) => ferry_proto::localsend::sender::TEXT_NAME,
        }
    }

    /// The upload body; every byte read is added to `sent`. Once `cancel`
    /// fires it sends nothing more but stays open, so the receiver hears the
    /// cancel before it sees the connection close.
    pub(super) async fn body(
        &self,
        sent: watch::Sender<u64>,
        cancel: Cancel,
    ) -> io::Result<RequestBody> {
        match &self.source {
            Source::Text(text) => {
                sent.send_modify(|n| *n += text.len() as u64);
                let full = Full::new(text.clone());
                Ok(full.map_err(|never| match never {}).boxed_unsync())
            }
            Source::File(path) => {
                let file = tokio::fs::File::open(path).await?;
                Ok(file_body(file, self.len(), sent, cancel))
            }
        }
    }
}

/// Exactly `len` bytes of `file`: a file that grew is cut at the declared
/// size; one that shrank fails the body, so the receiver never takes a short
/// file as complete.
fn file_body(
    file: tokio::fs::File,
    len: u64,
    sent: watch::Sender<u64>,
    cancel: Cancel,
) -> RequestBody {
    let frames = stream::unfold((file, len), move |(mut file, left)| {
        let (sent, cancel) = (sent.clone(), cancel.clone());
        async move {
            let (frame, left) = next_chunk(&mut file, left, &sent, &cancel).await?;
            Some((frame, (file, left)))
        }
    });
    StreamBody::new(frames).boxed_unsync()
}

type Chunk = io::Result<Frame<Bytes>>;

/// The next frame and the bytes left after it; `None` at the end.
async fn next_chunk(
    file: &mut tokio::fs::File,
    left: u64,
    sent: &watch::Sender<u64>,
    cancel: &Cancel,
) -> Option<(Chunk, u64)> {
    if left == 0 {
        return None;
    }
    if cancel.is_cancelled() {
        std::future::pending::<()>().await;
    }
    let mut buf = vec![0; CHUNK.min(usize::try_from(left).unwrap_or(CHUNK))];
    let n = match file.read(&mut buf).await {
        Ok(0) => {
            let shrank = io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank");
            return Some((Err(shrank), 0));
        }
        Ok(n) => n,
        Err(e) => return Some((Err(e), 0)),
    };
    buf.truncate(n);
    sent.send_modify(|done| *done += n as u64);
    Some((Ok(Frame::data(Bytes::from(buf))), left - n as u64))
}
