//! Proof that a transfer went through the transit relay.
//!
//! The Python transit relay writes one row per finished pairing into its usage database
//! (`usage`: `total_bytes` relayed in both directions, `result` "happy" for a completed
//! pairing). A relay test sends a payload whose size no other test uses and then looks for a
//! new happy row of about that size. The rows carry no token, so the size is what ties a row
//! to a test: [`relay_payload_size`] gives every sender/receiver pair its own size, far
//! enough from the others and from the ordinary file tests.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::env::TestEnv;
use crate::peer::Peer;

/// The payload size of the relay test from `sender` to `receiver`: 4 MiB plus 512 KiB per
/// pair. Neighbours differ by more than the window [`relayed_bytes_window`] allows.
pub fn relay_payload_size(sender: Peer, receiver: Peer) -> u64 {
    let slot = (sender.index() * 4 + receiver.index()) as u64;
    4 * 1024 * 1024 + slot * 512 * 1024 + 11
}

/// What the relay counts for a payload of `size` bytes: the payload, every record's framing
/// (4-byte length, 24-byte nonce, 16-byte tag; records are at least 4 KiB in practice),
/// both transit handshakes and the final ack record.
pub fn relayed_bytes_window(size: u64) -> (u64, u64) {
    (size, size + size / 50 + 16 * 1024)
}

/// A position in the relay's usage table, taken before a transfer starts.
#[derive(Debug, Clone, Copy)]
pub struct UsageMark(i64);

/// Reads the relay's usage database through the venv's Python (its `sqlite3` module).
pub struct RelayUsage<'a> {
    env: &'a TestEnv,
}

/// Debian's `psql` for PostgreSQL 15 (the wrapper in /usr/bin needs a cluster config).
const PSQL: &str = "/usr/lib/postgresql/15/bin/psql";

const QUERY: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
rows = db.execute("SELECT rowid, total_bytes, result FROM usage WHERE rowid > ?",
                  (int(sys.argv[2]),)).fetchall()
for rowid, total, result in rows:
    print(rowid, total if total is not None else -1, result)
"#;

impl<'a> RelayUsage<'a> {
    pub fn new(env: &'a TestEnv) -> RelayUsage<'a> {
        RelayUsage { env }
    }

    /// The current end of the usage table.
    pub fn mark(&self) -> UsageMark {
        let rows = self.rows_since(UsageMark(-1));
        UsageMark(rows.iter().map(|r| r.0).max().unwrap_or(0))
    }

    /// Rows (rowid, total_bytes, result) added after `mark`.
    pub fn rows_since(&self, mark: UsageMark) -> Vec<(i64, i64, String)> {
        let mut cmd = match &self.env.relay_pg {
            // `ferry serve` instances on PostgreSQL (FERRY_TEST_SERVERS=ferry-pool).
            Some(url) => {
                let mut c = Command::new(PSQL);
                c.args(["-X", "-A", "-t", "-F", " ", url, "-c"]).arg(format!(
                    "SELECT id, total_bytes, result FROM ferry_usage WHERE kind = 'relay' AND id > {}",
                    mark.0
                ));
                c
            }
            None => {
                let db = self.env.relay_db.as_ref().unwrap_or_else(|| {
                    panic!("FERRY_TEST_RELAY_DB is not set: run the suite through run-in-netns.sh")
                });
                let mut c = Command::new(self.env.python());
                c.args(["-c", QUERY]).arg(db).arg(mark.0.to_string());
                c
            }
        };
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "reading the relay usage DB failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(parse_row)
            .collect()
    }

    /// Waits (the relay records a pairing when its connections close) for a happy row
    /// after `mark` whose byte count fits a payload of `size`; returns the rows seen.
    pub fn find_relayed(&self, mark: UsageMark, size: u64) -> Result<i64, String> {
        let (low, high) = relayed_bytes_window(size);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let rows = self.rows_since(mark);
            let hit = rows.iter().find(|(_, total, result)| {
                result == "happy" && (low..=high).contains(&(*total as u64))
            });
            if let Some((_, total, _)) = hit {
                return Ok(*total);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no happy relay pairing of {low}..={high} bytes after the transfer; \
                     new usage rows (rowid, total_bytes, result): {rows:?}"
                ));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }
}

fn parse_row(line: &str) -> Option<(i64, i64, String)> {
    let mut parts = line.split_whitespace();
    let rowid = parts.next()?.parse().ok()?;
    let total = parts.next()?.parse().ok()?;
    let result = parts.next().unwrap_or("").to_owned();
    Some((rowid, total, result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_sizes_never_share_a_window() {
        let mut sizes: Vec<u64> = [Peer::Ferry, Peer::Python, Peer::William, Peer::Rust]
            .iter()
            .flat_map(|&s| Peer::OTHERS.map(|r| relay_payload_size(s, r)))
            .chain(Peer::OTHERS.map(|s| relay_payload_size(s, Peer::Ferry)))
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        for pair in sizes.windows(2) {
            assert!(relayed_bytes_window(pair[0]).1 < pair[1], "{pair:?}");
        }
        // The ordinary file tests stay below every relay window.
        assert!(relayed_bytes_window(crate::data::FILE_SIZE).1 < sizes[0]);
    }
}
