//! Transfers across the NAT lab (`ferry_interop::nat_lab`): a sender behind a router
//! with miniupnpd maps its port, so the real peers behind another NAT reach ferry
//! directly (the relay carries nothing); two ferry behind port-preserving NATs
//! without port mapping punch through with QUIC (the relay carries nothing);
//! behind two symmetric NATs ferry falls back to the relay within seconds.

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_interop::code::Code;
use ferry_interop::data::random_file;
use ferry_interop::lan_net::Host;
use ferry_interop::nat_lab::{in_host, wait_until, Nat, NatLab, Upnpd};
use ferry_interop::process::{finish_pair, Invocation, Outcome, Running};
use ferry_interop::TestEnv;

const TIMEOUT: Duration = Duration::from_secs(60);
const SIZE: u64 = 300 * 1024;

#[derive(Debug, Clone, Copy)]
enum Receiver {
    Ferry,
    Python,
    William,
}

struct Run {
    sender: Outcome,
    receiver: Outcome,
    /// From the receiver's start to both ends.
    took: Duration,
}

/// ferry sends a file from home A; `receiver` takes it in home B. Both must succeed
/// and the file must arrive whole.
fn transfer(lab: &NatLab, receiver: Receiver) -> Run {
    let env = TestEnv::get();
    let code = Code::reserve(&env.state_dir).to_string();
    let data = env.scratch_dir("natdata.");
    let file = random_file(&data.path().join("payload.bin"), SIZE).expect("test file");
    let out = env.scratch_dir("natout.");
    let mut send = in_host(&lab.homes[0], "ferry sender", &env.ferry_bin, lab.dir());
    send.args(["send", "--server", &lab.mailbox(), "--relay", &lab.relay()]);
    send.args(["--hide-progress", "--code", &code]).arg(&file);
    send.env("FERRY_LOG", "ferry::transit::portmap=info");
    let recv = receive(lab, receiver, &code, out.path());
    let mut sender = Running::spawn(&send).expect("sender starts");
    sender
        .wait_for_output(&code, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", sender.output_so_far()));
    let receiver = Running::spawn(&recv).expect("receiver starts");
    let start = Instant::now();
    let deadline = Instant::now() + TIMEOUT;
    let (sender, receiver) = finish_pair(sender, receiver, deadline, Duration::from_secs(20));
    let report = format!("{sender}\n{receiver}");
    assert!(sender.succeeded() && receiver.succeeded(), "{report}");
    let got = std::fs::read(out.path().join("payload.bin")).expect("received file");
    assert!(
        got == std::fs::read(&file).expect("sent file"),
        "different bytes\n{report}"
    );
    Run {
        sender,
        receiver,
        took: start.elapsed(),
    }
}

fn receive(lab: &NatLab, receiver: Receiver, code: &str, out: &Path) -> Invocation {
    let env = TestEnv::get();
    let home: &Host = &lab.homes[1];
    let mut inv;
    match receiver {
        Receiver::Ferry => {
            inv = in_host(home, "ferry receiver", &env.ferry_bin, out.to_path_buf());
            inv.args([
                "receive",
                "--server",
                &lab.mailbox(),
                "--relay",
                &lab.relay(),
            ]);
            inv.args(["--hide-progress", "--yes", "--output-dir"])
                .arg(out)
                .arg(code);
        }
        Receiver::Python => {
            inv = in_host(
                home,
                "python receiver",
                env.python_wormhole(),
                out.to_path_buf(),
            );
            inv.args([
                "--relay-url",
                &lab.mailbox(),
                "--transit-helper",
                &lab.relay(),
            ]);
            inv.args(["receive", "--hide-progress", "--accept-file", code]);
        }
        Receiver::William => {
            inv = in_host(
                home,
                "william receiver",
                &env.william_bin,
                out.to_path_buf(),
            );
            inv.args([
                "--relay-url",
                &lab.mailbox(),
                "receive",
                "--hide-progress",
                code,
            ]);
            inv.stdin(b"y\n");
        }
    }
    inv
}

/// The sender says it connected directly and that one of `protocols` mapped its
/// port (PCP and NAT-PMP race on a router that has both); the relay carried nothing;
/// the router forwards nothing once the transfer is over.
fn assert_direct_through(lab: &NatLab, run: &Run, protocols: &[&str]) {
    let stderr = run.sender.stderr_text();
    let report = format!("{}\n{}", run.sender, run.receiver);
    assert!(
        stderr.contains("Connected (direct"),
        "not direct:\n{report}"
    );
    let mapped = |p: &&str| {
        stderr.contains(&format!(
            "port mapped protocol=\"{p}\" external=203.0.113.2:"
        ))
    };
    assert!(
        protocols.iter().any(mapped),
        "no {protocols:?} mapping:\n{report}"
    );
    assert_eq!(lab.relay_bytes(), 0, "the relay carried bytes:\n{report}");
    // The sender deleted its mapping as it finished.
    let left = wait_until(Duration::from_secs(3), || {
        Some(lab.forwards()).filter(Vec::is_empty)
    });
    assert!(
        left.is_some(),
        "forwards left: {:?}\n{report}",
        lab.forwards()
    );
}

#[test]
fn python_and_william_behind_nat_reach_ferry_through_its_mapped_port() {
    let lab = NatLab::new((Nat::PortPreserving, Upnpd::All), Nat::PortPreserving);
    for receiver in [Receiver::Python, Receiver::William] {
        let run = transfer(&lab, receiver);
        assert_direct_through(&lab, &run, &["PCP", "NAT-PMP", "UPnP"]);
    }
}

#[test]
fn a_upnp_only_router_maps_too() {
    let lab = NatLab::new((Nat::PortPreserving, Upnpd::UpnpOnly), Nat::PortPreserving);
    let run = transfer(&lab, Receiver::Python);
    assert_direct_through(&lab, &run, &["UPnP"]);
}

#[test]
fn a_pmp_only_router_maps_too() {
    let lab = NatLab::new((Nat::Symmetric, Upnpd::PmpOnly), Nat::Symmetric);
    let run = transfer(&lab, Receiver::William);
    assert_direct_through(&lab, &run, &["PCP", "NAT-PMP"]);
}

#[test]
fn ferry_to_ferry_behind_two_port_preserving_nats_connects_directly_over_quic() {
    let lab = NatLab::new((Nat::PortPreserving, Upnpd::Off), Nat::PortPreserving);
    let run = transfer(&lab, Receiver::Ferry);
    let report = format!("{}\n{}", run.sender, run.receiver);
    for side in [&run.sender, &run.receiver] {
        let stderr = side.stderr_text();
        assert!(stderr.contains("Connected (direct, QUIC "), "{report}");
    }
    // The peer's public (STUN) address, never its private one.
    let to_b = "Connected (direct, QUIC 198.51.100.2:";
    let to_a = "Connected (direct, QUIC 203.0.113.2:";
    assert!(run.sender.stderr_text().contains(to_b), "{report}");
    assert!(run.receiver.stderr_text().contains(to_a), "{report}");
    assert!(!report.contains("port mapped"), "{report}");
    assert_eq!(lab.relay_bytes(), 0, "the relay carried bytes:\n{report}");
}

#[test]
fn ferry_to_ferry_behind_symmetric_nats_falls_back_to_the_relay() {
    let lab = NatLab::new((Nat::Symmetric, Upnpd::Off), Nat::Symmetric);
    let run = transfer(&lab, Receiver::Ferry);
    let report = format!("{}\n{}", run.sender, run.receiver);
    assert!(
        run.sender.stderr_text().contains("Connected (relay"),
        "{report}"
    );
    assert!(!report.contains("port mapped"), "{report}");
    // Port mapping (1.5 s at most, beside STUN) and the relay delay (2 s): the
    // failed QUIC punch holds nothing up.
    assert!(
        run.took < Duration::from_secs(10),
        "took {:?}\n{report}",
        run.took
    );
    let relayed = wait_until(Duration::from_secs(5), || {
        Some(lab.relay_bytes()).filter(|b| *b >= SIZE)
    });
    assert!(
        relayed.is_some(),
        "relay bytes {} < {SIZE}\n{report}",
        lab.relay_bytes()
    );
}

/// Behind symmetric NATs IPv4 cannot punch, but with IPv6 (global addresses, each
/// router a stateful firewall) both sides' first QUIC packets open their own
/// firewall to the other: direct, and the relay carries nothing.
#[test]
fn ferry_to_ferry_behind_ipv6_firewalls_punches_over_ipv6() {
    let lab = NatLab::new((Nat::Symmetric, Upnpd::Off), Nat::Symmetric).with_ipv6();
    let run = transfer(&lab, Receiver::Ferry);
    let report = format!("{}\n{}", run.sender, run.receiver);
    let to_b = "Connected (direct, QUIC [2001:db8:b::2]:";
    let to_a = "Connected (direct, QUIC [2001:db8:a::2]:";
    assert!(run.sender.stderr_text().contains(to_b), "{report}");
    assert!(run.receiver.stderr_text().contains(to_a), "{report}");
    assert_eq!(lab.relay_bytes(), 0, "the relay carried bytes:\n{report}");
}

/// A home reachable on IPv6 (its router filters nothing inbound): Python `wormhole`
/// behind a symmetric NAT dials ferry's IPv6 direct hint, a plain v1 hint it
/// takes like any other.
#[test]
fn python_reaches_ferry_on_its_ipv6_address() {
    let lab = NatLab::new((Nat::Symmetric, Upnpd::Off), Nat::Symmetric).with_ipv6();
    lab.open_ipv6_inbound(0);
    let run = transfer(&lab, Receiver::Python);
    let report = format!("{}\n{}", run.sender, run.receiver);
    let from_b = "Connected (direct from [2001:db8:b::2]:";
    assert!(run.sender.stderr_text().contains(from_b), "{report}");
    assert_eq!(lab.relay_bytes(), 0, "the relay carried bytes:\n{report}");
}
