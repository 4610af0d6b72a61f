//! The `virtio_net_hdr` in front of each packet of a TUN device with offloads,
//! and what a super-packet would occupy on the emulated wire: the same bytes as
//! the 1500-byte segments the kernel would have cut it into, headers included,
//! so the line rate is spent as on a link without offloads.

/// Length of the header in front of each packet (`struct virtio_net_hdr`).
pub const HEADER_LEN: usize = 10;

const GSO_NONE: u8 = 0;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// Bytes that `packet` (header first) takes on the wire. A packet too short to
/// read is counted as it is.
pub fn wire_len(packet: &[u8]) -> usize {
    let Some((hdr, ip)) = packet.split_at_checked(HEADER_LEN) else {
        return packet.len();
    };
    let gso_type = hdr[1];
    let gso_size = usize::from(u16::from_ne_bytes([hdr[4], hdr[5]]));
    if gso_type == GSO_NONE || gso_size == 0 {
        return ip.len();
    }
    let Some(head) = headers_len(ip) else {
        return ip.len();
    };
    let payload = ip.len().saturating_sub(head);
    payload + payload.div_ceil(gso_size).max(1) * head
}

/// IP and TCP or UDP header bytes at the start of `ip` (IPv4, or IPv6 without
/// extension headers, as the kernel segments them).
fn headers_len(ip: &[u8]) -> Option<usize> {
    let (ip_len, proto) = match ip.first()? >> 4 {
        4 => (usize::from(ip[0] & 0x0f) * 4, *ip.get(9)?),
        6 => (40, *ip.get(6)?),
        _ => return None,
    };
    match proto {
        PROTO_TCP => Some(ip_len + usize::from(ip.get(ip_len + 12)? >> 4) * 4),
        PROTO_UDP => Some(ip_len + 8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A virtio_net_hdr (`gso_type`, `gso_size`) and an IPv4/TCP packet with
    /// 20 + 32 header bytes and `payload` bytes after them.
    fn v4(gso_type: u8, gso_size: u16, payload: usize) -> Vec<u8> {
        let mut p = vec![0u8; HEADER_LEN + 52 + payload];
        p[1] = gso_type;
        p[4..6].copy_from_slice(&gso_size.to_ne_bytes());
        let ip = &mut p[HEADER_LEN..];
        ip[0] = 0x45;
        ip[9] = PROTO_TCP;
        ip[20 + 12] = 8 << 4;
        p
    }

    #[test]
    fn a_plain_packet_is_its_ip_length() {
        assert_eq!(wire_len(&v4(GSO_NONE, 0, 1448)), 1500);
    }

    #[test]
    fn a_super_packet_counts_a_header_per_segment() {
        // 44 full segments of 1448 and one of 8: 45 headers of 52 bytes
        let p = v4(1, 1448, 44 * 1448 + 8);
        assert_eq!(wire_len(&p), 44 * 1448 + 8 + 45 * 52);
    }

    #[test]
    fn ipv6_headers_are_forty_bytes() {
        let mut p = vec![0u8; HEADER_LEN + 60 + 2000];
        p[1] = 4; // TCPv6
        p[4..6].copy_from_slice(&1000u16.to_ne_bytes());
        let ip = &mut p[HEADER_LEN..];
        ip[0] = 0x60;
        ip[6] = PROTO_TCP;
        ip[40 + 12] = 5 << 4;
        assert_eq!(wire_len(&p), 2000 + 2 * 60);
    }

    #[test]
    fn udp_segments_carry_eight_byte_headers() {
        // UDP_L4 offload (QUIC with GSO): the same 52 bytes read as 20 + 8 and
        // 24 bytes of the first datagram's payload
        let mut udp = v4(5, 1200, 2400 - 24);
        udp[HEADER_LEN + 9] = PROTO_UDP;
        assert_eq!(wire_len(&udp), 2400 + 2 * 28);
    }

    #[test]
    fn short_or_odd_packets_are_counted_as_they_are() {
        assert_eq!(wire_len(&[0; 4]), 4);
        let mut icmp = v4(1, 1000, 3000);
        icmp[HEADER_LEN + 9] = 1;
        assert_eq!(wire_len(&icmp), 52 + 3000);
        let cut = &v4(1, 1000, 0)[..HEADER_LEN + 21];
        assert_eq!(wire_len(cut), 21);
    }
}
