//! `ferry serve` instances sharing PostgreSQL behind haproxy, one killed with `kill -9`:
//! - mid-rendezvous, the Python client (which reconnects to its mailbox server, as the
//!   protocol allows) continues through another instance and the transfer completes;
//! - mid-relay, ferry's transfer through the dead instance heals through the survivors;
//!   with healing turned off it fails cleanly on both sides and a retry succeeds.
//!
//! Each test has a pool of its own (interop/src/pool.rs), so killing is safe.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::time::{Duration, Instant};

use ferry_interop::code::Code;
use ferry_interop::data;
use ferry_interop::peer::Options;
use ferry_interop::pool::Pool;
use ferry_interop::process::Running;
use ferry_interop::tree::file_node;
use ferry_interop::{Payload, Peer, TestEnv};

const WAIT: Duration = Duration::from_secs(60);

fn killed_mid_rendezvous(receiver: Peer) {
    let base = TestEnv::get();
    let mut pool = Pool::start(base, 2);
    let env = pool.env(base);
    let src = env.scratch_dir("src.");
    let path = data::random_file(&src.path().join("failover.bin"), 100_000).unwrap();
    let code = Code::reserve(&env.state_dir).to_string();
    let send = Peer::Python.sender(&env, &code, &Payload::Path(path), Options::default());
    let mut sender = Running::spawn(&send).unwrap();
    sender.wait_for_output(&code, WAIT).unwrap();

    // The sender waits on one instance with its nameplate claimed and its pake
    // message stored: kill that instance.
    let deadline = Instant::now() + Duration::from_secs(10);
    let holding = loop {
        if let [i] = pool.with_clients()[..] {
            break i;
        }
        assert!(Instant::now() < deadline, "one instance holds the sender");
        std::thread::sleep(Duration::from_millis(50));
    };
    pool.kill9(holding);

    // The receiver comes later, through the surviving instance.
    let out = env.scratch_dir("out.");
    let recv = receiver.receiver(&env, &code, out.path(), Options::default());
    let receiver_run = Running::spawn(&recv).unwrap();
    let deadline = Instant::now() + WAIT;
    let (s, r) = (sender.finish(deadline), receiver_run.finish(deadline));
    assert!(
        s.succeeded() && r.succeeded(),
        "the transfer completes after instance {holding} died\n--- sender\n{}\n--- receiver\n{}\n{}",
        s.all_output(),
        r.all_output(),
        pool.logs()
    );
    let got = std::fs::read(out.path().join("failover.bin")).unwrap();
    let sent = std::fs::read(src.path().join("failover.bin")).unwrap();
    assert_eq!(got, sent);
}

#[test]
fn python_sender_survives_its_instance_killed_mid_rendezvous_to_ferry() {
    killed_mid_rendezvous(Peer::Ferry);
}

#[test]
fn python_sender_survives_its_instance_killed_mid_rendezvous_to_python() {
    killed_mid_rendezvous(Peer::Python);
}

/// A relayed transfer (ferry, `--force-relay`, halves split across instances by
/// haproxy) whose relaying instance dies (mid-handshake or mid-transfer) heals:
/// both sides reconnect through the instances left, with the same code, and the
/// file arrives whole.
#[test]
fn a_relayed_transfer_on_a_killed_instance_heals_through_the_instances_left() {
    let base = TestEnv::get();
    let mut pool = Pool::start(base, 3);
    let env = pool.env(base);
    let src = env.scratch_dir("src.");
    let path = data::sparse_file(&src.path().join("big.bin"), 512 << 20).unwrap();
    let out = env.scratch_dir("out.");
    let (mut sender, receiver) = start_relayed(&env, &path, out.path(), &[]);
    let owner = kill_the_relaying_instance(&mut pool, &mut sender);
    // Room for the backoff and a second pass over a busy machine's relay.
    let deadline = Instant::now() + 2 * WAIT;
    let (s, r) = (sender.finish(deadline), receiver.finish(deadline));
    assert!(
        s.succeeded() && r.succeeded(),
        "the transfer heals after instance {owner} died\n--- sender\n{}\n--- receiver\n{}\n{}",
        s.all_output(),
        r.all_output(),
        pool.logs()
    );
    // A side whose connection broke says "reconnecting"; one whose first
    // connection failed before it saw it made (killed mid-handshake) says
    // "connecting again". Either way each side made a second connection.
    for side in [&s, &r] {
        let said = side.stderr_text();
        assert!(
            said.contains("reconnecting (attempt 2)")
                || said.contains("connecting again (attempt 2)"),
            "{}",
            side.all_output()
        );
    }
    assert_same_file(&out.path().join("big.bin"), &path);
}

