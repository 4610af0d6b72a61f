//! `ferry torrent get`: download a torrent from a magnet link or a `.torrent`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use ferry::torrent::swarm::{self, MetadataError, SwarmError, METADATA_PATIENCE};
use ferry_proto::torrent::magnet::Magnet;
use ferry_proto::torrent::metainfo::{Metainfo, Version};
use serde_json::json;

use super::options::{content, describe, read_torrent, swarm_error, swarm_options};
use super::show::Show;
use crate::args::TorrentGetArgs;
use crate::checks::Invalid;
use crate::json::emit;
use crate::term::human;

/// Any free port: a download needs no fixed one (trackers learn the one we got).
const DEFAULT_LISTEN: &str = "0.0.0.0:0";

pub async fn get(args: TorrentGetArgs, cancel: &ferry::Cancel) -> Result<()> {
    let listen = match args.listen {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse().expect("a valid address"),
    };
    let mut options = swarm_options(listen, false, &args.swarm);
    let json = args.swarm.json;
    let meta = match args.source.starts_with("magnet:") {
        true => {
            let magnet = Magnet::parse(&args.source)
                .map_err(|e| Invalid(format!("not a usable magnet link: {e}")))?;
            // The link's own peers (x.pe) are dialled like --peer ones.
            options.peers.extend(magnet.peers.iter().copied());
            from_magnet(&magnet, &options, json).await?
        }
        false => read_torrent(&PathBuf::from(&args.source))?,
    };
    let nowhere = meta.trackers.iter().all(Vec::is_empty) && options.peers.is_empty();
    if nowhere && options.trackers.is_empty() {
        return Err(Invalid(
            "the torrent names no tracker: say where peers are with --peer IP:PORT or --tracker URL"
                .into(),
        )
        .into());
    }
    let out_dir = args
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    announce(&meta, &out_dir, json);
    let (bytes, _) = content(&meta);
    let meta_name = meta.info.name.clone();
    let started = Instant::now();
    let mut show = Show::for_get(json, bytes);
    let result = swarm::get(meta, &out_dir, options, |r| show.report(r), cancel).await;
    let sources = show.sources();
    show.finish();
    let path = result.map_err(swarm_error)?;
    let name = &meta_name;
    done((name, &path), (bytes, sources), started, json);
    Ok(())
}

async fn from_magnet(
    magnet: &Magnet,
    options: &swarm::SwarmOptions,
    json: bool,
) -> Result<Metainfo> {
    if !json {
        eprintln!("Asking peers for the torrent's metadata…");
    }
    let port = options.listen.port();
    let found = swarm::metainfo_from_magnet(magnet, options, port, METADATA_PATIENCE, |_| {}).await;
    match found {
        Ok(meta) => Ok(meta),
        Err(MetadataError::Nowhere) => Err(Invalid(MetadataError::Nowhere.to_string()).into()),
        Err(e) => Err(swarm_error(SwarmError::Metadata(e))),
    }
}

fn announce(meta: &Metainfo, out_dir: &std::path::Path, json: bool) {
    let (bytes, files) = content(meta);
    if json {
        emit(&json!({
            "event": "metadata",
            "name": meta.info.name,
            "bytes": bytes,
            "pieces": meta.info.piece_count(),
            "files": files,
            "verify": verify(meta.info.version),
        }));
        return;
    }
    eprintln!("Getting {} into {}.", describe(meta), out_dir.display());
}

/// Which hashes the pieces are checked by: a hybrid from a magnet whose peer had no
/// v2 layers is checked by v1 alone.
fn verify(version: Version) -> &'static str {
    match version {
        Version::V1 => "v1",
        Version::V2 => "v2",
        Version::Hybrid => "v1+v2",
    }
}

fn done(
    (name, path): (&str, &std::path::Path),
    (bytes, sources): (u64, usize),
    started: Instant,
    json: bool,
) {
    let seconds = started.elapsed().as_secs_f64();
    if json {
        emit(&json!({
            "event": "done",
            "path": path.display().to_string(),
            "bytes": bytes,
            "peers": sources,
            "seconds": (seconds * 1000.0).round() / 1000.0,
        }));
        return;
    }
    let rate = bytes as f64 / seconds.max(0.001);
    let peers = match sources {
        1 => "1 peer".to_owned(),
        n => format!("{n} peers"),
    };
    let shown = |s: &str| ferry_proto::transfer::path::escape_for_terminal(s);
    eprintln!(
        "Received {} ({}) into {} from {peers} in {:.1} s ({}/s).",
        shown(name),
        human(bytes),
        shown(&path.display().to_string()),
        seconds,
        human(rate as u64)
    );
}
