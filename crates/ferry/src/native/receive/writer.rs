//! Writing received groups: a verifying thread and a writing thread behind the
//! network task. Only verified groups reach the partial file, and the resume state
//! only ever lists groups already synced to disk (`saver`). A complete file is
//! synced, given its mode and time, and renamed into place without replacing
//! anything; then its state file goes. A file streamed before its root
//! (`late-roots`) is hashed as it comes and reaches the hidden partial file
//! unverified: it is renamed into place only once its hashes merge to the
//! sender's root, and its state says its root is unknown (see `ResumeState`).

use std::collections::HashSet;
use std::fs::{self, File};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use ferry_proto::native::manifest::Mtime;
use ferry_proto::native::resume::ResumeState;
use ferry_proto::native::tree::{Hash32, Layout, Tree, TreeBuilder};
use ferry_proto::transfer::path::escape_for_terminal;

use crate::error::{join_error, Error, PeerError, Result};
use crate::transfer::landing::{
    file_mode, open_nofollow, rename_noreplace, resume_paths, system_time, ResumePaths,
};
use crate::transfer::shown_path;

use super::saver::{save_now, Saver};

/// The state file is rewritten (in the background) after this many new bytes…
const SAVE_BYTES: u64 = 32 << 20;
/// …or this much time, whichever comes first.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// One file the writer is about to receive.
pub(super) struct FileJob {
    pub(super) target: PathBuf,
    /// The name as the sender gave it (what error messages show).
    pub(super) name: String,
    pub(super) check: Check,
    pub(super) state: ResumeState,
    pub(super) mode: u32,
    pub(super) mtime: Mtime,
}

/// What a file's groups are checked against.
pub(super) enum Check {
    /// The tree that came first: each group before it is written.
    Tree(Tree),
    /// Nothing yet: the groups' hashes must merge to the `Job::Root` after them.
    Late(Layout),
}

impl Check {
    fn layout(&self) -> &Layout {
        match self {
            Check::Tree(tree) => tree.layout(),
            Check::Late(layout) => layout,
        }
    }
}

/// Work for the writer, in order: `Begin`, the file's groups, (`Root`,) `End`;
/// and `Flush` to move every completed file into place.
pub(super) enum Job {
    Begin(Box<FileJob>),
    /// A group's bytes: `buf[start..]` (the record buffer, handed over uncopied).
    Group {
        group: u32,
        buf: Vec<u8>,
        start: usize,
    },
    /// The sender's root of a `Check::Late` file, after its last group.
    Root(Hash32),
    End,
    Flush,
}

/// Two threads behind the network: one verifies each group against its file's
/// tree, the other writes verified groups, keeps the resume state and finishes
/// files. Hashing and writing thus overlap each other and the network. Record
/// buffers go back to `recycle` once written.
pub(super) struct Writer {
    tx: Option<mpsc::Sender<Job>>,
    verifier: Option<JoinHandle<Result<()>>>,
    writer: Option<JoinHandle<Result<()>>>,
    /// Closed when the writing thread is done, interrupted state saved.
    done: Option<std::sync::mpsc::Receiver<()>>,
}

/// How long a dropped writer waits for the interrupted file's state to be saved.
const SAVE_ON_DROP: Duration = Duration::from_secs(10);

impl Writer {
    /// `depth` jobs may wait before each thread.
    pub(super) fn spawn(depth: usize, recycle: std::sync::mpsc::Sender<Vec<u8>>) -> Self {
        let (tx, rx) = mpsc::channel(depth);
        let (verified_tx, verified_rx) = mpsc::channel(depth);
        let (done_tx, done) = std::sync::mpsc::channel();
        let verifier = tokio::task::spawn_blocking(move || verify(rx, verified_tx));
        let writer = tokio::task::spawn_blocking(move || {
            let result = run(verified_rx, recycle);
            drop(done_tx);
            result
        });
        Writer {
            tx: Some(tx),
            verifier: Some(verifier),
            writer: Some(writer),
            done: Some(done),
        }
    }

