//! Where received data lives until it is complete: a partial file and a resume
//! state file beside each target, under names fixed by the target's name
//! (`.NAME.ferry-resume` and `.NAME.ferry-resume-state`) so a later transfer of the
//! same file finds them. Only verified groups are written, and the state file only
//! ever lists groups already synced to disk. A complete file is synced, given its
//! mode and time, and renamed into place without replacing anything; then its state
//! file goes.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::OFlags;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use ferry_proto::native::manifest::Mtime;
use ferry_proto::native::ranges::GroupSet;
use ferry_proto::native::resume::ResumeState;
use ferry_proto::native::tree::Tree;
use ferry_proto::transfer::path::{escape_for_terminal, MAX_COMPONENT_LEN};

use crate::error::{Error, Result};
use crate::fs::rename_noreplace;

use super::hash::{hash_open, read_span};
use super::local::{file_mode, system_time, Existing};
use super::saver::{save_now, Saver};
use super::send::join_error;

/// The state file is rewritten (in the background) after this many new bytes…
const SAVE_BYTES: u64 = 32 << 20;
/// …or this much time, whichever comes first.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);
/// Jobs queued for the writer thread (up to 8 MiB of groups).
const QUEUE: usize = 32;

/// The resume files of one target.
pub(super) struct ResumePaths {
    pub(super) data: PathBuf,
    pub(super) state: PathBuf,
    state_tmp: PathBuf,
}

/// The resume file names beside `target`. A name too long to carry the suffixes is
/// shortened and made unique again with a hash of the full name.
pub(super) fn resume_paths(target: &Path) -> ResumePaths {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let longest_suffix = ".ferry-resume-state~".len() + 1;
    let stem = if name.len() + longest_suffix <= MAX_COMPONENT_LEN {
        name
    } else {
        let mut cut = MAX_COMPONENT_LEN - longest_suffix - 17;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        let tag = &blake3::hash(name.as_bytes()).to_hex()[..16];
        format!("{}~{tag}", &name[..cut])
    };
    ResumePaths {
        data: dir.join(format!(".{stem}.ferry-resume")),
        state: dir.join(format!(".{stem}.ferry-resume-state")),
        state_tmp: dir.join(format!(".{stem}.ferry-resume-state~")),
    }
}

/// What to do about one file of a batch.
pub(super) enum FilePlan {
    /// The target already holds exactly this content.
    AlreadyThere,
    /// Receive the groups not yet verified in `state`.
    Receive { state: ResumeState, resumed: u64 },
}

/// Decides, from what is on disk, what to ask for (blocking: it hashes).
pub(super) fn plan_file(target: &Path, existing: Existing, tree: &Tree) -> Result<FilePlan> {
    let paths = resume_paths(target);
    if existing == Existing::SameSize {
        return match identical(target, tree)? {
            true => {
                discard(&paths); // leftovers of an earlier run are of no use now
                Ok(FilePlan::AlreadyThere)
            }
            false => Err(Error::Exists(target.to_owned())),
        };
    }
    let saved = fs::read(&paths.state)
        .ok()
        .and_then(|b| ResumeState::decode(&b));
    let state = match saved.filter(|s| s.matches(tree)) {
        Some(state) => recheck(&paths.data, tree, state),
        None => {
            discard(&paths);
            ResumeState::new(tree)
        }
    };
    let resumed = state.verified_bytes();
    Ok(FilePlan::Receive { state, resumed })
}

/// Whether the existing target has the offered content.
fn identical(target: &Path, tree: &Tree) -> Result<bool> {
    let file = open_nofollow(target, false)
        .map_err(|e| Error::io(format!("reading {}", target.display()), e))?;
    let ours = hash_open(&file, tree.layout().size())
        .map_err(|e| Error::io(format!("reading {}", target.display()), e))?;
    Ok(ours.root() == tree.root())
}

/// Verifies again every group the state claims; a group that no longer checks out
/// (disk trouble, or a torn write before a crash) is asked for again.
fn recheck(data: &Path, tree: &Tree, mut state: ResumeState) -> ResumeState {
    let Ok(file) = open_nofollow(data, false) else {
        return ResumeState::new(tree);
    };
    let claimed: Vec<u32> = state.verified().iter().collect();
    let mut buf = Vec::new();
    for g in claimed {
        let (start, len) = tree.layout().group_span(g.into());
        let ok = read_span(&file, start, len, &mut buf).is_ok()
            && tree.verify_group(g.into(), &buf).is_ok();
        state.set(g, ok);
    }
    state
}

/// Removes stale resume files (ours by name; a link there is removed, not followed).
fn discard(paths: &ResumePaths) {
    let _ = fs::remove_file(&paths.data);
    let _ = fs::remove_file(&paths.state);
}

