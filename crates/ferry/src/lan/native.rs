//! ferry's native protocol between two ferry on the LAN
//! (docs/localsend/native-over-lan.md): the sender upgrades one of its
//! pinned, mutually authenticated HTTPS connections to the receiver
//! (`POST /api/ferry/v1/native`, `101 Switching Protocols`), and from then on
//! that TLS connection carries native records keyed by the TLS session itself.
//!
//! The record key is exported from the session (RFC 8446 §7.5, our label), so
//! it is bound to this handshake and its certificates: no code, no PAKE.

use hyper::upgrade::{Parts, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::localsend::native::{choose, record_key, FerryCaps, EXPORTER_LABEL};
use ferry_proto::localsend::sender::refusal;
use ferry_proto::native::record::Aead;
use ferry_proto::transit::Role;

use super::client::Client;
use super::send::SendOptions;
use super::server::WriteStall;
use crate::error::{Error, PeerError, Result};
use crate::native::{fastest_aead, Link};
use crate::timing::Timing;
use crate::transfer::Selection;
use crate::ui::Ui;

/// The cipher to use with this receiver, if it is a ferry offering the native
/// protocol (its `info` says so); any other device, or no answer, is `None`.
pub(super) async fn cipher(client: &Client) -> Option<Aead> {
    // The record key comes from the TLS session: none over plain HTTP.
    if client.is_plain() {
        return None;
    }
    let info = client.info().await.ok()?;
    choose(&FerryCaps::native(fastest_aead()), info.ferry.as_ref())
}

/// Sends `selection` (and whether its paths are loose) over the native protocol: the upgrade (PIN, busy: the
/// LocalSend refusals), then the native sender; Ctrl-C is told to the receiver.
pub(super) async fn send(
    client: &Client,
    aead: Aead,
    selection: (Selection, bool),
    options: &SendOptions,
    ui: &mut dyn Ui,
) -> Result<()> {
    let cancel = &options.cancel;
    let upgrade = client.upgrade_native(aead, options.pin.as_deref());
    let link = cancel.guard(upgrade).await?;
    let link = link.map_err(|(status, body)| PeerError::Refused(refusal(status, &body)))?;
    ui.transit(&client.described("ferry native protocol over LocalSend"));
    crate::native::send_over(link, selection, cancel, ui).await
}

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

/// What the receiver's `Ui::transit` hears: the path is direct, the protocol ours.
pub(super) fn described(peer: std::net::SocketAddr) -> String {
    format!("direct, ferry native protocol over LocalSend HTTPS with {peer}")
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