    /// Queues a job; if a thread stopped, its error is returned instead.
    pub(super) async fn send(&mut self, job: Job) -> Result<()> {
        if let Some(tx) = &self.tx {
            if tx.send(job).await.is_ok() {
                return Ok(());
            }
        }
        match self.finish().await {
            Err(e) => Err(e),
            Ok(()) => Err(Error::internal("the writer stopped early")),
        }
    }

    /// Waits for every queued job; an interrupted file's state is saved. A failed
    /// verification is the first cause of whatever the writer then reports.
    pub(super) async fn finish(&mut self) -> Result<()> {
        self.tx = None;
        let verified = join(self.verifier.take()).await;
        let written = join(self.writer.take()).await;
        self.done = None;
        verified.and(written)
    }
}

impl Drop for Writer {
    /// Dropped unfinished (a cancelled transfer's future is dropped whole): the
    /// threads still save the interrupted file's state. Wait for that, briefly,
    /// so that the data is on disk when the user is told it was kept, and not
    /// cut short by the process exiting.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(done) = self.done.take() {
            let _ = done.recv_timeout(SAVE_ON_DROP);
        }
    }
}

async fn join(handle: Option<JoinHandle<Result<()>>>) -> Result<()> {
    match handle {
        Some(handle) => handle.await.map_err(join_error)?,
        None => Ok(()),
    }
}

/// How the verifying thread checks the file at hand.
enum Verifying {
    Tree(Tree),
    /// Hashing as the groups come, for the root that follows them.
    Late(TreeBuilder),
}

/// The verifying thread: passes on every job, each group only once it checked
/// out against its file's tree, and a late file's `End` only once its groups
/// hash to the sender's root.
fn verify(mut rx: mpsc::Receiver<Job>, tx: mpsc::Sender<Job>) -> Result<()> {
    let mut current: Option<(Verifying, String)> = None;
    while let Some(job) = rx.blocking_recv() {
        match &job {
            Job::Begin(file) => {
                let verifying = match &file.check {
                    Check::Tree(tree) => Verifying::Tree(tree.clone()),
                    Check::Late(layout) => Verifying::Late(TreeBuilder::new(*layout)),
                };
                current = Some((verifying, file.name.clone()));
            }
            Job::Group { group, buf, start } => {
                let (verifying, name) = current.as_mut().ok_or_else(out_of_order)?;
                let bytes = buf.get(*start..).unwrap_or_default();
                let checked = match verifying {
                    Verifying::Tree(tree) => tree.verify_group((*group).into(), bytes),
                    Verifying::Late(builder) => builder.add_group(bytes),
                };
                checked.map_err(|e| {
                    let name = escape_for_terminal(name);
                    PeerError::Integrity(format!(
                        "{name}: {e}; nothing of it was kept (did the file change while it was sent?)"
                    ))
                })?;
            }
            Job::Root(root) => match current.take() {
                Some((Verifying::Late(builder), name)) => late_root(builder, root, &name)?,
                _ => return Err(out_of_order()),
            },
            Job::End | Job::Flush => {}
        }
        if tx.blocking_send(job).is_err() {
            return Ok(()); // the writer stopped and says why
        }
    }
    Ok(())
}

/// Checks a streamed file's groups against the sender's root.
fn late_root(builder: TreeBuilder, root: &Hash32, name: &str) -> Result<()> {
    let ours = builder
        .finish()
        .map_err(|e| Error::internal(e.to_string()))?;
    match ours.root() == root {
        true => Ok(()),
        false => Err(PeerError::Integrity(format!(
            "{}: the data received does not hash to the sender's root; it was not put \
             in place (did the file change while it was sent?)",
            escape_for_terminal(name)
        ))
        .into()),
    }
}

