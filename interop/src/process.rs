//! Child processes with captured output and bounded lifetimes.
//!
//! Every peer runs with its stdout and stderr captured (printed when a test fails) and is
//! killed by its PID when it outlives its deadline, so a hung peer fails a test instead of
//! hanging the suite.

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(50);
/// How long to wait for the output readers after the process is gone. A grandchild that
/// inherited the pipes could keep them open forever; we then keep what we have.
const READER_GRACE: Duration = Duration::from_secs(2);

/// A command to run: program, arguments, working directory, environment and stdin bytes
/// (written at once, then the pipe is closed, unless `keep_stdin_open`).
#[derive(Debug, Clone)]
pub struct Invocation {
    pub label: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    pub env_set: Vec<(String, String)>,
    pub env_remove: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    /// Keep stdin open after `stdin` (if any) is written, for [`Running::write_stdin`]: a
    /// program at a prompt then waits for an answer instead of reading end of input.
    pub keep_stdin_open: bool,
}

impl Invocation {
    pub fn new(label: impl Into<String>, program: impl Into<PathBuf>, cwd: PathBuf) -> Self {
        Invocation {
            label: label.into(),
            program: program.into(),
            args: Vec::new(),
            cwd,
            env_set: Vec::new(),
            env_remove: Vec::new(),
            stdin: None,
            keep_stdin_open: false,
        }
    }

    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env_set.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn env_remove(&mut self, key: &str) -> &mut Self {
        self.env_remove.push(key.to_owned());
        self
    }

    pub fn stdin(&mut self, bytes: &[u8]) -> &mut Self {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// Leaves stdin open (and unanswered) until [`Running::write_stdin`] or the end.
    pub fn keep_stdin_open(&mut self) -> &mut Self {
        self.keep_stdin_open = true;
        self
    }

    /// The command line as a shell user would type it (for failure reports).
    pub fn command_line(&self) -> String {
        let mut line = self.program.display().to_string();
        for arg in &self.args {
            line.push(' ');
            line.push_str(&shell_quote(&arg.to_string_lossy()));
        }
        line
    }

    fn to_command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).current_dir(&self.cwd);
        for key in &self.env_remove {
            cmd.env_remove(key);
        }
        for (key, value) in &self.env_set {
            cmd.env(key, value);
        }
        let stdin = if self.stdin.is_some() || self.keep_stdin_open {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        cmd.stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A growing buffer filled by a reader thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn start(mut source: impl Read + Send + 'static) -> (Captured, JoinHandle<()>) {
        let captured = Captured::default();
        let sink = captured.clone();
        let reader = thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = source.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().extend_from_slice(&chunk[..n]);
            }
        });
        (captured, reader)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A reader thread cannot panic while holding the lock, but stay usable anyway.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn snapshot(&self) -> Vec<u8> {
        self.lock().clone()
    }
}

/// A running child process.
pub struct Running {
    invocation: Invocation,
    child: Child,
    /// The open stdin pipe of a `keep_stdin_open` invocation.
    stdin: Option<ChildStdin>,
    stdout: Captured,
    stderr: Captured,
    readers: Vec<JoinHandle<()>>,
    started: Instant,
    status: Option<ExitStatus>,
}

impl Running {
    pub fn spawn(invocation: &Invocation) -> std::io::Result<Running> {
        let mut child = invocation.to_command().spawn()?;
        let mut stdin = child.stdin.take();
        if let (Some(bytes), Some(pipe)) = (&invocation.stdin, stdin.as_mut()) {
            // Small answers ("y\n") fit in the pipe buffer; the pipe closes when dropped.
            if let Err(e) = pipe.write_all(bytes) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
        if !invocation.keep_stdin_open {
            drop(stdin.take());
        }
        let mut readers = Vec::new();
        let (stdout, r) = Captured::start(child.stdout.take().expect("stdout is piped"));
        readers.push(r);
        let (stderr, r) = Captured::start(child.stderr.take().expect("stderr is piped"));
        readers.push(r);
        Ok(Running {
            invocation: invocation.clone(),
            child,
            stdin,
            stdout,
            stderr,
            readers,
            started: Instant::now(),
            status: None,
        })
    }

    pub fn label(&self) -> &str {
        &self.invocation.label
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes `bytes` (a small answer: it must fit in the pipe buffer) to the stdin kept
    /// open by [`Invocation::keep_stdin_open`], and closes it.
    pub fn write_stdin(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.stdin.take() {
            Some(mut pipe) => pipe.write_all(bytes),
            None => Err(std::io::Error::other(format!(
                "{}: stdin is not open (keep_stdin_open, written once)",
                self.label()
            ))),
        }
    }

    /// Sends SIGINT (what Ctrl-C sends) to the process, by its PID, with `kill -INT`.
    /// Refuses once the process has exited (and been reaped), as its PID may be reused.
    pub fn interrupt(&mut self) -> Result<(), String> {
        if self.poll_exit() {
            return Err(format!("{} exited before its SIGINT", self.label()));
        }
        let pid = self.pid().to_string();
        match Command::new("kill").args(["-INT", &pid]).status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("kill -INT {pid} ({}): {status}", self.label())),
            Err(e) => Err(format!(
                "cannot run kill -INT {pid} ({}): {e}",
                self.label()
            )),
        }
    }

