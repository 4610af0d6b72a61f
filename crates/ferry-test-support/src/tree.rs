//! A sandbox directory for one test and snapshots of what is in it, so a test
//! can say exactly what a `ferry` run was allowed to change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// `root/` holds `out/` (ferry's output dir), `cwd/` (its working directory)
/// and `outside/` (a sibling with a file in it, to catch escapes).
pub struct Sandbox {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub out: PathBuf,
    pub cwd: PathBuf,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().to_owned();
        let (out, cwd) = (root.join("out"), root.join("cwd"));
        for d in [&out, &cwd, &root.join("outside")] {
            std::fs::create_dir(d).expect("sandbox dir");
        }
        std::fs::write(root.join("outside/keep.txt"), b"precious").expect("sentinel");
        Sandbox {
            _tmp: tmp,
            root,
            out,
            cwd,
        }
    }

    pub fn snapshot(&self) -> Tree {
        Tree::of(&self.root)
    }

    /// Names in the output directory (hidden ones included), sorted.
    pub fn out_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.out)
            .expect("list out")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Asserts that no partial file or directory of ours is left in `out/`,
    /// except those named in `stale` (which the test put there itself).
    pub fn assert_no_partials(&self, stale: &[&str]) {
        for name in self.out_names() {
            if name.contains(".ferry-") && !stale.contains(&name.as_str()) {
                panic!("partial data left behind: {name}");
            }
        }
    }
}

/// What one path is: a file with a digest, a directory, or a link and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File([u8; 32]),
    Dir,
    Link(PathBuf),
    Other,
}

/// Every path under a root (relative), never following links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree(pub BTreeMap<PathBuf, Node>);

impl Tree {
    pub fn of(root: &Path) -> Tree {
        let mut map = BTreeMap::new();
        walk(root, root, &mut map);
        Tree(map)
    }

    /// Paths added, removed or changed from `self` to `after`.
    pub fn changes(&self, after: &Tree) -> Vec<String> {
        let mut out = Vec::new();
        for (p, n) in &self.0 {
            match after.0.get(p) {
                None => out.push(format!("removed {}", p.display())),
                Some(m) if m != n => out.push(format!("changed {}", p.display())),
                _ => {}
            }
        }
        for p in after.0.keys().filter(|p| !self.0.contains_key(*p)) {
            out.push(format!("added {}", p.display()));
        }
        out
    }

    /// Like [`Tree::changes`], ignoring additions under `allowed` (relative).
    pub fn changes_outside(&self, after: &Tree, allowed: &str) -> Vec<String> {
        self.changes(after)
            .into_iter()
            .filter(|c| !c.starts_with(&format!("added {allowed}/")))
            .collect()
    }
}

fn walk(root: &Path, dir: &Path, map: &mut BTreeMap<PathBuf, Node>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = path.strip_prefix(root).expect("under root").to_owned();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let node = if meta.is_symlink() {
            Node::Link(std::fs::read_link(&path).unwrap_or_default())
        } else if meta.is_dir() {
            walk(root, &path, map);
            Node::Dir
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            Node::File(Sha256::digest(&bytes).into())
        } else {
            Node::Other
        };
        map.insert(rel, node);
    }
}
