//! Announcing to the trackers while the swarm runs: one task per tracker URL that
//! announces `started`, then again at the interval the tracker asks, `completed`
//! when the download completes, and hands every peer it hears of to the loop.
//! Failures are reported once per tracker and retried with a growing wait.

use std::net::SocketAddr;
use std::time::Duration;

use ferry_proto::torrent::tracker::{Announce, Event};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::torrent::tracker::TrackerClient;

/// The interval used when a tracker asks for less (some say 0).
const MIN_INTERVAL: Duration = Duration::from_secs(30);
/// And when it asks for more than this.
const MAX_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// The `stopped` announce gets this long when the swarm ends.
const STOP_LIMIT: Duration = Duration::from_secs(2);

/// What the loop tells the announcers: the counters of every announce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Stats {
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
}

/// From the announcers to the loop.
#[derive(Debug)]
pub(super) enum Heard {
    Peers(Vec<SocketAddr>),
    Failed(String),
}

pub(super) struct Announcers {
    tasks: JoinSet<()>,
    base: Announce,
    urls: Vec<String>,
    client: TrackerClient,
    stats: watch::Sender<Stats>,
}

impl Announcers {
    /// Starts one announcer per URL (duplicates dropped). `base` names the torrent,
    /// us and our port; its counters and event are filled in at each announce.
    pub(super) fn start(
        urls: Vec<String>,
        client: TrackerClient,
        base: Announce,
        stats: Stats,
        heard: mpsc::Sender<Heard>,
    ) -> Self {
        let mut urls = urls;
        urls.sort();
        urls.dedup();
        let (stats, watch) = watch::channel(stats);
        let mut tasks = JoinSet::new();
        for url in &urls {
            let one = One {
                url: url.clone(),
                client: client.clone(),
                base: base.clone(),
                stats: watch.clone(),
                heard: heard.clone(),
            };
            tasks.spawn(one.run());
        }
        Announcers {
            tasks,
            base,
            urls,
            client,
            stats,
        }
    }

    pub(super) fn update(&self, stats: Stats) {
        self.stats
            .send_if_modified(|s| std::mem::replace(s, stats) != stats);
    }

    /// Stops the announcers and says `stopped` to every tracker (bounded).
    pub(super) async fn stop(mut self) {
        self.tasks.abort_all();
        let stats = *self.stats.borrow();
        let mut stopped = JoinSet::new();
        for url in self.urls {
            let (client, mut a) = (self.client.clone(), self.base.clone());
            fill(&mut a, &stats, Event::Stopped);
            stopped.spawn(async move { client.announce(&url, &a).await });
        }
        let _ = tokio::time::timeout(STOP_LIMIT, async {
            while stopped.join_next().await.is_some() {}
        })
        .await;
    }
}

fn fill(a: &mut Announce, stats: &Stats, event: Event) {
    a.uploaded = stats.uploaded;
    a.downloaded = stats.downloaded;
    a.left = stats.left;
    a.event = event;
}

struct One {
    url: String,
    client: TrackerClient,
    base: Announce,
    stats: watch::Receiver<Stats>,
    heard: mpsc::Sender<Heard>,
}

impl One {
    async fn run(mut self) {
        let mut event = Event::Started;
        let mut failures = 0u32;
        let mut completed_sent = self.stats.borrow().left == 0;
        loop {
            let mut a = self.base.clone();
            fill(&mut a, &self.stats.borrow_and_update(), event);
            let wait = match self.client.announce(&self.url, &a).await {
                Ok(answer) => {
                    failures = 0;
                    event = Event::None;
                    if self.heard.send(Heard::Peers(answer.peers)).await.is_err() {
                        return;
                    }
                    let asked = Duration::from_secs(answer.interval.into());
                    asked.clamp(MIN_INTERVAL, MAX_INTERVAL)
                }
                Err(e) => {
                    if failures == 0 {
                        let _ = self.heard.send(Heard::Failed(e.to_string())).await;
                    }
                    failures += 1;
                    MIN_INTERVAL
                        .saturating_mul(1 << failures.min(5))
                        .min(MAX_INTERVAL)
                }
            };
            // Sleep until the interval ends or the download completes (announced at once).
            let sleep = tokio::time::sleep(wait);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    changed = self.stats.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if !completed_sent && self.stats.borrow().left == 0 && event == Event::None {
                            completed_sent = true;
                            event = Event::Completed;
                            break;
                        }
                    }
                }
            }
        }
    }
}
