//! How ferry presents itself to LocalSend devices: one alias, one
//! fingerprint, one scheme, whether it shares. Over HTTPS the fingerprint is
//! the certificate's; over plain HTTP (opted into) it is a random string, as
//! the peers do, since there is no certificate to name.

use ferry_proto::localsend::native::FerryCaps;
use ferry_proto::localsend::{DeviceInfo, DeviceType, Register, Scheme, PROTOCOL_VERSION};
use rand::RngCore;

use super::identity::Identity;

/// What we announce and answer.
#[derive(Debug, Clone)]
pub(super) struct Us {
    pub(super) alias: String,
    pub(super) fingerprint: String,
    pub(super) scheme: Scheme,
    /// Serving the download API (`lan::share`).
    pub(super) download: bool,
    /// Receiving ferry's native protocol (`lan::native`); only a receiver
    /// over HTTPS sets it.
    pub(super) ferry: Option<FerryCaps>,
}

impl Us {
    /// Over HTTPS unless `http`.
    pub(super) fn new(alias: &str, identity: &Identity, http: bool) -> Us {
        let (fingerprint, scheme) = match http {
            false => (identity.fingerprint().as_str().to_owned(), Scheme::Https),
            true => (random_fingerprint(), Scheme::Http),
        };
        Us {
            alias: alias.to_owned(),
            fingerprint,
            scheme,
            download: false,
            ferry: None,
        }
    }

    pub(super) fn info(&self) -> DeviceInfo {
        DeviceInfo {
            alias: self.alias.clone(),
            version: PROTOCOL_VERSION.to_owned(),
            device_model: Some("ferry".to_owned()),
            device_type: Some(DeviceType::Headless),
            fingerprint: self.fingerprint.clone(),
            download: self.download,
            ferry: self.ferry.clone(),
        }
    }

    /// Our announcement (and register body) for a server on `port`.
    pub(super) fn register(&self, port: u16) -> Register {
        let info = self.info();
        Register {
            alias: info.alias,
            version: info.version,
            device_model: info.device_model,
            device_type: info.device_type,
            fingerprint: info.fingerprint,
            port,
            protocol: self.scheme,
            download: self.download,
        }
    }
}

/// 128 random bits as hex: what identifies an HTTP device (only so that it
/// can skip its own announcements).
fn random_fingerprint() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
