//! TLS to servers that have a CA-signed certificate: `wss://` mailbox servers and
//! `tls:` / `wss://` transit relays. (The LAN's pinned, self-signed TLS is
//! `lan::tls`; both use [`ring_provider`], the one crypto provider.)
//!
//! Which CAs are trusted is a [`Trust`]: the system's roots (read by
//! `rustls-native-certs`, which follows OpenSSL: `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`, when set, *replace* the system's bundle), plus any extra
//! CAs from a PEM file (a private CA). A certificate the server presents that
//! fails verification becomes a [`CertProblem`], which says why in the
//! user's terms.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use ferry_proto::transfer::path::escape_for_terminal;

// The kind lives with the other errors; it is reached here too, where it is made.
pub use crate::error::CertProblem;
use crate::error::{Error, LocalError};

/// The one crypto provider of ferry's TLS: ring (never aws-lc-rs), passed
/// explicitly instead of a process default.
pub(crate) fn ring_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate authorities a client trusts.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Trusted besides the system's roots.
    extra: Vec<CertificateDer<'static>>,
}

impl Trust {
    /// The system's roots only (or what `SSL_CERT_FILE` / `SSL_CERT_DIR` name).
    pub fn system() -> Self {
        Trust::default()
    }

    /// The system's roots and every certificate in the PEM file `path`.
    pub fn with_ca_file(path: &Path) -> Result<Self, Error> {
        let bad = |why: String| {
            Error::from(LocalError::Io {
                context: format!("cannot use the CA file {}", path.display()),
                cause: io::Error::new(io::ErrorKind::InvalidData, why),
            })
        };
        let pem = std::fs::read(path)
            .map_err(|e| Error::io(format!("cannot read the CA file {}", path.display()), e))?;
        let extra = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("not a PEM certificate bundle ({e})")))?;
        if extra.is_empty() {
            return Err(bad("it holds no PEM certificate".into()));
        }
        Ok(Trust { extra })
    }

    /// A client configuration that verifies servers against these CAs.
    fn client_config(&self) -> io::Result<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        // Unreadable or unparsable system certificates are skipped, as curl does:
        // one broken file must not stop every connection.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        roots.add_parsable_certificates(self.extra.iter().cloned());
        let config = ClientConfig::builder_with_provider(ring_provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// TLS over `tcp` to `host` (a DNS name or an IP address), verified.
    pub(crate) async fn connect(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> io::Result<TlsStream<TcpStream>> {
        let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{host:?} is not a host name"),
                )
            })?
            .to_owned();
        let connector = tokio_rustls::TlsConnector::from(self.client_config()?);
        connector.connect(name, tcp).await
    }
}

impl CertProblem {
    /// The certificate problem behind a failed TLS connect, if that is why it failed.
    pub(crate) fn of(err: &io::Error) -> Option<CertProblem> {
        let rustls::Error::InvalidCertificate(e) =
            err.get_ref()?.downcast_ref::<rustls::Error>()?
        else {
            return None;
        };
        Some(match e {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                CertProblem::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertProblem::NotValidYet
            }
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => CertProblem::WrongName {
                expected: server_name(expected),
                presented: presented_names(presented),
            },
            CertificateError::NotValidForName => CertProblem::WrongName {
                expected: "the name asked for".into(),
                presented: "unknown".into(),
            },
            CertificateError::UnknownIssuer => CertProblem::UntrustedCa,
            other => CertProblem::Bad(format!("{other:?}")),
        })
    }
}

/// The names a certificate holds, as rustls lists them (`DnsName("a")`,
/// `IpAddress(…)`), plainly and escaped: they are the server's text.
fn presented_names(names: &[String]) -> String {
    let plain = names.iter().map(|n| {
        let inner = n
            .split_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(')'));
        escape_for_terminal(inner.unwrap_or(n).trim_matches('"'))
    });
    plain.collect::<Vec<_>>().join(", ")
}

fn server_name(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_owned(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "the name asked for".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_err(e: CertificateError) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(e),
        )
    }

    #[test]
    fn certificate_problems_by_kind() {
        assert_eq!(
            CertProblem::of(&io_err(CertificateError::Expired)),
            Some(CertProblem::Expired)
        );
        assert_eq!(
            CertProblem::of(&io_err(CertificateError::UnknownIssuer)),
            Some(CertProblem::UntrustedCa)
        );
        let wrong = CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("example.org").unwrap().to_owned(),
            presented: vec!["DnsName(\"localhost\")".into()],
        };
        let Some(CertProblem::WrongName {
            expected,
            presented,
        }) = CertProblem::of(&io_err(wrong))
        else {
            panic!("not a wrong name");
        };
        assert_eq!(expected, "example.org");
        assert_eq!(presented, "localhost");
        assert_eq!(CertProblem::of(&io::Error::other("plain")), None);
    }

    #[test]
    fn ca_file_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not pem").unwrap();
        let err = Trust::with_ca_file(&path).unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        assert!(Trust::with_ca_file(&dir.path().join("missing")).is_err());
    }
}
