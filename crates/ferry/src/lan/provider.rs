//! The one crypto provider of ferry's LAN TLS: ring (never aws-lc-rs), used by
//! the TLS configurations and to check that a kept key matches its certificate.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

pub(crate) fn ring_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