/// The writing thread: it only ever sees verified groups.
fn run(mut rx: mpsc::Receiver<Job>, recycle: std::sync::mpsc::Sender<Vec<u8>>) -> Result<()> {
    let mut current: Option<ResumeFile> = None;
    let mut ready = Ready::default();
    let result = (|| {
        while let Some(job) = rx.blocking_recv() {
            match job {
                Job::Begin(job) => current = Some(ResumeFile::open(*job)?),
                Job::Group { group, buf, start } => {
                    let partial = current.as_mut().ok_or_else(out_of_order)?;
                    partial.write(group, buf.get(start..).unwrap_or_default())?;
                    let _ = recycle.send(buf);
                }
                Job::End => ready.push(current.take().ok_or_else(out_of_order)?.complete()?)?,
                Job::Flush => ready.flush()?,
                Job::Root(_) => {} // the verifier checked it
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
        file.map_err(|e| {
            Error::io(
                format!("syncing the received data of {}", shown_path(&self.target)),
                e,
            )
        })
    }

    fn place(&self) -> Result<()> {
        let target = &self.target;
        rename_noreplace(&self.data, target).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::exists(target.clone()),
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
    Error::internal("writer jobs out of order")
}

/// A file being received.
struct ResumeFile {
    job: FileJob,
    file: File,
    paths: ResumePaths,
    unsaved: u64,
    saved_at: Instant,
    saver: Saver,
}

impl ResumeFile {
    fn open(job: FileJob) -> Result<Self> {
        let paths = resume_paths(&job.target);
        let file = open_nofollow(&paths.data, true)
            .map_err(|e| Error::io(format!("writing {}", shown_path(&job.target)), e))?;
        Ok(ResumeFile {
            job,
            file,
            paths,
            unsaved: 0,
            saved_at: Instant::now(),
            saver: Saver::default(),
        })
    }

    /// Writes a verified group.
    fn write(&mut self, group: u32, bytes: &[u8]) -> Result<()> {
        let (start, len) = self.job.check.layout().group_span(group.into());
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
        let groups = self.job.check.layout().groups();
        if u64::from(self.job.state.verified().count()) != groups {
            return Err(Error::internal("a file ended with groups missing"));
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
            size: self.job.check.layout().size(),
            dev,
        })
    }

    /// An I/O error named by the user's file, never by ferry's hidden resume files.
    fn io(&self, what: &str, e: std::io::Error) -> Error {
        Error::io(format!("{what} {}", shown_path(&self.job.target)), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two groups and a bit of one file, streamed before its root (`late-roots`)
    /// into `dir/got`, then `root`; what the writer ends with.
    async fn streamed(dir: &Path, data: &[u8], root: Hash32) -> Result<()> {
        let layout = Layout::for_size(data.len() as u64);
        let (recycle, _spent) = std::sync::mpsc::channel();
        let mut writer = Writer::spawn(4, recycle);
        let job = FileJob {
            target: dir.join("got"),
            name: "got".into(),
            check: Check::Late(layout),
            state: ResumeState::unrooted(layout),
            mode: 0o644,
            mtime: Mtime::default(),
        };
        let mut jobs = vec![Job::Begin(Box::new(job))];
        for g in 0..layout.groups() {
            let (start, len) = layout.group_span(g);
            let buf = data[start as usize..(start + len) as usize].to_vec();
            let group = g as u32;
            jobs.push(Job::Group {
                group,
                buf,
                start: 0,
            });
        }
        jobs.extend([Job::Root(root), Job::End, Job::Flush]);
        // A thread that stopped says why from the next `send` (as the driver
        // sees it), else from `finish`.
        for job in jobs {
            writer.send(job).await?;
        }
        writer.finish().await
    }

    fn data() -> Vec<u8> {
        (0..600_000u32).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_streamed_file_is_put_in_place_when_its_root_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let data = data();
        streamed(dir.path(), &data, *blake3::hash(&data).as_bytes())
            .await
            .expect("the root agrees");
        assert!(fs::read(dir.path().join("got")).unwrap() == data);
        let paths = resume_paths(&dir.path().join("got"));
        assert!(!paths.data.exists() && !paths.state.exists());
    }

    #[tokio::test]
    async fn a_streamed_file_whose_root_differs_never_gets_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let e = streamed(dir.path(), &data(), [7; 32]).await.unwrap_err();
        assert!(matches!(e, Error::Peer(PeerError::Integrity(_))), "{e:?}");
        assert!(!dir.path().join("got").exists());
        // What was written stays hidden, vouched for by no root: a later run
        // checks every group of it against the file's tree first.
        let paths = resume_paths(&dir.path().join("got"));
        let state = ResumeState::decode(&fs::read(&paths.state).unwrap()).unwrap();
        assert!(!state.is_rooted());
    }
}
