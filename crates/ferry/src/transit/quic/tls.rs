//! QUIC's TLS: a self-signed certificate made for one transit attempt, and a
//! client that accepts exactly the certificate whose SHA-256 the peer sent
//! through the encrypted mailbox. The transit handshake inside the stream
//! proves the transit key on top of that, as on TCP. ring only.

use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

use crate::tls::ring_provider;

/// The ALPN of ferry's transit over QUIC.
const ALPN: &[u8] = b"ferry-transit";

/// Our certificate for one attempt, and the server side of QUIC's TLS with it.
pub(super) struct Identity {
    pub(super) sha256: [u8; 32],
    pub(super) server: Arc<QuicServerConfig>,
}

impl Identity {
    pub(super) fn new() -> std::io::Result<Self> {
        let made = rcgen::generate_simple_self_signed(vec!["ferry".to_owned()])
            .map_err(std::io::Error::other)?;
        let cert = CertificateDer::from(made.cert.der().to_vec());
        let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        let sha256 = Sha256::digest(&cert).into();
        let mut tls = rustls::ServerConfig::builder_with_provider(ring_provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert], PrivateKeyDer::Pkcs8(key))
            .map_err(std::io::Error::other)?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let server = QuicServerConfig::try_from(tls).map_err(std::io::Error::other)?;
        Ok(Identity {
            sha256,
            server: Arc::new(server),
        })
    }
}

/// The client side, for a peer whose certificate hashes to `pinned`.
pub(super) fn client(pinned: [u8; 32]) -> std::io::Result<Arc<QuicClientConfig>> {
    let provider = ring_provider();
    let verifier = Pinned {
        sha256: pinned,
        provider: provider.clone(),
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let client = QuicClientConfig::try_from(tls).map_err(std::io::Error::other)?;
    Ok(Arc::new(client))
}

/// Accepts the one certificate with this hash; names and dates do not matter
/// (peers are reached by IP address, the certificate lives for one transfer),
/// the handshake signature does.
#[derive(Debug)]
struct Pinned {
    sha256: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented: [u8; 32] = Sha256::digest(end_entity).into();
        match presented == self.sha256 {
            true => Ok(ServerCertVerified::assertion()),
            false => Err(CertificateError::ApplicationVerificationFailure.into()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
