//! Port mapping: every answer a gateway on the LAN sends back (PCP, NAT-PMP, SSDP,
//! HTTP with chunks, the device description and SOAP bodies) is untrusted input.
#![no_main]

use std::net::Ipv4Addr;

use ferry_proto::portmap::{igd, natpmp, pcp, ssdp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let request = pcp::MapRequest {
        client: Ipv4Addr::new(10, 0, 1, 2),
        internal_port: 4242,
        external_port: 4242,
        lifetime: 3600,
        nonce: [7; 12],
    };
    if let Ok(m) = request.parse_answer(data) {
        assert!(m.external_port != 0 && m.lifetime != 0);
    }
    let _ = natpmp::parse_address(data);
    if let Ok(m) = natpmp::parse_map(data, 4242) {
        assert!(m.external_port != 0 || m.lifetime == 0);
    }
    if let Ok(url) = ssdp::parse_answer(data) {
        assert!(url.path.starts_with('/'));
    }
    if let Ok((_, body)) = igd::parse_response(data) {
        assert!(body.len() <= data.len());
    }
    let text = String::from_utf8_lossy(data);
    if let Ok((service, control)) = igd::control_url(&text) {
        assert!(igd::SERVICES.contains(&service));
        let base = igd::Url::parse("http://10.0.1.1:5000/rootDesc.xml").expect("base");
        let _ = base.join(&control);
    }
    let _ = igd::parse_external_ip(&text);
    let _ = igd::fault_code(500, &text);
});
