//! `bench/torrent`'s measurements (run by that script inside `interop/run-in-netns.sh`):
//! one file from one seeder to one leecher for each pair of real clients (ferry's
//! `torrent seed` / `torrent get` among them when the binary has them), and the rate at
//! which each tool makes a `.torrent` of it.
//!
//! Usage: bt_bench --work DIR [--size-mib N] [--piece-kib N] [--pairs a>b,c>d] [--ferry BIN]
//! Prints a markdown table on stdout; progress on stderr.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ferry_interop::bt::{pair, Client, Source, Swarm, Torrent, TorrentMode};
use ferry_interop::data::random_file;
use ferry_interop::tree::file_node;
use ferry_interop::TestEnv;

/// 1 GiB at the slowest pair measured (transmission, ~60 MB/s) takes ~20 s.
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);
const DEFAULT_PAIRS: &str =
    "libtorrent>libtorrent,qbittorrent>qbittorrent,libtorrent>transmission,\
transmission>libtorrent,libtorrent>aria2,aria2>libtorrent,qbittorrent>libtorrent,\
libtorrent>qbittorrent,qbittorrent>transmission,qbittorrent>aria2,aria2>qbittorrent";
/// Added to the default pairs when the ferry binary has `torrent seed` and `torrent get`:
/// ferry with itself, seeding to a client that only accepts (ferry dials it), and getting
/// from the slowest seeder.
const FERRY_PAIRS: &str = "ferry>ferry,ferry>aria2,transmission>ferry";

struct Args {
    work: PathBuf,
    size_mib: u64,
    piece_kib: u32,
    pairs: Vec<(Client, Client)>,
    ferry: Option<PathBuf>,
}

fn main() {
    let args = parse_args();
    let env = TestEnv::get();
    let seed_dir = args.work.join("seed");
    std::fs::create_dir_all(&seed_dir).expect("seed dir");
    let data = seed_dir.join("data.bin");
    eprintln!("bt_bench: writing {} MiB of random data", args.size_mib);
    random_file(&data, args.size_mib << 20).expect("random data");
    let piece = args.piece_kib * 1024;
    println!(
        "## Create: a .torrent of one {} MiB file, {} KiB pieces\n",
        args.size_mib, args.piece_kib
    );
    println!("| tool | wall s | MB/s |\n|---|---:|---:|");
    for (name, seconds) in create_rows(env, &args, &data, piece) {
        let rate = (args.size_mib << 20) as f64 / seconds / 1e6;
        println!("| {name} | {seconds:.2} | {rate:.0} |");
    }
    let torrent = Torrent::create(
        env,
        &data,
        TorrentMode::V1,
        piece,
        &[],
        &args.work.join("v1.torrent"),
    );
    println!("\n## Transfer: one seeder to one leecher on loopback (v1 torrent)\n");
    println!("| seeder → leecher | wall s | MB/s | seeder CPU s | leecher CPU s |");
    println!("|---|---:|---:|---:|---:|");
    let expected = file_node(&data).expect("hash the data");
    for &clients in &args.pairs {
        let row = transfer(env, &args, clients, &torrent, &seed_dir, &expected);
        println!("{row}");
    }
}

/// (tool, seconds) for mktorrent (both cores), libtorrent v1 and hybrid, and `ferry torrent
/// create` when the binary has it.
fn create_rows(env: &TestEnv, args: &Args, data: &Path, piece: u32) -> Vec<(String, f64)> {
    let out = args.work.join("create.torrent");
    let log2 = piece.trailing_zeros().to_string();
    let mut rows = vec![(
        "mktorrent 1.1 (-t 2)".to_owned(),
        timed(
            Command::new("mktorrent")
                .args(["-l", &log2, "-t", "2", "-o"])
                .arg(&out)
                .arg(data),
            &out,
        ),
    )];
    for (mode, name) in [(TorrentMode::V1, "v1"), (TorrentMode::Hybrid, "hybrid")] {
        let start = Instant::now();
        Torrent::create(env, data, mode, piece, &[], &out);
        rows.push((
            format!("libtorrent 2.1 create_torrent {name} (incl. Python start)"),
            start.elapsed().as_secs_f64(),
        ));
        std::fs::remove_file(&out).ok();
    }
    if let Some(ferry) = args.ferry.as_ref().filter(|f| has_torrent_create(f)) {
        let mut cmd = Command::new(ferry);
        cmd.args([
            "torrent",
            "create",
            "--piece-size",
            &piece.to_string(),
            "-o",
        ])
        .arg(&out)
        .arg(data);
        rows.push((
            "ferry torrent create (hybrid)".to_owned(),
            timed(&mut cmd, &out),
        ));
    }
    rows
}

