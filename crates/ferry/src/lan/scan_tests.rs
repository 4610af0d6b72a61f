//! The scan finds a device that answers only by `register` over HTTPS, as
//! the current app does; each test in a private network namespace.

use std::net::TcpListener;
use std::time::Duration;

use ferry_test_support::netns;

use super::*;
use crate::lan::answer;
use crate::lan::discovery::{DiscoverySocket, Listener};

/// Not 53317: the port is a setting.
const PORT: u16 = 46317;

fn config() -> discovery::Config {
    discovery::Config::new(PORT, Interfaces::loopback())
}

/// Like the app: hears announcements and answers each by HTTPS `register`
/// only (never by multicast), for as long as it runs.
async fn register_only_device(identity: Identity) {
    let socket = DiscoverySocket::bind(&config()).expect("bind discovery");
    let us = register("the app", &identity, PORT);
    let mut listener = Listener::new(&socket, &us.fingerprint);
    loop {
        let heard = listener.next().await.expect("listen");
        let _ = answer::register(&heard, &us, &identity).await;
    }
}

fn identities() -> (tempfile::TempDir, Identity, Identity) {
    let tmp = tempfile::tempdir().unwrap();
    let app = Identity::load_or_create(&tmp.path().join("app")).unwrap();
    let us = Identity::load_or_create(&tmp.path().join("us")).unwrap();
    (tmp, app, us)
}

#[test]
fn a_device_that_only_registers_is_found() {
    netns::run(
        module_path!(),
        "a_device_that_only_registers_is_found",
        || async {
            let (_tmp, app, us) = identities();
            let fingerprint = app.fingerprint().as_str().to_owned();
            let device = tokio::spawn(register_only_device(app));
            let found = devices(&config(), "scanner", &us, Duration::from_secs(3)).await;
            device.abort();
            let found = found.expect("scan");
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].info.alias, "the app");
            assert_eq!(found[0].info.fingerprint, fingerprint);
            assert_eq!(found[0].from, SocketAddr::from(([127, 0, 0, 1], PORT)));
        },
    );
}

/// The control: with the port taken, the same device goes unheard, so the
/// test above passes because of the server, not the multicast.
#[test]
fn with_the_port_taken_the_scan_still_runs_without_registers() {
    let test = "with_the_port_taken_the_scan_still_runs_without_registers";
    netns::run(module_path!(), test, || async {
        let (_tmp, app, us) = identities();
        let _taken = TcpListener::bind(("127.0.0.1", PORT)).expect("take the port");
        let device = tokio::spawn(register_only_device(app));
        let found = devices(&config(), "scanner", &us, Duration::from_secs(3)).await;
        device.abort();
        assert!(found.expect("scan").is_empty());
    });
}
