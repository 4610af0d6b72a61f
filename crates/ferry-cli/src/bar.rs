//! The progress bar on a terminal: where the transfer stands, how fast it moves
//! and which file of a folder is moving. Data the receiver already had (resumed,
//! identical files) moves the bar but never the speed or the ETA.

use std::borrow::Cow;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ferry_proto::transfer::path::escape_for_terminal;

const TEMPLATE: &str =
    "{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}\n{msg}";
/// Without colours (NO_COLOR): the same bar, drawn in the terminal's own colour.
const PLAIN_TEMPLATE: &str =
    "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}\n{msg}";

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar on stderr, redrawn four times a second.
    pub fn on_stderr(total: u64) -> Bar {
        let bar = Bar::with_target(total, ProgressDrawTarget::stderr());
        bar.bar.enable_steady_tick(Duration::from_millis(250));
        bar
    }

    fn with_target(total: u64, target: ProgressDrawTarget) -> Bar {
        let template = match crate::settings::colour_allowed() {
            true => TEMPLATE,
            false => PLAIN_TEMPLATE,
        };
        let style =
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(Some(total), target);
        bar.set_style(style);
        Bar { bar }
    }

    /// Bytes moved: they count towards the speed.
    pub fn moved_to(&self, done: u64) {
        self.bar.set_position(done);
    }

    /// Bytes that were already there: the bar jumps, and the speed estimate
    /// starts again from here (indicatif records the jump when the message is
    /// set, and `reset_eta` forgets the rate while keeping the position).
    pub fn jumped_to(&self, done: u64) {
        self.bar.set_position(done);
        self.message(self.bar.message().into());
        self.bar.reset_eta();
    }

    /// The line under the bar: `[12/120] photos/img_0012.jpg`.
    pub fn file(&self, index: u64, count: u64, path: &str) {
        self.message(format!("[{index}/{count}] {}", escape_for_terminal(path)).into());
    }

    /// The line under the bar, said once the data is all out (v1 sender).
    pub fn note(&self, text: &'static str) {
        self.message(text.into());
    }

    /// A line above the bar (a warning), which stays.
    pub fn println(&self, text: String) {
        self.bar.println(text);
    }

    /// The line under the bar, as the caller words it (peers, state).
    pub fn status(&self, text: String) {
        self.message(text.into());
    }

    fn message(&self, text: Cow<'static, str>) {
        self.bar.set_message(text);
    }

    pub fn finish(self) {
        self.bar.finish_with_message("");
    }

    #[cfg(test)]
    fn per_sec(&self) -> f64 {
        self.bar.per_sec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    /// 3.31 GiB/s on a 260 KiB/s link: a resumed gigabyte must not look like
    /// one that crossed the network in the first instant.
    #[test]
    fn resumed_bytes_are_not_speed() {
        let bar = Bar::with_target(2 * GIB, ProgressDrawTarget::hidden());
        std::thread::yield_now();
        bar.jumped_to(GIB);
        assert!(bar.per_sec() < 1.0, "{} B/s", bar.per_sec());
        let moved = Bar::with_target(2 * GIB, ProgressDrawTarget::hidden());
        std::thread::yield_now();
        moved.moved_to(GIB);
        assert!(moved.per_sec() > 1e6, "moved bytes are speed");
    }
}
