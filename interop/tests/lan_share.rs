//! LocalSend's download API on a test LAN: ferry's share (`send --lan --share`) and fetch
//! (`receive --lan --from`) against the real peers, in every direction they can go.
//!
//! What the peers offer, read in their 0.1.1 sources (site-packages of the peers' venv):
//! - localsendd *serves* the API (`http_api.py`): `prepare-download` (PIN-checked, and
//!   counted in its lockout like an upload's) offers every regular file directly in its
//!   download directory, each file's id being its name; folders are skipped, so it shares
//!   no folder. Its page at `/` has no links. It has no client side: localsendctl has no
//!   command and its control socket (`ipc.py`) no method that fetches.
//! - localsend-cli neither serves nor fetches: it announces `"download": false`, and its
//!   server knows info, register, prepare-upload, upload and cancel only.
//!
//! So no real peer can fetch from ferry's share; they can see it (`"download": true`, the
//! first test). What fetches from it here is a plain HTTP client (`lan_client.py`, Python
//! `requests`) in another host: as a browser (the page and its links) and as the app (the
//! API), which proves the share over a real LAN but is not a LocalSend implementation.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_interop::data::{random_file, sample_tree, sparse_file};
use ferry_interop::lan_cases::*;
use ferry_interop::lan_client::{Fetched, HttpClient, Via};
use ferry_interop::lan_ferry::{exit_code, Ferry, Share};
use ferry_interop::lan_net::Lan;
use ferry_interop::lan_peers::{DaemonOptions, LocalsendCli, Localsendd};
use ferry_interop::process::Outcome;
use ferry_interop::tree::{assert_same_tree, Tree};
use ferry_interop::TestEnv;
use serde_json::Value;
use tempfile::TempDir;

/// A fetch from localsendd: a few MiB, and a scan of 3 s when by alias or fingerprint.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

fn daemon(pin: Option<&str>, plain_http: bool) -> DaemonOptions {
    DaemonOptions {
        alias: "daemonA".into(),
        pin: pin.map(Into::into),
        plain_http,
        ..DaemonOptions::default()
    }
}

/// What ferry shares in these tests: several files and a folder, side by side in `dir`.
fn shelf(dir: &Path) -> Vec<PathBuf> {
    let mut items = several_files(dir);
    items.push(sample_tree(dir).expect("tree"));
    items
}

fn paths(items: &[PathBuf]) -> Vec<&Path> {
    items.iter().map(PathBuf::as_path).collect()
}

/// What a fetch of `dir`'s share must land: its files (an empty folder cannot travel).
fn tree_of(dir: &Path) -> Tree {
    Tree::of_dir(dir).expect("tree").without_empty_dirs()
}

/// A share and its client: host 0 shares what `shelf` makes, host 1 fetches. Keep it whole
/// to the test's end (move out only `share`): the LAN and the files must outlive the steps.
struct ShareSetup {
    lan: Lan,
    share: Share,
    client: HttpClient,
    /// What a fetch must land.
    want: Tree,
    /// The shared files: ferry reads them at each download.
    _data: TempDir,
}

fn share_setup(extra: &[&str]) -> ShareSetup {
    let env = TestEnv::get();
    let lan = Lan::new(2);
    let ferry = Ferry::new(env, lan.host(0));
    let data = env.scratch_dir("data-");
    let items = shelf(data.path());
    let share = ferry.share("shelf", extra, &paths(&items));
    ShareSetup {
        share,
        client: HttpClient::new(env, lan.host(1)),
        want: tree_of(data.path()),
        _data: data,
        lan,
    }
}

/// Panics unless every file step of `got` answered 200 and `out` holds `want`.
fn assert_fetched(got: &Fetched, want: &Tree, out: &Path, context: &str) {
    let files = got.steps("file");
    assert!(
        !files.is_empty() && files.iter().all(|s| s["status"] == 200),
        "{context}: a download failed\n{}",
        got.outcome
    );
    assert_same_tree(want, &tree_of(out), &format!("{context}\n{}", got.outcome));
}

