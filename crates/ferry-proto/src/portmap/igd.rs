//! UPnP Internet Gateway Device: the bits of HTTP, the device description and SOAP
//! that a port mapping needs. Every URL is plain `http://` to an IPv4 address (a
//! gateway on the LAN); the driver also requires that address to be the gateway's.

use std::net::Ipv4Addr;

use super::{MapError, MAX_HTTP};

/// The services that map ports, most capable first.
pub const SERVICES: [&str; 3] = [
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
];

/// UPnP error 725: the gateway only takes leases of 0 (permanent).
pub const ONLY_PERMANENT_LEASES: u16 = 725;

/// `http://IPv4[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: Ipv4Addr,
    pub port: u16,
    /// Starts with `/`.
    pub path: String,
}

impl Url {
    pub fn parse(s: &str) -> Result<Url, MapError> {
        let rest = s
            .strip_prefix("http://")
            .ok_or(MapError::Malformed("not an http:// URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| MapError::Malformed("URL port"))?),
            None => (authority, 80),
        };
        let host = host.parse().map_err(|_| MapError::Malformed("URL host"))?;
        if port == 0 || !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(MapError::Malformed("URL"));
        }
        Ok(Url {
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// `reference` (absolute, or a path) resolved against this URL.
    pub fn join(&self, reference: &str) -> Result<Url, MapError> {
        if reference.starts_with("http://") {
            return Url::parse(reference);
        }
        let path = match reference.starts_with('/') {
            true => reference.to_owned(),
            false => format!("/{reference}"),
        };
        Url::parse(&format!("http://{}:{}{path}", self.host, self.port))
    }
}

/// A GET of `url`'s path (the device description).
pub fn get(url: &Url) -> Vec<u8> {
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n\r\n",
        url.path, url.host, url.port
    );
    head.into_bytes()
}

/// The first port-mapping service of a device description: its type and control URL.
pub fn control_url(xml: &str) -> Result<(&'static str, String), MapError> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let (mut kind, mut control) = (None, None);
    for tag in tags(xml) {
        match (tag.closing, tag.name) {
            (false, "serviceType") => kind = SERVICES.iter().find(|s| **s == tag.text.trim()),
            (false, "controlURL") => control = Some(unescape(tag.text.trim())),
            (true, "service") => {
                if let (Some(k), Some(c)) = (kind.take(), control.take()) {
                    found.push((k, c));
                }
            }
            _ => {}
        }
    }
    found.sort_by_key(|(k, _)| SERVICES.iter().position(|s| s == k));
    found.into_iter().next().ok_or(MapError::Malformed(
        "no WANIPConnection or WANPPPConnection",
    ))
}

/// A SOAP action of `service` posted to `url`: `args` are (name, value) in order.
pub fn soap(url: &Url, service: &str, action: &str, args: &[(&str, String)]) -> Vec<u8> {
    let mut body = format!(
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>\
         <u:{action} xmlns:u=\"{service}\">"
    );
    for (name, value) in args {
        body.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    body.push_str(&format!("</u:{action}></s:Body></s:Envelope>\r\n"));
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n\
         SOAPAction: \"{service}#{action}\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host,
        url.port,
        body.len()
    );
    [head.into_bytes(), body.into_bytes()].concat()
}

/// `AddPortMapping` of TCP `port` (external = internal) to `client` for `lease` s.
pub fn add_port_mapping(
    url: &Url,
    service: &str,
    client: Ipv4Addr,
    port: u16,
    lease: u32,
) -> Vec<u8> {
    let args = [
        ("NewRemoteHost", String::new()),
        ("NewExternalPort", port.to_string()),
        ("NewProtocol", "TCP".to_owned()),
        ("NewInternalPort", port.to_string()),
        ("NewInternalClient", client.to_string()),
        ("NewEnabled", "1".to_owned()),
        ("NewPortMappingDescription", "ferry transit".to_owned()),
        ("NewLeaseDuration", lease.to_string()),
    ];
    soap(url, service, "AddPortMapping", &args)
}

/// `DeletePortMapping` of external TCP `port`.
pub fn delete_port_mapping(url: &Url, service: &str, port: u16) -> Vec<u8> {
    let args = [
        ("NewRemoteHost", String::new()),
        ("NewExternalPort", port.to_string()),
        ("NewProtocol", "TCP".to_owned()),
    ];
    soap(url, service, "DeletePortMapping", &args)
}

/// `GetExternalIPAddress` (no arguments).
pub fn get_external_ip(url: &Url, service: &str) -> Vec<u8> {
    soap(url, service, "GetExternalIPAddress", &[])
}

/// The address in a `GetExternalIPAddress` answer's body.
pub fn parse_external_ip(body: &str) -> Result<Ipv4Addr, MapError> {
    let tag = tags(body)
        .find(|t| !t.closing && t.name == "NewExternalIPAddress")
        .ok_or(MapError::Malformed("no NewExternalIPAddress"))?;
    tag.text
        .trim()
        .parse()
        .map_err(|_| MapError::Malformed("NewExternalIPAddress"))
}

/// A SOAP fault's UPnP `errorCode` (or the HTTP status when there is none).
pub fn fault_code(status: u16, body: &str) -> u16 {
    tags(body)
        .find(|t| !t.closing && t.name == "errorCode")
        .and_then(|t| t.text.trim().parse().ok())
        .unwrap_or(status)
}

/// A whole HTTP/1.x response (the server closed the connection after it): its
/// status and body. Bodies by `Content-Length`, chunked, or up to the end.
pub fn parse_response(b: &[u8]) -> Result<(u16, Vec<u8>), MapError> {
    if b.len() > MAX_HTTP {
        return Err(MapError::Malformed("too long"));
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let start = match response.parse(b) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return Err(MapError::Malformed("HTTP head")),
    };
    let status = response.code.ok_or(MapError::Malformed("HTTP status"))?;
    let header = |name: &str| {
        let h = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name));
        h.map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let rest = &b[start..];
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| MapError::Malformed("Content-Length"))?;
        rest.get(..len)
            .ok_or(MapError::Malformed("short body"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, MapError> {
    let mut out = Vec::new();
    loop {
        let line_end = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(MapError::Malformed("chunk size"))?;
        let size =
            std::str::from_utf8(&b[..line_end]).map_err(|_| MapError::Malformed("chunk size"))?;
        let size = size.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| MapError::Malformed("chunk size"))?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = b.get(..size).ok_or(MapError::Malformed("short chunk"))?;
        out.extend_from_slice(chunk);
        b = b
            .get(size + 2..)
            .ok_or(MapError::Malformed("short chunk"))?;
    }
}

/// One tag of an XML text and the text right after it (up to the next tag).
struct Tag<'a> {
    closing: bool,
    /// Without its namespace prefix.
    name: &'a str,
    text: &'a str,
}

/// The tags of `xml` in order; comments, declarations and CDATA are not special
/// (no answer we read needs them).
fn tags(xml: &str) -> impl Iterator<Item = Tag<'_>> {
    xml.split('<').skip(1).filter_map(|piece| {
        let (inside, text) = piece.split_once('>')?;
        let closing = inside.starts_with('/');
        let name = inside.trim_start_matches('/');
        let name = name.split(|c: char| c.is_whitespace() || c == '/').next()?;
        let name = name.rsplit(':').next()?;
        Some(Tag {
            closing,
            name,
            text,
        })
    })
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESCRIPTION: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
<controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceList><device><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>
<controlURL>/ctl/PPP</controlURL></service>
<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn?a=1&amp;b=2</controlURL></service>
</serviceList></device></deviceList></device></deviceList></device></root>"#;

