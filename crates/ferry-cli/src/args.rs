//! Command-line arguments, each defined once; `--help` is generated from here.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Send files, folders and text to another computer with a short code,
/// end-to-end encrypted. Speaks the Magic Wormhole protocol, so the other side
/// may run ferry, `wormhole` (Python), `wormhole-william` or `wormhole-rs`.
#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Examples:\n  ferry send report.pdf          # prints a code like 7-guitarist-revenge\n  ferry receive 7-guitarist-revenge\n  ferry send --text 'hello'\n  ferry receive                  # asks for the code, with tab completion"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The transfer options may also come before the subcommand, as wormhole
    /// users type them (`ferry --server URL send FILE`); after it, they win.
    #[command(flatten)]
    pub before: Common,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send text, a file or a directory.
    #[command(visible_alias = "tx")]
    Send(SendArgs),
    /// Receive what the other side sends.
    #[command(visible_aliases = ["rx", "recv"])]
    Receive(ReceiveArgs),
    /// Run a rendezvous (mailbox) server and transit relay for any wormhole client.
    Serve(Box<crate::serve::ServeArgs>),
    /// Remove the partial data ferry kept to resume interrupted transfers.
    Clean(CleanArgs),
    /// Look around the local network (LocalSend devices and other ferry).
    #[command(subcommand)]
    Lan(LanCommand),
    /// BitTorrent: make .torrent files and magnet links, seed, download.
    #[command(subcommand, after_help = crate::torrent::TORRENT_HELP)]
    Torrent(TorrentCommand),
    /// Print a shell completion script (e.g. `ferry completions bash > /etc/bash_completion.d/ferry`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout: `ferry man | man -l -`.
    #[command(hide = true)]
    Man,
}

