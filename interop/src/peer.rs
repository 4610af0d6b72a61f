//! The four programs under test and how to drive each as a sender or a receiver.
//!
//! The flags come from each peer's own `--help` (see `interop/README.md` for the quirks).
//! Every invocation names its servers with flags, never through the environment: the
//! variable `WORMHOLE_RELAY_URL` means the mailbox to Python but the transit relay to
//! `wormhole-rs`, so the harness removes those variables from every child.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::env::{TestEnv, DIRECT_LISTEN_ADDR};
use crate::process::Invocation;

/// One implementation of the wormhole file-transfer protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// `ferry`, the program under test.
    Ferry,
    /// PyPI `magic-wormhole` (`wormhole`), the reference implementation.
    Python,
    /// Debian `wormhole-william` (Go).
    William,
    /// crates.io `magic-wormhole-cli` (`wormhole-rs`).
    Rust,
}

/// What a sender sends.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A text message (`--text`).
    Text(String),
    /// A file or a directory.
    Path(PathBuf),
}

/// Per-run choices common to both sides.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Use the peer's own way of forcing the transit relay, where it has one.
    pub force_relay: bool,
    /// The receiver asks before accepting (no accept flag, no answer fed) and its stdin
    /// stays open: a test answers with `Running::write_stdin`, or never.
    pub ask: bool,
}

/// Variables that would point a peer at other servers, or change its output.
const SCRUBBED_ENV: [&str; 9] = [
    "WORMHOLE_RELAY_URL",
    "WORMHOLE_TRANSIT_HELPER",
    "WORMHOLE_MAILBOX_URL",
    "WORMHOLE_ACCEPT_FILE",
    "WORMHOLE_QR",
    "FERRY_SERVER",
    "FERRY_RELAY",
    "FERRY_APP_ID",
    "FERRY_APPID",
];

impl Peer {
    /// The peers other than ferry.
    pub const OTHERS: [Peer; 3] = [Peer::Python, Peer::William, Peer::Rust];

    /// Small stable number, used to give each sender/receiver pair its own payload size.
    pub fn index(self) -> usize {
        match self {
            Peer::Ferry => 0,
            Peer::Python => 1,
            Peer::William => 2,
            Peer::Rust => 3,
        }
    }

    /// `wormhole-rs` cannot send or receive text messages (magic-wormhole.rs issue #131).
    pub fn supports_text(self) -> bool {
        self != Peer::Rust
    }

    /// Whether the peer has a flag that keeps it off direct connections. `wormhole-william`
    /// has none; a relay-only transfer with it relies on the other side.
    pub fn can_force_relay(self) -> bool {
        self != Peer::William
    }

    /// The command that sends `payload` with `code`.
    pub fn sender(self, env: &TestEnv, code: &str, payload: &Payload, opts: Options) -> Invocation {
        let cwd = std::env::temp_dir();
        let mut inv = self.base(env, "sender", cwd);
        match self {
            Peer::Ferry => ferry_send(&mut inv, env, code, payload, opts),
            Peer::Python => python_send(&mut inv, env, code, payload, opts),
            Peer::William => william_send(&mut inv, env, code, payload),
            Peer::Rust => rust_send(&mut inv, env, code, payload, opts),
        }
        inv
    }

    /// The command that receives with `code` into `out_dir`, accepting without a prompt
    /// unless `opts.ask`.
    pub fn receiver(self, env: &TestEnv, code: &str, out_dir: &Path, opts: Options) -> Invocation {
        // Python and William write into their working directory; the others get a flag too.
        let mut inv = self.base(env, "receiver", out_dir.to_path_buf());
        if opts.ask {
            inv.keep_stdin_open();
        }
        match self {
            Peer::Ferry => ferry_receive(&mut inv, env, code, out_dir, opts),
            Peer::Python => python_receive(&mut inv, env, code, opts),
            Peer::William => william_receive(&mut inv, env, code, opts),
            Peer::Rust => rust_receive(&mut inv, env, code, out_dir, opts),
        }
        inv
    }

    fn program(self, env: &TestEnv) -> PathBuf {
        match self {
            Peer::Ferry => env.ferry_bin.clone(),
            Peer::Python => env.python_wormhole(),
            Peer::William => env.william_bin.clone(),
            Peer::Rust => env.rust_wormhole(),
        }
    }

    fn base(self, env: &TestEnv, role: &str, cwd: PathBuf) -> Invocation {
        let mut inv = Invocation::new(format!("{self} {role}"), self.program(env), cwd);
        for key in SCRUBBED_ENV {
            inv.env_remove(key);
        }
        // Unbuffered output, so that the code shows up while the sender is still waiting.
        inv.env("PYTHONUNBUFFERED", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .env("NO_COLOR", "1");
        inv
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Peer::Ferry => "ferry",
            Peer::Python => "python",
            Peer::William => "william",
            Peer::Rust => "rust",
        })
    }
}

