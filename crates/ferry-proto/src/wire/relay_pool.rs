//! The line one relay instance of a pool sends another when it hands a client
//! over (`ferry serve` behind a load balancer; see `docs/relay-pool.md`).
//!
//! ```text
//! ferry-pool v1 <token> <side or -> <client ip> <unix seconds> <tag, 64 hex>\n
//! ```
//!
//! It replaces the client's `please relay` line on the owner's relay TCP port
//! and carries the original client's address, so that the owner applies its
//! per-address limits to the client, not to the forwarding instance. The tag
//! is an HMAC-SHA256 under the pool's shared secret of everything before the
//! space that precedes it ([`PoolPreamble::signed_bytes`]); computing and
//! checking it is the server's business (it holds the key), this file only
//! fixes the bytes. Clients never send or see this line.

use std::net::IpAddr;

use super::relay::RelayRequest;

/// What every preamble starts with; a relay line never does.
pub const PREFIX: &str = "ferry-pool v1 ";

/// A forwarded relay request, as the owner instance receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolPreamble {
    /// The client's token and side, as it sent them to the forwarding instance.
    pub request: RelayRequest,
    /// The client's address as the forwarding instance saw it.
    pub client_ip: IpAddr,
    /// When the forwarding instance wrote the line (seconds since the epoch).
    pub issued_at: u64,
    /// HMAC-SHA256 of [`PoolPreamble::signed_bytes`] under the pool secret.
    pub tag: [u8; 32],
}

impl PoolPreamble {
    /// The bytes the tag covers: the line up to the space before the tag.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let side = self.request.side.as_deref().unwrap_or("-");
        format!(
            "{PREFIX}{} {side} {} {}",
            self.request.token, self.client_ip, self.issued_at
        )
        .into_bytes()
    }

    /// The whole line, `\n` included.
    pub fn encode(&self) -> Vec<u8> {
        let mut line = self.signed_bytes();
        line.push(b' ');
        line.extend_from_slice(hex::encode(self.tag).as_bytes());
        line.push(b'\n');
        line
    }

    /// Whether a line (without its `\n`) is meant as a preamble.
    pub fn is_preamble(line: &[u8]) -> bool {
        line.starts_with(PREFIX.as_bytes())
    }

    /// Decodes a line without its `\n`. Only the exact encoding is accepted
    /// (one space between fields, lowercase hex, the address as `IpAddr`
    /// prints it), so the tag covers one spelling of each request.
    pub fn decode_line(line: &[u8]) -> Option<PoolPreamble> {
        let text = std::str::from_utf8(line).ok()?;
        let mut fields = text.strip_prefix(PREFIX)?.split(' ');
        let token = fields.next()?;
        let side = match fields.next()? {
            "-" => None,
            s => Some(s),
        };
        let relay = match side {
            Some(s) => format!("please relay {token} for side {s}"),
            None => format!("please relay {token}"),
        };
        let request = RelayRequest::decode_line(relay.as_bytes())?;
        let client_ip = fields.next()?.parse().ok()?;
        let issued_at = fields.next()?.parse().ok()?;
        let tag = hex::decode(fields.next()?).ok()?.try_into().ok()?;
        let p = PoolPreamble {
            request,
            client_ip,
            issued_at,
            tag,
        };
        let exact = fields.next().is_none() && p.encode().strip_suffix(b"\n") == Some(line);
        exact.then_some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN: &str = "03bce0633f7cbdc0a3a1594a0936360833e2230fb8c12791c5048b466fdd657d";

    fn preamble(side: Option<&str>, ip: &str) -> PoolPreamble {
        PoolPreamble {
            request: RelayRequest {
                token: TOKEN.to_owned(),
                side: side.map(str::to_owned),
            },
            client_ip: ip.parse().unwrap(),
            issued_at: 1_790_000_000,
            tag: [0xab; 32],
        }
    }

    #[test]
    fn encodes_exact_bytes() {
        let p = preamble(Some("abcdef0123456789"), "192.0.2.7");
        let tag = "ab".repeat(32);
        assert_eq!(
            String::from_utf8(p.encode()).unwrap(),
            format!("ferry-pool v1 {TOKEN} abcdef0123456789 192.0.2.7 1790000000 {tag}\n")
        );
        assert_eq!(
            String::from_utf8(preamble(None, "2001:db8::1").signed_bytes()).unwrap(),
            format!("ferry-pool v1 {TOKEN} - 2001:db8::1 1790000000")
        );
    }

    #[test]
    fn round_trips() {
        for p in [
            preamble(Some("abcdef0123456789"), "192.0.2.7"),
            preamble(None, "2001:db8::1"),
        ] {
            let line = p.encode();
            let line = &line[..line.len() - 1];
            assert!(PoolPreamble::is_preamble(line));
            assert_eq!(PoolPreamble::decode_line(line), Some(p));
        }
    }

    #[test]
    fn only_the_exact_spelling_decodes() {
        let good = String::from_utf8(preamble(None, "2001:db8::1").encode()).unwrap();
        let good = good.trim_end();
        for bad in [
            good.replace("2001:db8::1", "2001:db8:0::1"),
            good.replace("2001:db8::1", "2001:DB8::1"),
            good.replace(" 1790000000 ", " 01790000000 "),
            good.replace(" - ", "  - "),
            good.replace("abab", "ABAB"),
            format!("{good} "),
            format!("{good} extra"),
            good[..good.len() - 2].to_owned(),
            good.replace(TOKEN, &TOKEN[1..]),
            good.replace(" - ", " short "),
            "ferry-pool v2 x".to_owned(),
        ] {
            assert_eq!(PoolPreamble::decode_line(bad.as_bytes()), None, "{bad:?}");
        }
        assert!(!PoolPreamble::is_preamble(
            format!("please relay {TOKEN}").as_bytes()
        ));
    }

    proptest! {
        #[test]
        fn decoding_never_panics_and_only_the_encoding_decodes(
            tail in proptest::collection::vec(any::<u8>(), 0..300)
        ) {
            let line = [PREFIX.as_bytes(), &tail].concat();
            if let Some(p) = PoolPreamble::decode_line(&line) {
                prop_assert_eq!(p.encode(), [&line[..], b"\n"].concat());
            }
        }

        #[test]
        fn every_preamble_round_trips(
            token in "[0-9A-Za-z_]{64}",
            side in proptest::option::of("[0-9A-Za-z_]{16}"),
            client_ip in any::<IpAddr>(),
            issued_at in any::<u64>(),
            tag in any::<[u8; 32]>(),
        ) {
            let p = PoolPreamble {
                request: RelayRequest { token, side },
                client_ip,
                issued_at,
                tag,
            };
            let line = p.encode();
            prop_assert_eq!(PoolPreamble::decode_line(&line[..line.len() - 1]), Some(p));
        }
    }
}
