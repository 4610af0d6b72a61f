//! The real `ferry` binary as a child process, on loopback only, bounded in time.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::{TestServer, RUN};

/// The `ferry` binary under test. Cargo builds it for ferry-cli's integration
/// tests; recent Cargo names it in `CARGO_BIN_EXE_ferry` at run time too, and
/// nextest in `NEXTEST_BIN_EXE_ferry`. Otherwise it sits next to the `deps/`
/// directory holding the test executable. (`env!` cannot find it from here: it
/// is only set when compiling ferry-cli's own tests.)
pub fn path() -> PathBuf {
    let named = ["CARGO_BIN_EXE_ferry", "NEXTEST_BIN_EXE_ferry"]
        .into_iter()
        .find_map(std::env::var_os);
    named.map(PathBuf::from).unwrap_or_else(beside_deps)
}

fn beside_deps() -> PathBuf {
    let test = std::env::current_exe().expect("test executable path");
    let deps = test.parent().expect("test executable's directory");
    deps.parent().unwrap_or(deps).join("ferry")
}

/// A `ferry` command line being built.
pub struct Ferry {
    cmd: Command,
}

impl Ferry {
    /// `ferry SUBCOMMAND` against `server` (mailbox and relay).
    pub fn new(server: &TestServer, subcommand: &str) -> Ferry {
        Ferry::with_urls(subcommand, &server.url(), &server.relay())
    }

    /// `ferry SUBCOMMAND` against any mailbox URL and relay.
    pub fn with_urls(subcommand: &str, url: &str, relay: &str) -> Ferry {
        let cmd = Command::new(path());
        Ferry::from_command(cmd, subcommand, url, relay)
    }

    fn from_command(cmd: Command, subcommand: &str, url: &str, relay: &str) -> Ferry {
        let mut f = Ferry::isolated(cmd);
        f.arg(subcommand)
            .args(["--server", url, "--relay", relay, "--hide-progress"]);
        f
    }

    /// `ferry` with no arguments yet (for tests of the command line itself), in
    /// the same clean environment.
    pub fn bare() -> Ferry {
        Ferry::isolated(Command::new(path()))
    }

    /// `ferry SUBCOMMAND --lan` with its own LAN identity under `config_home`
    /// (made on first use, kept for the next run with the same directory).
    pub fn lan(subcommand: &str, config_home: &Path) -> Ferry {
        let mut f = Ferry::bare();
        f.args([subcommand, "--lan", "--hide-progress"]);
        f.cmd.env("XDG_CONFIG_HOME", config_home);
        f
    }

    fn isolated(mut cmd: Command) -> Ferry {
        hermetic(&mut cmd);
        Ferry { cmd }
    }

    /// `ferry receive` as [`Ferry::receive`] does, inside a private mount
    /// namespace where `out` is a fresh tmpfs of `size` (e.g. `4m`) holding
    /// `earlier.txt`. Its stdout ends with `@@listing` and the names then in
    /// `out`, and `@@earlier` with that file's content. When the environment has
    /// `FERRY_TEST_FILL_FLAG`, the disk is filled as soon as the partial file
    /// holds 512 KiB, and the flag file is created.
    pub fn receive_on_tmpfs(
        server: &TestServer,
        code: &str,
        out: &Path,
        cwd: &Path,
        size: &str,
    ) -> Ferry {
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "sh", "-c", TMPFS_SCRIPT, "sh"])
            .arg(out)
            .arg(size)
            .arg(path());
        let mut f = Ferry::from_command(cmd, "receive", &server.url(), &server.relay());
        f.args(["--listen", "127.0.0.1", "--yes", "-o"])
            .arg(out)
            .arg(code)
            .cwd(cwd);
        f
    }

    /// `ferry … receive --yes -o OUT CODE`, run from `cwd`.
    pub fn receive(server: &TestServer, code: &str, out: &Path, cwd: &Path) -> Ferry {
        let mut f = Ferry::new(server, "receive");
        f.args(["--listen", "127.0.0.1", "--yes", "-o"])
            .arg(out)
            .arg(code)
            .cwd(cwd);
        f
    }

    pub fn arg(&mut self, a: impl AsRef<std::ffi::OsStr>) -> &mut Ferry {
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Ferry
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn cwd(&mut self, dir: &Path) -> &mut Ferry {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(&mut self, k: &str, v: &str) -> &mut Ferry {
        self.cmd.env(k, v);
        self
    }

    /// Runs the same command under a pseudo-terminal (`script`), so ferry sees
    /// a terminal on stdout and stderr; both arrive in [`Finished::stdout`].
    pub fn under_pty(&self) -> Ferry {
        let std = self.cmd.as_std();
        let words: Vec<String> = std::iter::once(std.get_program())
            .chain(std.get_args())
            .map(|w| shell_quote(&w.to_string_lossy()))
            .collect();
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &words.join(" "), "/dev/null"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = std.get_current_dir() {
            cmd.current_dir(dir);
        }
        // `script` hands its environment to ferry: carry this command's changes.
        for (k, v) in std.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        Ferry { cmd }
    }

    pub fn spawn(&mut self) -> Running {
        let mut child = self.cmd.spawn().expect("ferry binary starts");
        // Drained from the start: a chatty ferry (-vvv) must never block on a full pipe.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Running {
            child,
            stdout,
            stderr,
        }
    }
}