    #[test]
    fn the_wan_ip_service_is_found() {
        let (service, control) = control_url(DESCRIPTION).unwrap();
        assert_eq!(service, SERVICES[1]);
        assert_eq!(control, "/ctl/IPConn?a=1&b=2");
        assert!(
            control_url("<root><service><serviceType>x</serviceType></service></root>").is_err()
        );
    }

    #[test]
    fn urls_parse_and_join() {
        let base = Url::parse("http://10.0.1.1:5000/rootDesc.xml").unwrap();
        assert_eq!((base.host, base.port), (Ipv4Addr::new(10, 0, 1, 1), 5000));
        assert_eq!(base.join("/ctl/IPConn").unwrap().path, "/ctl/IPConn");
        assert_eq!(base.join("ctl").unwrap().path, "/ctl");
        assert_eq!(Url::parse("http://10.0.1.1").unwrap().port, 80);
        for bad in [
            "https://10.0.1.1/",
            "http://gateway.lan/",
            "http://10.0.1.1:0/",
            "http://1.2.3.4/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn soap_requests_carry_the_action() {
        let url = Url::parse("http://10.0.1.1:5000/ctl/IPConn").unwrap();
        let req = add_port_mapping(&url, SERVICES[1], Ipv4Addr::new(10, 0, 1, 2), 4242, 3600);
        let req = String::from_utf8(req).unwrap();
        assert!(req.starts_with("POST /ctl/IPConn HTTP/1.1\r\nHost: 10.0.1.1:5000\r\n"));
        assert!(req.contains(
            "SOAPAction: \"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping\"\r\n"
        ));
        assert!(
            req.contains("<NewExternalPort>4242</NewExternalPort><NewProtocol>TCP</NewProtocol>")
        );
        assert!(req.contains("<NewInternalClient>10.0.1.2</NewInternalClient>"));
        let (head, body) = req.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }

    #[test]
    fn responses_decode() {
        let body = "<s:Envelope><s:Body><u:GetExternalIPAddressResponse xmlns:u=\"x\">\
                    <NewExternalIPAddress>203.0.113.7</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>";
        let http = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, got) = parse_response(http.as_bytes()).unwrap();
        assert_eq!(status, 200);
        let got = String::from_utf8(got).unwrap();
        assert_eq!(parse_external_ip(&got), Ok(Ipv4Addr::new(203, 0, 113, 7)));
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked.as_bytes()).unwrap().1,
            b"hello world"
        );
        let fault =
            "<s:Fault><detail><UPnPError><errorCode>725</errorCode></UPnPError></detail></s:Fault>";
        assert_eq!(fault_code(500, fault), ONLY_PERMANENT_LEASES);
        assert_eq!(fault_code(500, "no xml"), 500);
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
        assert!(parse_response(&vec![b'a'; MAX_HTTP + 1]).is_err());
    }
}
