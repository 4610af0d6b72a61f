//! The terminal user interface: code display, progress bar, the accept prompt.
//! Every string from the peer or the server is escaped before it is shown.

use std::io::{IsTerminal, Write};

use ferry::transfer::Offered;
use ferry::{Answer, Cancel, OfferSummary, Outgoing, RendezvousObserver, Ui};
use ferry_proto::code::Code;
use ferry_proto::transfer::path::escape_for_terminal;

use crate::bar::Bar;

/// Talks to the person at the terminal, on stderr.
pub struct Terminal {
    pub show_progress: bool,
    pub assume_yes: bool,
    /// Set for the sender: how to tell the other person to receive.
    pub announce_code: bool,
    /// What the sender's code announcement carries (settings, QR, -q).
    pub announce: crate::announce::Announce,
    /// -q: nothing but errors, warnings and what the user must act on.
    pub quiet: bool,
    /// The code once announced, for a browser link learnt after it.
    announced: Option<String>,
    bar: Option<Bar>,
    /// Ends the accept prompt at Ctrl-C (a cancel, not a "no").
    cancel: Cancel,
}

impl Terminal {
    pub fn new(hide_progress: bool, assume_yes: bool, announce_code: bool) -> Self {
        let show_progress = !hide_progress && std::io::stderr().is_terminal();
        Terminal {
            show_progress,
            assume_yes,
            announce_code,
            announce: Default::default(),
            quiet: false,
            announced: None,
            bar: None,
            cancel: Cancel::new(),
        }
    }

    /// The prompts give up when `cancel` fires.
    pub fn with_cancel(mut self, cancel: &Cancel) -> Self {
        self.cancel = cancel.clone();
        self
    }

    /// The code the sender announced, once it has.
    pub fn announced(&self) -> Option<&str> {
        self.announced.as_deref()
    }

    pub fn finish_progress(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }

    /// The bar, once there is something to show and a terminal to show it on.
    fn bar(&mut self, total: u64) -> Option<&Bar> {
        if !self.show_progress {
            return None;
        }
        Some(self.bar.get_or_insert_with(|| Bar::on_stderr(total)))
    }
}

impl RendezvousObserver for Terminal {
    fn motd(&mut self, motd: &str) {
        if self.quiet {
            return;
        }
        eprintln!("Server says: {}", escape_for_terminal(motd));
    }

    fn waiting(&mut self) {
        if self.quiet {
            return;
        }
        match self.announce_code {
            true => eprintln!("Waiting for the other side to connect…"),
            false => eprintln!("Waiting for the sender…"),
        }
    }

    fn code(&mut self, code: &Code) {
        if self.announce_code {
            eprint!("{}", self.announce.text(code.as_str()));
            self.announced = Some(code.as_str().to_owned());
        }
    }

    /// `--web-url` wins; else the server's page, if it is a plausible address.
    /// A code given with `--code` is shown before the server's welcome is read:
    /// then the link follows on its own line.
    fn web_page(&mut self, url: &str) {
        if self.announce.web_url.is_some() || crate::checks::check_web_url(url).is_err() {
            return;
        }
        self.announce.web_url = Some(url.to_owned());
        if let Some(link) = self
            .announced
            .as_deref()
            .and_then(|c| self.announce.link(c))
        {
            eprint!("{}", crate::announce::Announce::link_line(&link));
        }
    }
}

impl Ui for Terminal {
    fn sending(&mut self, what: &Outgoing) {
        if self.quiet {
            return;
        }
        eprintln!("{}", describe_outgoing(what));
    }

    fn transit(&mut self, description: &str) {
        if self.quiet {
            return;
        }
        eprintln!("Connected ({}).", escape_for_terminal(description));
    }

    fn progress(&mut self, done: u64, total: u64) {
        if let Some(bar) = self.bar(total) {
            bar.moved_to(done);
        }
    }

    fn present(&mut self, done: u64, total: u64) {
        if let Some(bar) = self.bar(total) {
            bar.jumped_to(done);
        }
    }

