//! The HTTPS client of LocalSend's API: one request per connection (what
//! the app does, and no pool to bound), HTTP/1.1 over tokio-rustls, the
//! server pinned to the fingerprint its device announced.
//!
//! Every wait is bounded: the connect and handshake, and the answer to each
//! request; answers are read up to [`MAX_ANSWER_BYTES`]. Uploads have no
//! total time (a big file takes what it takes) but their answer is bounded.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ferry_proto::localsend::native;
use ferry_proto::localsend::{
    decode, sender, share, DeviceInfo, Endpoint, PrepareUploadRequest, Register, Scheme,
};
use ferry_proto::native::record::Aead;
use ferry_proto::transfer::path::escape_for_terminal;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, UPGRADE};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::discovery::Device;
use super::identity::Identity;
use super::tls::{client_config, pin_mismatch};
use crate::error::{Error, LocalError, NetworkError, PeerError, Result};
use crate::native::Link;

/// Largest answer body read: device info and prepare-upload answers are a
/// few hundred bytes per file; this leaves room for thousands of files.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;
/// How long a connect plus TLS handshake may take on a LAN.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a plain request (info, register, cancel, an upload's answer after
/// its last byte) may take.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A request body: bytes in memory or a file streamed from disk.
pub type RequestBody = UnsyncBoxBody<Bytes, io::Error>;

/// Another device's HTTPS server, as announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub addr: SocketAddr,
    /// What the device announced (peer text): only this certificate is accepted.
    pub fingerprint: String,
    /// For messages only (peer text, escaped when shown).
    pub alias: String,
}

impl From<&Device> for Remote {
    /// The device's server where it announced from, pinned to what it announced.
    fn from(device: &Device) -> Remote {
        Remote {
            addr: SocketAddr::new(device.from.ip(), device.info.port),
            fingerprint: device.info.fingerprint.clone(),
            alias: device.info.alias.clone(),
        }
    }
}

/// A client for one remote device.
pub struct Client {
    remote: Remote,
    /// `None`: plain HTTP (the user allowed it for a device that announced it).
    tls: Option<TlsConnector>,
}

/// A download's answer, its body still streaming: the connection lives as
/// long as this does.
pub struct Download {
    pub status: u16,
    pub body: hyper::body::Incoming,
    _conn: AbortOnDrop<()>,
}

/// Status and body of an answer.
pub type Answer = (u16, Bytes);

impl Client {
    pub fn new(identity: &Identity, remote: Remote) -> Result<Client> {
        let config = client_config(identity, &remote.fingerprint)
            .map_err(|e| Error::internal(format!("TLS client configuration: {e}")))?;
        let tls = Some(TlsConnector::from(config));
        Ok(Client { remote, tls })
    }

    /// A client for a device that announced `scheme`: plain HTTP only if
    /// `allow_http` (the user's opt-in), else a [`LocalError::PlainHttp`].
    pub fn for_scheme(
        identity: &Identity,
        remote: Remote,
        scheme: Scheme,
        allow_http: bool,
    ) -> Result<Client> {
        match (scheme, allow_http) {
            (Scheme::Https, _) => Client::new(identity, remote),
            (Scheme::Http, true) => Ok(Client { remote, tls: None }),
            (Scheme::Http, false) => {
                let who = Client { remote, tls: None }.who();
                Err(LocalError::PlainHttp(who).into())
            }
        }
    }

