//! STUN (RFC 5389) Binding, the server's half: a request in, the success answer
//! carrying the request's source address (XOR-MAPPED-ADDRESS) out. Clients learn
//! the address their NAT gives them; a router's UPnP daemon learns its external
//! address this way too (miniupnpd's `ext_perform_stun`).
//!
//! Attributes of a request are checked for shape and then ignored: RFC 3489's
//! CHANGE-REQUEST (which miniupnpd sends) is answered from the same address, as
//! public STUN servers without a second address do. No authentication, no
//! FINGERPRINT: the answer reveals only what the sender's packet already showed.

use std::net::{IpAddr, SocketAddr};

/// RFC 5389 §6.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
const HEADER: usize = 20;
/// Requests longer than this are not Binding requests we answer.
pub const MAX_REQUEST: usize = 548;

/// A Binding request's transaction ID, or `None` for anything else (which a
/// server drops silently, RFC 5389 §7.3).
pub fn parse_binding_request(b: &[u8]) -> Option<[u8; 12]> {
    if b.len() < HEADER || b.len() > MAX_REQUEST {
        return None;
    }
    let kind = u16::from_be_bytes([b[0], b[1]]);
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let cookie = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    if kind != BINDING_REQUEST || cookie != MAGIC_COOKIE || len != b.len() - HEADER {
        return None;
    }
    let mut attrs = &b[HEADER..];
    while !attrs.is_empty() {
        let alen = usize::from(u16::from_be_bytes([*attrs.get(2)?, *attrs.get(3)?]));
        let padded = 4 + alen.div_ceil(4) * 4;
        attrs = attrs.get(padded..)?;
    }
    b[8..HEADER].try_into().ok()
}

/// The success answer to transaction `id` from `from`.
pub fn binding_success(id: &[u8; 12], from: SocketAddr) -> Vec<u8> {
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = from.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let (family, mut address) = match from.ip() {
        IpAddr::V4(ip) => (1u8, ip.octets().to_vec()),
        IpAddr::V6(ip) => (2u8, ip.octets().to_vec()),
    };
    let key: Vec<u8> = cookie.iter().chain(id.iter()).copied().collect();
    address.iter_mut().zip(&key).for_each(|(a, k)| *a ^= k);
    let value_len = 4 + address.len();
    let mut m = Vec::with_capacity(HEADER + 4 + value_len);
    m.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    m.extend_from_slice(&((4 + value_len) as u16).to_be_bytes());
    m.extend_from_slice(&cookie);
    m.extend_from_slice(id);
    m.extend_from_slice(&XOR_MAPPED_ADDRESS.to_be_bytes());
    m.extend_from_slice(&(value_len as u16).to_be_bytes());
    m.extend_from_slice(&[0, family]);
    m.extend_from_slice(&port.to_be_bytes());
    m.extend_from_slice(&address);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5769 §2.2's response has XOR-MAPPED-ADDRESS 192.0.2.1:32853 for this
    /// transaction ID: its attribute bytes are the ones we must produce.
    #[test]
    fn the_rfc_5769_mapped_address() {
        let id = [
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ];
        let m = binding_success(&id, "192.0.2.1:32853".parse().unwrap());
        assert_eq!(&m[..4], &[0x01, 0x01, 0x00, 0x0c]);
        assert_eq!(&m[8..20], &id);
        let attr = [
            0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
        ];
        assert_eq!(&m[20..], &attr);
        let v6 = binding_success(
            &id,
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                .parse()
                .unwrap(),
        );
        let want6 = [
            0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25,
            0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
        ];
        assert_eq!(&v6[24..], &want6);
    }

    #[test]
    fn requests_are_checked() {
        let mut req = vec![0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42];
        req.extend_from_slice(&[9; 12]);
        // CHANGE-REQUEST (change IP and port), as miniupnpd sends it.
        req.extend_from_slice(&[0x00, 0x03, 0x00, 0x04, 0, 0, 0, 6]);
        assert_eq!(parse_binding_request(&req), Some([9; 12]));
        let mut bad_len = req.clone();
        bad_len[3] = 12;
        assert_eq!(parse_binding_request(&bad_len), None);
        let mut truncated_attr = req.clone();
        truncated_attr[23] = 8;
        assert_eq!(parse_binding_request(&truncated_attr), None);
        let mut no_cookie = req.clone();
        no_cookie[4] = 0;
        assert_eq!(parse_binding_request(&no_cookie), None);
        let mut answer = req;
        answer[1] = 0x01;
        answer[0] = 0x01;
        assert_eq!(parse_binding_request(&answer), None);
        assert_eq!(parse_binding_request(&[0; 19]), None);
    }
}