/// Panics unless the `served` events are one complete download to `ip` per file of `want`,
/// `times` over.
fn assert_served(served: &[Value], ip: &str, want: &Tree, times: usize, stopped: &Outcome) {
    assert_eq!(
        exit_code(stopped),
        Some(130),
        "Ctrl-C ends a share\n{stopped}"
    );
    let names: Vec<&str> = served.iter().filter_map(|e| e["path"].as_str()).collect();
    let files: BTreeSet<&str> = want
        .0
        .iter()
        .filter(|(_, node)| matches!(node, ferry_interop::tree::Node::File { .. }))
        .map(|(path, _)| path.as_str())
        .collect();
    assert_eq!(served.len(), files.len() * times, "{stopped}");
    assert_eq!(names.iter().copied().collect::<BTreeSet<_>>(), files);
    for event in served {
        assert_eq!(event["to"], ip, "the fetching host's address: {event}");
        assert_eq!(event["complete"], true, "{event}");
    }
}

/// localsendd and localsend-cli, each in a host of its own, list ferry's shares as devices
/// that share (`"download": true`), with the address, fingerprint and scheme they announce.
#[test]
fn peers_see_ferry_shares_as_downloadable() {
    let env = TestEnv::get();
    let lan = Lan::new(4);
    let (ferry, plain_ferry) = (Ferry::new(env, lan.host(0)), Ferry::new(env, lan.host(3)));
    let localsendd = Localsendd::start(env, lan.host(1), daemon(None, false));
    let cli = LocalsendCli::new(env, lan.host(2));
    let data = env.scratch_dir("data-");
    let files = several_files(data.path());
    let share = ferry.share("shelf", &[], &paths(&files));
    let plain_share = plain_ferry.share("plainshelf", &["--http"], &paths(&files));
    let (listed, scanned) = std::thread::scope(|s| {
        let listed = s.spawn(|| localsendd.devices(3));
        (listed.join().expect("localsendctl devices"), cli.scan(3))
    });
    let sharing = share.sharing.clone();
    let (stopped, served) = share.stop();
    let (plain_stopped, plain_served) = plain_share.stop();

    assert_eq!(sharing["alias"], "shelf", "{stopped}");
    let url = format!("https://{}:53317/", ferry.host.ip);
    assert_eq!(sharing["urls"], serde_json::json!([url]), "{stopped}");
    let fingerprint = sharing["fingerprint"].as_str().unwrap_or_default();
    assert_eq!(fingerprint.len(), 64, "{stopped}");

    let line = assert_listed(&listed, "shelf", &ferry.host.ip);
    assert!(line.contains("\"download\":true"), "localsendd: {line}");
    assert!(
        line.contains("\"protocol\":\"https\""),
        "localsendd: {line}"
    );
    assert!(
        line.contains(&format!("\"fingerprint\":\"{fingerprint}\"")),
        "{line}"
    );
    let line = assert_listed(&listed, "plainshelf", &plain_ferry.host.ip);
    assert!(line.contains("\"download\":true"), "localsendd: {line}");
    assert!(line.contains("\"protocol\":\"http\""), "localsendd: {line}");
    for (alias, ip) in [
        ("shelf", &ferry.host.ip),
        ("plainshelf", &plain_ferry.host.ip),
    ] {
        let line = assert_listed(&scanned, alias, ip);
        assert!(line.contains("\"download\":true"), "localsend-cli: {line}");
    }
    assert!(
        served.is_empty() && plain_served.is_empty(),
        "nobody fetched\n{stopped}"
    );
    assert_eq!(exit_code(&plain_stopped), Some(130), "{plain_stopped}");
}

/// The download API as the LocalSend app uses it, from another host: files and a folder,
/// byte for byte; a session the share never granted is refused; ferry says who fetched what.
#[test]
fn a_client_fetches_files_and_a_folder_through_the_download_api() {
    let setup = share_setup(&[]);
    let (share, client, want) = (setup.share, &setup.client, &setup.want);
    let out = TestEnv::get().scratch_dir("out-");
    let got = client.fetch(Via::Api, &share.url(), out.path(), None);
    let (stopped, served) = share.stop();
    assert_eq!(got.status("prepare"), 200, "{}\n{stopped}", got.outcome);
    let info = &got.steps("info")[0]["info"];
    assert_eq!(info["alias"], "shelf", "{info}");
    assert_eq!(info["download"], true, "{info}");
    assert_fetched(&got, want, out.path(), "API fetch");
    assert_eq!(got.status("forged"), 403, "{}", got.outcome);
    assert_served(&served, &client.host.ip, want, 1, &stopped);
}