fn has_torrent_create(ferry: &Path) -> bool {
    Command::new(ferry)
        .args(["torrent", "--help"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("create"))
}

/// Runs `cmd` to its end; its wall time (the file `out` is removed afterwards).
fn timed(cmd: &mut Command, out: &Path) -> f64 {
    std::fs::remove_file(out).ok();
    let start = Instant::now();
    let status = cmd.output().expect("run the create command");
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        status.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::remove_file(out).ok();
    seconds
}

/// One pair: from both started (the seeder seeding, the leecher just spawned) to the
/// leecher's own report of completion, then the file compared and both stopped.
fn transfer(
    env: &TestEnv,
    args: &Args,
    (seeder, fetcher): (Client, Client),
    torrent: &Torrent,
    seed_dir: &Path,
    expected: &ferry_interop::tree::Node,
) -> String {
    let name = format!("{} → {}", seeder.name(), fetcher.name());
    eprintln!("bt_bench: {name}");
    let out = args.work.join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let source = Source::File(torrent.path.clone());
    let reaped_before = reaped_children_cpu();
    let start = Instant::now();
    let (seeding, mut leecher) = pair(
        env,
        (seeder, fetcher),
        &torrent.path,
        seed_dir,
        &source,
        &out,
    );
    let done = leecher.wait_complete(FETCH_TIMEOUT);
    let wall = start.elapsed().as_secs_f64();
    let cpu = (
        cpu_seconds(seeding.as_ref()).unwrap_or(f64::NAN),
        cpu_seconds(leecher.as_ref()).unwrap_or_else(|| reaped_children_cpu() - reaped_before),
    );
    let row = match done {
        Err(e) => format!("| {name} | failed: {e} | | | |"),
        Ok(()) if file_node(&out.join("data.bin")).ok().as_ref() != Some(expected) => {
            format!("| {name} | wrong data | | | |")
        }
        Ok(()) => {
            let rate = (args.size_mib << 20) as f64 / wall / 1e6;
            format!(
                "| {name} | {wall:.1} | {rate:.0} | {:.1} | {:.1} |",
                cpu.0, cpu.1
            )
        }
    };
    if row.contains("failed") || row.contains("wrong") {
        eprintln!("{}\n{}", seeding.log(), leecher.log());
    }
    drop((seeding, leecher));
    std::fs::remove_dir_all(&out).expect("remove the output");
    row
}

/// User + system CPU seconds of a client's process so far (/proc/PID/stat, 100 ticks/s);
/// None once it has exited (ferry's get ends when complete) and been reaped.
fn cpu_seconds(swarm: &dyn Swarm) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", swarm.pid())).ok()?;
    // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
    Some(stat_seconds(&stat, 11))
}

/// CPU seconds of this process's reaped children (cutime + cstime): what a reaped leecher
/// used is what its reaping added, no other child being reaped meanwhile.
fn reaped_children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    stat_seconds(&stat, 13)
}

/// The sum of the two tick counts at `skip` fields after the command name, in seconds.
fn stat_seconds(stat: &str, skip: usize) -> f64 {
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(skip)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<u64>() as f64 / 100.0
}

/// Every pair that can meet by hand, ferry's when `ferry` has the commands.
fn default_pairs(ferry: Option<&Path>) -> String {
    match ferry.is_some_and(has_torrent_seed_and_get) {
        true => format!("{DEFAULT_PAIRS},{FERRY_PAIRS}"),
        false => DEFAULT_PAIRS.to_owned(),
    }
}

fn has_torrent_seed_and_get(ferry: &Path) -> bool {
    ["seed", "get"].iter().all(|command| {
        Command::new(ferry)
            .args(["torrent", command, "--help"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn client(name: &str) -> Client {
    *Client::ALL
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("unknown client {name:?}"))
}

fn parse_args() -> Args {
    let mut args = Args {
        work: std::env::temp_dir(),
        size_mib: 1024,
        piece_kib: 1024,
        pairs: Vec::new(),
        ferry: None,
    };
    let mut pairs = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--work" => args.work = value.into(),
            "--size-mib" => args.size_mib = value.parse().expect("--size-mib N"),
            "--piece-kib" => args.piece_kib = value.parse().expect("--piece-kib N"),
            "--pairs" => pairs = Some(value),
            "--ferry" => args.ferry = Some(value.into()),
            _ => panic!("unknown flag {flag}"),
        }
    }
    let pairs = pairs.unwrap_or_else(|| default_pairs(args.ferry.as_deref()));
    args.pairs = pairs
        .split(',')
        .map(|p| p.split_once('>').expect("pairs are seeder>leecher"))
        .map(|(s, l)| (client(s.trim()), client(l.trim())))
        .collect();
    args
}
