//! One transfer's batches as the receiver takes them in: planning each file of a
//! `PLAN` batch (what is there already, what to ask for), starting a `STREAM`
//! batch's fresh files, and handing every group to the writer in order.

use std::collections::HashSet;
use std::path::PathBuf;

use ferry_proto::native::machine::{NativeReceiver, RecvEvent};
use ferry_proto::native::manifest::Manifest;
use ferry_proto::native::ranges::GroupSet;
use ferry_proto::native::resume::ResumeState;
use ferry_proto::native::tree::{Layout, Tree};

use crate::error::{join_error, Error, Result};
use crate::transfer::landing::{self, resume_paths, Targets};
use crate::transfer::Report;
use crate::ui::Ui;

use super::keep::Keeping;
use super::plan::{plan_file, wanted, FilePlan, Seen};
use super::writer::{Check, FileJob, Job, Writer};
use super::{flush, next_event};
use crate::native::current::{self, CurrentFile};
use crate::native::link::{native_error, Link};

pub(super) struct BatchState<'a> {
    pub(super) manifest: &'a Manifest,
    pub(super) targets: &'a Targets,
    pub(super) report: Report,
    /// The files of the batch being received.
    pub(super) files: Vec<Planned>,
    pub(super) current: CurrentFile,
    pub(super) keeping: Option<&'a mut Keeping>,
    /// The files planned so far by this process, on any connection.
    pub(super) known: &'a mut HashSet<u32>,
    /// The batch being received streams (`STREAM`): each file ends with its root.
    pub(super) streaming: bool,
}

/// One file of the batch being received.
pub(super) struct Planned {
    n: u32,
    job: Option<Box<FileJob>>,
    wanted: GroupSet,
    begun: bool,
}