/// A client that closes the connection midway: ferry reports that download as not complete
/// (`"complete": false`) and serves the next client whole.
#[test]
fn a_download_cut_midway_is_served_incomplete() {
    let env = TestEnv::get();
    let lan = Lan::new(2);
    // Slow enough that 16 MiB cannot all have left ferry (into the socket buffers, a few
    // MiB) when the client goes.
    lan.host(0).limit_rate(80);
    let ferry = Ferry::new(env, lan.host(0));
    let data = env.scratch_dir("data-");
    let big = sparse_file(&data.path().join("big.bin"), 16 << 20).expect("file");
    let share = ferry.share("shelf", &[], &[&big]);
    let client = HttpClient::new(env, lan.host(1));
    let (cut_out, out) = (env.scratch_dir("out-"), env.scratch_dir("out-"));
    let cut = client.fetch(Via::Cut, &share.url(), cut_out.path(), None);
    let whole = client.fetch(Via::Api, &share.url(), out.path(), None);
    let (stopped, served) = share.stop();

    assert_eq!(
        cut.steps("cut").first().map(|s| &s["got"]),
        Some(&(1 << 20).into()),
        "{}",
        cut.outcome
    );
    assert_fetched(&whole, &tree_of(data.path()), out.path(), "after a cut");
    let mut complete: Vec<bool> = served
        .iter()
        .filter_map(|e| e["complete"].as_bool())
        .collect();
    complete.sort();
    assert_eq!(complete, [false, true], "{stopped}");
    assert!(
        served
            .iter()
            .all(|e| e["to"] == client.host.ip.as_str() && e["path"] == "big.bin"),
        "{stopped}"
    );
}

/// A browser: the page at `/` links every file (a `download` attribute with its last name);
/// each link gives the bytes, named by Content-Disposition. The share is HTTPS only: the
/// same page over plain HTTP gets no answer.
#[test]
fn a_browser_opens_the_share_page_and_downloads_by_its_links() {
    let setup = share_setup(&[]);
    let (share, client, want) = (setup.share, &setup.client, &setup.want);
    let env = TestEnv::get();
    let (out, plain_out) = (env.scratch_dir("out-"), env.scratch_dir("out-"));
    let got = client.fetch(Via::Page, &share.url(), out.path(), None);
    let plain_url = share.url().replace("https://", "http://");
    let plain = client.fetch(Via::Page, &plain_url, plain_out.path(), None);
    let (stopped, served) = share.stop();

    assert_eq!(got.status("page"), 200, "{}\n{stopped}", got.outcome);
    let page = &got.steps("page")[0];
    assert_eq!(page["type"], "text/html; charset=utf-8", "{page}");
    assert_fetched(&got, want, out.path(), "page links");
    for file in got.steps("file") {
        let name = file["name"].as_str().unwrap_or_default();
        let last = name.rsplit('/').next().unwrap_or_default();
        assert_eq!(file["download"], last, "{file}");
        assert_eq!(file["attachment"], last, "{file}");
    }
    assert_served(&served, &client.host.ip, want, 1, &stopped);

    assert!(!plain.steps("error").is_empty(), "{}", plain.outcome);
    assert_eq!(tree_of(plain_out.path()), Tree::default());
}

