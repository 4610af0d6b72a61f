//! The command line as users and scripts meet it: options before the
//! subcommand, the line the sender asks the other person to run, the client
//! config file and its precedence, `-q`, completions and the man page, `--qr`
//! (of the wormhole-transfer: URI, or of the browser link),
//! and colour only where a person reads it. Every transfer runs the real
//! `ferry` binary against an in-process server on loopback.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::path::Path;
use std::time::Duration;

use ferry_test_support::ferry_bin::pty_available;
use ferry_test_support::{fresh_code, Ferry, Finished, Sandbox, TestServer};

/// A mailbox URL where nothing listens: a setting that must lose.
const DEAD_SERVER: &str = "ws://127.0.0.1:9/v1";

/// Runs both sides to the end.
async fn both(sender: &mut Ferry, receiver: &mut Ferry) -> (Finished, Finished) {
    let (s, r) = (sender.spawn(), receiver.spawn());
    (s.finish().await, r.finish().await)
}

/// Exit 2 (bad usage) with a message naming each of `words`.
fn assert_usage_error(done: &Finished, words: &[&str]) {
    assert_eq!(done.code(), Some(2), "{}", done.stderr);
    done.assert_failed_with(words);
}

/// [`both`], which must both succeed.
async fn succeed(sender: &mut Ferry, receiver: &mut Ferry) -> (Finished, Finished) {
    let (sent, got) = both(sender, receiver).await;
    sent.assert_success();
    got.assert_success();
    (sent, got)
}

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let file = dir.join("ferry").join("config.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, text).unwrap();
    file
}

// ---- options before the subcommand ----

#[tokio::test(flavor = "multi_thread")]
async fn options_before_the_subcommand_work_for_send_and_receive() {
    let server = TestServer::start().await;
    let (url, relay, code) = (server.url(), server.relay(), fresh_code());
    let before = [
        "--server",
        &url,
        "--relay",
        &relay,
        "--app-id",
        "test/before",
    ];
    let (_, got) = succeed(
        Ferry::bare()
            .args(before)
            .args(["send", "--code", &code, "--text", "hello"]),
        Ferry::bare()
            .args(before)
            .args(["receive", "--yes", "--listen", "127.0.0.1", &code]),
    )
    .await;
    assert_eq!(got.stdout, "hello\n");
}