impl BatchState<'_> {
    /// Answers the machine's requests until every batch is in.
    pub(super) async fn receive_all(
        &mut self,
        (link, machine): (&mut Link, &mut NativeReceiver),
        writer: &mut Writer,
        ui: &mut dyn Ui,
    ) -> Result<()> {
        loop {
            match next_event(link, machine).await? {
                RecvEvent::Stream { first, layouts } => {
                    self.files = self.stream(first, layouts).await?;
                    self.streaming = true;
                    ui.present(self.report.present(), self.report.bytes);
                }
                RecvEvent::Root { file, root } => {
                    current::rooted(self.manifest, file, root, ui);
                    begin_up_to(&mut self.files, file, writer, true).await?;
                    writer.send(Job::Root(root)).await?;
                    writer.send(Job::End).await?;
                }
                RecvEvent::Plan { first, trees } => {
                    self.streaming = false;
                    current::hashed(self.manifest, first, &trees, ui);
                    let before = self.report.resumed;
                    self.files = self.plan(first, trees).await?;
                    if self.report.resumed > before {
                        ui.resuming(self.report.resumed - before, self.report.bytes);
                    }
                    let wanted = self.files.iter().map(|f| f.wanted.clone()).collect();
                    machine.planned(wanted).map_err(native_error)?;
                    flush(link, machine).await?;
                    ui.present(self.report.present(), self.report.bytes);
                }
                RecvEvent::Write {
                    file,
                    group,
                    len,
                    last_of_file,
                    ..
                } => {
                    // The machine checked the frame; its bytes still lie in the link.
                    let (buf, start) = link.take_payload(len as usize);
                    begin_up_to(&mut self.files, file, writer, self.streaming).await?;
                    self.current.at(self.manifest, file, ui);
                    self.report.transferred += len;
                    writer.send(Job::Group { group, buf, start }).await?;
                    if last_of_file && !self.streaming {
                        writer.send(Job::End).await?;
                    }
                    ui.progress(self.report.present(), self.report.bytes);
                    if let Some(k) = self.keeping.as_deref_mut() {
                        k.alive();
                    }
                }
                RecvEvent::BatchEnd(_) => {
                    begin_up_to(&mut self.files, u32::MAX, writer, self.streaming).await?;
                    writer.send(Job::Flush).await?;
                }
                RecvEvent::Finish => return Ok(()),
                _ => return Err(Error::internal("an offer in the middle of a transfer")),
            }
        }
    }

    /// Decides per file what to ask for (hashing existing files and partials).
    async fn plan(&mut self, next: u32, trees: Vec<Tree>) -> Result<Vec<Planned>> {
        let work: Vec<(u32, PathBuf, (landing::Existing, Seen), Tree)> = trees
            .into_iter()
            .enumerate()
            .map(|(i, tree)| {
                let n = next + i as u32;
                let (target, existing) = self.targets.file(n);
                let seen = match self.known.insert(n) {
                    true => Seen::New,
                    false => Seen::Known,
                };
                (n, target.to_owned(), (existing, seen), tree)
            })
            .collect();
        let plans = tokio::task::spawn_blocking(move || {
            work.into_iter()
                .map(|(n, target, (existing, seen), tree)| {
                    let plan = plan_file(&target, existing, &tree, seen)?;
                    Ok((n, plan, target, tree))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await
        .map_err(join_error)??;
        Ok(plans
            .into_iter()
            .map(|(n, plan, target, tree)| self.planned(n, plan, target, tree))
            .collect())
    }

    /// The files of a `STREAM` batch: fresh, so nothing is planned; leftovers
    /// of a run that saved no state are cleared first.
    async fn stream(&mut self, first: u32, layouts: Vec<Layout>) -> Result<Vec<Planned>> {
        let files: Vec<(u32, Layout, PathBuf)> = layouts
            .into_iter()
            .enumerate()
            .map(|(i, layout)| {
                let n = first + i as u32;
                self.known.insert(n);
                (n, layout, self.targets.file(n).0.to_owned())
            })
            .collect();
        let files = tokio::task::spawn_blocking(move || {
            files.iter().for_each(|(_, _, t)| resume_paths(t).discard());
            files
        })
        .await
        .map_err(join_error)?;
        Ok(files
            .into_iter()
            .map(|(n, layout, target)| Planned {
                n,
                job: Some(Box::new(self.job(n, target, Check::Late(layout)))),
                wanted: GroupSet::full(layout.groups() as u32),
                begun: false,
            })
            .collect())
    }

    /// The writer's job for file `n`, nothing of it verified yet.
    fn job(&self, n: u32, target: PathBuf, check: Check) -> FileJob {
        let state = match &check {
            Check::Tree(tree) => ResumeState::new(tree),
            Check::Late(layout) => ResumeState::unrooted(*layout),
        };
        let entry = self.manifest.file(n);
        let (mode, mtime) = entry.map(|e| (e.mode, e.mtime)).unwrap_or_default();
        let name = entry
            .map(|e| e.path.as_str().to_owned())
            .unwrap_or_default();
        FileJob {
            target,
            name,
            check,
            state,
            mode,
            mtime,
        }
    }

    fn planned(&mut self, n: u32, plan: FilePlan, target: PathBuf, tree: Tree) -> Planned {
        let wanted = wanted(&plan, &tree);
        let job = match plan {
            FilePlan::AlreadyThere => {
                self.report.already_present += tree.layout().size();
                None
            }
            FilePlan::Receive { state, resumed } => {
                self.report.resumed += resumed;
                let job = self.job(n, target, Check::Tree(tree));
                Some(Box::new(FileJob { state, ..job }))
            }
        };
        Planned {
            n,
            job,
            wanted,
            begun: false,
        }
    }
}

/// Starts every file up to `file` that has not started; files before it get no
/// more data, so they end at once (empty files, files completed by a resume),
/// unless they `stream`: a streamed file ends with its root.
async fn begin_up_to(
    files: &mut [Planned],
    file: u32,
    writer: &mut Writer,
    stream: bool,
) -> Result<()> {
    for planned in files.iter_mut().filter(|p| !p.begun && p.n <= file) {
        planned.begun = true;
        let Some(job) = planned.job.take() else {
            continue;
        };
        writer.send(Job::Begin(job)).await?;
        if !stream && (planned.n < file || planned.wanted.is_empty()) {
            writer.send(Job::End).await?;
        }
    }
    Ok(())
}
