//! `ferry send --qr`: the code as a QR code of magic-wormhole's `wormhole-transfer:`
//! URI (its docs/uri-scheme.md), drawn with Unicode half blocks, two module rows
//! per line, so it survives copy and paste, `less` and logs (no colour escapes).
//!
//! Light modules are drawn as ink (█ ▀ ▄), dark ones as blanks: on the usual
//! light-on-dark terminal that shows dark modules on a light field, as printed
//! QR codes are, and the quiet zone is drawn too so scanners find the edge.

use qrcode::{Color, QrCode};

use ferry::DEFAULT_MAILBOX_URL;

/// Light modules around the symbol (the standard asks for 4).
const QUIET_ZONE: usize = 4;

/// `wormhole-transfer:CODE`, plus `?version=0&rendezvous=URL` for another server.
/// The scheme names the server without its versioned endpoint (`/v1`): clients add it.
pub fn uri(code: &str, server: Option<&str>) -> String {
    let mut uri = format!("wormhole-transfer:{}", encode(code, false));
    if let Some(server) = server.filter(|s| *s != DEFAULT_MAILBOX_URL) {
        let base = server.strip_suffix("/v1").unwrap_or(server);
        uri += &format!("?version=0&rendezvous={}", encode(base, true));
    }
    uri
}

/// Percent-encoding: the code with the C0-control set the scheme asks for (plus
/// space and the characters that would end the path), query values as
/// application/x-www-form-urlencoded, as the scheme's own example shows
/// (`ws%3A%2F%2Frelay.magic-wormhole.io%3A4000`).
pub fn encode(text: &str, query: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        let keep = if query {
            b.is_ascii_alphanumeric() || b"*-._".contains(&b)
        } else {
            b.is_ascii_graphic() && !b"%?#".contains(&b)
        };
        if keep {
            out.push(char::from(b));
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

/// The QR code of `data`, one text line per two module rows; None when `data`
/// does not fit in any QR version.
pub fn draw(data: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    let width = code.width();
    let dark = code.to_colors();
    let side = width + 2 * QUIET_ZONE;
    // Light at (x, y) in the padded square; everything outside the symbol is light.
    let light = |x: usize, y: usize| {
        let (Some(x), Some(y)) = (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) else {
            return true;
        };
        x >= width || y >= width || dark[y * width + x] == Color::Light
    };
    let mut out = String::new();
    for y in (0..side).step_by(2) {
        for x in 0..side {
            out.push(match (light(x, y), y + 1 < side && light(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_of_the_default_server_is_the_code_alone() {
        assert_eq!(
            uri("4-hurricane-equipment", None),
            "wormhole-transfer:4-hurricane-equipment"
        );
        assert_eq!(
            uri("4-hurricane-equipment", Some(DEFAULT_MAILBOX_URL)),
            "wormhole-transfer:4-hurricane-equipment"
        );
    }

    /// The scheme's own example, expanded.
    #[test]
    fn uri_names_another_server_without_v1() {
        assert_eq!(
            uri("4-hurricane-equipment", Some("ws://relay.example:4000/v1")),
            "wormhole-transfer:4-hurricane-equipment?version=0&rendezvous=ws%3A%2F%2Frelay.example%3A4000"
        );
        assert_eq!(uri("1-a b?", None), "wormhole-transfer:1-a%20b%3F");
    }

    #[test]
    fn drawing_has_a_quiet_zone_and_only_blocks() {
        let data = "wormhole-transfer:4-hurricane-equipment";
        let drawing = draw(data).unwrap();
        let lines: Vec<&str> = drawing.lines().collect();
        // The symbol plus the quiet zone, two rows a line.
        let side = QrCode::new(data).unwrap().width() + 2 * QUIET_ZONE;
        assert_eq!(lines.len(), side.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == side));
        assert!(lines[0].chars().all(|c| c == '█'));
        assert!(drawing.chars().all(|c| "█▀▄ \n".contains(c)));
    }
}