/// After the subcommand beats before it, and a flag before it beats the environment.
#[tokio::test(flavor = "multi_thread")]
async fn after_beats_before_and_before_beats_the_environment() {
    let server = TestServer::start().await;
    let (url, code) = (server.url(), fresh_code());
    let (_, got) = succeed(
        Ferry::bare()
            .env("FERRY_SERVER", DEAD_SERVER)
            .args(["--server", &url, "send", "--code", &code, "--text", "hi"]),
        Ferry::bare().args([
            "--server",
            DEAD_SERVER,
            "receive",
            "--server",
            &url,
            "--yes",
            &code,
        ]),
    )
    .await;
    assert_eq!(got.stdout, "hi\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_no_transfer_options() {
    let help = Ferry::bare()
        .args(["serve", "--help"])
        .spawn()
        .finish()
        .await;
    help.assert_success();
    for flag in ["--server <", "--app-id", "--quiet", "--force-relay"] {
        assert!(!help.stdout.contains(flag), "{flag} in:\n{}", help.stdout);
    }
    let before = Ferry::bare()
        .args(["--server", DEAD_SERVER, "serve", "--database", ":memory:"])
        .spawn()
        .finish()
        .await;
    assert_usage_error(&before, &["send and receive"]);
}

/// A SQLite file serves one `ferry serve`: a second one on it is refused at
/// start, said once and naming the first, which goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_serve_on_one_sqlite_file_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");
    let (db, any) = (db.to_str().unwrap(), "127.0.0.1:0");
    let args = ["serve", "--database", db, "--mailbox-listen", any];
    let more = ["--relay-listen", any, "--no-relay-ws", "--no-web"];
    let first = Ferry::bare().args(args).args(more).spawn();
    let pid = first.child.id().unwrap().to_string();
    // The first has the file once its lock file names it.
    let lock = dir.path().join("serve.sqlite-lock");
    for _ in 0..1000 {
        if std::fs::read_to_string(&lock).is_ok_and(|t| t.trim() == pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = Ferry::bare().args(args).args(more).spawn().finish().await;
    second.assert_failed_with(&[
        "serve.sqlite is in use by another ferry serve",
        &format!("(process {pid})"),
        "--database postgres://",
    ]);
    assert_eq!(
        second.stderr.matches("in use").count(),
        1,
        "{}",
        second.stderr
    );
    // Ctrl-C stops the first, however early it comes.
    ferry_test_support::ferry_bin::interrupt(&first.child);
    let first = first.finish().await;
    assert_eq!(first.code(), Some(130), "{}", first.stderr);
    assert!(
        first.stderr.contains("ferry: interrupted"),
        "{}",
        first.stderr
    );
}

/// A period of 0 (which would panic a timer) or a limit of 0 (a server that
/// refuses everyone) is bad usage, said before anything starts.
#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_zero_periods_and_limits() {
    for (flag, value) in [
        ("--expiry-check", "0"),
        ("--ping-interval", "nan"),
        ("--mailbox-expiry", "inf"),
        ("--max-connections-per-ip", "0"),
        ("--blur-usage", "0"),
    ] {
        let done = Ferry::bare()
            .args(["serve", "--database", ":memory:", flag, value])
            .spawn()
            .finish()
            .await;
        assert_eq!(done.code(), Some(2), "{flag} {value}: {}", done.stderr);
        assert!(
            done.stderr.contains(flag),
            "{flag} {value}: {}",
            done.stderr
        );
    }
}

/// A server with every listener off would sit there serving nothing.
#[tokio::test(flavor = "multi_thread")]
async fn serve_with_nothing_to_serve_is_refused() {
    let done = Ferry::bare()
        .args([
            "serve",
            "--database",
            ":memory:",
            "--no-mailbox",
            "--no-relay",
        ])
        .spawn()
        .finish()
        .await;
    done.assert_failed_with(&["nothing to serve", "mailbox", "relays are off"]);
}

/// Ctrl-C while `ferry serve` is still starting (here: waiting for a database
/// that accepts the connection and never answers) stops it.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_serve_starts_stops_it() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("postgres://ferry@{}/ferry", silent.local_addr().unwrap());
    let serve = Ferry::bare()
        .args([
            "serve",
            "--database",
            &url,
            "--mailbox-listen",
            "127.0.0.1:0",
        ])
        .args(["--relay-listen", "127.0.0.1:0", "--no-relay-ws", "--no-web"])
        .spawn();
    // It is starting once it has dialled the database.
    let (_held, _) = tokio::time::timeout(Duration::from_secs(30), silent.accept())
        .await
        .expect("ferry serve dials the database")
        .unwrap();
    ferry_test_support::ferry_bin::interrupt(&serve.child);
    let done = serve.finish_within(Duration::from_secs(10)).await;
    assert_eq!(done.code(), Some(130), "{}", done.stderr);
    assert!(
        done.stderr.contains("ferry: interrupted"),
        "{}",
        done.stderr
    );
}

// ---- the line the sender asks the other side to run ----

/// The printed line carries every setting the receiver needs, on one line
/// with the code, and running exactly that line receives the text.
#[tokio::test(flavor = "multi_thread")]
async fn the_run_line_carries_server_relay_and_app_id_and_works() {
    let server = TestServer::start().await;
    let (url, relay, code) = (server.url(), server.relay(), fresh_code());
    let line = format!("ferry receive --server {url} --relay {relay} --app-id 'test app' {code}");
    let (sent, got) = succeed(
        Ferry::bare().args([
            "send", "--server", &url, "--relay", &relay, "--app-id", "test app", "--code", &code,
            "--text", "hi",
        ]),
        // The printed words, as a shell would split them, then --yes.
        Ferry::bare()
            .args(["receive", "--server", &url, "--relay", &relay])
            .args(["--app-id", "test app", &code, "--yes"]),
    )
    .await;
    assert_eq!(got.stdout, "hi\n");
    let lines: Vec<&str> = sent.stderr.lines().map(str::trim).collect();
    assert!(
        lines.contains(&line.as_str()),
        "no {line:?} in:\n{}",
        sent.stderr
    );
    let wormhole = format!(
        "(any wormhole client works too: wormhole --relay-url {url} --transit-helper {relay} --appid 'test app' receive {code})"
    );
    assert!(lines.contains(&wormhole.as_str()), "{}", sent.stderr);
}

// ---- the config file ----