/// Options shared by `send` and `receive`, accepted before or after the subcommand.
/// The environment and the config file are read in settings.rs, not by clap, so
/// that a flag before the subcommand still beats the environment.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Transfer options")]
pub struct Common {
    /// Rendezvous (mailbox) server URL [env: FERRY_SERVER].
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Transit relay used when no direct connection works: tcp:HOST:PORT, tls:HOST:PORT,
    /// or a WebSocket relay wss://HOST:PORT/relay [env: FERRY_RELAY].
    #[arg(long, value_name = "ADDR")]
    pub relay: Option<String>,
    /// Extra certificate authorities (a PEM file) to trust for wss:// servers and
    /// TLS relays, besides the system's (or SSL_CERT_FILE's) [env: FERRY_CA_FILE].
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Application id; both sides must use the same one [env: FERRY_APPID].
    #[arg(long, value_name = "ID")]
    pub app_id: Option<String>,
    /// Client config file [env: FERRY_CONFIG] [default: ~/.config/ferry/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only errors on stderr (plus the code to pass on, and the accept prompt
    /// unless --yes); no progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Only use the relay: no direct connections, and no local addresses sent.
    #[arg(long)]
    pub force_relay: bool,
    /// Listen for direct connections only on this address, and advertise only it.
    #[arg(long, value_name = "IP", conflicts_with = "no_listen")]
    pub listen: Option<IpAddr>,
    /// Do not listen for direct connections (we may still connect out).
    #[arg(long)]
    pub no_listen: bool,
    /// No progress bar.
    #[arg(long)]
    pub hide_progress: bool,
    /// Print every event as one JSON object per line on stdout (see the README);
    /// messages for people stay on stderr.
    #[arg(long)]
    pub json: bool,
    /// Between two ferry: when the connection breaks mid-transfer, keep trying to
    /// reconnect for this many seconds (through the same mailbox, no new code),
    /// then give up keeping what arrived for a later resume; 0 gives up at once
    /// [env: FERRY_RECONNECT_FOR] [default: 180].
    #[arg(long, value_name = "SECS")]
    pub reconnect_for: Option<u64>,
    /// Use plain Magic Wormhole file transfer even with another ferry (with --lan,
    /// plain LocalSend): no resume, no per-chunk verification; for testing and
    /// comparisons.
    #[arg(long)]
    pub v1: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Text message to send instead of files ("-" reads it from standard input).
    #[arg(long, value_name = "TEXT", conflicts_with = "paths")]
    pub text: Option<String>,
    /// Files or directories to send ("-" sends standard input as a file).
    /// Several paths travel as one directory (see --name).
    #[arg(value_name = "PATH", required_unless_present = "text")]
    pub paths: Vec<PathBuf>,
    /// Name for what is read from standard input [default: stdin], or for the
    /// directory that holds several paths [default: ferry-files].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Use this code instead of asking the server for one (e.g. 7-purple-sausages).
    /// Other users of this machine can see it (ps): prefer --code-file or FERRY_CODE.
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,
    /// Read the code from the first line of FILE ("-": standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "code")]
    pub code_file: Option<PathBuf>,
    /// Number of words in a generated code (2 words: 1 in 65536 guesses).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub code_length: u8,
    /// Also show the code as a QR code for a phone to scan: of the browser link
    /// when one is known (see --web-url), else of a wormhole-transfer: URI.
    #[arg(long)]
    pub qr: bool,
    /// The browser page of the server (`ferry serve`'s, e.g. http://HOST:4000/):
    /// also print the link URL#CODE that receives in a browser. Without it the
    /// link is printed when the server advertises its page.
    #[arg(long, value_name = "URL")]
    pub web_url: Option<String>,
    /// With --lan: the device to send to: an IP (or IP:PORT), an alias, or the
    /// start of its fingerprint [default: choose from a list of what answers].
    #[arg(
        long,
        value_name = "DEVICE",
        requires = "lan",
        conflicts_with = "share"
    )]
    pub to: Option<String>,
    /// With --lan: serve the files until Ctrl-C instead of pushing them, for any
    /// number of devices to fetch (LocalSend's download API, `ferry receive --lan
    /// --from`, or a browser at the address shown).
    #[arg(long, requires = "lan")]
    pub share: bool,
    #[command(flatten)]
    pub lan: LanArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// The code from the sender (its words may be separate arguments); asked for
    /// (with tab completion) when omitted. Other users of this machine can see it
    /// (ps): prefer --code-file or FERRY_CODE.
    #[arg(value_name = "CODE")]
    pub code: Vec<String>,
    /// Read the code from the first line of FILE ("-": standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "code")]
    pub code_file: Option<PathBuf>,
    /// Where received files and directories go [default: the config file's
    /// output_dir, else the current directory].
    #[arg(short, long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Accept files and directories without asking.
    #[arg(short, long)]
    pub yes: bool,
    /// Write a received text message to stdout byte for byte, control and bidi
    /// characters included (by default they are shown escaped).
    #[arg(long)]
    pub raw: bool,
    /// With --lan: fetch what this device shares (`send --lan --share` or the
    /// app's "share via link") instead of waiting for a sender: an IP (or
    /// IP:PORT), an alias, or the start of its fingerprint.
    #[arg(long, value_name = "DEVICE", requires = "lan")]
    pub from: Option<String>,
    /// Continue an interrupted receive into the output directory, with no
    /// code: a ferry receiver stopped by Ctrl-C, a crash or a reboot picks up
    /// from its last verified data while the sender still waits for it (the
    /// sender's --reconnect-for, 180 s by default). Give the CODE too when
    /// several are waiting. Running `ferry receive CODE` again with the same
    /// code and directory does the same.
    #[arg(long, conflicts_with = "code_file")]
    pub resume: bool,
    #[command(flatten)]
    pub lan: LanArgs,
    #[command(flatten)]
    pub common: Common,
}

/// The local-network mode of `send` and `receive`: LocalSend's protocol, no server.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "LAN options (LocalSend, no server)")]
pub struct LanArgs {
    /// Send or receive on the local network with no server, speaking LocalSend
    /// (so the other side may be the LocalSend app or another ferry).
    #[arg(long)]
    pub lan: bool,
    /// With --lan: the PIN the receiver asks for (send), or that senders must
    /// give (receive).
    #[arg(long, value_name = "PIN", requires = "lan")]
    pub pin: Option<String>,
    /// With --lan: the name other devices show for this one [default: the host name].
    #[arg(long, value_name = "NAME", requires = "lan")]
    pub alias: Option<String>,
    /// With --lan: the TCP port of the HTTPS server and the UDP port of discovery.
    #[arg(long, value_name = "PORT", default_value_t = ferry_proto::localsend::DEFAULT_PORT, requires = "lan")]
    pub lan_port: u16,
    /// With --lan: also talk to devices that speak only plain HTTP, and serve
    /// plain HTTP ourselves (unencrypted: anyone on the network can read and
    /// alter the files; for old LocalSend versions and browsers that refuse
    /// the self-signed certificate).
    #[arg(long, requires = "lan")]
    pub http: bool,
}

