//! The native link over a LocalSend HTTPS connection that hyper upgraded
//! (`lan::native`): the TLS stream taken back from hyper, the record key
//! exported from its session (RFC 8446 §7.5, our label), so it is bound to
//! this handshake and its certificates.

use hyper::upgrade::{Parts, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::localsend::native::{record_key, EXPORTER_LABEL};
use ferry_proto::native::record::Aead;
use ferry_proto::transit::Role;

use super::stall::WriteStall;
use crate::error::{Error, Result};
use crate::native::Link;
use crate::timing::Timing;

type ServerTls = tokio_rustls::server::TlsStream<WriteStall<TcpStream>>;
type ClientTls = tokio_rustls::client::TlsStream<TcpStream>;

/// The receiver's native link over an upgraded server connection.
pub(crate) fn server_link(upgraded: Upgraded, aead: Aead) -> Result<Link> {
    upgraded_link::<ServerTls>(upgraded, aead, Role::Receiver)
}

/// The sender's native link over an upgraded client connection.
pub(crate) fn client_link(upgraded: Upgraded, aead: Aead) -> Result<Link> {
    upgraded_link::<ClientTls>(upgraded, aead, Role::Sender)
}

/// Takes the TLS stream back from hyper (no extra layer on the hot path).
fn upgraded_link<S: Session>(upgraded: Upgraded, aead: Aead, role: Role) -> Result<Link> {
    let Parts { io, read_buf, .. } = upgraded
        .downcast::<TokioIo<S>>()
        .map_err(|_| Error::internal("an upgraded connection of another type"))?;
    let tls = io.into_inner();
    let key = tls.record_key()?;
    Ok(link(tls, read_buf, &key, aead, role))
}

/// A TLS stream whose session exports the native record key.
trait Session: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn record_key(&self) -> Result<TransitKey>;
}

impl Session for ServerTls {
    fn record_key(&self) -> Result<TransitKey> {
        exported(self.get_ref().1)
    }
}

impl Session for ClientTls {
    fn record_key(&self) -> Result<TransitKey> {
        exported(self.get_ref().1)
    }
}

/// The native record key both ends of this TLS session derive.
fn exported<D>(conn: &rustls::ConnectionCommon<D>) -> Result<TransitKey> {
    let bytes = conn
        .export_keying_material([0u8; 32], EXPORTER_LABEL, None)
        .map_err(|e| Error::internal(format!("exporting the TLS session's key: {e}")))?;
    Ok(record_key(bytes))
}

/// Records over the TLS stream; bytes hyper read past the HTTP exchange
/// come first.
fn link<S>(
    stream: S,
    read_buf: hyper::body::Bytes,
    key: &TransitKey,
    aead: Aead,
    role: Role,
) -> Link
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (reader, writer) = tokio::io::split(stream);
    let reader = std::io::Cursor::new(read_buf).chain(reader);
    let halves = (Box::new(reader) as _, Box::new(writer) as _);
    Link::over(halves, key, aead, role, &Timing::default())
}
