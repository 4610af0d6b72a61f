//! ferry ↔ ferry over QUIC on loopback: the native protocol carried by a QUIC
//! stream (no TCP listener, no relay able to win), with the file verified; the
//! same with the default listener (all interfaces, STUN); and a v1 transfer
//! between the same two configurations, which never offers QUIC.

use std::path::Path;
use std::time::Duration;

use ferry::transit::{Listen, Quic, TransitConfig};
use ferry::{CodeChoice, Payload, ReceiveOptions, Received, RendezvousObserver, SendOptions, Ui};
use ferry_proto::code::Code;
use ferry_server::ServerHandle;
use ferry_test_support::files::{bytes, names};
use ferry_test_support::in_process::{mailbox, transit};
use ferry_test_support::server::spawn_default;

/// The paths a side connected over.
#[derive(Default, Debug)]
struct Paths(Vec<String>);

impl RendezvousObserver for Paths {}

impl Ui for Paths {
    fn transit(&mut self, description: &str) {
        self.0.push(description.to_owned());
    }

    fn accept(&mut self, _offer: &ferry::OfferSummary) -> bool {
        true
    }
}

/// QUIC instead of direct TCP; the relay only after a minute (it must not win).
fn quic_only(h: &ServerHandle, listen: Listen) -> TransitConfig {
    let mut t = transit(h);
    t.listen = listen;
    t.quic = Quic::Only;
    t.timing.relay_delay = Duration::from_secs(60);
    t
}

/// Sends `src` from one side to the other, both with `transit`; `v1` on both.
async fn run(
    h: &ServerHandle,
    transit: TransitConfig,
    (src, out): (&Path, &Path),
    (code, v1): (&str, bool),
) -> (Paths, Paths, ferry::Result<Received>) {
    let code = Code::parse(code).expect("code");
    let send = SendOptions {
        mailbox: mailbox(h, false),
        transit: transit.clone(),
        code: CodeChoice::Given(code.clone()),
        v1,
    };
    let recv = ReceiveOptions {
        mailbox: mailbox(h, false),
        transit,
        code,
        output_dir: out.to_owned(),
        v1,
        sessions: None,
    };
    let (mut sender, mut receiver) = (Paths::default(), Paths::default());
    let both = async {
        tokio::join!(
            ferry::send(&send, Payload::Path(src.to_owned()), &mut sender),
            ferry::receive(&recv, &mut receiver)
        )
    };
    let (sent, received) = tokio::time::timeout(Duration::from_secs(30), both)
        .await
        .expect("ends in time");
    sent.expect("sent");
    (sender, receiver, received)
}

fn case(
    size: usize,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    Vec<u8>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("data.bin");
    let data = bytes(size, 3);
    std::fs::write(&src, &data).expect("source");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    (dir, src, out, data)
}

fn over_quic(paths: &Paths) -> bool {
    paths.0.len() == 1 && paths.0[0].starts_with("direct, QUIC 127.0.0.1:")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quic_stream_carries_a_whole_native_transfer() {
    let h = spawn_default().await;
    let (_dir, src, out, data) = case(24 << 20);
    let listen = Listen::Only("127.0.0.1".parse().expect("ip"));
    let (sender, receiver, got) =
        run(&h, quic_only(&h, listen), (&src, &out), ("31-quic", false)).await;
    assert!(matches!(got, Ok(Received::Files(_))), "{got:?}");
    assert!(
        over_quic(&sender) && over_quic(&receiver),
        "{sender:?} {receiver:?}"
    );
    assert!(std::fs::read(out.join("data.bin")).expect("received") == data);
    assert_eq!(names(&out), ["data.bin"]);
}

/// With the default listener (every interface, the STUN query to the server's
/// responder at the relay's port) both sides offer several candidates and
/// connect over one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_listener_connects_over_quic() {
    let h = spawn_default().await;
    let (_dir, src, out, data) = case(1 << 20);
    let (sender, receiver, got) = run(
        &h,
        quic_only(&h, Listen::Auto),
        (&src, &out),
        ("32-stun", false),
    )
    .await;
    assert!(matches!(got, Ok(Received::Files(_))), "{got:?}");
    for side in [&sender, &receiver] {
        assert!(
            side.0.len() == 1 && side.0[0].starts_with("direct, QUIC"),
            "{side:?}"
        );
    }
    assert!(std::fs::read(out.join("data.bin")).expect("received") == data);
}

/// v1 never offers QUIC: the same settings connect over TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_transfers_stay_on_tcp() {
    let h = spawn_default().await;
    let (_dir, src, out, data) = case(1 << 20);
    let listen = Listen::Only("127.0.0.1".parse().expect("ip"));
    let (sender, _, got) = run(&h, quic_only(&h, listen), (&src, &out), ("33-v1", true)).await;
    assert!(matches!(got, Ok(Received::File { .. })), "{got:?}");
    assert_eq!(sender.0.len(), 1);
    assert!(
        sender.0[0].starts_with("direct ") && !sender.0[0].contains("QUIC"),
        "{sender:?}"
    );
    assert!(std::fs::read(out.join("data.bin")).expect("received") == data);
}
