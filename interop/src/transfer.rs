//! One transfer between two peers: start the sender, wait until it shows its code, start
//! the receiver, wait for both (bounded), and keep everything a failure report needs.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::code::Code;
use crate::env::TestEnv;
use crate::peer::{Options, Payload, Peer};
use crate::process::{finish_pair, Outcome, Running};

/// Bounds for ordinary transfers (a few MiB at most).
pub const NORMAL_TIMEOUT: Duration = Duration::from_secs(90);
/// Bound for the > 4 GiB transfers, which run several at a time on two cores.
pub const HUGE_TIMEOUT: Duration = Duration::from_secs(900);
/// How long a sender may take to print its code.
const CODE_TIMEOUT: Duration = Duration::from_secs(30);
/// Once one side has exited, how long the other may still take. Generous enough for the
/// sender to read the final ack and close its mailbox; short enough that a peer left
/// waiting for a partner that died fails the test quickly.
const GRACE: Duration = Duration::from_secs(20);

/// What to run.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub sender: Peer,
    pub receiver: Peer,
    pub payload: Payload,
    pub options: Options,
    /// The receiver types a different code (same nameplate, other words).
    pub wrong_code: bool,
    pub timeout: Duration,
    /// Other servers than the test network's (e.g. a `ferry serve` over TLS).
    pub env: Option<TestEnv>,
    /// Variables set for both sides (e.g. `SSL_CERT_FILE`).
    pub vars: Vec<(String, String)>,
}

/// What happened.
pub struct TransferRun {
    pub transfer: Transfer,
    pub code: String,
    pub receiver_code: String,
    pub sender: Outcome,
    pub receiver: Outcome,
    /// The receiver's output directory (and working directory).
    pub out_dir: TempDir,
}

impl Transfer {
    pub fn new(sender: Peer, receiver: Peer, payload: Payload) -> Transfer {
        Transfer {
            sender,
            receiver,
            payload,
            options: Options::default(),
            wrong_code: false,
            timeout: NORMAL_TIMEOUT,
            env: None,
            vars: Vec::new(),
        }
    }

    /// Runs against the servers of `env` instead of the test network's.
    pub fn on(mut self, env: TestEnv) -> Transfer {
        self.env = Some(env);
        self
    }