/// With `--pin`: a missing or wrong PIN gets 401 from the API and the page (which shows its
/// form, saying why); the right one gives the files both ways. (Two wrong tries: ferry locks
/// a device out at the third.)
#[test]
fn a_share_pin_is_asked_by_the_api_and_the_page() {
    let setup = share_setup(&["--pin", "2468"]);
    let (share, client, want) = (setup.share, &setup.client, &setup.want);
    let env = TestEnv::get();
    let url = share.url();
    let refused = env.scratch_dir("refused-");
    let tries = [
        (Via::Api, None),
        (Via::Api, Some("1111")),
        (Via::Page, None),
        (Via::Page, Some("1357")),
    ];
    let answers: Vec<Fetched> = tries
        .iter()
        .map(|(via, pin)| client.fetch(*via, &url, refused.path(), *pin))
        .collect();
    let (api_out, page_out) = (env.scratch_dir("out-"), env.scratch_dir("out-"));
    let api = client.fetch(Via::Api, &url, api_out.path(), Some("2468"));
    let page = client.fetch(Via::Page, &url, page_out.path(), Some("2468"));
    let (stopped, served) = share.stop();

    let [no_pin_api, wrong_api, no_pin_page, wrong_page] = &answers[..] else {
        unreachable!()
    };
    assert_eq!(no_pin_api.status("prepare"), 401, "{}", no_pin_api.outcome);
    assert_eq!(wrong_api.status("prepare"), 401, "{}", wrong_api.outcome);
    for (got, says) in [(no_pin_page, "needs a PIN"), (wrong_page, "Wrong PIN")] {
        assert_eq!(got.status("page"), 401, "{}", got.outcome);
        let body = got.steps("page")[0]["body"].as_str().unwrap_or_default();
        assert!(body.contains(says) && body.contains("<form"), "{body}");
        assert!(got.steps("file").is_empty(), "{}", got.outcome);
    }
    assert_eq!(
        tree_of(refused.path()),
        Tree::default(),
        "refused, yet landed"
    );

    assert_eq!(api.status("prepare"), 200, "{}\n{stopped}", api.outcome);
    assert_fetched(&api, want, api_out.path(), "API with the PIN");
    assert_eq!(page.status("page"), 200, "{}\n{stopped}", page.outcome);
    assert_fetched(&page, want, page_out.path(), "page with the PIN");
    assert_served(&served, &client.host.ip, want, 2, &stopped);
}

/// `--http`: the share is plain HTTP, which a browser opens without a certificate warning;
/// it says so in its address, and HTTPS gets no answer.
#[test]
fn a_plain_http_share_opens_in_a_browser_over_http_only() {
    let setup = share_setup(&["--http"]);
    let (share, client, want) = (setup.share, &setup.client, &setup.want);
    let env = TestEnv::get();
    let (out, tls_out) = (env.scratch_dir("out-"), env.scratch_dir("out-"));
    let url = share.url();
    let got = client.fetch(Via::Page, &url, out.path(), None);
    let tls_url = url.replace("http://", "https://");
    let tls = client.fetch(Via::Page, &tls_url, tls_out.path(), None);
    let (stopped, served) = share.stop();

    assert_eq!(
        url,
        format!("http://{}:53317/", setup.lan.host(0).ip),
        "{stopped}"
    );
    assert_eq!(got.status("page"), 200, "{}\n{stopped}", got.outcome);
    assert_fetched(&got, want, out.path(), "plain HTTP page");
    assert_served(&served, &client.host.ip, want, 1, &stopped);
    assert!(!tls.steps("error").is_empty(), "{}", tls.outcome);
    assert_eq!(tree_of(tls_out.path()), Tree::default());
}

/// Puts files in localsendd's download directory (what it shares), and a folder, which it
/// does not share; returns what a fetch must land.
fn localsendd_shares(localsendd: &Localsendd) -> Tree {
    let dir = &localsendd.download_dir;
    several_files(dir);
    // Its file ids are the names: these must survive the download URL's query.
    random_file(&dir.join("a&b=c #1+%20?.bin"), 1000).expect("file");
    std::fs::create_dir(dir.join("folder")).expect("folder");
    random_file(&dir.join("folder/inside.bin"), 10).expect("file");
    let mut want = tree_of(dir);
    want.0.retain(|path, _| !path.starts_with("folder"));
    want
}