#[tokio::test(flavor = "multi_thread")]
async fn config_file_gives_server_relay_app_id_and_output_dir() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let xdg = sandbox.root.join("xdg");
    let config = format!(
        "server = \"{}\"\nrelay = \"{}\"\napp_id = \"test/config\"\noutput_dir = \"{}\"\n",
        server.url(),
        server.relay(),
        sandbox.out.display()
    );
    write_config(&xdg, &config);
    let file = sandbox.root.join("outside/keep.txt");
    let xdg = xdg.to_str().unwrap();
    let code = fresh_code();
    let (sent, _) = succeed(
        Ferry::bare()
            .env("XDG_CONFIG_HOME", xdg)
            .args(["send", "--code", &code])
            .arg(&file),
        Ferry::bare()
            .env("XDG_CONFIG_HOME", xdg)
            .args(["receive", "--yes", "--listen", "127.0.0.1", &code])
            .cwd(&sandbox.cwd),
    )
    .await;
    assert_eq!(
        std::fs::read(sandbox.out.join("keep.txt")).unwrap(),
        b"precious"
    );
    assert!(!sandbox.cwd.join("keep.txt").exists());
    // The settings came from the file, so the receiver needs them spelled out.
    let app = "--app-id test/config";
    assert!(sent.stderr.contains(app), "{}", sent.stderr);
}

/// FERRY_CONFIG names the file, and the environment beats it (a flag beats
/// the environment: see above).
#[tokio::test(flavor = "multi_thread")]
async fn the_environment_beats_the_file() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (url, code) = (server.url(), fresh_code());
    let live = write_config(&dir.path().join("live"), &format!("server = \"{url}\"\n"));
    let dead = write_config(
        &dir.path().join("dead"),
        &format!("server = \"{DEAD_SERVER}\"\n"),
    );
    let (_, got) = succeed(
        // Only the file names the server.
        Ferry::bare()
            .env("FERRY_CONFIG", live.to_str().unwrap())
            .args(["send", "--code", &code, "--text", "hi"]),
        Ferry::bare()
            .env("FERRY_CONFIG", dead.to_str().unwrap())
            .env("FERRY_SERVER", &url)
            .args(["receive", "--yes", &code]),
    )
    .await;
    assert_eq!(got.stdout, "hi\n");
}