    /// Waits up to `timeout` for the process to exit, without killing it; says whether it
    /// did.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.poll_exit() && Instant::now() < deadline {
            thread::sleep(POLL);
        }
        self.status.is_some()
    }

    /// Has the process exited (without blocking)?
    pub fn poll_exit(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status.is_some()
    }

    /// Waits until `needle` appears on stdout or stderr. Fails early if the process exits
    /// first, or when `timeout` passes.
    pub fn wait_for_output(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        self.wait_for(&format!("{needle:?}"), timeout, |run| {
            run.output_contains(needle)
        })
    }

    /// Waits until `found` likes what it printed on stdout so far (a `--json` command's
    /// events), `what` naming that in the error. Fails early if the process exits first, or
    /// when `timeout` passes.
    pub fn wait_for_stdout(
        &mut self,
        what: &str,
        timeout: Duration,
        found: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        self.wait_for(what, timeout, |run| found(&run.stdout_so_far()))
    }

    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        found: impl Fn(&Running) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if found(self) {
                return Ok(());
            }
            if self.poll_exit() {
                // Output may arrive after the exit is noticed: give the readers their grace.
                self.join_readers(Instant::now() + READER_GRACE);
                return match found(self) {
                    true => Ok(()),
                    false => Err(format!("{} exited before printing {what}", self.label())),
                };
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not print {what} within {timeout:?}",
                    self.label()
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// Everything printed so far, stdout then stderr.
    pub fn output_so_far(&self) -> String {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&self.stdout.lock()),
            String::from_utf8_lossy(&self.stderr.lock())
        )
    }

    /// What it printed on stdout so far (a `--json` command's events).
    pub fn stdout_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock()).into_owned()
    }

    /// Its exit status, once [`Running::poll_exit`] or [`Running::wait_exit`] saw it exit.
    pub fn status(&self) -> Option<ExitStatus> {
        self.status
    }

    fn output_contains(&self, needle: &str) -> bool {
        [&self.stdout, &self.stderr]
            .iter()
            .any(|c| String::from_utf8_lossy(&c.lock()).contains(needle))
    }

    /// Kills the process (by its PID, via `Child::kill`) unless it already exited.
    fn kill(&mut self) {
        if !self.poll_exit() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    fn join_readers(&mut self, deadline: Instant) {
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            thread::sleep(POLL);
        }
        for reader in std::mem::take(&mut self.readers) {
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }

    /// Waits for the process to exit until `deadline`, then kills it.
    pub fn finish(mut self, deadline: Instant) -> Outcome {
        self.wait_exit(deadline.saturating_duration_since(Instant::now()));
        self.into_outcome()
    }

    /// Collects the outcome now, killing the process if it is still running.
    pub fn into_outcome(mut self) -> Outcome {
        let timed_out = !self.poll_exit();
        self.kill();
        self.join_readers(Instant::now() + READER_GRACE);
        Outcome {
            label: self.invocation.label.clone(),
            command: self.invocation.command_line(),
            cwd: self.invocation.cwd.clone(),
            status: if timed_out { None } else { self.status },
            stdout: self.stdout.snapshot(),
            stderr: self.stderr.snapshot(),
            elapsed: self.started.elapsed(),
            note: timed_out.then(|| "killed: it did not exit before its deadline".to_owned()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A panicking test must not leave peers behind.
        self.kill();
    }
}

/// What a finished (or killed, or never started) child did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub label: String,
    pub command: String,
    pub cwd: PathBuf,
    /// `None` when the child was killed at its deadline or never started.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
    /// Why `status` is missing, or anything else the harness wants the reader to know.
    pub note: Option<String>,
}

impl Outcome {
    /// A child that never ran: a spawn failure or a step that was skipped.
    pub fn not_started(invocation: &Invocation, why: String) -> Outcome {
        Outcome {
            label: invocation.label.clone(),
            command: invocation.command_line(),
            cwd: invocation.cwd.clone(),
            status: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
            elapsed: Duration::ZERO,
            note: Some(why),
        }
    }

    /// Exited by itself with status 0.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Exited by itself with a non-zero status (or a signal): a clean failure, not a hang.
    pub fn failed_cleanly(&self) -> bool {
        self.status.is_some_and(|s| !s.success())
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Both streams, for "does it say X anywhere" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout_text(), self.stderr_text())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Some(s) => s.to_string(),
            None => "no exit status".to_owned(),
        };
        writeln!(
            f,
            "── {} ── {status} after {:.1?}",
            self.label, self.elapsed
        )?;
        writeln!(f, "   $ (cd {}; {})", self.cwd.display(), self.command)?;
        if let Some(note) = &self.note {
            writeln!(f, "   note: {note}")?;
        }
        write_stream(f, "stdout", &self.stdout)?;
        write_stream(f, "stderr", &self.stderr)
    }
}

