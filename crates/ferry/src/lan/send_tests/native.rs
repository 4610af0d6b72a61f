//! Two ferry on the LAN: the native protocol over the LocalSend connection
//! (`lan::native`): chosen by default, byte-exact, resumable, behind the same
//! PIN and the same question; other clients are refused cleanly.

use super::*;
use crate::transfer::Report;
use ferry_proto::localsend::native::NATIVE_PATH;

/// Pseudo-random bytes (not compressible, not all one group value).
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn report(received: Result<Received>) -> Report {
    match received.unwrap() {
        Received::Files(report) => report,
        other => panic!("not files: {other:?}"),
    }
}

#[tokio::test]
async fn ferry_to_ferry_goes_native_and_a_file_lands_byte_exact() {
    let f = start(true, None).await;
    let content = noise(3 << 20);
    let path = f.source("data.bin", &content);
    let mut ui = Sender::default();
    let options = f.native_options(None);
    f.send(options, Payload::Path(path), &mut ui).await.unwrap();
    assert_eq!(ui.last, (content.len() as u64, content.len() as u64));
    let (out, native) = (f.out.clone(), f.native.clone());
    let (received, _tmp) = f.received().await;
    let report = report(received);
    assert!(
        native.load(Ordering::SeqCst),
        "the native protocol did not run"
    );
    assert_eq!(report.transferred, content.len() as u64);
    assert_eq!(std::fs::read(out.join("data.bin")).unwrap(), content);
    assert_eq!(files(&out), ["data.bin"]);
}

#[tokio::test]
async fn native_off_is_plain_localsend_even_with_ferry() {
    let f = start(true, None).await;
    let content = noise(1 << 20);
    let path = f.source("data.bin", &content);
    let options = SendOptions {
        native: false,
        ..f.native_options(None)
    };
    f.send_quietly(options, Payload::Path(path)).await.unwrap();
    let (out, native) = (f.out.clone(), f.native.clone());
    let (received, _tmp) = f.received().await;
    report(received);
    assert!(!native.load(Ordering::SeqCst), "the native protocol ran");
    assert_eq!(std::fs::read(out.join("data.bin")).unwrap(), content);
}

#[tokio::test]
async fn a_folder_lands_byte_exact_over_native() {
    let f = start(true, None).await;
    f.source("Fotos/été/ñandú.jpg", &noise(300_000));
    f.source("Fotos/空.txt", b"");
    f.source("Fotos/b/c.txt", b"c");
    let dir = f.tmp.path().join("src/Fotos");
    let options = f.native_options(None);
    f.send_quietly(options, Payload::Path(dir)).await.unwrap();
    let (out, native) = (f.out.clone(), f.native.clone());
    let (received, _tmp) = f.received().await;
    report(received);
    assert!(native.load(Ordering::SeqCst));
    let expected = ["Fotos/b/c.txt", "Fotos/été/ñandú.jpg", "Fotos/空.txt"];
    assert_eq!(files(&out), expected);
    let jpg = std::fs::read(out.join("Fotos/été/ñandú.jpg")).unwrap();
    assert_eq!(jpg, noise(300_000));
    assert_eq!(std::fs::read(out.join("Fotos/b/c.txt")).unwrap(), b"c");
}

#[tokio::test]
async fn several_paths_land_as_themselves_over_native_too() {
    let f = start(true, None).await;
    let one = f.source("one.txt", b"1");
    f.source("dir/two.txt", b"2");
    let dir = f.tmp.path().join("src/dir");
    let payload = Payload::Paths {
        name: "wrapper".into(),
        paths: vec![one, dir],
    };
    f.send_quietly(f.native_options(None), payload)
        .await
        .unwrap();
    let (out, native) = (f.out.clone(), f.native.clone());
    let (received, _tmp) = f.received().await;
    let report = report(received);
    assert!(native.load(Ordering::SeqCst));
    assert_eq!(files(&out), ["dir/two.txt", "one.txt"]);
    assert_eq!(report.roots, [out.join("one.txt"), out.join("dir")]);
}