    /// Sets `key=value` in both sides' environment.
    pub fn var(mut self, key: &str, value: &str) -> Transfer {
        self.vars.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn force_relay(mut self) -> Transfer {
        self.options.force_relay = true;
        self
    }

    pub fn wrong_code(mut self) -> Transfer {
        self.wrong_code = true;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Transfer {
        self.timeout = timeout;
        self
    }

    /// Runs the transfer in the test network described by `TestEnv::get()`, into a fresh
    /// output directory.
    pub fn run(self) -> TransferRun {
        let out_dir = TestEnv::get().scratch_dir("out.");
        self.run_into(out_dir)
    }

    /// Runs the transfer into `out_dir`, which may already hold files.
    pub fn run_into(self, out_dir: TempDir) -> TransferRun {
        let deadline = Instant::now() + self.timeout;
        match self.start_into(out_dir) {
            Err(run) => *run,
            Ok(started) => {
                let (sender, receiver) =
                    finish_pair(started.sender, started.receiver, deadline, GRACE);
                TransferRun::new(
                    started.transfer,
                    started.code,
                    started.receiver_code,
                    sender,
                    receiver,
                    started.out_dir,
                )
            }
        }
    }

    /// The receiver asks before accepting, and its stdin stays open for the test to answer
    /// (or not): see [`Options::ask`](crate::peer::Options::ask).
    pub fn ask(mut self) -> Transfer {
        self.options.ask = true;
        self
    }

    /// Starts the transfer into a fresh output directory and returns with both sides
    /// running, for a test that acts on them midway (answers a prompt, interrupts one side).
    /// `Err` is the report of a side that did not start, or of a sender that showed no code.
    pub fn start(self) -> Result<Started, Box<TransferRun>> {
        let out_dir = TestEnv::get().scratch_dir("out.");
        self.start_into(out_dir)
    }

    fn start_into(self, out_dir: TempDir) -> Result<Started, Box<TransferRun>> {
        let env = self.env.as_ref().unwrap_or_else(|| TestEnv::get());
        let code = Code::reserve(&env.state_dir);
        let receiver_code = if self.wrong_code {
            code.mistyped()
        } else {
            code.clone()
        };
        let (code, receiver_code) = (code.to_string(), receiver_code.to_string());
        let mut send = self.sender.sender(env, &code, &self.payload, self.options);
        let mut recv = self
            .receiver
            .receiver(env, &receiver_code, out_dir.path(), self.options);
        for (key, value) in &self.vars {
            send.env(key, value);
            recv.env(key, value);
        }

        let (sender, receiver) = match Running::spawn(&send) {
            Err(e) => (
                Outcome::not_started(&send, format!("cannot start: {e}")),
                Outcome::not_started(&recv, "not started: the sender did not start".into()),
            ),
            Ok(mut sender) => match sender.wait_for_output(&code, CODE_TIMEOUT) {
                Err(why) => (
                    sender.into_outcome(),
                    Outcome::not_started(&recv, format!("not started: {why}")),
                ),
                Ok(()) => match Running::spawn(&recv) {
                    Err(e) => (
                        sender.finish(Instant::now() + GRACE),
                        Outcome::not_started(&recv, format!("cannot start: {e}")),
                    ),
                    Ok(receiver) => {
                        return Ok(Started {
                            transfer: self,
                            code,
                            receiver_code,
                            sender,
                            receiver,
                            out_dir,
                        })
                    }
                },
            },
        };
        let run = TransferRun::new(self, code, receiver_code, sender, receiver, out_dir);
        Err(Box::new(run))
    }
}

/// A transfer under way: both sides running. [`Started::end`] makes the report.
pub struct Started {
    pub transfer: Transfer,
    pub code: String,
    pub receiver_code: String,
    pub sender: Running,
    pub receiver: Running,
    pub out_dir: TempDir,
}

impl Started {
    /// Collects both outcomes now, killing (by PID) a side still running, whose outcome then
    /// has no exit status.
    pub fn end(self) -> TransferRun {
        TransferRun::new(
            self.transfer,
            self.code,
            self.receiver_code,
            self.sender.into_outcome(),
            self.receiver.into_outcome(),
            self.out_dir,
        )
    }
}

impl TransferRun {
    fn new(
        transfer: Transfer,
        code: String,
        receiver_code: String,
        sender: Outcome,
        receiver: Outcome,
        out_dir: TempDir,
    ) -> TransferRun {
        let run = TransferRun {
            transfer,
            code,
            receiver_code,
            sender,
            receiver,
            out_dir,
        };
        // Passing tests print nothing; this shows what the peers said anyway.
        if std::env::var_os("FERRY_INTEROP_VERBOSE").is_some() {
            eprintln!("{run}");
        }
        run
    }

    pub fn out_path(&self) -> &Path {
        self.out_dir.path()
    }

    /// Names in the receiver's output directory, sorted.
    pub fn output_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.out_path())
            .unwrap_or_else(|e| panic!("listing {}: {e}\n{self}", self.out_path().display()))
            .map(|e| {
                let entry = e.expect("reading a directory entry");
                entry.file_name().to_string_lossy().into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Panics with the full report unless `ok`.
    pub fn check(&self, ok: bool, what: &str) {
        assert!(ok, "{what}\n{self}");
    }

    /// Both sides exited with status 0.
    pub fn assert_success(&self) {
        self.check(
            self.sender.succeeded() && self.receiver.succeeded(),
            "expected both sides to exit with status 0",
        );
    }

    /// The receiver's output directory holds exactly `names`.
    pub fn assert_output_names(&self, names: &[&str]) {
        let got = self.output_names();
        self.check(
            got == names,
            &format!("output directory holds {got:?}, expected {names:?}"),
        );
    }

    /// The side played by `peer` (sender or receiver).
    pub fn side(&self, peer: Peer) -> Vec<&Outcome> {
        let mut sides = Vec::new();
        if self.transfer.sender == peer {
            sides.push(&self.sender);
        }
        if self.transfer.receiver == peer {
            sides.push(&self.receiver);
        }
        sides
    }
}

impl fmt::Display for TransferRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.transfer;
        writeln!(
            f,
            "═══ {} → {} (code {}, receiver typed {}, force_relay {}, ask {}, timeout {:?}) ═══",
            t.sender,
            t.receiver,
            self.code,
            self.receiver_code,
            t.options.force_relay,
            t.options.ask,
            t.timeout
        )?;
        write!(f, "{}{}", self.sender, self.receiver)?;
        writeln!(f, "── output directory {}", self.out_path().display())
    }
}