    /// Whether requests go unencrypted.
    pub fn is_plain(&self) -> bool {
        self.tls.is_none()
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// Answers an announcement: tells the device who we are and learns who it is.
    pub async fn register(&self, us: &Register) -> Result<DeviceInfo> {
        let body = json(us)?;
        let (status, body) = self
            .call(Method::POST, Endpoint::Register.path(), body)
            .await?;
        self.device_info(status, &body)
    }

    pub async fn info(&self) -> Result<DeviceInfo> {
        let (status, body) = self
            .call(Method::GET, Endpoint::Info.path(), empty())
            .await?;
        self.device_info(status, &body)
    }

    /// POSTs a prepare-upload (with the PIN, if any). The receiver answers
    /// only once its user decided, so the wait is the caller's `patience`.
    pub async fn prepare_upload(
        &self,
        request: &PrepareUploadRequest,
        pin: Option<&str>,
        patience: Duration,
    ) -> Result<Answer> {
        let target = sender::prepare_upload_target(pin);
        self.request(Method::POST, target, json(request)?, patience)
            .await
    }

    /// POSTs one file's bytes to `target` (from the upload plan); `length`
    /// goes out as `Content-Length` (some peers require it).
    pub async fn upload(&self, target: String, body: RequestBody, length: u64) -> Result<u16> {
        let request = self.build(Method::POST, target, body, Some(length))?;
        let send = self.send(request);
        let (status, _) = send.await?;
        Ok(status)
    }

    /// Tells the receiver we gave up on `session_id`; with none, on the
    /// offer its user has not answered yet (the protocol's cancel by IP).
    pub async fn cancel(&self, session_id: Option<&str>) -> Result<u16> {
        let target = session_id.map_or(Endpoint::Cancel.path(), sender::cancel_target);
        Ok(self.call(Method::POST, target, empty()).await?.0)
    }

    /// POSTs a prepare-download (with the session and PIN, if any); the
    /// answer lists every shared file, so it may be as large as a body may.
    pub async fn prepare_download(
        &self,
        session_id: Option<&str>,
        pin: Option<&str>,
    ) -> Result<Answer> {
        let target = share::prepare_download_target(session_id, pin);
        let request = self.build(Method::POST, target, empty(), Some(0))?;
        let answer = self.send_limited(request, decode::MAX_BODY_BYTES);
        timeout(ANSWER_TIMEOUT, answer)
            .await
            .map_err(|_| NetworkError::TimedOut("waiting for the device's answer"))?
    }

    /// GETs one shared file; its body is left to the caller to stream (and
    /// bound: the headers arrive within [`ANSWER_TIMEOUT`], the body not).
    pub async fn download(&self, session_id: &str, file_id: &str) -> Result<Download> {
        let target = share::download_target(session_id, file_id);
        let request = self.build(Method::GET, target, empty(), None)?;
        let opened = timeout(ANSWER_TIMEOUT, self.open(request)).await;
        let (answer, conn) =
            opened.map_err(|_| NetworkError::TimedOut("waiting for the device's answer"))??;
        Ok(Download {
            status: answer.status().as_u16(),
            body: answer.into_body(),
            _conn: conn,
        })
    }

    /// Asks a ferry receiver to switch a fresh connection to the native
    /// protocol (`lan::native`): the link, or the refusal's status and body.
    pub(crate) async fn upgrade_native(
        &self,
        aead: Aead,
        pin: Option<&str>,
    ) -> Result<std::result::Result<Link, Answer>> {
        let target = native::upgrade_target(aead, pin);
        let mut request = self.build(Method::POST, target, empty(), Some(0))?;
        let headers = request.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static(native::UPGRADE_TOKEN));
        let io = TokioIo::new(self.connect().await?);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| self.lost(e))?;
        // Not aborted: the connection hands itself over to the upgrade.
        tokio::spawn(conn.with_upgrades());
        let answer = timeout(ANSWER_TIMEOUT, sender.send_request(request)).await;
        let answer =
            answer.map_err(|_| NetworkError::TimedOut("waiting for the receiver's answer"))?;
        let answer = answer.map_err(|e| self.lost(e))?;
        let status = answer.status().as_u16();
        if status != 101 {
            let body = Limited::new(answer.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await;
            let body = body.map_err(|e| self.protocol(format!("its answer: {e}")))?;
            return Ok(Err((status, body.to_bytes())));
        }
        let upgraded = hyper::upgrade::on(answer).await.map_err(|e| self.lost(e))?;
        Ok(Ok(super::link::client_link(upgraded, aead)?))
    }

