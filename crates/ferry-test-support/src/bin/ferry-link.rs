//! `ferry-link`: a link between two network namespaces, emulated in userspace
//! (ferry_test_support::link): a TUN device in each, packets carried with a
//! one-way delay of RTT/2, random loss, a line rate and a queue of one
//! bandwidth-delay product, the same in both directions.
//!
//! ```text
//! ferry-link --a NS:DEV --b NS:DEV --rate 100M --rtt 80ms [--loss 0.5%]
//!            [--queue BYTES] [--seed N] [--offload on|off]
//! ```
//!
//! `--offload` (default: on without loss, off with it): the devices hand TCP (and
//! UDP, on kernels with USO) over as segmentation-offload super-packets, carried
//! whole and charged to the line as the 1500-byte segments they stand for
//! (`link::tun`, `link::gso`), so a fast row measures the link rather than the
//! emulator's per-packet cost. A lost super-packet would be dozens of segments lost
//! at once, so lossy links carry real segments.
//!
//! It prints `ready` once both devices exist (the caller then gives them
//! addresses and brings them up, e.g. `ip -n NS addr add 10.99.0.1 peer
//! 10.99.0.2 dev DEV`). Commands on standard input, one a line: `cut SECS` cuts
//! the link both ways for that long; `stats` prints what each direction did.
//! It runs until killed; its devices go with it.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use ferry_test_support::link::{forward, tun, Pipe, Shape};

fn main() {
    if let Err(e) = run() {
        eprintln!("ferry-link: {e}");
        std::process::exit(2);
    }
}

struct Args {
    a: (String, String),
    b: (String, String),
    shape: Shape,
    seed: u64,
    offload: bool,
}

fn run() -> Result<(), String> {
    let args = parse(std::env::args().skip(1))?;
    let open = |(ns, dev): &(String, String)| {
        tun::open_in(ns, dev, args.offload)
            .map(Arc::new)
            .map_err(|e| format!("{dev}: {e}"))
    };
    let (a, b) = (open(&args.a)?, open(&args.b)?);
    let control = forward::Control::default();
    let start = |from: &Arc<_>, to: &Arc<_>, seed| {
        forward::start(
            Arc::clone(from),
            Arc::clone(to),
            Pipe::new(args.shape, seed),
            &control,
        )
        .map_err(|e| format!("starting threads: {e}"))
    };
    let ab = start(&a, &b, args.seed)?;
    let ba = start(&b, &a, args.seed.wrapping_add(1))?;
    println!("ready");
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["cut", secs] => {
                let secs: f64 = secs.parse().map_err(|_| format!("bad cut time {secs}"))?;
                control.cut_for(Duration::from_secs_f64(secs));
            }
            ["stats"] => println!("a->b {:?}\nb->a {:?}", ab.counts(), ba.counts()),
            _ => eprintln!("ferry-link: unknown command {line:?}"),
        }
        let _ = std::io::stdout().flush();
    }
    // Standard input closed: keep carrying packets until killed.
    loop {
        std::thread::park();
    }
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut a, mut b, mut rate, mut rtt, mut loss, mut queue, mut seed) =
        (None, None, 0, Duration::ZERO, 0.0, None, 1);
    let mut offload = None;
    while let Some(flag) = argv.next() {
        let value = argv.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--a" => a = Some(ns_dev(&value)?),
            "--b" => b = Some(ns_dev(&value)?),
            "--rate" => rate = bits_per_second(&value)?,
            "--rtt" => rtt = millis(&value)?,
            "--loss" => loss = fraction(&value)?,
            "--queue" => queue = Some(value.parse().map_err(|_| format!("bad --queue {value}"))?),
            "--seed" => seed = value.parse().map_err(|_| format!("bad --seed {value}"))?,
            "--offload" => offload = Some(on_off(&value)?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let mut shape = Shape::for_rtt(rate, rtt, loss);
    if let Some(q) = queue {
        shape.queue_bytes = q;
    }
    Ok(Args {
        a: a.ok_or("--a NS:DEV is required")?,
        b: b.ok_or("--b NS:DEV is required")?,
        shape,
        seed,
        offload: offload.unwrap_or(loss == 0.0),
    })
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("bad --offload {s} (on or off)")),
    }
}

fn ns_dev(s: &str) -> Result<(String, String), String> {
    s.split_once(':')
        .map(|(n, d)| (n.to_owned(), d.to_owned()))
        .ok_or(format!("expected NS:DEV, got {s}"))
}

/// `100M`, `1G`, `20m`, `500k` or plain bits per second; 0 for no limit.
fn bits_per_second(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1e3),
        Some('M') => (&s[..s.len() - 1], 1e6),
        Some('G') => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    let n: f64 = num.parse().map_err(|_| format!("bad rate {s}"))?;
    Ok((n * mult) as u64)
}

/// `80ms` or `0.08s`.
fn millis(s: &str) -> Result<Duration, String> {
    let secs = if let Some(ms) = s.strip_suffix("ms") {
        ms.parse::<f64>().map(|v| v / 1e3)
    } else {
        s.trim_end_matches('s').parse::<f64>()
    };
    secs.map(Duration::from_secs_f64)
        .map_err(|_| format!("bad time {s}"))
}

/// `0.5%` or `0.005`.
fn fraction(s: &str) -> Result<f64, String> {
    let v = match s.strip_suffix('%') {
        Some(p) => p.parse::<f64>().map(|v| v / 100.0),
        None => s.parse::<f64>(),
    };
    v.ok()
        .filter(|v| (0.0..=1.0).contains(v))
        .ok_or(format!("bad loss {s}"))
}
