//! SSDP (UPnP Device Architecture §1.3): the M-SEARCH for an Internet Gateway
//! Device, multicast on the LAN, and the LOCATION of each unicast answer.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::igd::Url;
use super::{MapError, MAX_HTTP};

/// Where searches go.
pub const MULTICAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(239, 255, 255, 250), 1900);
/// What we search for: version 1 and 2 gateways.
pub const TARGETS: [&str; 2] = [
    "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
    "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
];

/// An M-SEARCH for `target`; devices answer within `mx` seconds (1 to 5).
pub fn search(target: &str, mx: u8) -> Vec<u8> {
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: {MULTICAST}\r\nMAN: \"ssdp:discover\"\r\nMX: {}\r\nST: {target}\r\n\r\n",
        mx.clamp(1, 5)
    )
    .into_bytes()
}

/// The device description's URL from an answer to [`search`].
pub fn parse_answer(b: &[u8]) -> Result<Url, MapError> {
    if b.len() > MAX_HTTP {
        return Err(MapError::Malformed("too long"));
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(b) {
        Ok(httparse::Status::Complete(_)) if response.code == Some(200) => {}
        _ => return Err(MapError::Malformed("not an SSDP answer")),
    }
    let location = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("location"))
        .ok_or(MapError::Malformed("no LOCATION"))?;
    let location =
        std::str::from_utf8(location.value).map_err(|_| MapError::Malformed("LOCATION"))?;
    Url::parse(location.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_an_m_search() {
        let s = String::from_utf8(search(TARGETS[0], 9)).unwrap();
        assert_eq!(
            s,
            "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 5\r\n\
             ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"
        );
    }

    #[test]
    fn answers_give_the_location() {
        let answer = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\
                       USN: uuid:x::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\n\
                       location: http://10.0.1.1:40123/rootDesc.xml\r\n\r\n";
        let url = parse_answer(answer).unwrap();
        assert_eq!(
            url,
            Url::parse("http://10.0.1.1:40123/rootDesc.xml").unwrap()
        );
        assert!(parse_answer(b"NOTIFY * HTTP/1.1\r\n\r\n").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nST: x\r\n\r\n").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nLOCATION: http://router.lan/\r\n\r\n").is_err());
    }
}
