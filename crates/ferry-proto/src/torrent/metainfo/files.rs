//! The file list of an info dictionary: v1 `length` / `files`, the v2 `file tree`,
//! and a hybrid's check that both describe the same files.

use std::collections::BTreeMap;

use super::{
    hash32, length, req, too_many, FileEntry, MetainfoError, Result, Version, MAX_FILES,
    MAX_PATH_DEPTH,
};
use crate::torrent::bencode::{Dict, Value};
use crate::torrent::merkle::Hash;

pub(super) struct Layout {
    pub(super) single_file: bool,
    pub(super) files: Vec<FileEntry>,
}

/// A name or path element that stays where it is put: not empty, `.` or `..`, and
/// without a separator (`/`, `\`) or NUL. Refused, never cleaned up.
pub(super) fn element(value: &Value<'_>, key: &'static str) -> Result<String> {
    let bytes = value.as_bytes().ok_or(MetainfoError::WrongType(key))?;
    let unsafe_path = || MetainfoError::UnsafePath(String::from_utf8_lossy(bytes).into_owned());
    let s = std::str::from_utf8(bytes).map_err(|_| unsafe_path())?;
    match is_safe_element(s) {
        true => Ok(s.to_owned()),
        false => Err(unsafe_path()),
    }
}

/// See [`element`]; the builder checks local names with it too.
pub(crate) fn is_safe_element(s: &str) -> bool {
    !matches!(s, "" | "." | "..") && !s.contains(['/', '\\', '\0'])
}

pub(super) fn layout(d: &Dict<'_>, version: Version, name: &str, piece: u64) -> Result<Layout> {
    let layout = match version {
        Version::V1 => v1_layout(d, name)?,
        Version::V2 => v2_layout(d, piece)?,
        Version::Hybrid => hybrid_layout(d, name, piece)?,
    };
    if layout.files.iter().all(|f| f.pad) {
        return Err(MetainfoError::NoFiles);
    }
    no_clashes(&layout.files)?;
    Ok(layout)
}

fn v1_layout(d: &Dict<'_>, name: &str) -> Result<Layout> {
    let Some(files) = d.get(b"files") else {
        let length = length(req(d, "length")?, "length")?;
        check_total(length)?;
        let file = entry(vec![name.to_owned()], length, 0, false);
        return Ok(Layout {
            single_file: true,
            files: vec![file],
        });
    };
    let list = files.as_list().ok_or(MetainfoError::WrongType("files"))?;
    if list.len() > MAX_FILES {
        return Err(too_many("files", MAX_FILES as u64));
    }
    let mut offset = 0u64;
    let mut out = Vec::with_capacity(list.len());
    for file in list {
        let file = file.as_dict().ok_or(MetainfoError::WrongType("files"))?;
        let len = length(req(file, "length")?, "length")?;
        let path = path(req(file, "path")?)?;
        let pad = match file.get(b"attr") {
            Some(attr) => attr
                .as_bytes()
                .ok_or(MetainfoError::WrongType("attr"))?
                .contains(&b'p'),
            None => false,
        };
        out.push(entry(path, len, offset, pad));
        offset = offset.checked_add(len).ok_or(MetainfoError::Overflow)?;
        check_total(offset)?;
    }
    Ok(Layout {
        single_file: false,
        files: out,
    })
}

fn path(value: &Value<'_>) -> Result<Vec<String>> {
    let list = value.as_list().ok_or(MetainfoError::WrongType("path"))?;
    if list.is_empty() {
        return Err(MetainfoError::UnsafePath(String::new()));
    }
    if list.len() > MAX_PATH_DEPTH {
        return Err(too_many("path elements", MAX_PATH_DEPTH as u64));
    }
    list.iter().map(|e| element(e, "path")).collect()
}

/// Torrents address bytes with signed 64-bit offsets (as libtorrent does).
fn check_total(total: u64) -> Result<()> {
    match i64::try_from(total) {
        Ok(_) => Ok(()),
        Err(_) => Err(MetainfoError::Overflow),
    }
}

fn entry(path: Vec<String>, length: u64, offset: u64, pad: bool) -> FileEntry {
    FileEntry {
        path,
        length,
        offset,
        pad,
        pieces_root: None,
    }
}

/// A file of the v2 tree, before offsets.
struct TreeFile {
    path: Vec<String>,
    length: u64,
    root: Option<Hash>,
}

