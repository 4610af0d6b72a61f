//! Snapshots of file trees (names, kinds, sizes, SHA-256) from a directory, a zip or a tar,
//! and readable differences between two snapshots.
//!
//! Every snapshot lists all directories, including the ones an archive only implies through
//! its members' paths, so that a directory on disk and an archive of it compare equal.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File { size: u64, sha256: String },
}

impl Node {
    /// The node of an empty file.
    pub fn empty_file() -> Node {
        Node::File {
            size: 0,
            sha256: hex::encode(Sha256::digest(b"")),
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Dir => f.write_str("directory"),
            Node::File { size, sha256 } => write!(f, "file of {size} bytes, sha256 {sha256}"),
        }
    }
}

/// Relative `/`-separated path → node. The root itself is not an entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree(pub BTreeMap<String, Node>);

impl Tree {
    /// Snapshot of the directory `root`. Symlinks are not followed (none are expected).
    pub fn of_dir(root: &Path) -> io::Result<Tree> {
        let mut tree = Tree::default();
        tree.walk(root, "")?;
        Ok(tree)
    }

    fn walk(&mut self, dir: &Path, prefix: &str) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            let kind = entry.file_type()?;
            if kind.is_dir() {
                self.0.insert(rel.clone(), Node::Dir);
                self.walk(&entry.path(), &format!("{rel}/"))?;
            } else {
                self.0.insert(rel, file_node(&entry.path())?);
            }
        }
        Ok(())
    }

    /// Snapshot of a zip archive's members.
    pub fn of_zip(path: &Path) -> Result<Tree, String> {
        let fail = |e: &dyn fmt::Display| format!("reading zip {}: {e}", path.display());
        let file = File::open(path).map_err(|e| fail(&e))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| fail(&e))?;
        let mut tree = Tree::default();
        for i in 0..zip.len() {
            let mut member = zip.by_index(i).map_err(|e| fail(&e))?;
            let name = member.name().trim_end_matches('/').to_owned();
            let node = if member.is_dir() {
                Node::Dir
            } else {
                hash_reader(&mut member).map_err(|e| fail(&e))?
            };
            tree.insert_with_parents(name, node);
        }
        Ok(tree)
    }

    /// Snapshot of the directory `dirname` inside the tar archive at `path`, which must
    /// hold nothing else.
    ///
    /// The archive is unpacked with GNU tar: `wormhole-rs` writes directory headers whose
    /// numeric fields (size, uid, gid) are all NUL bytes, which GNU tar reads as zero but
    /// strict readers such as the `tar` crate reject.
    pub fn of_tar(path: &Path, dirname: &str) -> Result<Tree, String> {
        let fail = |e: &dyn fmt::Display| format!("reading tar {}: {e}", path.display());
        let scratch = tempfile::tempdir().map_err(|e| fail(&e))?;
        let out = Command::new("tar")
            .arg("-xf")
            .arg(path)
            .arg("-C")
            .arg(scratch.path())
            .output()
            .map_err(|e| fail(&e))?;
        if !out.status.success() {
            return Err(fail(&String::from_utf8_lossy(&out.stderr)));
        }
        let top = Tree::of_dir(scratch.path()).map_err(|e| fail(&e))?;
        let stray: Vec<&String> = top
            .0
            .keys()
            .filter(|k| *k != dirname && !k.starts_with(&format!("{dirname}/")))
            .collect();
        if !stray.is_empty() {
            return Err(fail(&format!("members outside {dirname:?}: {stray:?}")));
        }
        Tree::of_dir(&scratch.path().join(dirname)).map_err(|e| fail(&e))
    }

    fn insert_with_parents(&mut self, rel: String, node: Node) {
        let mut parent = rel.as_str();
        while let Some((dir, _)) = parent.rsplit_once('/') {
            self.0.entry(dir.to_owned()).or_insert(Node::Dir);
            parent = dir;
        }
        self.0.insert(rel, node);
    }

    /// The tree `wormhole-william` makes when it extracts a zip of this tree: it creates
    /// every zip member with `open(O_CREATE)`, so each empty directory (the only directories
    /// that have members of their own) becomes an empty file.
    pub fn with_empty_dirs_as_files(&self) -> Tree {
        let mut out = self.clone();
        for path in self.empty_dirs() {
            out.0.insert(path, Node::empty_file());
        }
        out
    }

    /// The tree without its empty directories (what a zip without directory entries holds).
    pub fn without_empty_dirs(&self) -> Tree {
        let mut out = self.clone();
        for path in self.empty_dirs() {
            out.0.remove(&path);
        }
        out
    }

    fn empty_dirs(&self) -> Vec<String> {
        let is_empty_dir = |(path, node): (&String, &Node)| {
            let prefix = format!("{path}/");
            *node == Node::Dir && !self.0.keys().any(|k| k.starts_with(&prefix))
        };
        self.0
            .iter()
            .filter(|e| is_empty_dir(*e))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Every difference between `self` (expected) and `actual`, one per line.
    pub fn differences(&self, actual: &Tree) -> Vec<String> {
        let mut diffs = Vec::new();
        for (path, want) in &self.0 {
            match actual.0.get(path) {
                None => diffs.push(format!("missing {path:?} ({want})")),
                Some(got) if got != want => {
                    diffs.push(format!("{path:?}: expected {want}, got {got}"))
                }
                Some(_) => {}
            }
        }
        for (path, got) in &actual.0 {
            if !self.0.contains_key(path) {
                diffs.push(format!("unexpected {path:?} ({got})"));
            }
        }
        diffs
    }
}

impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (path, node) in &self.0 {
            writeln!(f, "  {path}: {node}")?;
        }
        Ok(())
    }
}

/// Size and SHA-256 of the file at `path`.
pub fn file_node(path: &Path) -> io::Result<Node> {
    hash_reader(&mut File::open(path)?)
}

fn hash_reader(reader: &mut impl Read) -> io::Result<Node> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Node::File {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Panics with both trees and the differences unless `actual` equals `expected`.
pub fn assert_same_tree(expected: &Tree, actual: &Tree, context: &str) {
    let diffs = expected.differences(actual);
    assert!(
        diffs.is_empty(),
        "{context}: trees differ:\n  {}\nexpected:\n{expected}actual:\n{actual}",
        diffs.join("\n  ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::sample_tree;
    use std::io::Write;

    fn sample() -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = sample_tree(dir.path()).expect("tree");
        let tree = Tree::of_dir(&root).expect("snapshot");
        (dir, tree)
    }

    #[test]
    fn directory_snapshot_lists_every_entry() {
        let (_dir, tree) = sample();
        let names: Vec<&str> = tree.0.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "empty-dir",
                "empty.txt",
                "hello.txt",
                "nested",
                "nested/deeper",
                "nested/deeper/deepest",
                "nested/deeper/deepest/blob.bin",
                "nested/notes.md",
                "ñandú",
                "ñandú/日本語.txt",
            ]
        );
        assert_eq!(tree.0["empty.txt"], Node::empty_file());
    }

    #[test]
    fn a_changed_byte_is_a_difference() {
        let (dir, tree) = sample();
        let blob = dir.path().join("tree/nested/deeper/deepest/blob.bin");
        let mut bytes = fs::read(&blob).expect("read");
        bytes[1000] ^= 1;
        fs::write(&blob, bytes).expect("write");
        let changed = Tree::of_dir(&dir.path().join("tree")).expect("snapshot");
        let diffs = tree.differences(&changed);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert!(diffs[0].contains("blob.bin"), "{diffs:?}");
    }

    #[test]
    fn zip_with_implied_directories_matches_the_directory() {
        let (dir, tree) = sample();
        let zip_path = dir.path().join("t.zip");
        let mut zip = zip::ZipWriter::new(File::create(&zip_path).expect("create"));
        let opts = zip::write::SimpleFileOptions::default();
        for (path, node) in &tree.0 {
            let has_children = tree.0.keys().any(|k| k.starts_with(&format!("{path}/")));
            match node {
                Node::Dir if !has_children => zip.add_directory(path, opts).expect("dir"),
                Node::Dir => {}
                Node::File { .. } => {
                    zip.start_file(path, opts).expect("file");
                    let bytes = fs::read(dir.path().join("tree").join(path)).expect("read");
                    zip.write_all(&bytes).expect("write");
                }
            }
        }
        zip.finish().expect("finish");
        assert_same_tree(&tree, &Tree::of_zip(&zip_path).expect("zip"), "zip");
    }

    #[test]
    fn tar_members_under_the_dirname_match_the_directory() {
        let (dir, tree) = sample();
        let tar_path = dir.path().join("t.tar");
        let status = Command::new("tar")
            .arg("-cf")
            .arg(&tar_path)
            .arg("-C")
            .arg(dir.path())
            .arg("tree")
            .status()
            .expect("running tar");
        assert!(status.success());
        assert_same_tree(&tree, &Tree::of_tar(&tar_path, "tree").expect("tar"), "tar");
    }

    #[test]
    fn william_turns_only_empty_directories_into_files() {
        let (_dir, tree) = sample();
        let flattened = tree.with_empty_dirs_as_files();
        assert_eq!(flattened.0["empty-dir"], Node::empty_file());
        assert_eq!(flattened.0["nested"], Node::Dir);
        assert_eq!(tree.differences(&flattened).len(), 1);
    }
}
