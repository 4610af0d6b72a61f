//! After a receive that did not finish: how much resumable data it left, and
//! how to use or remove it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ferry::transfer::landing::leftovers::{self, LeftoverKind};
use ferry_proto::transfer::path::escape_for_terminal;

use crate::term::human;

/// Says what resumable data a receive that did not finish left behind. Dropped
/// with the command on every way out — an error, or Ctrl-C dropping the whole
/// future — it speaks unless the receive succeeded.
pub struct KeptNotice {
    dir: PathBuf,
    since: SystemTime,
    armed: bool,
}

/// Directory entries looked at after a failure: enough for any transfer's
/// folders, quick even when the output directory is a home directory.
const KEPT_SCAN_BUDGET: u64 = 20_000;

impl KeptNotice {
    pub fn new(dir: &Path) -> KeptNotice {
        // A second of slack for file systems with coarse timestamps.
        let since = SystemTime::now() - Duration::from_secs(1);
        KeptNotice {
            dir: dir.to_owned(),
            since,
            armed: true,
        }
    }

    pub fn disarm(&mut self) {
        self.armed = false;
    }

    /// Verified bytes in resume states this receive wrote.
    fn kept(&self) -> u64 {
        let found = leftovers::find_within(&self.dir, KEPT_SCAN_BUDGET).unwrap_or_default();
        found
            .iter()
            .filter(|l| l.modified.is_some_and(|m| m >= self.since))
            .map(|l| match l.kind {
                LeftoverKind::ResumeState { verified } => verified,
                _ => 0,
            })
            .sum()
    }
}

impl Drop for KeptNotice {
    fn drop(&mut self) {
        let kept = if self.armed { self.kept() } else { 0 };
        if kept > 0 {
            let dir = escape_for_terminal(&self.dir.display().to_string());
            eprintln!(
                "ferry: kept {} in {dir}; send again into this folder to resume, or run `ferry clean {dir}`",
                human(kept)
            );
        }
    }
}
