//! ferry's LAN commands (docs: /work/notes/lan-cli.md, the README) in one [`Host`] of a test
//! LAN, with a HOME and XDG_CONFIG_HOME of its own, so that each instance has its own
//! identity (certificate and key in `$XDG_CONFIG_HOME/ferry/lan`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::lan_client::json_lines;
use crate::lan_net::Host;
use crate::lan_peers::PORT;
use crate::process::{Invocation, Outcome, Running};
use crate::TestEnv;

const LISTEN_TIMEOUT: Duration = Duration::from_secs(20);
/// A share stops at once on Ctrl-C.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// ferry's variables that would change what the tests expect.
const SCRUBBED_ENV: [&str; 5] = [
    "FERRY_SERVER",
    "FERRY_RELAY",
    "FERRY_APP_ID",
    "FERRY_APPID",
    "FERRY_CODE",
];

/// One ferry instance: a host and an identity.
pub struct Ferry {
    pub host: Host,
    home: TempDir,
    bin: std::path::PathBuf,
}

impl Ferry {
    pub fn new(env: &TestEnv, host: &Host) -> Ferry {
        Ferry {
            host: host.clone(),
            home: env.scratch_dir("ferry-lan-"),
            bin: env.ferry_bin.clone(),
        }
    }

    /// `ferry ARGS` in this host (not started).
    pub fn invocation(&self, label: &str, args: &[&str]) -> Invocation {
        let home = self.home.path();
        let mut inv = self.host.invocation(label, &self.bin, home.to_path_buf());
        for key in SCRUBBED_ENV {
            inv.env_remove(key);
        }
        inv.env("HOME", &home.display().to_string())
            .env(
                "XDG_CONFIG_HOME",
                &home.join("config").display().to_string(),
            )
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "1");
        inv.args(args);
        inv
    }

    /// Runs `ferry ARGS` to its end, killed after `timeout`.
    pub fn run(&self, label: &str, args: &[&str], timeout: Duration) -> Outcome {
        self.host.run(&self.invocation(label, args), timeout)
    }

    /// Starts `ferry ARGS`.
    pub fn spawn(&self, label: &str, args: &[&str]) -> Running {
        Running::spawn(&self.invocation(label, args)).expect("spawn ferry")
    }

    /// `ferry receive --lan --alias ALIAS -o OUT EXTRA...`, returned once it listens.
    pub fn receive(&self, alias: &str, out: &Path, extra: &[&str]) -> Running {
        let out = out.display().to_string();
        let mut args = vec!["receive", "--lan", "--alias", alias, "-o", &out];
        args.extend_from_slice(extra);
        let mut run = self.spawn("ferry receive", &args);
        if let Err(e) = self
            .host
            .wait_listening(&self.host.ip, PORT, &mut run, LISTEN_TIMEOUT)
        {
            panic!("{e}\n{}", run.into_outcome());
        }
        run
    }

    /// `ferry send --lan --to TO --alias ALIAS EXTRA... PATHS...` to its end.
    pub fn send(&self, to: &str, extra: &[&str], paths: &[&Path], timeout: Duration) -> Outcome {
        self.host
            .run(&self.send_invocation(to, extra, paths), timeout)
    }

    /// The same, started.
    pub fn spawn_send(&self, to: &str, extra: &[&str], paths: &[&Path]) -> Running {
        Running::spawn(&self.send_invocation(to, extra, paths)).expect("spawn ferry send")
    }

    fn send_invocation(&self, to: &str, extra: &[&str], paths: &[&Path]) -> Invocation {
        let mut args = vec!["send", "--lan", "--to", to, "--alias", "ferry-sender"];
        args.extend_from_slice(extra);
        let mut inv = self.invocation("ferry send", &args);
        inv.args(paths);
        inv
    }

    /// `ferry lan devices --json --timeout SECS`.
    pub fn devices(&self, secs: u32) -> Outcome {
        let secs_arg = secs.to_string();
        let args = ["lan", "devices", "--json", "--timeout", &secs_arg];
        self.run(
            "ferry lan devices",
            &args,
            Duration::from_secs(u64::from(secs) + 20),
        )
    }

    /// `ferry send --lan --share --json --alias ALIAS EXTRA... PATHS...`, returned once it
    /// has said it is sharing and its server accepts.
    pub fn share(&self, alias: &str, extra: &[&str], paths: &[&Path]) -> Share {
        let mut args = vec!["send", "--lan", "--share", "--json", "--alias", alias];
        args.extend_from_slice(extra);
        let mut inv = self.invocation("ferry share", &args);
        inv.args(paths);
        let mut run = Running::spawn(&inv).expect("spawn ferry share");
        let ready = run
            .wait_for_output("\"event\":\"sharing\"", LISTEN_TIMEOUT)
            .and_then(|()| {
                self.host
                    .wait_listening(&self.host.ip, PORT, &mut run, LISTEN_TIMEOUT)
            });
        if let Err(e) = ready {
            panic!("{e}\n{}", run.into_outcome());
        }
        let sharing = json_lines(&run.output_so_far())
            .into_iter()
            .find(|e| e["event"] == "sharing")
            .expect("the sharing event");
        Share { run, sharing }
    }

    /// `ferry receive --lan --from FROM -o OUT EXTRA...` to its end.
    pub fn fetch(&self, from: &str, out: &Path, extra: &[&str], timeout: Duration) -> Outcome {
        let out = out.display().to_string();
        let mut args = vec!["receive", "--lan", "--from", from, "-o", &out];
        args.extend_from_slice(extra);
        self.run("ferry fetch", &args, timeout)
    }

    /// ferry's LAN identity directory.
    pub fn identity_dir(&self) -> std::path::PathBuf {
        self.home.path().join("config/ferry/lan")
    }
}

/// A running `ferry send --lan --share --json`.
pub struct Share {
    run: Running,
    /// Its `{"event":"sharing","alias","urls","fingerprint"}`.
    pub sharing: Value,
}

impl Share {
    /// The first address it gives for a browser.
    pub fn url(&self) -> String {
        let url = self.sharing["urls"][0].as_str();
        url.unwrap_or_else(|| panic!("no URL in {}", self.sharing))
            .to_owned()
    }

    /// Stops it as Ctrl-C does; returns how it ended and its `served` events.
    pub fn stop(mut self) -> (Outcome, Vec<Value>) {
        self.run.interrupt().expect("SIGINT to ferry share");
        let outcome = self.run.finish(Instant::now() + STOP_TIMEOUT);
        let served = json_lines(&outcome.stdout_text())
            .into_iter()
            .filter(|e| e["event"] == "served")
            .collect();
        (outcome, served)
    }
}

/// The exit code, or None when killed or never started.
pub fn exit_code(outcome: &Outcome) -> Option<i32> {
    outcome.status.and_then(|s| s.code())
}
