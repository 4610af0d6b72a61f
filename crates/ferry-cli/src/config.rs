//! The client config file, `~/.config/ferry/config.toml` (`$XDG_CONFIG_HOME` is
//! honoured; `--config FILE` or `FERRY_CONFIG` name another). It is the lowest
//! layer above the defaults (settings.rs). The default file may be missing; a file
//! named explicitly must exist. Every error names the file, and the key when
//! there is one, and exits 2 like a bad flag.
//!
//! ```toml
//! server = "ws://mailbox.example:4000/v1"
//! relay = "tcp:mailbox.example:4001"
//! app_id = "example.com/ferry"
//! ca_file = "~/private-ca.pem"   # extra trusted CAs for wss:// and TLS relays
//! output_dir = "~/Downloads"     # receive only
//! web_url = "http://mailbox.example:4000/"   # send only: the browser link
//! ```

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use crate::checks::{
    check_app_id, check_each, check_relay, check_server, check_web_url, env, Invalid,
};

/// The keys a config file may hold; any other key is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub server: Option<String>,
    pub relay: Option<String>,
    /// Extra trusted CAs (PEM), like `--ca-file`.
    pub ca_file: Option<PathBuf>,
    pub app_id: Option<String>,
    pub output_dir: Option<PathBuf>,
    pub web_url: Option<String>,
}

/// Reads the config file named by `flag`, else `FERRY_CONFIG`, else the default
/// one if it exists.
pub fn load(flag: Option<&Path>) -> Result<ConfigFile> {
    let explicit = flag
        .map(Path::to_path_buf)
        .or_else(|| env("FERRY_CONFIG").map(PathBuf::from));
    let path = match explicit {
        Some(p) => p,
        None => match default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok(ConfigFile::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Invalid(format!("cannot read config file {}: {e}", path.display())))?;
    let values =
        parse(&text).map_err(|e| Invalid(format!("config file {}: {e}", path.display())))?;
    Ok(values)
}

/// `$XDG_CONFIG_HOME/ferry/config.toml` (an absolute XDG path only, as the spec
/// says), else `~/.config/ferry/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home().map(|h| h.join(".config")))?;
    Some(base.join("ferry").join("config.toml"))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Parses and checks the values; errors name the key.
fn parse(text: &str) -> Result<ConfigFile, String> {
    let mut f: ConfigFile = toml::from_str(text).map_err(|e| located(text, &e))?;
    check_each([
        ("server", &f.server, check_server),
        ("relay", &f.relay, check_relay),
        ("app_id", &f.app_id, check_app_id),
        ("web_url", &f.web_url, check_web_url),
    ])?;
    f.output_dir = f.output_dir.map(expand_home);
    f.ca_file = f.ca_file.map(expand_home);
    Ok(f)
}

/// toml's message on one line, with the line it is about (which names the key).
fn located(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return e.message().to_owned();
    };
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let number = text[..start].matches('\n').count() + 1;
    format!(
        "line {number} `{}`: {}",
        text[start..end].trim(),
        e.message()
    )
}

/// `~/Downloads` means the home directory's, as in a shell.
fn expand_home(p: PathBuf) -> PathBuf {
    match (p.strip_prefix("~"), home()) {
        (Ok(rest), Some(h)) => h.join(rest),
        _ => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key() {
        let f = parse(
            "server = \"ws://h:4000/v1\"\nrelay = \"tcp:h:4001\"\napp_id = \"x\"\noutput_dir = \"/tmp\"\nweb_url = \"https://h/\"\n",
        )
        .unwrap();
        assert_eq!(f.server.as_deref(), Some("ws://h:4000/v1"));
        assert_eq!(f.relay.as_deref(), Some("tcp:h:4001"));
        assert_eq!(f.app_id.as_deref(), Some("x"));
        assert_eq!(f.output_dir, Some(PathBuf::from("/tmp")));
        assert_eq!(f.web_url.as_deref(), Some("https://h/"));
        assert!(parse("web_url = \"https://h/#x\"\n").is_err());
    }

    #[test]
    fn errors_name_the_key() {
        let unknown = parse("sever = \"ws://h/v1\"\n").unwrap_err();
        assert!(unknown.contains("sever"), "{unknown}");
        let relay = parse("relay = \"nonsense\"\n").unwrap_err();
        assert!(relay.starts_with("relay: "), "{relay}");
        let typed = parse("server = 5\n").unwrap_err();
        assert!(typed.starts_with("line 1 `server = 5`: "), "{typed}");
    }
}