#[derive(Debug, Subcommand)]
pub enum LanCommand {
    /// List the devices that answer on the local network (LocalSend and ferry).
    Devices(DevicesArgs),
}

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// How long to listen for answers, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3)]
    pub timeout: u64,
    /// One JSON object per device and line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Use only the network interface that holds this IPv4 address.
    #[arg(long, value_name = "IP")]
    pub listen: Option<std::net::Ipv4Addr>,
    /// The UDP port of discovery.
    #[arg(long, value_name = "PORT", default_value_t = ferry_proto::localsend::DEFAULT_PORT)]
    pub lan_port: u16,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Directory to clean (and every directory below it).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum TorrentCommand {
    /// Make a .torrent of a file or a directory, and print its magnet link.
    #[command(after_help = crate::torrent::CREATE_HELP)]
    Create(TorrentCreateArgs),
    /// Serve a torrent's data to other BitTorrent clients until stopped.
    #[command(after_help = crate::torrent::SEED_HELP)]
    Seed(TorrentSeedArgs),
    /// Download a torrent (a magnet link or a .torrent file), every piece verified.
    #[command(after_help = crate::torrent::GET_HELP)]
    Get(TorrentGetArgs),
}

/// How a swarm command finds peers and is found.
#[derive(Debug, Args)]
pub struct SwarmArgs {
    /// Dial this peer (IP:PORT; repeat for more): for networks without a tracker,
    /// or a peer that only accepts connections.
    #[arg(long = "peer", value_name = "IP:PORT")]
    pub peers: Vec<std::net::SocketAddr>,
    /// Announce to this tracker too, beside the torrent's own (repeat for more).
    #[arg(long = "tracker", value_name = "URL")]
    pub trackers: Vec<String>,
    /// Join the DHT through this node (HOST:PORT; repeat for more) instead of the
    /// public routers (router.bittorrent.com:6881 and others).
    #[arg(long = "dht-bootstrap", value_name = "HOST:PORT")]
    pub dht_bootstrap: Vec<String>,
    /// Do not use the DHT: peers come from trackers, --peer, the magnet's x.pe and
    /// peer exchange only. (A private torrent never uses it.)
    #[arg(long, conflicts_with = "dht_bootstrap")]
    pub no_dht: bool,
    /// One JSON object per event and line on stdout (progress, peers, the result).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TorrentSeedArgs {
    /// A .torrent file, or a file or directory to seed without one (a hybrid torrent
    /// of it is made in memory and its magnet link printed).
    #[arg(value_name = "FILE.torrent|PATH")]
    pub what: PathBuf,
    /// Where the torrent's data (<name>) is [default: the current directory, else
    /// beside the .torrent].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where to accept peers [default: 0.0.0.0:6881, or any free port if taken].
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub swarm: SwarmArgs,
}

#[derive(Debug, Args)]
pub struct TorrentGetArgs {
    /// A magnet link (magnet:?xt=urn:btih:...) or a .torrent file.
    #[arg(value_name = "MAGNET|FILE.torrent")]
    pub source: String,
    /// Directory to download into [default: the current directory].
    #[arg(short, long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Where to accept peers while downloading [default: 0.0.0.0 on a free port].
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub swarm: SwarmArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("version").multiple(false))]
pub struct TorrentCreateArgs {
    /// Files or directories: one torrent each.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Where to write the .torrent (one PATH only) [default: ./NAME.torrent].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// BitTorrent v1 only (SHA-1 pieces; every client reads it).
    #[arg(long, group = "version")]
    pub v1: bool,
    /// BitTorrent v2 only (BEP 52: per-file SHA-256 merkle trees).
    #[arg(long, group = "version")]
    pub v2: bool,
    /// Both v1 and v2 in one torrent (the default): v1 clients and v2 clients join
    /// the same swarm.
    #[arg(long, group = "version")]
    pub hybrid: bool,
    /// Piece size in bytes, a power of two from 16 KiB to 256 MiB; suffixes K and M
    /// (1024-based) are allowed [default: libtorrent's choice for the total size].
    #[arg(long, value_name = "BYTES", value_parser = crate::torrent::parse_size)]
    pub piece_size: Option<u64>,
    /// Tracker announce URL (repeat for more; all in one tier).
    #[arg(long = "tracker", value_name = "URL")]
    pub trackers: Vec<String>,
    /// Web seed URL (BEP 19; repeat for more).
    #[arg(long = "web-seed", value_name = "URL")]
    pub web_seeds: Vec<String>,
    /// One JSON object per event and line on stdout instead of the bare magnet link.
    #[arg(long)]
    pub json: bool,
}
