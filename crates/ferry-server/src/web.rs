//! The browser page on the mailbox port: the files of `web/dist/`, embedded at
//! compile time (so building needs no Node), and `/ferry-web.json`, which tells
//! the page where this server's mailbox and relays are.
//!
//! Everything the page may connect to is named by the request's `Host` header, so
//! a page opened at `http://192.168.1.5:4000/` talks back to `192.168.1.5`; the
//! header is checked (a hostname or an IP address, an optional port) before it is
//! written into a header or JSON. The ports are the listeners' own. When the
//! mailbox port serves TLS itself (`--tls-cert`), the page is told `wss://` URLs,
//! the relay at `/relay` of the mailbox port; behind a TLS proxy (other ports)
//! the page would need more than this (future work).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use ferry_proto::transfer::DEFAULT_APPID;

/// Where the WebSocket relay answers on the mailbox port (over TLS when the
/// port is), besides its own listener.
pub(crate) const RELAY_PATH: &str = "/relay";

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// `web/dist/NAME`, served at `/NAME` as `TYPE`.
macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset {
            path: concat!("/", $name),
            content_type: $type,
            body: include_bytes!(concat!("../../../web/dist/", $name)),
        }
    };
}

/// The page's fixed set of files.
const ASSETS: [Asset; 5] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("transit.js", "text/javascript; charset=utf-8"),
    asset!("sw.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
];

/// Where the page's bootstrap JSON is served.
pub(crate) const CONFIG_PATH: &str = "/ferry-web.json";

/// Headers every answer of the page carries. `no-cache` (revalidate each time,
/// which here means fetch again: the files are small) because the files change
/// with the binary, and a cached `app.js` beside a new `index.html` would break
/// the page; the service worker keeps the page usable offline.
const COMMON_HEADERS: [(&str, &str); 3] = [
    ("Cache-Control", "no-cache"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
];

/// The listeners the page is told about (bound addresses, so port 0 works).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WebPorts {
    pub(crate) mailbox: u16,
    pub(crate) relay_tcp: Option<u16>,
    pub(crate) relay_ws: Option<u16>,
    /// The mailbox port serves TLS: the page gets `wss://` URLs, and the
    /// WebSocket relay at `/relay` of the mailbox port.
    pub(crate) tls: bool,
}

impl WebPorts {
    pub(crate) fn new(
        mailbox: Option<SocketAddr>,
        relay_tcp: Option<SocketAddr>,
        relay_ws: Option<SocketAddr>,
    ) -> Self {
        WebPorts {
            mailbox: mailbox.map_or(0, |a| a.port()),
            relay_tcp: relay_tcp.map(|a| a.port()),
            relay_ws: relay_ws.map(|a| a.port()),
            tls: false,
        }
    }

    pub(crate) fn with_tls(self, tls: bool) -> Self {
        WebPorts { tls, ..self }
    }

    /// The mailbox URL under `host`.
    fn mailbox_url(&self, host: &str) -> String {
        match self.tls {
            true => format!("wss://{host}:{}/v1", self.mailbox),
            false => format!("ws://{host}:{}/v1", self.mailbox),
        }
    }

    /// The WebSocket relay URL under `host`: its own port in plain text, the
    /// mailbox port's `/relay` with TLS (one port, one certificate).
    fn relay_ws_url(&self, host: &str) -> Option<String> {
        let port = self.relay_ws?;
        Some(match self.tls {
            true => format!("wss://{host}:{}{}", self.mailbox, RELAY_PATH),
            false => format!("ws://{host}:{port}/"),
        })
    }
}

/// A complete answer: status, headers beyond the length, body (the embedded
/// files are not copied).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Cow<'static, [u8]>,
}

/// Whether `path` is one of the page's (else the caller's own pages answer).
pub(crate) fn is_web_path(path: &str) -> bool {
    path == "/" || path == CONFIG_PATH || ASSETS.iter().any(|a| a.path == path)
}

/// The answer for a page path (see [`is_web_path`]).
pub(crate) fn answer(method: &str, path: &str, host: Option<&str>, ports: WebPorts) -> Answer {
    if method != "GET" && method != "HEAD" {
        let mut a = plain("405 Method Not Allowed", "GET and HEAD only\n");
        a.headers.push(("Allow", "GET, HEAD".to_owned()));
        return a;
    }
    let path = if path == "/" { "/index.html" } else { path };
    let asset = ASSETS.iter().find(|a| a.path == path);
    if let Some(a) = asset.filter(|a| a.path != "/index.html") {
        return ok(a.content_type, Cow::Borrowed(a.body), Vec::new());
    }
    let Some(host) = host.and_then(host_name) else {
        return plain("400 Bad Request", "missing or invalid Host header\n");
    };
    match asset {
        Some(index) => {
            let csp = ("Content-Security-Policy", csp(&host, ports));
            ok(index.content_type, Cow::Borrowed(index.body), vec![csp])
        }
        None => ok(
            "application/json",
            Cow::Owned(config_json(&host, ports).into_bytes()),
            Vec::new(),
        ),
    }
}

fn ok(content_type: &str, body: Cow<'static, [u8]>, extra: Vec<(&'static str, String)>) -> Answer {
    let mut headers = vec![("Content-Type", content_type.to_owned())];
    headers.extend(COMMON_HEADERS.iter().map(|(k, v)| (*k, (*v).to_owned())));
    headers.extend(extra);
    Answer {
        status: "200 OK",
        headers,
        body,
    }
}

