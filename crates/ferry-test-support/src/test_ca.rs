//! A certificate authority made for one test (rcgen), and server certificates
//! it signs, written as PEM files for `ferry serve --tls-cert/--tls-key` and
//! for clients' `--ca-file` / `SSL_CERT_FILE`.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls_pki_types::pem::PemObject;

/// A private CA.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub pem: String,
}

/// A server certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct ServerCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// Writes the CA certificate to `path` (for `--ca-file` / `SSL_CERT_FILE`).
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, &self.pem).unwrap();
        path.to_path_buf()
    }

    /// A certificate for `names` (DNS names or IP addresses), valid now.
    pub fn server_cert(&self, dir: &Path, stem: &str, names: &[&str]) -> ServerCert {
        self.issue(dir, stem, names, false)
    }

    /// A certificate for `names` that expired yesterday.
    pub fn expired_cert(&self, dir: &Path, stem: &str, names: &[&str]) -> ServerCert {
        self.issue(dir, stem, names, true)
    }

    fn issue(&self, dir: &Path, stem: &str, names: &[&str], expired: bool) -> ServerCert {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, stem);
        let now = time::OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        (params.not_before, params.not_after) = match expired {
            true => (now - 30 * day, now - day),
            false => (now - day, now + 30 * day),
        };
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let files = ServerCert {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }
}

impl TestCa {
    /// The whole answer (head and body) to `GET path` over TLS to `addr`,
    /// verifying the server as `host` against this CA only.
    pub async fn https_get(&self, addr: std::net::SocketAddr, host: &str, path: &str) -> String {
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let mut roots = rustls::RootCertStore::empty();
        let der = rustls_pki_types::CertificateDer::from_pem_slice(self.pem.as_bytes()).unwrap();
        roots.add(der).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls_pki_types::ServerName::try_from(host.to_owned()).unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let mut tls = connector.connect(name, tcp).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{}\r\n\r\n",
            addr.port()
        );
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let reading = tls.read_to_end(&mut out);
        // The server closes without close_notify after its answer: what came counts.
        let _ = tokio::time::timeout(crate::WAIT, reading).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }
}
