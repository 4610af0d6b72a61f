//! ferry's own `torrent seed` and `torrent get` as a peer among the real clients: the binary
//! under test ([`TestEnv::ferry_bin`]) with `--json`, its events read from its stdout (the
//! interface: the CLI's help and docs/torrent.md).
//!
//! [`Seeder`] and [`Get`] serve the tests that look at ferry's own side (events, exit codes,
//! a kill mid-download); [`start`] puts them behind [`Swarm`], so that [`super::pair`] and
//! the bench pair ferry with a client as they pair two clients.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{bt_addr, free_port, Job, Role, Source, Swarm, BT_IP};
use crate::lan_client::json_lines;
use crate::process::{Invocation, Outcome, Running};
use crate::TestEnv;

/// A seeder verifies every piece before it serves: well under a second for a few MiB, a few
/// seconds for the bench's hundreds of MiB on 2 busy cores.
const SEED_START: Duration = Duration::from_secs(60);
/// SIGINT stops a seeder after its `stopped` announces (each bounded by ferry).
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// `ferry torrent ARGS...` in `cwd` (what a user sees: no `--json`).
pub fn invocation(env: &TestEnv, label: &str, cwd: &Path, args: &[String]) -> Invocation {
    let mut inv = Invocation::new(label, &env.ferry_bin, cwd.to_path_buf());
    inv.arg("torrent").args(args);
    inv.env("NO_COLOR", "1").env("RUST_BACKTRACE", "1");
    inv
}

/// `ferry torrent ARGS... --json` in `cwd`.
fn json_invocation(env: &TestEnv, label: &str, cwd: &Path, args: &[String]) -> Invocation {
    let mut inv = invocation(env, label, cwd, args);
    inv.arg("--json");
    inv
}

/// The `--json` events `run` printed so far, in order.
fn events(run: &Running) -> Vec<Value> {
    json_lines(&run.stdout_so_far())
}

/// Waits until `run` prints an event that `pick` likes; returns the first such.
fn wait_event(
    run: &mut Running,
    what: &str,
    timeout: Duration,
    pick: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    let found = |text: &str| json_lines(text).iter().any(&pick);
    run.wait_for_stdout(what, timeout, found)?;
    Ok(events(run)
        .into_iter()
        .find(pick)
        .expect("the event just seen"))
}

/// `["--peer", A, "--peer", B, ...]`.
pub fn peer_args(peers: &[SocketAddr]) -> Vec<String> {
    peers
        .iter()
        .flat_map(|p| ["--peer".to_owned(), p.to_string()])
        .collect()
}

/// A running `ferry torrent seed --json`, stopped by PID on drop.
pub struct Seeder {
    run: Running,
    /// Its `seeding` event.
    pub seeding: Value,
    listen: SocketAddr,
}

impl Seeder {
    /// `ferry torrent seed WHAT --listen 198.18.0.1:0 EXTRA...` (WHAT: a `.torrent`, or a
    /// file or directory to seed as it is), returned once it said `seeding`; its port is the
    /// one that event names.
    pub fn start(env: &TestEnv, what: &Path, extra: &[String]) -> Seeder {
        let cwd = what.parent().expect("a path to seed has a parent");
        let mut args = vec!["seed".to_owned(), what.display().to_string()];
        args.extend(["--listen".to_owned(), format!("{BT_IP}:0")]);
        args.extend_from_slice(extra);
        let inv = json_invocation(env, "ferry torrent seed", cwd, &args);
        let mut run = Running::spawn(&inv).expect("spawn ferry torrent seed");
        let seeding = wait_event(&mut run, "a seeding event", SEED_START, |e| {
            e["event"] == "seeding"
        });
        let seeding = match seeding {
            Ok(event) => event,
            Err(e) => panic!("{e}\n{}", run.into_outcome()),
        };
        let listen = seeding["listen"].as_str().and_then(|a| a.parse().ok());
        let listen = listen.unwrap_or_else(|| panic!("no IP:PORT in {seeding}"));
        Seeder {
            run,
            seeding,
            listen,
        }
    }

    /// The magnet link it printed.
    pub fn magnet(&self) -> String {
        let magnet = self.seeding["magnet"].as_str();
        magnet
            .unwrap_or_else(|| panic!("no magnet in {}", self.seeding))
            .to_owned()
    }

    /// `uploaded` of its last `stats` event (0 before the first).
    pub fn uploaded(&self) -> u64 {
        let stats = events(&self.run).into_iter().rev();
        stats
            .filter(|e| e["event"] == "stats")
            .find_map(|e| e["uploaded"].as_u64())
            .unwrap_or(0)
    }

    /// Waits until a `stats` event says it uploaded at least `bytes`.
    pub fn wait_uploaded(&mut self, bytes: u64, timeout: Duration) -> Result<(), String> {
        let what = format!("stats with uploaded >= {bytes}");
        let enough = |e: &Value| e["event"] == "stats" && e["uploaded"].as_u64() >= Some(bytes);
        wait_event(&mut self.run, &what, timeout, enough).map(drop)
    }

