//! `ferry torrent create`: a `.torrent` and a magnet link for a file or directory.
//! The hashing runs on a blocking thread (all cores); this side draws the bar,
//! writes the file (never over an existing one) and prints the link.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use ferry::torrent::create::{self, CreateError, CreateOptions, Created, Source};
use ferry_proto::torrent::build::Extras;
use ferry_proto::torrent::metainfo::Version;

use crate::args::TorrentCreateArgs;
use crate::bar::Bar;
use crate::checks::Invalid;
use crate::term::human;

use super::exists;

pub async fn create(args: TorrentCreateArgs, cancel: &ferry::Cancel) -> Result<()> {
    if args.output.is_some() && args.paths.len() > 1 {
        return Err(Invalid("-o/--output goes with one PATH only".into()).into());
    }
    let options = CreateOptions {
        version: version(&args),
        piece_length: args.piece_size,
        extras: Extras {
            trackers: args.trackers.clone(),
            web_seeds: args.web_seeds.clone(),
            created_by: Some(format!("ferry {}", env!("CARGO_PKG_VERSION"))),
            creation_date: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs() as i64),
        },
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    for path in &args.paths {
        one(path, &args, &options, cancel).await?;
    }
    Ok(())
}

fn version(args: &TorrentCreateArgs) -> Version {
    match (args.v1, args.v2) {
        (true, _) => Version::V1,
        (_, true) => Version::V2,
        _ => Version::Hybrid,
    }
}

async fn one(
    path: &Path,
    args: &TorrentCreateArgs,
    options: &CreateOptions,
    cancel: &ferry::Cancel,
) -> Result<()> {
    let source = Source::scan(path)?;
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.torrent", source.name())));
    // Refuse before hashing, not after: the check is repeated when writing.
    if out.exists() {
        return Err(exists(out));
    }
    let json = args.json;
    let (options, cancel) = (options.clone(), cancel.clone());
    let created = tokio::task::spawn_blocking(move || hash(source, &options, &cancel, json))
        .await
        .context("the hashing thread failed")??;
    write_new(&out, &created.torrent)?;
    report(&out, &created, json);
    Ok(())
}

fn hash(
    source: Source,
    options: &CreateOptions,
    cancel: &ferry::Cancel,
    json: bool,
) -> Result<Created, CreateError> {
    let total = source.bytes();
    let bar = (!json && std::io::stderr().is_terminal()).then(|| Bar::on_stderr(total));
    let mut progress = |done: u64| match &bar {
        Some(bar) => bar.moved_to(done),
        None if json => {
            crate::json::emit(&json!({"event": "progress", "bytes": done, "total": total}))
        }
        None => {}
    };
    let created = create::create(&source, options, &mut progress, &|| cancel.is_cancelled());
    if let Some(bar) = bar {
        bar.finish();
    }
    created
}

fn write_new(out: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => exists(out.to_owned()),
            _ => anyhow::Error::new(e).context(format!("creating {}", out.display())),
        })?;
    // No fsync: a .torrent is remade in seconds, and an fsync on a busy disk costs
    // more than the hashing of a small tree.
    file.write_all(bytes)
        .with_context(|| format!("writing {}", out.display()))
}

fn report(out: &Path, created: &Created, json: bool) {
    let magnet = created.magnet.to_uri();
    if json {
        crate::json::emit(&json!({
            "event": "done",
            "torrent": out.display().to_string(),
            "name": created.name,
            "files": created.files,
            "bytes": created.bytes,
            "piece_length": created.piece_length,
            "info_hash_v1": created.hashes.v1.map(hex::encode),
            "info_hash_v2": created.hashes.v2.map(hex::encode),
            "magnet": magnet,
        }));
        return;
    }
    eprintln!(
        "Wrote {} ({} in {}, pieces of {}).",
        ferry_proto::transfer::path::escape_for_terminal(&out.display().to_string()),
        human(created.bytes),
        match created.files {
            1 => "1 file".to_owned(),
            n => format!("{n} files"),
        },
        human(created.piece_length),
    );
    println!("{magnet}");
}
