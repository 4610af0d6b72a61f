//! A `ferry` child whose stdout is read as it runs, line by line: for `--json`
//! events, and for starting the other side only once this one said something
//! (its code, or that it waits). Every read is bounded by [`WAIT`].

use std::path::Path;
use std::process::ExitStatus;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::{TestServer, RUN, WAIT};

/// A running `ferry … --json`.
pub struct JsonRun {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
    /// Every stdout line read so far, parsed.
    pub events: Vec<Value>,
}

/// How it ended: every event, and what it said to people on stderr.
pub struct Ended {
    pub status: ExitStatus,
    pub events: Vec<Value>,
    pub stderr: String,
}

impl JsonRun {
    /// `ferry SUBCOMMAND --server … --relay … --listen 127.0.0.1 --json ARGS…`, from `cwd`.
    pub fn spawn(server: &TestServer, subcommand: &str, args: &[&str], cwd: &Path) -> JsonRun {
        let urls = (server.url(), server.relay());
        JsonRun::spawn_with_urls(&urls.0, &urls.1, subcommand, args, cwd)
    }

    /// [`JsonRun::spawn`] against any mailbox URL and relay.
    pub fn spawn_with_urls(
        url: &str,
        relay: &str,
        subcommand: &str,
        args: &[&str],
        cwd: &Path,
    ) -> JsonRun {
        let mut cmd = Command::new(crate::ferry_bin::path());
        cmd.arg(subcommand)
            .args(["--server", url, "--relay", relay])
            .args(["--listen", "127.0.0.1", "--json"])
            .args(args)
            .current_dir(cwd);
        crate::ferry_bin::hermetic(&mut cmd);
        let mut child = cmd.spawn().expect("ferry binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut stderr = child.stderr.take().expect("stderr piped");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        JsonRun {
            child,
            lines: BufReader::new(stdout).lines(),
            stderr,
            events: Vec::new(),
        }
    }

    /// Reads events until one named `name`, and returns it.
    pub async fn until(&mut self, name: &str) -> Value {
        loop {
            let line = tokio::time::timeout(WAIT, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {name:?} event in time; saw {:?}", self.events))
                .expect("reading ferry's stdout")
                .unwrap_or_else(|| panic!("stdout ended before {name:?}; saw {:?}", self.events));
            let event: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line:?}"));
            self.events.push(event.clone());
            if event["event"] == name {
                return event;
            }
        }
    }

    /// SIGINT, as Ctrl-C at a terminal sends it.
    pub fn interrupt(&self) {
        crate::ferry_bin::interrupt(&self.child);
    }

    /// Waits for the exit (killing it after [`RUN`]) and reads the rest.
    pub async fn finish(mut self) -> Ended {
        let rest = async {
            while let Some(line) = self.lines.next_line().await.expect("stdout") {
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line:?}"));
                self.events.push(event);
            }
            self.child.wait().await.expect("exit status")
        };
        let status = match tokio::time::timeout(RUN, rest).await {
            Ok(status) => status,
            Err(_) => panic!("ferry did not finish in {RUN:?}"),
        };
        Ended {
            status,
            events: self.events,
            stderr: self.stderr.await.unwrap_or_default(),
        }
    }
}

impl Ended {
    /// The events named `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event"] == name).collect()
    }

    /// The one event named `name`.
    pub fn one(&self, name: &str) -> &Value {
        match self.all(name).as_slice() {
            [one] => one,
            other => panic!("{} {name:?} events in {:?}", other.len(), self.events),
        }
    }
}
