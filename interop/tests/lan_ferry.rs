//! ferry ↔ ferry on a test LAN with no server anywhere: ferry's native protocol over the
//! LocalSend HTTPS connection by default, plain LocalSend with `--v1`.

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_interop::data::{sample_tree, sparse_file, NON_ASCII_TEXT, TREE_DIRNAME};
use ferry_interop::lan_cases::*;
use ferry_interop::lan_ferry::{exit_code, Ferry};
use ferry_interop::lan_net::Lan;
use ferry_interop::process::Outcome;
use ferry_interop::tree::{assert_same_tree, Tree};
use ferry_interop::TestEnv;

/// host 0: the receiver, host 1: the sender.
fn setup() -> (Lan, Ferry, Ferry) {
    let env = TestEnv::get();
    let lan = Lan::new(2);
    let receiver = Ferry::new(env, lan.host(0));
    let sender = Ferry::new(env, lan.host(1));
    (lan, receiver, sender)
}

/// Runs `ferry send --lan --to <receiver> EXTRA PATHS` against `ferry receive --lan
/// RECEIVE_EXTRA`; returns both outcomes.
fn transfer(
    extra: &[&str],
    paths: &[&Path],
    receive_extra: &[&str],
    out: &Path,
) -> (Outcome, Outcome) {
    let (_lan, receiver, sender) = setup();
    let running = receiver.receive("ferryA", out, receive_extra);
    let sent = sender.send(&receiver.host.ip, extra, paths, TRANSFER_TIMEOUT);
    let received = running.finish(Instant::now() + TRANSFER_TIMEOUT);
    (sent, received)
}

#[test]
fn ferry_lists_ferry() {
    let (_lan, receiver, sender) = setup();
    let out = TestEnv::get().scratch_dir("out-");
    let running = receiver.receive("ferryA", out.path(), &["--yes"]);
    let devices = sender.devices(3);
    drop(running);
    let line = assert_listed(&devices, "ferryA", &receiver.host.ip);
    assert!(line.contains("\"fingerprint\":\""), "{line}");
}

fn files(extra: &[&str]) {
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let files = several_files(data.path());
    let paths: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let (sent, received) = transfer(extra, &paths, &["--yes"], out.path());
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{received}");
    assert_eq!(exit_code(&received), Some(0), "{received}");
    assert_copies(&files, out.path(), "ferry → ferry");
}

#[test]
fn files_ferry_to_ferry() {
    files(&[]);
}

/// `--v1`: plain LocalSend even between two ferries (the same as the default until ferry's
/// native frames come to the LAN).
#[test]
fn files_ferry_to_ferry_plain_localsend() {
    files(&["--v1"]);
}

/// A folder keeps its tree (non-ASCII names, an empty file); LocalSend names files only, so
/// an empty folder cannot travel.
#[test]
fn directory_ferry_to_ferry() {
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let tree = sample_tree(data.path()).expect("tree");
    let (sent, received) = transfer(&[], &[&tree], &["--yes"], out.path());
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{received}");
    let want = Tree::of_dir(&tree).expect("sent tree").without_empty_dirs();
    let got = Tree::of_dir(&out.path().join(TREE_DIRNAME)).expect("received tree");
    assert_same_tree(
        &want,
        &got.without_empty_dirs(),
        &format!("{sent}\n{received}"),
    );
}

/// Text arrives as a LocalSend message and is printed on stdout.
#[test]
fn text_ferry_to_ferry() {
    let (_lan, receiver, sender) = setup();
    let out = TestEnv::get().scratch_dir("out-");
    let running = receiver.receive("ferryA", out.path(), &["--yes"]);
    let to = receiver.host.ip.clone();
    let args = ["send", "--lan", "--to", &to, "--text", NON_ASCII_TEXT];
    let sent = sender.run("ferry send --text", &args, TRANSFER_TIMEOUT);
    let received = running.finish(Instant::now() + TRANSFER_TIMEOUT);
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{received}");
    assert!(
        received.stdout_text().contains(NON_ASCII_TEXT),
        "{received}"
    );
    assert_eq!(files_in(out.path()), vec![], "a message saves no file");
}

/// Missing and wrong PIN → 3 "PIN"; after three wrong ones even the right PIN meets the
/// lockout (429) → 3 "PIN", at once; nothing lands.
#[test]
fn pin_ferry_to_ferry() {
    let (_lan, receiver, sender) = setup();
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let running = receiver.receive("ferryA", out.path(), &["--yes", "--pin", "5555"]);
    let ip = receiver.host.ip.clone();
    let missing = sender.send(&ip, &[], &[&file], TRANSFER_TIMEOUT);
    assert_exit(&missing, 3, "PIN", "missing PIN");
    for n in 1..=3 {
        let wrong = sender.send(&ip, &["--pin", "0000"], &[&file], TRANSFER_TIMEOUT);
        assert_exit(&wrong, 3, "PIN", &format!("wrong PIN {n}"));
    }
    let locked = sender.send(&ip, &["--pin", "5555"], &[&file], TRANSFER_TIMEOUT);
    assert_exit(&locked, 3, "PIN", "right PIN after three wrong ones (429)");
    assert!(
        locked.elapsed < Duration::from_secs(10),
        "retried?\n{locked}"
    );
    let received = running.into_outcome();
    assert_eq!(files_in(out.path()), vec![], "{received}");
}

#[test]
fn pin_right_ferry_to_ferry() {
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let (sent, received) = transfer(
        &["--pin", "5555"],
        &[&file],
        &["--yes", "--pin", "5555"],
        out.path(),
    );
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{received}");
    assert_copy(&file, out.path(), "blob.bin", "right PIN");
}

