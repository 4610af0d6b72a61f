//! `ferry receive --lan --from DEVICE`: pull what a device shares over
//! LocalSend's download API, with the receive's checks and prompt.

use std::path::PathBuf;

use anyhow::Result;

use super::{target, until_cancelled, Lan};
use crate::json::Events;
use ferry::lan::FetchOptions;
use ferry::{Cancel, Received};

/// What the command line asked for.
pub struct Fetch<'a> {
    pub from: &'a str,
    pub pin: Option<String>,
    pub http: bool,
    pub output_dir: PathBuf,
}

pub async fn run(
    fetch: Fetch<'_>,
    lan: &Lan,
    ui: &mut Events,
    cancel: &Cancel,
) -> Result<Received> {
    let target = target(fetch.from, lan.port);
    let mut options = FetchOptions::new(target, fetch.output_dir, lan.alias.clone());
    options.pin = fetch.pin;
    options.discovery = lan.discovery.clone();
    options.http = fetch.http;
    options.cancel = cancel.clone();
    let fetched = ferry::lan::fetch(options, &lan.identity, ui);
    until_cancelled(cancel, fetched).await
}
