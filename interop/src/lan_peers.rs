//! The real LocalSend peers, each run in a [`Host`] of a test LAN with state of its own:
//! `localsendd` (+ `localsendctl`) and `localsend-cli` from PyPI (docs/localsend/peers.md §3).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::lan_net::Host;
use crate::process::{Invocation, Outcome, Running};
use crate::TestEnv;

/// LocalSend's port; every peer hard-binds it (localsend-cli cannot even change it).
pub const PORT: u16 = 53317;
/// A peer starts in under a second; its first start also makes a certificate.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound of one control or client command (sends of the 1 GiB file take longer: see callers).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Python's environment for a peer: unbuffered, UTF-8, and without the sandbox's CA
/// bundle variables, which make `requests` verify certificates the peers never could.
fn python_env(inv: &mut Invocation, home: &Path) {
    inv.env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env("HOME", &home.display().to_string())
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE");
}

/// What localsendd is started with.
#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    pub alias: String,
    pub pin: Option<String>,
    /// Accept every offer without a control client (`--unattended`); otherwise an offer
    /// with no client attached is declined at once (403).
    pub unattended: bool,
    /// Serve plain HTTP (`--no-encryption`) instead of HTTPS.
    pub plain_http: bool,
}

/// A running localsendd, stopped (by its PID) on Drop.
pub struct Localsendd {
    pub host: Host,
    pub alias: String,
    /// Its certificate's fingerprint (uppercase hex), from its start-up log.
    pub fingerprint: String,
    /// Where it saves what it receives (flat: it keeps only the last path part), and what it
    /// shares: its download API offers every regular file directly in this directory.
    pub download_dir: PathBuf,
    runtime_dir: PathBuf,
    home: PathBuf,
    venv_bin: PathBuf,
    run: Running,
    _dir: TempDir,
}

impl Localsendd {
    pub fn start(env: &TestEnv, host: &Host, opts: DaemonOptions) -> Localsendd {
        let dir = env.scratch_dir("localsendd-");
        let (home, runtime_dir) = (dir.path().join("home"), dir.path().join("run"));
        let download_dir = dir.path().join("downloads");
        for d in [&home, &runtime_dir, &download_dir] {
            std::fs::create_dir_all(d).expect("localsendd dirs");
        }
        // The control socket's directory: localsendd wants it private.
        set_mode(&runtime_dir, 0o700);
        let venv_bin = env.peers.join("venv/bin");
        let mut inv = host.invocation("localsendd", venv_bin.join("localsendd"), home.clone());
        daemon_env(&mut inv, &home, &runtime_dir);
        inv.args(["--alias", &opts.alias, "--download-dir"])
            .arg(&download_dir)
            .args(["--log-level", "debug"]);
        if let Some(pin) = &opts.pin {
            inv.args(["--pin", pin]);
        }
        inv.arg(if opts.unattended {
            "--unattended"
        } else {
            "--no-unattended"
        });
        if opts.plain_http {
            inv.arg("--no-encryption");
        }
        let mut run = Running::spawn(&inv).expect("spawn localsendd");
        let ready = run
            .wait_for_output("fingerprint=", START_TIMEOUT)
            .and_then(|()| host.wait_listening(&host.ip, PORT, &mut run, START_TIMEOUT));
        if let Err(e) = ready {
            panic!("{e}\n{}", run.into_outcome());
        }
        let fingerprint = word_after(&run.output_so_far(), "fingerprint=");
        Localsendd {
            host: host.clone(),
            alias: opts.alias,
            fingerprint,
            download_dir,
            runtime_dir,
            home,
            venv_bin,
            run,
            _dir: dir,
        }
    }

    /// `localsendctl ARGS` against this daemon, bounded by `timeout`.
    pub fn ctl(&self, args: &[&str], timeout: Duration) -> Outcome {
        let program = self.venv_bin.join("localsendctl");
        let mut inv = self
            .host
            .invocation("localsendctl", program, self.home.clone());
        daemon_env(&mut inv, &self.home, &self.runtime_dir);
        inv.args(args);
        self.host.run(&inv, timeout)
    }

