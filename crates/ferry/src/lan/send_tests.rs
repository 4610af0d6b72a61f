//! `lan::send` to `lan::receive` over loopback: what lands, what a refusal
//! says, and that a cancel leaves nothing behind on the receiving side.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::*;
use crate::lan::{ReceiveOptions, Receiving};
use crate::rendezvous::RendezvousObserver;
use crate::transfer::{OfferSummary, Received};
use crate::ui::Answer;

#[path = "send_tests/refusals.rs"]
mod refusals;

const LIMIT: Duration = Duration::from_secs(20);

/// The receiving user: says yes, no, or (`None`) never answers; tells
/// `asked` when the question is put.
struct Receiver {
    reply: Option<bool>,
    asked: mpsc::UnboundedSender<()>,
}

impl RendezvousObserver for Receiver {}

impl Ui for Receiver {
    fn accept_later(&mut self, _offer: &OfferSummary) -> Answer {
        let _ = self.asked.send(());
        match self.reply {
            Some(yes) => Box::pin(std::future::ready(yes)),
            None => Box::pin(std::future::pending()),
        }
    }
}

/// The sending user: records the files, and cancels once bytes move if told.
#[derive(Default)]
struct Sender {
    files: Vec<String>,
    last: (u64, u64),
    cancel_at_first_byte: Option<Cancel>,
}

impl RendezvousObserver for Sender {}

impl Ui for Sender {
    fn progress(&mut self, done: u64, total: u64) {
        self.last = (done, total);
        if done > 0 {
            self.cancel_at_first_byte.as_ref().map(Cancel::cancel);
        }
    }
    fn file(&mut self, _index: u64, _count: u64, path: &str) {
        self.files.push(path.to_owned());
    }
}

struct Fixture {
    tmp: tempfile::TempDir,
    out: PathBuf,
    addr: SocketAddr,
    sender: Identity,
    asked: mpsc::UnboundedReceiver<()>,
    run: JoinHandle<Result<Received>>,
}

async fn start(yes: bool, pin: Option<&str>) -> Fixture {
    start_with(Some(yes), pin).await
}

async fn start_with(reply: Option<bool>, pin: Option<&str>) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let receiver = Identity::load_or_create(&tmp.path().join("rid")).unwrap();
    let sender = Identity::load_or_create(&tmp.path().join("sid")).unwrap();
    let out = tmp.path().join("out");
    let mut options = ReceiveOptions::new(out.clone(), "ferry-receiver".into());
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.discovery = None;
    options.pin = pin.map(str::to_owned);
    let receiving = Receiving::start(options, &receiver).await.unwrap();
    let addr = receiving.local_addr();
    let (tx, asked) = mpsc::unbounded_channel();
    let mut ui = Receiver { reply, asked: tx };
    let run = tokio::spawn(async move { receiving.run(&mut ui).await });
    Fixture {
        tmp,
        out,
        addr,
        sender,
        asked,
        run,
    }
}

impl Fixture {
    fn options(&self, pin: Option<&str>) -> SendOptions {
        let mut options = SendOptions::new(Target::Addr(self.addr), "ferry-sender".into());
        options.pin = pin.map(str::to_owned);
        options
    }

    async fn send(&self, options: SendOptions, payload: Payload, ui: &mut Sender) -> Result<()> {
        timeout(LIMIT, send(options, payload, &self.sender, ui))
            .await
            .unwrap()
    }

    async fn received(self) -> (Result<Received>, tempfile::TempDir) {
        (timeout(LIMIT, self.run).await.unwrap().unwrap(), self.tmp)
    }

    async fn send_quietly(&self, options: SendOptions, payload: Payload) -> Result<()> {
        self.send(options, payload, &mut Sender::default()).await
    }

    /// A file of `content` in the sender's own directory.
    fn source(&self, rel: &str, content: &[u8]) -> PathBuf {
        let path = self.tmp.path().join("src").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }
}

