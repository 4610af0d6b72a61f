use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::http::{self, announce_url, percent_encode};
use super::udp::{self, ConnectionId, UdpResponse};
use super::*;

fn announce() -> Announce {
    Announce {
        info_hash: hex::decode("123456789abcdef123456789abcdef123456789a")
            .unwrap()
            .try_into()
            .unwrap(),
        peer_id: *b"-FY0100-abcdefghijkl",
        port: 6881,
        uploaded: 1,
        downloaded: 2,
        left: 3,
        event: Event::Started,
        key: 0xdead_beef,
        numwant: Some(50),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn info_hash_encoding_from_bep3() {
    assert_eq!(
        percent_encode(&announce().info_hash),
        "%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A"
    );
}

#[test]
fn announce_url_has_every_field() {
    let url = announce_url("http://t.example/announce", &announce());
    assert_eq!(
        url,
        "http://t.example/announce?info_hash=%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A\
         &peer_id=-FY0100-abcdefghijkl&port=6881&uploaded=1&downloaded=2&left=3&compact=1\
         &key=deadbeef&numwant=50&event=started"
    );
    let periodic = Announce {
        event: Event::None,
        numwant: None,
        ..announce()
    };
    let url = announce_url("http://t.example/a?passkey=x", &periodic);
    assert!(url.starts_with("http://t.example/a?passkey=x&info_hash="));
    assert!(!url.contains("event=") && !url.contains("numwant="));
}

#[test]
fn http_response_with_every_peer_form() {
    let mut body =
        b"d8:completei5e10:incompletei2e8:intervali1800e12:min intervali60e5:peers12:".to_vec();
    body.extend(encode_compact(&[
        addr("192.0.2.1:6881"),
        addr("198.51.100.2:51413"),
    ]));
    body.extend(b"6:peers618:");
    body.extend(encode_compact(&[addr("[2001:db8::1]:6882")]));
    body.extend(b"15:warning message4:slowe");
    let r = http::decode_response(&body).unwrap();
    assert_eq!(
        (r.interval, r.min_interval, r.seeders, r.leechers),
        (1800, Some(60), Some(5), Some(2))
    );
    assert_eq!(r.warning.as_deref(), Some("slow"));
    assert_eq!(
        r.peers,
        vec![
            addr("192.0.2.1:6881"),
            addr("198.51.100.2:51413"),
            addr("[2001:db8::1]:6882")
        ]
    );
    let dict_form = b"d8:intervali900e5:peersld2:ip9:192.0.2.77:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti80eed2:ip13:tracker.local4:porti1eeee";
    assert_eq!(
        http::decode_response(dict_form).unwrap().peers,
        vec![addr("192.0.2.7:80")]
    );
}

#[test]
fn http_refusals() {
    assert_eq!(
        http::decode_response(b"d14:failure reason10:not \"here\"e"),
        Err(TrackerError::Failure("not \"here\"".into()))
    );
    assert_eq!(
        TrackerError::Failure("a\x1b[31m".into()).to_string(),
        "tracker refused: a\\u{1b}[31m"
    );
    assert_eq!(
        http::decode_response(b"d8:intervali1e5:peers5:abcdee"),
        Err(TrackerError::PeersLength { len: 5, unit: 6 })
    );
    assert_eq!(
        http::decode_response(b"d8:intervali1e6:peers66:abcdefe"),
        Err(TrackerError::PeersLength { len: 6, unit: 18 })
    );
    assert_eq!(
        http::decode_response(b"d5:peers0:e"),
        Err(TrackerError::Field("interval"))
    );
    assert_eq!(http::decode_response(b"le"), Err(TrackerError::NotDict));
    assert!(matches!(
        http::decode_response(b"<html>"),
        Err(TrackerError::Bencode(_))
    ));
    let huge = vec![b'x'; MAX_RESPONSE + 1];
    assert_eq!(
        http::decode_response(&huge),
        Err(TrackerError::TooLarge(MAX_RESPONSE + 1))
    );
    let many = vec![0; 6 * (MAX_PEERS + 1)];
    assert_eq!(compact_peers(&many, false), Err(TrackerError::TooManyPeers));
}

#[test]
fn udp_known_bytes() {
    assert_eq!(
        hex::encode(udp::connect_request(0x0102_0304)),
        "0000041727101980000000000102030 4".replace(' ', "")
    );
    let packet = udp::announce_request(0x1122_3344_5566_7788, 9, &announce());
    assert_eq!(packet.len(), 98);
    assert_eq!(
        hex::encode(&packet[..16]),
        "11223344556677880000000100000009"
    );
    assert_eq!(packet[16..36], announce().info_hash);
    assert_eq!(&packet[36..56], b"-FY0100-abcdefghijkl");
    // downloaded, left, uploaded; event 2 (started); ip 0; key; numwant; port.
    assert_eq!(
        hex::encode(&packet[56..]),
        "000000000000000200000000000000030000000000000001\
         0000000200000000deadbeef000000321ae1"
    );
    let default_numwant = udp::announce_request(
        1,
        1,
        &Announce {
            numwant: None,
            ..announce()
        },
    );
    assert_eq!(default_numwant[92..96], [0xff; 4]);
}

#[test]
fn udp_responses() {
    let connect = hex::decode("000000000000002a1122334455667788").unwrap();
    assert_eq!(
        udp::decode_response(&connect, false),
        Ok(UdpResponse::Connect {
            transaction: 42,
            connection: 0x1122_3344_5566_7788
        })
    );
    let mut announce = hex::decode("000000010000002a000007080000000300000004").unwrap();
    announce.extend(encode_compact(&[addr("192.0.2.1:6881")]));
    let Ok(UdpResponse::Announce {
        transaction: 42,
        response,
    }) = udp::decode_response(&announce, false)
    else {
        panic!()
    };
    assert_eq!(
        (response.interval, response.leechers, response.seeders),
        (1800, Some(3), Some(4))
    );
    assert_eq!(response.peers, vec![addr("192.0.2.1:6881")]);
    let mut error = hex::decode("000000030000002a").unwrap();
    error.extend(b"unregistered torrent");
    assert_eq!(
        udp::decode_response(&error, false),
        Ok(UdpResponse::Error {
            transaction: 42,
            message: "unregistered torrent".into()
        })
    );
}

#[test]
fn udp_refusals() {
    let padded = hex::decode("000000000000002a112233445566778899").unwrap();
    assert!(matches!(
        udp::decode_response(&padded, false),
        Ok(UdpResponse::Connect { .. })
    ));
    let short = hex::decode("0000000000000000112233").unwrap();
    assert_eq!(
        udp::decode_response(&short, false),
        Err(TrackerError::UdpPacket { action: 0, len: 11 })
    );
    assert_eq!(
        udp::decode_response(b"\0\0", false),
        Err(TrackerError::UdpPacket {
            action: u32::MAX,
            len: 2
        })
    );
    let mut ragged = hex::decode("000000010000002a000007080000000300000004").unwrap();
    ragged.extend([1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        udp::decode_response(&ragged, false),
        Err(TrackerError::PeersLength { len: 7, unit: 6 })
    );
    assert_eq!(
        udp::decode_response(&ragged[..26], true),
        Err(TrackerError::PeersLength { len: 6, unit: 18 })
    );
    let empty = hex::decode("000000010000002a").unwrap();
    assert_eq!(
        udp::decode_response(&empty, false),
        Ok(UdpResponse::EmptyAnnounce { transaction: 42 })
    );
    assert_eq!(
        udp::decode_response(&ragged[..19], false),
        Err(TrackerError::UdpPacket { action: 1, len: 19 })
    );
    let unknown = hex::decode("00000002000000000000").unwrap();
    assert_eq!(
        udp::decode_response(&unknown, false),
        Err(TrackerError::UdpPacket { action: 2, len: 10 })
    );
}

#[test]
fn bep15_schedule_and_connection_lifetime() {
    let tries: Vec<_> = (0..10)
        .map(|n| udp::retransmit_timeout(udp::BASE_TIMEOUT, n))
        .collect();
    assert_eq!(tries[0], Some(Duration::from_secs(15)));
    assert_eq!(tries[1], Some(Duration::from_secs(30)));
    assert_eq!(tries[8], Some(Duration::from_secs(3840)));
    assert_eq!(tries[9], None);
    let total: Duration = tries.iter().flatten().sum();
    assert_eq!(total, Duration::from_secs(7665));
    assert_eq!(
        udp::retransmit_timeout(Duration::from_millis(10), 2),
        Some(Duration::from_millis(40))
    );
    let t0 = Instant::now();
    let id = ConnectionId {
        id: 1,
        received: t0,
    };
    assert!(id.valid_at(t0 + Duration::from_secs(59)));
    assert!(!id.valid_at(t0 + Duration::from_secs(60)));
}

proptest! {
    #[test]
    fn compact_round_trips(v4 in proptest::collection::vec((any::<[u8; 4]>(), any::<u16>()), 0..20)) {
        let peers: Vec<SocketAddr> = v4.into_iter().map(|(ip, port)| (ip, port).into()).collect();
        prop_assert_eq!(compact_peers(&encode_compact(&peers), false).unwrap(), peers);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), v6 in any::<bool>()) {
        let _ = udp::decode_response(&bytes, v6);
        let _ = http::decode_response(&bytes);
    }
}

#[test]
fn http_framing() {
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nd1:x";
    assert_eq!(http::response_body(&ok[..ok.len() - 1], false), Ok(None));
    assert_eq!(http::response_body(ok, false), Ok(Some(b"d1:x".to_vec())));
    assert_eq!(
        http::response_body(&ok[..ok.len() - 1], true),
        Err(TrackerError::Http(
            "response ends before its Content-Length"
        ))
    );
    let to_eof = b"HTTP/1.0 200 OK\r\n\r\nde";
    assert_eq!(http::response_body(to_eof, false), Ok(None));
    assert_eq!(http::response_body(to_eof, true), Ok(Some(b"de".to_vec())));
    let chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nd1\r\n3\r\n:xe\r\n0\r\n\r\n";
    assert_eq!(
        http::response_body(chunked, false),
        Ok(Some(b"d1:xe".to_vec()))
    );
    assert_eq!(http::response_body(&chunked[..60], false), Ok(None));
    assert_eq!(
        http::response_body(b"HTTP/1.1 404 Not Found\r\n\r\n", false),
        Err(TrackerError::HttpStatus(404))
    );
    assert_eq!(
        http::response_body(b"SSH-2.0-OpenSSH\r\n\r\n", false),
        Err(TrackerError::Http("malformed HTTP response"))
    );
    let big = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        MAX_RESPONSE + 1
    );
    assert_eq!(
        http::response_body(big.as_bytes(), false),
        Err(TrackerError::TooLarge(MAX_RESPONSE + 1))
    );
    let big_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n";
    assert!(matches!(
        http::response_body(big_chunk, false),
        Err(TrackerError::TooLarge(_))
    ));
}