    /// `localsendctl send FILES --to TARGET [--pin P] --wait`: exits 0 on `sent` only.
    pub fn send(&self, files: &[&Path], to: &str, pin: Option<&str>, timeout: Duration) -> Outcome {
        let mut args: Vec<String> = vec!["send".into()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        args.extend(["--to".into(), to.into(), "--wait".into()]);
        if let Some(pin) = pin {
            args.extend(["--pin".into(), pin.into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ctl(&args, timeout)
    }

    /// Its list of devices after a fresh announce and `wait` seconds (`devices --json`).
    pub fn devices(&self, wait_secs: u32) -> Outcome {
        let wait = wait_secs.to_string();
        let timeout = Duration::from_secs(u64::from(wait_secs) + 20);
        self.ctl(
            &["devices", "--scan", "--wait-for", &wait, "--json"],
            timeout,
        )
    }

    /// The daemon's own log so far (for failure messages).
    pub fn log(&self) -> String {
        self.run.output_so_far()
    }

    pub fn pid(&self) -> u32 {
        self.run.pid()
    }
}

fn daemon_env(inv: &mut Invocation, home: &Path, runtime_dir: &Path) {
    python_env(inv, home);
    inv.env("XDG_RUNTIME_DIR", &runtime_dir.display().to_string())
        .env("XDG_STATE_HOME", &home.join("state").display().to_string())
        .env(
            "XDG_CONFIG_HOME",
            &home.join("config").display().to_string(),
        )
        .env_remove("LOCALSEND_ALIAS")
        .env_remove("LOCALSEND_PIN")
        .env_remove("LOCALSENDD_SOCKET");
}

/// localsend-cli in one host, with a HOME (and so a certificate) of its own.
pub struct LocalsendCli {
    pub host: Host,
    program: PathBuf,
    home: TempDir,
}

impl LocalsendCli {
    pub fn new(env: &TestEnv, host: &Host) -> LocalsendCli {
        LocalsendCli {
            host: host.clone(),
            program: env.peers.join("venv/bin/localsend-cli"),
            home: env.scratch_dir("localsend-cli-"),
        }
    }

    fn invocation(&self, label: &str) -> Invocation {
        let home = self.home.path().to_path_buf();
        let mut inv = self.host.invocation(label, &self.program, home.clone());
        python_env(&mut inv, &home);
        inv
    }

    /// `scan --timeout SECS --json`: one JSON object per device found.
    pub fn scan(&self, secs: u32) -> Outcome {
        let mut inv = self.invocation("localsend-cli scan");
        inv.args(["scan", "--timeout", &secs.to_string(), "--json"]);
        self.host
            .run(&inv, Duration::from_secs(u64::from(secs) + 20))
    }

    /// `send IP FILES --json`, started (it reads each whole file into memory first).
    pub fn send(&self, ip: &str, files: &[&Path]) -> Running {
        let mut inv = self.invocation("localsend-cli send");
        inv.args(["send", ip]).args(files).arg("--json");
        Running::spawn(&inv).expect("spawn localsend-cli send")
    }

    /// `receive --output DIR [--pin P] --json` (auto-accepts), once it is listening.
    pub fn receive(&self, out: &Path, pin: Option<&str>) -> Running {
        let mut inv = self.invocation("localsend-cli receive");
        inv.arg("receive").arg("--output").arg(out).arg("--json");
        if let Some(pin) = pin {
            inv.args(["--pin", pin]);
        }
        let mut run = Running::spawn(&inv).expect("spawn localsend-cli receive");
        if let Err(e) = self
            .host
            .wait_listening(&self.host.ip, PORT, &mut run, START_TIMEOUT)
        {
            panic!("{e}\n{}", run.into_outcome());
        }
        run
    }
}

/// The whitespace-delimited word after the first `key` in `text`, or "".
fn word_after(text: &str, key: &str) -> String {
    text.split_once(key)
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_owned()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
