//! `ferry clean [DIR]`: lists and removes the files ferry itself left in DIR and
//! below — resume data kept after an interrupted transfer, and partial files a
//! killed ferry could not remove. Nothing else is touched, and symbolic links
//! are not followed. `--dry-run` only lists.

use std::path::Path;

use anyhow::{Context, Result};

use crate::args::CleanArgs;
use crate::term::human;
use ferry::transfer::landing::leftovers::{self, Leftover, LeftoverKind};
use ferry_proto::transfer::path::escape_for_terminal;

pub fn run(args: &CleanArgs) -> Result<()> {
    let dir = shown(&args.dir);
    let found = leftovers::find(&args.dir).with_context(|| format!("reading {dir}"))?;
    if found.is_empty() {
        println!("Nothing of ferry's to clean in {dir}.");
        return Ok(());
    }
    for leftover in &found {
        if !args.dry_run {
            let path = shown(&leftover.path);
            leftovers::remove(leftover).with_context(|| format!("removing {path}"))?;
        }
        println!("{}", line(leftover, args.dry_run));
    }
    let bytes = found.iter().map(|l| l.bytes).sum();
    let files = match found.len() {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    match args.dry_run {
        true => println!("Would free {} ({files}).", human(bytes)),
        false => println!("Freed {} ({files}).", human(bytes)),
    }
    Ok(())
}

/// `removed DIR/.big.bin.ferry-resume (resume data of big.bin, 12.00 MiB)`.
fn line(leftover: &Leftover, dry_run: bool) -> String {
    let verb = match dry_run {
        true => "would remove",
        false => "removed",
    };
    let what = match leftover.kind {
        LeftoverKind::ResumeData => "resume data",
        LeftoverKind::ResumeState { .. } => "resume state",
        _ => "unfinished copy",
    };
    format!(
        "{verb} {} ({what} of {}, {})",
        shown(&leftover.path),
        shown(&leftover.target),
        human(leftover.bytes)
    )
}

fn shown(path: &Path) -> String {
    escape_for_terminal(&path.display().to_string())
}
