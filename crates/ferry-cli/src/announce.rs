//! What the sender tells its user to pass on: the code, and the command the other
//! side runs, carrying every setting that side needs to meet us (a receiver run
//! without our `--server` would wait on the public server forever), and the
//! browser link `URL#CODE` when the server's page is known (the fragment never
//! reaches a server: the page reads the code from it).

use ferry::transit::DEFAULT_RELAY;
use ferry::DEFAULT_MAILBOX_URL;
use ferry_proto::transfer::path::escape_for_terminal;
use ferry_proto::transfer::DEFAULT_APPID;

use crate::args::Common;
use crate::qr;

/// The sender's non-default meeting settings, and how to show the code.
#[derive(Debug, Default, Clone)]
pub struct Announce {
    pub server: Option<String>,
    pub relay: Option<String>,
    pub app_id: Option<String>,
    /// The server's browser page (`--web-url`, or from the server's welcome).
    pub web_url: Option<String>,
    /// Also draw a QR code: of the browser link if known, else of the
    /// `wormhole-transfer:` URI.
    pub qr: bool,
    /// Only the lines needed to pass the code on.
    pub quiet: bool,
}

impl Announce {
    /// Keeps only the settings that differ from the defaults.
    pub fn new(common: &Common, qr: bool, web_url: Option<String>) -> Announce {
        let differs = |v: &Option<String>, default: &str| v.clone().filter(|v| v != default);
        Announce {
            server: differs(&common.server, DEFAULT_MAILBOX_URL),
            relay: differs(&common.relay, DEFAULT_RELAY),
            app_id: differs(&common.app_id, DEFAULT_APPID),
            web_url,
            qr,
            quiet: common.quiet,
        }
    }

    /// `ferry receive [--server URL] [--relay ADDR] [--app-id ID] CODE`.
    pub fn ferry_line(&self, code: &str) -> String {
        let mut words = vec!["ferry".to_owned(), "receive".to_owned()];
        push_option(&mut words, "--server", &self.server);
        push_option(&mut words, "--relay", &self.relay);
        push_option(&mut words, "--app-id", &self.app_id);
        words.push(shell_quote(code));
        words.join(" ")
    }

    /// Python `wormhole`'s spelling: its options come before the subcommand.
    pub fn wormhole_line(&self, code: &str) -> String {
        let mut words = vec!["wormhole".to_owned()];
        push_option(&mut words, "--relay-url", &self.server);
        push_option(&mut words, "--transit-helper", &self.relay);
        push_option(&mut words, "--appid", &self.app_id);
        words.push("receive".to_owned());
        words.push(shell_quote(code));
        words.join(" ")
    }

    /// `URL#CODE`, the link that receives in a browser, when the page is known.
    pub fn link(&self, code: &str) -> Option<String> {
        let url = self.web_url.as_deref()?;
        Some(format!("{url}#{}", qr::encode(code, false)))
    }

    /// The line that offers the browser link, escaped for the terminal.
    pub fn link_line(link: &str) -> String {
        escape_for_terminal(&link_text(link))
    }

    /// Everything the sender prints about its code, escaped for the terminal.
    pub fn text(&self, code: &str) -> String {
        let mut out = format!("Wormhole code is: {code}\n");
        if let Some(link) = self.link(code) {
            out += &link_text(&link);
        }
        if self.quiet {
            out += &format!("On the other computer, run: {}\n", self.ferry_line(code));
        } else {
            out += &format!(
                "On the other computer, run:\n\n    {}\n\n(any wormhole client works too: {})\n",
                self.ferry_line(code),
                self.wormhole_line(code)
            );
        }
        if self.qr {
            out += &self.qr_text(code);
        }
        escape_for_terminal(&out)
    }

    fn qr_text(&self, code: &str) -> String {
        let uri = self
            .link(code)
            .unwrap_or_else(|| qr::uri(code, self.server.as_deref()));
        let mut out = match qr::draw(&uri) {
            Some(drawing) => format!("\n{drawing}{uri}\n"),
            None => format!("(too long for a QR code: {uri})\n"),
        };
        if self.app_id.is_some() {
            out += "(the QR code cannot carry --app-id: scanning clients use the default one)\n";
        }
        out
    }
}

fn link_text(link: &str) -> String {
    format!("Or open in a browser: {link}\n")
}

fn push_option(words: &mut Vec<String>, flag: &str, value: &Option<String>) {
    if let Some(v) = value {
        words.push(flag.to_owned());
        words.push(shell_quote(v));
    }
}

/// Quotes a word for a POSIX shell when it holds anything beyond the usual URL
/// and code characters.
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom() -> Announce {
        Announce {
            server: Some("ws://h:4000/v1".into()),
            relay: Some("tcp:h:4001".into()),
            app_id: Some("my app".into()),
            ..Announce::default()
        }
    }

    #[test]
    fn defaults_add_nothing() {
        let a = Announce::new(&Common::default(), false, None);
        assert_eq!(a.ferry_line("7-a-b"), "ferry receive 7-a-b");
        assert_eq!(a.wormhole_line("7-a-b"), "wormhole receive 7-a-b");
    }

    #[test]
    fn every_non_default_setting_is_on_the_line() {
        let a = custom();
        assert_eq!(
            a.ferry_line("7-a-b"),
            "ferry receive --server ws://h:4000/v1 --relay tcp:h:4001 --app-id 'my app' 7-a-b"
        );
        assert_eq!(
            a.wormhole_line("7-a-b"),
            "wormhole --relay-url ws://h:4000/v1 --transit-helper tcp:h:4001 --appid 'my app' receive 7-a-b"
        );
    }

    #[test]
    fn default_values_given_explicitly_are_left_out() {
        let common = Common {
            server: Some(DEFAULT_MAILBOX_URL.into()),
            relay: Some("tcp:h:1".into()),
            ..Common::default()
        };
        let a = Announce::new(&common, false, None);
        assert_eq!(a.ferry_line("1-x"), "ferry receive --relay tcp:h:1 1-x");
    }

    #[test]
    fn link_only_when_the_page_is_known() {
        let a = Announce::default();
        assert_eq!(a.link("7-a-b"), None);
        assert!(!a.text("7-a-b").contains("browser"));
        let a = Announce {
            web_url: Some("http://h:4000/".into()),
            ..Announce::default()
        };
        assert_eq!(a.link("7-a b").as_deref(), Some("http://h:4000/#7-a%20b"));
        assert!(a
            .text("7-a-b")
            .contains("Or open in a browser: http://h:4000/#7-a-b\n"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("ws://h:1/v1"), "ws://h:1/v1");
    }
}
