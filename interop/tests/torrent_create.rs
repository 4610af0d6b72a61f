//! `ferry torrent create` against libtorrent 2.1.1 and torf 4.3.1 (the peers' venv): for
//! several file sets, piece sizes and the three kinds of torrent, ferry's info dictionary
//! (so both infohashes) and piece layers are byte for byte libtorrent's, v1 is torf's
//! where torf shares the same files, and ferry's parser reads libtorrent's torrents to the
//! same files and hashes. One Python process answers every case (src/torrent_known.py).

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ferry_interop::env::{default_peers_dir, ferry_bin};
use ferry_proto::torrent::metainfo::Metainfo;
use serde_json::{json, Value};

const K: u64 = 1024;

/// A file set: `(path, length)`; `torf` when torf would share exactly these files in
/// this order (it leaves out empty and hidden files and sorts by path element).
struct FileSet {
    name: &'static str,
    files: &'static [(&'static str, u64)],
    torf: bool,
}

const SETS: &[FileSet] = &[
    FileSet {
        name: "one.bin",
        files: &[("one.bin", 40_000)],
        torf: true,
    },
    FileSet {
        name: "tree",
        files: &[
            ("a-b", 16 * K + 1),
            ("a/b/c", 100_000),
            ("a/x", 64 * K),
            ("sub/deep/empty", 0),
            ("top", 1),
        ],
        torf: false,
    },
    FileSet {
        name: "edges",
        files: &[
            ("e1", 16 * K - 1),
            ("e2", 16 * K),
            ("e3", 16 * K + 1),
            ("e4", 32 * K - 1),
            ("e5", 32 * K + 1),
            ("e6", 1024 * K + 1),
        ],
        torf: true,
    },
];

const PIECES: &[u64] = &[16 * K, 32 * K, 1024 * K, 0];
const MODES: &[&str] = &["v1", "v2", "hybrid"];

fn content(seed: usize, len: u64) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ seed as u64;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) as u8
        })
        .collect()
}

/// Writes the set under `dir`; returns its root (the file itself for a single file).
fn write_set(dir: &Path, set: &FileSet) -> PathBuf {
    if set.files.len() == 1 && set.files[0].0 == set.name {
        let path = dir.join(set.name);
        std::fs::write(&path, content(0, set.files[0].1)).unwrap();
        return path;
    }
    let root = dir.join(set.name);
    for (i, (path, len)) in set.files.iter().enumerate() {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content(i, *len)).unwrap();
    }
    root
}

struct Case {
    root: PathBuf,
    set: &'static FileSet,
    piece: u64,
    mode: &'static str,
}

impl Case {
    fn label(&self) -> String {
        format!("{} {} piece {}", self.set.name, self.mode, self.piece)
    }

    fn query(&self) -> Value {
        let mut files: Vec<Vec<&str>> = self
            .set
            .files
            .iter()
            .map(|(p, _)| p.split('/').collect())
            .collect();
        files.sort_by_key(|p| p.join("/"));
        json!({
            "root": self.root, "files": files, "piece": self.piece, "mode": self.mode,
            "torf": self.set.torf && self.mode == "v1" && self.piece != 0,
        })
    }

    fn ferry(&self, out: &Path) -> Metainfo {
        let mut cmd = Command::new(ferry_bin());
        cmd.args(["torrent", "create", &format!("--{}", self.mode), "-o"])
            .arg(out)
            .arg(&self.root);
        if self.piece != 0 {
            cmd.args(["--piece-size", &self.piece.to_string()]);
        }
        let done = cmd.output().expect("running ferry");
        assert!(
            done.status.success(),
            "{}: {}",
            self.label(),
            String::from_utf8_lossy(&done.stderr)
        );
        let magnet = String::from_utf8(done.stdout).unwrap();
        let torrent = Metainfo::parse(&std::fs::read(out).unwrap()).unwrap();
        let v1 = torrent.info.hashes.v1.map(hex_of);
        assert_eq!(magnet.contains("urn:btih:"), v1.is_some(), "{magnet}");
        if let Some(v1) = v1 {
            assert!(
                magnet.starts_with(&format!("magnet:?xt=urn:btih:{v1}")),
                "{magnet}"
            );
        }
        torrent
    }
}

fn hex_of<const N: usize>(bytes: [u8; N]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn known_answers(cases: &[Case]) -> Vec<Value> {
    let python = default_peers_dir().join("venv/bin/python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/torrent_known.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running the peers' python");
    let queries: Vec<Value> = cases.iter().map(Case::query).collect();
    let stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut stdin = stdin;
        stdin
            .write_all(Value::from(queries).to_string().as_bytes())
            .unwrap();
    });
    let done = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(done.status.success(), "torrent_known.py failed");
    let text = String::from_utf8(done.stdout).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ferry_makes_what_libtorrent_and_torf_make() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for set in SETS {
        let root = write_set(dir.path(), set);
        for &piece in PIECES {
            for &mode in MODES {
                cases.push(Case {
                    root: root.clone(),
                    set,
                    piece,
                    mode,
                });
            }
        }
    }
    let answers = known_answers(&cases);
    assert_eq!(answers.len(), cases.len());
    let torf = answers
        .iter()
        .filter(|a| a.get("torf_info").is_some())
        .count();
    assert_eq!(
        torf, 6,
        "torf answers: one.bin and edges, v1, three piece sizes"
    );
    for (i, (case, answer)) in cases.iter().zip(&answers).enumerate() {
        let ours = case.ferry(&dir.path().join(format!("{i}.torrent")));
        let label = case.label();
        let info = unhex(answer["info"].as_str().unwrap());
        assert!(ours.info_bytes == info, "{label}: info dictionaries differ");
        let layers: BTreeMap<String, String> =
            serde_json::from_value(answer["layers"].clone()).unwrap();
        let ours_layers: BTreeMap<String, String> = ours
            .piece_layers
            .iter()
            .map(|(root, layer)| (hex_of(*root), layer.iter().map(|h| hex_of(*h)).collect()))
            .collect();
        assert_eq!(ours_layers, layers, "{label}: piece layers");
        if let Some(torf) = answer.get("torf_info") {
            assert!(
                ours.info_bytes == unhex(torf.as_str().unwrap()),
                "{label}: torf differs"
            );
        }
        let theirs = Metainfo::parse(&unhex(answer["torrent"].as_str().unwrap()))
            .unwrap_or_else(|e| panic!("{label}: ferry refuses libtorrent's torrent: {e}"));
        assert_eq!(theirs.info, ours.info, "{label}: parsed differently");
        assert_eq!(theirs.piece_layers, ours.piece_layers, "{label}");
    }
}

#[test]
fn an_existing_torrent_is_never_overwritten_and_help_teaches() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let out = dir.path().join("f.torrent");
    std::fs::write(&out, b"mine").unwrap();
    let done = Command::new(ferry_bin())
        .args(["torrent", "create", "-o"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(5), "refused locally");
    assert!(String::from_utf8_lossy(&done.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), b"mine");
    let help = Command::new(ferry_bin())
        .args(["torrent", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("ferry torrent create"));
}
