//! The relay handshake line, sans-IO.
//!
//! `please relay <64 word chars> for side <16 word chars>` (new) or
//! `please relay <64 word chars>` (legacy), where a word char is
//! `[0-9A-Za-z_]`. On TCP the line ends at `\n` (not part of the line; a `\r`
//! before it makes the line invalid, as with the reference). A WebSocket's first
//! frame holds the whole line, with or without one trailing `\n`.

/// The longest line the relay reads before giving up.
pub(crate) const MAX_LINE: usize = 1024;

/// A parsed relay request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelayRequest {
    pub(crate) token: String,
    /// `None` for the legacy line, which pairs with any side.
    pub(crate) side: Option<String>,
}

fn word(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses a line without its terminating `\n`.
pub(crate) fn parse_line(line: &[u8]) -> Option<RelayRequest> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("please relay ")?;
    let (token, side) = match rest.split_once(" for side ") {
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

/// Parses a WebSocket's first frame: the line, optionally followed by one `\n`.
pub(crate) fn parse_frame(frame: &[u8]) -> Option<RelayRequest> {
    parse_line(frame.strip_suffix(b"\n").unwrap_or(frame))
}

/// What reading a TCP line so far gives.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineScan {
    /// No `\n` yet.
    Incomplete,
    /// The line (without `\n`) and whether bytes followed it.
    Line { len: usize, extra: bool },
    /// Longer than [`MAX_LINE`] without a `\n`.
    TooLong,
}

/// Looks for the end of the line in what has been read.
pub(crate) fn scan(buf: &[u8]) -> LineScan {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) => LineScan::Line {
            len: i,
            extra: buf.len() > i + 1,
        },
        None if buf.len() > MAX_LINE => LineScan::TooLong,
        None => LineScan::Incomplete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "03bce0633f7cbdc0a3a1594a0936360833e2230fb8c12791c5048b466fdd657d";

    #[test]
    fn new_and_legacy_lines() {
        let line = format!("please relay {TOKEN} for side abcdef0123456789");
        let r = parse_line(line.as_bytes()).unwrap();
        assert_eq!(r.token, TOKEN);
        assert_eq!(r.side.as_deref(), Some("abcdef0123456789"));
        let legacy = parse_line(format!("please relay {TOKEN}").as_bytes()).unwrap();
        assert_eq!(legacy.side, None);
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
            assert_eq!(parse_line(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn frames_may_end_in_one_newline() {
        let line = format!("please relay {TOKEN} for side abcdef0123456789");
        assert!(parse_frame(line.as_bytes()).is_some());
        assert!(parse_frame(format!("{line}\n").as_bytes()).is_some());
        assert!(parse_frame(format!("{line}\n\n").as_bytes()).is_none());
    }

    #[test]
    fn scanning() {
        assert_eq!(scan(b"please"), LineScan::Incomplete);
        assert_eq!(
            scan(b"ab\n"),
            LineScan::Line {
                len: 2,
                extra: false
            }
        );
        assert_eq!(
            scan(b"ab\nxy"),
            LineScan::Line {
                len: 2,
                extra: true
            }
        );
        assert_eq!(scan(&[b'a'; MAX_LINE + 1]), LineScan::TooLong);
    }
}
