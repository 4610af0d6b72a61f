//! How a swarm command shows what happens: a bar (get) or a status line (seed) on a
//! terminal, JSON events with --json, warnings on stderr otherwise.

use std::io::{IsTerminal, Write};

use ferry::torrent::swarm::{Progress, Report};
use ferry_proto::transfer::path::escape_for_terminal;
use serde_json::json;

use crate::bar::Bar;
use crate::json::emit;
use crate::term::human;

pub struct Show {
    json: bool,
    seeding: bool,
    bar: Option<Bar>,
    /// A seed's status line is on screen (to end with a newline).
    line: bool,
    last: Option<(u64, u64, usize)>,
}

impl Show {
    /// For a download of `total` bytes: a bar on a terminal.
    pub fn for_get(json: bool, total: u64) -> Show {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| Bar::on_stderr(total));
        Show {
            json,
            seeding: false,
            bar,
            line: false,
            last: None,
        }
    }

    pub fn for_seed(json: bool) -> Show {
        Show {
            json,
            seeding: true,
            bar: None,
            line: false,
            last: None,
        }
    }

    pub fn report(&mut self, report: Report) {
        match report {
            Report::Progress(p) => self.progress(&p),
            Report::Resumed { pieces, bytes } => {
                match &self.bar {
                    Some(bar) => bar.jumped_to(bytes),
                    None if self.json => {
                        emit(&json!({"event": "resumed", "pieces": pieces, "bytes": bytes}))
                    }
                    None => {}
                }
                if !self.json {
                    self.warn(&format!(
                        "resuming: {pieces} pieces ({}) already verified",
                        human(bytes)
                    ));
                }
            }
            Report::TrackerFailed(why) => match self.json {
                true => emit(&json!({"event": "tracker-failed", "error": why})),
                false => self.warn(&why),
            },
            Report::Banned { peer, piece } => match self.json {
                true => emit(&json!({
                    "event": "banned",
                    "peer": peer.to_string(),
                    "reason": format!("piece {piece} did not verify"),
                })),
                false => self.warn(&format!(
                    "{peer} sent piece {piece} with wrong data; dropped it and will not ask it again"
                )),
            },
            Report::BadPieces(n) => match self.json {
                true => emit(&json!({"event": "bad-pieces", "pieces": n})),
                false => self.warn(&format!(
                    "{n} pieces of the data do not match the torrent (changed since it was made?); \
                     they are not served"
                )),
            },
            _ => {}
        }
    }

    fn progress(&mut self, p: &Progress) {
        let now = (p.have, p.uploaded, p.peers);
        let changed = self.last != Some(now);
        self.last = Some(now);
        let peers = match p.peers {
            1 => "1 peer".to_owned(),
            n => format!("{n} peers"),
        };
        match (&self.bar, self.json, self.seeding) {
            (Some(bar), _, _) => {
                bar.moved_to(p.have);
                bar.status(peers);
            }
            (None, true, false) if changed => emit(&json!({
                "event": "progress",
                "bytes": p.have,
                "total": p.total,
                "peers": p.peers,
                "rate": p.rate.round(),
            })),
            (None, true, true) if changed => {
                emit(&json!({"event": "stats", "uploaded": p.uploaded, "peers": p.peers}))
            }
            (None, false, true) if changed && std::io::stderr().is_terminal() => {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[KUploaded {} to {peers}", human(p.uploaded));
                let _ = err.flush();
                self.line = true;
            }
            _ => {}
        }
    }

    /// A warning on stderr, under the bar or the status line.
    fn warn(&mut self, text: &str) {
        let text = escape_for_terminal(text);
        match &self.bar {
            Some(bar) => bar.println(format!("ferry: {text}")),
            None => {
                self.end_line();
                eprintln!("ferry: {text}");
            }
        }
    }

    fn end_line(&mut self) {
        if std::mem::take(&mut self.line) {
            eprintln!();
        }
    }

    /// Removes the bar or ends the status line.
    pub fn finish(mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        self.end_line();
    }
}
