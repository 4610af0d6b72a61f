//! What a native receiver keeps so that a new process can continue its
//! transfer (`ferry receive --resume`, or the same code again) while the
//! sender still waits in its healing loop: the mailbox to rejoin (URL, app id,
//! mailbox id, both sides, the peer messages already handled), the confirmed
//! key, the cipher, the connection attempt reached, and which directory and
//! manifest it belongs to. Never the code: a hash of it finds the entry.
//!
//! Kept in the user's state directory (`$XDG_STATE_HOME/ferry/sessions`, else
//! `~/.local/state/ferry/sessions`; directory 0700, files 0600), not in the
//! receive directory: that one may be shared or synced, and a key must not
//! travel with the data. The key lets someone who can read the user's files
//! continue this one transfer into this one directory, nothing more. An entry
//! is removed when its transfer ends (done, cancelled, failed) and counts as
//! gone once `patience` passed since it was last saved (the sender gives up
//! then): every look-up removes those.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use ferry_proto::code::Code;
use ferry_proto::crypto::kdf::SharedKey;
use ferry_proto::native::manifest::{EntryKind, Manifest};
use ferry_proto::native::negotiate::Features;
use ferry_proto::native::record::Aead;
use ferry_proto::session::Rejoin;

use crate::error::{Error, LocalError, Result};

/// The format of a session file; another number is refused, not guessed at.
const FORMAT: u32 = 1;
/// Session files end so; anything else in the directory is left alone.
const SUFFIX: &str = ".session";
/// The most a session file may hold: it is a few hundred bytes.
const MAX_FILE: u64 = 64 << 10;

/// One stored receive, as written to disk. Debug leaves the key out.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredSession {
    format: u32,
    pub(crate) mailbox_url: String,
    pub(crate) appid: String,
    pub(crate) mailbox: String,
    pub(crate) side: String,
    pub(crate) peer_side: String,
    pub(crate) peer_phases_seen: u64,
    key: String,
    aead: String,
    pub(crate) keepalive: bool,
    /// Both sides race QUIC beside TCP (absent in entries from before QUIC).
    #[serde(default)]
    pub(crate) quic: bool,
    /// Fresh files stream before their roots (absent in entries from before).
    #[serde(default)]
    pub(crate) late_roots: bool,
    /// The transit connection in use when last saved (1: the first).
    pub(crate) attempt: u32,
    /// The receive directory, canonical.
    pub(crate) output_dir: PathBuf,
    code_hash: String,
    manifest: String,
    /// Seconds since the epoch when last saved.
    saved: u64,
    /// How long the sender waits for us after a break (`--reconnect-for`).
    pub(crate) patience: u64,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("mailbox_url", &self.mailbox_url)
            .field("output_dir", &self.output_dir)
            .field("attempt", &self.attempt)
            .field("saved", &self.saved)
            .finish_non_exhaustive()
    }
}

/// The mailbox side of a session, from the wormhole.
pub(crate) struct Mailbox<'a> {
    pub(crate) url: &'a str,
    pub(crate) appid: &'a str,
    pub(crate) rejoin: Rejoin,
}

impl StoredSession {
    pub(crate) fn new(
        mailbox: Mailbox<'_>,
        (aead, features): (Aead, Features),
        (code, output_dir): (&Code, &Path),
        patience: Duration,
    ) -> StoredSession {
        let r = mailbox.rejoin;
        StoredSession {
            format: FORMAT,
            mailbox_url: mailbox.url.to_owned(),
            appid: mailbox.appid.to_owned(),
            mailbox: r.mailbox,
            side: r.side,
            peer_side: r.peer_side,
            peer_phases_seen: r.peer_phases_seen,
            key: hex::encode(r.key.as_bytes()),
            aead: aead.name().to_owned(),
            keepalive: features.keepalive,
            quic: features.quic,
            late_roots: features.late_roots,
            attempt: 1,
            output_dir: output_dir.to_owned(),
            code_hash: code_hash(code),
            manifest: String::new(),
            saved: now(),
            patience: patience.as_secs(),
        }
    }

    /// The user accepted `manifest` into `output_dir` (canonical).
    pub(crate) fn accept(&mut self, manifest: &Manifest, output_dir: PathBuf) {
        self.manifest = manifest_digest(manifest);
        self.output_dir = output_dir;
    }

    /// Connection `attempt` is made; the mailbox as it is now.
    pub(crate) fn relinked(&mut self, attempt: u32, rejoin: Option<Rejoin>) {
        self.attempt = attempt;
        if let Some(r) = rejoin {
            self.peer_phases_seen = r.peer_phases_seen;
        }
    }

    /// What `Session::resume` continues from.
    pub(crate) fn rejoin(&self) -> Result<Rejoin> {
        Ok(Rejoin {
            mailbox: self.mailbox.clone(),
            key: SharedKey::from_bytes(self.key_bytes()?),
            side: self.side.clone(),
            peer_side: self.peer_side.clone(),
            peer_phases_seen: self.peer_phases_seen,
        })
    }

    fn key_bytes(&self) -> Result<[u8; 32]> {
        let bytes = hex::decode(&self.key).ok().and_then(|b| b.try_into().ok());
        bytes.ok_or_else(|| damaged_entry("its key is not 32 bytes of hex"))
    }

    pub(crate) fn aead(&self) -> Result<Aead> {
        Aead::from_name(&self.aead).ok_or_else(|| damaged_entry("unknown cipher"))
    }

    /// Whether `manifest` is the one this session accepted.
    pub(crate) fn offers(&self, manifest: &Manifest) -> bool {
        self.manifest == manifest_digest(manifest)
    }

