//! The transit relay's handshake: the client's `please relay` line and the
//! relay's one-line answers. The client encodes the line
//! (`transit::handshake::relay_line`), the relay decodes it.
//!
//! `please relay <64 word chars> for side <16 word chars>` (new) or
//! `please relay <64 word chars>` (legacy), where a word char is
//! `[0-9A-Za-z_]`. On TCP the line ends at `\n` (not part of the line; a `\r`
//! before it makes the line invalid, as with the reference). A WebSocket's first
//! frame holds the whole line, with or without one trailing `\n`.

/// The relay's word that both halves are paired.
pub const OK: &[u8] = b"ok\n";
/// The reference relay's answer to a line that does not parse.
pub const BAD_HANDSHAKE: &[u8] = b"bad handshake\n";
/// The reference relay's answer to data sent before pairing.
pub const IMPATIENT: &[u8] = b"impatient\n";

const PREFIX: &str = "please relay ";
const SIDE: &str = " for side ";

/// A request to pair with whoever presents the same token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayRequest {
    /// 64 hex chars derived from the transit key: both halves of a transfer
    /// present the same one.
    pub token: String,
    /// Fresh per transfer, so a client never pairs with itself; `None` for the
    /// legacy line, which pairs with any side.
    pub side: Option<String>,
}

impl RelayRequest {
    /// The line as sent on TCP, `\n` included.
    pub fn encode(&self) -> Vec<u8> {
        match &self.side {
            Some(side) => format!("{PREFIX}{}{SIDE}{side}\n", self.token),
            None => format!("{PREFIX}{}\n", self.token),
        }
        .into_bytes()
    }

    /// Decodes a line without its terminating `\n`. `None` is the client's fault
    /// (the relay answers [`BAD_HANDSHAKE`]).
    pub fn decode_line(line: &[u8]) -> Option<RelayRequest> {
        let text = std::str::from_utf8(line).ok()?;
        let rest = text.strip_prefix(PREFIX)?;
        let (token, side) = match rest.split_once(SIDE) {
            Some((t, s)) => (t, Some(s)),
            None => (rest, None),
        };
        if !word(token, 64) || side.is_some_and(|s| !word(s, 16)) {
            return None;
        }
        Some(RelayRequest {
            token: token.to_owned(),
            side: side.map(str::to_owned),
        })
    }

    /// Decodes a WebSocket's first frame: the line, optionally followed by one `\n`.
    pub fn decode_frame(frame: &[u8]) -> Option<RelayRequest> {
        RelayRequest::decode_line(frame.strip_suffix(b"\n").unwrap_or(frame))
    }
}

fn word(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What the bytes read so far from a TCP relay connection hold.
#[derive(Debug, PartialEq, Eq)]
pub enum LineScan {
    /// No `\n` yet.
    Incomplete,
    /// The line (without `\n`) and whether bytes followed it.
    Line { len: usize, extra: bool },
    /// Longer than the reader's limit without a `\n`.
    TooLong,
}

/// Looks for the end of the line in `buf`; more than `max` bytes without a `\n`
/// is [`LineScan::TooLong`].
pub fn scan(buf: &[u8], max: usize) -> LineScan {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) => LineScan::Line {
            len: i,
            extra: buf.len() > i + 1,
        },
        None if buf.len() > max => LineScan::TooLong,
        None => LineScan::Incomplete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "03bce0633f7cbdc0a3a1594a0936360833e2230fb8c12791c5048b466fdd657d";

    fn request(side: Option<&str>) -> RelayRequest {
        RelayRequest {
            token: TOKEN.to_owned(),
            side: side.map(str::to_owned),
        }
    }

    #[test]
    fn encodes_exact_bytes() {
        assert_eq!(
            request(Some("abcdef0123456789")).encode(),
            format!("please relay {TOKEN} for side abcdef0123456789\n").into_bytes()
        );
        assert_eq!(
            request(None).encode(),
            format!("please relay {TOKEN}\n").into_bytes()
        );
    }

    #[test]
    fn round_trips_through_line_and_frame() {
        for r in [request(Some("abcdef0123456789")), request(None)] {
            let bytes = r.encode();
            let LineScan::Line { len, extra: false } = scan(&bytes, 1024) else {
                panic!("one whole line")
            };
            assert_eq!(RelayRequest::decode_line(&bytes[..len]), Some(r.clone()));
            assert_eq!(RelayRequest::decode_frame(&bytes), Some(r));
        }
    }

    #[test]
    fn new_and_legacy_lines() {
        let line = format!("please relay {TOKEN} for side abcdef0123456789");
        let r = RelayRequest::decode_line(line.as_bytes()).unwrap();
        assert_eq!(r.token, TOKEN);
        assert_eq!(r.side.as_deref(), Some("abcdef0123456789"));
        let legacy = RelayRequest::decode_line(format!("please relay {TOKEN}").as_bytes());
        assert_eq!(legacy.unwrap().side, None);
    }

    #[test]
    fn bad_lines() {
        for bad in [
            format!("please relay {TOKEN} for side abc"),
            format!("please relay {TOKEN}\r"),
            format!("please relay {}", &TOKEN[1..]),
            format!("please relay {TOKEN} for side abcdef0123456789 "),
            format!("please  relay {TOKEN}"),
            "GET / HTTP/1.1".to_owned(),
            format!("please relay {}-", &TOKEN[1..]),
        ] {
            assert_eq!(RelayRequest::decode_line(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(RelayRequest::decode_line(b"please relay \xff"), None);
    }

    #[test]
    fn frames_may_end_in_one_newline() {
        let line = format!("please relay {TOKEN} for side abcdef0123456789");
        assert!(RelayRequest::decode_frame(line.as_bytes()).is_some());
        assert!(RelayRequest::decode_frame(format!("{line}\n").as_bytes()).is_some());
        assert!(RelayRequest::decode_frame(format!("{line}\n\n").as_bytes()).is_none());
    }

    #[test]
    fn scanning() {
        assert_eq!(scan(b"please", 1024), LineScan::Incomplete);
        assert_eq!(
            scan(b"ab\n", 1024),
            LineScan::Line {
                len: 2,
                extra: false
            }
        );
        assert_eq!(
            scan(b"ab\nxy", 1024),
            LineScan::Line {
                len: 2,
                extra: true
            }
        );
        assert_eq!(scan(&[b'a'; 5], 4), LineScan::TooLong);
        assert_eq!(scan(&[b'a'; 4], 4), LineScan::Incomplete);
    }
}