/// A receive that fails before contacting anyone, with `setup` applied.
async fn refused(setup: impl FnOnce(&mut Ferry)) -> Finished {
    let mut f = Ferry::bare();
    setup(&mut f);
    f.args(["receive", "--yes", &fresh_code()])
        .spawn()
        .finish()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn config_file_mistakes_exit_2_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("sever = \"ws://h/v1\"\n", "sever"),
        ("relay = \"nonsense\"\n", "relay"),
        ("app_id = 5\n", "app_id = 5"),
        ("server = \"http://h/v1\"\n", "server"),
    ];
    for (text, key) in cases {
        let file = write_config(dir.path(), text);
        let done = refused(|f| {
            f.arg("--config").arg(&file);
        })
        .await;
        assert_usage_error(&done, &[file.to_str().unwrap(), key]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_file_named_but_missing_is_an_error() {
    let missing = "/nonexistent/ferry.toml";
    let by_flag = refused(|f| {
        f.args(["--config", missing]);
    })
    .await;
    assert_usage_error(&by_flag, &["cannot read config file", missing]);
    let by_env = refused(|f| {
        f.env("FERRY_CONFIG", missing);
    })
    .await;
    assert_usage_error(&by_env, &[missing]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_relay_flag_or_variable_is_bad_usage() {
    let done = refused(|f| {
        f.args(["--relay", "nonsense"]);
    })
    .await;
    assert_usage_error(&done, &["--relay"]);
    let by_env = refused(|f| {
        f.env("FERRY_RELAY", "nonsense");
    })
    .await;
    assert_usage_error(&by_env, &["bad FERRY_RELAY"]);
}

// ---- -q ----

#[tokio::test(flavor = "multi_thread")]
async fn quiet_prints_only_the_code_line_and_errors() {
    let server = TestServer::start().await;
    let (url, relay, code) = (server.url(), server.relay(), fresh_code());
    let (sent, got) = succeed(
        Ferry::bare().args([
            "-q", "send", "--server", &url, "--relay", &relay, "--code", &code, "--text", "hi",
        ]),
        Ferry::bare().args(["receive", "-q", "--server", &url, "--yes", &code]),
    )
    .await;
    let expected = format!(
        "Wormhole code is: {code}\nOn the other computer, run: ferry receive --server {url} --relay {relay} {code}\n"
    );
    assert_eq!(sent.stderr, expected);
    assert_eq!(got.stderr, "");
    assert_eq!(got.stdout, "hi\n");
}

/// On a terminal: no progress bar and no chatter, but the accept prompt stays.
#[tokio::test(flavor = "multi_thread")]
async fn quiet_on_a_terminal_has_no_bar_but_still_asks() {
    assert!(
        pty_available(),
        "util-linux `script` is needed for the terminal tests"
    );
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let file = sandbox.root.join("big.bin");
    std::fs::write(&file, vec![7u8; 4 << 20]).unwrap();
    let (url, relay, code) = (server.url(), server.relay(), fresh_code());
    let send = |code: &str| {
        let mut f = Ferry::bare();
        f.args([
            "send", "-q", "--server", &url, "--relay", &relay, "--code", code,
        ])
        .arg(&file);
        f.under_pty()
    };
    let receive = |code: &str, yes: bool| {
        let mut f = Ferry::bare();
        f.args([
            "receive",
            "-q",
            "--server",
            &url,
            "--listen",
            "127.0.0.1",
            "-o",
        ])
        .arg(&sandbox.out)
        .arg(code);
        if yes {
            f.arg("--yes");
        }
        f.under_pty()
    };
    let (sent, got) = succeed(&mut send(&code), &mut receive(&code, true)).await;
    for out in [&sent.stdout, &got.stdout] {
        assert!(
            !out.contains("ETA") && !out.contains("Connected"),
            "{out:?}"
        );
    }
    assert!(
        !sent.stdout.contains("Transfer complete"),
        "{:?}",
        sent.stdout
    );
    assert!(!got.stdout.contains("Received"), "{:?}", got.stdout);

    std::fs::remove_file(sandbox.out.join("big.bin")).unwrap();
    let code = self::fresh_code();
    // No answer on the terminal: the prompt is shown, and the offer declined.
    let (_, asked) = both(&mut send(&code), &mut receive(&code, false)).await;
    assert!(asked.stdout.contains("Accept? [y/N]"), "{:?}", asked.stdout);
    assert!(
        asked.stdout.contains("Receiving file big.bin"),
        "{:?}",
        asked.stdout
    );
}

// ---- completions and the man page ----

#[tokio::test(flavor = "multi_thread")]
async fn completions_for_each_shell_and_a_man_page() {
    let bash = Ferry::bare()
        .args(["completions", "bash"])
        .spawn()
        .finish()
        .await;
    bash.assert_success();
    for word in [
        "send",
        "receive",
        "--server",
        "--relay",
        "--qr",
        "--output-dir",
    ] {
        assert!(bash.stdout.contains(word), "bash script lacks {word}");
    }
    for (shell, server) in [("zsh", "--server"), ("fish", "-l server")] {
        let done = Ferry::bare()
            .args(["completions", shell])
            .spawn()
            .finish()
            .await;
        done.assert_success();
        assert!(
            done.stdout.contains(server),
            "{shell} script lacks {server}"
        );
    }
    let bad = Ferry::bare()
        .args(["completions", "tcsh"])
        .spawn()
        .finish()
        .await;
    assert_eq!(bad.code(), Some(2));

    let man = Ferry::bare().arg("man").spawn().finish().await;
    man.assert_success();
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH ferry"),
        "not roff"
    );
    for flag in [
        r"\-\-server",
        r"\-\-app\-id",
        r"\-\-qr",
        r"\-\-output\-dir",
        r"\-\-quiet",
    ] {
        assert!(man.stdout.contains(flag), "man page lacks {flag}");
    }
    assert!(man.stdout.contains("FERRY SEND OPTIONS"));
}

// ---- --qr ----

/// Reads a drawing back into module rows (true = light), quiet zone included.
fn undraw(lines: &[&str]) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for line in lines {
        let (top, bottom): (Vec<bool>, Vec<bool>) = line
            .chars()
            .map(|c| match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("{other:?} in a QR line"),
            })
            .unzip();
        rows.push(top);
        rows.push(bottom);
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_draws_the_wormhole_transfer_uri_with_blocks() {
    let server = TestServer::start().await;
    let (url, code) = (server.url(), fresh_code());
    let (sent, _) = succeed(
        Ferry::bare().args([
            "send", "--qr", "--server", &url, "--code", &code, "--text", "hi",
        ]),
        Ferry::bare().args(["receive", "--server", &url, "--yes", &code]),
    )
    .await;
    assert!(!sent.raw_stderr.contains(&0x1b), "ESC in {:?}", sent.stderr);
    // The scheme names the server without its /v1.
    let port = url
        .trim_start_matches("ws://127.0.0.1:")
        .trim_end_matches("/v1");
    let uri =
        format!("wormhole-transfer:{code}?version=0&rendezvous=ws%3A%2F%2F127.0.0.1%3A{port}");
    assert!(
        sent.stderr.lines().any(|l| l == uri),
        "no {uri} in:\n{}",
        sent.stderr
    );

    assert_draws(&sent.stderr, &uri);
}

/// `stderr` holds a drawing of the QR code of `data`, quiet zone included.
fn assert_draws(stderr: &str, data: &str) {
    let drawn: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| "█▀▄ ".contains(c)))
        .collect();
    let rows = undraw(&drawn);
    let qr = qrcode::QrCode::new(data.as_bytes()).unwrap();
    let (width, quiet) = (qr.width(), 4);
    assert_eq!(drawn[0].chars().count(), width + 2 * quiet);
    assert!(
        rows[..quiet].iter().flatten().all(|&light| light),
        "quiet zone"
    );
    let colors = qr.to_colors();
    for y in 0..width {
        for x in 0..width {
            let light = colors[y * width + x] == qrcode::Color::Light;
            assert_eq!(rows[y + quiet][x + quiet], light, "module ({x}, {y})");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_draws_the_browser_link_when_one_is_known() {
    let server = TestServer::start().await;
    let (url, code) = (server.url(), fresh_code());
    let page = "http://192.0.2.7:4000/";
    let (sent, _) = succeed(
        Ferry::bare().args([
            "send",
            "--qr",
            "--web-url",
            page,
            "--server",
            &url,
            "--code",
            &code,
            "--text",
            "hi",
        ]),
        Ferry::bare().args(["receive", "--server", &url, "--yes", &code]),
    )
    .await;
    let link = format!("{page}#{code}");
    assert!(
        sent.stderr
            .contains(&format!("Or open in a browser: {link}\n")),
        "{}",
        sent.stderr
    );
    assert!(sent.stderr.lines().any(|l| l == link), "{}", sent.stderr);
    assert!(
        !sent.stderr.contains("wormhole-transfer:"),
        "{}",
        sent.stderr
    );
    assert_draws(&sent.stderr, &link);
}

// ---- colour ----

/// A text transfer whose receiver logs every mailbox frame (-vvv); `pty` runs
/// it on a terminal, `no_color` sets NO_COLOR=1. Returns the receiver.
async fn logged_receive(pty: bool, no_color: bool) -> Finished {
    let server = TestServer::start().await;
    let code = fresh_code();
    let mut receiver = Ferry::new(&server, "receive");
    receiver.args(["-vvv", "--yes", &code]);
    if no_color {
        receiver.env("NO_COLOR", "1");
    }
    let mut receiver = if pty { receiver.under_pty() } else { receiver };
    let mut sender = Ferry::new(&server, "send");
    sender.args(["--code", &code, "--text", "hi"]);
    let (_, got) = succeed(&mut sender, &mut receiver).await;
    got
}

fn has_sgr(text: &str) -> bool {
    text.split("\u{1b}[").skip(1).any(|rest| {
        let end = rest.find(|c: char| !c.is_ascii_digit() && c != ';');
        end.is_some_and(|i| rest[i..].starts_with('m'))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_into_a_pipe_have_no_colour() {
    let done = logged_receive(false, false).await;
    assert!(done.stderr.contains("TRACE"), "{}", done.stderr);
    assert!(!done.raw_stderr.contains(&0x1b), "ESC in {:?}", done.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_color_is_honoured_on_a_terminal() {
    assert!(
        pty_available(),
        "util-linux `script` is needed for the terminal tests"
    );
    let coloured = logged_receive(true, false).await;
    let shown = &coloured.stdout;
    assert!(has_sgr(shown), "no colour on a terminal: {shown:?}");
    let plain = logged_receive(true, true).await;
    let shown = &plain.stdout;
    assert!(shown.contains("TRACE"), "{shown:?}");
    assert!(!has_sgr(shown), "colour despite NO_COLOR: {shown:?}");
}

/// The progress bar on a terminal keeps its shape but drops its colours.
#[tokio::test(flavor = "multi_thread")]
async fn no_color_bar_has_no_colour() {
    assert!(
        pty_available(),
        "util-linux `script` is needed for the terminal tests"
    );
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let file = sandbox.root.join("big.bin");
    std::fs::write(&file, vec![7u8; 4 << 20]).unwrap();
    let (url, relay, code) = (server.url(), server.relay(), fresh_code());
    let mut sender = Ferry::bare();
    sender
        .env("NO_COLOR", "1")
        .args(["send", "--server", &url, "--relay", &relay, "--code", &code])
        .arg(&file);
    let (sent, _) = succeed(
        &mut sender.under_pty(),
        &mut Ferry::receive(&server, &code, &sandbox.out, &sandbox.cwd),
    )
    .await;
    assert!(sent.stdout.contains("ETA"), "no bar: {:?}", sent.stdout);
    assert!(
        !has_sgr(&sent.stdout),
        "colour despite NO_COLOR: {:?}",
        sent.stdout
    );
}
