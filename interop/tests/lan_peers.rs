//! The LAN harness proven on the LocalSend peers alone (no ferry): if these fail, the test
//! LAN or the peer wrappers are broken, not ferry.

use std::time::Duration;

use ferry_interop::data::random_file;
use ferry_interop::lan_net::Lan;
use ferry_interop::lan_peers::{DaemonOptions, LocalsendCli, Localsendd, COMMAND_TIMEOUT};
use ferry_interop::tree::file_node;
use ferry_interop::TestEnv;

fn daemon(alias: &str) -> DaemonOptions {
    DaemonOptions {
        alias: alias.into(),
        pin: None,
        unattended: true,
        ..DaemonOptions::default()
    }
}

#[test]
fn localsend_cli_finds_and_sends_to_localsendd() {
    let env = TestEnv::get();
    let lan = Lan::new(2);
    let daemon = Localsendd::start(env, lan.host(0), daemon("daemonA"));
    let cli = LocalsendCli::new(env, lan.host(1));
    let scan = cli.scan(3);
    assert!(
        scan.stdout_text().contains("\"daemonA\""),
        "{scan}\n{}",
        daemon.log()
    );

    let data = env.scratch_dir("data-");
    let file = random_file(&data.path().join("blob.bin"), 200_000).expect("data");
    let sent = cli
        .send(&daemon.host.ip, &[&file])
        .finish(std::time::Instant::now() + COMMAND_TIMEOUT);
    assert!(sent.succeeded(), "{sent}\n{}", daemon.log());
    let got = daemon.download_dir.join("blob.bin");
    assert_eq!(
        file_node(&got).expect("received"),
        file_node(&file).expect("sent")
    );
}

/// localsendd pins localsend-cli's lowercase fingerprint case-sensitively and fails when it
/// sends to the address it learned it from; `::ffff:IP` is not in its registry, so nothing
/// is pinned (docs/localsend/peers.md §4).
#[test]
fn localsendd_finds_and_sends_to_localsend_cli() {
    let env = TestEnv::get();
    let lan = Lan::new(2);
    let daemon = Localsendd::start(env, lan.host(0), daemon("daemonA"));
    let cli = LocalsendCli::new(env, lan.host(1));
    let out = env.scratch_dir("cli-out-");
    let receiver = cli.receive(out.path(), None);
    let devices = daemon.devices(6);
    assert!(devices.stdout_text().contains(&cli.host.ip), "{devices}");

    let data = env.scratch_dir("data-");
    let file = random_file(&data.path().join("blob.bin"), 200_000).expect("data");
    let to = format!("::ffff:{}", cli.host.ip);
    let sent = daemon.send(&[&file], &to, None, Duration::from_secs(30));
    assert!(sent.succeeded(), "{sent}\n{}", daemon.log());
    let got = out.path().join("blob.bin");
    let receiver = receiver.into_outcome();
    assert_eq!(
        file_node(&got).expect("received"),
        file_node(&file).expect("sent"),
        "{receiver}"
    );
}
