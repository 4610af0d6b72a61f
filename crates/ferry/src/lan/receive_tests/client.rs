//! A LocalSend sender for the receive tests: ferry's own LAN client, pinned
//! to the server's fingerprint, plus raw connections for misbehaving.

use std::net::SocketAddr;

use ferry_proto::localsend::{
    decode, FileDto, PrepareUploadRequest, PrepareUploadResponse, Register, Scheme,
};
use hyper::Method;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::lan::client::{self, Remote};
use crate::lan::identity::Identity;

/// ferry's own LAN client ([`client::Client`]) with the shortcuts these
/// tests want: panics instead of errors, paths relative to the API.
pub(super) struct Client {
    inner: client::Client,
    us: Register,
}

/// A file to offer: its name as sent and its content.
pub(super) type File<'a> = (&'a str, &'a [u8]);

impl Client {
    pub(super) fn new(addr: SocketAddr, server_fingerprint: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity::load_or_create(dir.path()).unwrap();
        let remote = Remote {
            addr,
            fingerprint: server_fingerprint.to_owned(),
            alias: "receiver".into(),
        };
        let us = Register {
            alias: "tester".into(),
            version: "2.1".into(),
            device_model: None,
            device_type: None,
            fingerprint: identity.fingerprint().as_str().to_owned(),
            port: 53317,
            protocol: Scheme::Https,
            download: false,
        };
        let inner = client::Client::new(&identity, remote).unwrap();
        Client { inner, us }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.inner.remote().addr
    }

    pub(super) fn server_fingerprint(&self) -> &str {
        &self.inner.remote().fingerprint
    }

    pub(super) async fn connect(&self) -> TlsStream<TcpStream> {
        self.inner.connect().await.unwrap()
    }

    /// POSTs `body` to `path` (with its query) and returns status and body.
    pub(super) async fn post(&self, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        self.request(Method::POST, path, body).await
    }

    pub(super) async fn get(&self, path: &str) -> (u16, Vec<u8>) {
        self.request(Method::GET, path, Vec::new()).await
    }

    async fn request(&self, method: Method, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let target = format!("/api/localsend/v2/{path}");
        let (status, body) = self.inner.raw(method, target, body).await.unwrap();
        (status, body.to_vec())
    }

    /// `prepare-upload` of `files` (ids `f0`, `f1`, … with their SHA-256).
    pub(super) async fn prepare(
        &self,
        files: &[File<'_>],
        pin: Option<&str>,
    ) -> (u16, Option<PrepareUploadResponse>) {
        let files = files.iter().enumerate().map(|(i, (name, data))| {
            let id = format!("f{i}");
            (id.clone(), dto(&id, name, data))
        });
        let request = PrepareUploadRequest {
            info: self.us.clone(),
            files: files.collect(),
        };
        let query = pin.map(|p| format!("?pin={p}")).unwrap_or_default();
        let body = serde_json::to_vec(&request).unwrap();
        let (status, body) = self.post(&format!("prepare-upload{query}"), body).await;
        (status, decode::prepare_upload_response(&body).ok())
    }

    pub(super) async fn upload(&self, session: &str, id: &str, token: &str, data: &[u8]) -> u16 {
        let path = format!("upload?sessionId={session}&fileId={id}&token={token}");
        self.post(&path, data.to_vec()).await.0
    }

    /// Starts an upload declaring `declared` bytes, sends `data`, then drops
    /// the connection.
    pub(super) async fn upload_and_drop(&self, query: &str, declared: u64, data: &[u8]) {
        drop(self.upload_and_hold(query, declared, data).await);
    }

    /// As `upload_and_drop`, but the connection stays open (silent).
    pub(super) async fn upload_and_hold(
        &self,
        query: &str,
        declared: u64,
        data: &[u8],
    ) -> TlsStream<TcpStream> {
        let mut tls = self.connect().await;
        let head = format!(
            "POST /api/localsend/v2/upload?{query} HTTP/1.1\r\nhost: x\r\ncontent-length: {declared}\r\n\r\n"
        );
        tls.write_all(head.as_bytes()).await.unwrap();
        tls.write_all(data).await.unwrap();
        tls.flush().await.unwrap();
        tls
    }
}

pub(super) fn dto(id: &str, name: &str, data: &[u8]) -> FileDto {
    FileDto {
        id: id.to_owned(),
        file_name: name.to_owned(),
        size: data.len() as u64,
        file_type: "application/octet-stream".into(),
        sha256: Some(hex::encode(Sha256::digest(data))),
        preview: None,
        metadata: None,
    }
}
