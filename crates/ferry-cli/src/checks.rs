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
pub fn check_each(named: [(&str, &Option<String>, Check); 3]) -> Result<(), String> {
    for (name, value, check) in named {
        if let Some(v) = value {
            check(v).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    Ok(())
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
