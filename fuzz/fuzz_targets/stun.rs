//! `ferry serve`'s STUN responder: any datagram that reaches the relay's UDP port.
#![no_main]

use ferry_proto::wire::stun;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(id) = stun::parse_binding_request(data) {
        assert_eq!(&data[8..20], &id);
        let answer = stun::binding_success(&id, "192.0.2.1:32853".parse().expect("addr"));
        assert_eq!(&answer[8..20], &id);
    }
});