/// ferry fetches what localsendd shares, found by IP, by alias and by fingerprint prefix:
/// its top-level files byte for byte (the empty one too), and not its folder.
#[test]
fn ferry_fetches_what_localsendd_shares_by_ip_alias_and_fingerprint() {
    let (_lan, localsendd, ferry) = localsendd_and_ferry(daemon(None, false));
    let want = localsendd_shares(&localsendd);
    let env = TestEnv::get();
    let prefix = &localsendd.fingerprint[..12];
    for from in [localsendd.host.ip.as_str(), "daemonA", prefix] {
        let out = env.scratch_dir("out-");
        let got = ferry.fetch(from, out.path(), &["--yes"], FETCH_TIMEOUT);
        assert_eq!(
            exit_code(&got),
            Some(0),
            "--from {from}\n{got}\n{}",
            localsendd.log()
        );
        assert_same_tree(
            &want,
            &tree_of(out.path()),
            &format!("--from {from}\n{got}"),
        );
    }
}

/// localsendd's PIN: missing or wrong → exit 3 "PIN", nothing lands; right → the files.
/// It counts every refusal (a missing PIN too), so after three its lockout (429) refuses
/// even the right PIN: exit 3 "PIN", at once.
#[test]
fn ferry_fetches_from_localsendd_with_its_pin() {
    let (_lan, localsendd, ferry) = localsendd_and_ferry(daemon(Some("4321"), false));
    let want = localsendd_shares(&localsendd);
    let env = TestEnv::get();
    let ip = localsendd.host.ip.clone();
    let refused = env.scratch_dir("refused-");
    let fetch = |extra: &[&str], out: &Path| {
        let args = [&["--yes"], extra].concat();
        ferry.fetch(&ip, out, &args, FETCH_TIMEOUT)
    };
    assert_exit(&fetch(&[], refused.path()), 3, "PIN", "missing PIN");
    let wrong = fetch(&["--pin", "1111"], refused.path());
    assert_exit(&wrong, 3, "PIN", "wrong PIN");
    let out = env.scratch_dir("out-");
    let right = fetch(&["--pin", "4321"], out.path());
    assert_eq!(exit_code(&right), Some(0), "{right}\n{}", localsendd.log());
    assert_same_tree(&want, &tree_of(out.path()), &right.to_string());

    for n in 1..=3 {
        let wrong = fetch(&["--pin", "0000"], refused.path());
        assert_exit(&wrong, 3, "PIN", &format!("wrong PIN {n}"));
    }
    let locked = fetch(&["--pin", "4321"], refused.path());
    assert_exit(&locked, 3, "PIN", "right PIN while locked out (429)");
    assert!(
        locked.elapsed < Duration::from_secs(10),
        "retried?\n{locked}"
    );
    assert_eq!(files_in(refused.path()), vec![], "refused, yet landed");
}

/// Names localsendd can share that must not land as they are. It offers the names of the
/// files in one directory, so never a `/` (no `../x`, no absolute path: those are unit
/// tests, crates/ferry/src/lan/fetch_tests/hostile.rs); but a Linux file name can hold a
/// backslash, control characters and invisible format characters: ferry refuses the whole
/// share before asking (exit 5, "unsafe name"). A name that is not UTF-8 localsendd writes
/// as a lone surrogate escape, which is not JSON: ferry refuses the answer (exit 1). Each
/// time, nothing lands inside or beside `-o`.
#[test]
fn hostile_names_localsendd_shares_land_nothing() {
    let (_lan, localsendd, ferry) = localsendd_and_ferry(daemon(None, false));
    let env = TestEnv::get();
    let dir = &localsendd.download_dir;
    random_file(&dir.join("good.bin"), 100).expect("file");
    let hostile: [(&[u8], i32, &str); 5] = [
        (b"..\\..\\evil.bin", 5, "backslash"),
        (b"esc\x1b]0;title\x07.bin", 5, "control character"),
        ("bidi\u{202e}nib.exe".as_bytes(), 5, "invisible"),
        (b"new\nline.bin", 5, "control character"),
        (b"not utf-8 \xff.bin", 1, "invalid JSON"),
    ];
    for (name, code, says) in hostile {
        let hostile = dir.join(OsStr::from_bytes(name));
        random_file(&hostile, 10).expect("hostile file");
        let parent = env.scratch_dir("hostile-");
        let out = parent.path().join("out");
        let got = ferry.fetch(&localsendd.host.ip, &out, &["--yes"], FETCH_TIMEOUT);
        std::fs::remove_file(&hostile).expect("remove");
        let context = format!("{:?}", String::from_utf8_lossy(name));
        assert_exit(&got, code, says, &context);
        assert_eq!(files_in(parent.path()), vec![], "{context}\n{got}");
    }
}

