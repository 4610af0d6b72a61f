//! The transit relay: pairs two connections that present the same token and
//! copies bytes between them. Listens on TCP and, optionally, on WebSocket (its
//! own port, and `/relay` of the mailbox port, TLS there when the mailbox port
//! is); a TCP client pairs with a WebSocket one. Several instances can share
//! the pairing as a pool (`pool`): a connection whose token waits at another
//! instance is handed over to it.

mod conn;
mod meter;
mod pairing;
mod pairs;
pub(crate) mod pool;
mod splice;
mod stream;
#[cfg(target_os = "linux")]
mod zero_copy;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite_030::tungstenite::protocol::Role;
use tokio_tungstenite_030::tungstenite::Message;
use tokio_tungstenite_030::WebSocketStream;

use ferry_proto::wire::relay::{RelayRequest, BAD_HANDSHAKE};

pub(crate) use conn::RelayCtx;
pub(crate) use pairs::Pairs;
use pairs::TOO_MANY;
use pool::Origin;
pub(crate) use pool::Pool;
use stream::{RelayStream, WsBytes};

use crate::http;
use crate::io::MaybeTls;
use crate::limits::PerIp;
use crate::metrics::Metrics;

/// What both relay listeners share.
pub(crate) struct RelayPort {
    pub(crate) relay: Arc<RelayCtx>,
    pub(crate) per_ip: Arc<PerIp>,
    pub(crate) http_timeout: Duration,
    pub(crate) log_addresses: bool,
}

/// Counts an open relay connection while alive.
struct Open<'a>(&'a Metrics);

impl<'a> Open<'a> {
    fn new(m: &'a Metrics) -> Self {
        m.relay_connections.inc();
        m.relay_connections_total.inc();
        Open(m)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.relay_connections.dec();
    }
}

fn span(id: u64, peer: SocketAddr, log_addresses: bool) -> tracing::Span {
    match log_addresses {
        true => tracing::info_span!("relay", conn = id, peer = %peer),
        false => tracing::info_span!("relay", conn = id),
    }
}

fn refused(port: &RelayPort, peer: SocketAddr) {
    port.relay.metrics.refused_per_ip_relay.inc();
    match port.log_addresses {
        true => {
            tracing::warn!(ip = %peer.ip(), "refusing a relay connection: too many from this address")
        }
        false => tracing::warn!("refusing a relay connection: too many from one address"),
    }
}

/// Serves one TCP relay connection.
pub(crate) async fn serve_tcp(
    mut stream: TcpStream,
    peer: SocketAddr,
    port: Arc<RelayPort>,
    shutdown: watch::Receiver<bool>,
) {
    let Some(slot) = port.per_ip.try_acquire(peer.ip()) else {
        refused(&port, peer);
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(TOO_MANY)).await;
        return;
    };
    let _open = Open::new(&port.relay.metrics);
    let id = http::next_conn_id();
    let span = span(id, peer, port.log_addresses);
    let fut = conn::serve_tcp(Arc::clone(&port), stream, slot, peer.ip(), id, shutdown);
    tracing::Instrument::instrument(fut, span).await;
}

/// Serves one connection of the WebSocket relay listener.
pub(crate) async fn serve_ws(
    stream: TcpStream,
    peer: SocketAddr,
    port: Arc<RelayPort>,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut stream: MaybeTls = Box::new(stream);
    let Some(_slot) = port.per_ip.try_acquire(peer.ip()) else {
        return too_many(stream, &port, peer).await;
    };
    let Ok((head, leftover)) = http::read_head(&mut stream, port.http_timeout).await else {
        return;
    };
    let Some(key) = head.ws_key.as_deref() else {
        let (status, ctype, body) = http::page(&head.path, || port.relay.metrics.render());
        let _ = http::respond(&mut stream, status, ctype, &body).await;
        return;
    };
    upgrade(stream, peer, key, leftover, port, shutdown).await;
}

/// A WebSocket relay request that came to another listener (`/relay` of the
/// mailbox port, plain or TLS), its head already read.
pub(crate) async fn serve_upgrade(
    stream: MaybeTls,
    peer: SocketAddr,
    (key, leftover): (&str, Vec<u8>),
    port: Arc<RelayPort>,
    shutdown: watch::Receiver<bool>,
) {
    let Some(_slot) = port.per_ip.try_acquire(peer.ip()) else {
        return too_many(stream, &port, peer).await;
    };
    upgrade(stream, peer, key, leftover, port, shutdown).await;
}

async fn too_many(mut stream: MaybeTls, port: &RelayPort, peer: SocketAddr) {
    refused(port, peer);
    let _ = http::too_many(&mut stream).await;
}

async fn upgrade(
    mut stream: MaybeTls,
    peer: SocketAddr,
    key: &str,
    leftover: Vec<u8>,
    port: Arc<RelayPort>,
    shutdown: watch::Receiver<bool>,
) {
    if http::accept_upgrade(&mut stream, key).await.is_err() {
        return;
    }
    let _open = Open::new(&port.relay.metrics);
    let cfg = http::ws_config(16 * 1024 * 1024);
    let ws = WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(cfg)).await;
    let id = http::next_conn_id();
    let origin = Origin::Client(peer.ip());
    let fut = ws_handshake(Arc::clone(&port.relay), ws, id, origin, shutdown);
    tracing::Instrument::instrument(fut, span(id, peer, port.log_addresses)).await;
}

/// The first binary frame holds the whole `please relay` line.
async fn ws_handshake(
    ctx: Arc<RelayCtx>,
    mut ws: WebSocketStream<MaybeTls>,
    id: u64,
    origin: Origin,
    shutdown: watch::Receiver<bool>,
) {
    let started = Instant::now();
    let first = tokio::time::timeout(ctx.handshake_timeout, first_data_frame(&mut ws)).await;
    let req = match first {
        Err(_) => {
            tracing::info!("relay client sent no handshake in time");
            return ctx.record("errory", started, None, 0);
        }
        Ok(None) => return ctx.record("errory", started, None, 0),
        Ok(Some(frame)) => RelayRequest::decode_frame(&frame),
    };
    let mut stream = RelayStream::Ws(Box::new(WsBytes::new(ws)));
    match req {
        Some(req) => conn::rendezvous(ctx, stream, req, id, started, origin, shutdown).await,
        None => {
            tracing::info!("relay handshake failure");
            ctx.say(&mut stream, BAD_HANDSHAKE).await;
            ctx.record("errory", started, None, 0);
        }
    }
}

/// The first binary frame; `None` on close, error or a text frame (which the
/// reference treats as a protocol error).
async fn first_data_frame(ws: &mut WebSocketStream<MaybeTls>) -> Option<Vec<u8>> {
    loop {
        match ws.next().await? {
            Ok(Message::Binary(b)) => return Some(b.to_vec()),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            Ok(Message::Text(_) | Message::Close(_)) | Err(_) => return None,
        }
    }
}
