//! Checks shared by the LAN tests: what a device list says, what landed in a directory,
//! how a command ended, and a forged announcement; and the localsendd + ferry LAN.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::lan_ferry::{exit_code, Ferry};
use crate::lan_net::{Host, Lan};
use crate::lan_peers::{DaemonOptions, Localsendd};
use crate::process::{Outcome, Running};
use crate::tree::file_node;
use crate::TestEnv;

/// Bound of an ordinary LAN transfer (a few MiB).
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound of a 1 GiB transfer: Python peers move it at tens of MB/s on a busy machine.
pub const HUGE_TIMEOUT: Duration = Duration::from_secs(400);
/// Size of the huge LAN file.
pub const GIB: u64 = 1 << 30;
/// The multicast group and port of LocalSend's discovery.
const MULTICAST: (&str, u16) = ("224.0.0.167", 53317);

/// A LAN of two hosts: localsendd started with `opts` in host 0, ferry in host 1.
pub fn localsendd_and_ferry(opts: DaemonOptions) -> (Lan, Localsendd, Ferry) {
    let env = TestEnv::get();
    let lan = Lan::new(2);
    let daemon = Localsendd::start(env, lan.host(0), opts);
    let ferry = Ferry::new(env, lan.host(1));
    (lan, daemon, ferry)
}

/// The devices of a JSON list that name `alias` at `ip`, whitespace removed. Takes ferry's
/// one object per line as well as localsendctl's pretty-printed array (flat objects both).
pub fn listed(outcome: &Outcome, alias: &str, ip: &str) -> Vec<String> {
    let flat: String = outcome.stdout_text().split_whitespace().collect();
    // localsendd lists IPv4 peers as ::ffff:IP, so match the address's end.
    flat.split('}')
        .filter(|l| l.contains(&format!("\"alias\":\"{alias}\"")))
        .filter(|l| l.contains(&format!("\"{ip}\"")) || l.contains(&format!(":{ip}\"")))
        .map(str::to_owned)
        .collect()
}

/// Panics unless the `--json` device list names `alias` at `ip`.
pub fn assert_listed(outcome: &Outcome, alias: &str, ip: &str) -> String {
    let lines = listed(outcome, alias, ip);
    assert!(
        !lines.is_empty(),
        "{alias} at {ip} is not listed:\n{outcome}"
    );
    lines[0].clone()
}

/// Every regular file under `dir` (hidden ones too), relative path → size.
pub fn files_in(dir: &Path) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<(String, u64)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(root, &path, found),
            Ok(t) if t.is_file() => {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                found.push((rel.display().to_string(), size));
            }
            _ => {}
        }
    }
}

/// Waits until some file under `dir` has data (a transfer is under way), while `process`
/// (the sender or the receiver) still runs.
pub fn wait_for_data(dir: &Path, process: &mut Running, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !files_in(dir).iter().any(|(_, size)| *size > 0) {
        if process.poll_exit() || Instant::now() >= deadline {
            panic!(
                "no data arrived in {} in time\n{}",
                dir.display(),
                process.output_so_far()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits up to `timeout` for `dir` to hold no file at all; panics with what is left.
pub fn assert_empty_soon(dir: &Path, timeout: Duration, context: &str) {
    let deadline = Instant::now() + timeout;
    while !files_in(dir).is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    let left = files_in(dir);
    assert!(
        left.is_empty(),
        "{context}: {} still holds {left:?}",
        dir.display()
    );
}

/// Panics unless `outcome` exited with `code` and says `needle` (case-insensitively).
pub fn assert_exit(outcome: &Outcome, code: i32, needle: &str, context: &str) {
    assert_eq!(
        exit_code(outcome),
        Some(code),
        "{context}: exit code\n{outcome}"
    );
    let said = outcome.all_output().to_lowercase();
    assert!(
        said.contains(&needle.to_lowercase()),
        "{context}: no {needle:?}\n{outcome}"
    );
}

/// Panics unless `dir/name` is a copy of `sent` (size and SHA-256, streamed).
pub fn assert_copy(sent: &Path, dir: &Path, name: &str, context: &str) {
    let got = dir.join(name);
    let want = file_node(sent).expect("hash what was sent");
    match file_node(&got) {
        Ok(node) => assert_eq!(node, want, "{context}: {} differs", got.display()),
        Err(e) => panic!(
            "{context}: {}: {e}; {} holds {:?}",
            got.display(),
            dir.display(),
            files_in(dir)
        ),
    }
}

/// Panics unless `dir` holds a copy of each of `sent`, under its file name.
pub fn assert_copies(sent: &[PathBuf], dir: &Path, context: &str) {
    for file in sent {
        let name = file.file_name().expect("a file name").to_string_lossy();
        assert_copy(file, dir, &name, context);
    }
}

/// The files a test sends as "several files": random data, an empty file and a
/// non-ASCII name (none text/*, which localsend-cli would take for a message).
pub fn several_files(dir: &Path) -> Vec<PathBuf> {
    let files = [
        ("blob.bin", crate::data::FILE_SIZE),
        ("empty.bin", 0),
        ("ñandú 日本語.bin", 4097),
    ];
    files
        .iter()
        .map(|(name, size)| crate::data::random_file(&dir.join(name), *size).expect("test file"))
        .collect()
}

/// The same without the empty file, which localsendd cannot receive (see its tests).
pub fn non_empty_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = several_files(dir);
    files.retain(|f| f.metadata().is_ok_and(|m| m.len() > 0));
    files
}

/// Sends, from `host`, LocalSend announcements of a device `alias` with `fingerprint` every
/// 200 ms for `secs` seconds: what a device that lies about its certificate would do.
pub fn forge_announcements(
    host: &Host,
    python: &Path,
    alias: &str,
    fingerprint: &str,
    secs: u32,
) -> Running {
    let announcement = format!(
        r#"{{"alias":"{alias}","version":"2.1","deviceModel":"Linux","deviceType":"desktop","fingerprint":"{fingerprint}","port":53317,"protocol":"https","download":false,"announce":true}}"#
    );
    let script = format!(
        "import socket,time\n\
         s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
         s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_TTL,2)\n\
         for _ in range({n}):\n    s.sendto({announcement:?}.encode(),({group:?},{port}))\n    time.sleep(0.2)\n",
        n = secs * 5,
        group = MULTICAST.0,
        port = MULTICAST.1,
    );
    let mut inv = host.invocation("forged announcements", python, std::env::temp_dir());
    inv.args(["-c", &script]);
    Running::spawn(&inv).expect("spawn the forger")
}
