//! TLS on the mailbox port (`ferry serve --tls-cert FILE --tls-key FILE`): the
//! mailbox WebSocket, the page, `/metrics`, `/health` and the WebSocket relay at
//! `/relay` all go through one [`TlsPort`].
//!
//! The certificate is held by a [`Reloadable`] resolver: [`TlsPort::reload`]
//! (the CLI calls it on SIGHUP) reads both files again and swaps the pair in
//! only if they load and match, so new handshakes get the new certificate,
//! established connections keep theirs, and a bad new pair leaves the old one
//! serving. Only the ring provider is used (never aws-lc-rs).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::Error;

/// The certificate and key files, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then any intermediates.
    pub cert: PathBuf,
    /// PEM: its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The TLS side of the mailbox port.
pub(crate) struct TlsPort {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Arc<Reloadable>,
    acceptor: TlsAcceptor,
}

impl TlsPort {
    /// Loads the files; any problem is an error naming the file.
    pub(crate) fn new(files: TlsFiles) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = load(&files, &provider)?;
        let current = Arc::new(Reloadable(RwLock::new(Arc::new(key))));
        let config = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        Ok(TlsPort {
            files,
            provider,
            current,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Reads the files again; on success new handshakes use them, on failure the
    /// old certificate stays.
    pub(crate) fn reload(&self) -> Result<(), Error> {
        let key = load(&self.files, &self.provider)?;
        self.current.set(Arc::new(key));
        Ok(())
    }

    /// The TLS handshake of an accepted connection, within `limit`.
    pub(crate) async fn accept(
        &self,
        tcp: TcpStream,
        limit: Duration,
    ) -> io::Result<TlsStream<TcpStream>> {
        tokio::time::timeout(limit, self.acceptor.accept(tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
    }
}

/// The certificate new handshakes get.
#[derive(Debug)]
struct Reloadable(RwLock<Arc<CertifiedKey>>);

impl Reloadable {
    fn set(&self, key: Arc<CertifiedKey>) {
        let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
        *slot = key;
    }

    fn get(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// The certificate chain and key of `files`, checked to belong together.
fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, Error> {
    let certs = read_certs(&files.cert)?;
    let key = read_key(&files.key)?;
    CertifiedKey::from_der(certs, key, provider).map_err(|e| {
        Error::Tls(format!(
            "the key in {} does not fit the certificate in {} ({e})",
            files.key.display(),
            files.cert.display()
        ))
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = read(path, "certificate")?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(path, "certificate", &e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(path, "certificate", "no PEM CERTIFICATE in it"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let pem = read(path, "key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        // Say what was looked for, as for the certificate.
        rustls_pki_types::pem::Error::NoItemsFound => bad(
            path,
            "key",
            "no PEM PRIVATE KEY in it (PKCS#8, PKCS#1 or SEC1)",
        ),
        e => bad(path, "key", &e.to_string()),
    })
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        Error::Tls(format!(
            "cannot read the TLS {what} file {}: {e}",
            path.display()
        ))
    })
}

fn bad(path: &Path, what: &str, why: &str) -> Error {
    Error::Tls(format!("bad TLS {what} file {}: {why}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> TlsFiles {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let files = TlsFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }

    fn presented(port: &TlsPort) -> Vec<u8> {
        port.current.get().end_entity_cert().unwrap().to_vec()
    }

    #[test]
    fn reload_swaps_a_good_pair_and_keeps_the_old_on_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_pair(dir.path(), "a.example");
        let port = TlsPort::new(a.clone()).unwrap();
        let first = presented(&port);
        // A new good pair under the same names: swapped in.
        let b = write_pair(dir.path(), "b.example");
        std::fs::copy(&b.cert, &a.cert).unwrap();
        std::fs::copy(&b.key, &a.key).unwrap();
        port.reload().unwrap();
        let second = presented(&port);
        assert_ne!(first, second);
        // Garbage: refused, the second pair keeps serving.
        std::fs::write(&a.cert, "garbage").unwrap();
        let e = port.reload().unwrap_err().to_string();
        assert!(e.contains("bad TLS certificate file"), "{e}");
        assert_eq!(presented(&port), second);
        // A key that belongs to another certificate: refused too.
        std::fs::copy(&b.cert, &a.cert).unwrap();
        let c = write_pair(dir.path(), "c.example");
        std::fs::copy(&c.key, &a.key).unwrap();
        let e = port.reload().unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{e}");
        assert_eq!(presented(&port), second);
    }

    #[test]
    fn missing_files_are_named() {
        let files = TlsFiles {
            cert: "/nonexistent/c.pem".into(),
            key: "/nonexistent/k.pem".into(),
        };
        let e = TlsPort::new(files).err().unwrap().to_string();
        assert!(
            e.contains("cannot read the TLS certificate file /nonexistent/c.pem"),
            "{e}"
        );
    }
}
