//! The rendezvous ("mailbox") server: the WebSocket at `/v1` plus the small HTTP
//! pages on the same port, and the WebSocket relay at [`RELAY_PATH`](crate::web::RELAY_PATH) (handed
//! to `relay`), all plain or all TLS.

mod batch;
mod behind;
mod combine;
mod conn;
pub(crate) mod frames;
mod fuse;
pub(crate) mod hub;
mod live;
mod nameplates;
pub(crate) mod refusal;
mod rules;
pub(crate) mod state;
mod summary;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_tungstenite_030::tungstenite::protocol::Role;
use tokio_tungstenite_030::WebSocketStream;

pub(crate) use conn::MailboxCtx;

use crate::http::{self, next_conn_id, ws_config, RequestHead};
use crate::io::MaybeTls;
use crate::limits::{IpSlot, PerIp};
use crate::metrics::Metrics;

/// Frames a mailbox connection queues before it writes them without a flush: a
/// command's `ack`, answer and live messages go out in one write (see `conn`).
/// The buffer holds only what one flush sends, so an idle client keeps no more.
const WRITE_BUFFER: usize = 8 * 1024;

/// What the mailbox port's connections share besides [`MailboxCtx`].
pub(crate) struct PortCtx {
    pub(crate) mailbox: Arc<MailboxCtx>,
    pub(crate) per_ip: Arc<PerIp>,
    pub(crate) trust_x_real_ip: bool,
    pub(crate) http_timeout: Duration,
    pub(crate) log_addresses: bool,
    /// The browser page's listeners, when the page is served.
    pub(crate) web: Option<crate::web::WebPorts>,
    /// The WebSocket relay, served at [`RELAY_PATH`](crate::web::RELAY_PATH) too when it runs.
    pub(crate) relay: Option<Arc<crate::relay::RelayPort>>,
}

/// Serves one TCP connection of the mailbox port: a WebSocket upgrade at `/v1`,
/// or a plain page.
pub(crate) async fn serve_http(
    mut stream: MaybeTls,
    peer: SocketAddr,
    ctx: Arc<PortCtx>,
    shutdown: watch::Receiver<bool>,
) {
    // Without a trusted proxy the socket address is the client: cap it before
    // spending anything on the request.
    let mut slot = None;
    if !ctx.trust_x_real_ip {
        match ctx.per_ip.try_acquire(peer.ip()) {
            Some(s) => slot = Some(s),
            None => {
                return Box::pin(too_many(
                    stream,
                    &ctx.mailbox.metrics,
                    ctx.log_addresses.then_some(peer.ip()),
                ))
                .await
            }
        }
    }
    // Boxed, like every step but the connection's own: the task's future is as
    // large as its largest step, and an idle client keeps it (see conn::serve).
    let (head, leftover) = match Box::pin(http::read_head(&mut stream, ctx.http_timeout)).await {
        Ok(h) => h,
        Err(e) => {
            tracing::debug!(error = %e, "bad HTTP request");
            return;
        }
    };
    ctx.mailbox.metrics.http_requests_total.inc();
    let relay = ctx
        .relay
        .as_ref()
        .filter(|_| head.path == crate::web::RELAY_PATH);
    if let (Some(relay), Some(key)) = (relay, head.ws_key.as_deref()) {
        drop(slot); // the relay counts its own connections per address
        let relay = Arc::clone(relay);
        let relay = crate::relay::serve_upgrade(stream, peer, (key, leftover), relay, shutdown);
        return Box::pin(relay).await;
    }
    if head.path == "/v1" {
        if let Some(key) = head.ws_key.clone() {
            let Some((conn, slot)) = Box::pin(upgrade(
                stream, peer, head, &key, leftover, &ctx, slot, shutdown,
            ))
            .await
            else {
                return;
            };
            conn.await;
            drop(slot);
            return;
        }
    }
    if head.path == "/v1" || relay.is_some() {
        let answer = http::respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "WebSocket only\n",
        );
        let _ = Box::pin(answer).await;
        return;
    }
    if let Some(ports) = ctx.web.filter(|_| crate::web::is_web_path(&head.path)) {
        let answer = crate::web::answer(&head.method, &head.path, head.host.as_deref(), ports);
        let _ = Box::pin(http::respond_web(
            &mut stream,
            &answer,
            head.method == "HEAD",
        ))
        .await;
        return;
    }
    let (status, ctype, body) = http::page(&head.path, || ctx.mailbox.metrics.render());
    let _ = Box::pin(http::respond(&mut stream, status, ctype, &body)).await;
}

/// The upgrade to a mailbox WebSocket: checks the per-address cap, answers the
/// handshake and returns the connection's future (to be awaited by the caller,
/// so that nothing of the handshake stays in the task) with the address slot it
/// holds; `None` if the client was refused or went away.
#[allow(clippy::too_many_arguments)]
async fn upgrade(
    stream: MaybeTls,
    peer: SocketAddr,
    head: RequestHead,
    key: &str,
    leftover: Vec<u8>,
    ctx: &PortCtx,
    mut slot: Option<IpSlot>,
    shutdown: watch::Receiver<bool>,
) -> Option<(impl Future<Output = ()> + Send, Option<IpSlot>)> {
    let ip = match head.real_ip.filter(|_| ctx.trust_x_real_ip) {
        Some(real) => real,
        None => peer.ip(),
    };
    if slot.is_none() {
        match ctx.per_ip.try_acquire(ip) {
            Some(s) => slot = Some(s),
            None => {
                let metrics = &ctx.mailbox.metrics;
                too_many(stream, metrics, ctx.log_addresses.then_some(ip)).await;
                return None;
            }
        }
    }
    // The reference reports X-Real-IP/-Port back to the client whether or not it
    // trusts them: it only helps the client's own hole punching.
    let you = SocketAddr::new(
        head.real_ip.unwrap_or(peer.ip()),
        head.real_port.unwrap_or(peer.port()),
    );
    let cfg = ws_config(
        ctx.mailbox
            .max_body
            .saturating_mul(2)
            .saturating_add(64 * 1024),
    )
    .write_buffer_size(WRITE_BUFFER);
    // The answer leaves with `welcome`, in one write (fuse.rs).
    let stream = fuse::WriteFuse::owing(stream, http::upgrade_answer(key));
    let ws = WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(cfg)).await;
    let id = next_conn_id();
    let span = match ctx.log_addresses {
        true => tracing::info_span!("mailbox", conn = id, peer = %peer),
        false => tracing::info_span!("mailbox", conn = id),
    };
    let fut = conn::serve(
        ws,
        Arc::clone(&ctx.mailbox),
        id,
        crate::limits::canonical(ip),
        you,
        shutdown,
    );
    Some((tracing::Instrument::instrument(fut, span), slot))
}

async fn too_many(mut stream: MaybeTls, metrics: &Metrics, ip: Option<IpAddr>) {
    metrics.refused_per_ip_mailbox.inc();
    match ip {
        Some(ip) => tracing::warn!(%ip, "refusing a connection: too many from this address"),
        None => tracing::warn!("refusing a connection: too many from one address"),
    }
    let _ = http::too_many(&mut stream).await;
}
