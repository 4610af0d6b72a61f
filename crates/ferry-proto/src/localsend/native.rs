//! ferry's native protocol over a LocalSend connection, between two ferry
//! (docs/localsend/native-over-lan.md): the capability a ferry receiver adds
//! to its device info, the endpoint that switches an authenticated HTTPS
//! connection to native frames, and the record key taken from that TLS session.
//!
//! Other LocalSend peers ignore the extra `ferry` field (unknown JSON keys) and
//! never call the endpoint; a malformed `ferry` field reads as absent, so
//! nobody's device info fails to parse because of it.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use crate::crypto::kdf::TransitKey;
use crate::native::negotiate::{self, Protocol, NATIVE_V2};
use crate::native::record::Aead;

/// The endpoint a ferry sender upgrades (`?aead=…&pin=…`).
pub const NATIVE_PATH: &str = "/api/ferry/v1/native";
/// The `Upgrade` token: after `101` the connection carries native records.
pub const UPGRADE_TOKEN: &str = "ferry-native-v2";
/// RFC 5705 / 8446 exporter label of the native record key: both ends of one
/// TLS session (bound to both certificates) derive the same 32 bytes.
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-ferry-native-v2-lan";

/// The `ferry` field of a device info: the same shape as the `ferry` entry of
/// the wormhole `app_versions` (`negotiate`), so both choose alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FerryCaps {
    #[serde(default)]
    pub transfer: Vec<String>,
    #[serde(default)]
    pub aead: Vec<String>,
}

impl FerryCaps {
    /// What we announce: the native protocol, ciphers in our order.
    pub fn native(prefer: Aead) -> FerryCaps {
        let listed = negotiate::app_versions(prefer);
        let ciphers = listed["ferry"]["aead"].as_array().cloned();
        let names = ciphers.unwrap_or_default().into_iter();
        FerryCaps {
            transfer: vec![NATIVE_V2.to_owned()],
            aead: names
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        }
    }

    fn as_app_versions(&self) -> Value {
        json!({"ferry": {"transfer": self.transfer, "aead": self.aead}})
    }
}

/// The cipher both pick, or `None` when either side lacks the native protocol.
pub fn choose(ours: &FerryCaps, theirs: Option<&FerryCaps>) -> Option<Aead> {
    let theirs = theirs?.as_app_versions();
    match negotiate::negotiate(&ours.as_app_versions(), &theirs) {
        Protocol::Native(aead) => Some(aead),
        Protocol::V1 => None,
    }
}

/// The native record key from the session's exported keying material.
pub fn record_key(exported: [u8; 32]) -> TransitKey {
    TransitKey::from_bytes(exported)
}

/// The request target of an upgrade.
pub fn upgrade_target(aead: Aead, pin: Option<&str>) -> String {
    super::target::target(NATIVE_PATH, &[("aead", Some(aead.name())), ("pin", pin)])
}

/// A `ferry` field that does not read as [`FerryCaps`] is treated as absent.
pub(super) fn lenient_caps<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FerryCaps>, D::Error> {
    let raw = Option::<Value>::deserialize(d)?;
    Ok(raw.and_then(|v| serde_json::from_value(v).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::localsend::decode;

    const INFO: &str = r#"{"alias":"a","version":"2.1","fingerprint":"f","download":false"#;

    fn info_with(ferry: &str) -> crate::localsend::DeviceInfo {
        decode::device_info(format!("{INFO},\"ferry\":{ferry}}}").as_bytes()).unwrap()
    }

    #[test]
    fn a_malformed_ferry_field_reads_as_absent_and_the_rest_still_parses() {
        for junk in ["5", "\"x\"", "[1]", r#"{"transfer":7}"#, "null"] {
            let info = info_with(junk);
            assert_eq!(info.ferry, None, "{junk}");
            assert_eq!(info.alias, "a");
        }
    }

    #[test]
    fn both_native_agree_on_a_cipher_and_anyone_else_gets_none() {
        let aes = FerryCaps::native(Aead::Aes256Gcm);
        let chacha = FerryCaps::native(Aead::ChaCha20Poly1305);
        assert_eq!(choose(&aes, Some(&aes)), Some(Aead::Aes256Gcm));
        assert_eq!(choose(&aes, Some(&chacha)), Some(Aead::ChaCha20Poly1305));
        assert_eq!(choose(&aes, None), None);
        let old = info_with(r#"{"transfer":["native-v1"]}"#).ferry;
        assert_eq!(choose(&aes, old.as_ref()), None);
    }

    #[test]
    fn our_field_round_trips_and_is_left_out_when_absent() {
        let info = info_with(&serde_json::to_string(&FerryCaps::native(Aead::Aes256Gcm)).unwrap());
        assert_eq!(info.ferry, Some(FerryCaps::native(Aead::Aes256Gcm)));
        let plain = crate::localsend::DeviceInfo {
            ferry: None,
            ..info
        };
        assert!(!serde_json::to_string(&plain).unwrap().contains("ferry"));
    }

    #[test]
    fn the_pin_is_percent_encoded_in_the_target() {
        let target = upgrade_target(Aead::Aes256Gcm, Some("a b&"));
        assert_eq!(target, "/api/ferry/v1/native?aead=aes-256-gcm&pin=a%20b%26");
    }
}