    /// Whether this session was made with `code`.
    pub fn made_with(&self, code: &Code) -> bool {
        self.code_hash == code_hash(code)
    }

    /// The receive directory it belongs to.
    pub fn output_dir(&self) -> &Path {
        &self.output_dir
    }

    /// Seconds left before the sender gives up waiting (as far as we know).
    pub fn seconds_left(&self) -> u64 {
        (self.saved + self.patience).saturating_sub(now())
    }

    fn name(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(self.output_dir.as_os_str().as_encoded_bytes());
        h.update(self.code_hash.as_bytes());
        format!("{}{SUFFIX}", &h.finalize().to_hex()[..32])
    }
}

/// Where session files live.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
}

impl SessionStore {
    /// `$XDG_STATE_HOME/ferry/sessions`, else `$HOME/.local/state/ferry/sessions`;
    /// `None` when neither is set.
    pub fn default_dir() -> Option<SessionStore> {
        let var = |name| std::env::var_os(name).filter(|v: &OsString| !v.is_empty());
        let state = match (var("XDG_STATE_HOME"), var("HOME")) {
            (Some(xdg), _) => PathBuf::from(xdg),
            (None, Some(home)) => Path::new(&home).join(".local/state"),
            (None, None) => return None,
        };
        Some(SessionStore::at(state.join("ferry").join("sessions")))
    }

    pub fn at(dir: PathBuf) -> SessionStore {
        SessionStore { dir }
    }

    /// Writes `session` (again), stamped now: 0600 in a 0700 directory,
    /// through a temporary file renamed into place.
    pub(crate) fn save(&self, session: &mut StoredSession) -> Result<PathBuf> {
        session.saved = now();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| Error::io(format!("creating {}", self.dir.display()), e))?;
        let path = self.dir.join(session.name());
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let json = serde_json::to_vec(session).map_err(|e| Error::internal(e.to_string()))?;
        let _ = fs::remove_file(&tmp);
        let written = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&json))
            .and_then(|()| fs::rename(&tmp, &path));
        written.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(format!("saving {}", path.display()), e)
        })?;
        Ok(path)
    }

    /// Marks `session` alive now (its file's modification time), cheaply.
    pub(crate) fn touch(&self, session: &StoredSession) {
        let path = self.dir.join(session.name());
        let touched = fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(SystemTime::now()));
        if let Err(e) = touched {
            tracing::debug!(path = %path.display(), error = %e, "session file not touched");
        }
    }

    /// Removes `session`'s file, if it is there.
    pub(crate) fn remove(&self, session: &StoredSession) {
        let path = self.dir.join(session.name());
        if let Err(e) = fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "session file not removed");
            }
        }
    }

    /// The live sessions for `output_dir` (canonical), expired ones removed on
    /// the way. A damaged file is an error only when nothing else is found,
    /// so that one bad file does not block every other directory.
    pub fn for_dir(&self, output_dir: &Path) -> Result<Vec<StoredSession>> {
        let mut found = Vec::new();
        let mut damaged = None;
        for path in self.files()? {
            match load(&path) {
                Ok(s) if s.seconds_left() == 0 => {
                    let _ = fs::remove_file(&path);
                }
                Ok(s) if s.output_dir == output_dir => found.push(s),
                Ok(_) => {}
                Err(e) => damaged = Some(e),
            }
        }
        match (found.is_empty(), damaged) {
            (true, Some(e)) => Err(e),
            _ => Ok(found),
        }
    }

    fn files(&self) -> Result<Vec<PathBuf>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("reading {}", self.dir.display()), e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_str().is_some_and(|s| s.ends_with(SUFFIX)))
            .collect();
        paths.sort();
        Ok(paths)
    }
}

/// One session file, checked: size, JSON, format, key.
fn load(path: &Path) -> Result<StoredSession> {
    let damaged = |why: String| {
        Error::from(LocalError::DamagedSession {
            path: path.to_owned(),
            why,
        })
    };
    let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_FILE {
        return Err(damaged(format!("{len} bytes is too large")));
    }
    let bytes = fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut session: StoredSession =
        serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
    // Touched while data moved: the last sign of life.
    let modified = fs::metadata(path).and_then(|m| m.modified()).ok();
    let touched = modified.and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    session.saved = session.saved.max(touched.map_or(0, |d| d.as_secs()));
    if session.format != FORMAT {
        return Err(damaged(format!(
            "format {} is not {FORMAT}",
            session.format
        )));
    }
    session
        .key_bytes()
        .and_then(|_| session.aead())
        .map_err(|_| damaged("its key or cipher is unreadable".into()))?;
    Ok(session)
}

fn damaged_entry(why: &str) -> Error {
    Error::internal(format!("a checked session entry: {why}"))
}

fn code_hash(code: &Code) -> String {
    let mut h = blake3::Hasher::new_derive_key("ferry 2026 stored session code");
    h.update(code.as_str().as_bytes());
    h.finalize().to_hex().to_string()
}

/// Paths, kinds and sizes in order: what the user accepted.
fn manifest_digest(manifest: &Manifest) -> String {
    let mut h = blake3::Hasher::new_derive_key("ferry 2026 stored session manifest");
    for e in manifest.entries() {
        h.update(e.path.as_str().as_bytes());
        h.update(&[0]);
        match e.kind {
            EntryKind::File { size } => h.update(&size.to_be_bytes()),
            EntryKind::Dir => h.update(b"dir"),
        };
    }
    h.finalize().to_hex().to_string()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
