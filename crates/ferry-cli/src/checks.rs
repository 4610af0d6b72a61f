//! Checks of the client settings' values, shared by the flags, the environment
//! and the config file (settings.rs and config.rs both use them).

use ferry::transit::parse_relay;

/// The user's own mistake in a flag, a variable or the config file: exit 2, like
/// any other bad command line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// An environment variable; set but empty counts as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A check of one setting's value.
pub type Check = fn(&str) -> Result<(), String>;

/// Checks each value given; the error starts with the setting's `name`.
pub fn check_each<const N: usize>(
    named: [(&str, &Option<String>, Check); N],
) -> Result<(), String> {
    for (name, value, check) in named {
        if let Some(v) = value {
            check(v).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    Ok(())
}

/// The browser page's address: an http(s) URL without a fragment (`ferry send`
/// adds `#CODE`), and nothing a terminal or a QR code would mangle.
pub fn check_web_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let printable = url.chars().all(|c| c.is_ascii_graphic());
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && printable && !url.contains('#') => {
            Ok(())
        }
        _ => Err(format!(
            "{url:?} is not a page address like http://HOST:4000/ (no #fragment)"
        )),
    }
}

/// A mailbox URL is a WebSocket URL (the path is usually /v1).
pub fn check_server(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        _ => Err(format!(
            "{url:?} is not a WebSocket URL like ws://HOST:4000/v1"
        )),
    }
}

pub fn check_relay(relay: &str) -> Result<(), String> {
    parse_relay(relay).map(|_| ()).map_err(|e| e.to_string())
}

/// Any application id but an empty one (both sides must merely agree).
pub fn check_app_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("it is empty".into());
    }
    Ok(())
}