#[tokio::test]
async fn an_interrupted_transfer_resumes_without_sending_verified_bytes_again() {
    let f = start(true, None).await;
    let content = noise(64 << 20);
    let path = f.source("big.bin", &content);
    // The sender's Ctrl-C, pressed once the receiver has some of the file.
    let mut options = f.native_options(None);
    options.cancel = f.interrupt.clone();
    let mut ui = Sender::default();
    let err = f.send(options, Payload::Path(path.clone()), &mut ui).await;
    assert!(matches!(err, Err(Error::Cancelled)), "{err:?}");
    let (received, tmp) = f.received().await;
    let cancelled = matches!(received, Err(Error::Peer(PeerError::Cancelled)));
    assert!(cancelled, "{received:?}");
    let kept = files(&tmp.path().join("out"));
    assert!(!kept.contains(&"big.bin".to_owned()), "{kept:?}");

    let f = start_in(tmp, Some(true), None).await;
    let options = f.native_options(None);
    f.send_quietly(options, Payload::Path(path)).await.unwrap();
    let out = f.out.clone();
    let (received, _tmp) = f.received().await;
    let report = report(received);
    let size = content.len() as u64;
    assert!(report.resumed > 0, "{report:?}");
    assert_eq!(report.transferred + report.resumed, size, "{report:?}");
    assert_eq!(std::fs::read(out.join("big.bin")).unwrap(), content);
    assert_eq!(files(&out), ["big.bin"]);
}

#[tokio::test]
async fn the_pin_is_required_on_the_native_path_too() {
    let f = start(true, Some("1234")).await;
    let path = f.source("a", b"x");
    for pin in [None, Some("0000")] {
        let options = f.native_options(pin);
        let err = f.send_quietly(options, Payload::Path(path.clone())).await;
        let err = err.unwrap_err().to_string();
        assert!(err.contains("PIN"), "{err}");
        assert!(!f.out.exists());
    }
    let options = f.native_options(Some("1234"));
    f.send_quietly(options, Payload::Path(path)).await.unwrap();
    let (out, native) = (f.out.clone(), f.native.clone());
    let (received, _tmp) = f.received().await;
    report(received);
    assert!(native.load(Ordering::SeqCst));
    assert_eq!(files(&out), ["a"]);
}

#[tokio::test]
async fn declined_ends_the_native_sender_with_declined() {
    let f = start(false, None).await;
    let path = f.source("a", b"x");
    let err = f
        .send_quietly(f.native_options(None), Payload::Path(path))
        .await;
    assert!(matches!(err, Err(Error::Declined)), "{err:?}");
    let out = f.out.clone();
    assert!(matches!(f.received().await.0, Err(Error::Declined)));
    assert!(!out.exists());
}

#[tokio::test]
async fn ctrl_c_while_the_native_offer_waits_tells_the_receiver() {
    let mut f = start_with(None, None).await;
    let path = f.source("a", b"x");
    let options = f.native_options(None);
    let ctrl_c = options.cancel.clone();
    let (identity, payload) = (f.sender.clone(), Payload::Path(path));
    let sending = tokio::spawn(async move {
        let mut ui = Sender::default();
        timeout(LIMIT, send(options, payload, &identity, &mut ui)).await
    });
    timeout(LIMIT, f.asked.recv()).await.unwrap().unwrap();
    ctrl_c.cancel();
    let sent = sending.await.unwrap().unwrap();
    assert!(matches!(sent, Err(Error::Cancelled)), "{sent:?}");
    let out = f.out.clone();
    let (received, _tmp) = f.received().await;
    let cancelled = matches!(received, Err(Error::Peer(PeerError::Cancelled)));
    assert!(cancelled, "{received:?}");
    assert!(!out.exists());
}

#[tokio::test]
async fn a_client_that_does_not_upgrade_is_refused_and_the_receiver_carries_on() {
    let f = start(true, None).await;
    let fingerprint = crate::lan::client::probe(&f.sender, f.addr).await.unwrap();
    let remote = Remote {
        addr: f.addr,
        fingerprint,
        alias: "curl".into(),
    };
    let client = Client::new(&f.sender, remote).unwrap();
    let caps = client.info().await.unwrap().ferry.unwrap();
    assert!(caps.transfer.contains(&"native-v2".to_owned()), "{caps:?}");
    let post = client.raw(hyper::Method::POST, NATIVE_PATH.into(), Vec::new());
    let (status, body) = post.await.unwrap();
    assert_eq!(status, 426);
    assert!(String::from_utf8_lossy(&body).contains("ferry-native-v2"));
    let get = client.raw(hyper::Method::GET, NATIVE_PATH.into(), Vec::new());
    assert_eq!(get.await.unwrap().0, 405);
    // The slot stayed free: a LocalSend send still goes through.
    let path = f.source("a", b"x");
    f.send_quietly(f.options(None), Payload::Path(path))
        .await
        .unwrap();
    let (received, _tmp) = f.received().await;
    report(received);
}
