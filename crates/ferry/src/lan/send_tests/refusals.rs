//! Refusals: PIN, decline, busy, too many PINs, a certificate other than
//! announced, and Ctrl-C while the offer waits. Each ends the send at once.

use super::*;

#[tokio::test]
async fn the_right_pin_lets_the_file_in() {
    let f = start(true, Some("1234")).await;
    let path = f.source("a", b"x");
    let mut ui = Sender::default();
    let options = f.options(Some("1234"));
    f.send(options, Payload::Path(path), &mut ui).await.unwrap();
    let out = f.out.clone();
    let (received, _tmp) = f.received().await;
    received.unwrap();
    assert_eq!(files(&out), ["a"]);
}

#[tokio::test]
async fn a_wrong_pin_says_pin_costs_one_attempt_and_writes_nothing() {
    use ferry_proto::localsend::receiver::MAX_PIN_ATTEMPTS;
    let f = start(true, Some("1234")).await;
    let path = f.source("a", b"x");
    // If one send tried more than once, these would reach the lock-out.
    for _ in 1..MAX_PIN_ATTEMPTS {
        let payload = Payload::Path(path.clone());
        let err = f.send_quietly(f.options(Some("0000")), payload).await;
        let err = err.unwrap_err();
        assert!(err.to_string().contains("PIN"), "{err}");
        assert!(!f.out.exists());
    }
    let options = f.options(Some("1234"));
    f.send_quietly(options, Payload::Path(path)).await.unwrap();
}

#[tokio::test]
async fn too_many_wrong_pins_says_so() {
    use ferry_proto::localsend::receiver::MAX_PIN_ATTEMPTS;
    let f = start(true, Some("1234")).await;
    let path = f.source("a", b"x");
    for _ in 0..MAX_PIN_ATTEMPTS {
        let wrong = f.send_quietly(f.options(Some("0000")), Payload::Path(path.clone()));
        assert!(wrong.await.is_err());
    }
    let err = f
        .send_quietly(f.options(Some("1234")), Payload::Path(path))
        .await;
    let err = err.unwrap_err().to_string();
    assert!(err.contains("too many wrong PINs"), "{err}");
}

#[tokio::test]
async fn declined_is_an_error_and_nothing_is_written() {
    let f = start(false, None).await;
    let path = f.source("a", b"x");
    let err = f.send_quietly(f.options(None), Payload::Path(path)).await;
    let err = err.unwrap_err();
    assert!(err.to_string().contains("declined"), "{err}");
    let out = f.out.clone();
    assert!(matches!(f.received().await.0, Err(Error::Declined)));
    assert!(!out.exists());
}

#[tokio::test]
async fn a_certificate_other_than_announced_is_refused() {
    let f = start(true, None).await;
    let path = f.source("a", b"x");
    let remote = Remote {
        addr: f.addr,
        // The sender's own fingerprint: not what the receiver presents.
        fingerprint: f.sender.fingerprint().as_str().to_owned(),
        alias: "impostor".into(),
    };
    let mut options = f.options(None);
    options.target = Target::Remote(remote);
    let err = f.send_quietly(options, Payload::Path(path)).await;
    let err = err.unwrap_err().to_string();
    let expected =
        "the certificate of impostor (127.0.0.1) does not match the fingerprint it announced";
    assert_eq!(err, expected);
    assert!(!f.out.exists());
}

#[tokio::test]
async fn busy_is_an_error_and_ctrl_c_while_waiting_withdraws_the_offer() {
    let mut f = start_with(None, None).await;
    let path = f.source("a", b"x");
    let first_options = f.options(None);
    let ctrl_c = first_options.cancel.clone();
    let (identity, payload) = (f.sender.clone(), Payload::Path(path.clone()));
    let first = async move {
        let mut ui = Sender::default();
        let sending = send(first_options, payload, &identity, &mut ui);
        timeout(LIMIT, sending).await.unwrap()
    };
    tokio::pin!(first);
    tokio::select! {
        ended = &mut first => panic!("the first send ended: {ended:?}"),
        asked = timeout(LIMIT, f.asked.recv()) => asked.unwrap().unwrap(),
    }
    let second = f.send_quietly(f.options(None), Payload::Path(path)).await;
    let err = second.unwrap_err().to_string();
    assert!(err.contains("busy"), "{err}");
    ctrl_c.cancel();
    assert!(matches!(first.await, Err(Error::Cancelled)));
    let out = f.out.clone();
    let (received, _tmp) = f.received().await;
    assert!(received.is_err());
    assert!(!out.exists());
}
