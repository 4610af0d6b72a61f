//! One connection: the TLS handshake (unless plain HTTP), then HTTP/1.1 with bounded headers and
//! time; and the timer that ends idle sessions.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsAcceptor;

use super::http::Peer;
use super::{routes, Event, Shared};
use crate::lan::stall::WriteStall;
use crate::lan::tls::peer_fingerprint;

/// One accepted connection: TLS first unless the server is plain HTTP
/// (`acceptor` is `None`, opted into by the user).
pub(super) async fn serve(
    tcp: TcpStream,
    addr: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    stopped: watch::Receiver<()>,
) {
    let limits = shared.limits.clone();
    let tcp = WriteStall::new(tcp, limits.idle_timeout);
    let Some(acceptor) = acceptor else {
        let peer = Peer {
            addr,
            fingerprint: None,
        };
        return serve_http(TokioIo::new(tcp), peer, shared, stopped).await;
    };
    let tls = match timeout(limits.request_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return tracing::debug!(%addr, "TLS handshake failed: {e}"),
        Err(_) => return tracing::debug!(%addr, "TLS handshake timed out"),
    };
    let fingerprint = peer_fingerprint(&tls).map(|f| f.as_str().to_owned());
    let peer = Peer { addr, fingerprint };
    serve_http(TokioIo::new(tls), peer, shared, stopped).await;
}

/// HTTP/1.1 with bounded headers and time, until the client or the server
/// goes.
async fn serve_http<IO>(
    io: TokioIo<IO>,
    peer: Peer,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<()>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (limits, addr) = (shared.limits.clone(), peer.addr);
    let peer = Arc::new(peer);
    let service = service_fn(move |request| {
        let (shared, peer) = (shared.clone(), peer.clone());
        async move { Ok::<_, std::convert::Infallible>(routes::handle(&shared, &peer, request).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_BUF))
        .keep_alive(true)
        .serve_connection(io, service)
        .with_upgrades(); // ferry's native upgrade (`native`)
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        // The server is gone: finish the request in flight, then close.
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            let Ok(result) = timeout(limits.request_timeout, conn).await else {
                return tracing::debug!(%addr, "closed at shutdown mid-request");
            };
            result
        }
    };
    if let Err(e) = result {
        tracing::debug!(%addr, "connection ended: {e}");
    }
}

/// hyper refuses a read buffer below 8 KiB.
const MIN_BUF: usize = 8192;

/// Ends an accepted session that stopped uploading (the machine's idle
/// timeout), waking exactly when the machine says; with no session it looks
/// again after `session_idle`, the earliest a new one could expire. Stops with
/// the server.
pub(super) async fn expire_sessions(
    shared: Weak<Shared>,
    session_idle: Duration,
    mut stopped: watch::Receiver<()>,
) {
    loop {
        let Some(due) = shared.upgrade().map(|s| s.machine().poll_timeout()) else {
            return;
        };
        let wake = due.map_or_else(|| Instant::now() + session_idle, Instant::from_std);
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = stopped.changed() => return,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let ended = shared.machine().handle_timeout(Instant::now().into_std());
        if let Some(ended) = ended {
            shared.report(Event::Ended(ended));
        }
    }
}
