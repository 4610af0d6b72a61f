//! The browser page on the mailbox port: the embedded files with their types and
//! security headers, the Content-Security-Policy naming exactly this server's
//! WebSocket origins, `/ferry-web.json`, hostile `Host` headers, `--no-web`, and
//! the page's address in `welcome`.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use ferry_proto::wire::mailbox::ServerMessage;
use ferry_server::{Config, ServerHandle};
use ferry_test_support::raw_mailbox::Client;
use ferry_test_support::server::spawn;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Response {
    status: u16,
    /// Header names lowercased; each sent once.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

/// One request with `host` as the Host header (none when `None`), read to EOF.
async fn request(addr: SocketAddr, method: &str, path: &str, host: Option<&str>) -> Response {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    s.write_all(format!("{method} {path} HTTP/1.1\r\n{host}\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HashMap::new();
    for line in lines {
        let (k, v) = line.split_once(": ").unwrap();
        let old = headers.insert(k.to_ascii_lowercase(), v.to_owned());
        assert!(old.is_none(), "{k} sent twice");
    }
    Response {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

async fn get(addr: SocketAddr, path: &str, host: &str) -> Response {
    request(addr, "GET", path, Some(host)).await
}

fn dist(name: &str) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    std::fs::read(root.join(name)).unwrap()
}

async fn server() -> (ServerHandle, SocketAddr) {
    let h = spawn(Config::ephemeral()).await;
    let addr = h.mailbox_addr().unwrap();
    (h, addr)
}

fn ports(h: &ServerHandle) -> (u16, u16, u16) {
    (
        h.mailbox_addr().unwrap().port(),
        h.relay_ws_addr().unwrap().port(),
        h.relay_tcp_addr().unwrap().port(),
    )
}

fn assert_common_headers(r: &Response, content_type: &str) {
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), content_type);
    assert_eq!(r.header("content-length"), r.body.len().to_string());
    assert_eq!(r.header("cache-control"), "no-cache");
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert_eq!(r.header("referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn page_and_assets_are_served_with_types_and_headers() {
    let (_h, addr) = server().await;
    for (path, file, ctype) in [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/index.html", "index.html", "text/html; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
        (
            "/transit.js",
            "transit.js",
            "text/javascript; charset=utf-8",
        ),
        ("/sw.js", "sw.js", "text/javascript; charset=utf-8"),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
    ] {
        let r = get(addr, path, "127.0.0.1").await;
        assert_common_headers(&r, ctype);
        assert_eq!(r.body, dist(file), "{path} is web/dist/{file}");
        let is_html = file == "index.html";
        assert_eq!(r.headers.contains_key("content-security-policy"), is_html);
    }
}

#[tokio::test]
async fn head_gives_headers_only_and_other_methods_are_refused() {
    let (_h, addr) = server().await;
    let r = request(addr, "HEAD", "/app.js", Some("h")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), dist("app.js").len().to_string());
    assert!(r.body.is_empty());
    let r = request(addr, "POST", "/", Some("h")).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), "GET, HEAD");
}

#[tokio::test]
async fn csp_names_exactly_the_mailbox_and_relay_origins_of_the_host() {
    let (h, addr) = server().await;
    let (mailbox, relay_ws, _) = ports(&h);
    let r = get(addr, "/", &format!("192.168.1.5:{mailbox}")).await;
    let expected = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self' ws://192.168.1.5:{mailbox} ws://192.168.1.5:{relay_ws}; \
         worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    );
    assert_eq!(r.header("content-security-policy"), expected);
    let r = get(addr, "/", "[::1]:9").await;
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains(&format!(
            "connect-src 'self' ws://[::1]:{mailbox} ws://[::1]:{relay_ws};"
        )),
        "{csp}"
    );
}

