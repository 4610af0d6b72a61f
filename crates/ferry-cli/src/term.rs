//! The terminal user interface: code display, progress bar, the accept prompt.
//! Every string from the peer or the server is escaped before it is shown.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ferry::transfer::Offered;
use ferry::{Cancel, OfferSummary, RendezvousObserver, Ui};
use ferry_proto::code::Code;
use ferry_proto::transfer::path::escape_for_terminal;

/// Talks to the person at the terminal, on stderr.
pub struct Terminal {
    pub show_progress: bool,
    pub assume_yes: bool,
    /// Set for the sender: how to tell the other person to receive.
    pub announce_code: bool,
    bar: Option<ProgressBar>,
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
            bar: None,
            cancel: Cancel::new(),
        }
    }

    /// The prompts give up when `cancel` fires.
    pub fn with_cancel(mut self, cancel: &Cancel) -> Self {
        self.cancel = cancel.clone();
        self
    }

    pub fn finish_progress(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }

    fn bar(&mut self, total: u64) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let style = ProgressStyle::with_template(
                "{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        })
    }
}

impl RendezvousObserver for Terminal {
    fn motd(&mut self, motd: &str) {
        eprintln!("Server says: {}", escape_for_terminal(motd));
    }

    fn code(&mut self, code: &Code) {
        if self.announce_code {
            eprintln!("Wormhole code is: {}", code.as_str());
            eprintln!(
                "On the other computer, run:\n\n    ferry receive {}\n",
                code.as_str()
            );
            eprintln!(
                "(any wormhole client works too: wormhole receive {})",
                code.as_str()
            );
        }
    }
}

impl Ui for Terminal {
    fn transit(&mut self, description: &str) {
        eprintln!("Connected ({}).", escape_for_terminal(description));
    }

    fn progress(&mut self, done: u64, total: u64) {
        if self.show_progress {
            self.bar(total).set_position(done);
        }
    }

    fn warn(&mut self, message: &str) {
        eprintln!("warning: {}", escape_for_terminal(message));
    }

    fn resuming(&mut self, held: u64, total: u64) {
        eprintln!(
            "Resuming: {} of {} already here from an interrupted transfer (checked again before use).",
            human(held),
            human(total)
        );
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn accept(&mut self, offer: &OfferSummary) -> bool {
        eprintln!("{}", describe(offer));
        if self.assume_yes {
            return true;
        }
        eprint!("Accept? [y/N] ");
        let _ = std::io::stderr().flush();
        // No answer (end of input, or Ctrl-C: the transfer sees that itself) is no.
        let answer = crate::prompt::read_answer(&self.cancel).unwrap_or_default();
        matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
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