    fn file(&mut self, index: u64, count: u64, path: &str) {
        if let Some(bar) = &self.bar {
            bar.file(index, count, path);
        }
    }

    fn confirming(&mut self) {
        match &self.bar {
            Some(bar) => bar.note(CONFIRMING),
            None if self.quiet => {}
            None => eprintln!("{CONFIRMING}"),
        }
    }

    fn warn(&mut self, message: &str) {
        eprintln!("warning: {}", escape_for_terminal(message));
    }

    fn reconnecting(&mut self, attempt: u32, why: &str) {
        if self.quiet {
            return;
        }
        let why = escape_for_terminal(why);
        eprintln!("Connection lost ({why}); reconnecting (attempt {attempt})…");
    }

    fn connecting_again(&mut self, attempt: u32, why: &str) {
        if self.quiet {
            return;
        }
        let why = escape_for_terminal(why);
        eprintln!("The first connection failed ({why}); connecting again (attempt {attempt})…");
    }

    fn waiting_for_peer(&mut self, secs: u64) {
        if self.quiet {
            return;
        }
        eprintln!(
            "Waiting up to {secs} s for the other side to come back (a stopped receiver continues with `ferry receive --resume`)."
        );
    }

    fn served(&mut self, to: std::net::IpAddr, path: &str, complete: bool) {
        if self.quiet {
            return;
        }
        let path = escape_for_terminal(path);
        match complete {
            true => eprintln!("{to} fetched {path}."),
            false => eprintln!("{to} stopped fetching {path} before the end."),
        }
    }

    fn resuming(&mut self, held: u64, total: u64) {
        if self.quiet {
            return;
        }
        eprintln!(
            "Resuming: {} of {} already here from an interrupted transfer (checked again before use).",
            human(held),
            human(total)
        );
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn accept_later(&mut self, offer: &OfferSummary) -> Answer {
        if !(self.quiet && self.assume_yes) {
            eprintln!("{}", describe(offer));
        }
        if self.assume_yes {
            return Box::pin(std::future::ready(true));
        }
        eprint!("Accept? [y/N] ");
        let _ = std::io::stderr().flush();
        // No answer (end of input, or Ctrl-C: the transfer sees that itself) is no.
        let answer = crate::prompt::answer_later(&self.cancel);
        Box::pin(async move {
            let answer = answer.await.unwrap_or_default();
            matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
        })
    }
}

/// What the v1 sender says between the last byte written and the receiver's ack.
const CONFIRMING: &str = "All data sent; waiting for the receiver to confirm…";

/// What the sender is about to offer, before the code.
pub fn describe_outgoing(what: &Outgoing) -> String {
    let offer = match what {
        Outgoing::Text { bytes } => return format!("Sending text ({bytes} bytes)"),
        Outgoing::Files(offer) => offer,
        _ => return "Sending".to_owned(),
    };
    let size = human(offer.bytes);
    match &offer.what {
        Offered::File { name } => format!("Sending file {} ({size})", escape_for_terminal(name)),
        Offered::Directory { name } => format!(
            "Sending directory {} ({} files, {size})",
            escape_for_terminal(name),
            offer.files
        ),
        Offered::Several { count, .. } => {
            format!("Sending {count} items ({} files, {size})", offer.files)
        }
        _ => format!("Sending {} files ({size})", offer.files),
    }
}

/// A one-line description of an offer for the person deciding.
pub fn describe(offer: &OfferSummary) -> String {
    let size = human(offer.bytes);
    match &offer.what {
        Offered::File { name } => {
            format!("Receiving file {} ({size})", escape_for_terminal(name))
        }
        Offered::Directory { name } => format!(
            "Receiving directory {} ({} files, {size}; {} to transfer)",
            escape_for_terminal(name),
            offer.files,
            human(offer.to_transfer)
        ),
        Offered::Several { first, count } => format!(
            "Receiving {} and {} more ({} files, {size})",
            escape_for_terminal(first),
            count.saturating_sub(1),
            offer.files,
        ),
        _ => format!("Receiving {} files ({size})", offer.files),
    }
}

/// Sizes as people read them.
pub fn human(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}