/// localsendd lists a file it then cannot serve: its download handler cuts a name at 200
/// characters and answers 404. ferry fails (exit 1, naming the 404) and leaves no partial
/// file; the file it fetched before stays, as after any failed receive.
#[test]
fn a_file_localsendd_lists_but_cannot_serve_fails_cleanly() {
    let (_lan, localsendd, ferry) = localsendd_and_ferry(daemon(None, false));
    let dir = &localsendd.download_dir;
    let first = random_file(&dir.join("aaa.bin"), 5000).expect("file");
    random_file(&dir.join(format!("{}.bin", "x".repeat(240))), 10).expect("file");
    let out = TestEnv::get().scratch_dir("out-");
    let got = ferry.fetch(&localsendd.host.ip, out.path(), &["--yes"], FETCH_TIMEOUT);
    assert_exit(&got, 1, "404", "a name localsendd cuts");
    assert_eq!(
        files_in(out.path()),
        vec![("aaa.bin".to_owned(), 5000)],
        "{got}"
    );
    assert_copy(&first, out.path(), "aaa.bin", "fetched before the 404");
}

/// A device that shares nothing: a clear failure, not an unsafe name or a local refusal.
#[test]
fn an_empty_localsendd_share_is_not_called_an_unsafe_name() {
    let (_lan, localsendd, ferry) = localsendd_and_ferry(daemon(None, false));
    let out = TestEnv::get().scratch_dir("out-");
    let got = ferry.fetch(&localsendd.host.ip, out.path(), &["--yes"], FETCH_TIMEOUT);
    assert_exit(&got, 1, "shares nothing", "an empty share");
    assert!(!got.all_output().contains("unsafe name"), "{got}");
    assert_eq!(files_in(out.path()), vec![], "{got}");
}

/// A fetch refused for its PIN names the other device, not "the receiver".
#[test]
fn a_pin_refusal_of_a_fetch_names_the_sharing_device() {
    let (_lan, localsendd, ferry) = localsendd_and_ferry(daemon(Some("4321"), false));
    localsendd_shares(&localsendd);
    let out = TestEnv::get().scratch_dir("out-");
    let got = ferry.fetch(&localsendd.host.ip, out.path(), &["--yes"], FETCH_TIMEOUT);
    assert_exit(&got, 3, "PIN", "missing PIN");
    assert!(!got.stderr_text().contains("receiver"), "{got}");
}

/// localsendd with `--no-encryption` serves plain HTTP: ferry refuses it (exit 5, naming
/// `--http`) and lands nothing, and fetches it with `--http`.
#[test]
fn a_plain_http_localsendd_share_needs_ferry_http() {
    let (_lan, localsendd, ferry) = localsendd_and_ferry(daemon(None, true));
    let want = localsendd_shares(&localsendd);
    let env = TestEnv::get();
    let ip = localsendd.host.ip.clone();
    let refused = env.scratch_dir("refused-");
    let got = ferry.fetch(&ip, refused.path(), &["--yes"], FETCH_TIMEOUT);
    assert_exit(&got, 5, "--http", "plain HTTP without --http");
    assert!(got.stderr_text().contains("plain HTTP"), "{got}");
    assert_eq!(files_in(refused.path()), vec![], "{got}");
    let out = env.scratch_dir("out-");
    let got = ferry.fetch(&ip, out.path(), &["--yes", "--http"], FETCH_TIMEOUT);
    assert_eq!(exit_code(&got), Some(0), "{got}\n{}", localsendd.log());
    assert_same_tree(&want, &tree_of(out.path()), &got.to_string());
}
