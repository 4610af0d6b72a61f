//! STUN (RFC 5389) Binding, both halves. The server's: a request in, the success
//! answer carrying the request's source address (XOR-MAPPED-ADDRESS) out. The
//! client's: [`binding_request`] out, [`parse_binding_success`] on what comes
//! back. Clients learn the address their NAT gives them (ferry's QUIC candidates);
//! a router's UPnP daemon learns its external address this way too (miniupnpd's
//! `ext_perform_stun`).
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

/// A Binding request with transaction `id` (the caller's random bytes), no attributes.
pub fn binding_request(id: &[u8; 12]) -> [u8; HEADER] {
    let mut m = [0u8; HEADER];
    m[..2].copy_from_slice(&BINDING_REQUEST.to_be_bytes());
    m[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m[8..].copy_from_slice(id);
    m
}

/// The mapped address of a Binding success answer to transaction `id`, or `None`
/// for anything else (another transaction, an error answer, a malformed packet).
/// XOR-MAPPED-ADDRESS only: RFC 3489's plain MAPPED-ADDRESS is rewritten by
/// NATs that "fix" addresses in payloads.
pub fn parse_binding_success(b: &[u8], id: &[u8; 12]) -> Option<SocketAddr> {
    let kind = u16::from_be_bytes([*b.first()?, *b.get(1)?]);
    let len = usize::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?]));
    let cookie = b.get(4..8)?;
    if kind != BINDING_SUCCESS || cookie != MAGIC_COOKIE.to_be_bytes() || b.get(8..HEADER)? != id {
        return None;
    }
    let mut attrs = b.get(HEADER..HEADER + len)?;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let alen = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + alen)?;
        if kind == XOR_MAPPED_ADDRESS {
            return xor_address(value, id);
        }
        attrs = attrs.get((4 + alen.div_ceil(4) * 4).min(attrs.len())..)?;
    }
    None
}

/// An XOR-MAPPED-ADDRESS value (RFC 5389 §15.2) decoded.
fn xor_address(value: &[u8], id: &[u8; 12]) -> Option<SocketAddr> {
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let key: Vec<u8> = cookie.iter().chain(id.iter()).copied().collect();
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]) ^ (MAGIC_COOKIE >> 16) as u16;
    let ip = match (value.get(1)?, value.len()) {
        (1, 8) => {
            let mut o = [0u8; 4];
            o.iter_mut()
                .zip(&value[4..])
                .zip(&key)
                .for_each(|((o, v), k)| *o = v ^ k);
            IpAddr::from(o)
        }
        (2, 20) => {
            let mut o = [0u8; 16];
            o.iter_mut()
                .zip(&value[4..])
                .zip(&key)
                .for_each(|((o, v), k)| *o = v ^ k);
            IpAddr::from(o)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
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
    fn a_client_reads_the_address_the_server_wrote() {
        let id = [7u8; 12];
        let req = binding_request(&id);
        assert_eq!(parse_binding_request(&req), Some(id));
        for from in ["198.51.100.7:4123", "[2001:db8::9]:65535"] {
            let from: SocketAddr = from.parse().unwrap();
            let answer = binding_success(&id, from);
            assert_eq!(parse_binding_success(&answer, &id), Some(from));
            // Another transaction's answer, or a request, is not ours.
            assert_eq!(parse_binding_success(&answer, &[8; 12]), None);
            assert_eq!(parse_binding_success(&req, &id), None);
            // Cut anywhere, it is dropped, never a panic.
            for cut in 0..answer.len() {
                assert_eq!(parse_binding_success(&answer[..cut], &id), None);
            }
        }
    }

    /// RFC 5769 §2.2: the sample IPv4 response (with SOFTWARE, MAPPED-less
    /// XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT) decodes to 192.0.2.1:32853.
    #[test]
    fn the_rfc_5769_response_decodes() {
        let id = [
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ];
        let mut m = vec![0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42];
        m.extend_from_slice(&id);
        // SOFTWARE "test vector " (11 bytes + 1 padding).
        m.extend_from_slice(&[0x80, 0x22, 0x00, 0x0b]);
        m.extend_from_slice(b"test vector ");
        m.extend_from_slice(&[
            0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
        ]);
        // MESSAGE-INTEGRITY and FINGERPRINT: not checked, skipped.
        m.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
        m.extend_from_slice(&[0u8; 20]);
        m.extend_from_slice(&[0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96]);
        let want: SocketAddr = "192.0.2.1:32853".parse().unwrap();
        assert_eq!(parse_binding_success(&m, &id), Some(want));
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
