//! `POST /api/ferry/v1/native`: a ferry sender asks to switch its connection
//! to native frames (`lan::native`). The PIN and the one-session rule are
//! the machine's, as for a prepare-upload; the offer itself comes over the
//! native link and the caller asks its user then. Anyone else gets a plain
//! HTTP refusal and the connection stays HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use ferry_proto::localsend::native::UPGRADE_TOKEN;
use ferry_proto::native::record::Aead;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, UPGRADE};
use hyper::upgrade::Upgraded;
use hyper::{Method, Request, Response, StatusCode};

use super::http::{from_machine, with_body, Body, Peer, Query};
use super::{Event, Shared};
use crate::error::Result;
use crate::native::Link;

/// An accepted upgrade, for the caller to receive on. It holds the receiver's
/// session slot until dropped.
pub struct NativeConn {
    upgraded: Upgraded,
    aead: Aead,
    peer: SocketAddr,
    _slot: Slot,
}

impl std::fmt::Debug for NativeConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeConn")
            .field("peer", &self.peer)
            .field("aead", &self.aead)
            .finish_non_exhaustive()
    }
}

impl NativeConn {
    /// Who connected.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The native link, and the slot to hold while it is used.
    pub(crate) fn into_link(self) -> Result<(Link, impl Drop)> {
        let link = crate::lan::link::server_link(self.upgraded, self.aead)?;
        Ok((link, self._slot))
    }
}

/// The machine's native session slot, freed when dropped.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.machine().native_ended();
    }
}

pub(super) fn upgrade(
    shared: &Arc<Shared>,
    peer: &Peer,
    request: Request<Incoming>,
) -> Response<Body> {
    if request.method() != Method::POST {
        return with_body(StatusCode::METHOD_NOT_ALLOWED, Vec::new());
    }
    if !asks_upgrade(&request) {
        let why = format!(r#"{{"message":"Upgrade: {UPGRADE_TOKEN} required"}}"#);
        let mut response = with_body(StatusCode::UPGRADE_REQUIRED, why.into_bytes());
        let token = HeaderValue::from_static(UPGRADE_TOKEN);
        response.headers_mut().insert(UPGRADE, token);
        return response;
    }
    let query = Query::parse(request.uri().query().unwrap_or_default());
    let Some(aead) = query.get("aead").and_then(Aead::from_name) else {
        let why = br#"{"message":"Unknown cipher"}"#.to_vec();
        return with_body(StatusCode::BAD_REQUEST, why);
    };
    let admitted = shared
        .machine()
        .handle_native(peer.addr.ip(), query.get("pin"));
    if let Err(refusal) = admitted {
        return from_machine(refusal);
    }
    let slot = Slot(shared.clone());
    let (shared, addr) = (shared.clone(), peer.addr);
    let upgrading = hyper::upgrade::on(request);
    tokio::spawn(async move {
        match upgrading.await {
            Ok(upgraded) => shared.report(Event::Native(NativeConn {
                upgraded,
                aead,
                peer: addr,
                _slot: slot,
            })),
            Err(e) => tracing::debug!(%addr, "native upgrade failed: {e}"),
        }
    });
    switching()
}

/// `Connection: upgrade` and our token in `Upgrade`.
fn asks_upgrade(request: &Request<Incoming>) -> bool {
    let has = |name, token: &str| {
        let values = request.headers().get_all(name).iter();
        let mut tokens = values
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','));
        tokens.any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    has(CONNECTION, "upgrade") && has(UPGRADE, UPGRADE_TOKEN)
}

fn switching() -> Response<Body> {
    let mut response = with_body(StatusCode::SWITCHING_PROTOCOLS, Vec::new());
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static(UPGRADE_TOKEN));
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    response
}
