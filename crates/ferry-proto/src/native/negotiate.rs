//! Choosing the native protocol: both sides list it in the `app_versions` of their
//! encrypted `version` message, and each decides the same way from the two lists.
//!
//! Our entry is `{"ferry": {"transfer": ["native-v2"], "aead": [...]}}`, the ciphers
//! in our order of preference. The other clients ignore keys they do not know in
//! `app_versions` (Python passes the object to the application, which ignores it;
//! wormhole-william decodes it into an empty struct; wormhole-rs reads only its own
//! `abilities` key), so advertising it is harmless.
//!
//! `native-v1` (secretbox records) was spoken only by pre-release builds; such a
//! peer and a current one agree on no native version and fall back to v1.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::crypto::kdf::{SharedKey, TransitKey};
use crate::transit::hints::TransitMessage;

use super::manifest::Totals;
use super::record::Aead;

/// The capability string of this protocol version.
pub const NATIVE_V2: &str = "native-v2";
/// HKDF purpose of the native transit key; distinct from every v1 purpose, so a v1
/// peer can never complete a native handshake (or the other way round).
const TRANSIT_PURPOSE: &[u8] = b"ferry.native-v2.transit-key";
/// HKDF purpose prefix of the transit key of a reconnection (then the attempt, u32 BE).
const RECONNECT_PURPOSE: &[u8] = b"ferry.native-v2.reconnect-key";

/// Optional abilities of a `native-v2` side, listed in `app_versions.ferry.features`;
/// each is used only when both sides list it (a peer of an earlier release lists
/// none, and would refuse the frames and messages they bring).
pub const KEEPALIVE: &str = "keepalive";
/// See [`KEEPALIVE`]: the transit connection is made again after it breaks.
pub const RECONNECT: &str = "reconnect";
/// See [`KEEPALIVE`]: the native hints carry QUIC candidates (`hints::QUIC_V1`)
/// and the transit race tries them (UDP hole punching).
pub const QUIC: &str = "quic";
/// See [`KEEPALIVE`]: the receiver names the files it holds nothing of (`FRESH`),
/// and those are sent at once, each file's root after its data (`STREAM`, `ROOT`),
/// hashed from the very reads that send them.
pub const LATE_ROOTS: &str = "late-roots";

/// The optional abilities both sides listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// `KEEPALIVE` frames are sent after a pause in writing; silence is an error.
    pub keepalive: bool,
    /// A broken transit connection is made again through the mailbox.
    pub reconnect: bool,
    /// QUIC candidates are exchanged and raced beside TCP.
    pub quic: bool,
    /// Fresh files stream before their hashes are known (`LATE_ROOTS`).
    pub late_roots: bool,
}

impl Features {
    /// What `ours` and `theirs` both list.
    pub fn shared(ours: &Value, theirs: &Value) -> Features {
        let both = |name: &str| lists(ours, name) && lists(theirs, name);
        Features {
            keepalive: both(KEEPALIVE),
            reconnect: both(RECONNECT),
            quic: both(QUIC),
            late_roots: both(LATE_ROOTS),
        }
    }
}

fn lists(app_versions: &Value, feature: &str) -> bool {
    app_versions
        .get("ferry")
        .and_then(|f| f.get("features"))
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|v| v == feature))
}

/// Which file-transfer protocol two sides speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Magic Wormhole file-transfer v1: any peer.
    V1,
    /// ferry's own protocol (`docs/protocol.md`) with records sealed by this cipher.
    Native(Aead),
}

/// Our `app_versions` with the native capability; `prefer` is the cipher this
/// machine runs fastest (AES-256-GCM with AES instructions, else ChaCha20-Poly1305).
pub fn app_versions(prefer: Aead) -> Value {
    let ciphers: Vec<&str> = match prefer {
        Aead::Aes256Gcm => vec![Aead::Aes256Gcm.name(), Aead::ChaCha20Poly1305.name()],
        Aead::ChaCha20Poly1305 => vec![Aead::ChaCha20Poly1305.name(), Aead::Aes256Gcm.name()],
    };
    json!({"ferry": {"transfer": [NATIVE_V2], "aead": ciphers, "features": [KEEPALIVE, RECONNECT, QUIC, LATE_ROOTS]}})
}

/// `app_versions` with our capability removed (for `--v1`); other keys are kept.
pub fn without_native(app_versions: &Value) -> Value {
    let mut out = app_versions.clone();
    if let Some(list) = out
        .get_mut("ferry")
        .and_then(|f| f.get_mut("transfer"))
        .and_then(Value::as_array_mut)
    {
        list.retain(|v| v != NATIVE_V2);
    }
    out
}

/// Whether an `app_versions` object lists the native capability.
pub fn advertises(app_versions: &Value) -> bool {
    app_versions
        .get("ferry")
        .and_then(|f| f.get("transfer"))
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|v| v == NATIVE_V2))
}

