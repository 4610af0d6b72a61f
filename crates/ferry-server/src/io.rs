//! A connection of the mailbox port: plain TCP, or TLS over TCP when the server
//! has a certificate (see `tls`). Everything above the accept loop (HTTP, the
//! mailbox WebSocket, the WebSocket relay) reads and writes it the same way.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream both ways.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A mailbox-port connection (or one of the WebSocket relay's own port, plain).
pub(crate) type MaybeTls = Box<dyn Io>;

/// An accepted connection of the mailbox port, with `TCP_NODELAY` (small frames
/// both ways), after the TLS handshake (within `limit`) when the port has a
/// certificate; `None` if the handshake failed.
pub(crate) async fn accept(
    tcp: TcpStream,
    tls: Option<&crate::tls::TlsPort>,
    limit: std::time::Duration,
) -> Option<MaybeTls> {
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else {
        return Some(Box::new(tcp));
    };
    match tls.accept(tcp, limit).await {
        Ok(stream) => Some(Box::new(stream)),
        Err(e) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
    }
}
