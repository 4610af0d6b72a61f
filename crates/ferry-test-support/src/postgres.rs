//! A private PostgreSQL cluster for one test: `initdb` in a temporary directory, then
//! `pg_ctl` on a free loopback port, as an unprivileged user (PostgreSQL refuses to
//! run as root: when the tests run as root, the cluster runs as `nobody`).
//!
//! The binaries come from `$FERRY_PG_BIN`, else Debian's `/usr/lib/postgresql/15/bin`,
//! else `PATH`. The cluster is stopped (`immediate`) and deleted on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running cluster; see the module docs.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    running: bool,
}

/// Where `initdb` and `pg_ctl` live, if anywhere.
pub fn pg_bin() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut candidates = std::env::var_os("FERRY_PG_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/lib/postgresql/15/bin")])
        .chain(std::env::split_paths(&path));
    candidates.find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    // `id -u` keeps this crate free of libc calls.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

impl PgCluster {
    /// Creates and starts a cluster with a database `ferry` owned by user `ferry`.
    /// Panics with what to install when PostgreSQL is missing.
    pub fn start() -> PgCluster {
        let bin = pg_bin()
            .expect("PostgreSQL 15 is needed (apt-get install postgresql-15, or set FERRY_PG_BIN)");
        let dir = tempfile::Builder::new()
            .prefix("ferry-pg-")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            chmod_open(dir.path());
            run(Command::new("chown").arg("nobody").arg(dir.path()));
        }
        let mut c = PgCluster {
            dir,
            bin,
            port: free_port(),
            running: false,
        };
        let data = c.data();
        c.pg("initdb", |cmd| {
            cmd.args([
                "-A",
                "trust",
                "-U",
                "ferry",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data);
        });
        // fsync off: a test cluster is never power-cut, and a restart is a clean stop.
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nmax_connections = 200\nfsync = off\n",
            c.port,
            c.dir.path().display()
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, conf.as_bytes()))
            .expect("write postgresql.conf");
        c.start_server();
        c.pg("createdb", |cmd| {
            cmd.args([
                "-h",
                "127.0.0.1",
                "-p",
                &c.port.to_string(),
                "-U",
                "ferry",
                "ferry",
            ]);
        });
        c
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The URL `ferry serve --database` takes.
    pub fn url(&self) -> String {
        format!("postgres://ferry@127.0.0.1:{}/ferry", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    pub fn start_server(&mut self) {
        let data = self.data();
        let log = self.dir.path().join("log");
        self.pg("pg_ctl", |cmd| {
            cmd.args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .arg("start");
        });
        self.running = true;
    }

    /// `pg_ctl stop -m fast`: every client connection is cut.
    pub fn stop_server(&mut self) {
        let data = self.data();
        self.pg("pg_ctl", |cmd| {
            cmd.args(["-w", "-t", "60", "-m", "fast", "-D"])
                .arg(&data)
                .arg("stop");
        });
        self.running = false;
    }

    /// Runs SQL with `psql` (from the same directory as `initdb`, else `PATH`) and
    /// returns its unaligned, tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        let psql = [self.bin.join("psql"), PathBuf::from("psql")]
            .into_iter()
            .find(|p| p.is_file() || p.as_os_str() == "psql")
            .expect("psql");
        let out = run(Command::new(psql).args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "ferry",
            "-d",
            "ferry",
            "-c",
            sql,
        ]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Runs one of the cluster's programs and checks that it succeeded.
    fn pg(&self, program: &str, args: impl FnOnce(&mut Command)) -> Output {
        let mut cmd = self.command(program);
        args(&mut cmd);
        run(&mut cmd)
    }

    /// One of the cluster's programs, as `nobody` when we are root.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }
}

/// Lets `nobody` reach a directory inside root's temporary directory.
fn chmod_open(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let _ = self
                .command("pg_ctl")
                .args(["-w", "-m", "immediate", "-D"])
                .arg(data)
                .arg("stop")
                .output();
        }
    }
}
