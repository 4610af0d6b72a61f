//! The JSON bodies LocalSend devices exchange, with the field names the app
//! sends (camelCase). Decoding is lenient where the app is (unknown fields are
//! ignored, optional fields may be missing or null, an unknown device type reads
//! as desktop) and strict about size: see [`super::decode`] for the limits and
//! the `decode` functions every peer body must go through.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::bounded::bounded_map;

/// What a device says it is (an icon in the app; no protocol difference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceType {
    Mobile,
    Desktop,
    Web,
    Headless,
    Server,
}

impl DeviceType {
    /// The wire name, as a word for people too.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Mobile => "mobile",
            DeviceType::Desktop => "desktop",
            DeviceType::Web => "web",
            DeviceType::Headless => "headless",
            DeviceType::Server => "server",
        }
    }

    /// The app reads any unknown value as desktop (protocol README, 7.1).
    fn from_wire(s: &str) -> DeviceType {
        match s {
            "mobile" => DeviceType::Mobile,
            "web" => DeviceType::Web,
            "headless" => DeviceType::Headless,
            "server" => DeviceType::Server,
            _ => DeviceType::Desktop,
        }
    }
}

/// `deviceType` may be missing, null, a known or an unknown string.
fn lenient_device_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DeviceType>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    Ok(raw.as_deref().map(DeviceType::from_wire))
}

/// Whether the device serves HTTPS (the default) or plain HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    #[default]
    Https,
}

/// A device describing itself to a peer that will call it back: the body of
/// `register` and the `info` of a prepare-upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Register {
    pub alias: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_model: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_device_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_type: Option<DeviceType>,
    /// The certificate fingerprint (HTTPS) or a random string (HTTP). Over
    /// HTTPS the receiver trusts the certificate, not this field.
    #[serde(default)]
    pub fingerprint: String,
    pub port: u16,
    #[serde(default)]
    pub protocol: Scheme,
    /// Whether this device serves the download API.
    #[serde(default)]
    pub download: bool,
}

/// A multicast datagram: [`Register`] plus whether it asks for answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    #[serde(flatten)]
    pub device: Register,
    /// `true` for a device announcing itself, `false` for an answer; only a
    /// `true` one may be answered (else two devices would answer forever).
    #[serde(default)]
    pub announce: bool,
}

/// A device describing itself to a caller that already knows its address: the
/// answer to `info` and `register`, and the `info` of a prepare-download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub alias: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_model: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_device_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_type: Option<DeviceType>,
    #[serde(default)]
    pub fingerprint: String,
    #[serde(default)]
    pub download: bool,
}

/// One file offered in a prepare-upload or prepare-download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDto {
    /// Unique within the session; also the key of the `files` map.
    pub id: String,
    /// As the peer sent it: a name or a '/'-separated relative path. NOT safe
    /// to use as a path: the receiving driver confines it through ferry's
    /// landing layer (`ferry::transfer::landing`), never here.
    pub file_name: String,
    /// Declared size in bytes; the receiver refuses more.
    pub size: u64,
    /// A MIME type (older apps sent a bare kind such as `image`).
    pub file_type: String,
    /// Hex SHA-256 of the content. The document calls it `sha256`; the app's
    /// Dart decoder reads `hash`, so both are read and `sha256` is written.
    #[serde(default, alias = "hash", skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A thumbnail, or the whole text of a text message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// Timestamps (added in 2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<FileMetadata>,
}

/// Timestamps as raw RFC 3339 strings: the app keeps them as text too (a parsed
/// time would lose its nanoseconds), and only the landing layer needs a value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessed: Option<String>,
}

/// `POST prepare-upload` body. A `BTreeMap` keeps the encoding deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareUploadRequest {
    pub info: Register,
    #[serde(deserialize_with = "bounded_map")]
    pub files: BTreeMap<String, FileDto>,
}

/// `200` answer to prepare-upload: one token per accepted file id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareUploadResponse {
    pub session_id: String,
    #[serde(deserialize_with = "bounded_map")]
    pub files: BTreeMap<String, String>,
}

/// `200` answer to prepare-download (the sender serves the files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareDownloadResponse {
    pub info: DeviceInfo,
    pub session_id: String,
    #[serde(deserialize_with = "bounded_map")]
    pub files: BTreeMap<String, FileDto>,
}

/// The body of every error answer the app sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;

/// The text of a LocalSend message: one `text/*` file whose preview is the
/// whole text (what the app sends for a message, and answers with 204). A
/// single text *file* without its whole content as preview is a file.
pub fn message_text(files: &BTreeMap<String, FileDto>) -> Option<&str> {
    let mut all = files.values();
    let (Some(only), None) = (all.next(), all.next()) else {
        return None;
    };
    let preview = only.preview.as_deref()?;
    let whole = preview.len() as u64 == only.size;
    (only.file_type.starts_with("text/") && whole).then_some(preview)
}