/// Whether the peer is ferry (of any version, native protocol or not): it has our
/// key in its `app_versions`.
pub fn is_ferry(app_versions: &Value) -> bool {
    app_versions.get("ferry").is_some_and(Value::is_object)
}

/// The cipher a side lists first, if it names one we know.
fn preferred(app_versions: &Value) -> Option<Aead> {
    let first = app_versions
        .get("ferry")?
        .get("aead")?
        .as_array()?
        .first()?;
    Aead::from_name(first.as_str()?)
}

/// The protocol both sides pick, given what each advertised. Every `native-v2`
/// side has both ciphers; AES-256-GCM is used only when both prefer it, since on
/// a CPU without AES instructions ChaCha20-Poly1305 is several times faster.
pub fn negotiate(ours: &Value, theirs: &Value) -> Protocol {
    if !(advertises(ours) && advertises(theirs)) {
        return Protocol::V1;
    }
    let aes = Some(Aead::Aes256Gcm);
    match preferred(ours) == aes && preferred(theirs) == aes {
        true => Protocol::Native(Aead::Aes256Gcm),
        false => Protocol::Native(Aead::ChaCha20Poly1305),
    }
}

/// The transit key of a native transfer: the handshake strings and the relay token
/// derive from it exactly as in v1, and the record keys as `record` says.
pub fn transit_key(key: &SharedKey) -> TransitKey {
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&key.derive(TRANSIT_PURPOSE, 32));
    TransitKey::from_bytes(bytes)
}

/// The transit key of reconnection `attempt` (2 for the first reconnection): a
/// fresh key, so relay tokens and handshakes differ from every earlier attempt.
pub fn reconnect_key(native: &TransitKey, attempt: u32) -> TransitKey {
    let mut purpose = RECONNECT_PURPOSE.to_vec();
    purpose.extend_from_slice(&attempt.to_be_bytes());
    TransitKey::from_bytes(native.subkey(&purpose))
}

/// The mailbox messages of a native transfer: hints one each way before
/// transit, then (with the `reconnect` feature) new hints per reconnection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailboxMessage {
    /// Our transit hints (the v1 `transit` body under another key, so that a
    /// mis-negotiated v1 peer fails at once instead of waiting for an offer).
    NativeTransit(TransitMessage),
    /// Our hints for reconnection `attempt` after the transit connection broke.
    NativeReconnect(Reconnect),
    /// The receiver's word, after its DONE frame, that it holds everything (the
    /// manifest's totals): a sender that lost the connection before reading DONE
    /// stops reconnecting and succeeds on it (§8.1).
    NativeDone(Totals),
    Error(String),
}

/// `{"native-reconnect": {"attempt": N, "transit": {...hints...}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconnect {
    pub attempt: u32,
    pub transit: TransitMessage,
}

impl MailboxMessage {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AES: Aead = Aead::Aes256Gcm;
    const CHACHA: Aead = Aead::ChaCha20Poly1305;

    #[test]
    fn both_must_advertise() {
        let ferry = app_versions(AES);
        assert_eq!(negotiate(&ferry, &ferry), Protocol::Native(AES));
        // What the other clients send (WORMHOLE-PROTOCOL.md §2.5), and ferry builds
        // that spoke only the pre-release native-v1.
        let python = json!({});
        let rust = json!({"abilities": ["transfer-v1"]});
        let odd = json!({"ferry": {"transfer": "native-v2"}});
        for peer in [
            python,
            rust,
            Value::Null,
            odd,
            json!({"ferry": {"transfer": ["native-v1"]}}),
            json!({"ferry": {"transfer": ["native-v3"]}, "aead": ["aes-256-gcm"]}),
        ] {
            assert_eq!(negotiate(&ferry, &peer), Protocol::V1, "{peer}");
            assert_eq!(negotiate(&peer, &ferry), Protocol::V1, "{peer}");
        }
    }

    #[test]
    fn aes_only_when_both_prefer_it() {
        let (aes, chacha) = (app_versions(AES), app_versions(CHACHA));
        assert_eq!(negotiate(&aes, &chacha), Protocol::Native(CHACHA));
        assert_eq!(negotiate(&chacha, &aes), Protocol::Native(CHACHA));
        assert_eq!(negotiate(&chacha, &chacha), Protocol::Native(CHACHA));
        for odd in [
            json!({"ferry": {"transfer": ["native-v2"]}}),
            json!({"ferry": {"transfer": ["native-v2"], "aead": "aes-256-gcm"}}),
            json!({"ferry": {"transfer": ["native-v2"], "aead": ["rot13", "aes-256-gcm"]}}),
            json!({"ferry": {"transfer": ["native-v2"], "aead": [7]}}),
        ] {
            assert_eq!(negotiate(&aes, &odd), Protocol::Native(CHACHA), "{odd}");
            assert_eq!(negotiate(&odd, &aes), Protocol::Native(CHACHA), "{odd}");
        }
    }