fn v2_layout(d: &Dict<'_>, piece: u64) -> Result<Layout> {
    let (single_file, tree) = v2_files(d)?;
    let mut offset = 0u64;
    let mut files = Vec::with_capacity(tree.len());
    for f in tree {
        let mut e = entry(f.path, f.length, offset, false);
        e.pieces_root = f.root;
        let aligned = round_up(f.length, piece)?;
        offset = offset.checked_add(aligned).ok_or(MetainfoError::Overflow)?;
        check_total(offset)?;
        files.push(e);
    }
    // The byte space ends where the last file does, not at its piece boundary.
    Ok(Layout { single_file, files })
}

fn round_up(n: u64, to: u64) -> Result<u64> {
    n.div_ceil(to)
        .checked_mul(to)
        .ok_or(MetainfoError::Overflow)
}

/// The v2 tree's files in tree order; a tree of one file at the top is a
/// single-file torrent (libtorrent's reading).
fn v2_files(d: &Dict<'_>) -> Result<(bool, Vec<TreeFile>)> {
    let tree = req(d, "file tree")?
        .as_dict()
        .ok_or(MetainfoError::WrongType("file tree"))?;
    let mut files = Vec::new();
    walk(tree, &mut Vec::new(), &mut files)?;
    let single = tree.entries().len() == 1 && files.len() == 1 && files[0].path.len() == 1;
    Ok((single, files))
}

fn walk(node: &Dict<'_>, at: &mut Vec<String>, out: &mut Vec<TreeFile>) -> Result<()> {
    if at.len() > MAX_PATH_DEPTH {
        return Err(too_many("path elements", MAX_PATH_DEPTH as u64));
    }
    if let Some(leaf) = node.get(b"") {
        if node.entries().len() != 1 || at.is_empty() {
            return Err(MetainfoError::WrongType("file tree"));
        }
        return leaf_file(leaf, at, out);
    }
    for (key, child) in node.entries() {
        let child = child
            .as_dict()
            .ok_or(MetainfoError::WrongType("file tree"))?;
        at.push(element(&Value::Bytes(key), "file tree")?);
        walk(child, at, out)?;
        at.pop();
    }
    Ok(())
}

fn leaf_file(leaf: &Value<'_>, at: &[String], out: &mut Vec<TreeFile>) -> Result<()> {
    if out.len() >= MAX_FILES {
        return Err(too_many("files", MAX_FILES as u64));
    }
    let leaf = leaf
        .as_dict()
        .ok_or(MetainfoError::WrongType("file tree"))?;
    let length = length(req(leaf, "length")?, "length")?;
    let root = match (length, leaf.get(b"pieces root")) {
        (0, _) => None,
        (_, None) => return Err(MetainfoError::Missing("pieces root")),
        (_, Some(v)) => Some(
            v.as_bytes()
                .and_then(hash32)
                .ok_or(MetainfoError::WrongType("pieces root"))?,
        ),
    };
    out.push(TreeFile {
        path: at.to_vec(),
        length,
        root,
    });
    Ok(())
}

/// The v1 list (with its pad files) is the layout; each real file must be in the v2
/// tree with the same length, start on a piece boundary, and take its root from it.
fn hybrid_layout(d: &Dict<'_>, name: &str, piece: u64) -> Result<Layout> {
    let mut layout = v1_layout(d, name)?;
    // libtorrent writes a directory of one file with a v2 tree of one file at the
    // top, which reads as single-file: the v1 form decides, the paths must agree.
    let (_, tree) = v2_files(d)?;
    let mut by_path: BTreeMap<Vec<String>, (u64, Option<Hash>)> = tree
        .into_iter()
        .map(|f| (f.path, (f.length, f.root)))
        .collect();
    for file in layout.files.iter_mut().filter(|f| !f.pad) {
        let (len, root) = by_path
            .remove(&file.path)
            .ok_or(MetainfoError::HybridMismatch(
                "a v1 file is not in the tree",
            ))?;
        if len != file.length {
            return Err(MetainfoError::HybridMismatch("lengths"));
        }
        if file.length > 0 && file.offset % piece != 0 {
            return Err(MetainfoError::HybridMismatch(
                "a file not on a piece boundary",
            ));
        }
        file.pieces_root = root;
    }
    match by_path.is_empty() {
        true => Ok(layout),
        false => Err(MetainfoError::HybridMismatch("a tree file is not in v1")),
    }
}

/// No two real files at the same path, and none under another's path.
fn no_clashes(files: &[FileEntry]) -> Result<()> {
    let mut paths: Vec<&Vec<String>> = files.iter().filter(|f| !f.pad).map(|f| &f.path).collect();
    paths.sort();
    for pair in paths.windows(2) {
        if pair[1].starts_with(pair[0]) {
            return Err(MetainfoError::PathClash(pair[1].join("/")));
        }
    }
    Ok(())
}