fn open_nofollow(path: &Path, write: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .read(!write)
        .write(write)
        .custom_flags(OFlags::NOFOLLOW.bits() as i32);
    if write {
        options.create(true).mode(0o600);
    }
    let file = options.open(path)?;
    match file.metadata()?.is_file() {
        true => Ok(file),
        false => Err(std::io::Error::other("not a regular file")),
    }
}

/// One file the writer is about to receive.
pub(super) struct FileJob {
    pub(super) target: PathBuf,
    /// The name as the sender gave it (what error messages show).
    pub(super) name: String,
    pub(super) tree: Tree,
    pub(super) state: ResumeState,
    pub(super) mode: u32,
    pub(super) mtime: Mtime,
}

/// Work for the writer thread, in order: `Begin`, the file's groups, `End`; and
/// `Flush` to move every completed file into place.
pub(super) enum Job {
    Begin(Box<FileJob>),
    /// A group's bytes: `buf[start..]` (the record buffer, handed over uncopied).
    Group {
        group: u32,
        buf: Vec<u8>,
        start: usize,
    },
    End,
    Flush,
}

/// The writer thread: verifies each group against its file's tree, writes it, keeps
/// the resume state and finishes files.
pub(super) struct Writer {
    tx: Option<mpsc::Sender<Job>>,
    handle: Option<JoinHandle<Result<()>>>,
}

impl Writer {
    pub(super) fn spawn() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let handle = tokio::task::spawn_blocking(move || run(rx));
        Writer {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// Queues a job; if the thread stopped, its error is returned instead.
    pub(super) async fn send(&mut self, job: Job) -> Result<()> {
        if let Some(tx) = &self.tx {
            if tx.send(job).await.is_ok() {
                return Ok(());
            }
        }
        match self.finish().await {
            Err(e) => Err(e),
            Ok(()) => Err(Error::Transit("the writer stopped early".into())),
        }
    }

    /// Waits for every queued job; an interrupted file's state is saved.
    pub(super) async fn finish(&mut self) -> Result<()> {
        self.tx = None;
        match self.handle.take() {
            Some(handle) => handle.await.map_err(join_error)?,
            None => Ok(()),
        }
    }
}

fn run(mut rx: mpsc::Receiver<Job>) -> Result<()> {
    let mut current: Option<Partial> = None;
    let mut ready = Ready::default();
    let result = (|| {
        while let Some(job) = rx.blocking_recv() {
            match job {
                Job::Begin(job) => current = Some(Partial::open(*job)?),
                Job::Group { group, buf, start } => current
                    .as_mut()
                    .ok_or_else(out_of_order)?
                    .write(group, buf.get(start..).unwrap_or_default())?,
                Job::End => ready.push(current.take().ok_or_else(out_of_order)?.complete()?)?,
                Job::Flush => ready.flush()?,
            }
        }
        Ok(())
    })();
    if let Some(partial) = current.as_mut() {
        let _ = partial.save(); // interrupted: keep what is verified for next time
    }
    // Complete files are verified whatever happened since: put them in place.
    let placed = ready.flush();
    result.and(placed)
}

/// Files fully received and verified, waiting to be synced and renamed. Syncing
/// them together costs one file-system sync instead of one per file, which is
/// what makes thousands of small files fast; they are renamed only after it.
#[derive(Default)]
struct Ready {
    files: Vec<Complete>,
    bytes: u64,
}

/// Sync and rename once this many bytes or files are waiting.
const READY_BYTES: u64 = 64 << 20;
const READY_FILES: usize = 1024;
/// Up to this many files are synced one by one; more take one `syncfs`, which
/// also flushes whatever else is dirty on that file system.
const SYNC_EACH_UP_TO: usize = 16;

impl Ready {
    fn push(&mut self, file: Complete) -> Result<()> {
        self.bytes += file.size;
        self.files.push(file);
        match self.bytes >= READY_BYTES || self.files.len() >= READY_FILES {
            true => self.flush(),
            false => Ok(()),
        }
    }

    fn flush(&mut self) -> Result<()> {
        let files = std::mem::take(&mut self.files);
        self.bytes = 0;
        if files.len() <= SYNC_EACH_UP_TO {
            files.iter().try_for_each(Complete::sync)?;
        } else {
            let mut synced = HashSet::new();
            for file in &files {
                if synced.insert(file.dev) {
                    sync_filesystem(&file.data)?;
                }
            }
        }
        files.iter().try_for_each(Complete::place)
    }
}

/// Syncs the whole file system holding `path` (data and metadata of every file).
fn sync_filesystem(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fd = File::open(dir).map_err(|e| Error::io(format!("opening {}", dir.display()), e))?;
    rustix::fs::syncfs(&fd).map_err(|e| Error::io(format!("syncing {}", dir.display()), e.into()))
}

/// A verified file, mode and time set, not yet in place.
struct Complete {
    data: PathBuf,
    state: PathBuf,
    target: PathBuf,
    size: u64,
    dev: u64,
}

impl Complete {
    fn sync(&self) -> Result<()> {
        let file = File::open(&self.data).and_then(|f| f.sync_all());
        file.map_err(|e| Error::io(format!("syncing {}", self.data.display()), e))
    }

