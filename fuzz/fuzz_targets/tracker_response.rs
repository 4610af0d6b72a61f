//! What a tracker sends: an HTTP answer (framing, then the bencoded body) and BEP 15
//! UDP packets over IPv4 and IPv6. Peers decoded from a compact string re-encode to it.
#![no_main]

use ferry_proto::torrent::tracker::{compact_peers, encode_compact, http, udp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for eof in [false, true] {
        if let Ok(Some(body)) = http::response_body(data, eof) {
            assert!(body.len() <= data.len());
            let _ = http::decode_response(&body);
        }
    }
    let _ = http::decode_response(data);
    for ipv6 in [false, true] {
        if let Ok(udp::UdpResponse::Announce { response, .. }) = udp::decode_response(data, ipv6) {
            assert_eq!(encode_compact(&response.peers), data[20..]);
        }
        if let Ok(peers) = compact_peers(data, ipv6) {
            assert_eq!(encode_compact(&peers), data);
        }
    }
});
