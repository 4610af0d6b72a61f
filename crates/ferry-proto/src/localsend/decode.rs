//! Decoding peer bodies: size limits first, then JSON, then the rules serde
//! cannot say (lengths, `files` keys matching ids). Every body a LocalSend peer
//! sends goes through a function here; none of them panics, and each limit
//! refuses with an error that names it.
//!
//! The limits are ferry's choices (the app has none beyond memory): generous for
//! real folders, small enough that a hostile body costs little.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use super::messages::{
    Announcement, DeviceInfo, ErrorBody, FileDto, PrepareDownloadResponse, PrepareUploadRequest,
    PrepareUploadResponse, Register,
};

/// Largest JSON body read. The I/O layer should stop reading here too (it is
/// the only limit that bounds memory before parsing).
pub const MAX_BODY_BYTES: usize = 32 << 20;
pub use super::bounded::MAX_FILES;
/// Longest `fileName`, in bytes: Linux's PATH_MAX.
pub const MAX_NAME_BYTES: usize = 4096;
/// Longest id, token, session id, alias, model, fingerprint, type or timestamp.
/// The app's are UUIDs, hex digests and short names.
pub const MAX_SHORT_BYTES: usize = 256;
/// Longest `preview`: the app puts a whole text message there.
pub const MAX_PREVIEW_BYTES: usize = 4 << 20;

/// A peer body we refuse; the peer's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("body of {len} bytes is over the limit of {MAX_BODY_BYTES}")]
    BodyTooLarge { len: usize },
    #[error("invalid JSON body: {0}")]
    Json(String),
    #[error("`{field}` is {len} bytes, over the limit of {max}")]
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("a file's id does not match its key in `files`")]
    IdMismatch,
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(DecodeError::BodyTooLarge { len: body.len() });
    }
    serde_json::from_slice(body).map_err(|e| DecodeError::Json(e.to_string()))
}

fn check(field: &'static str, value: &str, max: usize) -> Result<(), DecodeError> {
    match value.len() {
        len if len > max => Err(DecodeError::FieldTooLong { field, len, max }),
        _ => Ok(()),
    }
}

fn check_opt(field: &'static str, value: &Option<String>, max: usize) -> Result<(), DecodeError> {
    value.as_deref().map_or(Ok(()), |v| check(field, v, max))
}

fn check_device(
    alias: &str,
    version: &str,
    model: &Option<String>,
    fingerprint: &str,
) -> Result<(), DecodeError> {
    check("alias", alias, MAX_SHORT_BYTES)?;
    check("version", version, MAX_SHORT_BYTES)?;
    check_opt("deviceModel", model, MAX_SHORT_BYTES)?;
    check("fingerprint", fingerprint, MAX_SHORT_BYTES)
}

fn check_register(r: &Register) -> Result<(), DecodeError> {
    check_device(&r.alias, &r.version, &r.device_model, &r.fingerprint)
}

fn check_info(i: &DeviceInfo) -> Result<(), DecodeError> {
    check_device(&i.alias, &i.version, &i.device_model, &i.fingerprint)
}

fn check_file(key: &str, f: &FileDto) -> Result<(), DecodeError> {
    check("id", &f.id, MAX_SHORT_BYTES)?;
    if key != f.id {
        return Err(DecodeError::IdMismatch);
    }
    check("fileName", &f.file_name, MAX_NAME_BYTES)?;
    check("fileType", &f.file_type, MAX_SHORT_BYTES)?;
    check_opt("sha256", &f.sha256, MAX_SHORT_BYTES)?;
    check_opt("preview", &f.preview, MAX_PREVIEW_BYTES)?;
    let meta = f.metadata.clone().unwrap_or_default();
    check_opt("modified", &meta.modified, MAX_SHORT_BYTES)?;
    check_opt("accessed", &meta.accessed, MAX_SHORT_BYTES)
}

fn check_files(files: &BTreeMap<String, FileDto>) -> Result<(), DecodeError> {
    files.iter().try_for_each(|(k, f)| check_file(k, f))
}

/// A multicast datagram.
pub fn announcement(body: &[u8]) -> Result<Announcement, DecodeError> {
    let a: Announcement = decode(body)?;
    check_register(&a.device)?;
    Ok(a)
}

/// A `register` request body.
pub fn register(body: &[u8]) -> Result<Register, DecodeError> {
    let r: Register = decode(body)?;
    check_register(&r)?;
    Ok(r)
}

/// The answer to `info` or `register`.
pub fn device_info(body: &[u8]) -> Result<DeviceInfo, DecodeError> {
    let i: DeviceInfo = decode(body)?;
    check_info(&i)?;
    Ok(i)
}

/// A `prepare-upload` request body.
pub fn prepare_upload(body: &[u8]) -> Result<PrepareUploadRequest, DecodeError> {
    let p: PrepareUploadRequest = decode(body)?;
    check_register(&p.info)?;
    check_files(&p.files)?;
    Ok(p)
}

/// The `200` answer to `prepare-upload`.
pub fn prepare_upload_response(body: &[u8]) -> Result<PrepareUploadResponse, DecodeError> {
    let p: PrepareUploadResponse = decode(body)?;
    check("sessionId", &p.session_id, MAX_SHORT_BYTES)?;
    for (id, token) in &p.files {
        check("id", id, MAX_SHORT_BYTES)?;
        check("token", token, MAX_SHORT_BYTES)?;
    }
    Ok(p)
}

/// The `200` answer to `prepare-download`.
pub fn prepare_download_response(body: &[u8]) -> Result<PrepareDownloadResponse, DecodeError> {
    let p: PrepareDownloadResponse = decode(body)?;
    check_info(&p.info)?;
    check("sessionId", &p.session_id, MAX_SHORT_BYTES)?;
    check_files(&p.files)?;
    Ok(p)
}

/// An error answer's message, if the body is the app's `{"message": …}`.
pub fn error_message(body: &[u8]) -> Option<String> {
    let e: ErrorBody = decode(body).ok()?;
    let mut message = e.message;
    if message.len() > MAX_SHORT_BYTES {
        let cut = (0..=MAX_SHORT_BYTES).rfind(|&i| message.is_char_boundary(i));
        message.truncate(cut.unwrap_or(0));
    }
    Some(message)
}