fn payload_args(inv: &mut Invocation, payload: &Payload) {
    match payload {
        Payload::Text(text) => inv.arg("--text").arg(text),
        Payload::Path(path) => inv.arg(path),
    };
}

// ferry: `ferry send|receive [OPTIONS]`, the contract in the task brief.
fn ferry_common(inv: &mut Invocation, env: &TestEnv, opts: Options) {
    inv.args([
        "--server",
        &env.mailbox,
        "--relay",
        &env.relay,
        "--hide-progress",
    ]);
    if opts.force_relay {
        inv.arg("--force-relay");
    } else {
        inv.args(["--listen", DIRECT_LISTEN_ADDR]);
    }
    inv.env("RUST_BACKTRACE", "1");
    // Sessions a receiver keeps for `--resume` stay with the run, not the user's.
    let sessions = env.state_dir.join("xdg-state");
    inv.env("XDG_STATE_HOME", &sessions.display().to_string());
}

fn ferry_send(inv: &mut Invocation, env: &TestEnv, code: &str, payload: &Payload, o: Options) {
    inv.arg("send");
    ferry_common(inv, env, o);
    inv.args(["--code", code]);
    payload_args(inv, payload);
}

fn ferry_receive(inv: &mut Invocation, env: &TestEnv, code: &str, out: &Path, o: Options) {
    inv.arg("receive");
    ferry_common(inv, env, o);
    if !o.ask {
        inv.arg("--yes");
    }
    inv.arg("--output-dir").arg(out).arg(code);
}

// python: the servers are global options, before the subcommand; `--no-listen` (on the
// subcommand) stops it from listening, so with a relay-only partner only the relay is left.
fn python_global(inv: &mut Invocation, env: &TestEnv, subcommand: &str, opts: Options) {
    inv.args(["--relay-url", &env.mailbox, "--transit-helper", &env.relay]);
    inv.args([subcommand, "--hide-progress"]);
    if opts.force_relay {
        inv.arg("--no-listen");
    }
}

fn python_send(inv: &mut Invocation, env: &TestEnv, code: &str, payload: &Payload, o: Options) {
    python_global(inv, env, "send", o);
    inv.args(["--no-qr", "--code", code]);
    payload_args(inv, payload);
}

fn python_receive(inv: &mut Invocation, env: &TestEnv, code: &str, o: Options) {
    python_global(inv, env, "receive", o);
    if !o.ask {
        inv.arg("--accept-file");
    }
    inv.arg(code);
}

// william: only the mailbox can be chosen; its transit relay is always
// transit.magic-wormhole.io:4001, which run-in-netns.sh maps to 127.0.0.1.
fn william_send(inv: &mut Invocation, env: &TestEnv, code: &str, payload: &Payload) {
    inv.args([
        "--relay-url",
        &env.mailbox,
        "send",
        "--hide-progress",
        "--code",
        code,
    ]);
    payload_args(inv, payload);
}

fn william_receive(inv: &mut Invocation, env: &TestEnv, code: &str, o: Options) {
    inv.args([
        "--relay-url",
        &env.mailbox,
        "receive",
        "--hide-progress",
        code,
    ]);
    // It asks "ok? (y/N):" on stdout before accepting a file or a directory.
    if !o.ask {
        inv.stdin(b"y\n");
    }
}

// wormhole-rs: the servers are options of each subcommand.
fn rust_common(inv: &mut Invocation, env: &TestEnv, subcommand: &str, opts: Options) {
    let args: [OsString; 6] = [
        subcommand.into(),
        "--no-color".into(),
        "--rendezvous-server".into(),
        env.mailbox.clone().into(),
        "--relay-server".into(),
        env.relay_url().into(),
    ];
    inv.args(args);
    if opts.force_relay {
        inv.arg("--force-relay");
    }
    // Its color-eyre reports would otherwise end in a long backtrace.
    inv.env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0");
}

fn rust_send(inv: &mut Invocation, env: &TestEnv, code: &str, payload: &Payload, o: Options) {
    rust_common(inv, env, "send", o);
    inv.args(["--no-qr", "--code", code]);
    match payload {
        Payload::Path(path) => inv.arg(path),
        // There is no text mode: a test that tries gets a clean failure from wormhole-rs.
        Payload::Text(text) => inv.arg("--text").arg(text),
    };
}

fn rust_receive(inv: &mut Invocation, env: &TestEnv, code: &str, out: &Path, o: Options) {
    rust_common(inv, env, "receive", o);
    if !o.ask {
        inv.arg("--noconfirm");
    }
    inv.arg("--out-dir").arg(out).arg(code);
}
