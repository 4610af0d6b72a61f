//! TLS for LocalSend's HTTPS, where there is no CA: every device has a
//! self-signed certificate and is known by its fingerprint.
//!
//! - As a server, ferry presents its [`Identity`] and asks for a client
//!   certificate without requiring one (localsend-cli never sends one, the
//!   app always does); any self-signed certificate whose handshake signature
//!   checks out is accepted, and [`peer_fingerprint`] names the sender.
//! - As a client, ferry presents its identity (the current app refuses
//!   clients without one) and pins the server: only the certificate whose
//!   fingerprint the peer announced is accepted. A mismatch fails the
//!   handshake with a [`PinMismatch`] that [`pin_mismatch`] finds again.
//!
//! Only the `ring` provider is used (the workspace already builds ring; never
//! aws-lc-rs), and it is passed explicitly instead of a process default.

use std::io;
use std::sync::Arc;

use ferry_proto::localsend::Fingerprint;
use ferry_proto::transfer::path::escape_for_terminal;
use rustls::{ClientConfig, ServerConfig};

use super::identity::Identity;
pub(crate) use crate::tls::ring_provider;

mod verify;

/// The configuration of ferry's HTTPS server.
pub fn server_config(identity: &Identity) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = ring_provider();
    let verifier = verify::AnySelfSigned::new(provider.clone());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![identity.certificate().clone()], identity.private_key())?;
    Ok(Arc::new(config))
}

/// The configuration for connecting to a peer that announced the fingerprint
/// `announced` (in any case).
pub fn client_config(
    identity: &Identity,
    announced: &str,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = ring_provider();
    let verifier = verify::Pinned::new(announced, provider.clone());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(vec![identity.certificate().clone()], identity.private_key())?;
    Ok(Arc::new(config))
}

/// The fingerprint of the certificate the client of an accepted connection
/// presented, or `None` if it sent none.
pub fn peer_fingerprint<IO>(stream: &tokio_rustls::server::TlsStream<IO>) -> Option<Fingerprint> {
    let certs = stream.get_ref().1.peer_certificates()?;
    certs.first().map(|cert| Fingerprint::of_certificate(cert))
}

/// The server's certificate is not the one the peer announced: someone else
/// answered at its address, or the peer changed its identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "certificate {presented} does not match the announced fingerprint {}",
    escape_for_terminal(announced)
)]
pub struct PinMismatch {
    /// What the peer announced (peer text, as sent).
    pub announced: String,
    /// The fingerprint of the certificate the server presented.
    pub presented: Fingerprint,
}

/// The [`PinMismatch`] behind a failed TLS connect, if that is why it failed.
pub fn pin_mismatch(err: &io::Error) -> Option<&PinMismatch> {
    let rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) =
        err.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    other.0.downcast_ref::<PinMismatch>()
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
