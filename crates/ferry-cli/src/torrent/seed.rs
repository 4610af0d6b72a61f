//! `ferry torrent seed`: serve a torrent's data until stopped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ferry::torrent::create::{self, CreateOptions, Source};
use ferry::torrent::storage::Storage;
use ferry::torrent::swarm::{self, Report};
use ferry_proto::torrent::build::Extras;
use ferry_proto::torrent::magnet::Magnet;
use ferry_proto::torrent::metainfo::{Metainfo, Version};
use serde_json::json;

use super::options::{describe, read_torrent, swarm_error, swarm_options};
use super::show::Show;
use crate::args::TorrentSeedArgs;
use crate::json::emit;

/// BitTorrent's customary port; another client may hold it (then any free port).
const DEFAULT_LISTEN: &str = "0.0.0.0:6881";

pub async fn seed(args: TorrentSeedArgs, cancel: &ferry::Cancel) -> Result<()> {
    let (meta, data_dir) = match is_torrent_file(&args.what) {
        true => {
            let meta = read_torrent(&args.what)?;
            let dir = data_dir(&args, &meta);
            (meta, dir)
        }
        false => made_in_memory(&args.what, cancel).await?,
    };
    let json = args.swarm.json;
    if !json {
        eprintln!("Checking {} in {}…", describe(&meta), data_dir.display());
    }
    let storage = {
        let (dir, meta) = (data_dir.clone(), meta.clone());
        tokio::task::spawn_blocking(move || Storage::open_seed(&dir, &meta))
            .await
            .context("the checking thread failed")??
    };
    let (listen, fallback) = match args.listen {
        Some(addr) => (addr, false),
        None => (DEFAULT_LISTEN.parse().expect("a valid address"), true),
    };
    let options = swarm_options(listen, fallback, &args.swarm);
    let magnet = magnet_of(&meta, &args.swarm.trackers);
    let mut show = Show::for_seed(json);
    let result = swarm::seed(
        storage,
        options,
        |report| match report {
            Report::Listening(addr) => seeding(&meta, addr, &magnet, json),
            other => show.report(other),
        },
        cancel,
    )
    .await;
    show.finish();
    result.map_err(swarm_error)
}

fn is_torrent_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "torrent") && path.is_file()
}

/// `--data`, else the current directory if it holds `<name>`, else beside the file.
fn data_dir(args: &TorrentSeedArgs, meta: &Metainfo) -> PathBuf {
    if let Some(dir) = &args.data {
        return dir.clone();
    }
    if Path::new(&meta.info.name).exists() {
        return PathBuf::from(".");
    }
    parent_dir(&args.what)
}

/// The directory `path` is in (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// A hybrid torrent of `path`, made as `ferry torrent create` makes it, and the
/// directory its data is in.
async fn made_in_memory(path: &Path, cancel: &ferry::Cancel) -> Result<(Metainfo, PathBuf)> {
    let source = Source::scan(path)?;
    let options = CreateOptions {
        version: Version::Hybrid,
        piece_length: None,
        extras: Extras::default(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let cancel = cancel.clone();
    let created = tokio::task::spawn_blocking(move || {
        create::create(&source, &options, &mut |_| {}, &|| cancel.is_cancelled())
    })
    .await
    .context("the hashing thread failed")??;
    let meta = Metainfo::parse(&created.torrent).context("the torrent just made")?;
    Ok((meta, parent_dir(path)))
}

fn magnet_of(meta: &Metainfo, extra_trackers: &[String]) -> String {
    let mut trackers: Vec<String> = meta.trackers.iter().flatten().cloned().collect();
    trackers.extend(extra_trackers.iter().cloned());
    trackers.dedup();
    Magnet {
        hashes: meta.info.hashes,
        name: Some(meta.info.name.clone()),
        trackers,
        web_seeds: Vec::new(),
        peers: Vec::new(),
    }
    .to_uri()
}

/// Says where we listen, and prints the magnet link (or the `seeding` event).
fn seeding(meta: &Metainfo, addr: SocketAddr, magnet: &str, json: bool) {
    if json {
        emit(&json!({
            "event": "seeding",
            "name": meta.info.name,
            "listen": addr.to_string(),
            "magnet": magnet,
            "info_hash_v1": meta.info.hashes.v1.map(hex::encode),
            "info_hash_v2": meta.info.hashes.v2.map(hex::encode),
            "pieces": meta.info.piece_count(),
            "bytes": super::options::content(meta).0,
        }));
        return;
    }
    eprintln!("Seeding {} on {addr}; Ctrl-C stops.", describe(meta));
    println!("{magnet}");
}