/// No settings from the test's environment or the user's config file leak in;
/// stdout and stderr piped; killed with its handle.
pub fn hermetic(cmd: &mut Command) {
    cmd.env_remove("FERRY_SERVER")
        .env_remove("FERRY_WEB_URL")
        .env_remove("FERRY_RELAY")
        .env_remove("FERRY_APPID")
        .env_remove("FERRY_CA_FILE")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("FERRY_CONFIG")
        .env_remove("FERRY_CODE")
        .env_remove("FERRY_LOG")
        .env_remove("NO_COLOR")
        // Nothing leaves the machine: no port mapping requests to its router.
        .env("FERRY_NO_PORT_MAPPING", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent/ferry-test-config")
        // Sessions a receiver keeps for `--resume`: the test process's, not the user's.
        .env("XDG_STATE_HOME", test_state_home())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
}

/// One state directory per test process (nextest runs each test in its own).
fn test_state_home() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ferry-test-state-{}", std::process::id()))
}

/// SIGINT to a running child, as Ctrl-C at a terminal (or `kill -INT`) sends it.
pub fn interrupt(child: &tokio::process::Child) {
    signal(child, "INT");
}

/// `kill -NAME` to a running child (`TERM`, `HUP`, …).
pub fn signal(child: &tokio::process::Child, name: &str) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{name} {pid}");
}

/// Whether util-linux `script` can give a command a pseudo-terminal here (for
/// [`Ferry::under_pty`]).
pub fn pty_available() -> bool {
    std::process::Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether this machine lets us mount a tmpfs in a private mount namespace.
pub fn can_mount_tmpfs() -> bool {
    let probe = "d=$(mktemp -d) && mount -t tmpfs -o size=64k t \"$d\" && umount \"$d\"; r=$?; rmdir \"$d\"; exit $r";
    std::process::Command::new("unshare")
        .args(["--mount", "sh", "-c", probe])
        .status()
        .is_ok_and(|s| s.success())
}

const TMPFS_SCRIPT: &str = r#"
out=$1; size=$2; shift 2
mount -t tmpfs -o "size=$size" ferry-test "$out" || exit 99
printf precious > "$out/earlier.txt"
"$@" &
pid=$!
if [ -n "${FERRY_TEST_FILL_FLAG:-}" ]; then
  i=0
  while [ $i -lt 300 ]; do
    [ -n "$(find "$out" -name '.*ferry-partial*' -size +512k)" ] && break
    sleep 0.1; i=$((i + 1))
  done
  dd if=/dev/zero of="$out/filler" bs=64k 2>/dev/null
  touch "$FERRY_TEST_FILL_FLAG"
fi
wait $pid; rc=$?
echo "@@listing"; ls -A "$out"
echo "@@earlier $(cat "$out/earlier.txt")"
exit $rc
"#;

/// A running `ferry`.
pub struct Running {
    pub child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

fn drain(pipe: Option<impl AsyncRead + Unpin + Send + 'static>) -> JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf).await;
        }
        buf
    })
}

impl Running {
    /// Waits for the exit (killing it after [`RUN`]) and collects its output.
    pub async fn finish(self) -> Finished {
        self.finish_within(RUN).await
    }

    /// [`Running::finish`] with a longer (or shorter) bound.
    pub async fn finish_within(mut self, limit: std::time::Duration) -> Finished {
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("ferry exit status"),
            Err(_) => {
                let _ = self.child.kill().await;
                let stderr = self.stderr.await.unwrap_or_default();
                panic!(
                    "ferry did not finish in {limit:?} (killed); it said:\n{}",
                    String::from_utf8_lossy(&stderr)
                );
            }
        };
        let stdout = self.stdout.await.unwrap_or_default();
        let stderr = self.stderr.await.unwrap_or_default();
        Finished {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            raw_stderr: stderr,
        }
    }
}

/// What a finished `ferry` did.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub raw_stderr: Vec<u8>,
}

impl Finished {
    /// Asserts a failure whose message mentions every one of `words`
    /// (case-insensitive), and that the message is safe to print.
    pub fn assert_failed_with(&self, words: &[&str]) {
        assert!(!self.status.success(), "ferry succeeded:\n{}", self.stderr);
        let lower = self.stderr.to_lowercase();
        for w in words {
            assert!(
                lower.contains(&w.to_lowercase()),
                "error does not mention {w:?}:\n{}",
                self.stderr
            );
        }
        self.assert_clean_stderr();
    }

    pub fn assert_success(&self) {
        assert!(self.status.success(), "ferry failed:\n{}", self.stderr);
    }

    /// No raw control or bidi characters in what ferry printed on stderr.
    pub fn assert_clean_stderr(&self) {
        let bad = super::raw_controls(&self.raw_stderr);
        assert!(bad.is_empty(), "raw controls {bad:?} in:\n{}", self.stderr);
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
