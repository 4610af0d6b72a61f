//! Connection hints and abilities, as carried in the `transit` message.
//!
//! Peers disagree on the details (Rust adds `name` and WebSocket relay entries, Go
//! ignores inner relay entries that are not `direct-tcp-v1`), and a hostile peer may
//! send anything, so hints are decoded one by one: an entry we cannot use is dropped,
//! never fatal.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// ferry's QUIC path (docs/protocol.md, "QUIC candidates"): the type of the
/// ability that pins our certificate and of each UDP candidate hint. Only sent
/// to a ferry that listed the `quic` feature; other clients drop unknown types.
pub const QUIC_V1: &str = "ferry-quic-v1";
/// The most QUIC candidates read from a peer (a hostile list is cut here).
pub const MAX_QUIC_CANDIDATES: usize = 8;

/// What a side offers for QUIC: the SHA-256 of its per-transfer certificate and
/// the UDP addresses its endpoint may be reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicOffer {
    pub cert_sha256: [u8; 32],
    pub candidates: Vec<SocketAddr>,
}

/// A TCP endpoint: a direct address of the peer, or one of a relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectHint {
    pub hostname: String,
    pub port: u16,
    #[serde(default)]
    pub priority: f64,
}

/// The hints we understand.
#[derive(Debug, Clone, PartialEq)]
pub enum Hint {
    Direct(DirectHint),
    /// A relay reachable at any of these endpoints.
    Relay(Vec<DirectHint>),
}

/// The `transit` message body: `{"abilities-v1": [...], "hints-v1": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitMessage {
    #[serde(rename = "abilities-v1", default)]
    pub abilities: Vec<Value>,
    #[serde(rename = "hints-v1", default)]
    pub hints: Vec<Value>,
}

impl TransitMessage {
    /// Builds our message. With no direct hints we still advertise the direct
    /// ability only when `direct` is set (it is off under `--force-relay`).
    pub fn build(direct: bool, relay: bool, hints: &[Hint]) -> Self {
        let mut abilities = Vec::new();
        if direct {
            abilities.push(json!({"type": "direct-tcp-v1"}));
        }
        if relay {
            abilities.push(json!({"type": "relay-v1"}));
        }
        TransitMessage {
            abilities,
            hints: hints.iter().map(Hint::to_json).collect(),
        }
    }

    /// The peer's hints that we can use, in the order given; malformed entries dropped.
    pub fn usable_hints(&self) -> Vec<Hint> {
        self.hints.iter().filter_map(Hint::from_json).collect()
    }

    /// Adds a relay reachable over WebSocket at `urls` (`ws://` or `wss://`),
    /// as the Rust peer and the browser page write it: a `relay-v1` hint of
    /// `{"type": "websocket", "url": …}` entries. Clients that know only TCP
    /// relays skip it.
    pub fn with_websocket_relays(mut self, urls: &[String]) -> Self {
        if !urls.is_empty() {
            let inner: Vec<Value> = urls
                .iter()
                .map(|u| json!({"type": "websocket", "url": u}))
                .collect();
            self.hints.push(json!({"type": "relay-v1", "hints": inner}));
        }
        self
    }

    /// The URLs of the WebSocket relays among the peer's relay hints, in the
    /// order given; entries that are not a plausible `ws://`/`wss://` URL are
    /// dropped.
    pub fn websocket_relays(&self) -> Vec<String> {
        let relay_hints = self
            .hints
            .iter()
            .filter(|h| h.get("type").and_then(Value::as_str) == Some("relay-v1"));
        let inner = relay_hints
            .filter_map(|h| h.get("hints")?.as_array())
            .flatten();
        inner
            .filter(|h| h.get("type").and_then(Value::as_str) == Some("websocket"))
            .filter_map(|h| h.get("url")?.as_str())
            .filter(|u| plausible_ws_url(u))
            .map(str::to_owned)
            .collect()
    }

    /// Adds our QUIC ability (with the certificate's hash) and one hint per candidate.
    pub fn with_quic(mut self, offer: &QuicOffer) -> Self {
        let cert = hex::encode(offer.cert_sha256);
        self.abilities
            .push(json!({"type": QUIC_V1, "cert-sha256": cert}));
        for c in &offer.candidates {
            self.hints.push(json!({"type": QUIC_V1, "priority": 0.0,
                "hostname": c.ip().to_string(), "port": c.port()}));
        }
        self
    }

