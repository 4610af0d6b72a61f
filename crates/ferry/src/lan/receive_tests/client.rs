//! A small LocalSend sender for the tests: hyper over tokio-rustls with
//! ferry's client configuration, pinned to the server's fingerprint. One
//! connection per request, as simple as can be.

use std::net::SocketAddr;
use std::sync::Arc;

use ferry_proto::localsend::{
    decode, FileDto, PrepareUploadRequest, PrepareUploadResponse, Register, Scheme,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::lan::identity::Identity;
use crate::lan::tls::client_config;

pub(super) struct Client {
    addr: SocketAddr,
    tls: TlsConnector,
    us: Register,
    server_fingerprint: String,
}

/// A file to offer: its name as sent and its content.
pub(super) type File<'a> = (&'a str, &'a [u8]);

impl Client {
    pub(super) fn new(addr: SocketAddr, server_fingerprint: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity::load_or_create(dir.path()).unwrap();
        let config = client_config(&identity, server_fingerprint).unwrap();
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
        let tls = TlsConnector::from(Arc::<rustls::ClientConfig>::clone(&config));
        let server_fingerprint = server_fingerprint.to_owned();
        Client {
            addr,
            tls,
            us,
            server_fingerprint,
        }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(super) fn server_fingerprint(&self) -> &str {
        &self.server_fingerprint
    }

    pub(super) async fn connect(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        self.tls.connect(name, tcp).await.unwrap()
    }

    /// POSTs `body` to `path` (with its query) and returns status and body.
    pub(super) async fn post(&self, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        self.request(Method::POST, path, body).await
    }

    pub(super) async fn get(&self, path: &str) -> (u16, Vec<u8>) {
        self.request(Method::GET, path, Vec::new()).await
    }

    async fn request(&self, method: Method, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let io = TokioIo::new(self.connect().await);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let request = Request::builder()
            .method(method)
            .uri(format!("/api/localsend/v2/{path}"))
            .header("host", self.addr.to_string())
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
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