/// The receiver without --yes, not at a terminal, declines: the sender exits 4.
#[test]
fn receiver_declines_off_a_terminal() {
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let (sent, received) = transfer(&[], &[&file], &[], out.path());
    assert_eq!(exit_code(&sent), Some(4), "{sent}\n{received}");
    assert_eq!(files_in(out.path()), vec![], "{received}");
}

/// Ctrl-C in ferry send mid-upload, ferry to ferry (the native protocol): the sender exits
/// 130, the receiver hears the cancel (exit 7) and keeps only its hidden resume state; the
/// next send resumes from it and the file lands whole, with nothing left beside it.
#[test]
fn sender_interrupted_mid_upload_resumes() {
    let (lan, receiver, sender) = setup();
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = sparse_file(&data.path().join("slow.bin"), 64 << 20).expect("file");
    let (sent, received) = interrupted(&lan, &receiver, &sender, &[], &file, out.path());
    assert_eq!(exit_code(&sent), Some(130), "{sent}\n{received}");
    assert_eq!(exit_code(&received), Some(7), "{received}");
    let kept = files_in(out.path());
    assert!(!kept.is_empty(), "nothing kept to resume from\n{received}");
    assert!(
        kept.iter()
            .all(|(name, _)| name.starts_with(".slow.bin.ferry-resume")),
        "{kept:?}\n{received}"
    );
    lan.host(1).unlimit_rate();
    let running = receiver.receive("ferryA", out.path(), &["--yes"]);
    let sent = sender.send(&receiver.host.ip, &[], &[&file], TRANSFER_TIMEOUT);
    let received = running.finish(Instant::now() + TRANSFER_TIMEOUT);
    assert!(
        sent.succeeded() && received.succeeded(),
        "{sent}\n{received}"
    );
    assert!(received.stderr_text().contains("Resuming"), "{received}");
    assert_eq!(
        files_in(out.path()),
        vec![("slow.bin".to_owned(), 64 << 20)]
    );
    let landed = std::fs::read(out.path().join("slow.bin")).expect("landed");
    assert!(
        landed == std::fs::read(&file).expect("sent"),
        "the resumed file differs"
    );
}

/// The same with `--v1` (plain LocalSend, which cannot resume): nothing is kept.
#[test]
fn sender_interrupted_mid_upload_v1_keeps_nothing() {
    let (lan, receiver, sender) = setup();
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = sparse_file(&data.path().join("slow.bin"), 64 << 20).expect("file");
    let (sent, received) = interrupted(&lan, &receiver, &sender, &["--v1"], &file, out.path());
    assert_eq!(exit_code(&sent), Some(130), "{sent}\n{received}");
    assert_eq!(exit_code(&received), Some(7), "{received}");
    assert_eq!(files_in(out.path()), vec![], "{received}");
}

/// A slowed send of `file` interrupted once data reaches `out`: both outcomes.
fn interrupted(
    lan: &Lan,
    receiver: &Ferry,
    sender: &Ferry,
    extra: &[&str],
    file: &Path,
    out: &Path,
) -> (Outcome, Outcome) {
    lan.host(1).limit_rate(40);
    let mut running = receiver.receive("ferryA", out, &["--yes"]);
    let mut sending = sender.spawn_send(&receiver.host.ip, extra, &[file]);
    wait_for_data(out, &mut running, TRANSFER_TIMEOUT);
    sending.interrupt().expect("SIGINT");
    let sent = sending.finish(Instant::now() + Duration::from_secs(15));
    let received = running.finish(Instant::now() + Duration::from_secs(15));
    (sent, received)
}

/// A hostile sender (a raw client: no peer sends this) offers `../evil.txt`: ferry lands
/// nothing, inside or outside its output directory. The other hostile offers are unit tests
/// (crates/ferry/src/lan/receive_tests/hostile.rs).
#[test]
fn path_traversal_offer_lands_nothing() {
    let (_lan, receiver, sender) = setup();
    let env = TestEnv::get();
    let parent = env.scratch_dir("hostile-");
    let out = parent.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let running = receiver.receive("ferryA", &out, &["--yes"]);
    let script = format!(
        "import json,requests,sys\n\
         u='https://{ip}:53317/api/localsend/v2/'\n\
         info={{'alias':'evil','version':'2.1','deviceModel':None,'deviceType':'desktop','fingerprint':'00','port':53317,'protocol':'https','download':False}}\n\
         f={{'x':{{'id':'x','fileName':'../evil.txt','size':4,'fileType':'application/octet-stream'}}}}\n\
         r=requests.post(u+'prepare-upload',json={{'info':info,'files':f}},verify=False,timeout=10)\n\
         print('prepare',r.status_code)\n\
         if r.status_code==200:\n\
         \x20   b=r.json(); t=b['files'].get('x')\n\
         \x20   if t: print('upload',requests.post(u+'upload',params={{'sessionId':b['sessionId'],'fileId':'x','token':t}},data=b'evil',verify=False,timeout=10).status_code)\n",
        ip = receiver.host.ip
    );
    let mut inv = sender
        .host
        .invocation("raw sender", env.python(), env.state_dir.clone());
    inv.args(["-c", &script])
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE");
    let raw = sender.host.run(&inv, TRANSFER_TIMEOUT);
    let received = running.into_outcome();
    assert!(raw.stdout_text().contains("prepare"), "{raw}");
    assert!(
        !raw.stdout_text().contains("upload 200"),
        "{raw}\n{received}"
    );
    assert_eq!(files_in(parent.path()), vec![], "{raw}\n{received}");
}