    /// Any request, for tests that speak the API by hand.
    #[cfg(test)]
    pub(crate) async fn raw(
        &self,
        method: Method,
        target: String,
        body: Vec<u8>,
    ) -> Result<Answer> {
        let body = Full::new(Bytes::from(body)).map_err(never).boxed_unsync();
        self.call(method, target, body).await
    }

    async fn call(&self, method: Method, target: String, body: RequestBody) -> Result<Answer> {
        self.request(method, target, body, ANSWER_TIMEOUT).await
    }

    async fn request(
        &self,
        method: Method,
        target: String,
        body: RequestBody,
        patience: Duration,
    ) -> Result<Answer> {
        let length = body.size_hint().exact();
        let request = self.build(method, target, body, length)?;
        timeout(patience, self.send(request))
            .await
            .map_err(|_| NetworkError::TimedOut("waiting for the receiver's answer"))?
    }

    fn build(
        &self,
        method: Method,
        target: String,
        body: RequestBody,
        length: Option<u64>,
    ) -> Result<Request<RequestBody>> {
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .header(hyper::header::HOST, self.remote.addr.to_string());
        if let Some(length) = length {
            request = request.header(hyper::header::CONTENT_LENGTH, length);
        }
        request
            .body(body)
            .map_err(|e| Error::internal(format!("building a request: {e}")))
    }

    /// Sends on a fresh connection and reads the bounded answer.
    async fn send(&self, request: Request<RequestBody>) -> Result<Answer> {
        self.send_limited(request, MAX_ANSWER_BYTES).await
    }

    async fn send_limited(&self, request: Request<RequestBody>, limit: usize) -> Result<Answer> {
        let (answer, conn) = self.open(request).await?;
        let status = answer.status().as_u16();
        let body = Limited::new(answer.into_body(), limit);
        let body = body.collect().await;
        drop(conn);
        let body = body.map_err(|e| self.protocol(format!("its answer: {e}")))?;
        Ok((status, body.to_bytes()))
    }

    /// Sends on a fresh connection (TLS unless plain) and returns the answer
    /// with its body unread, and the connection's task.
    async fn open(
        &self,
        request: Request<RequestBody>,
    ) -> Result<(hyper::Response<Incoming>, AbortOnDrop<()>)> {
        let exchanged = match &self.tls {
            Some(_) => exchange(TokioIo::new(self.connect().await?), request).await,
            None => exchange(TokioIo::new(self.connect_plain().await?), request).await,
        };
        exchanged.map_err(|e| self.lost(e))
    }

    async fn connect_plain(&self) -> Result<TcpStream> {
        let tcp = timeout(CONNECT_TIMEOUT, TcpStream::connect(self.remote.addr)).await;
        let tcp = tcp.map_err(|_| NetworkError::TimedOut("connecting to the device"))?;
        let tcp = tcp.map_err(|e| NetworkError::NoConnection(format!("{}: {e}", self.who())))?;
        let _ = tcp.set_nodelay(true);
        Ok(tcp)
    }