    /// The peer's QUIC offer, if it made one: its certificate hash and at most
    /// [`MAX_QUIC_CANDIDATES`] candidates that are IP literals with a port
    /// (anything else is dropped).
    pub fn quic(&self) -> Option<QuicOffer> {
        let ability = self.abilities.iter().find(|a| a["type"] == QUIC_V1)?;
        let hash = hex::decode(ability.get("cert-sha256")?.as_str()?).ok()?;
        let cert_sha256: [u8; 32] = hash.try_into().ok()?;
        let candidates = self
            .hints
            .iter()
            .filter(|h| h["type"] == QUIC_V1)
            .filter_map(|h| {
                let ip: IpAddr = h.get("hostname")?.as_str()?.parse().ok()?;
                let port = u16::try_from(h.get("port")?.as_u64()?).ok()?;
                (port != 0).then_some(SocketAddr::new(ip, port))
            })
            .take(MAX_QUIC_CANDIDATES)
            .collect();
        Some(QuicOffer {
            cert_sha256,
            candidates,
        })
    }

    /// Whether the peer says it can use a relay (all real clients do).
    pub fn peer_can_relay(&self) -> bool {
        self.abilities.iter().any(|a| a["type"] == "relay-v1")
    }

    /// Whether the peer can make or take direct TCP connections; the browser
    /// page cannot (it only reaches a relay over WebSocket).
    pub fn peer_can_connect_directly(&self) -> bool {
        self.abilities.iter().any(|a| a["type"] == "direct-tcp-v1")
    }
}

impl Hint {
    fn to_json(&self) -> Value {
        match self {
            Hint::Direct(d) => direct_json(d),
            Hint::Relay(inner) => json!({
                "type": "relay-v1",
                "hints": inner.iter().map(direct_json).collect::<Vec<_>>(),
            }),
        }
    }

    fn from_json(v: &Value) -> Option<Hint> {
        match v.get("type")?.as_str()? {
            "direct-tcp-v1" => parse_direct(v).map(Hint::Direct),
            "relay-v1" => {
                let inner: Vec<DirectHint> = v
                    .get("hints")?
                    .as_array()?
                    .iter()
                    .filter_map(|h| {
                        (h.get("type")?.as_str()? == "direct-tcp-v1").then(|| parse_direct(h))?
                    })
                    .collect();
                (!inner.is_empty()).then_some(Hint::Relay(inner))
            }
            _ => None,
        }
    }
}

/// `ws://` or `wss://`, then printable ASCII only, at most 2 KiB (a URL from a
/// peer goes into logs and error messages).
fn plausible_ws_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && url.len() <= 2048
        && url.bytes().all(|b| b.is_ascii_graphic())
}

fn direct_json(d: &DirectHint) -> Value {
    json!({"type": "direct-tcp-v1", "priority": d.priority, "hostname": d.hostname, "port": d.port})
}

