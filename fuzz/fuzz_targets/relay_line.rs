//! The transit relay's handshake: `RelayRequest::decode_line` / `decode_frame`,
//! `PoolPreamble::decode_line` (a pool instance's hand-over) and `scan` take
//! whatever bytes reach the relay's TCP or WebSocket port.
#![no_main]

use ferry_proto::wire::relay::{scan, LineScan, RelayRequest};
use ferry_proto::wire::relay_pool::PoolPreamble;
use libfuzzer_sys::fuzz_target;

/// The relay's limit (`ferry-server/src/relay/conn.rs`).
const MAX_LINE: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let line = match scan(data, MAX_LINE) {
        LineScan::Line { len, extra } => {
            assert_eq!(data[len], b'\n');
            assert!(!data[..len].contains(&b'\n'));
            assert_eq!(extra, data.len() > len + 1);
            &data[..len]
        }
        LineScan::TooLong => {
            assert!(data.len() > MAX_LINE && !data.contains(&b'\n'));
            data
        }
        LineScan::Incomplete => {
            assert!(data.len() <= MAX_LINE && !data.contains(&b'\n'));
            data
        }
    };
    // Only the exact encoding of a request decodes.
    if let Some(req) = RelayRequest::decode_line(line) {
        assert_eq!(req.encode(), [line, b"\n"].concat());
    }
    if let Some(p) = PoolPreamble::decode_line(line) {
        assert!(PoolPreamble::is_preamble(line));
        assert_eq!(p.encode(), [line, b"\n"].concat());
    }
    if let Some(req) = RelayRequest::decode_frame(data) {
        let encoded = req.encode();
        assert!(data == encoded || data == &encoded[..encoded.len() - 1]);
    }
});