    /// A pinned TLS connection (tests use it to misbehave by hand).
    pub(crate) async fn connect(&self) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let Some(tls) = &self.tls else {
            return Err(Error::internal("a TLS connect on a plain HTTP client"));
        };
        let handshake = async {
            let tcp = TcpStream::connect(self.remote.addr).await?;
            tcp.set_nodelay(true)?;
            // The name is not checked (the pin is); an IP is always valid.
            let name = ServerName::IpAddress(self.remote.addr.ip().into());
            tls.connect(name, tcp).await
        };
        match timeout(CONNECT_TIMEOUT, handshake).await {
            Err(_) => Err(NetworkError::TimedOut("connecting to the receiver").into()),
            Ok(Ok(tls)) => Ok(tls),
            Ok(Err(e)) if pin_mismatch(&e).is_some() => Err(self.mismatch()),
            Ok(Err(e)) => Err(NetworkError::NoConnection(format!("{}: {e}", self.who())).into()),
        }
    }

    fn device_info(&self, status: u16, body: &[u8]) -> Result<DeviceInfo> {
        if status != 200 {
            return Err(self.protocol(format!("answered {status}")));
        }
        decode::device_info(body).map_err(|e| self.protocol(e.to_string()))
    }

    fn mismatch(&self) -> Error {
        PeerError::CertificateMismatch(self.who()).into()
    }

    fn lost(&self, e: hyper::Error) -> Error {
        NetworkError::Lost(io::Error::other(format!("{}: {e}", self.who()))).into()
    }

    fn protocol(&self, what: String) -> Error {
        Error::protocol(format!("{}: {what}", self.who()))
    }

    /// For `Ui::transit` once the device answered: the path, `protocol`, who,
    /// and over HTTPS that its certificate is the one it announced (every
    /// handshake is pinned to it).
    pub(super) fn described(&self, protocol: &str) -> String {
        let who = self.who();
        if self.is_plain() {
            return format!("direct, {protocol} over plain HTTP (unencrypted) with {who}");
        }
        let fingerprint: String = self.remote.fingerprint.chars().take(16).collect();
        format!(
            "direct, {protocol} over HTTPS with {who}, certificate {}… as announced",
            escape_for_terminal(&fingerprint)
        )
    }

    /// `alias (ip)`, the alias escaped (peer text).
    fn who(&self) -> String {
        let alias = escape_for_terminal(&self.remote.alias);
        format!("{alias} ({})", self.remote.addr.ip())
    }
}

/// The fingerprint of the certificate the server at `addr` presents, for a
/// device given by IP (nothing announced to pin to): a handshake pinned to
/// no fingerprint fails, and the mismatch names what was presented. The
/// caller then pins to it and checks the device claims it in its info.
pub async fn probe(identity: &Identity, addr: SocketAddr) -> Result<String> {
    let remote = Remote {
        addr,
        fingerprint: String::new(),
        alias: addr.ip().to_string(),
    };
    Client::new(identity, remote)?.presented().await
}

impl Client {
    /// The fingerprint a failed pinned handshake names (see [`probe`]).
    async fn presented(&self) -> Result<String> {
        let Some(tls) = &self.tls else {
            return Err(Error::internal("probing a plain HTTP client"));
        };
        let handshake = async {
            let tcp = TcpStream::connect(self.remote.addr).await?;
            let name = ServerName::IpAddress(self.remote.addr.ip().into());
            tls.connect(name, tcp).await
        };
        let failed = match timeout(CONNECT_TIMEOUT, handshake).await {
            Err(_) => return Err(NetworkError::TimedOut("connecting to the receiver").into()),
            Ok(Ok(_)) => return Err(Error::internal("an empty pin matched a certificate")),
            Ok(Err(e)) => e,
        };
        match pin_mismatch(&failed) {
            Some(m) => Ok(m.presented.as_str().to_owned()),
            None => {
                Err(NetworkError::NoConnection(format!("{}: {failed}", self.remote.addr)).into())
            }
        }
    }
}

/// One request on `io`, the connection driven by a task of its own.
async fn exchange<IO>(
    io: TokioIo<IO>,
    request: Request<RequestBody>,
) -> std::result::Result<(hyper::Response<Incoming>, AbortOnDrop<()>), hyper::Error>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    // Aborted when dropped too (a cancel), so an upload stops sending the
    // moment its caller gives up.
    let conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let answer = sender.send_request(request).await?;
    Ok((answer, conn))
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) fn json(value: &impl serde::Serialize) -> Result<RequestBody> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::internal(e.to_string()))?;
    Ok(Full::new(Bytes::from(bytes)).map_err(never).boxed_unsync())
}

pub(crate) fn empty() -> RequestBody {
    Full::new(Bytes::new()).map_err(never).boxed_unsync()
}

fn never(never: std::convert::Infallible) -> io::Error {
    match never {}
}