/// Every file under `dir`, relative, sorted (hidden partials included).
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_string_lossy().into());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn a_file_lands() {
    let f = start(true, None).await;
    let path = f.source("hello.bin", b"hello world");
    let mut ui = Sender::default();
    f.send(f.options(None), Payload::Path(path), &mut ui)
        .await
        .unwrap();
    assert_eq!(ui.files, ["hello.bin"]);
    assert_eq!(ui.last, (11, 11));
    let out = f.out.clone();
    let (received, _tmp) = f.received().await;
    received.unwrap();
    assert_eq!(
        std::fs::read(out.join("hello.bin")).unwrap(),
        b"hello world"
    );
    assert_eq!(files(&out), ["hello.bin"]);
}

#[tokio::test]
async fn a_folder_with_non_ascii_names_and_an_empty_file_lands_as_a_tree() {
    let f = start(true, None).await;
    f.source("Fotos/été/ñandú.jpg", b"jpeg");
    f.source("Fotos/空.txt", b"");
    let dir = f.tmp.path().join("src/Fotos");
    let mut ui = Sender::default();
    f.send(f.options(None), Payload::Path(dir), &mut ui)
        .await
        .unwrap();
    let out = f.out.clone();
    let (received, _tmp) = f.received().await;
    received.unwrap();
    assert_eq!(files(&out), ["Fotos/été/ñandú.jpg", "Fotos/空.txt"]);
    assert_eq!(
        std::fs::read(out.join("Fotos/été/ñandú.jpg")).unwrap(),
        b"jpeg"
    );
    assert_eq!(std::fs::read(out.join("Fotos/空.txt")).unwrap(), b"");
}

/// A text goes as the app sends a message, and a ferry receiver shows it
/// (answering 204: no upload) instead of storing it.
#[tokio::test]
async fn a_text_message_arrives_as_text() {
    let f = start(true, None).await;
    let mut ui = Sender::default();
    let text = Payload::Text("hi there".into());
    f.send(f.options(None), text, &mut ui).await.unwrap();
    let out = f.out.clone();
    let (received, _tmp) = f.received().await;
    assert!(matches!(received.unwrap(), Received::Text(t) if t == "hi there"));
    assert!(!out.join(sender::TEXT_NAME).exists());
}

/// A scanned device, as `pick` sees it.
fn device(alias: &str, fingerprint: &str, ip: [u8; 4]) -> Device {
    Device {
        info: crate::lan::discovery::test_device(alias, fingerprint),
        from: SocketAddr::from((ip, 53317)),
    }
}

#[test]
fn pick_takes_an_alias_or_a_fingerprint_prefix_and_refuses_ambiguity() {
    let found = [
        device("kitchen", "AB12CD", [192, 168, 1, 2]),
        device("office", "AB34EF", [192, 168, 1, 3]),
    ];
    let by_alias = pick(&found, "office").unwrap();
    assert_eq!(by_alias.addr, "192.168.1.3:53317".parse().unwrap());
    assert_eq!(by_alias.fingerprint, "AB34EF");
    assert_eq!(pick(&found, "ab12").unwrap().alias, "kitchen");
    let ambiguous = pick(&found, "AB").unwrap_err().to_string();
    assert!(ambiguous.contains("2 devices match"), "{ambiguous}");
    assert!(pick(&found, "garage").is_err());
}

#[tokio::test]
async fn cancel_mid_upload_tells_the_receiver_and_leaves_nothing() {
    let f = start(true, None).await;
    let path = f.source("big.bin", &vec![7; 8 << 20]);
    let mut options = f.options(None);
    let mut ui = Sender {
        cancel_at_first_byte: Some(options.cancel.clone()),
        ..Sender::default()
    };
    options.cancel = ui.cancel_at_first_byte.clone().unwrap();
    let err = f.send(options, Payload::Path(path), &mut ui).await;
    assert!(matches!(err, Err(Error::Cancelled)), "{err:?}");
    let out = f.out.clone();
    let (received, _tmp) = f.received().await;
    let cancelled = matches!(received, Err(Error::Peer(PeerError::Cancelled)));
    assert!(cancelled, "{received:?}");
    assert_eq!(files(&out), Vec::<String>::new());
}
