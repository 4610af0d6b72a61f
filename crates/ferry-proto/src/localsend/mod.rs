//! LocalSend protocol v2.1: the LAN file-sharing app's wire messages and the two
//! transfer roles as sans-IO state machines (no sockets, no clock, no OS RNG).
//!
//! LocalSend peers find each other on the local network and move files over
//! HTTP(S) with JSON bodies. Only one side runs a server: in the usual upload
//! API the receiver serves and the sender is the HTTP client.
//!
//! Discovery: a device sends its [`messages::Announcement`] (`announce: true`) as
//! UDP to the multicast group [`MULTICAST_GROUP`] on [`DEFAULT_PORT`]; others
//! answer with `POST register` to the announcer (or, as a fallback, a multicast
//! announcement with `announce: false`). Without multicast, `register` is tried
//! on every address of the subnet.
//!
//! Endpoints, all under [`API_BASE`] on TCP port [`DEFAULT_PORT`] ([`Endpoint`]):
//! - `GET info`: device info (kept for debugging);
//! - `POST register`: discovery, both ways;
//! - `POST prepare-upload[?pin=…]`: file metadata in, session id and one token per
//!   accepted file out ([`receiver`], [`sender`]);
//! - `POST upload?sessionId&fileId&token`: one file's bytes (may run in parallel);
//! - `POST cancel?sessionId`: the sender gives up;
//! - `POST prepare-download` and `GET download?sessionId&fileId`: the reverse,
//!   browser-facing API where the sender serves ([`share`]).
//!
//! With HTTPS every device has a self-signed certificate and its
//! [`fingerprint`] (SHA-256 of the DER) is its identity; with HTTP the
//! fingerprint is any random string, used only to skip oneself in discovery.
//!
//! Where the app differs from the protocol document (protocol repository
//! README + CHANGELOG; app 1.18.2, `packages/core/src/http/server/v2.rs`):
//! - the app now says `"version": "2.2"`; we say "2.1" and accept any version;
//! - the app's Dart decoder reads a file's checksum from `hash`, the document and
//!   the app's Rust core say `sha256`: we write `sha256` and read either;
//! - PIN checks come before the body is parsed, and three wrong PINs from one IP
//!   answer 429 from then on ([`receiver::MAX_PIN_ATTEMPTS`]);
//! - a prepare-upload with no files is 400; a `cancel` without `sessionId` from
//!   the sender's IP cancels a request still waiting for the user (the sender
//!   learns the session id only from the answer); that request is then answered
//!   403 "Cancelled by sender";
//! - uploads are accepted only from the IP that prepared the session, and an
//!   upload without a session is 403 (not 409); error bodies are
//!   `{"message": "…"}` ([`messages::ErrorBody`]).

mod bounded;
pub mod decode;
pub mod fingerprint;
pub mod messages;
pub mod native;
pub mod receiver;
mod response;
pub mod sender;
pub mod share;
mod target;

use std::net::Ipv4Addr;

pub use decode::DecodeError;
pub use fingerprint::Fingerprint;
pub use messages::{
    Announcement, DeviceInfo, DeviceType, ErrorBody, FileDto, FileMetadata,
    PrepareDownloadResponse, PrepareUploadRequest, PrepareUploadResponse, Register, Scheme,
};
pub use receiver::{Receiver, ReceiverConfig, Response, Status};
pub use sender::{OutgoingItem, SendError, UploadPlan};
pub use share::{Share, ShareConfig};

/// The protocol version we speak (`major.minor`), as the `version` field says it.
pub const PROTOCOL_VERSION: &str = "2.1";

/// Default UDP multicast port and HTTP(S) port. Both are settings in the app.
pub const DEFAULT_PORT: u16 = 53317;

/// Default multicast group: inside 224.0.0.0/24 because some Android devices
/// accept multicast nowhere else (protocol README, "Defaults").
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 167);

/// Every v2 route lives under this path.
pub const API_BASE: &str = "/api/localsend/v2";

/// The v2 routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    Info,
    Register,
    PrepareUpload,
    Upload,
    Cancel,
    PrepareDownload,
    Download,
}

impl Endpoint {
    /// The route's path, e.g. `/api/localsend/v2/prepare-upload`.
    pub fn path(self) -> String {
        format!("{API_BASE}/{}", self.name())
    }

    /// The last path segment.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Info => "info",
            Endpoint::Register => "register",
            Endpoint::PrepareUpload => "prepare-upload",
            Endpoint::Upload => "upload",
            Endpoint::Cancel => "cancel",
            Endpoint::PrepareDownload => "prepare-download",
            Endpoint::Download => "download",
        }
    }

    /// Which route a request path names, if any (the query already split off).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        let name = path.strip_prefix(API_BASE)?.strip_prefix('/')?;
        ALL.into_iter().find(|e| e.name() == name)
    }
}

const ALL: [Endpoint; 7] = [
    Endpoint::Info,
    Endpoint::Register,
    Endpoint::PrepareUpload,
    Endpoint::Upload,
    Endpoint::Cancel,
    Endpoint::PrepareDownload,
    Endpoint::Download,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_paths_round_trip() {
        assert_eq!(
            Endpoint::PrepareUpload.path(),
            "/api/localsend/v2/prepare-upload"
        );
        for e in ALL {
            assert_eq!(Endpoint::from_path(&e.path()), Some(e));
        }
        assert_eq!(Endpoint::from_path("/api/localsend/v1/info"), None);
        assert_eq!(Endpoint::from_path("/api/localsend/v2/infox"), None);
    }
}
