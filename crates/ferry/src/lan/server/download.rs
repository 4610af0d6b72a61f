//! The download API, serving side: `prepare-download`, `download`, and the
//! page at `/` for a browser. The sans-IO [`Share`] machine grants sessions
//! (PIN, bounds) and names the file; this module streams it from disk,
//! [`Limits::max_downloads`](super::Limits) at a time, and tells the caller
//! who fetched what ([`Event::Served`]).

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use ferry_proto::localsend::{Share, ShareConfig};
use hyper::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::http::{from_machine, status, with_body, Body, Peer, Query};
use super::{page, Event, Shared};
use crate::lan::outgoing::Outgoing;
use crate::rendezvous::Cancel;

/// What is shared: the items as walked (each knows where its bytes come
/// from) and the sharing user's settings.
#[derive(Debug, Clone)]
pub struct Shelf {
    pub(in crate::lan) items: Vec<Outgoing>,
    pub(in crate::lan) config: ShareConfig,
}

impl Shelf {
    pub(in crate::lan) fn new(items: Vec<Outgoing>, config: ShareConfig) -> Shelf {
        Shelf { items, config }
    }
}

/// The server's share state.
pub(super) struct Sharing {
    machine: Mutex<Share>,
    /// Indexed by file id (ids are indexes).
    items: Vec<Outgoing>,
    downloads: Arc<Semaphore>,
}

impl Sharing {
    pub(super) fn new(shelf: Shelf, max_downloads: usize) -> Sharing {
        let offered: Vec<_> = shelf.items.iter().map(|o| o.item.clone()).collect();
        Sharing {
            machine: Mutex::new(Share::new(shelf.config, &offered)),
            items: shelf.items,
            downloads: Arc::new(Semaphore::new(max_downloads)),
        }
    }

    pub(super) fn machine(&self) -> MutexGuard<'_, Share> {
        self.machine.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// What a server that shares nothing answers to the download API.
fn absent() -> Response<Body> {
    status(StatusCode::NOT_FOUND)
}

/// A session for `peer` if its PIN is right (the PIN gate's refusal if not).
pub(super) fn grant(
    sharing: &Sharing,
    peer: IpAddr,
    session_id: Option<&str>,
    pin: Option<&str>,
) -> Result<String, ferry_proto::localsend::Response> {
    let mut rng = rand::rngs::OsRng;
    let mut machine = sharing.machine();
    machine.handle_prepare_download(now(), peer, session_id, pin, &mut rng)
}

/// `POST prepare-download[?sessionId][&pin]`: our info, a session, the files.
pub(super) fn prepare(shared: &Shared, peer: &Peer, query: &Query) -> Response<Body> {
    let Some(sharing) = shared.share.as_ref() else {
        return absent();
    };
    let granted = grant(
        sharing,
        peer.addr.ip(),
        query.get("sessionId"),
        query.get("pin"),
    );
    match granted {
        Ok(sid) => from_machine(sharing.machine().answer(shared.device.clone(), &sid)),
        Err(refusal) => from_machine(refusal),
    }
}

/// `GET download?sessionId&fileId`: the file's bytes, streamed.
pub(super) async fn download(shared: &Arc<Shared>, peer: &Peer, query: &Query) -> Response<Body> {
    let Some(sharing) = shared.share.as_ref() else {
        return absent();
    };
    let found = sharing
        .machine()
        .handle_download(now(), query.get("sessionId"), query.get("fileId"))
        .map(|dto| dto.id.clone());
    let id = match found {
        Ok(id) => id,
        Err(refusal) => return from_machine(refusal),
    };
    let Ok(permit) = sharing.downloads.clone().try_acquire_owned() else {
        return status(StatusCode::SERVICE_UNAVAILABLE);
    };
    let Some(item) = id.parse::<usize>().ok().and_then(|i| sharing.items.get(i)) else {
        return status(StatusCode::NOT_FOUND);
    };
    stream(shared.clone(), peer.addr.ip(), item, permit).await
}

/// The response streaming `item`, and a watcher that reports how it ended.
async fn stream(
    shared: Arc<Shared>,
    addr: IpAddr,
    item: &Outgoing,
    permit: OwnedSemaphorePermit,
) -> Response<Body> {
    let (sent, seen) = watch::channel(0u64);
    let body = match item.body(sent, Cancel::new()).await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!("cannot read {}: {e}", item.name());
            return status(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let (len, name) = (item.len(), item.name().to_owned());
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_LENGTH, len.into());
    let binary = HeaderValue::from_static("application/octet-stream");
    headers.insert(CONTENT_TYPE, binary);
    if let Ok(disposition) = HeaderValue::from_str(&disposition(&name)) {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    tokio::spawn(report_when_done(shared, addr, name, len, seen, permit));
    response
}

/// Waits until every byte was read for sending, or the body was dropped
/// early (the client left), then reports it and frees the download slot.
async fn report_when_done(
    shared: Arc<Shared>,
    addr: IpAddr,
    name: String,
    len: u64,
    mut seen: watch::Receiver<u64>,
    permit: OwnedSemaphorePermit,
) {
    let complete = seen.wait_for(|&n| n >= len).await.is_ok();
    drop(permit);
    shared.report(Event::Served {
        addr,
        name,
        complete,
    });
}

/// `attachment` with the last part of `name`: an ASCII stand-in for old
/// browsers, and the UTF-8 name percent-encoded (RFC 6266 / 5987). Nothing
/// the name holds can end the header or add a parameter.
pub(super) fn disposition(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    let plain: String = base
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for b in base.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(b as char)
            }
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

/// `GET /[?pin=…]`: the page listing the files with links (a PIN form
/// first when one is needed and not given right).
pub(super) fn page(shared: &Shared, peer: &Peer, query: &Query) -> Response<Body> {
    let Some(sharing) = shared.share.as_ref() else {
        return absent();
    };
    let pin = query.get("pin");
    let html = match grant(sharing, peer.addr.ip(), None, pin) {
        Ok(sid) => {
            let machine = sharing.machine();
            let files = machine.files().values();
            (
                StatusCode::OK,
                page::listing(&shared.device.alias, &sid, files),
            )
        }
        Err(refusal) => {
            let code = StatusCode::from_u16(refusal.status.code());
            let code = code.unwrap_or(StatusCode::UNAUTHORIZED);
            let why = page::Refusal::of(code.as_u16(), pin.is_some());
            (code, page::pin_form(&shared.device.alias, why))
        }
    };
    let mut response = with_body(html.0, html.1.into_bytes());
    let utf8 = HeaderValue::from_static("text/html; charset=utf-8");
    response.headers_mut().insert(CONTENT_TYPE, utf8);
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_disposition_names_the_last_part_safely() {
        assert_eq!(
            super::disposition("dir/ça \"va\".txt"),
            "attachment; filename=\"_a _va_.txt\"; filename*=UTF-8''%C3%A7a%20%22va%22.txt"
        );
        let hostile = super::disposition("a\r\nX-Evil: 1;b=\"c");
        assert!(hyper::header::HeaderValue::from_str(&hostile).is_ok());
        assert!(!hostile.contains('\r') && !hostile.contains("\"c"));
    }
}