#[tokio::test]
async fn csp_without_a_websocket_relay_names_the_mailbox_only() {
    let mut cfg = Config::ephemeral();
    cfg.relay_ws_listen = None;
    let h = spawn(cfg).await;
    let addr = h.mailbox_addr().unwrap();
    let r = get(addr, "/", "ferry.lan").await;
    let csp = r.header("content-security-policy");
    let mailbox = addr.port();
    assert!(
        csp.contains(&format!("connect-src 'self' ws://ferry.lan:{mailbox};")),
        "{csp}"
    );
    let v: Value =
        serde_json::from_slice(&get(addr, "/ferry-web.json", "ferry.lan").await.body).unwrap();
    assert_eq!(v["relay_ws"], Value::Null);
}

#[tokio::test]
async fn ferry_web_json_points_back_at_the_requested_host() {
    let (h, addr) = server().await;
    let (mailbox, relay_ws, relay_tcp) = ports(&h);
    let r = get(addr, "/ferry-web.json", "192.168.1.5:4000").await;
    assert_common_headers(&r, "application/json");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v,
        json!({
            "mailbox": format!("ws://192.168.1.5:{mailbox}/v1"),
            "relay_ws": format!("ws://192.168.1.5:{relay_ws}/"),
            "relay_tcp": format!("tcp:192.168.1.5:{relay_tcp}"),
            "appid": "lothar.com/wormhole/text-or-file-xfer",
        })
    );
    let v: Value =
        serde_json::from_slice(&get(addr, "/ferry-web.json", "Ferry.LAN").await.body).unwrap();
    assert_eq!(v["mailbox"], format!("ws://ferry.lan:{mailbox}/v1"));
}

#[tokio::test]
async fn hostile_or_missing_host_is_refused() {
    let (_h, addr) = server().await;
    for host in [
        "evil.com; connect-src *",
        "evil.com\"}",
        "a b",
        "h:4000:5",
        "::1",
        "h/../x",
    ] {
        for path in ["/", "/ferry-web.json"] {
            let r = get(addr, path, host).await;
            assert_eq!(r.status, 400, "{path} with Host {host:?}");
            assert!(!r.headers.contains_key("content-security-policy"));
        }
    }
    let r = request(addr, "GET", "/ferry-web.json", None).await;
    assert_eq!(r.status, 400);
    // the static files do not depend on the host
    assert_eq!(get(addr, "/app.js", "a b").await.status, 200);
}

#[tokio::test]
async fn no_web_serves_no_page() {
    let mut cfg = Config::ephemeral();
    cfg.web = false;
    cfg.web_url = Some("http://h:4000/".into());
    let h = spawn(cfg).await;
    let addr = h.mailbox_addr().unwrap();
    for path in [
        "/index.html",
        "/app.js",
        "/transit.js",
        "/sw.js",
        "/style.css",
        "/ferry-web.json",
    ] {
        assert_eq!(get(addr, path, "h").await.status, 404, "{path}");
    }
    let root = get(addr, "/", "h").await;
    assert_eq!(root.body, b"Wormhole Relay\n");
    let c = Client::connect(addr).await;
    assert_eq!(c.welcome["welcome"].get("ferry-web"), None);
}

#[tokio::test]
async fn welcome_advertises_the_web_url() {
    let mut cfg = Config::ephemeral();
    cfg.web_url = Some("http://192.168.1.5:4000/".into());
    let h = spawn(cfg).await;
    let c = Client::connect(h.mailbox_addr().unwrap()).await;
    assert_eq!(
        c.welcome["welcome"]["ferry-web"],
        "http://192.168.1.5:4000/"
    );
    let ServerMessage::Welcome { welcome } = ServerMessage::decode(&c.welcome.to_string()).unwrap()
    else {
        panic!("not a welcome")
    };
    assert_eq!(welcome.web.as_deref(), Some("http://192.168.1.5:4000/"));
    // without --web-url nothing is advertised
    let h = spawn(Config::ephemeral()).await;
    let c = Client::connect(h.mailbox_addr().unwrap()).await;
    assert_eq!(c.welcome["welcome"].get("ferry-web"), None);
}