    #[test]
    fn a_ferry_with_v1_is_still_ferry() {
        let v1 = without_native(&app_versions(AES));
        assert!(is_ferry(&v1) && !advertises(&v1));
        assert!(!is_ferry(&json!({"abilities": ["transfer-v1"]})));
        assert!(!is_ferry(&json!({"ferry": "x"})));
        assert!(!is_ferry(&Value::Null));
    }

    #[test]
    fn v1_flag_removes_only_our_capability() {
        let ours = json!({"ferry": {"transfer": ["native-v2", "native-v9"]}, "x": 1});
        let stripped = without_native(&ours);
        assert!(!advertises(&stripped));
        assert_eq!(
            stripped,
            json!({"ferry": {"transfer": ["native-v9"]}, "x": 1})
        );
        assert_eq!(negotiate(&stripped, &app_versions(AES)), Protocol::V1);
        assert_eq!(without_native(&json!({})), json!({}));
    }

    #[test]
    fn native_key_differs_from_the_v1_transit_key() {
        let k = SharedKey::from_bytes([3; 32]);
        let v1 = k.transit_key("lothar.com/wormhole/text-or-file-xfer");
        assert_ne!(transit_key(&k).as_bytes(), v1.as_bytes());
        assert_eq!(transit_key(&k).as_bytes(), transit_key(&k).as_bytes());
    }

    #[test]
    fn features_count_only_when_both_list_them() {
        let ours = app_versions(AES);
        let all = Features {
            keepalive: true,
            reconnect: true,
            quic: true,
            late_roots: true,
        };
        assert_eq!(Features::shared(&ours, &ours), all);
        // A native-v2 peer of the previous release lists no features.
        let old = json!({"ferry": {"transfer": ["native-v2"], "aead": ["aes-256-gcm"]}});
        assert_eq!(Features::shared(&ours, &old), Features::default());
        assert_eq!(Features::shared(&old, &ours), Features::default());
        let some = json!({"ferry": {"transfer": ["native-v2"], "features": ["keepalive", "x"]}});
        assert_eq!(
            Features::shared(&ours, &some),
            Features {
                keepalive: true,
                ..Features::default()
            }
        );
        let odd = json!({"ferry": {"features": "keepalive reconnect"}});
        assert_eq!(Features::shared(&ours, &odd), Features::default());
    }

    #[test]
    fn each_reconnection_has_its_own_key() {
        let native = transit_key(&SharedKey::from_bytes([3; 32]));
        let (two, three) = (reconnect_key(&native, 2), reconnect_key(&native, 3));
        assert_ne!(two.as_bytes(), three.as_bytes());
        assert_ne!(two.as_bytes(), native.as_bytes());
        assert_eq!(two.as_bytes(), reconnect_key(&native, 2).as_bytes());
        // HKDF-SHA256(native, info = purpose ‖ 2 (u32 BE)), as docs/protocol.md says.
        let mut info = b"ferry.native-v2.reconnect-key".to_vec();
        info.extend_from_slice(&[0, 0, 0, 2]);
        assert_eq!(two.as_bytes(), &native.subkey(&info));
    }

    #[test]
    fn reconnect_message() {
        let m = MailboxMessage::NativeReconnect(Reconnect {
            attempt: 2,
            transit: TransitMessage {
                abilities: vec![],
                hints: vec![],
            },
        });
        let text = String::from_utf8(m.encode()).unwrap();
        assert_eq!(
            text,
            r#"{"native-reconnect":{"attempt":2,"transit":{"abilities-v1":[],"hints-v1":[]}}}"#
        );
        assert_eq!(MailboxMessage::decode(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn done_message() {
        let m = MailboxMessage::NativeDone(Totals {
            entries: 3,
            files: 2,
            bytes: 1 << 20,
        });
        let text = String::from_utf8(m.encode()).unwrap();
        assert_eq!(
            text,
            r#"{"native-done":{"entries":3,"files":2,"bytes":1048576}}"#
        );
        assert_eq!(MailboxMessage::decode(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn mailbox_messages() {
        let m = MailboxMessage::NativeTransit(TransitMessage {
            abilities: vec![],
            hints: vec![],
        });
        let text = String::from_utf8(m.encode()).unwrap();
        assert_eq!(
            text,
            r#"{"native-transit":{"abilities-v1":[],"hints-v1":[]}}"#
        );
        assert_eq!(MailboxMessage::decode(text.as_bytes()).unwrap(), m);
        assert!(MailboxMessage::decode(br#"{"transit":{}}"#).is_err());
    }
}