fn parse_direct(v: &Value) -> Option<DirectHint> {
    let hint: DirectHint = serde_json::from_value(v.clone()).ok()?;
    let sane = !hint.hostname.is_empty() && hint.hostname.len() <= 255 && hint.port != 0;
    sane.then_some(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lenient_parsing() {
        let direct = DirectHint {
            hostname: "198.18.0.1".into(),
            port: 4242,
            priority: 0.0,
        };
        let relay = DirectHint {
            hostname: "127.0.0.1".into(),
            port: 4001,
            priority: 0.0,
        };
        let msg = TransitMessage::build(
            true,
            true,
            &[
                Hint::Direct(direct.clone()),
                Hint::Relay(vec![relay.clone()]),
            ],
        );
        let text = serde_json::to_string(&msg).unwrap();
        let back: TransitMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back.usable_hints(),
            vec![Hint::Direct(direct), Hint::Relay(vec![relay])]
        );
        assert!(back.peer_can_relay());
    }

    #[test]
    fn rust_style_relay_hint_with_websocket_entry() {
        let text = r#"{"abilities-v1":[{"type":"direct-tcp-v1"},{"type":"relay-v1"}],
            "hints-v1":[{"type":"relay-v1","name":null,"hints":[
                {"type":"direct-tcp-v1","hostname":"127.0.0.1","port":4001},
                {"type":"websocket","url":"ws://127.0.0.1:4002"}]},
              {"type":"direct-tcp-v1","hostname":"x","port":-1},
              {"type":"tor-tcp-v1","hostname":"a.onion","port":80},
              "garbage"]}"#;
        let msg: TransitMessage = serde_json::from_str(text).unwrap();
        let relay = DirectHint {
            hostname: "127.0.0.1".into(),
            port: 4001,
            priority: 0.0,
        };
        assert_eq!(msg.usable_hints(), vec![Hint::Relay(vec![relay])]);
        assert_eq!(
            msg.websocket_relays(),
            vec!["ws://127.0.0.1:4002".to_owned()]
        );
    }

    #[test]
    fn quic_offers_round_trip_and_other_clients_see_no_usable_hint() {
        let offer = QuicOffer {
            cert_sha256: [0xab; 32],
            candidates: vec![
                "203.0.113.5:4123".parse().unwrap(),
                "[2001:db8::1]:9".parse().unwrap(),
            ],
        };
        let msg = TransitMessage::build(true, true, &[]).with_quic(&offer);
        let text = serde_json::to_string(&msg).unwrap();
        assert!(text.contains(r#""type":"ferry-quic-v1""#), "{text}");
        assert!(text.contains(&format!(r#""cert-sha256":"{}""#, "ab".repeat(32))));
        let back: TransitMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(back.quic(), Some(offer));
        assert_eq!(back.usable_hints(), vec![]);
        assert!(back.peer_can_connect_directly());
        assert_eq!(TransitMessage::build(true, true, &[]).quic(), None);
    }

    #[test]
    fn hostile_quic_offers_are_cut_down() {
        let text = r#"{"abilities-v1":[{"type":"ferry-quic-v1","cert-sha256":"00"}]}"#;
        let short: TransitMessage = serde_json::from_str(text).unwrap();
        assert_eq!(short.quic(), None);
        let mut hints = vec![
            json!({"type": "ferry-quic-v1", "hostname": "name.example", "port": 1}),
            json!({"type": "ferry-quic-v1", "hostname": "192.0.2.1", "port": 0}),
            json!({"type": "ferry-quic-v1", "hostname": "192.0.2.1", "port": 70000}),
            json!({"type": "ferry-quic-v1", "hostname": "192.0.2.1"}),
        ];
        for port in 1..=20 {
            hints.push(json!({"type": "ferry-quic-v1", "hostname": "192.0.2.2", "port": port}));
        }
        let msg = TransitMessage {
            abilities: vec![json!({"type": QUIC_V1, "cert-sha256": hex::encode([1; 32])})],
            hints,
        };
        let offer = msg.quic().unwrap();
        assert_eq!(offer.candidates.len(), MAX_QUIC_CANDIDATES);
        assert_eq!(offer.candidates[0], "192.0.2.2:1".parse().unwrap());
    }

    #[test]
    fn websocket_relays_round_trip_and_bad_urls_are_dropped() {
        let urls = vec!["wss://relay.example:443/relay".to_owned()];
        let msg = TransitMessage::build(false, true, &[]).with_websocket_relays(&urls);
        let text = serde_json::to_string(&msg).unwrap();
        let back: TransitMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(back.websocket_relays(), urls);
        // Clients that know only TCP relays see no usable hint in it.
        assert_eq!(back.usable_hints(), vec![]);
        let hostile = r#"{"hints-v1":[{"type":"relay-v1","hints":[
            {"type":"websocket","url":"http://x/"},{"type":"websocket","url":"wss://"},
            {"type":"websocket","url":"wss://a b/"},{"type":"websocket","url":5},
            {"type":"websocket"},{"type":"websocket","url":"wss://ok:1/relay"}]},
            {"type":"relay-v1","hints":"nope"}]}"#;
        let msg: TransitMessage = serde_json::from_str(hostile).unwrap();
        assert_eq!(msg.websocket_relays(), vec!["wss://ok:1/relay".to_owned()]);
    }
}
