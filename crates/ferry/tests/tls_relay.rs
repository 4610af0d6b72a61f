//! A `tls:HOST:PORT` relay: the relay protocol inside TLS, here a TLS terminator in
//! front of the in-process relay (as a TLS proxy would be), with a certificate from
//! a CA made by the test. Both sides name it (there is no hint for it) and trust
//! the CA; a side that does not trust it gets no relay path and says why.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::sync::Arc;

use ferry::tls::Trust;
use ferry::transit::{parse_relay, TransitConfig};
use ferry::{Error, NetworkError, Payload};
use ferry_test_support::files::{bytes, scratch_dir};
use ferry_test_support::in_process::{transfer_over, transit, Sides};
use ferry_test_support::server::spawn_default;
use ferry_test_support::test_ca::{ServerCert, TestCa};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

/// Accepts TLS with `cert` on 127.0.0.1:0 and copies each connection to `relay`;
/// returns the address.
async fn tls_terminator(cert: &ServerCert, relay: std::net::SocketAddr) -> std::net::SocketAddr {
    let chain = CertificateDer::pem_file_iter(&cert.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&cert.key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut upstream = tokio::net::TcpStream::connect(relay).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    addr
}

fn over_tls_relay(base: TransitConfig, relay: &str, trust: Trust) -> TransitConfig {
    TransitConfig {
        relay: Some(parse_relay(relay).unwrap()),
        trust,
        force_relay: true,
        ..base
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_through_a_tls_relay_trusting_its_ca() {
    let h = spawn_default().await;
    let dir = scratch_dir();
    let ca = TestCa::new("relay CA");
    let cert = ca.server_cert(dir.path(), "relay", &["localhost"]);
    let front = tls_terminator(&cert, h.relay_tcp_addr().unwrap()).await;
    let trust = Trust::with_ca_file(&ca.write(&dir.path().join("ca.pem"))).unwrap();
    let relay = format!("tls:localhost:{}", front.port());
    let config = over_tls_relay(transit(&h), &relay, trust);
    let src = dir.path().join("data.bin");
    let data = bytes(200 * 1024 + 5, 3);
    std::fs::write(&src, &data).unwrap();
    let out = dir.path().join("out");
    let (sent, got) = transfer_over(
        &h,
        config,
        Payload::Path(src),
        (&out, "12-tls-relay"),
        Sides::default(),
    )
    .await;
    sent.unwrap();
    got.unwrap();
    assert_eq!(std::fs::read(out.join("data.bin")).unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_tls_relay_is_no_path_and_says_why() {
    let h = spawn_default().await;
    let dir = scratch_dir();
    let cert = TestCa::new("unknown CA").server_cert(dir.path(), "relay", &["localhost"]);
    let front = tls_terminator(&cert, h.relay_tcp_addr().unwrap()).await;
    let relay = format!("tls:localhost:{}", front.port());
    let config = over_tls_relay(transit(&h), &relay, Trust::system());
    let src = dir.path().join("data.bin");
    std::fs::write(&src, b"never arrives").unwrap();
    let out = dir.path().join("out");
    let (sent, got) = transfer_over(
        &h,
        config,
        Payload::Path(src),
        (&out, "13-tls-relay"),
        Sides::default(),
    )
    .await;
    // The first side to fail tells the other, which may then stop for that reason.
    let why = [sent.err(), got.err()]
        .into_iter()
        .flatten()
        .find_map(|e| match e {
            Error::Network(NetworkError::NoConnection(why)) => Some(why),
            _ => None,
        });
    let why = why.expect("one side found no connection");
    assert!(
        why.contains("relay tls:localhost:")
            && why.contains("certificate authority we do not trust"),
        "{why}"
    );
}