fn plain(status: &'static str, body: &'static str) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type", "text/plain; charset=utf-8".to_owned())],
        body: Cow::Borrowed(body.as_bytes()),
    }
}

/// The page's Content-Security-Policy: nothing from elsewhere, and connections
/// only to this server's mailbox and WebSocket relay. `'wasm-unsafe-eval'` lets
/// the page compile its WebAssembly SHA-256 (the file checksum); it allows no
/// JavaScript eval.
pub(crate) fn csp(host: &str, ports: WebPorts) -> String {
    let mut connect = match ports.tls {
        true => format!("'self' wss://{host}:{}", ports.mailbox),
        false => format!("'self' ws://{host}:{}", ports.mailbox),
    };
    if let Some(p) = ports.relay_ws.filter(|_| !ports.tls) {
        connect += &format!(" ws://{host}:{p}");
    }
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; worker-src 'self'; manifest-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
}

/// `/ferry-web.json`: what the page needs to start.
pub(crate) fn config_json(host: &str, ports: WebPorts) -> String {
    let v = serde_json::json!({
        "mailbox": ports.mailbox_url(host),
        "relay_ws": ports.relay_ws_url(host),
        "relay_tcp": ports.relay_tcp.map(|p| format!("tcp:{host}:{p}")),
        "appid": DEFAULT_APPID,
    });
    v.to_string()
}

/// The host part of a `Host` header (lowercase; an IPv6 address keeps its
/// brackets), or None unless it is a DNS name or an IP address with an optional
/// port. Anything else could smuggle text into the CSP or the JSON.
pub(crate) fn host_name(header: &str) -> Option<String> {
    let (host, port) = split_port(header)?;
    if let Some(p) = port {
        if !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err() {
            return None;
        }
    }
    let ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => host.parse::<Ipv4Addr>().is_ok() || is_dns_name(host),
    };
    ok.then(|| host.to_ascii_lowercase())
}

/// `host[:port]` or `[v6][:port]`.
fn split_port(header: &str) -> Option<(&str, Option<&str>)> {
    if header.starts_with('[') {
        let end = header.find(']')? + 1;
        let rest = &header[end..];
        return match rest.strip_prefix(':') {
            Some(p) => Some((&header[..end], Some(p))),
            None => rest.is_empty().then_some((header, None)),
        };
    }
    Some(match header.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (header, None),
    })
}

/// Letters, digits and hyphens in dot-separated labels of 1–63 bytes, no label
/// starting or ending with a hyphen, at most 253 bytes in all.
fn is_dns_name(name: &str) -> bool {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    (1..=253).contains(&name.len()) && name.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_accepted() {
        assert_eq!(host_name("example.com").as_deref(), Some("example.com"));
        assert_eq!(host_name("Ferry.LAN:4000").as_deref(), Some("ferry.lan"));
        assert_eq!(
            host_name("192.168.1.5:4000").as_deref(),
            Some("192.168.1.5")
        );
        assert_eq!(host_name("[::1]:4000").as_deref(), Some("[::1]"));
        assert_eq!(host_name("[fe80::1]").as_deref(), Some("[fe80::1]"));
    }

    #[test]
    fn hosts_refused() {
        for bad in [
            "",
            ":4000",
            "a b",
            "evil.com; script-src *",
            "evil.com\"",
            "h:4000:1",
            "h:99999",
            "h:+80",
            "::1",
            "[::1",
            "[nothex]:1",
            "[::1]x",
            "-a.com",
            "a..com",
            "a_b.com",
            "h/x",
        ] {
            assert_eq!(host_name(bad), None, "{bad:?}");
        }
        assert_eq!(host_name(&"a".repeat(64)), None);
    }

    #[test]
    fn with_tls_the_page_gets_wss_urls_and_the_relay_on_the_mailbox_port() {
        let ports = WebPorts {
            mailbox: 4000,
            relay_tcp: Some(4001),
            relay_ws: Some(4002),
            tls: true,
        };
        let json: serde_json::Value =
            serde_json::from_str(&config_json("h.example", ports)).unwrap();
        assert_eq!(json["mailbox"], "wss://h.example:4000/v1");
        assert_eq!(json["relay_ws"], "wss://h.example:4000/relay");
        assert_eq!(json["relay_tcp"], "tcp:h.example:4001");
        let csp = csp("h.example", ports);
        assert!(
            csp.contains("connect-src 'self' wss://h.example:4000;"),
            "{csp}"
        );
        let plain = WebPorts {
            tls: false,
            ..ports
        };
        let json: serde_json::Value =
            serde_json::from_str(&config_json("h.example", plain)).unwrap();
        assert_eq!(json["mailbox"], "ws://h.example:4000/v1");
        assert_eq!(json["relay_ws"], "ws://h.example:4002/");
        let no_ws = WebPorts {
            relay_ws: None,
            ..ports
        };
        assert!(
            serde_json::from_str::<serde_json::Value>(&config_json("h", no_ws)).unwrap()
                ["relay_ws"]
                .is_null()
        );
    }

    #[test]
    fn unknown_methods_refused() {
        let a = answer("POST", "/", Some("h"), WebPorts::default());
        assert_eq!(a.status, "405 Method Not Allowed");
    }
}
