//! A `ferry` to talk to while it runs: its output is watched as it comes (so a
//! test acts on an event — a prompt shown, a code printed — never on a sleep),
//! bytes go to its standard input, and it can be interrupted. Optionally under
//! a pseudo-terminal (util-linux `script`), where a Ctrl-C byte on its input is
//! what a person's Ctrl-C is: a key for a raw-mode prompt, SIGINT otherwise.

use std::path::Path;
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use super::{ferry_bin, TestServer, RUN, WAIT};

/// The byte a terminal sends for Ctrl-C.
pub const CTRL_C: &[u8] = b"\x03";

/// A running `ferry` with its output watched.
pub struct Interactive {
    child: Child,
    stdin: Option<ChildStdin>,
    chunks: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Everything printed so far, stdout and stderr interleaved as they came.
    pub seen: String,
}

impl Interactive {
    /// `ferry SUBCOMMAND --server … --relay … --hide-progress ARGS…` against
    /// `server`, with `env` added; under a pseudo-terminal when `pty`.
    pub fn start(
        server: &TestServer,
        subcommand: &str,
        args: &[&str],
        env: &[(&str, &str)],
        pty: bool,
    ) -> Interactive {
        Interactive::launch(server, subcommand, args, env, pty, None)
    }

    /// [`Interactive::start`] under a pseudo-terminal, in `cwd`: what a person
    /// at a terminal in that directory sees.
    pub fn at_terminal_in(
        cwd: &Path,
        server: &TestServer,
        subcommand: &str,
        args: &[&str],
    ) -> Interactive {
        Interactive::launch(server, subcommand, args, &[], true, Some(cwd))
    }

    fn launch(
        server: &TestServer,
        subcommand: &str,
        args: &[&str],
        env: &[(&str, &str)],
        pty: bool,
        cwd: Option<&Path>,
    ) -> Interactive {
        let mut words = vec![ferry_bin::path().to_string_lossy().into_owned()];
        words.push(subcommand.to_owned());
        let (url, relay) = (server.url(), server.relay());
        words.extend(["--server", &url, "--relay", &relay, "--hide-progress"].map(String::from));
        words.extend(args.iter().map(|a| a.to_string()));
        let mut cmd = match pty {
            true => {
                let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
                let mut c = Command::new("script");
                c.args(["-qec", &quoted.join(" "), "/dev/null"]);
                c
            }
            false => {
                let mut c = Command::new(&words[0]);
                c.args(&words[1..]);
                c
            }
        };
        ferry_bin::hermetic(&mut cmd);
        cmd.envs(env.iter().copied()).stdin(Stdio::piped());
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("ferry starts");
        let (tx, chunks) = mpsc::unbounded_channel();
        forward(child.stdout.take(), tx.clone());
        forward(child.stderr.take(), tx);
        Interactive {
            stdin: child.stdin.take(),
            child,
            chunks,
            seen: String::new(),
        }
    }

    /// Waits (at most [`WAIT`]) until the output contains `needle`.
    pub async fn wait_for(&mut self, needle: &str) {
        let waiting = async {
            while !self.seen.contains(needle) {
                match self.chunks.recv().await {
                    Some(chunk) => self.seen.push_str(&String::from_utf8_lossy(&chunk)),
                    None => return false,
                }
            }
            true
        };
        let found = tokio::time::timeout(WAIT, waiting).await;
        assert!(
            matches!(found, Ok(true)),
            "ferry never printed {needle:?}; it said:\n{}",
            self.seen
        );
    }

    /// Types `bytes` on its standard input (the terminal, under a pty).
    pub async fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).await.expect("write to ferry");
        stdin.flush().await.expect("flush to ferry");
    }

    /// Closes its standard input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// SIGINT, as `kill -INT` sends it (not under a pty: that is `script`).
    pub fn interrupt(&self) {
        crate::ferry_bin::interrupt(&self.child);
    }

    /// `kill -NAME` (`TERM`, `HUP`).
    pub fn signal(&self, name: &str) {
        crate::ferry_bin::signal(&self.child, name);
    }

    /// Waits for the exit (at most [`RUN`]); the status and all it printed.
    pub async fn finish(mut self) -> (ExitStatus, String) {
        let status = match tokio::time::timeout(RUN, self.child.wait()).await {
            Ok(status) => status.expect("exit status"),
            Err(_) => {
                let _ = self.child.kill().await;
                panic!("ferry did not finish in {RUN:?}; it said:\n{}", self.seen);
            }
        };
        while let Some(chunk) = self.chunks.recv().await {
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        (status, self.seen)
    }
}

fn forward(
    pipe: Option<impl AsyncRead + Unpin + Send + 'static>,
    tx: mpsc::UnboundedSender<Vec<u8>>,
) {
    let Some(mut pipe) = pipe else { return };
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A text transfer between `sender` and `receiver` that must succeed: both
/// exit 0 and the receiver shows `text`.
pub async fn delivered(mut sender: Interactive, receiver: Interactive, text: &str) {
    sender.wait_for("Wormhole code is").await;
    let (status, said) = receiver.finish().await;
    assert!(status.success(), "receiver: {said}");
    assert!(said.contains(text), "receiver: {said}");
    let (status, said) = sender.finish().await;
    assert!(status.success(), "sender: {said}");
}
