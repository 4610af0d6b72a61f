//! A plain HTTP(S) client of a LocalSend share (`lan_client.py`: Python `requests` from the
//! peers' venv) in one [`Host`] of a test LAN: what a browser does with ferry's page, or a
//! script with the download API. None of the LocalSend peers installed here can fetch
//! (interop/README.md), so this is how the tests reach ferry's share from another host.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::lan_net::Host;
use crate::process::Outcome;
use crate::TestEnv;

const SCRIPT: &str = include_str!("lan_client.py");
const SCRIPT_NAME: &str = "lan_client.py";
/// Bound of one run: a few MiB over the test LAN, and the page.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How the client reaches the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `GET /` and every link on the page, as a browser.
    Page,
    /// `prepare-download` and `download` of each file, as the LocalSend app; then one
    /// download with a session the share never granted (step `forged`).
    Api,
    /// `prepare-download`, then the first MiB of the largest file: the client closes the
    /// connection midway (step `cut`).
    Cut,
}

/// The client in one host.
pub struct HttpClient {
    pub host: Host,
    python: PathBuf,
    /// Holds the script (run from a file: its text would fill every failure report).
    dir: TempDir,
}

impl HttpClient {
    pub fn new(env: &TestEnv, host: &Host) -> HttpClient {
        let dir = env.scratch_dir("http-client-");
        std::fs::write(dir.path().join(SCRIPT_NAME), SCRIPT).expect("write the client");
        HttpClient {
            host: host.clone(),
            python: env.python(),
            dir,
        }
    }

    /// Fetches everything `url` (a share's address, `https://IP:PORT/`) offers `via` the page
    /// or the API, with `pin`, into `out`; to its end.
    pub fn fetch(&self, via: Via, url: &str, out: &Path, pin: Option<&str>) -> Fetched {
        let mode = match via {
            Via::Page => "page",
            Via::Api => "api",
            Via::Cut => "cut",
        };
        let label = format!("http client ({mode})");
        let cwd = self.dir.path().to_path_buf();
        let mut inv = self.host.invocation(&label, &self.python, cwd);
        inv.args([SCRIPT_NAME, mode, url])
            .arg(out)
            .args(pin)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONIOENCODING", "utf-8")
            // The sandbox's CA bundle would make requests verify what no peer could.
            .env_remove("REQUESTS_CA_BUNDLE")
            .env_remove("CURL_CA_BUNDLE");
        Fetched::of(self.host.run(&inv, TIMEOUT))
    }
}

/// What the client did: its steps, one JSON object each.
pub struct Fetched {
    pub outcome: Outcome,
    pub steps: Vec<Value>,
}

impl Fetched {
    fn of(outcome: Outcome) -> Fetched {
        let steps = json_lines(&outcome.stdout_text());
        Fetched { outcome, steps }
    }

    /// The steps called `name`.
    pub fn steps(&self, name: &str) -> Vec<&Value> {
        self.steps.iter().filter(|s| s["step"] == name).collect()
    }

    /// The HTTP status of the first step `name`, or panics with the run.
    pub fn status(&self, name: &str) -> u64 {
        self.steps(name)
            .first()
            .and_then(|s| s["status"].as_u64())
            .unwrap_or_else(|| panic!("no {name:?} step with a status\n{}", self.outcome))
    }
}

/// Every line of `text` that is a JSON object (ferry's `--json` events, the client's steps).
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect()
}