/// Writes a captured stream, keeping only its tail when a peer was chatty.
fn write_stream(f: &mut fmt::Formatter<'_>, name: &str, bytes: &[u8]) -> fmt::Result {
    const KEEP: usize = 16 * 1024;
    let text = String::from_utf8_lossy(bytes);
    let (cut, tail) = match text.char_indices().rev().nth(KEEP) {
        Some((i, _)) => (true, &text[i..]),
        None => (false, &text[..]),
    };
    writeln!(
        f,
        "   ── {name} ({} bytes){}",
        bytes.len(),
        if cut { ", tail" } else { "" }
    )?;
    for line in tail.lines() {
        writeln!(f, "   │ {line}")?;
    }
    Ok(())
}

/// Runs the receiver `b` alongside an already-running sender `a` and waits for both.
///
/// Each gets until `deadline`; once one of them has exited, the other gets at most `grace`
/// more, because a peer whose partner is gone can only be waiting for nothing.
pub fn finish_pair(
    mut a: Running,
    mut b: Running,
    deadline: Instant,
    grace: Duration,
) -> (Outcome, Outcome) {
    let mut deadline = deadline;
    let mut grace_started = false;
    loop {
        let (a_done, b_done) = (a.poll_exit(), b.poll_exit());
        if a_done && b_done {
            break;
        }
        if (a_done || b_done) && !grace_started {
            grace_started = true;
            deadline = deadline.min(Instant::now() + grace);
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(POLL);
    }
    (a.into_outcome(), b.into_outcome())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Invocation {
        let mut inv = Invocation::new("sh", "/bin/sh", std::env::temp_dir());
        inv.args(["-c", script]);
        inv
    }

    #[test]
    fn captures_both_streams_and_the_status() {
        let run = Running::spawn(&sh("echo out; echo err >&2; exit 3")).expect("spawn");
        let outcome = run.finish(Instant::now() + Duration::from_secs(10));
        assert_eq!(outcome.stdout_text(), "out\n");
        assert_eq!(outcome.stderr_text(), "err\n");
        assert_eq!(outcome.status.and_then(|s| s.code()), Some(3));
        assert!(outcome.failed_cleanly());
    }

    #[test]
    fn kills_a_child_that_outlives_its_deadline() {
        let run = Running::spawn(&sh("echo started; exec sleep 30")).expect("spawn");
        let outcome = run.finish(Instant::now() + Duration::from_millis(300));
        assert!(outcome.status.is_none(), "{outcome}");
        assert!(!outcome.succeeded() && !outcome.failed_cleanly());
        assert!(outcome.elapsed < Duration::from_secs(10), "{outcome}");
        assert!(outcome.to_string().contains("killed"), "{outcome}");
    }

    #[test]
    fn feeds_stdin_and_waits_for_output() {
        let mut run =
            Running::spawn(sh("read x; echo got-$x; sleep 0.2").stdin(b"y\n")).expect("spawn");
        run.wait_for_output("got-y", Duration::from_secs(10))
            .expect("output");
        assert!(run
            .finish(Instant::now() + Duration::from_secs(10))
            .succeeded());
    }

    #[test]
    fn keeps_stdin_open_until_written() {
        let mut inv = sh("echo asking; read x; echo got-$x");
        inv.keep_stdin_open();
        let mut run = Running::spawn(&inv).expect("spawn");
        run.wait_for_output("asking", Duration::from_secs(10))
            .expect("output");
        // Still waiting for its answer: end of input would have ended it at once.
        assert!(!run.wait_exit(Duration::from_millis(300)));
        run.write_stdin(b"y\n").expect("answer");
        let outcome = run.finish(Instant::now() + Duration::from_secs(10));
        assert!(outcome.succeeded(), "{outcome}");
        assert_eq!(outcome.stdout_text(), "asking\ngot-y\n");
    }

    #[test]
    fn interrupts_by_pid() {
        let mut run = Running::spawn(&sh(
            "trap 'echo got-int; exit 130' INT; echo ready; while :; do sleep 0.1; done",
        ))
        .expect("spawn");
        run.wait_for_output("ready", Duration::from_secs(10))
            .expect("output");
        run.interrupt().expect("kill -INT");
        assert!(run.wait_exit(Duration::from_secs(10)));
        let outcome = run.into_outcome();
        assert_eq!(
            outcome.status.and_then(|s| s.code()),
            Some(130),
            "{outcome}"
        );
        assert!(outcome.stdout_text().contains("got-int"), "{outcome}");
    }

    #[test]
    fn waiting_for_output_fails_fast_when_the_child_exits() {
        let mut run = Running::spawn(&sh("echo nope")).expect("spawn");
        let err = run
            .wait_for_output("never", Duration::from_secs(30))
            .expect_err("must fail");
        assert!(err.contains("exited"), "{err}");
    }

    #[test]
    fn pair_gives_the_survivor_only_a_grace_period() {
        let a = Running::spawn(&sh("exec sleep 30")).expect("spawn");
        let b = Running::spawn(&sh("exit 1")).expect("spawn");
        let start = Instant::now();
        let (a, b) = finish_pair(
            a,
            b,
            start + Duration::from_secs(30),
            Duration::from_millis(300),
        );
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(a.status.is_none() && b.failed_cleanly(), "{a}{b}");
    }
}