    /// Waits until a `stats` event says it has at least `peers` connections.
    pub fn wait_peers(&mut self, peers: u64, timeout: Duration) -> Result<(), String> {
        let what = format!("stats with peers >= {peers}");
        let enough = |e: &Value| e["event"] == "stats" && e["peers"].as_u64() >= Some(peers);
        wait_event(&mut self.run, &what, timeout, enough).map(drop)
    }

    /// Stops it as Ctrl-C does and returns how it ended.
    pub fn stop(mut self) -> Outcome {
        self.run.interrupt().expect("SIGINT to ferry torrent seed");
        self.run.finish(Instant::now() + STOP_TIMEOUT)
    }
}

impl Swarm for Seeder {
    fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// It said `seeding` before [`Seeder::start`] returned: complete while it runs.
    fn wait_complete(&mut self, _timeout: Duration) -> Result<(), String> {
        match self.run.poll_exit() {
            false => Ok(()),
            true => Err("ferry torrent seed exited".to_owned()),
        }
    }

    fn log(&self) -> String {
        let pid = self.run.pid();
        format!(
            "── ferry torrent seed (pid {pid})\n{}",
            self.run.output_so_far()
        )
    }

    fn pid(&self) -> u32 {
        self.run.pid()
    }

    fn uploaded(&self) -> Option<u64> {
        Some(Seeder::uploaded(self))
    }
}

/// A running `ferry torrent get --json`, killed by PID on drop.
pub struct Get {
    run: Running,
}

impl Get {
    /// `ferry torrent get SOURCE -o OUT EXTRA...`, run in OUT, started.
    pub fn start(env: &TestEnv, source: &str, out: &Path, extra: &[String]) -> Get {
        let mut args = vec!["get".to_owned(), source.to_owned()];
        args.extend(["-o".to_owned(), out.display().to_string()]);
        args.extend_from_slice(extra);
        let inv = json_invocation(env, "ferry torrent get", out, &args);
        Get {
            run: Running::spawn(&inv).expect("spawn ferry torrent get"),
        }
    }

    /// Waits for an event that `pick` likes (`what` names it in the error).
    pub fn wait_event(
        &mut self,
        what: &str,
        timeout: Duration,
        pick: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        wait_event(&mut self.run, what, timeout, pick)
    }

    /// Waits for it to exit by itself until `timeout`, else kills it; how it ended.
    pub fn finish(self, timeout: Duration) -> Outcome {
        self.run.finish(Instant::now() + timeout)
    }

    /// SIGKILL now (by its PID), as a crash or a power cut would end it.
    pub fn kill(self) -> Outcome {
        self.run.into_outcome()
    }

    pub fn pid(&self) -> u32 {
        self.run.pid()
    }
}

/// `ferry torrent get SOURCE -o OUT EXTRA...` to its end (killed after `timeout`).
pub fn get(
    env: &TestEnv,
    source: &str,
    out: &Path,
    extra: &[String],
    timeout: Duration,
) -> Outcome {
    Get::start(env, source, out, extra).finish(timeout)
}

/// The `--json` events of a finished command.
pub fn outcome_events(outcome: &Outcome) -> Vec<Value> {
    json_lines(&outcome.stdout_text())
}

/// A `get` for the harness, which wants its listening address.
struct Fetcher {
    get: Get,
    listen: SocketAddr,
}

impl Swarm for Fetcher {
    fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// `get` exits 0 once every piece is verified and the data renamed into place.
    fn wait_complete(&mut self, timeout: Duration) -> Result<(), String> {
        let run = &mut self.get.run;
        if !run.wait_exit(timeout) {
            return Err(format!("ferry torrent get still running after {timeout:?}"));
        }
        match run.status() {
            Some(status) if status.success() => Ok(()),
            other => Err(format!("ferry torrent get ended with {other:?}")),
        }
    }

    fn log(&self) -> String {
        let pid = self.get.pid();
        format!(
            "── ferry torrent get (pid {pid})\n{}",
            self.get.run.output_so_far()
        )
    }

    fn pid(&self) -> u32 {
        self.get.pid()
    }
}

/// ferry as one of the harness's clients: a seeder of the `.torrent` with its data in the
/// job's directory, or a `get` into it; the job's peers are dialled (`--peer`).
pub(super) fn start(env: &TestEnv, job: &Job) -> Box<dyn Swarm> {
    let mut extra = peer_args(&job.peers.connect_to);
    match (job.role, job.source) {
        (Role::Seed, Source::File(torrent)) => {
            extra.extend(["--data".to_owned(), job.dir.display().to_string()]);
            Box::new(Seeder::start(env, torrent, &extra))
        }
        (Role::Seed, Source::Magnet(_)) => panic!("a seeder needs the .torrent"),
        (Role::Fetch, source) => {
            let listen = bt_addr(free_port());
            extra.extend(["--listen".to_owned(), listen.to_string()]);
            let source = match source {
                Source::File(path) => path.display().to_string(),
                Source::Magnet(uri) => uri.clone(),
            };
            let get = Get::start(env, &source, job.dir, &extra);
            Box::new(Fetcher { get, listen })
        }
    }
}