    fn place(&self) -> Result<()> {
        let target = &self.target;
        rename_noreplace(&self.data, target).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Exists(target.clone()),
            _ => Error::io(
                format!("moving the received data to {}", target.display()),
                e,
            ),
        })?;
        let _ = fs::remove_file(&self.state);
        Ok(())
    }
}

fn out_of_order() -> Error {
    Error::Transit("writer jobs out of order".into())
}

/// A file being received.
struct Partial {
    job: FileJob,
    file: File,
    paths: ResumePaths,
    unsaved: u64,
    saved_at: Instant,
    saver: Saver,
}

impl Partial {
    fn open(job: FileJob) -> Result<Self> {
        let paths = resume_paths(&job.target);
        let file = open_nofollow(&paths.data, true)
            .map_err(|e| Error::io(format!("creating {}", paths.data.display()), e))?;
        Ok(Partial {
            job,
            file,
            paths,
            unsaved: 0,
            saved_at: Instant::now(),
            saver: Saver::default(),
        })
    }

    fn write(&mut self, group: u32, bytes: &[u8]) -> Result<()> {
        self.job
            .tree
            .verify_group(group.into(), bytes)
            .map_err(|e| {
                let name = escape_for_terminal(&self.job.name);
                Error::Integrity(format!(
                    "{name}: {e}; nothing of it was kept (did the file change while it was sent?)"
                ))
            })?;
        let (start, len) = self.job.tree.layout().group_span(group.into());
        self.file
            .write_all_at(bytes, start)
            .map_err(|e| self.io("writing", e))?;
        self.job.state.set(group, true);
        self.unsaved += len;
        if self.unsaved >= SAVE_BYTES || self.saved_at.elapsed() >= SAVE_INTERVAL {
            self.save_in_background()?;
        }
        Ok(())
    }

    fn save_in_background(&mut self) -> Result<()> {
        let (state, paths) = (self.job.state.encode(), &self.paths);
        let started = self
            .saver
            .start(&self.file, state, &paths.state, &paths.state_tmp)
            .map_err(|e| self.io("saving the resume state of", e))?;
        if started {
            self.unsaved = 0;
            self.saved_at = Instant::now();
        }
        Ok(())
    }

    /// Saves the state now (after any save still running), e.g. when interrupted.
    fn save(&mut self) -> Result<()> {
        let running = self.saver.wait();
        let paths = &self.paths;
        let now = save_now(
            &self.file,
            &self.job.state.encode(),
            &paths.state,
            &paths.state_tmp,
        );
        running
            .and(now)
            .map_err(|e| self.io("saving the resume state of", e))
    }

    /// Everything verified: set mode and time; the rename waits for a sync.
    fn complete(mut self) -> Result<Complete> {
        // A save still running would otherwise write a state file after the rename.
        self.saver
            .wait()
            .map_err(|e| self.io("saving the resume state of", e))?;
        let groups = self.job.tree.layout().groups();
        if u64::from(self.job.state.verified().count()) != groups {
            return Err(Error::Transit("a file ended with groups missing".into()));
        }
        let _ = self.file.set_modified(system_time(self.job.mtime));
        let perms = fs::Permissions::from_mode(file_mode(self.job.mode));
        self.file
            .set_permissions(perms)
            .map_err(|e| self.io("setting the mode of", e))?;
        let dev = self
            .file
            .metadata()
            .map_err(|e| self.io("checking", e))?
            .dev();
        Ok(Complete {
            data: self.paths.data,
            state: self.paths.state,
            target: self.job.target,
            size: self.job.tree.layout().size(),
            dev,
        })
    }

    fn io(&self, what: &str, e: std::io::Error) -> Error {
        Error::io(format!("{what} {}", self.paths.data.display()), e)
    }
}

/// The groups still wanted of a file, given its plan.
pub(super) fn wanted(plan: &FilePlan, tree: &Tree) -> GroupSet {
    match plan {
        FilePlan::AlreadyThere => GroupSet::empty(tree.layout().groups() as u32),
        FilePlan::Receive { state, .. } => state.verified().complement(),
    }
}
