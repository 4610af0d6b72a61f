//! Real handshakes over loopback: ferry's server and client configurations
//! against each other, and against a client that has no certificate.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rustls::version::{TLS12, TLS13};
use rustls::SupportedProtocolVersion;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::*;

const LIMIT: Duration = Duration::from_secs(10);

fn identity() -> Identity {
    let dir = tempfile::tempdir().unwrap();
    Identity::load_or_create(dir.path()).unwrap()
}

/// Accepts one TLS connection, says "ok", and returns the client's fingerprint.
async fn serve_once(
    server: &Identity,
) -> (SocketAddr, JoinHandle<io::Result<Option<Fingerprint>>>) {
    let acceptor = TlsAcceptor::from(server_config(server).unwrap());
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor.accept(tcp).await?;
        let seen = peer_fingerprint(&tls);
        tls.write_all(b"ok").await?;
        tls.shutdown().await?;
        Ok(seen)
    });
    (addr, task)
}

/// Connects with `config` and reads the server's "ok".
async fn connect(config: Arc<ClientConfig>, addr: SocketAddr) -> io::Result<()> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    let mut tls = TlsConnector::from(config).connect(name, tcp).await?;
    let mut said = Vec::new();
    tls.read_to_end(&mut said).await?;
    assert_eq!(said, b"ok");
    Ok(())
}

/// Runs one connection; returns what the client and the server saw.
async fn handshake(
    server: &Identity,
    client: Arc<ClientConfig>,
) -> (io::Result<()>, io::Result<Option<Fingerprint>>) {
    let (addr, served) = serve_once(server).await;
    let connected = timeout(LIMIT, connect(client, addr)).await.unwrap();
    let served = timeout(LIMIT, served).await.unwrap().unwrap();
    (connected, served)
}

/// A client that pins like ferry's but presents no certificate (like
/// localsend-cli), over the given TLS versions.
fn anonymous_client(
    pin: &str,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let provider = ring_provider();
    let pinned = verify::Pinned::new(pin, provider.clone());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(pinned))
        .with_no_client_auth();
    Arc::new(config)
}

#[tokio::test]
async fn pinned_client_connects_and_the_server_sees_its_fingerprint() {
    let (server, client) = (identity(), identity());
    let config = client_config(&client, server.fingerprint().as_str()).unwrap();
    let (connected, served) = handshake(&server, config).await;
    connected.unwrap();
    assert_eq!(served.unwrap().as_ref(), Some(client.fingerprint()));
}

#[tokio::test]
async fn a_lowercase_pin_matches_too() {
    let (server, client) = (identity(), identity());
    let pin = server.fingerprint().as_str().to_ascii_lowercase();
    let (connected, served) = handshake(&server, client_config(&client, &pin).unwrap()).await;
    connected.unwrap();
    assert_eq!(served.unwrap().as_ref(), Some(client.fingerprint()));
}

#[tokio::test]
async fn a_client_pinned_to_another_certificate_is_refused() {
    let (server, client, other) = (identity(), identity(), identity());
    let config = client_config(&client, other.fingerprint().as_str()).unwrap();
    let (connected, served) = handshake(&server, config).await;
    let err = connected.unwrap_err();
    let mismatch = pin_mismatch(&err).unwrap_or_else(|| panic!("not a pin mismatch: {err:?}"));
    assert_eq!(mismatch.announced, other.fingerprint().as_str());
    assert_eq!(&mismatch.presented, server.fingerprint());
    let said = format!("{mismatch} by peer");
    assert!(
        said.contains("does not match the announced fingerprint"),
        "{said}"
    );
    assert!(served.is_err(), "the server must not finish the handshake");
}

#[tokio::test]
async fn other_failures_are_not_pin_mismatches() {
    let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
    assert!(pin_mismatch(&refused).is_none());
    let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
    assert!(pin_mismatch(&tls).is_none());
}

#[tokio::test]
async fn a_client_without_a_certificate_connects_and_the_server_sees_none() {
    let server = identity();
    for versions in [&[&TLS13][..], &[&TLS12][..]] {
        let config = anonymous_client(server.fingerprint().as_str(), versions);
        let (connected, served) = handshake(&server, config).await;
        connected.unwrap();
        assert_eq!(served.unwrap(), None);
    }
}

#[tokio::test]
async fn tls12_with_client_certificates_works_both_ways() {
    let (server, client) = (identity(), identity());
    let provider = ring_provider();
    let pinned = verify::Pinned::new(server.fingerprint().as_str(), provider.clone());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS12])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(pinned))
        .with_client_auth_cert(vec![client.certificate().clone()], client.private_key())
        .unwrap();
    let (connected, served) = handshake(&server, Arc::new(config)).await;
    connected.unwrap();
    assert_eq!(served.unwrap().as_ref(), Some(client.fingerprint()));
}
