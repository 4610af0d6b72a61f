//! Helpers for the native-protocol tests: an in-process mailbox server and relay
//! on 127.0.0.1 port 0, both sides of a transfer in one process, tree snapshots.
#![allow(dead_code, unreachable_pub)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry::transit::{Listen, TransitConfig};
use ferry::{
    CodeChoice, MailboxConfig, Payload, ReceiveOptions, Received, RendezvousObserver, SendOptions,
    Ui,
};
use ferry_proto::code::Code;
use ferry_proto::transit::hints::DirectHint;
use ferry_server::ServerHandle;

pub use common::{bytes, names, server};

pub const LIMIT: Duration = Duration::from_secs(120);

/// Accepts everything and remembers warnings.
#[derive(Default)]
pub struct TestUi {
    pub warnings: Vec<String>,
    pub offers: Vec<ferry::OfferSummary>,
}

impl RendezvousObserver for TestUi {}

impl Ui for TestUi {
    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }

    fn accept(&mut self, offer: &ferry::OfferSummary) -> bool {
        self.offers.push(offer.clone());
        true
    }
}

/// One side's settings: ferry's native capability unless `plain`.
pub fn mailbox(h: &ServerHandle, plain: bool) -> MailboxConfig {
    MailboxConfig {
        url: format!("ws://{}/v1", h.mailbox_addr().expect("mailbox")),
        appid: ferry_proto::transfer::DEFAULT_APPID.into(),
        app_versions: if plain {
            serde_json::json!({})
        } else {
            ferry::native::app_versions()
        },
    }
}

pub fn transit(h: &ServerHandle) -> TransitConfig {
    let relay = h.relay_tcp_addr().expect("relay");
    TransitConfig {
        relay: Some(DirectHint {
            hostname: relay.ip().to_string(),
            port: relay.port(),
            priority: 0.0,
        }),
        listen: Listen::Only("127.0.0.1".parse().expect("ip")),
        force_relay: false,
    }
}

/// How each side is set up.
#[derive(Clone, Copy, Default)]
pub struct Sides {
    pub sender_v1: bool,
    pub receiver_v1: bool,
    pub sender_plain: bool,
    pub receiver_plain: bool,
}

/// Runs a whole transfer in this process; returns both outcomes.
pub async fn transfer(
    h: &ServerHandle,
    payload: Payload,
    out: &Path,
    code: &str,
    sides: Sides,
) -> (ferry::Result<()>, ferry::Result<Received>) {
    let code = Code::parse(code).expect("code");
    let send = SendOptions {
        mailbox: mailbox(h, sides.sender_plain),
        transit: transit(h),
        code: CodeChoice::Given(code.clone()),
        v1: sides.sender_v1,
    };
    let recv = ReceiveOptions {
        mailbox: mailbox(h, sides.receiver_plain),
        transit: transit(h),
        code,
        output_dir: out.to_owned(),
        v1: sides.receiver_v1,
    };
    let sending = async {
        let mut ui = TestUi::default();
        ferry::send(&send, payload, &mut ui).await
    };
    let receiving = async {
        let mut ui = TestUi::default();
        ferry::receive(&recv, &mut ui).await
    };
    tokio::time::timeout(LIMIT, async { tokio::join!(sending, receiving) })
        .await
        .expect("transfer finishes in time")
}

/// The native report, or a panic saying what came instead.
pub fn native(received: ferry::Result<Received>) -> ferry::Report {
    match received {
        Ok(Received::Files(report)) => report,
        other => panic!("expected a native receive, got {other:?}"),
    }
}

/// A temporary directory for tens of thousands of files: on tmpfs when there is
/// one, because creating and deleting that many on a busy shared disk takes minutes.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    match shm.is_dir() {
        true => tempfile::tempdir_in(shm).unwrap_or_else(|_| tempfile::tempdir().expect("tempdir")),
        false => tempfile::tempdir().expect("tempdir"),
    }
}

/// What a tree holds: relative path → (kind, content, permission bits).
#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    Dir(u32),
    File(Vec<u8>, u32),
    Link,
}

pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let rel = path.strip_prefix(root).expect("under root").to_owned();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            out.insert(rel, Node::Link);
        } else if meta.is_dir() {
            out.insert(rel, Node::Dir(mode));
            walk(root, &path, out);
        } else {
            out.insert(rel, Node::File(std::fs::read(&path).expect("read"), mode));
        }
    }
}

/// The tree a receiver should end up with for `sent`: no links, modes as received
/// files and directories get them.
pub fn as_received(sent: BTreeMap<PathBuf, Node>) -> BTreeMap<PathBuf, Node> {
    sent.into_iter()
        .filter_map(|(p, n)| match n {
            Node::Link => None,
            Node::Dir(m) => Some((p, Node::Dir((m & 0o755) | 0o700))),
            Node::File(c, m) => Some((p, Node::File(c, (m & 0o755) | 0o400))),
        })
        .collect()
}