/// The same with healing turned off (`--reconnect-for 0`): both sides fail cleanly,
/// no final file is left, and the same transfer again succeeds through the survivors.
#[test]
fn a_relayed_transfer_on_a_killed_instance_without_healing_fails_cleanly_and_a_retry_succeeds() {
    let base = TestEnv::get();
    let mut pool = Pool::start(base, 3);
    let env = pool.env(base);
    let src = env.scratch_dir("src.");
    let path = data::sparse_file(&src.path().join("big.bin"), 4 << 30).unwrap();
    let out = env.scratch_dir("out.");
    let no_healing = ["--reconnect-for", "0"];
    let (mut sender, receiver) = start_relayed(&env, &path, out.path(), &no_healing);
    kill_the_relaying_instance(&mut pool, &mut sender);
    let deadline = Instant::now() + WAIT;
    let (s, r) = (sender.finish(deadline), receiver.finish(deadline));
    assert!(
        s.failed_cleanly() && r.failed_cleanly(),
        "both sides exit with an error by themselves\n--- sender\n{}\n--- receiver\n{}",
        s.all_output(),
        r.all_output()
    );
    assert!(!out.path().join("big.bin").exists(), "no final file");

    // Again, through the instances left.
    let small = data::random_file(&src.path().join("again.bin"), 3_000_000).unwrap();
    let out = env.scratch_dir("out.");
    let (sender, receiver) = start_relayed(&env, &small, out.path(), &no_healing);
    let deadline = Instant::now() + WAIT;
    let (s, r) = (sender.finish(deadline), receiver.finish(deadline));
    assert!(
        s.succeeded() && r.succeeded(),
        "the retry succeeds\n--- sender\n{}\n--- receiver\n{}\n{}",
        s.all_output(),
        r.all_output(),
        pool.logs()
    );
    assert_same_file(&out.path().join("again.bin"), &small);
}

/// Waits until exactly one instance relays the pair, kills it, and says which.
fn kill_the_relaying_instance(pool: &mut Pool, sender: &mut Running) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    let owner = loop {
        if let [i] = pool.relaying()[..] {
            break i;
        }
        assert!(
            Instant::now() < deadline && !sender.poll_exit(),
            "a pair is relayed\n{}",
            pool.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    pool.kill9(owner);
    owner
}

fn assert_same_file(got: &std::path::Path, want: &std::path::Path) {
    let node = |p: &std::path::Path| file_node(p).unwrap();
    assert_eq!(node(got), node(want), "{} arrived whole", got.display());
}

/// A ferry-to-ferry transfer forced through the relay, with `extra` flags on both sides.
fn start_relayed(
    env: &TestEnv,
    path: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> (Running, Running) {
    let relay = Options {
        force_relay: true,
        ..Options::default()
    };
    let code = Code::reserve(&env.state_dir).to_string();
    let mut send = Peer::Ferry.sender(env, &code, &Payload::Path(path.to_owned()), relay);
    send.args(extra);
    let mut sender = Running::spawn(&send).unwrap();
    sender.wait_for_output(&code, WAIT).unwrap();
    let mut recv = Peer::Ferry.receiver(env, &code, out, relay);
    recv.args(extra);
    (sender, Running::spawn(&recv).unwrap())
}
